"""The write path and Python's cyclic garbage collector: a batch runs with fewer collections
and puts the process's setting back; a bulk ingestor (``tgdigest import``) freezes what it
keeps out of the collector's scans, and stores exactly what an ordinary one stores."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import CategoryConfig, Config
from bot.core.models import Post
from bot.sources.export import read_export
from bot.storage.db import open_db
from bot.storage.ingest import BATCH_GC_THRESHOLD, ChannelConflict, Ingestor, _fewer_collections

T0 = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
CONFIG = Config(categories=(CategoryConfig("BRICS", "BRICS"),))


@pytest.fixture
def gc_setting() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)
    gc.unfreeze()


def test_a_batch_runs_with_fewer_collections_and_restores_the_setting(db, gc_setting) -> None:
    seen: list[tuple[int, int, int]] = []
    with _fewer_collections():
        seen.append(gc.get_threshold())
        with _fewer_collections():  # a batch in another thread meanwhile
            seen.append(gc.get_threshold())
        seen.append(gc.get_threshold())  # the other batch ended, this one still runs
    assert seen == [(BATCH_GC_THRESHOLD, 10, 10)] * 3
    assert gc.get_threshold() == gc_setting
    Ingestor(db, CONFIG).ingest([Post(channel_id=1, message_id=1, date=T0, text="BRICS summit opens")])
    assert gc.get_threshold() == gc_setting


def test_the_setting_comes_back_when_a_batch_fails(db, gc_setting) -> None:
    ingestor = Ingestor(db, CONFIG)
    ingestor.ingest([Post(channel_id=1, message_id=1, date=T0, text="one", channel_username="first")])
    with pytest.raises(ChannelConflict):
        ingestor.ingest([Post(channel_id=2, message_id=1, date=T0, text="two", channel_username="first")])
    assert gc.get_threshold() == gc_setting


def test_collection_switched_off_stays_off(db, gc_setting) -> None:
    gc.set_threshold(0, 10, 10)
    Ingestor(db, CONFIG).ingest([Post(channel_id=1, message_id=1, date=T0, text="BRICS summit opens")])
    assert gc.get_threshold() == (0, 10, 10)


def test_a_bulk_ingestor_freezes_what_it_keeps_and_stores_the_same(tmp_path: Path, sample_export: Path,
                                                                   repost_export: Path, gc_setting) -> None:
    posts = [p for path in (sample_export, repost_export) for p in read_export(path) if isinstance(p, Post)]
    stored = []
    for bulk in (False, True):
        gc.unfreeze()
        db = open_db(tmp_path / f"bulk-{bulk}.sqlite")
        ingestor = Ingestor(db, CONFIG, bulk=bulk)
        for start in range(0, len(posts), 7):  # several batches
            ingestor.ingest(posts[start : start + 7])
        assert (gc.get_freeze_count() > 0) is bulk
        stored.append((
            db.execute("SELECT channel_id, message_id, story_id, content_hash, categories FROM posts "
                       "ORDER BY channel_id, message_id").fetchall(),
            db.execute("SELECT * FROM post_joins ORDER BY channel_id, message_id").fetchall(),
            db.execute("SELECT id, rep_channel_id, rep_message_id, post_count FROM stories ORDER BY id").fetchall(),
        ))
        db.close()
    assert len(stored[0][0]) == len(posts) > 20
    assert stored[0][1]  # reposts were folded, with their reasons
    joins_without_time = [[row[:-1] for row in joins] for _, joins, _ in stored]
    assert stored[0][0] == stored[1][0] and stored[0][2] == stored[1][2]
    assert joins_without_time[0] == joins_without_time[1]


def test_a_bulk_ingestor_keeps_folding_batch_after_batch(db, gc_setting) -> None:
    ingestor = Ingestor(db, CONFIG, bulk=True)
    post = Post(channel_id=1, message_id=1, date=T0, text="BRICS summit opens")
    first = ingestor.ingest([post])
    repeat = Post(channel_id=1, message_id=2, date=T0 + timedelta(minutes=1), text="BRICS summit opens")
    again = ingestor.ingest([post, repeat])
    assert (first.new, again.unchanged, again.duplicate) == (1, 1, 1)
