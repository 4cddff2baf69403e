"""A subscriber's subscriptions and settings as a small JSON document, out and back in.

``/export`` and ``/import`` in the bot move one chat's document; ``tgdigest subscribers
export|import`` moves every subscriber's (backup, migration to another machine). One
subscriber's document::

    {
      "format": "tgdigest.subscriber", "version": 1, "exported_at": "2026-11-30T08:00:00+00:00",
      "settings": {"digest_time": "07:30", "timezone": "Europe/Berlin", "weekly_day": null,
                   "paused": false, "digest_style": "full", "include_nonnews": false},
      "subscriptions": [{"query": "oil OR gas", "mode": "digest"}, {"query": "pipeline", "mode": "silent"}],
      "mutes": [{"kind": "channel", "id": 5001, "label": "@energywire"}, {"kind": "story", "id": 812, "label": "…"}]
    }

The operator's file is ``{"format": "tgdigest.subscribers", "version": 1, "exported_at": ...,
"subscribers": [...]}`` where each entry is the document above plus ``chat_id`` (and
``username``, ``first_name``, ``active`` when known).

Importing merges and never loses anything: settings present in the document replace the
current ones; a subscription whose query the chat already has gets the document's mode, any
other is added; mutes are added. The whole document is checked first (queries parse, times
and zones are real, the subscription limit holds) and written in one transaction, so a bad
document raises ``SubscriberDataError`` naming the first problem and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.config import parse_hhmm, valid_timezone
from bot.core.clock import to_iso, utcnow
from bot.core.models import DELIVERY_MODES
from bot.errors import QueryError, SubscriberDataError
from bot.storage import subscribers as subs
from bot.storage.db import write_transaction

FORMAT_ONE = "tgdigest.subscriber"
FORMAT_ALL = "tgdigest.subscribers"
VERSION = 1
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
STYLES = ("full", "compact")

QueryCheck = Callable[[str], object]  # raises QueryError when the query is not valid


@dataclass(frozen=True, slots=True)
class SubscriptionData:
    query: str
    mode: str


@dataclass(frozen=True, slots=True)
class MuteData:
    kind: str
    target: int
    label: str


@dataclass(frozen=True, slots=True)
class SubscriberData:
    """One subscriber's document, validated. Settings left out of the document are None."""

    subscriptions: tuple[SubscriptionData, ...]
    mutes: tuple[MuteData, ...]
    digest_time: str | None = None
    timezone: str | None = None
    weekly_day: int | None = None
    weekly_given: bool = False  # "weekly_day": null (daily) differs from no "weekly_day" at all
    paused: bool | None = None
    digest_style: str | None = None
    include_nonnews: bool | None = None
    chat_id: int | None = None
    username: str | None = None
    first_name: str | None = None
    active: bool | None = None  # operator files: False for a chat that had blocked the bot


@dataclass(slots=True)
class ImportReport:
    """What an import changed."""

    subscribers: int = 0
    created: int = 0  # subscribers that did not exist before (operator import)
    added: int = 0
    changed_mode: int = 0
    unchanged: int = 0
    mutes_added: int = 0
    chats: list[int] = field(default_factory=list)


# --- out -------------------------------------------------------------------------------------

def subscriber_document(db: Database, chat_id: int, *, now: datetime | None = None, envelope: bool = True) -> dict[str, Any]:
    """The chat's document; raises UnknownSubscriberError for a chat that never sent /start."""
    subscriber = subs.get_subscriber(db, chat_id)
    if subscriber is None:
        raise subs.UnknownSubscriberError(f"chat {chat_id} is not a subscriber")
    body: dict[str, Any] = {
        "settings": {
            "digest_time": subscriber.digest_time,
            "timezone": subscriber.timezone,
            "weekly_day": WEEKDAYS[subscriber.weekly_day] if subscriber.weekly_day is not None else None,
            "paused": subscriber.paused,
            "digest_style": subscriber.digest_style,
            "include_nonnews": subscriber.include_nonnews,
        },
        "subscriptions": [{"query": s.query, "mode": s.mode} for s in subscriber.subscriptions],
        "mutes": [{"kind": m.kind, "id": m.target, "label": m.label} for m in subs.list_mutes(db, chat_id)],
    }
    if not envelope:
        return body
    return {"format": FORMAT_ONE, "version": VERSION, "exported_at": to_iso(now or utcnow()), **body}


