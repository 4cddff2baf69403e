"""Digest and alert messages: Telegram HTML, escaping, highlights, and the split at 4,096."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from bot.core.models import Post, StoredPost, Story
from bot.core.text import telegram_length, utf16_len
from bot.devtools.sandbox import parse_html
from bot.digests.render import (
    TELEGRAM_LIMIT,
    render_alert,
    render_digest,
    story_html,
    title_bounds,
)

T0 = datetime(2024, 6, 10, 8, 0, tzinfo=UTC)
DAY = date(2024, 6, 10)


def post(channel: int, message: int, text: str, *, title: str | None = None, username: str | None = None) -> StoredPost:
    return StoredPost(
        Post(channel_id=channel, message_id=message, date=T0 + timedelta(minutes=channel), text=text,
             channel_title=title, channel_username=username),
        story_id=message,
    )


def one_story(story_id: int, text: str, *, others: int = 0, title: str = "Chan") -> Story:
    posts = [post(1, story_id, text, title=title, username="chan1")]
    posts += [post(10 + i, story_id, text, title=f"Other {i}", username=f"other{i}") for i in range(others)]
    return Story(id=story_id, posts=tuple(posts))


def test_all_text_is_escaped_and_the_html_is_valid_for_telegram() -> None:
    """Markup in post text and channel names is shown literally; Telegram's parser accepts the message."""
    story = one_story(1, "A <b>bold</b> claim & more\nbody with <script>x</script> & \"quotes\"", title="R&D <News>")
    html_text = story_html(story)
    plain = parse_html(html_text)
    assert "A <b>bold</b> claim & more" in plain
    assert "<script>x</script>" in plain
    assert "R&D <News>" in plain
    assert "<script>" not in html_text


def test_title_is_the_first_line_emoji_trimmed_in_bold() -> None:
    """Leading/trailing emoji and blank lines are trimmed from the title; inner emoji stay."""
    text = "\n  🔥🔥 Breaking: rates ⬆ rise 🚨\nThe bank said so."
    start, end, cut = title_bounds(text)
    assert text[start:end] == "Breaking: rates ⬆ rise"
    assert not cut
    assert story_html(one_story(1, text)).startswith("<b>Breaking: rates ⬆ rise</b>\n")


def test_matched_terms_are_bold_in_the_snippet() -> None:
    """Highlight spans become <b> around exactly those characters of the snippet."""
    text = "Title line\nThe central bank of Iran raised rates."
    start = text.index("Iran")
    html_text = story_html(one_story(1, text), spans=[(start, start + 4)])
    assert "The central bank of <b>Iran</b> raised rates." in html_text


def test_snippet_is_about_the_configured_length_and_starts_near_a_late_match() -> None:
    """A long body is cut near snippet_length with "…"; a match far down is brought into view."""
    body = " ".join(f"word{i}" for i in range(400)) + " Iran " + " ".join(f"tail{i}" for i in range(50))
    text = "Title\n" + body
    start = text.index("Iran")
    block = story_html(one_story(1, text), spans=[(start, start + 4)], snippet_length=250)
    snippet = block.split("\n")[1]
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<b>Iran</b>" in snippet
    assert 150 <= len(parse_html(snippet)) <= 260


def test_also_in_lists_three_other_channels_then_a_count() -> None:
    """Five other channels: three linked by name, then "+2"."""
    html_text = story_html(one_story(1, "Same news\nbody", others=5))
    assert html_text.count("<a href=") == 4  # the post itself + three others
    assert "also in" in html_text and html_text.endswith(" +2")
    assert '<a href="https://t.me/other0/1">Other 0</a>' in html_text


def test_header_has_the_date_and_counts() -> None:
    """The first message starts with the digest date and the story and channel counts."""
    parts = render_digest([("Politics", [one_story(1, "One\nx", others=1)]), ("Other", [one_story(2, "Two\ny")])],
                          local_date=DAY)
    first = parse_html(parts[0].text)
    assert first.startswith("📰 Your digest · Mon 10 Jun 2024\n2 stories from 2 channels")
    assert first.index("Politics") < first.index("Other")


