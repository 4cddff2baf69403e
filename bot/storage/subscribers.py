"""Subscribers and their subscriptions in SQLite (tables from ``bot.storage.schema`` 0002).

Every function takes the open ``Database`` and is scoped by ``chat_id``: nothing here lets one
chat read or change another chat's subscriptions. Writes of more than one statement run in one
transaction (``db.atomic()``). Times are stored as ISO 8601 UTC strings.

Errors: ``SubscriptionLimitError`` (a chat already has the maximum number of subscriptions),
``UnknownSubscriberError`` (the chat never sent /start). Both are ``TgdigestError``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.core.clock import from_iso, to_iso, utcnow
from bot.core.models import DELIVERY_MODES, Mute, Mutes, Subscriber, Subscription
from bot.errors import TgdigestError


class SubscriptionLimitError(TgdigestError):
    """The chat already has as many subscriptions as allowed."""


class UnknownSubscriberError(TgdigestError):
    """The chat has not registered with /start."""


def _subscription(row: dict[str, Any] | Any) -> Subscription:
    return Subscription(
        id=row["id"], chat_id=row["chat_id"], query=row["query"], urgent=bool(row["urgent"]),
        created_at=from_iso(row["created_at"]), silent=bool(row["silent"]),
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
        weekly_day=row["weekly_day"], digest_style=row["digest_style"],
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
    now: datetime | None = None, silent: bool = False,
) -> Subscription:
    """Store a subscription; raise SubscriptionLimitError at ``limit``, UnknownSubscriberError.

    ``silent`` (with ``urgent``) makes it a "silent" alert: sent at once without a notification."""
    with db.atomic():
        if not db.execute("SELECT 1 FROM subscribers WHERE chat_id = ?", [chat_id]).fetchone():
            raise UnknownSubscriberError(f"chat {chat_id} has not sent /start")
        count = db.execute("SELECT count(*) FROM subscriptions WHERE chat_id = ?", [chat_id]).fetchone()[0]
        if count >= limit:
            raise SubscriptionLimitError(f"at most {limit} subscriptions per chat")
        cursor = db.execute(
            "INSERT INTO subscriptions (chat_id, query, urgent, silent, created_at) VALUES (?, ?, ?, ?, ?)",
            [chat_id, query, 1 if urgent else 0, 1 if urgent and silent else 0, to_iso(now or utcnow())],
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


def get_subscription(db: Database, chat_id: int, subscription_id: int) -> Subscription | None:
    """This chat's subscription with this id (buttons carry ids, which never shift), or None."""
    rows = list(_rows(db, "SELECT * FROM subscriptions WHERE id = ? AND chat_id = ?", [subscription_id, chat_id]))
    return _subscription(rows[0]) if rows else None


def remove_subscription_by_id(db: Database, chat_id: int, subscription_id: int) -> Subscription | None:
    """Remove this chat's subscription with this id; None if there is none (already removed)."""
    found = get_subscription(db, chat_id, subscription_id)
    if found is not None:
        db.execute("DELETE FROM subscriptions WHERE id = ? AND chat_id = ?", [subscription_id, chat_id])
    return found


def set_subscription_mode(db: Database, chat_id: int, subscription_id: int, mode: str) -> Subscription | None:
    """Set a subscription's delivery mode ("digest", "alert", "silent"); None if it is gone."""
    if mode not in DELIVERY_MODES:
        raise ValueError(f"unknown delivery mode {mode!r}")  # a bug: callers pass one of DELIVERY_MODES
    db.execute(
        "UPDATE subscriptions SET urgent = ?, silent = ? WHERE id = ? AND chat_id = ?",
        [0 if mode == "digest" else 1, 1 if mode == "silent" else 0, subscription_id, chat_id],
    )
    return get_subscription(db, chat_id, subscription_id)


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


