"""The query language: every operator both ways on real channel text, the spec examples,
Cyrillic, stemming, bad input messages, canonical form and highlighting."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.models import Post
from bot.errors import QueryError
from bot.query.parser import (
    MatchDoc,
    Phrase,
    Prefix,
    Tag,
    Word,
    highlight_spans,
    parse_query,
    story_matches,
)

DUMP = (Path(__file__).parent.parent / "fixtures" / "sample_channel_dump.txt").read_text(encoding="utf-8")
LINES = DUMP.splitlines()


def line(containing: str) -> str:
    """The first line of the sample channel dump containing ``containing``."""
    return next(text for text in LINES if containing in text)


# Real posts from the sample dump.
UNILATERAL = line("We condemn the imposition of unilateral coercive measures")  # also "UN Charter"
WEST = line("The increasingly aggressive attempts by the West")
ASEAN = line("ASEAN is truly Russia’s reliable friend")
IRAN = line("There was a detailed discussion of the situation surrounding Iran")
STRIKES = line("military strikes against the Islamic Republic of Iran since 13 June 2025")
BRICS_TAG = line("strategic partnership within #BRICS")
BRAZIL = line("Brazil’s BRICS Chairship in 2025")


def doc(text: str, *, channel: str | None = None, hashtags: tuple[str, ...] = ()) -> MatchDoc:
    return MatchDoc.from_text(text, channel=channel, hashtags=hashtags)


def m(query: str, text: str, **kwargs: object) -> bool:
    return parse_query(query, **kwargs).matches(doc(text))  # type: ignore[arg-type]


# --- the spec examples ------------------------------------------------------------------


def test_un_does_not_match_unilateral() -> None:
    """`UN` is a whole word: it does not match inside "unilateral"."""
    assert not m("UN", "the imposition of unilateral coercive measures")
    assert m("UN", UNILATERAL)  # the same post says "the UN Charter"


def test_eu_does_not_match_europe() -> None:
    """`EU` does not match "Europe" or "European", but matches "EU"."""
    assert not m("EU", "Security in Europe and the European Union")
    assert m("EU", "The EU extended its measures")


def test_seven_does_not_match_2017() -> None:
    """`7` does not match inside a longer number such as 2017."""
    assert not m("7", "the 2017 agreement")
    assert m("7", "the G7 summit met 7 times")  # "G7" is one word, the bare 7 matches


def test_iran_matches_iran_with_typographic_apostrophe() -> None:
    """`Iran` matches "Iran’s" (typographic apostrophe), the possessive splitting off."""
    assert m("Iran", "Iran’s foreign minister arrived")
    assert m("Russia", ASEAN)  # "Russia’s" in a real post


def test_case_insensitive() -> None:
    """Matching ignores case on both sides."""
    assert m("brics", BRAZIL)
    assert m("BrIcS", BRAZIL)


# --- each operator both ways --------------------------------------------------------------


def test_word_matches_and_misses() -> None:
    """A bare word matches posts containing it as a word and not others."""
    assert m("Iran", IRAN)
    assert not m("Iran", WEST)


def test_phrase_matches_consecutive_words_ignoring_punctuation() -> None:
    """A quoted phrase matches its words in order, punctuation between them ignored."""
    assert m('"surrounding Iran and the state"', IRAN)  # a comma sits between Iran and and
    assert m('"Middle East"', IRAN)


def test_phrase_does_not_match_other_order_or_gap() -> None:
    """A phrase does not match the same words out of order or with words between them."""
    assert not m('"East Middle"', IRAN)
    assert not m('"situation Iran"', IRAN)  # "situation surrounding Iran"


def test_prefix_matches_and_misses() -> None:
    """`sanction*` matches "sanctions" but not a word that merely contains it."""
    assert m("sanction*", UNILATERAL)
    assert not m("sanction*", "desanctioning talks")
    assert not m("sanction*", WEST)


def test_and_needs_every_term() -> None:
    """Terms side by side must all be present."""
    assert m("unilateral sanctions", UNILATERAL)
    assert not m("unilateral Iran", UNILATERAL)


def test_or_needs_one_alternative() -> None:
    """`a OR b` matches a post with either term and not one with neither."""
    assert m("Iran OR ASEAN", ASEAN)
    assert m("Iran OR ASEAN", IRAN)
    assert not m("Iran OR ASEAN", WEST)


def test_lowercase_or_is_a_word() -> None:
    """Only uppercase OR is the operator; lowercase "or" is a word to look for."""
    assert parse_query("Iran or ASEAN").describe() == "iran or asean"
    assert not m("Iran or ASEAN", ASEAN)


def test_exclusion_of_word() -> None:
    """`-word` drops posts containing the word."""
    assert m("Iran -strikes", IRAN)
    assert not m("Iran -strikes", STRIKES)


def test_exclusion_of_phrase() -> None:
    """`-"phrase"` drops posts containing the phrase but keeps those with the words apart."""
    assert not m('Iran -"Middle East"', IRAN)
    assert m('Iran -"East Middle"', IRAN)


def test_hashtag_matches_only_hashtags() -> None:
    """`#brics` matches a post tagged #BRICS, not one that only says BRICS."""
    assert m("#brics", BRICS_TAG)
    assert not m("#brics", BRAZIL)
    assert m("BRICS", BRICS_TAG)  # the word still matches the hashtag's text


