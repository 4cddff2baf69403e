"""Which stories a digest holds and under which section (bot.digests.selection, pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.models import Post, StoredPost, Story
from bot.digests.selection import (
    OTHER,
    Window,
    digest_window,
    group_sections,
    section_of,
    select_stories,
)

NOW = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)


def story(story_id: int, hours_ago: float, *, categories: tuple[str, ...] = (), channels: int = 1) -> Story:
    date = NOW - timedelta(hours=hours_ago)
    posts = tuple(
        StoredPost(Post(channel_id=100 + c, message_id=story_id, date=date + timedelta(minutes=c),
                        text=f"story {story_id}"), story_id, categories)
        for c in range(channels)
    )
    return Story(id=story_id, posts=posts, categories=categories)


def test_first_window_looks_back_the_configured_hours() -> None:
    """Without a previous digest the window is the last ``first_lookback`` hours."""
    w = digest_window(now=NOW, last_digest_at=None, first_lookback=timedelta(hours=24))
    assert (w.start, w.end, w.since) == (NOW - timedelta(hours=24), NOW, NOW - timedelta(hours=24))


def test_later_window_starts_at_the_previous_digest_with_grace() -> None:
    """After a digest, the window opens at it minus the late-collection grace; users see the digest time."""
    last = NOW - timedelta(days=1)
    w = digest_window(now=NOW, last_digest_at=last, first_lookback=timedelta(hours=24), late_grace=timedelta(hours=1))
    assert w.start == last - timedelta(hours=1)
    assert w.since == last and w.end == NOW


def test_selects_matched_stories_in_the_window_once_each() -> None:
    """Only matched, not yet given stories first published inside the window count, each once."""
    window = Window(start=NOW - timedelta(hours=24), end=NOW, since=NOW - timedelta(hours=24))
    inside, other, given, old, future = story(1, 2), story(2, 3), story(3, 4), story(4, 30), story(5, -1)
    sel = select_stories(
        [inside, other, given, old, future, inside],
        matched={1, 3, 4, 5},
        already={3},
        window=window,
    )
    assert sel.story_ids == (1,)
    assert sel.omitted == 0


def test_late_arriving_old_story_never_counts() -> None:
    """A story published 3 days ago (a backfill) is outside the window however late it arrives."""
    window = Window(start=NOW - timedelta(hours=25), end=NOW, since=NOW - timedelta(hours=24))
    sel = select_stories([story(9, 72)], matched={9}, already=set(), window=window)
    assert not sel


def test_max_stories_keeps_the_most_told_and_counts_the_rest() -> None:
    """Over the cap, stories told by most channels are kept (in time order) and the others counted."""
    window = Window(start=NOW - timedelta(hours=24), end=NOW, since=NOW - timedelta(hours=24))
    stories = [story(1, 5, channels=1), story(2, 4, channels=3), story(3, 3, channels=2), story(4, 2, channels=1)]
    sel = select_stories(stories, matched={1, 2, 3, 4}, already=set(), window=window, max_stories=2)
    assert sel.story_ids == (2, 3)
    assert sel.omitted == 2


def test_story_in_several_categories_is_listed_under_the_first_in_config_order() -> None:
    """Config order decides, not the story's own order; no category means Other."""
    order = ["Politics", "Economy", "Tech"]
    assert section_of(story(1, 1, categories=("Tech", "Economy")), order) == "Economy"
    assert section_of(story(2, 1, categories=("Sport",)), order) == OTHER
    assert section_of(story(3, 1), order) == OTHER


def test_sections_in_config_order_other_last_each_story_once() -> None:
    """Sections follow config order, Other comes last, and every story appears in exactly one section."""
    order = ["Politics", "Economy"]
    stories = [
        story(1, 5, categories=("Economy",)),
        story(2, 4),
        story(3, 3, categories=("Economy", "Politics")),
        story(4, 2, categories=("Politics",)),
    ]
    sections = group_sections(stories, order)
    assert [(name, [s.id for s in group]) for name, group in sections] == [
        ("Politics", [3, 4]),
        ("Economy", [1]),
        (OTHER, [2]),
    ]
