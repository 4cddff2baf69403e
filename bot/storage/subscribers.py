"""Subscribers and their subscriptions in SQLite (tables from ``bot.storage.schema`` 0002).

Every function takes the open ``Database`` and is scoped by ``chat_id``: nothing here lets one
chat read or change another chat's subscriptions. Writes of more than one statement run in one
transaction (``db.atomic()``). Times are stored as ISO 8601 UTC strings.

Errors: ``SubscriptionLimitError`` (a chat already has the maximum number of subscriptions),
``UnknownSubscriberError`` (the chat never sent /start). Both are ``TgdigestError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.core.clock import from_iso, to_iso, utcnow
from bot.core.models import Subscriber, Subscription
from bot.errors import TgdigestError


class SubscriptionLimitError(TgdigestError):
    """The chat already has as many subscriptions as allowed."""


class UnknownSubscriberError(TgdigestError):
    """The chat has not registered with /start."""


def _subscription(row: dict[str, Any] | Any) -> Subscription:
    return Subscription(
        id=row["id"], chat_id=row["chat_id"], query=row["query"], urgent=bool(row["urgent"]),
        created_at=from_iso(row["created_at"]),
    )


def _rows(db: Database, sql: str, params: list[Any]) -> Iterator[dict[str, Any]]:
    return db.query(sql, params)


def register(
    db: Database, chat_id: int, *, username: str | None = None, first_name: str | None = None,
    default_time: str = "09:00", default_timezone: str = "UTC", now: datetime | None = None,
) -> tuple[Subscriber, bool]:
    """Create the subscriber or reactivate it; return it and whether it is new."""
    with db.atomic():
        existing = db.execute("SELECT 1 FROM subscribers WHERE chat_id = ?", [chat_id]).fetchone()
        if existing:
            db.execute(
                "UPDATE subscribers SET active = 1, username = COALESCE(?, username), "
                "first_name = COALESCE(?, first_name) WHERE chat_id = ?",
                [username, first_name, chat_id],
            )
        else:
            db.execute(
                "INSERT INTO subscribers (chat_id, username, first_name, active, paused, digest_time, "
                "timezone, created_at) VALUES (?, ?, ?, 1, 0, ?, ?, ?)",
                [chat_id, username, first_name, default_time, default_timezone, to_iso(now or utcnow())],
            )
    subscriber = get_subscriber(db, chat_id)
    assert subscriber is not None
    return subscriber, not existing


def get_subscriber(db: Database, chat_id: int) -> Subscriber | None:
    """The subscriber with its subscriptions (in /list order), or None."""
    rows = list(_rows(db, "SELECT * FROM subscribers WHERE chat_id = ?", [chat_id]))
    if not rows:
        return None
    row = rows[0]
    return Subscriber(
        chat_id=row["chat_id"], active=bool(row["active"]), paused=bool(row["paused"]),
        digest_time=row["digest_time"], timezone=row["timezone"], username=row["username"],
        last_digest_at=from_iso(row["last_digest_at"]),
        subscriptions=tuple(list_subscriptions(db, chat_id)),
        include_nonnews=bool(row["include_nonnews"]),
    )


def weekly_day(db: Database, chat_id: int) -> int | None:
    """0=Monday..6=Sunday for a weekly digest; None for daily (or unknown chat)."""
    row = db.execute("SELECT weekly_day FROM subscribers WHERE chat_id = ?", [chat_id]).fetchone()
    return row[0] if row else None


def list_subscriptions(db: Database, chat_id: int) -> list[Subscription]:
    """This chat's subscriptions, oldest first: the numbering /list shows and /unsubscribe uses."""
    return [
        _subscription(r)
        for r in _rows(db, "SELECT * FROM subscriptions WHERE chat_id = ? ORDER BY id", [chat_id])
    ]


