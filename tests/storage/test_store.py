"""Store reads: search narrows by the FTS index yet finds exactly what a full scan finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import CategoryConfig, Config
from bot.core.models import Post
from bot.query.parser import MatchDoc, parse_query, story_matches
from bot.sources.export import read_export
from bot.storage.ingest import Ingestor
from bot.storage.store import Store, required_fts_terms

QUERIES = [
    "Lavrov", "lavrov kuala", '"Kuala Lumpur"', "sanction*", "multipolar*", "BRICS -summit",
    "Lavrov OR Rubio", "(ASEAN OR China) Lavrov", "#russiaasean", "#brics Brazil", "@mfa_russia Trump",
    "flights 3", "Putin’s", "U.S.", "-Lavrov BRICS", "New Development Bank", "~meeting", "nothingmatchesthis",
]


@pytest.fixture
def store(db, sample_export: Path, repost_export: Path) -> Store:
    ingestor = Ingestor(db, Config(categories=(CategoryConfig("Asia", "ASEAN"),)))
    for path, name in ((sample_export, "mfa_russia"), (repost_export, "worlddesk_demo")):
        ingestor.ingest([p for p in read_export(path, username=name) if isinstance(p, Post)])
    return Store(db)


@pytest.mark.parametrize("text", QUERIES)
def test_search_finds_exactly_what_a_full_scan_finds(store: Store, text: str) -> None:
    """The FTS prefilter never drops a story: results equal a brute-force scan, newest first."""
    query = parse_query(text)
    every = store.stories(r[0] for r in store.db.execute("SELECT id FROM stories ORDER BY first_date DESC, id DESC"))
    expected = [s.id for s in every if story_matches(query, [MatchDoc.from_post(sp.post) for sp in s.posts])]
    assert [s.id for s in store.search(query)] == expected


def test_required_terms_are_quoted_words_only() -> None:
    """Only ASCII words and prefixes from AND-ed terms become FTS terms, each quoted."""
    assert sorted(required_fts_terms(parse_query('iran "middle east" sanction* -oil').root)) == [
        '"east"', '"iran"', '"middle"', '"sanction"*']
    assert required_fts_terms(parse_query("iran OR iraq").root) == []
    assert required_fts_terms(parse_query("#tag @chan ~stem").root) == []
    assert required_fts_terms(parse_query("Москва").root) == []
