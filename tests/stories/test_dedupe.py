"""Dedupe into stories: every rule both ways, on the real sample channel and its reposts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.normalise import normalise
from bot.stories.dedupe import DedupeItem, StoryIndex, canonical, content_hash, same_story

FIXTURES = Path(__file__).parent.parent / "fixtures"
MAIN = 1113692283
REPOST = 1999000111
T0 = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)


def _flat(text: str | list) -> str:
    if isinstance(text, str):
        return text
    return "".join(part if isinstance(part, str) else part["text"] for part in text)


def load(name: str) -> dict[tuple[int, int], DedupeItem]:
    """The messages of a Desktop export fixture as dedupe items, keyed (channel, id)."""
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    items = {}
    for m in data["messages"]:
        if m["type"] != "message":
            continue
        key = (data["id"], m["id"])
        date = datetime.fromtimestamp(int(m["date_unixtime"]), UTC)
        items[key] = DedupeItem(key=key, date=date, text_norm=normalise(_flat(m["text"])))
    return items


SAMPLE = load("sample_channel_export.json")
REPOSTS = load("repost_channel_export.json")


def fold(items, *, index: StoryIndex | None = None) -> tuple[StoryIndex, dict[tuple[int, int], int]]:
    """Run find/add over ``items`` in order the way ingest does; return key → story."""
    index = StoryIndex() if index is None else index
    stories: dict[tuple[int, int], int] = {}
    next_id = 1
    for item in items:
        story = index.find(item)
        if story is None:
            story, next_id = next_id, next_id + 1
        index.add(item, story)
        stories[item.key] = story
    return index, stories


def item(key: tuple[int, int], text: str, *, at: datetime = T0, origin=None) -> DedupeItem:
    return DedupeItem(key=key, date=at, text_norm=normalise(text), forward_origin=origin)


def text_of(key: tuple[int, int]) -> str:
    return (SAMPLE | REPOSTS)[key].text_norm


# --- the sample channel: each post, then its body again a minute later ------------------


def test_sample_channel_post_and_body_repeat_are_one_story_for_all_12_pairs():
    """Each of the 12 posts and the repeat of its body a minute later form one story."""
    _, stories = fold(SAMPLE.values())
    ids = sorted(SAMPLE)
    pairs = [(ids[i], ids[i + 1]) for i in range(0, len(ids), 2)]
    assert len(pairs) == 12
    for full, repeat in pairs:
        assert stories[full] == stories[repeat], (full, repeat)


def test_sample_channel_has_twelve_distinct_stories():
    """The 12 different posts of the sample channel stay 12 different stories."""
    _, stories = fold(SAMPLE.values())
    assert len(set(stories.values())) == 12


def test_body_repeat_arriving_before_the_full_post_still_joins():
    """Containment works both ways: the shorter text may be indexed first."""
    _, stories = fold([SAMPLE[(MAIN, 15)], SAMPLE[(MAIN, 14)], SAMPLE[(MAIN, 23)], SAMPLE[(MAIN, 22)]])
    assert stories[(MAIN, 15)] == stories[(MAIN, 14)]
    assert stories[(MAIN, 23)] == stories[(MAIN, 22)]
    assert stories[(MAIN, 14)] != stories[(MAIN, 22)]


# --- reposts in another channel -------------------------------------------------------------


@pytest.mark.parametrize("repost, original", [(500, 2), (501, 4), (502, 6), (503, 8), (504, 10)])
def test_repost_channel_retelling_joins_the_original(repost, original):
    """A repost with its own emoji, credit line and read-more trailer joins the original's story."""
    _, stories = fold([*SAMPLE.values(), *REPOSTS.values()])
    assert stories[(REPOST, repost)] == stories[(MAIN, original)]


def test_repost_channel_own_news_are_new_stories():
    """The repost channel's own short news join nothing in the sample channel nor each other."""
    _, stories = fold([*SAMPLE.values(), *REPOSTS.values()])
    own = [stories[(REPOST, i)] for i in range(505, 510)]
    assert len(set(own)) == 5
    assert not set(own) & {stories[k] for k in SAMPLE}


