"""The outbox: digests and alerts are stored before they are sent, then marked part by part.

Tables ``digests``, ``digest_parts`` and ``deliveries``. A digest is stored with its stories
reserved in ``deliveries`` (so no later digest repeats them); each part is marked sent with
its stories in one transaction; pending digests are claimed with a lease, so two processes
never send the same part. Also the subscriber rows the schedule reads.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.core.clock import from_iso, to_iso
from bot.digests.render import Part
from bot.digests.selection import Window
from bot.storage.db import write_transaction


@dataclass(frozen=True, slots=True)
class ChatState:
    """A subscriber row, as the schedule needs it."""

    chat_id: int
    active: bool
    paused: bool
    digest_time: str
    timezone: str
    weekly_day: int | None
    last_digest_at: datetime | None
    last_digest_local_date: str | None
    include_nonnews: bool = False  # /nonnews on: non-news stories too
    digest_style: str = "full"


@dataclass(frozen=True, slots=True)
class StoredDigest:
    """How a stored digest or alert is to be sent, and was."""

    id: int
    chat_id: int
    kind: str  # digest | alert
    style: str  # full | compact
    silent: bool  # without a notification
    created_at: datetime | None
    pages: int  # its parts


@dataclass(frozen=True, slots=True)
class NewDigest:
    """A digest to store with ``Outbox.store_many`` (the arguments of ``Outbox.store``)."""

    chat_id: int
    kind: str
    parts: Sequence[Part]
    window: Window | None = None
    local_date: str | None = None
    style: str = "full"
    silent: bool = False


_CHAT_COLUMNS = (
    "chat_id, active, paused, digest_time, timezone, weekly_day, last_digest_at, last_digest_local_date, "
    "digest_style, include_nonnews"
)


def _chat_state(row: Sequence[Any]) -> ChatState:
    return ChatState(
        chat_id=row[0], active=bool(row[1]), paused=bool(row[2]), digest_time=row[3], timezone=row[4],
        weekly_day=row[5], last_digest_at=from_iso(row[6]), last_digest_local_date=row[7], digest_style=row[8],
        include_nonnews=bool(row[9]),
    )


def chat_state(db: Database, chat_id: int) -> ChatState | None:
    row = db.execute(f"SELECT {_CHAT_COLUMNS} FROM subscribers WHERE chat_id = ?", [chat_id]).fetchone()
    return _chat_state(row) if row else None


def schedulable_chats(db: Database) -> list[ChatState]:
    """Active, unpaused subscribers with at least one subscription."""
    rows = db.execute(
        f"SELECT {_CHAT_COLUMNS} FROM subscribers s WHERE active = 1 AND paused = 0 "
        "AND EXISTS (SELECT 1 FROM subscriptions x WHERE x.chat_id = s.chat_id) ORDER BY chat_id"
    ).fetchall()
    return [_chat_state(r) for r in rows]


def chat_states(db: Database, chat_ids: Sequence[int]) -> dict[int, ChatState]:
    """``chat_state`` of many chats, a query per 500."""
    found: dict[int, ChatState] = {}
    for start in range(0, len(chat_ids), 500):
        chunk = list(chat_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in db.execute(f"SELECT {_CHAT_COLUMNS} FROM subscribers WHERE chat_id IN ({marks})", chunk):
            found[row[0]] = _chat_state(row)
    return found


def already_given_many(db: Database, chat_ids: Sequence[int], *, min_story_id: int = 0) -> dict[int, set[int]]:
    """``already_given`` of many chats, a query per 500; only story ids >= ``min_story_id``
    (the oldest candidate: older deliveries cannot collide with it)."""
    found: dict[int, set[int]] = {c: set() for c in chat_ids}
    for start in range(0, len(chat_ids), 500):
        chunk = list(chat_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        # As ``already_given``: and the stories linked to those (the same news, told again).
        for chat_id, story_id in db.execute(
            f"SELECT chat_id, story_id FROM deliveries WHERE chat_id IN ({marks}) AND story_id >= ? "
            f"UNION SELECT d.chat_id, l.linked_id FROM deliveries d JOIN story_links l ON l.story_id = d.story_id "
            f"WHERE d.chat_id IN ({marks}) AND l.linked_id >= ? "
            f"UNION SELECT d.chat_id, l.story_id FROM deliveries d JOIN story_links l ON l.linked_id = d.story_id "
            f"WHERE d.chat_id IN ({marks}) AND l.story_id >= ?",
            [*chunk, min_story_id] * 3,
        ):
            found[chat_id].add(story_id)
    return found


def already_given(db: Database, chat_id: int) -> set[int]:
    """Stories this chat has a deliveries row for (delivered, or reserved by a pending outbox),
    and the stories linked to those: a later post showed them to be the same news, so they
    are not new to this chat."""
    return {
        r[0]
        for r in db.execute(
            "SELECT story_id FROM deliveries WHERE chat_id = ? "
            "UNION SELECT l.linked_id FROM deliveries d JOIN story_links l ON l.story_id = d.story_id "
            "WHERE d.chat_id = ? "
            "UNION SELECT l.story_id FROM deliveries d JOIN story_links l ON l.linked_id = d.story_id "
            "WHERE d.chat_id = ?",
            [chat_id, chat_id, chat_id],
        )
    }


class Outbox:
    """The outbox tables (``digests``, ``digest_parts``, ``deliveries``); each method one transaction."""

    def __init__(self, db: Database, *, owner: str | None = None, lease: timedelta = timedelta(minutes=10)) -> None:
        self.db = db
        # host:pid always leads, so a restarted process can tell that the holder is dead;
        # ``owner`` only labels the instance.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{owner or uuid.uuid4().hex[:8]}"
        self.lease = lease

    def store(
        self,
        *,
        chat_id: int,
        kind: str,
        parts: Sequence[Part],
        now: datetime,
        window: Window | None = None,
        local_date: str | None = None,
        style: str = "full",
        silent: bool = False,
    ) -> int:
        """Insert a digest, its parts and a reserved deliveries row per story; return its id.

        ``style`` "compact": sent as one message paged through its parts; ``silent``: sent
        without a notification. Call inside ``write_transaction`` together with whatever
        else must commit with it."""
        cursor = self.db.execute(
            "INSERT INTO digests (chat_id, kind, status, created_at, window_start, window_end, local_date, style, silent) "
            "VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
            [
                chat_id, kind, to_iso(now),
                to_iso(window.start) if window else None, to_iso(window.end) if window else None,
                local_date, style, 1 if silent else 0,
            ],
        )
        digest_id = int(cursor.lastrowid or 0)
        for seq, part in enumerate(parts):
            self.db.execute(
                "INSERT INTO digest_parts (digest_id, seq, text) VALUES (?, ?, ?)", [digest_id, seq, part.text]
            )
            for story_id in part.story_ids:
                self.db.execute(
                    "INSERT INTO deliveries (chat_id, story_id, digest_id, kind, delivered_at, seq) "
                    "VALUES (?, ?, ?, ?, NULL, ?)",
                    [chat_id, story_id, digest_id, kind, seq],
                )
        return digest_id

    def store_many(self, digests: Sequence[NewDigest], *, now: datetime) -> list[int]:
        """``store`` for many digests at once (executemany); ids in order. Call inside
        ``write_transaction``."""
        ids: list[int] = []
        parts: list[tuple[int, int, str]] = []
        deliveries: list[tuple[int, int, int, str, int]] = []
        stamp = to_iso(now)
        for d in digests:
            cursor = self.db.execute(
                "INSERT INTO digests (chat_id, kind, status, created_at, window_start, window_end, local_date, "
                "style, silent) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                [d.chat_id, d.kind, stamp,
                 to_iso(d.window.start) if d.window else None, to_iso(d.window.end) if d.window else None,
                 d.local_date, d.style, 1 if d.silent else 0],
            )
            digest_id = int(cursor.lastrowid or 0)
            ids.append(digest_id)
            for seq, part in enumerate(d.parts):
                parts.append((digest_id, seq, part.text))
                deliveries.extend((d.chat_id, story_id, digest_id, d.kind, seq) for story_id in part.story_ids)
        self.db.conn.executemany("INSERT INTO digest_parts (digest_id, seq, text) VALUES (?, ?, ?)", parts)
        self.db.conn.executemany(
            "INSERT INTO deliveries (chat_id, story_id, digest_id, kind, delivered_at, seq) VALUES (?, ?, ?, ?, NULL, ?)",
            deliveries,
        )
        return ids

    def pending(self, *, chat_ids: Iterable[int] | None = None, digest_ids: Iterable[int] | None = None) -> list[tuple[int, int]]:
        """``(digest_id, chat_id)`` of pending digests, oldest first."""
        sql = "SELECT id, chat_id FROM digests WHERE status = 'pending'"
        params: list[Any] = []
        if chat_ids is not None:
            chats = list(chat_ids)
            sql += f" AND chat_id IN ({','.join('?' * len(chats))})"
            params += chats
        if digest_ids is not None:
            ids = list(digest_ids)
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            params += ids
        return [(r[0], r[1]) for r in self.db.execute(sql + " ORDER BY id", params)]

    def kind(self, digest_id: int) -> str | None:
        """``"digest"`` or ``"alert"`` (None: no such digest)."""
        row = self.db.execute("SELECT kind FROM digests WHERE id = ?", [digest_id]).fetchone()
        return str(row[0]) if row else None

    def is_pending(self, digest_id: int) -> bool:
        row = self.db.execute("SELECT status FROM digests WHERE id = ?", [digest_id]).fetchone()
        return bool(row) and row[0] == "pending"

    def info(self, digest_id: int, *, chat_id: int | None = None) -> StoredDigest | None:
        """How the digest is sent (of this chat only, when given); None if there is no such."""
        row = self.db.execute(
            "SELECT d.id, d.chat_id, d.kind, d.style, d.silent, d.created_at, "
            "(SELECT count(*) FROM digest_parts p WHERE p.digest_id = d.id) FROM digests d WHERE d.id = ?",
            [digest_id],
        ).fetchone()
        if row is None or (chat_id is not None and row[1] != chat_id):
            return None
        return StoredDigest(row[0], row[1], row[2], row[3], bool(row[4]), from_iso(row[5]), row[6])

    def part_text(self, digest_id: int, seq: int) -> str | None:
        """The text of one part (a compact digest's page), or None."""
        row = self.db.execute(
            "SELECT text FROM digest_parts WHERE digest_id = ? AND seq = ?", [digest_id, seq]
        ).fetchone()
        return row[0] if row else None

    def story_ids(self, digest_id: int) -> list[int]:
        """The stories the digest lists, in its order."""
        return [
            r[0] for r in self.db.execute(
                "SELECT story_id FROM deliveries WHERE digest_id = ? ORDER BY seq, rowid", [digest_id]
            )
        ]

    def mark_all_sent(self, digest_id: int, message_id: int, now: datetime) -> bool:
        """A compact digest's one message was acknowledged: every page is in it, so every part
        is sent and every story delivered, atomically. Returns True (the digest is complete)."""
        stamp = to_iso(now)
        with write_transaction(self.db):
            self.db.execute(
                "UPDATE digest_parts SET sent_at = ?, telegram_message_id = ? WHERE digest_id = ? AND sent_at IS NULL",
                [stamp, message_id, digest_id],
            )
            self.db.execute(
                "UPDATE deliveries SET delivered_at = ? WHERE digest_id = ? AND delivered_at IS NULL", [stamp, digest_id]
            )
            self.db.execute(
                "UPDATE digests SET status = 'sent', claimed_by = NULL, claimed_until = NULL WHERE id = ?", [digest_id]
            )
        return True

    def unsent_parts(self, digest_id: int) -> list[tuple[int, str]]:
        return [
            (r[0], r[1])
            for r in self.db.execute(
                "SELECT seq, text FROM digest_parts WHERE digest_id = ? AND sent_at IS NULL ORDER BY seq",
                [digest_id],
            )
        ]

    def mark_sent(self, digest_id: int, seq: int, message_id: int, now: datetime) -> bool:
        """The part was acknowledged: it is sent and its stories delivered, atomically.
        Returns True when that completed the digest."""
        stamp = to_iso(now)
        with write_transaction(self.db):
            self.db.execute(
                "UPDATE digest_parts SET sent_at = ?, telegram_message_id = ? "
                "WHERE digest_id = ? AND seq = ? AND sent_at IS NULL",
                [stamp, message_id, digest_id, seq],
            )
            self.db.execute(
                "UPDATE deliveries SET delivered_at = ? WHERE digest_id = ? AND seq = ? AND delivered_at IS NULL",
                [stamp, digest_id, seq],
            )
            left: int = self.db.execute(
                "SELECT count(*) FROM digest_parts WHERE digest_id = ? AND sent_at IS NULL", [digest_id]
            ).fetchone()[0]
            if left == 0:
                self.db.execute(
                    "UPDATE digests SET status = 'sent', claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                    [digest_id],
                )
            else:
                self.db.execute(
                    "UPDATE digests SET claimed_until = ? WHERE id = ? AND claimed_by = ?",
                    [to_iso(now + self.lease), digest_id, self.owner],
                )
        return left == 0

    def cancel_chat(self, chat_id: int) -> int:
        """The chat is gone (403): deactivate it, cancel its pending digests, release their stories."""
        with write_transaction(self.db):
            self.db.execute("UPDATE subscribers SET active = 0 WHERE chat_id = ?", [chat_id])
            self.db.execute(
                "DELETE FROM deliveries WHERE chat_id = ? AND delivered_at IS NULL "
                "AND digest_id IN (SELECT id FROM digests WHERE chat_id = ? AND status = 'pending')",
                [chat_id, chat_id],
            )
            return self.db.execute(
                "UPDATE digests SET status = 'cancelled', claimed_by = NULL WHERE chat_id = ? AND status = 'pending'",
                [chat_id],
            ).rowcount

    def fail_digest(self, digest_id: int) -> None:
        """Telegram refuses this digest's part for good (a 400): stop it, release unsent stories."""
        with write_transaction(self.db):
            self.db.execute("DELETE FROM deliveries WHERE digest_id = ? AND delivered_at IS NULL", [digest_id])
            self.db.execute(
                "UPDATE digests SET status = 'failed', claimed_by = NULL WHERE id = ? AND status = 'pending'",
                [digest_id],
            )

    def claim(self, digest_id: int, now: datetime) -> bool:
        """Take the right to send ``digest_id``; False if another live process holds it."""
        row = self.db.execute(
            "SELECT status, claimed_by, claimed_until FROM digests WHERE id = ?", [digest_id]
        ).fetchone()
        if row is None or row[0] != "pending":
            return False
        holder, until = row[1], from_iso(row[2])
        if holder not in (None, self.owner) and until is not None and until > now and _owner_alive(holder):
            return False
        cursor = self.db.execute(
            "UPDATE digests SET claimed_by = ?, claimed_until = ? "
            "WHERE id = ? AND status = 'pending' AND claimed_by IS ?",
            [self.owner, to_iso(now + self.lease), digest_id, holder],
        )
        return cursor.rowcount == 1

    def release(self, digest_id: int) -> None:
        self.db.execute(
            "UPDATE digests SET claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?",
            [digest_id, self.owner],
        )


def _owner_alive(owner: str) -> bool:
    """Is the process named ``host:pid:...`` still running? (Unknown host: assume it is.)"""
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the service ------------------------------------------------------------------------------