def test_exclusion_of_hashtag() -> None:
    """`-#tag` drops posts carrying the hashtag."""
    assert not m("BRICS -#brics", BRICS_TAG)
    assert m("BRICS -#brics", BRAZIL)


def test_hashtag_from_post_field() -> None:
    """Hashtags given with the post (e.g. from entities) count as well."""
    assert parse_query("#diplomacy").matches(doc("no tag in the text", hashtags=("Diplomacy",)))


def test_channel_filter() -> None:
    """`@channel` matches only posts of that channel, case-insensitively."""
    q = parse_query("Iran @MFA_Russia")
    assert q.matches(doc(IRAN, channel="mfa_russia"))
    assert not q.matches(doc(IRAN, channel="other_channel"))
    assert not q.matches(doc(IRAN, channel=None))


def test_exclusion_of_channel() -> None:
    """`-@channel` drops that channel's posts."""
    q = parse_query("Iran -@mfa_russia")
    assert not q.matches(doc(IRAN, channel="MFA_Russia"))
    assert q.matches(doc(IRAN, channel="kremlin"))


def test_parentheses_group() -> None:
    """Parentheses group an OR inside an AND."""
    q = parse_query("(Iran OR ASEAN) Russia*")
    assert q.matches(doc(ASEAN))
    assert not q.matches(doc(WEST))
    assert not parse_query("(Iran OR ASEAN) Brazil").matches(doc(ASEAN))


def test_exclusion_of_group() -> None:
    """`-(a b)` drops posts containing both a and b, not those with one of them."""
    q = parse_query("Iran -(Syria Ukraine)")
    assert not q.matches(doc(IRAN + " Syria and Ukraine"))
    assert q.matches(doc(IRAN + " Syria"))


def test_precedence_not_and_or() -> None:
    """NOT binds tighter than AND, AND tighter than OR: `a b OR c` is `(a b) OR c`."""
    q = parse_query("Iran strikes OR ASEAN")
    assert q.matches(doc(ASEAN))
    assert q.matches(doc(STRIKES))
    assert not q.matches(doc(IRAN))  # Iran without strikes, no ASEAN
    q2 = parse_query("ASEAN OR Iran -strikes")  # ASEAN OR (Iran AND NOT strikes)
    assert q2.matches(doc(IRAN))
    assert not q2.matches(doc(STRIKES))


def test_multiword_bare_term_is_a_phrase() -> None:
    """A bare term with inner punctuation (U.S., covid-19) is the phrase of its words."""
    q = parse_query("U.S.")
    assert q.root == Phrase(("u", "s"))
    assert q.matches(doc("sanctions by the U.S. Treasury"))
    assert not q.matches(doc("us and them"))
    assert parse_query("covid-19").matches(doc("COVID 19 cases"))


def test_cyrillic_whole_words() -> None:
    """Cyrillic words match whole words only, case-insensitively."""
    text = "МИД России: санкции ЕС против Ирана незаконны"
    assert m("санкции", text)
    assert m("ЕС", text)
    assert m("ес", text)
    assert not m("ЕС", "Если будет встреча")  # "ес" is not inside "Если"
    assert m("санкц*", text)
    assert m('"мид россии"', text)
    assert not m("Иран", text)  # exact by default: "Ирана" is another form


def test_cyrillic_stemming() -> None:
    """With the Russian stemmer `~Иран` matches the inflected "Ирана"."""
    assert m("~Иран", "санкции против Ирана", language="russian")