def all_subscribers_document(db: Database, *, chat_ids: list[int] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Every subscriber's document (or those of ``chat_ids``), for ``tgdigest subscribers export``."""
    rows = db.execute("SELECT chat_id, username, first_name, active FROM subscribers ORDER BY chat_id").fetchall()
    wanted = set(chat_ids) if chat_ids is not None else None
    entries = []
    for chat_id, username, first_name, active in rows:
        if wanted is not None and chat_id not in wanted:
            continue
        entry: dict[str, Any] = {"chat_id": chat_id, "username": username, "first_name": first_name, "active": bool(active)}
        entry.update(subscriber_document(db, chat_id, envelope=False))
        entries.append(entry)
    return {"format": FORMAT_ALL, "version": VERSION, "exported_at": to_iso(now or utcnow()), "subscribers": entries}


# --- checking a document ---------------------------------------------------------------------------

def _fail(where: str, problem: str) -> SubscriberDataError:
    return SubscriberDataError(f"{where}: {problem}" if where else problem)


def _envelope(doc: Any, expected: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise _fail("", "not a tgdigest export (expected a JSON object)")
    if doc.get("format") != expected:
        found = doc.get("format")
        hint = " (that is the operator's file of all subscribers)" if found == FORMAT_ALL else ""
        hint = " (that is one subscriber's file)" if found == FORMAT_ONE else hint
        raise _fail("format", f"expected \"{expected}\", found {str(found)[:40]!r}{hint}")
    if doc.get("version") != VERSION:
        raise _fail("version", f"this tgdigest reads version {VERSION}, the file is version {str(doc.get('version'))[:10]}")
    return doc


def parse_subscriber(entry: Any, *, check_query: QueryCheck, where: str = "", operator: bool = False) -> SubscriberData:
    """Validate one subscriber's document (the body, with or without the envelope)."""
    if not isinstance(entry, dict):
        raise _fail(where, "expected a JSON object")
    prefix = f"{where}." if where else ""
    settings = entry.get("settings", {})
    if not isinstance(settings, dict):
        raise _fail(f"{prefix}settings", "expected a JSON object")
    values: dict[str, Any] = {}
    if "digest_time" in settings:
        text = settings["digest_time"]
        parsed = parse_hhmm(text) if isinstance(text, str) and len(text) <= 5 else None
        if parsed is None:
            raise _fail(f"{prefix}settings.digest_time", f"{str(text)[:20]!r} is not a time of day (HH:MM)")
        values["digest_time"] = f"{parsed[0]:02d}:{parsed[1]:02d}"
    if "timezone" in settings:
        zone = settings["timezone"]
        if not isinstance(zone, str) or len(zone) > 64 or not (zone.upper() == "UTC" or valid_timezone(zone)):
            raise _fail(f"{prefix}settings.timezone", f"{str(zone)[:40]!r} is not a time zone (an IANA name)")
        values["timezone"] = zone
    if "weekly_day" in settings:
        day = settings["weekly_day"]
        if day is not None and (not isinstance(day, str) or day.casefold() not in WEEKDAYS):
            raise _fail(f"{prefix}settings.weekly_day", f"{str(day)[:20]!r} is not a weekday (monday … sunday) or null")
        values["weekly_day"] = WEEKDAYS.index(day.casefold()) if day is not None else None
        values["weekly_given"] = True
    if "paused" in settings:
        if not isinstance(settings["paused"], bool):
            raise _fail(f"{prefix}settings.paused", "expected true or false")
        values["paused"] = settings["paused"]
    if "digest_style" in settings:
        if settings["digest_style"] not in STYLES:
            raise _fail(f"{prefix}settings.digest_style", "expected \"full\" or \"compact\"")
        values["digest_style"] = settings["digest_style"]
    if "include_nonnews" in settings:
        if not isinstance(settings["include_nonnews"], bool):
            raise _fail(f"{prefix}settings.include_nonnews", "expected true or false")
        values["include_nonnews"] = settings["include_nonnews"]
    raw_subscriptions = entry.get("subscriptions", [])
    if not isinstance(raw_subscriptions, list):
        raise _fail(f"{prefix}subscriptions", "expected a list")
    subscriptions: list[SubscriptionData] = []
    for i, item in enumerate(raw_subscriptions):
        at = f"{prefix}subscriptions[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("query"), str) or not item["query"].strip():
            raise _fail(at, "expected {\"query\": \"…\", \"mode\": \"digest\"}")
        mode = item.get("mode", "digest")
        if mode not in DELIVERY_MODES:
            raise _fail(f"{at}.mode", "expected \"digest\", \"alert\" or \"silent\"")
        try:
            check_query(item["query"])
        except QueryError as e:
            raise _fail(f"{at}.query", str(e)) from None
        subscriptions.append(SubscriptionData(item["query"].strip(), mode))
    raw_mutes = entry.get("mutes", [])
    if not isinstance(raw_mutes, list):
        raise _fail(f"{prefix}mutes", "expected a list")
    mutes: list[MuteData] = []
    for i, item in enumerate(raw_mutes):
        at = f"{prefix}mutes[{i}]"
        target = item.get("id") if isinstance(item, dict) else None
        if (
            not isinstance(item, dict) or item.get("kind") not in subs.MUTE_KINDS
            or not isinstance(target, int) or isinstance(target, bool)
        ):
            raise _fail(at, "expected {\"kind\": \"channel\" or \"story\", \"id\": a number, \"label\": \"…\"}")
        label = item.get("label")
        mutes.append(MuteData(item["kind"], target, label if isinstance(label, str) else str(target)))
    if operator:
        chat_id = entry.get("chat_id")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _fail(f"{prefix}chat_id", "expected the chat's numeric id")
        values["chat_id"] = chat_id
        for key in ("username", "first_name"):
            if isinstance(entry.get(key), str):
                values[key] = entry[key]
        if isinstance(entry.get("active"), bool):
            values["active"] = entry["active"]
    return SubscriberData(subscriptions=tuple(subscriptions), mutes=tuple(mutes), **values)


def parse_document(doc: Any, *, check_query: QueryCheck) -> SubscriberData:
    """One subscriber's document (``/import``), validated."""
    return parse_subscriber(_envelope(doc, FORMAT_ONE), check_query=check_query)


def parse_all(doc: Any, *, check_query: QueryCheck) -> list[SubscriberData]:
    """The operator's document of every subscriber, validated (each chat at most once)."""
    entries = _envelope(doc, FORMAT_ALL).get("subscribers")
    if not isinstance(entries, list):
        raise _fail("subscribers", "expected a list")
    parsed = [
        parse_subscriber(e, check_query=check_query, where=f"subscribers[{i}]", operator=True)
        for i, e in enumerate(entries)
    ]
    seen: set[int] = set()
    for i, data in enumerate(parsed):
        if data.chat_id in seen:
            raise _fail(f"subscribers[{i}].chat_id", f"chat {data.chat_id} appears twice")
        seen.add(data.chat_id or 0)
    return parsed


# --- in ---------------------------------------------------------------------------------------------

def _merge(db: Database, chat_id: int, data: SubscriberData, *, limit: int, now: datetime, report: ImportReport) -> None:
    existing = {s.query.strip().casefold(): s for s in subs.list_subscriptions(db, chat_id)}
    new: dict[str, SubscriptionData] = {}
    for item in data.subscriptions:
        key = item.query.casefold()
        if key not in existing:
            new.setdefault(key, item)
    if len(existing) + len(new) > limit:
        raise SubscriberDataError(
            f"chat {chat_id}: the import would make {len(existing) + len(new)} subscriptions, "
            f"the most allowed is {limit}; nothing was imported"
        )
    for item in data.subscriptions:
        current = existing.get(item.query.casefold())
        if current is None:
            continue
        if current.mode != item.mode:
            subs.set_subscription_mode(db, chat_id, current.id, item.mode)
            report.changed_mode += 1
        else:
            report.unchanged += 1
    for item in new.values():
        subs.add_subscription(
            db, chat_id, item.query, urgent=item.mode != "digest", silent=item.mode == "silent", limit=limit, now=now
        )
        report.added += 1
    if data.digest_time is not None:
        subs.set_digest_time(db, chat_id, data.digest_time)
    if data.timezone is not None:
        subs.set_timezone(db, chat_id, data.timezone)
    if data.weekly_given:
        subs.set_weekly_day(db, chat_id, data.weekly_day)
    if data.paused is not None:
        subs.set_paused(db, chat_id, data.paused)
    if data.digest_style is not None:
        subs.set_digest_style(db, chat_id, data.digest_style)
    if data.include_nonnews is not None:
        subs.set_include_nonnews(db, chat_id, data.include_nonnews)
    for mute in data.mutes:
        if subs.add_mute(db, chat_id, mute.kind, mute.target, mute.label, now=now):
            report.mutes_added += 1
    report.subscribers += 1
    report.chats.append(chat_id)


def import_subscriber(db: Database, chat_id: int, data: SubscriberData, *, limit: int, now: datetime | None = None) -> ImportReport:
    """Merge one validated document into this (registered) chat, in one transaction."""
    report = ImportReport()
    with write_transaction(db):
        if subs.get_subscriber(db, chat_id) is None:
            raise subs.UnknownSubscriberError(f"chat {chat_id} has not sent /start")
        _merge(db, chat_id, data, limit=limit, now=now or utcnow(), report=report)
    return report


def import_all(
    db: Database, entries: list[SubscriberData], *, limit: int, default_time: str = "09:00",
    default_timezone: str = "UTC", now: datetime | None = None,
) -> ImportReport:
    """Merge the operator's documents, creating subscribers that do not exist; one transaction."""
    report = ImportReport()
    stamp = now or utcnow()
    with write_transaction(db):
        for data in entries:
            assert data.chat_id is not None  # parse_all guarantees it
            _, created = subs.register(
                db, data.chat_id, username=data.username, first_name=data.first_name,
                default_time=default_time, default_timezone=default_timezone, now=stamp,
            )
            report.created += int(created)
            if created and data.active is False:
                subs.set_active(db, data.chat_id, False)  # it had blocked the bot: stays quiet
            _merge(db, data.chat_id, data, limit=limit, now=stamp, report=report)
    return report
