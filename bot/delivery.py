"""Build digests into an outbox and deliver them exactly once.

The path of a digest::

    due? (bot.schedule) -> stories in the window (bot.store) -> matched (bot.matcher)
    -> selected (bot.digest) -> rendered parts (bot.render)
    -> OUTBOX, one transaction: digests + digest_parts + one deliveries row per story
       (delivered_at NULL) + the subscriber's last digest date
    -> each part, in order, through the rate-limited sender (bot.sender)
    -> on Telegram's acknowledgement, one transaction: the part is sent AND its stories
       are delivered

What that buys after a crash or ``kill -9`` at any point: a digest is either not stored at
all (the schedule still finds it due and builds it again) or stored whole; a restart sends
the parts not marked sent, so at most the one part that was in flight when the process died
goes out twice, a whole digest never does, and none is skipped. A story is reserved for the
digest that lists it from the moment that digest is stored (the deliveries row), so no other
digest or alert can list it meanwhile.

Two processes (the service and ``tgdigest digest --chat``) never send the same part: a
pending digest is claimed (``claimed_by`` = host:pid:instance, ``claimed_until``) before
sending; a claim whose process is dead, or whose lease ran out, is taken over.

Errors while sending: 403 (``Forbidden``) deactivates the subscriber and cancels every part
still pending for them (their stories are released); a 400 "chat not found" does the same;
any other 400 marks that digest failed (its unsent stories are released) and goes on with the
next; 429, 5xx and network errors are retried inside the sender; if it still gives up, the
part stays pending and the next tick resumes it in order. A 401 (bad token) is raised.

Errors raised here: ``bot.subscribers.UnknownSubscriberError`` (``digest_now``/``preview`` for
a chat that never sent /start) and ``bot.botapi.Unauthorized``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from sqlite_utils import Database

from bot.botapi import BadRequest, BotAPIError, Forbidden, Unauthorized
from bot.config import Config
from bot.digest import (
    DEFAULT_LATE_GRACE,
    Selection,
    Window,
    digest_window,
    group_sections,
    select_stories,
)
from bot.errors import QueryError
from bot.matcher import SubscriptionIndex
from bot.models import Story
from bot.query import MatchDoc, Query, highlight_spans, parse_query, story_matches
from bot.render import Part, render_digest
from bot.schedule import ScheduleError, due_date, format_local_hhmm, local_date
from bot.store import Store, from_iso, to_iso
from bot.subscribers import UnknownSubscriberError

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class SenderLike(Protocol):
    """What delivery needs of ``bot.sender.Sender``."""

    async def send(
        self, chat_id: int, text: str, *, parse_mode: str | None = "HTML", disable_preview: bool = True
    ) -> Any: ...


# --- small data types ----------------------------------------------------------------------

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


@dataclass(frozen=True, slots=True)
class BuiltDigest:
    """A digest as built: stories, messages, and its outbox id (None: dry run or empty)."""

    chat_id: int
    window: Window
    selection: Selection
    parts: tuple[Part, ...]
    local_date: date
    timezone: str
    digest_id: int | None = None

    @property
    def empty(self) -> bool:
        return not self.selection.stories

    @property
    def messages(self) -> list[str]:
        return [p.text for p in self.parts]

    def nothing_new_text(self) -> str:
        return f"Nothing new since {format_local_hhmm(self.window.since, self.timezone)}."


@dataclass(slots=True)
class DeliveryReport:
    """What one delivery round did."""

    parts_sent: int = 0
    digests_completed: int = 0
    chats_blocked: list[int] = field(default_factory=list)
    digests_failed: list[int] = field(default_factory=list)
    chats_deferred: list[int] = field(default_factory=list)  # retry later (5xx/network gave up)

    def merge(self, other: DeliveryReport) -> None:
        self.parts_sent += other.parts_sent
        self.digests_completed += other.digests_completed
        self.chats_blocked += other.chats_blocked
        self.digests_failed += other.digests_failed
        self.chats_deferred += other.chats_deferred


@dataclass(slots=True)
class TickReport:
    built: list[int] = field(default_factory=list)  # outbox ids stored this tick
    empty: list[int] = field(default_factory=list)  # chats due with nothing new (not sent)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


# --- database helpers ------------------------------------------------------------------------

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


_CHAT_COLUMNS = (
    "chat_id, active, paused, digest_time, timezone, weekly_day, last_digest_at, last_digest_local_date"
)


def _chat_state(row: Sequence[Any]) -> ChatState:
    return ChatState(
        chat_id=row[0], active=bool(row[1]), paused=bool(row[2]), digest_time=row[3], timezone=row[4],
        weekly_day=row[5], last_digest_at=from_iso(row[6]), last_digest_local_date=row[7],
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


def already_given(db: Database, chat_id: int) -> set[int]:
    """Stories this chat has a deliveries row for: delivered, or reserved by a pending outbox."""
    return {r[0] for r in db.execute("SELECT story_id FROM deliveries WHERE chat_id = ?", [chat_id])}


@functools.lru_cache(maxsize=100_000)
def _parse_cached(text: str, stemming: bool, language: str) -> Query:
    return parse_query(text, max_length=10_000, max_terms=1_000, stemming=stemming, language=language)


def subscription_queries(
    db: Database, config: Config, chat_ids: Iterable[int], *, urgent_only: bool = False
) -> dict[int, list[tuple[int, Query]]]:
    """Parsed subscriptions per chat. A stored query that no longer parses is logged and skipped."""
    ids = list(chat_ids)
    found: dict[int, list[tuple[int, Query]]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT id, chat_id, query FROM subscriptions WHERE chat_id IN ({marks})"
        if urgent_only:
            sql += " AND urgent = 1"
        for sub_id, chat_id, text in db.execute(sql + " ORDER BY id", chunk):
            try:
                query = _parse_cached(text, config.query.stemming, config.query.language)
            except QueryError as e:
                log.warning("subscription %s of chat %s is skipped: %s", sub_id, chat_id, e)
                continue
            found.setdefault(chat_id, []).append((sub_id, query))
    return found


def story_docs(stories: Sequence[Story]) -> list[tuple[int, list[MatchDoc]]]:
    return [(s.id, [MatchDoc.from_post(sp.post) for sp in s.posts]) for s in stories]


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


class Highlighter:
    """Spans to bold in each story's representative text: the terms of the queries it matched.

    Many chats share stories and queries, so one instance per tick remembers each
    (story, query) result; ``docs`` are the stories' MatchDocs when already built."""

    def __init__(self, docs: dict[int, list[MatchDoc]] | None = None) -> None:
        self._docs = docs if docs is not None else {}
        self._spans: dict[tuple[int, Query], list[tuple[int, int]] | None] = {}

    def spans(self, story: Story, query: Query) -> list[tuple[int, int]] | None:
        key = (story.id, query)
        if key not in self._spans:
            docs = self._docs.get(story.id)
            if docs is None:
                docs = self._docs[story.id] = [MatchDoc.from_post(sp.post) for sp in story.posts]
            self._spans[key] = (
                highlight_spans(story.representative.post.text or "", query) if story_matches(query, docs) else None
            )
        return self._spans[key]

    def for_chat(self, stories: Sequence[Story], queries: Sequence[Query]) -> dict[int, list[tuple[int, int]]]:
        out: dict[int, list[tuple[int, int]]] = {}
        for story in stories:
            found: list[tuple[int, int]] = []
            for query in queries:
                found.extend(self.spans(story, query) or ())
            out[story.id] = merge_spans(found)
        return out