def test_emoji_and_flags_are_ignored() -> None:
    """Emoji between words neither match nor break a phrase."""
    assert m('"Brazil s BRICS"', BRAZIL)
    assert m('"commend Brazil"', BRAZIL)  # "We commend 🇧🇷 Brazil’s"


# --- stemming ---------------------------------------------------------------------------


def test_tilde_stems_one_word() -> None:
    """`~sanction` matches sanctioned and sanctions; plain `sanction` does not."""
    assert m("~sanction", "the company was sanctioned")
    assert m("~sanction", UNILATERAL)
    assert not m("sanction", UNILATERAL)


def test_global_stemming_stems_bare_words_not_quoted() -> None:
    """With stemming=True bare words are stemmed, a quoted word stays exact."""
    assert m("sanction", UNILATERAL, stemming=True)
    assert not m('"sanction"', UNILATERAL, stemming=True)


def test_stemmed_phrase() -> None:
    """`~"phrase"` compares its words by stem."""
    assert m('~"economic sanction"', UNILATERAL)
    assert not m('"economic sanction"', UNILATERAL)


def test_unknown_stemming_language() -> None:
    """An unknown stemming language is a QueryError naming it."""
    with pytest.raises(QueryError, match="klingon"):
        parse_query("~sanction", language="klingon")


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ('"iran', "unbalanced quotes"),
        ('iran "middle east', "unbalanced quotes"),
        ("(iran OR iraq", "'(' is never closed"),
        ("iran)", "')' has no matching '('"),
        (")iran(", "')' has no matching '('"),
        ("-iran", "not only exclusions"),
        ("-iran -iraq", "not only exclusions"),
        ("iran OR -iraq", "each side of OR"),
        ("iran -(-iraq -syria)", "a group in parentheses needs a term"),
        ("iran OR", "OR needs a term on both sides"),
        ("OR iran", "OR needs a term on both sides"),
        ("iran OR OR iraq", "OR needs a term on both sides"),
        ("(iran OR) x", "OR needs a term on both sides"),
        ("OR", "OR needs a term on both sides"),
        ('""', "empty phrase"),
        ('iran "  ,. "', "empty phrase"),
        ("*", "'*' alone"),
        ("iran *", "'*' alone"),
        ("sanc*tion", "'*' may only end a word"),
        ("()", "empty parentheses"),
        ("iran ()", "empty parentheses"),
        ("iran - iraq", "directly before"),
        ("--iran x", "single '-'"),
        ("x -(-iran)", "cannot be excluded again"),
        ("#", "not a hashtag"),
        ("#a-b", "not a hashtag"),
        ("@", "not a channel username"),
        ("@some.channel", "not a channel username"),
        ("~", "'~' must be written directly before a word"),
        ("~#tag", "only goes before a word"),
        ("~sanc*", "only goes before a word"),
        ("!!!", "no letters or digits"),
        ("U.S.-*", "one word"),
        ("((((((((((( iran )))))))))))", "nested more than"),
    ],
)
def test_bad_input_raises_query_error_with_message(text: str, message: str) -> None:
    """Each kind of invalid query raises QueryError with a message saying what is wrong."""
    with pytest.raises(QueryError, match=re.escape(message)):
        parse_query(text)


def test_too_long() -> None:
    """A query longer than max_length is rejected with both numbers in the message."""
    with pytest.raises(QueryError, match="201 characters long; the limit is 200"):
        parse_query("a" * 201)
    assert parse_query("a" * 200).matches(doc("a" * 200))
    with pytest.raises(QueryError, match="limit is 10"):
        parse_query("iran sanctions", max_length=10)


def test_too_many_terms() -> None:
    """More than max_terms terms is rejected; exactly max_terms is fine."""
    twenty = " ".join(f"w{i}" for i in range(20))
    assert parse_query(twenty).describe() == twenty
    with pytest.raises(QueryError, match="21 terms; the limit is 20"):
        parse_query(twenty + " w20")
    with pytest.raises(QueryError, match="the limit is 2"):
        parse_query("a b c", max_terms=2)


def test_regex_and_fts_syntax_are_plain_text() -> None:
    """Regex or FTS metacharacters are never interpreted: `a.b` is the phrase "a b"."""
    assert parse_query("a.b").matches(doc("a b"))
    assert not parse_query("a.b").matches(doc("axb"))
    assert parse_query("NEAR(iran)").matches(doc("near iran"))
    assert parse_query("[^a]+").root == Word("a")
    assert not parse_query("[^a]+").matches(doc("bbb"))
    with pytest.raises(QueryError, match="no letters or digits"):
        parse_query(".*")