def test_content_hash_ignores_emoji_credit_line_and_read_more_trailer():
    """A repost's canonical text equals the original's, so their hashes are equal."""
    original, repost = text_of((MAIN, 6)), text_of((REPOST, 502))
    assert "source: @mfa_russia" in repost and "read more t.me/mfa_russia" in repost
    assert content_hash(original) == content_hash(repost)
    assert canonical(repost).endswith("reached 90 percent.")


def test_content_hash_is_stable_and_distinguishes_texts():
    """The hash is a fixed hex digest (same in every run) and differs for different text."""
    assert content_hash("flights resume on 3 march") == "c2873486a2552b60f1c71a3ef2b44edc"
    assert content_hash("flights resume on 3 march") == content_hash("flights resume on 3 march")
    assert content_hash("flights resume on 3 march") != content_hash("flights resume on 5 march")


def test_content_hash_keeps_links_of_a_link_only_post():
    """Two posts that are only different links do not collapse to one empty canonical text."""
    a, b = normalise("https://example.com/a"), normalise("https://example.com/b")
    assert content_hash(a) != content_hash(b)
    assert canonical(normalise("Big news https://example.com/a")) == "big news"


def test_identical_text_joins_across_channels():
    """Identical normalised text in another channel is the same story; a changed word is not."""
    a, b = item((1, 1), "«Oil prices rose»"), item((2, 7), '"OIL  prices rose" 🛢')
    assert a.text_norm == b.text_norm
    _, stories = fold([a, b, item((3, 1), "Oil prices fell")])
    assert stories[(1, 1)] == stories[(2, 7)]
    assert stories[(2, 7)] != stories[(3, 1)]


# --- different stories ------------------------------------------------------------------


def test_short_posts_differing_only_in_a_date_stay_apart():
    """'resume on 3 March' and 'resume on 5 March' are different stories."""
    _, stories = fold([REPOSTS[(REPOST, 506)], REPOSTS[(REPOST, 507)]])
    assert stories[(REPOST, 506)] != stories[(REPOST, 507)]
    assert not same_story(text_of((REPOST, 506)), text_of((REPOST, 507)))


def test_short_posts_differing_only_in_a_name_stay_apart():
    """Swapping the city in a short post makes another story."""
    a = "Flights between Moscow and Kuala Lumpur resume on 3 March, the airline said. #ASEAN"
    b = "Flights between Moscow and Bangkok resume on 3 March, the airline said. #ASEAN"
    _, stories = fold([item((1, 1), a), item((1, 2), b)])
    assert stories[(1, 1)] != stories[(1, 2)]


def test_short_posts_differing_in_the_verb_stay_apart():
    """'discussed' vs 'approved' sanctions are different facts in a short post."""
    a = "EU foreign ministers discussed a new package of sanctions at their meeting in Brussels on Tuesday."
    b = "EU foreign ministers approved a new package of sanctions at their meeting in Brussels on Tuesday."
    assert not same_story(normalise(a), normalise(b))


def test_long_post_with_a_changed_number_is_another_story():
    """A long post whose figures differ (90 percent vs 80 percent) is not folded into the original."""
    original = SAMPLE[(MAIN, 6)]
    changed = DedupeItem(
        key=(7, 7), date=original.date, text_norm=original.text_norm.replace("90 percent", "80 percent")
    )
    _, stories = fold([original, changed])
    assert stories[(7, 7)] != stories[original.key]


def test_topic_sharing_lavrov_kuala_lumpur_posts_stay_apart():
    """The Lavrov Kuala Lumpur posts (ASEAN events, Rubio talks, ministerial remarks, EAS) are four stories."""
    keys = [(MAIN, 12), (MAIN, 14), (MAIN, 16), (MAIN, 18)]
    _, stories = fold([SAMPLE[k] for k in keys])
    assert len({stories[k] for k in keys}) == 4