def highlights_for(stories: Sequence[Story], queries: Sequence[Query]) -> dict[int, list[tuple[int, int]]]:
    """Spans to bold in each story's representative text: the terms of the queries it matched."""
    return Highlighter().for_chat(stories, queries)


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
    ) -> int:
        """Insert a digest, its parts and a reserved deliveries row per story; return its id.

        Call inside ``write_transaction`` together with whatever else must commit with it."""
        cursor = self.db.execute(
            "INSERT INTO digests (chat_id, kind, status, created_at, window_start, window_end, local_date) "
            "VALUES (?, ?, 'pending', ?, ?, ?, ?)",
            [
                chat_id, kind, to_iso(now),
                to_iso(window.start) if window else None, to_iso(window.end) if window else None,
                local_date,
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

    def is_pending(self, digest_id: int) -> bool:
        row = self.db.execute("SELECT status FROM digests WHERE id = ?", [digest_id]).fetchone()
        return bool(row) and row[0] == "pending"

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
            left = self.db.execute(
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

class DigestService:
    """Builds due digests and alerts into the outbox and delivers pending parts.

    ``now`` is the clock (injected in tests); ``concurrency`` bounds how many chats are
    being sent to at once (the sender enforces the rates; several chats in flight are what
    lets it reach the global rate while each chat gets one message a second).
    """

    def __init__(
        self,
        db: Database,
        sender: SenderLike,
        config: Config,
        *,
        now: Clock = utcnow,
        late_grace: timedelta = DEFAULT_LATE_GRACE,
        concurrency: int = 64,
        owner: str | None = None,
        wait_for_collection: timedelta | None = None,
    ) -> None:
        self.db = db
        self.sender = sender
        # After a restart the collector must first fetch what was posted while we were down,
        # or the catch-up digest would miss it: with ``wait_for_collection`` set, ticks only
        # resume the outbox until the first collection pass ends (``send_alerts``) or that
        # long has passed.
        self.wait_for_collection = wait_for_collection
        self._started_at: datetime | None = None
        self._collected = False
        self.config = config
        self.now = now
        self.late_grace = late_grace
        self.concurrency = max(1, concurrency)
        self.store = Store(db)
        self.outbox = Outbox(db, owner=owner)
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._tick_lock = asyncio.Lock()

    # --- building ---

    def _window(self, chat: ChatState, now: datetime) -> Window:
        return digest_window(
            now=now,
            last_digest_at=chat.last_digest_at,
            first_lookback=timedelta(hours=self.config.digest.first_lookback_hours),
            late_grace=self.late_grace,
        )

    def _due(self, chat: ChatState, now: datetime) -> date | None:
        """The local date of the digest due now (see bot.schedule), or None."""
        try:
            return due_date(
                now, digest_time=chat.digest_time, tz_name=chat.timezone,
                last_local_date=chat.last_digest_local_date, weekly_day=chat.weekly_day,
            )
        except ScheduleError as e:
            log.warning("chat %s: digest schedule unusable (%s); skipped", chat.chat_id, e)
            return None

    def due_chats(self, now: datetime | None = None) -> list[ChatState]:
        now = now or self.now()
        return [c for c in schedulable_chats(self.db) if self._due(c, now) is not None]

    def _build(
        self,
        chat: ChatState,
        *,
        now: datetime,
        candidates: Sequence[Story],
        matched: set[int],
        queries: Sequence[Query],
        mode: str,
        record_date: date | None = None,
        highlighter: Highlighter | None = None,
    ) -> BuiltDigest:
        """Select, render and (unless ``mode == "dry-run"``) store one chat's digest.

        ``mode``: "scheduled" records the local date (today's digest is done) even when
        empty; "now" (/digest, ``tgdigest digest``) stores only a non-empty digest and does
        not count as the day's scheduled one; "dry-run" writes nothing."""
        window = self._window(chat, now)
        today = local_date(now, chat.timezone)
        selection = select_stories(
            candidates,
            matched=matched,
            already=already_given(self.db, chat.chat_id),
            window=window,
            max_stories=self.config.digest.max_stories,
        )
        parts: tuple[Part, ...] = ()
        if selection:
            sections = group_sections(selection.stories, self.config.category_names())
            parts = tuple(
                render_digest(
                    sections,
                    local_date=today,
                    highlights=(highlighter or Highlighter()).for_chat(selection.stories, queries),
                    snippet_length=self.config.digest.snippet_length,
                    omitted=selection.omitted,
                )
            )
        built = BuiltDigest(chat.chat_id, window, selection, parts, today, chat.timezone)
        if mode == "dry-run":
            return built
        digest_id: int | None = None
        if parts:
            digest_id = self.outbox.store(
                chat_id=chat.chat_id, kind="digest", parts=parts, now=now, window=window,
                local_date=(record_date or today).isoformat() if mode == "scheduled" else None,
            )
        if mode == "scheduled":
            self.db.execute(
                "UPDATE subscribers SET last_digest_at = ?, last_digest_local_date = ? WHERE chat_id = ?",
                [to_iso(window.end), (record_date or today).isoformat(), chat.chat_id],
            )
        elif parts:
            self.db.execute(
                "UPDATE subscribers SET last_digest_at = ? WHERE chat_id = ?", [to_iso(window.end), chat.chat_id]
            )
        return BuiltDigest(chat.chat_id, window, selection, parts, today, chat.timezone, digest_id)

    def _candidates(self, chats: Sequence[ChatState], now: datetime) -> tuple[list[Story], list[tuple[int, list[MatchDoc]]]]:
        start = min(self._window(c, now).start for c in chats)
        stories = self.store.stories_between(start, now)
        return stories, story_docs(stories)

    def build_due(self, now: datetime | None = None) -> TickReport:
        """Store the digests due at ``now`` in the outbox (no sending). Each chat is one
        transaction that re-checks it is still due, so a repeated tick builds nothing twice."""
        report = TickReport()
        for _ in self._build_steps(now or self.now(), report):
            pass
        return report

    async def build_due_async(self, now: datetime | None = None, *, chats_per_step: int = 50) -> TickReport:
        """``build_due`` that lets the event loop run (the bot answering) every few chats."""
        report = TickReport()
        for i, _ in enumerate(self._build_steps(now or self.now(), report), 1):
            if i % chats_per_step == 0:
                await asyncio.sleep(0)
        return report

    def _build_steps(self, now: datetime, report: TickReport) -> Iterator[None]:
        chats = self.due_chats(now)
        if not chats:
            return
        stories, docs = self._candidates(chats, now)
        queries = subscription_queries(self.db, self.config, [c.chat_id for c in chats])
        index = SubscriptionIndex(
            (sub_id, chat_id, q) for chat_id, subs in queries.items() for sub_id, q in subs
        )
        matched = index.match(docs) if docs else {}
        highlighter = Highlighter({story_id: list(d) for story_id, d in docs})
        for chat in chats:
            yield None
            with write_transaction(self.db):
                fresh = chat_state(self.db, chat.chat_id)
                due = self._due(fresh, now) if fresh is not None and fresh.active and not fresh.paused else None
                if fresh is None or due is None:
                    continue
                built = self._build(
                    fresh, now=now, candidates=stories, matched=matched.get(chat.chat_id, set()),
                    queries=[q for _, q in queries.get(chat.chat_id, [])], mode="scheduled", record_date=due,
                    highlighter=highlighter,
                )
            if built.digest_id is not None:
                report.built.append(built.digest_id)
            else:
                report.empty.append(chat.chat_id)
        if report.built or report.empty:
            log.info("digests: %d stored, %d empty (not sent)", len(report.built), len(report.empty))

    def build_now(self, chat_id: int, *, dry_run: bool = False, now: datetime | None = None) -> BuiltDigest:
        """Build (and unless ``dry_run`` store) the digest of what is new for one chat now."""
        now = now or self.now()
        chat = chat_state(self.db, chat_id)
        if chat is None:
            raise UnknownSubscriberError(f"chat {chat_id} is not a subscriber (it has not sent /start)")
        stories, docs = self._candidates([chat], now)
        subs = subscription_queries(self.db, self.config, [chat_id]).get(chat_id, [])
        queries = [q for _, q in subs]
        matched = {story_id for story_id, d in docs if any(story_matches(q, d) for q in queries)}
        if dry_run:
            return self._build(chat, now=now, candidates=stories, matched=matched, queries=queries, mode="dry-run")
        with write_transaction(self.db):
            return self._build(chat, now=now, candidates=stories, matched=matched, queries=queries, mode="now")

    # --- sending ---

    def _lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        return lock

    async def _deliver_chat(self, chat_id: int, digest_ids: Sequence[int]) -> DeliveryReport:
        report = DeliveryReport()
        async with self._lock(chat_id):
            for digest_id in digest_ids:
                if not self.outbox.is_pending(digest_id):
                    continue  # finished meanwhile (another task of this process, or a 403)
                if not self.outbox.claim(digest_id, self.now()):
                    log.info("digest %s is being sent by another process; left to it", digest_id)
                    report.chats_deferred.append(chat_id)
                    return report
                try:
                    for seq, text in self.outbox.unsent_parts(digest_id):
                        result = await self.sender.send(chat_id, text, parse_mode="HTML", disable_preview=True)
                        report.parts_sent += 1
                        if self.outbox.mark_sent(digest_id, seq, int(result.message_id), self.now()):
                            report.digests_completed += 1
                except Forbidden:
                    cancelled = self.outbox.cancel_chat(chat_id)
                    log.info("chat %s blocked the bot: deactivated, %d pending digest(s) cancelled", chat_id, cancelled)
                    report.chats_blocked.append(chat_id)
                    return report
                except Unauthorized:
                    self.outbox.release(digest_id)
                    raise
                except BadRequest as e:
                    if e.is_chat_not_found:
                        self.outbox.cancel_chat(chat_id)
                        report.chats_blocked.append(chat_id)
                        log.warning("chat %s not found: deactivated", chat_id)
                        return report
                    log.error("digest %s for chat %s refused by Telegram (%s); marked failed", digest_id, chat_id, e)
                    self.outbox.fail_digest(digest_id)
                    report.digests_failed.append(digest_id)
                    continue
                except BotAPIError as e:
                    # The sender already retried; keep the order: nothing later for this chat now.
                    self.outbox.release(digest_id)
                    log.warning("chat %s: sending deferred to the next tick (%s)", chat_id, e)
                    report.chats_deferred.append(chat_id)
                    return report
                except BaseException:
                    self.outbox.release(digest_id)
                    raise
                self.outbox.release(digest_id)
        return report

    async def deliver_pending(
        self, *, chat_ids: Iterable[int] | None = None, digest_ids: Iterable[int] | None = None
    ) -> DeliveryReport:
        """Send every pending part (of these chats/digests), each chat's in order, chats in parallel."""
        by_chat: dict[int, list[int]] = {}
        for digest_id, chat_id in self.outbox.pending(chat_ids=chat_ids, digest_ids=digest_ids):
            by_chat.setdefault(chat_id, []).append(digest_id)
        report = DeliveryReport()
        if not by_chat:
            return report
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(chat_id: int, ids: list[int]) -> DeliveryReport:
            async with semaphore:
                return await self._deliver_chat(chat_id, ids)

        for result in await asyncio.gather(*(one(c, ids) for c, ids in by_chat.items())):
            report.merge(result)
        return report

    # --- entry points ---

    async def tick(self) -> TickReport:
        """The scheduled job: store what is due, then send everything pending (resumes after a crash)."""
        async with self._tick_lock:
            now = self.now()
            if self._started_at is None:
                self._started_at = now
            waiting = (
                self.wait_for_collection is not None
                and not self._collected
                and now - self._started_at < self.wait_for_collection
            )
            report = TickReport() if waiting else await self.build_due_async(now)
            report.delivery = await self.deliver_pending()
            return report

    async def send_now(self, chat_id: int) -> BuiltDigest:
        """Build, store and send one chat's digest now (``tgdigest digest``)."""
        built = self.build_now(chat_id)
        if built.digest_id is not None:
            await self.deliver_pending(chat_ids=[chat_id])
        return built

    async def digest_now(self, chat_id: int) -> str | None:
        """The /digest hook: send what is new since the last digest; None if sent, else the
        reply "Nothing new since HH:MM." in the subscriber's local time."""
        built = await self.send_now(chat_id)
        return None if built.digest_id is not None else built.nothing_new_text()

    async def send_alerts(self) -> DeliveryReport:
        """After each collection pass: store alerts for urgent subscriptions and send them."""
        from bot.alerts import build_alerts

        self._collected = True
        # Not behind the tick lock: a long digest round must not hold alerts back. Per-chat
        # locks and claims keep the two from sending the same part.
        ids = build_alerts(self.db, self.config, outbox=self.outbox, now=self.now())
        if not ids:
            return DeliveryReport()
        return await self.deliver_pending(digest_ids=ids)

    def install(self, scheduler: Any, *, job_id: str = "digests") -> Any:
        """Add the tick job to an APScheduler ``AsyncIOScheduler`` (every ``tick_seconds``)."""
        return scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.config.digest.tick_seconds,
            id=job_id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=self.config.digest.tick_seconds * 5,
            next_run_time=utcnow(),  # one tick at start: catch-up and resuming the outbox
            replace_existing=True,
        )


# --- `tgdigest digest` ------------------------------------------------------------------------

def digest_to_json(built: BuiltDigest) -> dict[str, Any]:
    """The ``tgdigest digest --format json`` shape: chat, stories (post objects, representative
    first) and the Telegram HTML messages."""
    from bot.store import story_to_json

    return {
        "chat_id": built.chat_id,
        "stories": [story_to_json(s) for s in built.selection.stories],
        "messages": built.messages,
    }


def run_digest_command(db: Database, config: Config, secrets: Any, *, chat_id: int, dry_run: bool) -> BuiltDigest:
    """Build one chat's digest now; unless ``dry_run``, store and send it through the Bot API
    (needs TELEGRAM_BOT_TOKEN). Raises UnknownSubscriberError, ConfigError, BotAPIError."""
    from bot.errors import ConfigError

    if dry_run:
        return DigestService(db, _NoSender(), config).build_now(chat_id, dry_run=True)
    if not secrets.bot_token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: it is needed to send (use --dry-run to only print)")

    async def send() -> BuiltDigest:
        from bot.botapi import BotAPI
        from bot.sender import Sender

        async with BotAPI(secrets.bot_token, base_url=secrets.bot_api_url) as api:
            service = DigestService(db, Sender.from_config(api, config.bot), config, owner="cli")
            return await service.send_now(chat_id)

    return asyncio.run(send())


class _NoSender:
    """For building only: sending through it is a bug."""

    async def send(self, chat_id: int, text: str, **options: Any) -> Any:
        raise RuntimeError("this DigestService was built for a dry run and cannot send")
