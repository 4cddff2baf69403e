"""Property tests: the parser only ever fails with QueryError, valid queries always evaluate,
the canonical form round-trips and highlight spans stay well-formed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import QueryError
from bot.query.parser import MatchDoc, Query, highlight_spans, parse_query

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of query syntax, so random queries are often valid and reach deep paths.
PIECES = [
    "iran", "Iran’s", "UN", "sanction*", "~sanction", '"middle east"', "“un charter”",
    "#brics", "@mfa_russia", "OR", "-", "(", ")", '"', "~", "*", "#", "@", "U.S.", "7",
    "санкции", "ЕС", "--", "-(", " ", "2017", "é", "ß", "🇷🇺", "'", "-iran", "-#brics", '-"un charter"',
    "-@mfa_russia", "-~sanction",
]

query_like = st.lists(st.sampled_from(PIECES), max_size=14).map(" ".join)
glued = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)
any_text = st.text(max_size=260)

WORDS = ["iran", "s", "un", "sanctions", "sanctioned", "middle", "east", "санкции", "7", "2017"]
docs = st.builds(
    MatchDoc,
    words=st.lists(st.sampled_from(WORDS), max_size=12).map(tuple),
    hashtags=st.frozensets(st.sampled_from(["brics", "iran", "un"]), max_size=2),
    channel=st.sampled_from([None, "mfa_russia", "other"]),
)


def try_parse(text: str, **kwargs: object) -> Query | None:
    try:
        return parse_query(text, **kwargs)  # type: ignore[arg-type]
    except QueryError as e:
        assert str(e), "a QueryError always says what is wrong"
        return None


@SETTINGS
@given(st.one_of(any_text, query_like, glued), st.booleans())
def test_parse_raises_only_query_error(text: str, stemming: bool) -> None:
    """Any text either parses or raises QueryError with a message; nothing else escapes."""
    try_parse(text, stemming=stemming)


@SETTINGS
@given(st.one_of(query_like, glued), st.booleans(), st.lists(docs, max_size=4))
def test_valid_queries_evaluate_and_round_trip(text: str, stemming: bool, sample: list[MatchDoc]) -> None:
    """A valid query matches any document without raising, and its canonical form parses
    back to the same tree with the same verdicts."""
    q = try_parse(text, stemming=stemming, max_length=1000, max_terms=100)
    if q is None:
        return
    again = parse_query(q.describe(), stemming=stemming, max_length=2000, max_terms=100)
    assert again.root == q.root
    for d in sample:
        assert q.matches(d) == again.matches(d)


@SETTINGS
@given(st.one_of(query_like, glued), st.text(max_size=120))
def test_highlight_spans_are_well_formed(text: str, post: str) -> None:
    """Highlight spans are sorted, disjoint, non-empty and inside the original text."""
    q = try_parse(text, max_length=1000, max_terms=100)
    if q is None:
        return
    spans = highlight_spans(post, q)
    previous_end = -1
    for start, end in spans:
        assert 0 <= start < end <= len(post)
        assert start > previous_end
        previous_end = end


@SETTINGS
@given(st.text(max_size=120))
def test_every_word_of_a_text_matches_it(text: str) -> None:
    """Each word of a post, used as a query, matches that post (no word is lost in folding)."""
    d = MatchDoc.from_text(text)
    for w in set(d.words):
        assert parse_query(f'"{w}"').matches(d)