# --- canonical form, terms, stories -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Iran", "iran"),
        ("  Iran   OR   Iraq  ", "iran OR iraq"),
        ("(Iran OR Iraq) -#War @MFA_Russia", "(iran OR iraq) -#war @mfa_russia"),
        ("“Middle East” Sanction*", '"middle east" sanction*'),
        ("-(a b) c", "-(a b) c"),
        ("~Sanction", "~sanction"),
        ("x ((a b) c)", "x a b c"),
        ("a OR (b OR c)", "a OR b OR c"),
        ("a -(b OR c)", "a -(b OR c)"),
    ],
)
def test_describe_canonical_form(text: str, canonical: str) -> None:
    """describe() gives the canonical form, which parses back to the same tree."""
    q = parse_query(text)
    assert q.describe() == canonical
    assert parse_query(canonical).root == q.root


def test_describe_under_global_stemming_round_trips() -> None:
    """Under global stemming describe() omits '~' on bare words and still round-trips."""
    q = parse_query('Sanction "exact" U.S.', stemming=True)
    assert q.describe() == 'sanction "exact" ~"u s"'
    assert parse_query(q.describe(), stemming=True).root == q.root


def test_positive_terms() -> None:
    """positive_terms lists looked-for words, phrases, prefixes and tags, not exclusions."""
    q = parse_query('(Iran OR "Middle East") sanction* #brics -Israel -#war @chan Iran')
    assert q.positive_terms() == (
        Word("iran"),
        Phrase(("middle", "east")),
        Prefix("sanction"),
        Tag("brics"),
    )


def test_story_matches_if_any_post_matches() -> None:
    """A story matches when any one of its posts matches on its own."""
    q = parse_query("Iran -strikes")
    assert story_matches(q, [doc(STRIKES), doc(IRAN)])
    assert not story_matches(q, [doc(STRIKES), doc(WEST)])
    assert not story_matches(q, [])
    # Terms split across two posts do not make a match.
    assert not story_matches(parse_query("ASEAN Syria"), [doc(ASEAN), doc("Syria talks")])


def test_matchdoc_from_post() -> None:
    """MatchDoc.from_post normalises text, merges hashtags, casefolds the channel."""
    post = Post(
        channel_id=1,
        message_id=2,
        date=datetime(2025, 7, 6, tzinfo=UTC),
        text=BRICS_TAG,
        channel_username="MFA_Russia",
        hashtags=("summit",),
    )
    d = MatchDoc.from_post(post)
    assert d.channel == "mfa_russia"
    assert d.hashtags == frozenset({"brics", "summit"})
    assert d.words[:4] == ("first", "of", "all", "i")
    assert parse_query("#summit @mfa_russia Lula").matches(d)


# --- highlighting -------------------------------------------------------------------------


def spans_text(text: str, query: str) -> list[str]:
    return [text[s:e] for s, e in highlight_spans(text, parse_query(query))]


def test_highlight_spans_in_original_text() -> None:
    """Spans point into the original text, past emoji, flags and typographic quotes."""
    text = "🇷🇺🇺🇸📞 “Iran’s” UN envoy: sanctions & #Sanctions — Middle  East"
    assert spans_text(text, 'Iran UN sanction* #sanctions "middle east" -envoy') == [
        "Iran",
        "UN",
        "sanctions",
        "#Sanctions",
        "Middle  East",
    ]


def test_highlight_merges_overlaps_and_skips_exclusions() -> None:
    """Overlapping spans merge; excluded terms and channels are not highlighted."""
    text = "Middle East talks"
    assert spans_text(text, '"middle east" East -talks @chan') == ["Middle East"]


def test_highlight_stemmed_and_casefold_length_change() -> None:
    """Stemmed words highlight their inflected forms; a casefold that changes length
    (ß -> ss) does not shift later spans."""
    text = "Straße sanctioned, sanctions"
    assert spans_text(text, "~sanction strasse") == ["Straße", "sanctioned", "sanctions"]


def test_highlight_real_post() -> None:
    """On a real post every occurrence of the looked-for word is marked."""
    found = spans_text(UNILATERAL, "unilateral")
    assert found == ["unilateral", "unilateral"]
