"""The import's writer alone: CPU per post, its story index's share, and where its SQL time goes.

    .venv/bin/python bench/ingest_writer.py [--posts 100000] [--top 12]

Generates the synthetic channels of ``bench/ingest.py``, prepares every post in this process
(as the reading worker would), then feeds ``Ingestor.ingest_prepared`` file by file in
batches of 1,000, as ``tgdigest import`` does, at the import's garbage-collector pace. Prints
the writer's CPU µs/post, of it the story index (``find`` + ``add``) and the rest ("store"),
the CPU of each kind of SQL statement (by its first words), and a digest of the stored rows
(every table the write path fills, clock columns left out) to compare two trees' output.
The commit's final WAL checkpoint is counted. CPU time, so other load counts less than in
wall time, but run two trees back to back, twice, to see the noise.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CLOCK_COLUMNS = {"updated_at", "joined_at", "linked_at", "added_at"}
TABLES = ("channels", "posts", "stories", "post_joins", "story_links", "post_hashtags")


class TimedConnection:
    """A sqlite3 connection that adds each statement's CPU time to ``spent`` by its first words."""

    def __init__(self, conn: sqlite3.Connection, spent: dict[str, float], calls: collections.Counter) -> None:
        self._conn, self._spent, self._calls = conn, spent, calls

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401  # everything else is the connection's
        return getattr(self._conn, name)

    def _timed(self, kind: str, sql: str, run: Any) -> Any:  # noqa: ANN401
        begun = time.process_time()
        out = run()
        label = f"{kind}{' '.join(sql.split())[:80]}"
        self._spent[label] += time.process_time() - begun
        self._calls[label] += 1
        return out

    def execute(self, sql: str, params: Iterable = ()) -> Any:  # noqa: ANN401
        # a SELECT's rows are read inside the timing, as the caller reads them at once
        return self._timed("", sql, lambda: _Rows(self._conn.execute(sql, params).fetchall()))

    def executemany(self, sql: str, rows: Iterable) -> Any:  # noqa: ANN401
        return self._timed("many: ", sql, lambda: self._conn.executemany(sql, rows))


class _Rows(list):
    def fetchone(self) -> Any:  # noqa: ANN401
        return self[0] if self else None

    def fetchall(self) -> list:
        return list(self)


def stored_digest(db: Any) -> str:  # noqa: ANN401
    digest = hashlib.sha256()
    for table in TABLES:
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})").fetchall() if r[1] not in CLOCK_COLUMNS]
        digest.update(repr(db.execute(
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY {', '.join(columns[:3])}").fetchall()).encode())
    digest.update(repr(db.execute(
        "SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'brics OR summit' ORDER BY rowid").fetchall()).encode())
    return digest.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description="the import's writer alone")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--top", type=int, default=12, help="SQL statement kinds to list")
    args = parser.parse_args()

    import ingest as bench  # bench/ingest.py: the generator and the config

    from bot.collect.importer import IMPORT_GC_THRESHOLDS
    from bot.core.gcpace import fewer_collections
    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.storage.db import open_db
    from bot.storage.ingest import Ingestor, prepare
    from bot.stories.categorise import Categoriser

    config = bench.bench_config()
    with tempfile.TemporaryDirectory() as tmp:
        paths, _ = bench.generate(args.posts, 50, Path(tmp))
        categoriser = Categoriser.from_config(config)
        files = [[prepare(p, categoriser) for p in read_export(path) if isinstance(p, Post)] for path in paths]
        db = open_db(Path(tmp) / "writer.sqlite")
        ingestor = Ingestor(db, config)
        spent: dict[str, float] = collections.defaultdict(float)
        calls: collections.Counter = collections.Counter()
        db.conn = TimedConnection(db.conn, spent, calls)  # type: ignore[assignment]
        index_cpu = [0.0]
        for name in ("find", "add"):
            method = getattr(ingestor.index, name)

            def timed(*a: Any, _method: Any = method, **k: Any) -> Any:  # noqa: ANN401
                begun = time.process_time()
                try:
                    return _method(*a, **k)
                finally:
                    index_cpu[0] += time.process_time() - begun

            setattr(ingestor.index, name, timed)
        begun = time.process_time()
        with fewer_collections(*IMPORT_GC_THRESHOLDS):
            for items in files:
                for start in range(0, len(items), 1000):
                    ingestor.ingest_prepared(items[start : start + 1000])
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # what the last commits left to copy counts too
        cpu = time.process_time() - begun
        n = sum(len(items) for items in files)
        print(f"writer: {n:,} posts in {len(paths)} files, {cpu / n * 1e6:.1f} CPU µs/post; "
              f"story index {index_cpu[0] / n * 1e6:.1f}, store {(cpu - index_cpu[0]) / n * 1e6:.1f} "
              f"(of it SQL {sum(spent.values()) / n * 1e6:.1f})")
        print("SQL by statement, CPU µs/post (calls):")
        for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[: args.top]:
            print(f"  {seconds / n * 1e6:6.2f} ({calls[label]:>6,})  {label}")
        print(f"stored rows digest: {stored_digest(db)}")
        db.close()


if __name__ == "__main__":
    main()