def _emoji_story(story_id: int, rng: random.Random) -> Story:
    alphabet = ["😀", "🇩🇪", "Ж", "ß", "漢", "a", " ", "&", "<", "🚀", "é"]
    body = "".join(rng.choice(alphabet) for _ in range(rng.randint(50, 600)))
    return one_story(story_id, f"Story {story_id} 🎉\n{body}", others=rng.randint(0, 5), title=f"Канал {story_id}")


def test_split_respects_4096_utf16_units_with_emoji_and_keeps_every_story_once() -> None:
    """Emoji-heavy digests split into parts of ≤ 4,096 UTF-16 units, valid HTML each, stories whole and once."""
    rng = random.Random(7)
    stories = [_emoji_story(i, rng) for i in range(1, 121)]
    sections = [("Politics", stories[:50]), ("Economy", stories[50:90]), ("Other", stories[90:])]
    parts = render_digest(sections, local_date=DAY, snippet_length=600)
    assert len(parts) > 3
    seen: list[int] = []
    utf16_mattered = False
    for part in parts:
        plain = parse_html(part.text)  # raises if a tag was cut
        assert utf16_len(plain) == telegram_length(part.text) <= TELEGRAM_LIMIT
        utf16_mattered |= len(plain) < utf16_len(plain)
        for story_id in part.story_ids:
            assert f"Story {story_id}" in plain
        seen.extend(part.story_ids)
    assert sorted(seen) == list(range(1, 121))
    assert utf16_mattered


def test_parts_are_filled_greedily() -> None:
    """No part could have taken the next part's first story (the split is not wasteful)."""
    rng = random.Random(3)
    stories = [_emoji_story(i, rng) for i in range(1, 80)]
    parts = render_digest([("Other", stories)], local_date=DAY, snippet_length=400)
    by_id = {s.id: s for s in stories}
    for part, following in zip(parts, parts[1:], strict=False):
        nxt = story_html(by_id[following.story_ids[0]], snippet_length=400)
        assert telegram_length(part.text) + 2 + telegram_length(nxt) > TELEGRAM_LIMIT


def test_continued_section_repeats_its_heading() -> None:
    """A section that spills into the next message starts it with "<name> (cont.)"."""
    stories = [one_story(i, f"Story {i}\n" + "x " * 200) for i in range(1, 40)]
    parts = render_digest([("Economy", stories)], local_date=DAY)
    assert len(parts) >= 2
    assert parse_html(parts[1].text).startswith("Economy (cont.)")


def test_a_story_longer_than_the_limit_gets_a_shorter_snippet() -> None:
    """With a small limit, an overlong story is shortened to fit instead of breaking the limit."""
    story = one_story(1, "Huge\n" + "long words here " * 400)
    parts = render_digest([("Other", [story])], local_date=DAY, snippet_length=5000, limit=600)
    assert [p.story_ids for p in parts] == [(1,)]
    assert telegram_length(parts[0].text) <= 600
    assert "Huge" in parse_html(parts[0].text)


def test_alert_batches_several_stories_in_one_message() -> None:
    """Three stories arriving together make one alert message naming the count."""
    parts = render_alert([one_story(i, f"Alert {i}\nbody") for i in (1, 2, 3)])
    assert len(parts) == 1 and parts[0].story_ids == (1, 2, 3)
    assert parse_html(parts[0].text).startswith("🔔 Alert · 3 new stories")


def test_telegram_length_counts_utf16_after_entities() -> None:
    """Entities count as one character, tags as nothing, astral emoji as two."""
    assert telegram_length("<b>a&amp;b</b> 😀") == 6
    assert utf16_len("😀") == 2


def test_shared_block_cache_tells_a_folded_story_from_the_plain_one() -> None:
    """Digests of one tick share rendered stories; a story with the same id but other posts
    (folded with a linked story, or trimmed by a chat's mutes) is rendered on its own."""
    plain = one_story(7, "Ministers meet in Geneva on Monday to discuss the grain deal.")
    folded = one_story(7, "Ministers meet in Geneva on Monday to discuss the grain deal.", others=2)
    blocks: dict = {}
    first = render_digest([("Other", [plain])], local_date=date(2025, 7, 1), blocks=blocks)
    second = render_digest([("Other", [folded])], local_date=date(2025, 7, 1), blocks=blocks)
    assert "also in" not in first[0].text
    assert "also in" in second[0].text
