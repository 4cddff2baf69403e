"""Open the SQLite database: pragmas, then any pending migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from bot.storage.schema import MIGRATIONS

WAL_CHECKPOINT_PAGES = 10_000


def open_db(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the database at ``path``; ``":memory:"`` for tests."""
    if str(path) == ":memory:":
        db = Database(memory=True)
    else:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        # WAL lets the bot read while the collector writes; NORMAL is durable in WAL mode
        # except for the last transactions on power loss, which re-fetching repairs.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # A batch of 1,000 imported posts dirties ~1,500 pages (posts land all over the date,
        # story and FTS indexes). At SQLite's default (a checkpoint once the WAL holds 1,000
        # pages) nearly every commit copied its pages into the database file, the hot index
        # pages again each time; a checkpoint every 10,000 pages copies each once per ~7
        # batches (the writer 5 µs a post cheaper, bench/ingest.py), for a WAL file of up to ~50 MB (docs/operations.md).
        db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    if migrate:
        MIGRATIONS.apply(db)
    return db


def get_meta(db: Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def set_meta(db: Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


@contextmanager
def write_transaction(db: Database) -> Iterator[None]:
    """One write transaction that takes the write lock at once (``BEGIN IMMEDIATE``), so a
    read-then-write (select stories, then reserve them) cannot interleave with another
    process. Inside an open transaction it becomes a savepoint."""
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")
