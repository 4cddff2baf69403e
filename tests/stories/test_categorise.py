"""Categories from the config: config order, any-post rule for stories, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import load_config
from bot.errors import QueryError
from bot.query.parser import MatchDoc
from bot.stories.categorise import Categoriser

DUMP = (Path(__file__).parent.parent / "fixtures" / "sample_channel_dump.txt").read_text(encoding="utf-8")
LINES = DUMP.splitlines()


def line(containing: str) -> MatchDoc:
    return MatchDoc.from_text(next(t for t in LINES if containing in t))


IRAN = line("There was a detailed discussion of the situation surrounding Iran")
BRICS = line("strategic partnership within #BRICS")
SANCTIONS = line("We condemn the imposition of unilateral coercive measures")

CATEGORIES = [
    ("Sanctions", "sanction* OR embargo"),
    ("Middle East", '"Middle East" OR Iran OR Syria OR Israel'),
    ("BRICS", "#brics OR BRICS"),
    ("International law", '"international law" OR "UN Charter"'),
]


def test_categories_in_config_order() -> None:
    """A post gets every matching category, in the order the config lists them."""
    c = Categoriser(CATEGORIES)
    assert c.categories_for(SANCTIONS) == ("Sanctions", "International law")
    assert c.categories_for(IRAN) == ("Middle East",)
    assert c.names == ("Sanctions", "Middle East", "BRICS", "International law")


def test_no_category() -> None:
    """A post matching no category gets an empty tuple."""
    assert Categoriser(CATEGORIES).categories_for(MatchDoc.from_text("weather is fine")) == ()


def test_story_categories_are_the_union_in_config_order() -> None:
    """A story belongs to each category any of its posts belongs to, in config order."""
    c = Categoriser(CATEGORIES)
    assert c.categories_for_story([BRICS, IRAN]) == ("Middle East", "BRICS")


def test_generous_limits_for_operator_queries() -> None:
    """Category queries may be far longer than user queries (up to 1000 chars, 100 terms)."""
    countries = " OR ".join(f"country{i}" for i in range(60))
    assert len(countries) > 200
    c = Categoriser([("World", countries)])
    assert c.categories_for(MatchDoc.from_text("news from country42")) == ("World",)
    with pytest.raises(QueryError, match="101 terms; the limit is 100"):
        Categoriser([("Too big", " OR ".join(f"c{i}" for i in range(101)))])


def test_invalid_category_names_it() -> None:
    """An invalid category query raises QueryError naming the category and the problem."""
    with pytest.raises(QueryError, match=r"category 'Broken': unbalanced parentheses"):
        Categoriser([("Fine", "iran"), ("Broken", "(iran OR iraq")])


def test_from_config_with_stemming(tmp_path: Path) -> None:
    """from_config uses the config's categories and its [query] stemming setting."""
    path = tmp_path / "config.toml"
    path.write_text(
        '[query]\nstemming = true\n\n[[categories]]\nname = "Sanctions"\nquery = "sanction"\n',
        encoding="utf-8",
    )
    c = Categoriser.from_config(load_config(path, env={}))
    assert c.categories_for(SANCTIONS) == ("Sanctions",)  # "sanctions" by stem
    assert Categoriser([("Sanctions", "sanction")]).categories_for(SANCTIONS) == ()


# --- the one-pass matcher (categories_of) agrees with the query trees ---------------------

ONE_PASS_CATEGORIES = [
    *CATEGORIES,
    ("UN", 'UN OR "United Nations"'),
    ("Not UN", "Iran -UN"),
    ("Both", "Iran Syria"),
    ("Channel", "@mid_news OR (#brics -Russia)"),
    ("Stemmed", "~sanction"),
    ("Prefix", "negotiat*"),
    ("Separators", '"new-york"'),
    ("Overlap", '"la la land" OR "b un"'),
]
TEXTS = [
    *LINES[:200],
    "UN-backed talks: the united  nations, UNITED NATIONS", "unity un", "unb", "United—Nations",
    "Iran, Syria", "syria iran", "New York / new-york", "negotiations on sanctions", "",
    "#BRICS без России", "Учения ООН_UN", "un_",
    "xla la la land", "la la la land", "ala la land", "bun b un", "xb un", "b unx b un",
]


@pytest.mark.parametrize("username", [None, "mid_news", "@Mid_News", "other"])
def test_one_pass_matcher_agrees_with_the_query_trees(username: str | None) -> None:
    """``categories_of`` (one regex scan per post) gives exactly what each category's query
    tree gives on the post's MatchDoc, for plain, negated, phrase, stemmed and prefix queries."""
    from bot.core.normalise import extract_hashtags, normalise
    from bot.storage.store import match_doc

    c = Categoriser(ONE_PASS_CATEGORIES)
    matched = 0
    for text in TEXTS:
        norm = normalise(text)
        tags = extract_hashtags(text)
        want = c.categories_for(match_doc(norm, tags, username, language="english"))
        assert c.categories_of(norm, tags, username, language="english") == want, text
        matched += bool(want)
    assert matched > 20  # the texts exercise the categories, not just the empty answer


@given(st.text(alphabet="un itedNaosl-_,ИрIS#@ \n", max_size=40))
def test_one_pass_matcher_agrees_on_any_text(text: str) -> None:
    from bot.core.normalise import extract_hashtags, normalise
    from bot.storage.store import match_doc

    c = Categoriser(ONE_PASS_CATEGORIES)
    norm, tags = normalise(text), extract_hashtags(text)
    assert c.categories_of(norm, tags, "mid_news") == c.categories_for(match_doc(norm, tags, "mid_news"))