def test_topic_sharing_brics_posts_stay_apart():
    """Putin's BRICS speech, the BRICS declaration and Lavrov's BRICS remarks are three stories."""
    keys = [(MAIN, 6), (MAIN, 8), (MAIN, 10), (REPOST, 505)]
    _, stories = fold([(SAMPLE | REPOSTS)[k] for k in keys])
    assert len({stories[k] for k in keys}) == 4


# --- light rewrites ----------------------------------------------------------------------


def test_light_rewrite_of_a_long_post_joins():
    """The same facts with a few words changed and two sentences swapped join the story."""
    original = text_of((MAIN, 20))
    sentences = original.split(". ")
    sentences[1], sentences[2] = sentences[2], sentences[1]
    rewrite = ". ".join(sentences)
    for old, new in [("expressed satisfaction", "were pleased"), ("in-depth", "detailed"), ("held", "had")]:
        rewrite = rewrite.replace(old, new, 1)
    assert rewrite != original
    assert content_hash(rewrite) != content_hash(original)
    later = SAMPLE[(MAIN, 20)].date + timedelta(hours=3)
    index, stories = fold([SAMPLE[(MAIN, 20)], DedupeItem(key=(5, 1), date=later, text_norm=rewrite)])
    assert stories[(5, 1)] == stories[(MAIN, 20)]


def test_light_rewrite_of_a_short_post_joins():
    """A short post retold with words reordered and added (no fact changed) joins the story."""
    a = "Flights between Moscow and Kuala Lumpur resume on 3 March, the airline said. #ASEAN"
    b = "The airline said flights between Moscow and Kuala Lumpur will resume on 3 March."
    _, stories = fold([item((1, 1), a), item((2, 1), b)])
    assert stories[(1, 1)] == stories[(2, 1)]


def test_unrelated_posts_do_not_join():
    """Posts sharing only common words are different stories."""
    a = "Oil prices rose on Tuesday after OPEC+ signalled it would keep output steady through the summer."
    b = "EU foreign ministers discussed a new package of sanctions at their meeting in Brussels on Tuesday."
    _, stories = fold([item((1, 1), a), item((1, 2), b)])
    assert stories[(1, 1)] != stories[(1, 2)]


# --- time window -------------------------------------------------------------------------


def test_same_text_outside_the_window_is_a_new_story():
    """The same text 8 days later starts a new story; 6 days later it joins."""
    post = SAMPLE[(MAIN, 20)]
    later = DedupeItem(key=(9, 1), date=post.date + timedelta(days=8), text_norm=post.text_norm)
    sooner = DedupeItem(key=(9, 2), date=post.date + timedelta(days=6), text_norm=post.text_norm)
    index, stories = fold([post])
    assert index.find(later) is None
    assert index.find(sooner) == stories[post.key]


def test_window_is_configurable_and_applies_to_similarity_too():
    """With a 1-day window, a body repeat two days later does not join."""
    full, body = SAMPLE[(MAIN, 22)], SAMPLE[(MAIN, 23)]
    late_body = DedupeItem(key=body.key, date=full.date + timedelta(days=2), text_norm=body.text_norm)
    index, _ = fold([full], index=StoryIndex(window=timedelta(days=1)))
    assert index.find(late_body) is None
    index, stories = fold([full], index=StoryIndex(window=timedelta(days=3)))
    assert index.find(late_body) == stories[full.key]


def test_window_looks_both_ways_in_time():
    """An older post imported after a newer one still joins it when within the window."""
    post = SAMPLE[(MAIN, 8)]
    earlier = DedupeItem(key=(3, 3), date=post.date - timedelta(days=2), text_norm=post.text_norm)
    index, stories = fold([post])
    assert index.find(earlier) == stories[post.key]


# --- forwards ----------------------------------------------------------------------------


def test_forward_with_known_origin_joins_whatever_its_text():
    """A forward whose origin is indexed joins the origin's story, even with no text (media)."""
    index, stories = fold([SAMPLE[(MAIN, 12)]])
    forward = item((REPOST, 900), "", at=T0 + timedelta(days=30), origin=(MAIN, 12))
    assert index.find(forward) == stories[(MAIN, 12)]


