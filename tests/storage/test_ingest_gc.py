"""The write path and Python's cyclic garbage collector: a batch runs with fewer collections
and puts the process's setting back, also when it fails; a slower pace already set (an
import's) is kept."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.collect.importer import IMPORT_GC_THRESHOLDS
from bot.config import CategoryConfig, Config
from bot.core.gcpace import fewer_collections
from bot.core.models import Post
from bot.storage.ingest import BATCH_GC_THRESHOLD, ChannelConflict, Ingestor

T0 = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
CONFIG = Config(categories=(CategoryConfig("BRICS", "BRICS"),))


@pytest.fixture
def gc_setting() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_a_batch_runs_with_fewer_collections_and_restores_the_setting(db, gc_setting) -> None:
    seen: list[tuple[int, int, int]] = []
    with fewer_collections(BATCH_GC_THRESHOLD):
        seen.append(gc.get_threshold())
        with fewer_collections(BATCH_GC_THRESHOLD):  # a batch in another thread meanwhile
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


def test_a_slower_pace_already_set_is_kept(db, gc_setting) -> None:
    with fewer_collections(*IMPORT_GC_THRESHOLDS):  # what an import sets for its whole run
        with fewer_collections(BATCH_GC_THRESHOLD):
            assert gc.get_threshold() == IMPORT_GC_THRESHOLDS
        assert gc.get_threshold() == IMPORT_GC_THRESHOLDS
    assert gc.get_threshold() == gc_setting


def test_overlapping_jobs_keep_the_slowest_pace_until_the_last_ends(gc_setting) -> None:
    first = fewer_collections(50_000, 5)
    second = fewer_collections(20_000, 40, 100)
    first.__enter__()
    second.__enter__()
    assert gc.get_threshold() == (50_000, 40, 100)
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert gc.get_threshold() == (20_000, 40, 100)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == gc_setting