def add_subscription(
    db: Database, chat_id: int, query: str, *, urgent: bool = False, limit: int = 50,
    now: datetime | None = None,
) -> Subscription:
    """Store a subscription; raise SubscriptionLimitError at ``limit``, UnknownSubscriberError."""
    with db.atomic():
        if not db.execute("SELECT 1 FROM subscribers WHERE chat_id = ?", [chat_id]).fetchone():
            raise UnknownSubscriberError(f"chat {chat_id} has not sent /start")
        count = db.execute("SELECT count(*) FROM subscriptions WHERE chat_id = ?", [chat_id]).fetchone()[0]
        if count >= limit:
            raise SubscriptionLimitError(f"at most {limit} subscriptions per chat")
        cursor = db.execute(
            "INSERT INTO subscriptions (chat_id, query, urgent, created_at) VALUES (?, ?, ?, ?)",
            [chat_id, query, 1 if urgent else 0, to_iso(now or utcnow())],
        )
        new_id = cursor.lastrowid
    row = next(iter(_rows(db, "SELECT * FROM subscriptions WHERE id = ?", [new_id])))
    return _subscription(row)


def remove_subscription(db: Database, chat_id: int, number: int) -> Subscription | None:
    """Remove this chat's subscription shown as ``number`` (1-based) in /list; None if no such."""
    with db.atomic():
        subscriptions = list_subscriptions(db, chat_id)
        if not 1 <= number <= len(subscriptions):
            return None
        target = subscriptions[number - 1]
        db.execute("DELETE FROM subscriptions WHERE id = ? AND chat_id = ?", [target.id, chat_id])
    return target


def remove_all_subscriptions(db: Database, chat_id: int) -> int:
    """Remove every subscription of this chat; return how many there were."""
    with db.atomic():
        return db.execute("DELETE FROM subscriptions WHERE chat_id = ?", [chat_id]).rowcount


def set_active(db: Database, chat_id: int, active: bool) -> bool:
    """Mark the chat active (it unblocked the bot) or inactive (403/blocked); True if it exists."""
    cursor = db.execute("UPDATE subscribers SET active = ? WHERE chat_id = ?", [1 if active else 0, chat_id])
    return cursor.rowcount > 0


def set_paused(db: Database, chat_id: int, paused: bool) -> bool:
    cursor = db.execute("UPDATE subscribers SET paused = ? WHERE chat_id = ?", [1 if paused else 0, chat_id])
    return cursor.rowcount > 0


def set_include_nonnews(db: Database, chat_id: int, include: bool) -> bool:
    """Whether the chat's digests and alerts also carry posts that are not news."""
    cursor = db.execute(
        "UPDATE subscribers SET include_nonnews = ? WHERE chat_id = ?", [1 if include else 0, chat_id]
    )
    return cursor.rowcount > 0


def set_digest_time(db: Database, chat_id: int, hhmm: str) -> bool:
    """Store a digest time already validated as ``HH:MM`` (zero-padded)."""
    cursor = db.execute("UPDATE subscribers SET digest_time = ? WHERE chat_id = ?", [hhmm, chat_id])
    return cursor.rowcount > 0


def set_weekly_day(db: Database, chat_id: int, day: int | None) -> bool:
    """0=Monday..6=Sunday for one digest a week; None for daily."""
    cursor = db.execute("UPDATE subscribers SET weekly_day = ? WHERE chat_id = ?", [day, chat_id])
    return cursor.rowcount > 0


def set_timezone(db: Database, chat_id: int, zone: str) -> bool:
    """Store an IANA zone name already validated."""
    cursor = db.execute("UPDATE subscribers SET timezone = ? WHERE chat_id = ?", [zone, chat_id])
    return cursor.rowcount > 0


def record_send_error(db: Database, chat_id: int | None, error: str, *, now: datetime | None = None) -> None:
    """Log a failed send in ``send_errors`` (counted by /stats)."""
    db.execute(
        "INSERT INTO send_errors (chat_id, at, error) VALUES (?, ?, ?)",
        [chat_id, to_iso(now or utcnow()), error[:500]],
    )
