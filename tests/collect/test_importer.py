"""The import pipeline: a worker process reads and prepares, this one stores; same result as in-process."""

from __future__ import annotations

import json
from pathlib import Path

from bot.collect.importer import import_export
from bot.config import CategoryConfig, Config
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor

CONFIG = Config(categories=(CategoryConfig("BRICS", "BRICS"), CategoryConfig("Asia", "ASEAN OR China")))


def _snapshot(db) -> list[tuple]:
    return db.execute(
        "SELECT channel_id, message_id, text, hashtags, categories, story_id FROM posts ORDER BY 1, 2"
    ).fetchall()


def test_worker_process_gives_the_same_result_as_in_process(tmp_path: Path, sample_export: Path,
                                                            repost_export: Path) -> None:
    """Both pipelines store identical posts, stories and categories, and report the same counts."""
    results = {}
    snapshots = {}
    for parallel in (False, True):
        db = open_db(tmp_path / f"{parallel}.sqlite")
        ingestor = Ingestor(db, CONFIG)
        reports = [import_export(path, ingestor, username=name, batch_size=7, parallel=parallel)
                   for path, name in ((sample_export, "mfa_russia"), (repost_export, "worlddesk_demo"))]
        results[parallel] = [(r.result.new, r.result.duplicate, r.result.stories_new, r.error) for r in reports]
        snapshots[parallel] = _snapshot(db)
        db.close()
    assert results[False] == results[True] == [(24, 12, 12, None), (10, 5, 5, None)]
    assert snapshots[False] == snapshots[True]


def test_a_file_that_breaks_off_keeps_what_came_before(tmp_path: Path) -> None:
    """A truncated export stores the messages before the break and reports the error, in the worker too."""
    messages = [{"id": i, "type": "message", "date_unixtime": str(1_750_000_000 + 60 * i),
                 "text": f"Report number {i} on the ASEAN ministerial meeting in Kuala Lumpur"} for i in range(1, 301)]
    text = json.dumps({"name": "c", "type": "public_channel", "id": 77, "messages": messages})
    broken = tmp_path / "broken.json"
    broken.write_text(text[: int(len(text) * 0.8)])
    db = open_db(tmp_path / "t.sqlite")
    report = import_export(broken, Ingestor(db, CONFIG), batch_size=50, parallel=True)
    assert report.error is not None and "not valid JSON" in report.error and str(broken) in report.error
    stored = db.execute("SELECT count(*) FROM posts").fetchone()[0]
    assert stored == report.result.new and 150 <= stored < 300


def test_problems_and_progress_come_through_the_worker(tmp_path: Path) -> None:
    """Bad messages are reported by id and progress reaches the caller from the worker process."""
    messages = [{"id": i, "type": "message", "date_unixtime": str(1_750_000_000 + i), "text": "x " * 200}
                for i in range(1, 2001)]
    messages[10]["date_unixtime"] = "soon"
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"name": "c", "type": "public_channel", "id": 78, "messages": messages}))
    seen: list[int] = []
    db = open_db(tmp_path / "t.sqlite")
    report = import_export(path, Ingestor(db, CONFIG), parallel=True, on_progress=seen.append)
    assert [p.message_id for p in report.problems] == [11]
    assert report.result.new == 1999
    assert seen and seen[-1] == path.stat().st_size and seen == sorted(seen)


def test_several_files_one_broken_the_others_still_import(tmp_path: Path, sample_export: Path,
                                                          repost_export: Path) -> None:
    """In one worker run, a broken file in the middle is reported and the files after it import."""
    from bot.collect.importer import import_exports

    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x", "type": "public_channel", "id": 5, "messages": [{"id": 1, "type": "mess')
    db = open_db(tmp_path / "t.sqlite")
    reports = list(import_exports([sample_export, broken, repost_export], Ingestor(db, CONFIG), parallel=True))
    assert [r.path for r in reports] == [sample_export, broken, repost_export]
    assert [r.error is None for r in reports] == [True, False, True]
    assert [r.result.new for r in reports] == [24, 0, 10]