def set_digest_style(db: Database, chat_id: int, style: str) -> bool:
    """"full" or "compact" (see ``bot.core.models.Subscriber.digest_style``)."""
    if style not in ("full", "compact"):
        raise ValueError(f"unknown digest style {style!r}")
    cursor = db.execute("UPDATE subscribers SET digest_style = ? WHERE chat_id = ?", [style, chat_id])
    return cursor.rowcount > 0


def set_awaiting(db: Database, chat_id: int, what: str | None) -> bool:
    """Remember what the chat's next plain message answers (e.g. "subscribe"); None: nothing."""
    cursor = db.execute("UPDATE subscribers SET awaiting = ? WHERE chat_id = ?", [what, chat_id])
    return cursor.rowcount > 0


def awaiting(db: Database, chat_id: int) -> str | None:
    row = db.execute("SELECT awaiting FROM subscribers WHERE chat_id = ?", [chat_id]).fetchone()
    return row[0] if row else None


# --- mutes ---------------------------------------------------------------------------------

MUTE_KINDS = ("channel", "story")


def add_mute(db: Database, chat_id: int, kind: str, target: int, label: str, *, now: datetime | None = None) -> bool:
    """Mute a channel or a story for this chat; False if it was muted already."""
    if kind not in MUTE_KINDS:
        raise ValueError(f"unknown mute kind {kind!r}")
    cursor = db.execute(
        "INSERT OR IGNORE INTO mutes (chat_id, kind, target, label, created_at) VALUES (?, ?, ?, ?, ?)",
        [chat_id, kind, target, label[:200], to_iso(now or utcnow())],
    )
    return cursor.rowcount > 0


def remove_mute(db: Database, chat_id: int, kind: str, target: int) -> Mute | None:
    """Unmute; return what was muted, or None if it was not."""
    row = db.execute(
        "SELECT kind, target, label FROM mutes WHERE chat_id = ? AND kind = ? AND target = ?", [chat_id, kind, target]
    ).fetchone()
    if row is None:
        return None
    db.execute("DELETE FROM mutes WHERE chat_id = ? AND kind = ? AND target = ?", [chat_id, kind, target])
    return Mute(row[0], row[1], row[2])


def list_mutes(db: Database, chat_id: int) -> list[Mute]:
    """This chat's mutes: channels first, then stories, each oldest first."""
    return [
        Mute(r[0], r[1], r[2])
        for r in db.execute(
            "SELECT kind, target, label FROM mutes WHERE chat_id = ? ORDER BY kind = 'story', created_at, target",
            [chat_id],
        )
    ]


def mutes_of(db: Database, chat_id: int) -> Mutes:
    """The chat's muted channel and story ids (what digests, alerts and /search leave out)."""
    channels: set[int] = set()
    stories: set[int] = set()
    for kind, target in db.execute("SELECT kind, target FROM mutes WHERE chat_id = ?", [chat_id]):
        (channels if kind == "channel" else stories).add(target)
    return Mutes(frozenset(channels), frozenset(stories))


def mutes_of_many(db: Database, chat_ids: Sequence[int]) -> dict[int, Mutes]:
    """``mutes_of`` for many chats, a query per 500 (chats with no mutes are absent)."""
    found: dict[int, tuple[set[int], set[int]]] = {}
    for start in range(0, len(chat_ids), 500):
        chunk = list(chat_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for chat_id, kind, target in db.execute(
            f"SELECT chat_id, kind, target FROM mutes WHERE chat_id IN ({marks})", chunk
        ):
            channels, stories = found.setdefault(chat_id, (set(), set()))
            (channels if kind == "channel" else stories).add(target)
    return {chat: Mutes(frozenset(c), frozenset(s)) for chat, (c, s) in found.items()}


def record_send_error(db: Database, chat_id: int | None, error: str, *, now: datetime | None = None) -> None:
    """Log a failed send in ``send_errors`` (counted by /stats)."""
    db.execute(
        "INSERT INTO send_errors (chat_id, at, error) VALUES (?, ?, ?)",
        [chat_id, to_iso(now or utcnow()), error[:500]],
    )
