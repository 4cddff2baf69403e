"""The write path's per-batch bookkeeping: stored stories a batch changes are read with one
SELECT after its posts are placed. It must store exactly what reading each story as it is
joined stores, see stories another process wrote, and survive a story deleted meanwhile."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from bot.config import CategoryConfig, Config
from bot.core.models import Post
from bot.sources.export import read_export
from bot.storage.db import WAL_CHECKPOINT_PAGES, open_db
from bot.storage.ingest import Ingestor, IngestResult, Prepared, prepare

T0 = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
CONFIG = Config(categories=(
    CategoryConfig("BRICS", 'BRICS OR "New Development Bank"'),
    CategoryConfig("Asia", "ASEAN OR China"),
))
TEXT = "Lavrov and Wang Yi discussed the SCO summit preparations in Tianjin on Tuesday with ASEAN envoys"
# every column but the instants a write takes from the clock
TABLES = {
    "posts": "channel_id, message_id, date, edited_at, text, text_norm, content_hash, hashtags, links, media_kind, "
             "views, forwards, story_id, categories, lang, news, section",
    "stories": "id, rep_channel_id, rep_message_id, first_date, last_date, post_count, categories, news, "
               "news_posts, section_votes",
    "post_joins": "channel_id, message_id, story_id, kind, score, shared_entities, shared_numbers",
    "story_links": "story_id, linked_id, reason",
    "post_hashtags": "channel_id, message_id, tag",
}


def _tables(db: Database) -> dict[str, list[tuple]]:
    return {name: db.execute(f"SELECT {cols} FROM {name} ORDER BY 1, 2, 3").fetchall() for name, cols in TABLES.items()}


def _careful(ingestor: Ingestor, items: list[Prepared]) -> IngestResult:
    """The batch as the write path did it before: each stored story read as it is joined."""
    return ingestor._ingest_batch(items, None, read_stories_later=False)


def _batches(sample_export: Path, repost_export: Path) -> list[list[Post]]:
    """The fixtures' posts in a few batches that join, edit and re-join stored stories."""
    sample = [p for p in read_export(sample_export, username="mfa_russia") if isinstance(p, Post)]
    reposts = [p for p in read_export(repost_export) if isinstance(p, Post)]
    edits = [replace(p, text=p.text + "\n\nUPD: BRICS and China confirmed.", edited_at=p.date + timedelta(hours=1))
             for p in sample[::3]]
    return [sample[: len(sample) // 2], sample[len(sample) // 2 :] + reposts[:5], reposts[5:] + edits, edits[:2]]


def test_bulk_story_reads_store_what_one_read_per_story_stores(tmp_path: Path, sample_export: Path,
                                                               repost_export: Path) -> None:
    """Same rows in every table and the same counts, batch by batch, over joins and edits."""
    bulk_db, careful_db = open_db(tmp_path / "bulk.sqlite"), open_db(tmp_path / "careful.sqlite")
    bulk, careful = Ingestor(bulk_db, CONFIG), Ingestor(careful_db, CONFIG)
    for posts in _batches(sample_export, repost_export):
        items = [prepare(p, bulk.categoriser) for p in posts]
        got, want = bulk.ingest_prepared(items), _careful(careful, items)
        assert (got.new, got.updated, got.unchanged, got.duplicate, got.stories_new, got.changed_story_ids) == (
            want.new, want.updated, want.unchanged, want.duplicate, want.stories_new, want.changed_story_ids)
    assert _tables(bulk_db) == _tables(careful_db)
    joined = bulk_db.execute("SELECT count(*) FROM stories WHERE post_count > 1").fetchone()[0]
    assert joined >= 10  # the batches did join stored stories


def test_a_batch_edits_and_joins_the_same_stored_story_in_order(db: Database) -> None:
    """An edit and a repeat of one stored story in the same batch both count, in post order."""
    ingestor = Ingestor(db, CONFIG)
    first = Post(channel_id=1, message_id=1, date=T0, text=TEXT)
    ingestor.ingest([first])
    story_id = db.execute("SELECT story_id FROM posts").fetchone()[0]
    edited = replace(first, text=TEXT + " and BRICS partners", edited_at=T0 + timedelta(hours=2))
    earlier = Post(channel_id=2, message_id=7, date=T0 - timedelta(minutes=5), text=TEXT)
    result = ingestor.ingest([edited, earlier])
    assert (result.updated, result.duplicate, result.stories_new) == (1, 1, 0)
    rep, first_date, count, categories = db.execute(
        "SELECT rep_channel_id || '/' || rep_message_id, first_date, post_count, categories FROM stories WHERE id = ?",
        [story_id],
    ).fetchone()
    assert (rep, first_date, count) == ("2/7", "2025-07-01T08:55:00+00:00", 2)  # the earlier post represents it
    assert json.loads(categories)[:2] == ["BRICS", "Asia"]  # the edit's category joined the story's


def test_bulk_reads_see_a_story_another_process_stored(tmp_path: Path) -> None:
    """A story stored through another connection after our last batch is joined, not duplicated."""
    path = tmp_path / "shared.sqlite"
    ours, theirs = open_db(path), open_db(path)
    ingestor = Ingestor(ours, CONFIG)
    ingestor.ingest([Post(channel_id=1, message_id=1, date=T0, text="Oil prices rose on Tuesday in Asia")])
    Ingestor(theirs, CONFIG).ingest([Post(channel_id=3, message_id=1, date=T0 + timedelta(minutes=1), text=TEXT)])
    theirs.close()
    result = ingestor.ingest([Post(channel_id=4, message_id=2, date=T0 + timedelta(minutes=9), text=TEXT)])
    assert (result.duplicate, result.stories_new) == (1, 0)
    assert ours.execute("SELECT post_count FROM stories WHERE rep_channel_id = 3").fetchone()[0] == 2
    ours.close()


def test_a_story_deleted_meanwhile_is_started_again_and_nothing_half_written(tmp_path: Path) -> None:
    """Another process deleted a story our index still holds: the batch is done again the
    careful way, so the repeat starts a new story, and the batch's other posts are stored once."""
    path = tmp_path / "shared.sqlite"
    ours, theirs = open_db(path), open_db(path)
    ingestor = Ingestor(ours, CONFIG)
    ingestor.ingest([Post(channel_id=1, message_id=1, date=T0, text=TEXT)])
    with theirs.atomic():  # retention in the service, as bot.app does it
        theirs.execute("DELETE FROM posts")
        theirs.execute("DELETE FROM stories")
    theirs.close()
    other = Post(channel_id=2, message_id=5, date=T0 + timedelta(minutes=2), text="Oil prices rose on Tuesday")
    repeat = Post(channel_id=2, message_id=6, date=T0 + timedelta(minutes=3), text=TEXT)
    result = ingestor.ingest([other, repeat])
    assert (result.new, result.duplicate, result.stories_new) == (2, 0, 2)
    assert ours.execute("SELECT count(*), sum(post_count) FROM stories").fetchone() == (2, 2)
    assert ours.execute("SELECT count(*) FROM posts").fetchone()[0] == 2
    ours.execute("INSERT INTO posts_fts(posts_fts) VALUES ('integrity-check')")  # raises if FTS disagrees
    ours.close()


def test_the_wal_is_checkpointed_every_ten_thousand_pages(db: Database) -> None:
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_CHECKPOINT_PAGES == 10_000


def test_copies_of_a_new_message_in_one_batch_compare_with_its_first_copy(db: Database) -> None:
    """A message new in its batch, met again in the same batch: each later copy is an update or
    unchanged against the first copy (as against a stored post), and the last update is stored."""
    first = Post(channel_id=1, message_id=7, date=T0, text=TEXT, views=10)
    edited = replace(first, text=TEXT + " and Jakarta", edited_at=T0 + timedelta(hours=1))
    result = Ingestor(db, CONFIG).ingest([first, edited, replace(first, views=11), edited])
    assert (result.new, result.updated, result.unchanged, result.duplicate, result.stories_new) == (1, 2, 1, 0, 1)
    assert db.execute("SELECT text, edited_at, views FROM posts").fetchall() == [
        (edited.text, "2025-07-01T10:00:00+00:00", 10)]
    assert db.execute("SELECT post_count FROM stories").fetchall() == [(1,)]
