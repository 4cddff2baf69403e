"""The full-text index without positions or token counts, new posts indexed a batch at a time
by the write path (migration 0012), matches every word and prefix search can send exactly as
the positional, trigger-kept index before it, on upgrade and through every write path
(import, collector batches, edits, view refreshes, retention)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from bot.app import delete_expired_posts
from bot.config import CategoryConfig, Config
from bot.core.models import Post
from bot.query.parser import parse_query
from bot.sources.export import read_export
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor
from bot.storage.schema import MIGRATIONS
from bot.storage.store import Store
from tests.stories.news_texts import pair_and_export_texts

T0 = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
CONFIG = Config(categories=(CategoryConfig("Asia", "ASEAN"),))
# what search's prefilter sends (bot/storage/store.py required_fts_terms): ASCII words
_WORD = re.compile(r"[a-z0-9]+")
QUERIES = ["Lavrov", "lavrov kuala", '"Kuala Lumpur"', "sanction*", "multipolar*", "BRICS -summit",
           '"New Development Bank"', "summit Tianjin", "oil price*", "flights 3", "nothingmatchesthis"]


def _news_posts() -> list[Post]:
    """The labelled pairs' and bundled exports' texts as posts of three channels, a minute apart."""
    return [Post(channel_id=1 + i % 3, message_id=1 + i, date=T0 + timedelta(minutes=i), text=text)
            for i, text in enumerate(pair_and_export_texts())]


def _terms(db: Database) -> list[str]:
    """Every distinct FTS-safe word of the stored texts, quoted as search quotes them, the
    prefixes of one to three letters, and pairs of neighbouring words AND-ed."""
    words = sorted({w for (text,) in db.execute("SELECT text_norm FROM posts") for w in _WORD.findall(text)})
    prefixes = sorted({w[:n] for w in words for n in (1, 2, 3)})
    return ([f'"{w}"' for w in words] + [f'"{p}"*' for p in prefixes]
            + [f'"{a}" AND "{b}"' for a, b in zip(words[::97], words[1::97], strict=False)])


def _hits(db: Database, table: str, terms: list[str]) -> dict[str, list[int]]:
    return {term: [r[0] for r in db.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid",
                                            [term])]
            for term in terms}


def _positional_reference(db: Database) -> None:
    """A second index of the stored texts as 0011 left posts_fts (every position kept)."""
    db.execute("DROP TABLE IF EXISTS reference_fts")
    db.execute("CREATE VIRTUAL TABLE reference_fts USING FTS5 (text_norm, tokenize='unicode61 remove_diacritics 2', "
               "content='posts')")
    db.execute("INSERT INTO reference_fts (reference_fts) VALUES ('rebuild')")


def test_upgrade_matches_every_word_and_prefix_as_before(tmp_path: Path) -> None:
    db = open_db(tmp_path / "old.sqlite", migrate=False)
    MIGRATIONS.apply(db, stop_before="0012_lighter_post_indexes")
    Ingestor(db, CONFIG).ingest(_news_posts())
    terms = _terms(db)
    assert len(terms) > 5_000
    before = _hits(db, "posts_fts", terms)
    searches = [[s.id for s in Store(db).search(parse_query(q))] for q in QUERIES]
    assert sum(map(len, searches)) > 0 and sum(map(len, before.values())) > 0
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'idx_posts_fwd'").fetchone()[0] == 1

    MIGRATIONS.apply(db)
    fts_sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'posts_fts'").fetchone()[0]
    assert "detail=none" in fts_sql and "columnsize=0" in fts_sql
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'idx_posts_fwd'").fetchone()[0] == 0
    db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")
    assert _hits(db, "posts_fts", terms) == before
    assert [[s.id for s in Store(db).search(parse_query(q))] for q in QUERIES] == searches
    # deletes and text changes by trigger; new posts by the write path, a batch at a time
    assert {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'posts'")
            } == {"posts_ad", "posts_au"}
    Ingestor(db, CONFIG).ingest([Post(channel_id=9, message_id=1, date=T0, text="Zanzibar ferry timetable")])
    assert [r[0] for r in db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'zanzibar'")] == [
        db.execute("SELECT max(rowid) FROM posts").fetchone()[0]]


def test_every_write_path_keeps_the_index_equal_to_a_positional_one(db: Database, sample_export: Path) -> None:
    ingestor = Ingestor(db, CONFIG)
    ingestor.ingest([p for p in read_export(sample_export, username="mfa_russia") if isinstance(p, Post)])  # import
    news = _news_posts()[:1500]
    for start in range(0, len(news), 500):  # collector batches, with cursors
        batch = news[start:start + 500]
        ingestor.ingest(batch, cursors={1: max(p.message_id for p in batch)})
    edited = [replace(p, text=f"Harbour {p.message_id} reopens after storms", edited_at=p.date + timedelta(hours=1))
              for p in news[:300:3]]
    ingestor.ingest(edited)  # edits: the old words leave the index
    ingestor.ingest([replace(p, views=7) for p in news[300:600]])  # view refreshes
    assert delete_expired_posts(db, now=news[900].date + timedelta(days=30), retention_days=30) > 0  # retention
    db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")
    _positional_reference(db)
    terms = _terms(db) + ['"harbour"', '"storms"']
    ours = _hits(db, "posts_fts", terms)
    assert ours == _hits(db, "reference_fts", terms)
    assert ours['"harbour"'] == [r[0] for r in db.execute(
        "SELECT rowid FROM posts WHERE text_norm LIKE '%harbour%' ORDER BY rowid")]


def test_edits_out_of_rowid_order_with_new_posts_in_one_batch(db: Database) -> None:
    # Stored channel by channel (as an import stores its files), so date order and rowid order
    # differ; then one batch edits posts of every channel in date order and adds new ones.
    ingestor = Ingestor(db, CONFIG)
    for channel in (1, 2, 3):
        ingestor.ingest([Post(channel_id=channel, message_id=m, date=T0 + timedelta(minutes=3 * m + channel),
                              text=f"Ferry {channel} route {m} opens at the northern pier") for m in range(1, 41)])
    before_max = db.execute("SELECT max(rowid) FROM posts").fetchone()[0]
    edits = [Post(channel_id=channel, message_id=m, date=T0 + timedelta(minutes=3 * m + channel),
                  text=f"Lighthouse {channel} keeper {m} retires", edited_at=T0 + timedelta(days=1))
             for m in range(40, 0, -3) for channel in (3, 1, 2)]
    new = [Post(channel_id=4, message_id=m, date=T0 + timedelta(minutes=m), text=f"Glacier survey {m} published")
           for m in range(1, 11)]
    result = ingestor.ingest(edits + new)
    assert (result.updated, result.new) == (len(edits), len(new))
    stored = dict(((c, m), t) for c, m, t in db.execute("SELECT channel_id, message_id, text FROM posts"))
    assert all(stored[p.key] == p.text for p in edits + new)
    assert db.execute("SELECT min(rowid) FROM posts WHERE channel_id = 4").fetchone()[0] > before_max
    db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")
    _positional_reference(db)
    terms = _terms(db)
    ours = _hits(db, "posts_fts", terms)
    assert ours == _hits(db, "reference_fts", terms)
    assert len(ours['"lighthouse"']) == len(edits) and len(ours['"glacier"']) == len(new)
    assert len(ours['"ferry"']) == 120 - len(edits)
