"""The bulk matcher gives exactly the naive loop's result, on real text and random data."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import QueryError
from bot.query.matcher import SubscriptionIndex, naive_match
from bot.query.parser import MatchDoc, Query, parse_query

DUMP = (Path(__file__).parent.parent / "fixtures" / "sample_channel_dump.txt").read_text(encoding="utf-8")


def real_stories() -> list[tuple[int, list[MatchDoc]]]:
    """Stories of 1-3 consecutive non-empty lines of the sample dump, from two channels."""
    lines = [text for text in DUMP.splitlines() if text.strip()]
    stories = []
    i = 0
    while i < len(lines):
        size = 1 + i % 3
        docs = [
            MatchDoc.from_text(text, channel="mfa_russia" if (i + k) % 2 else "kremlin")
            for k, text in enumerate(lines[i : i + size])
        ]
        stories.append((1000 + i, docs))
        i += size
    return stories


REAL_QUERIES = [
    "Iran", "UN", "EU", "7", "sanction*", "~sanction", '"Middle East"', "#brics", "#BRICS -ASEAN",
    "(Iran OR Syria) -strikes", "Putin Trump", "Trump OR Lula", "@kremlin Trump",
    "Russia -@kremlin", '"United States" -"Donald Trump"', "multilateral* OR unilateral",
    "ASEAN (Russia* OR China)", 'Iran -"Middle East"', "президент", "Brazil -(BRICS 2025)",
]


def subscriptions(queries: list[str]) -> list[tuple[int, int, Query]]:
    # Two subscriptions per chat, so chats aggregate and some share a query.
    return [(sid, 500 + sid // 2, parse_query(text)) for sid, text in enumerate(queries)]


def test_real_text_equals_naive() -> None:
    """On the sample channel text every subscription gets exactly the naive loop's stories."""
    subs = subscriptions(REAL_QUERIES + REAL_QUERIES[:5])
    stories = real_stories()
    got = SubscriptionIndex(subs).match_all(stories)
    want = naive_match(subs, stories)
    assert got == want
    assert got.by_subscription  # the sample text does match some of these queries


def test_match_groups_story_ids_by_chat() -> None:
    """match() returns the union of story ids per chat; chats with no match are absent."""
    stories = [
        (1, [MatchDoc.from_text("Iran talks in Geneva")]),
        (2, [MatchDoc.from_text("ASEAN summit"), MatchDoc.from_text("Iran and ASEAN")]),
        (3, [MatchDoc.from_text("nothing relevant")]),
    ]
    index = SubscriptionIndex(
        [
            (10, 1, parse_query("Iran")),
            (11, 1, parse_query("ASEAN")),
            (12, 2, parse_query("Geneva")),
            (13, 3, parse_query("Brazil")),
        ]
    )
    assert index.match(stories) == {1: {1, 2}, 2: {1}}
    assert index.match_subscriptions(stories) == {10: {1, 2}, 11: {2}, 12: {1}}


def test_exclusion_is_judged_per_post() -> None:
    """With `a -b`, a story matches if one post has a without b, even if another has both."""
    stories = [(1, [MatchDoc.from_text("Iran strikes"), MatchDoc.from_text("Iran talks")])]
    subs = [(1, 1, parse_query("Iran -strikes")), (2, 2, parse_query("Iran talks strikes"))]
    assert SubscriptionIndex(subs).match(stories) == {1: {1}}
    assert naive_match(subs, stories).by_chat == {1: {1}}


def test_identical_queries_are_evaluated_once() -> None:
    """Subscriptions with the same query (in any spelling) share one compiled entry."""
    index = SubscriptionIndex(
        [(1, 1, parse_query("Iran OR Iraq")), (2, 2, parse_query("iran  OR  IRAQ")), (3, 2, parse_query("x"))]
    )
    assert len(index) == 3
    assert index.distinct_queries == 2


def test_empty_batch_and_empty_index() -> None:
    """No stories or no subscriptions give no matches."""
    assert SubscriptionIndex([(1, 1, parse_query("Iran"))]).match([]) == {}
    assert SubscriptionIndex([(1, 1, parse_query("Iran"))]).match([(1, [])]) == {}
    assert SubscriptionIndex([]).match([(1, [MatchDoc.from_text("Iran")])]) == {}


# --- random data ------------------------------------------------------------------------

VOCAB = ["iran", "iraq", "un", "s", "sanctions", "sanctioned", "sanction", "middle", "east", "санкции", "7"]
PIECES = VOCAB + [
    "san*", "sanction*", "~sanction", '"middle east"', '"iran s"', '"east middle"', "#brics", "#iran",
    "@a", "@b", "OR", "OR", "(", ")", "-iran", "-s", "-sanctions", "-#iran", '-"middle east"', "-@a",
    "-(", "-san*", "-~sanction",
]

docs = st.builds(
    MatchDoc,
    words=st.lists(st.sampled_from(VOCAB), max_size=8).map(tuple),
    hashtags=st.frozensets(st.sampled_from(["brics", "iran"]), max_size=2),
    channel=st.sampled_from([None, "a", "b"]),
)
story_lists = st.lists(st.lists(docs, max_size=3), max_size=8).map(lambda ss: list(enumerate(ss)))
query_texts = st.lists(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=7).map(" ".join), min_size=1, max_size=12
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query_texts, story_lists, st.booleans())
def test_random_data_equals_naive(texts: list[str], stories: list, stemming: bool) -> None:
    """For random queries and stories the index's result is identical to the naive loop's."""
    subs = []
    for sid, text in enumerate(texts):
        try:
            subs.append((sid, sid % 3, parse_query(text, stemming=stemming)))
        except QueryError:
            continue
    assert SubscriptionIndex(subs).match_all(stories) == naive_match(subs, stories)


def test_sparse_and_dense_results_over_many_stories() -> None:
    """With many stories, rare and common matches (and string story ids) come out exactly."""
    stories = [
        (f"s{i}", [MatchDoc.from_text(f"common item {i}" + (" rare" if i == 137 else ""))] * (1 + i % 3))
        for i in range(300)
    ]
    subs = [(1, 1, parse_query("rare")), (2, 2, parse_query("common")), (3, 3, parse_query('"item 42"'))]
    got = SubscriptionIndex(subs).match(stories)
    assert got == {1: {"s137"}, 2: {f"s{i}" for i in range(300)}, 3: {"s42"}}
    assert got == naive_match(subs, stories).by_chat


def test_per_chat_results_behave_as_sets() -> None:
    """A chat's matches answer `in`, len, iteration and equality like the set they stand for."""
    from bot.query.matcher import SubscriptionIndex
    from bot.query.parser import MatchDoc, parse_query

    stories = [
        (10, [MatchDoc.from_text("BRICS summit opens in Rio")]),
        (20, [MatchDoc.from_text("Oil prices rise"), MatchDoc.from_text("BRICS bank lends")]),
        (30, [MatchDoc.from_text("ASEAN ministers meet")]),
    ]
    index = SubscriptionIndex([(1, 7, parse_query("BRICS")), (2, 7, parse_query("ASEAN")), (3, 8, parse_query("oil"))])
    result = index.match(stories)
    assert result[7] == {10, 20, 30} and set(result[8]) == {20}
    assert 20 in result[7] and 99 not in result[7] and 30 not in result[8]
    assert len(result[7]) == 3 and sorted(result[7]) == [10, 20, 30]