def test_forward_with_unknown_origin_is_judged_by_its_text():
    """A forward of a post we never saw starts a new story unless its text matches one."""
    index, _ = fold([SAMPLE[(MAIN, 12)]])
    assert index.find(item((REPOST, 901), "", origin=(42, 1))) is None


def test_forwards_of_the_same_origin_join_and_the_origin_joins_them():
    """Two channels forwarding one unseen post share a story, and that post joins it when it arrives."""
    _, stories = fold(
        [
            item((10, 1), "", origin=(77, 5)),
            item((11, 1), "", origin=(77, 5)),
            item((77, 5), "Some original text that nobody else wrote here."),
        ]
    )
    assert stories[(10, 1)] == stories[(11, 1)] == stories[(77, 5)]


# --- empty and short texts ------------------------------------------------------------------


def test_media_only_posts_never_merge():
    """Posts without text are separate stories (else every photo would join one story)."""
    _, stories = fold([item((1, i), "") for i in range(1, 6)] + [item((1, 9), "📷 ")])
    assert len(set(stories.values())) == 6


def test_short_texts_merge_only_when_identical():
    """Texts under four words join by identical text, never by similarity."""
    _, stories = fold(
        [item((1, 1), "Read in full 👇"), item((2, 1), "read in full"), item((3, 1), "Kuala Lumpur talks"),
         item((3, 2), "Kuala Lumpur meeting"), item((3, 3), "Kuala Lumpur")]
    )
    assert stories[(1, 1)] == stories[(2, 1)]
    assert len({stories[(3, 1)], stories[(3, 2)], stories[(3, 3)], stories[(1, 1)]}) == 4


def test_short_fragment_contained_in_a_long_post_does_not_join_it():
    """A 5-word fragment that shares most words with a long post but not its wording stays apart."""
    _, stories = fold([SAMPLE[(MAIN, 16)], SAMPLE[(MAIN, 15)]])
    assert stories[(MAIN, 15)] != stories[(MAIN, 16)]


# --- index housekeeping ----------------------------------------------------------------------


def test_add_is_idempotent_per_key():
    """Adding the same post twice keeps one entry; adding it under another story moves it."""
    index, stories = fold([SAMPLE[(MAIN, 2)]])
    index.add(SAMPLE[(MAIN, 2)], stories[(MAIN, 2)])
    assert len(index) == 1
    index.add(SAMPLE[(MAIN, 2)], 999)
    assert len(index) == 1
    assert index.story_of((MAIN, 2)) == 999
    assert index.find(SAMPLE[(MAIN, 3)]) == 999


def test_find_on_an_indexed_key_returns_its_story():
    """An already indexed post reports its own story (re-import changes nothing)."""
    index, stories = fold(SAMPLE.values())
    assert index.find(SAMPLE[(MAIN, 9)]) == stories[(MAIN, 9)]


def test_discard_forgets_a_post():
    """After discard the post neither has a story nor attracts others."""
    index, stories = fold([SAMPLE[(MAIN, 2)]])
    index.discard((MAIN, 2))
    index.discard((MAIN, 2))  # unknown keys are ignored
    assert index.story_of((MAIN, 2)) is None
    assert len(index) == 0
    assert index.find(SAMPLE[(MAIN, 3)]) is None
    assert index.find(REPOSTS[(REPOST, 500)]) is None


def test_discard_then_readd_reindexes_an_edit():
    """An edited post re-indexed with new text matches by its new text only."""
    index, stories = fold([SAMPLE[(MAIN, 6)], SAMPLE[(MAIN, 20)]])
    index.discard((MAIN, 6))
    edited = DedupeItem(key=(MAIN, 6), date=SAMPLE[(MAIN, 20)].date, text_norm=text_of((MAIN, 20)))
    assert index.find(edited) == stories[(MAIN, 20)]
    index.add(edited, stories[(MAIN, 20)])
    assert index.find(SAMPLE[(MAIN, 7)]) is None


def test_prune_drops_posts_before_a_date():
    """prune forgets older posts and reports how many; newer ones stay findable."""
    index, stories = fold(SAMPLE.values())
    dropped = index.prune(datetime(2025, 7, 5, tzinfo=UTC))
    assert dropped == 10
    assert len(index) == 14
    assert index.story_of((MAIN, 2)) is None
    assert index.find(SAMPLE[(MAIN, 13)]) == stories[(MAIN, 13)]  # still indexed
    assert index.find(REPOSTS[(REPOST, 500)]) is None  # its originals are gone


def test_naive_datetimes_and_bad_options_are_rejected():
    """Naive dates and nonsensical options raise ValueError with a clear message."""
    index = StoryIndex()
    with pytest.raises(ValueError, match="timezone-aware"):
        index.find(DedupeItem(key=(1, 1), date=datetime(2025, 1, 1), text_norm="x"))
    with pytest.raises(ValueError, match="window"):
        StoryIndex(window=timedelta(0))
    with pytest.raises(ValueError, match="similarity"):
        StoryIndex(similarity=1.5)


def test_similarity_knob_changes_what_joins():
    """A stricter similarity keeps a light rewrite apart that the default joins."""
    a = text_of((MAIN, 24))
    b = a.replace("took part in", "attended").replace("first half", "morning").replace("assessments", "views")
    b = b.replace("met with", "received").replace("shared", "gave")
    default, _ = fold([DedupeItem(key=(1, 1), date=T0, text_norm=a)])
    strict, _ = fold([DedupeItem(key=(1, 1), date=T0, text_norm=a)], index=StoryIndex(similarity=0.95, containment=0.99))
    probe = DedupeItem(key=(2, 1), date=T0, text_norm=b)
    assert default.find(probe) is not None
    assert strict.find(probe) is None


@given(st.text(max_size=200))
def test_canonical_and_hash_are_pure_functions(text):
    """canonical is idempotent on normalised text and content_hash is deterministic."""
    norm = normalise(text)
    assert canonical(canonical(norm)) == canonical(norm)
    assert content_hash(norm) == content_hash(norm)


def test_short_posts_with_opposite_polarity_stay_apart():
    """'resume' and 'do not resume' are different stories even with every other word shared."""
    a = "Flights between Moscow and Kuala Lumpur resume on 3 March, the airline said."
    b = "Flights between Moscow and Kuala Lumpur do not resume on 3 March, the airline said."
    _, stories = fold([item((1, 1), a), item((1, 2), b)])
    assert stories[(1, 1)] != stories[(1, 2)]


def test_short_repeat_of_a_long_posts_last_line_joins():
    """A one-line message repeating the closing line of a long post just before joins its story."""
    long_post = SAMPLE[(MAIN, 24)]
    tail = DedupeItem(
        key=(MAIN, 99), date=long_post.date + timedelta(minutes=1),
        text_norm=normalise("Sergey Lavrov also held several bilateral meetings."),
    )
    assert long_post.text_norm.endswith(tail.text_norm)
    _, stories = fold([long_post, tail])
    assert stories[tail.key] == stories[long_post.key]


def test_rewrite_joins_through_a_newer_exact_copy_when_the_first_is_out_of_window():
    """Exact copies share one signature; a later rewrite finds the copy that is still in the window."""
    first = SAMPLE[(MAIN, 20)]
    copy = DedupeItem(key=(REPOST, 700), date=first.date + timedelta(days=6), text_norm=first.text_norm)
    rewrite = DedupeItem(
        key=(REPOST, 701), date=first.date + timedelta(days=12),
        text_norm=first.text_norm.replace("in-depth", "detailed").replace("held", "had"),
    )
    index, stories = fold([first, copy])
    assert stories[copy.key] == stories[first.key]
    assert index.find(rewrite) == stories[first.key]
    index.discard(first.key)  # the anchors move to the copy
    assert index.find(rewrite) == stories[first.key]


def test_shared_boilerplate_does_not_merge_different_posts():
    """Many different posts ending in the same stock sentence stay apart; a repeat still joins."""
    rng = __import__("random").Random(3)
    vocab = sorted({w for it in SAMPLE.values() for w in it.text_norm.split() if w.isalpha()})
    stock = " this is a developing story, our correspondents in the region will keep you updated."
    posts = [
        item((8, i), " ".join(rng.choice(vocab) for _ in range(40)) + stock, at=T0 + timedelta(minutes=i))
        for i in range(120)
    ]
    index, stories = fold(posts)
    assert len(set(stories.values())) == 120
    repeat = DedupeItem(key=(9, 1), date=T0 + timedelta(hours=5), text_norm=posts[77].text_norm[40:])
    assert index.find(repeat) == stories[(8, 77)]


def test_content_hash_is_the_same_whether_or_not_the_index_saw_the_text_first():
    """The remembered canonical form never leaks into another text's hash."""
    a, b = text_of((MAIN, 6)), text_of((REPOST, 502))
    first = content_hash(a)
    index, _ = fold([SAMPLE[(MAIN, 6)]])
    index.find(REPOSTS[(REPOST, 502)])
    assert content_hash(a) == first
    assert content_hash(b) == first  # the repost's canonical text equals the original's
    assert content_hash("flights resume on 3 march") == "c2873486a2552b60f1c71a3ef2b44edc"


def test_numbers_with_leading_zeros_are_one_number_and_repeats_count():
    """'05 July' equals '5 July'; a number said twice differs from it said once with another."""
    base = "Flights between Moscow and Hanoi resume on 5 July after 5 years, the airline said."
    assert same_story(normalise(base), normalise(base.replace("on 5 July", "on 05 July")))
    assert not same_story(normalise(base), normalise(base.replace("after 5 years", "after 7 years")))


def test_a_new_post_sharing_only_boilerplate_keys_is_a_new_story():
    """Posts that share sentences but state different numbers stay apart through the index."""
    body = "The ministers discussed regional security and trade at the meeting."
    posts = [item((4, i), f"Report {i}: {body} ({1000 + i})", at=T0 + timedelta(minutes=i)) for i in range(60)]
    _, stories = fold(posts)
    assert len(set(stories.values())) == 60


def test_fingerprints_are_the_same_in_every_process() -> None:
    """A fingerprint made in another interpreter (an import worker) equals one made here."""
    import json
    import subprocess
    import sys

    from bot.stories.dedupe import fingerprint

    text = "lavrov and wang yi discussed the sco summit. the ministers agreed on a plan for 2026."
    code = (
        "import json, sys; from bot.stories.dedupe import fingerprint; f = fingerprint(sys.argv[1]); "
        "print(json.dumps([f.canon, f.chash.hex(), list(f.keys)]))"
    )
    out = subprocess.run([sys.executable, "-c", code, text], capture_output=True, text=True, check=True)
    canon, chash, keys = json.loads(out.stdout)
    here = fingerprint(text)
    assert (canon, chash, tuple(keys)) == (here.canon, here.chash.hex(), here.keys)


def test_items_with_fingerprints_dedupe_like_items_without(sample_export) -> None:
    """Handing find/add a precomputed fingerprint changes no story assignment."""
    from bot.core.models import Post
    from bot.core.normalise import normalise
    from bot.sources.export import read_export
    from bot.stories.dedupe import DedupeItem, StoryIndex, fingerprint

    posts = sorted((p for p in read_export(sample_export) if isinstance(p, Post)), key=lambda p: p.date)
    assignments = []
    for precompute in (False, True):
        index, stories, next_id = StoryIndex(), [], 1
        for post in posts:
            text = normalise(post.text)
            item = DedupeItem(key=post.key, date=post.date, text_norm=text,
                              fingerprint=fingerprint(text) if precompute else None)
            story = index.find(item)
            if story is None:
                story, next_id = next_id, next_id + 1
            index.add(item, story)
            stories.append(story)
        assignments.append(stories)
    assert assignments[0] == assignments[1]
    assert len(set(assignments[1])) == 12
