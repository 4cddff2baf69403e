"""Build digests into an outbox and deliver them exactly once.

The path of a digest::

    due? (bot.digests.schedule) -> stories in the window (bot.storage.store) -> matched (bot.query.matcher)
    -> selected (bot.digests.selection) -> rendered parts (bot.digests.render)
    -> OUTBOX, one transaction: digests + digest_parts + one deliveries row per story
       (delivered_at NULL) + the subscriber's last digest date
    -> each part, in order, through the rate-limited sender (bot.telegram.sender)
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

Errors raised here: ``bot.storage.subscribers.UnknownSubscriberError`` (``digest_now``/``preview`` for
a chat that never sent /start) and ``bot.telegram.botapi.Unauthorized``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlite_utils import Database

from bot.config import Config
from bot.core.buttons import to_markup
from bot.core.clock import to_iso, utcnow
from bot.core.models import Mutes, Story
from bot.digests.alerts import build_alerts
from bot.digests.keyboard import digest_keyboard
from bot.digests.matching import Highlighter, story_docs, subscription_queries
from bot.digests.outbox import (
    ChatState,
    NewDigest,
    Outbox,
    already_given,
    already_given_many,
    chat_state,
    chat_states,
    schedulable_chats,
)
from bot.digests.render import BlockCache, Part, render_digest
from bot.digests.schedule import ScheduleError, due_date, format_local_hhmm, local_date
from bot.digests.selection import (
    DEFAULT_LATE_GRACE,
    RankKey,
    Selection,
    Window,
    apply_mutes,
    arrange,
    digest_window,
    fold_linked,
    importance,
    importance_key,
    select_stories,
)
from bot.errors import BadRequest, BotAPIError, Forbidden, Unauthorized
from bot.query.matcher import SubscriptionIndex
from bot.query.parser import MatchDoc, Query, story_matches
from bot.storage.db import open_db, write_transaction
from bot.storage.explain import linked_groups
from bot.storage.store import Store
from bot.storage.subscribers import UnknownSubscriberError, mutes_of, mutes_of_many

if TYPE_CHECKING:
    from apscheduler.job import Job
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Due chats built per write transaction: bounds the memory of a tick's rendered digests
# and how long the service's own writes (parts marked sent) can wait for the write lock.
BUILD_BATCH = 100

# The sender's priorities (bot.telegram.sender.Priority, a layer above): command replies 0.
ALERT_PRIORITY = 1
DIGEST_PRIORITY = 2


class SentLike(Protocol):
    """What delivery reads of a sent message (``bot.telegram.sender.SendResult``)."""

    @property
    def message_id(self) -> int: ...


class SenderLike(Protocol):
    """What delivery needs of ``bot.telegram.sender.Sender``."""

    async def send(
        self, chat_id: int, text: str, *, parse_mode: str | None = "HTML", disable_preview: bool = True,
        reply_markup: dict[str, Any] | None = None, disable_notification: bool = False,
        priority: int = ..., paid_broadcast: bool = False,
    ) -> SentLike: ...


# --- small data types ----------------------------------------------------------------------

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
    # the sections as shown ("Top stories" first, when there are any), each story once
    sections: tuple[tuple[str, tuple[Story, ...]], ...] = ()

    @property
    def shown(self) -> list[tuple[str, Story]]:
        """(section, story) in display order."""
        return [(name, story) for name, stories in self.sections for story in stories]

    @property
    def empty(self) -> bool:
        return not self.selection.stories

    @property
    def messages(self) -> list[str]:
        return [p.text for p in self.parts]

    def nothing_new_text(self) -> str:
        return f"Nothing new since {format_local_hhmm(self.window.since, self.timezone)}."


@dataclass(frozen=True, slots=True)
class _Batch:
    """Drafted digests of up to ``build_batch`` chats, waiting to be written."""

    now: datetime
    chats: Sequence[ChatState]
    given: dict[int, set[int]]  # story ids each chat had been given when drafted
    drafts: Sequence[BuiltDigest]
    redraft: Callable[[ChatState, Collection[int], Mutes | None], BuiltDigest]
    min_story_id: int
    mutes: dict[int, Mutes]  # of the chats that muted something


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
        build_batch: int = BUILD_BATCH,
    ) -> None:
        self.db = db
        self.build_batch = max(1, build_batch)
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
        # Graceful stop: no part is started once stopping; the parts in flight may finish.
        self._stopping = False
        self._sending: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    # --- building ---

    def _window(self, chat: ChatState, now: datetime) -> Window:
        return digest_window(
            now=now,
            last_digest_at=chat.last_digest_at,
            first_lookback=timedelta(hours=self.config.digest.first_lookback_hours),
            late_grace=self.late_grace,
        )

    def _due(self, chat: ChatState, now: datetime) -> date | None:
        """The local date of the digest due now (see bot.digests.schedule), or None."""
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

    def _draft(
        self,
        chat: ChatState,
        *,
        now: datetime,
        candidates: Sequence[Story],
        matched: AbstractSet[int],
        already: Collection[int],
        queries: Sequence[Query],
        highlighter: Highlighter | None = None,
        blocks: BlockCache | None = None,
        groups: Mapping[int, Collection[int]] | None = None,
        mutes: Mutes | None = None,
        rank: Callable[[Story], RankKey] = importance_key,
    ) -> BuiltDigest:
        """Select and render one chat's digest. ``groups`` (each candidate story's linked
        group, ``bot.storage.explain.linked_groups``) and ``mutes`` are read in bulk by the
        batch build; None reads them here, on ``self.db``."""
        window = self._window(chat, now)
        today = local_date(now, chat.timezone)
        if mutes is None:
            mutes = mutes_of(self.db, chat.chat_id)
        selection = select_stories(
            apply_mutes(candidates, mutes) if mutes else candidates,
            matched=matched,
            already=already,
            window=window,
            max_stories=self.config.digest.max_stories,
            include_nonnews=chat.include_nonnews,
            rank=rank,
        )
        parts: tuple[Part, ...] = ()
        sections: tuple[tuple[str, tuple[Story, ...]], ...] = ()
        if selection:
            if groups is None:
                groups = linked_groups(self.db, selection.story_ids)
            shown = fold_linked(selection.stories, groups)
            sections = tuple(
                (name, tuple(group)) for name, group in arrange(shown, self.config.section_order())
            )
            parts = tuple(
                render_digest(
                    sections,
                    local_date=today,
                    highlights=(highlighter or Highlighter()).for_chat(shown, queries),
                    snippet_length=self.config.digest.snippet_length,
                    omitted=selection.omitted,
                    blocks=blocks,
                )
            )
        return BuiltDigest(chat.chat_id, window, selection, parts, today, chat.timezone, sections=sections)

    def _build(
        self,
        chat: ChatState,
        *,
        now: datetime,
        candidates: Sequence[Story],
        matched: AbstractSet[int],
        queries: Sequence[Query],
        mode: str,
    ) -> BuiltDigest:
        """Select, render and (unless ``mode == "dry-run"``) store one chat's digest.

        ``mode``: "now" (/digest, ``tgdigest digest``) stores only a non-empty digest and does
        not count as the day's scheduled one; "dry-run" writes nothing. (Scheduled digests
        are built in batches: ``_build_batches``.)"""
        built = self._draft(
            chat, now=now, candidates=candidates, matched=matched,
            already=already_given(self.db, chat.chat_id), queries=queries,
        )
        if mode == "dry-run" or not built.parts:
            return built
        digest_id = self.outbox.store(
            chat_id=chat.chat_id, kind="digest", parts=built.parts, now=now, window=built.window, local_date=None,
            style=chat.digest_style,
        )
        self.db.execute(
            "UPDATE subscribers SET last_digest_at = ? WHERE chat_id = ?", [to_iso(built.window.end), chat.chat_id]
        )
        return dataclasses.replace(built, digest_id=digest_id)

    def _candidates(self, chats: Sequence[ChatState], now: datetime) -> tuple[list[Story], list[tuple[int, list[MatchDoc]]]]:
        start = min(self._window(c, now).start for c in chats)
        stories = self.store.stories_between(start, now)
        return stories, story_docs(stories)

    def build_due(self, now: datetime | None = None) -> TickReport:
        """Store the digests due at ``now`` in the outbox (no sending), on this connection.
        Each batch is one transaction that re-checks its chats are still due, so a repeated
        tick builds nothing twice."""
        report = TickReport()
        self._build_batches(self.db, now or self.now(), report, commit=self._committer(report))
        if report.built or report.empty:
            log.info("digests: %d stored, %d empty (not sent)", len(report.built), len(report.empty))
        return report

    async def build_due_async(
        self, now: datetime | None = None, *, on_batch: Callable[[list[int]], None] | None = None
    ) -> TickReport:
        """``build_due`` with the work (reading, matching, selecting, rendering) in a worker
        thread with its own connection, so the event loop (the bot answering, parts going
        out) keeps running. Each batch is written by the event loop, on the service's own
        connection: a short transaction, and no two threads of ours contend for SQLite's
        write lock. ``on_batch(chat_ids)`` is called after each batch is committed."""
        now = now or self.now()
        report = TickReport()
        path = _db_file(self.db)
        if path is None:  # ":memory:" has no second connection (only ever a test)
            self._build_batches(self.db, now, report, commit=self._committer(report, on_batch))
            return report
        loop = asyncio.get_running_loop()
        commit_here = self._committer(report, on_batch)

        async def commit_on_loop(batch: _Batch) -> None:
            commit_here(batch)

        def commit(batch: _Batch) -> None:  # on the worker thread: wait for the loop to write it
            asyncio.run_coroutine_threadsafe(commit_on_loop(batch), loop).result()

        def work() -> None:
            db = open_db(path, migrate=False)
            try:
                self._build_batches(db, now, report, commit=commit)
            finally:
                db.close()

        await asyncio.to_thread(work)
        if report.built or report.empty:
            log.info("digests: %d stored, %d empty (not sent)", len(report.built), len(report.empty))
        return report

    def _build_batches(self, db: Database, now: datetime, report: TickReport, *, commit: Callable[[_Batch], None]) -> None:
        """Draft every digest due at ``now``, ``build_batch`` chats at a time, and hand each
        batch to ``commit``: one matching pass over the due chats' candidate stories, then per
        batch one query for what the chats were already given, selection and rendering."""
        chats = [c for c in schedulable_chats(db) if self._due(c, now) is not None]
        if not chats:
            return
        start = min(self._window(c, now).start for c in chats)
        stories = Store(db).stories_between(start, now)
        queries = subscription_queries(db, self.config, [c.chat_id for c in chats])
        index = SubscriptionIndex(
            (sub_id, chat_id, q) for chat_id, subs in queries.items() for sub_id, q in subs
        )
        matched, by_tree = index.match_with_queries(story_docs(stories)) if stories else ({}, {})
        highlighter = Highlighter(matched=by_tree)
        blocks: BlockCache = {}  # rendered stories, shared by this tick's digests
        by_id = {s.id: s for s in stories}
        min_story_id = min(by_id, default=0)
        groups = linked_groups(db, by_id)  # stories told again later, shown as one
        ranks: dict[int, RankKey] = {}

        def rank(story: Story) -> RankKey:  # each story's importance, once per tick
            found = ranks.get(story.id)
            if found is None:
                found = ranks[story.id] = importance_key(story)
            return found

        def draft(chat: ChatState, already: Collection[int], mutes: Mutes | None) -> BuiltDigest:
            mine = matched.get(chat.chat_id, frozenset())
            # Only the chat's matched stories, not every candidate of the tick: a chat
            # matches a few percent of them.
            return self._draft(
                chat, now=now, candidates=[by_id[i] for i in mine], matched=mine, already=already,
                queries=[q for _, q in queries.get(chat.chat_id, [])], highlighter=highlighter, blocks=blocks,
                groups=groups, mutes=mutes or Mutes(), rank=rank,
            )

        for first in range(0, len(chats), self.build_batch):
            if self._stopping:
                break  # graceful stop: the rest are still due at the next start
            chunk = chats[first : first + self.build_batch]
            if len(blocks) > 50_000:
                blocks.clear()  # memory stays bounded however many chats are due
            ids = [c.chat_id for c in chunk]
            given = already_given_many(db, ids, min_story_id=min_story_id)
            mutes = mutes_of_many(db, ids)
            drafts = [draft(c, given[c.chat_id], mutes.get(c.chat_id)) for c in chunk]
            commit(_Batch(now, chunk, given, drafts, draft, min_story_id, mutes))

    def _committer(
        self, report: TickReport, on_batch: Callable[[list[int]], None] | None = None
    ) -> Callable[[_Batch], None]:
        """Writes a drafted batch on the service's connection (``self.db``)."""

        def commit(batch: _Batch) -> None:
            stored = self._commit_batch(batch, report)
            if on_batch is not None and stored:
                on_batch(stored)

        return commit

    def _commit_batch(self, batch: _Batch, report: TickReport) -> list[int]:
        """One write transaction: re-check each chat is still due and that nothing its draft
        lists was reserved meanwhile (else select again), store the digests (executemany) and
        record the day's digest as done. Returns the chats whose digest was stored."""
        db = self.db
        ids = [c.chat_id for c in batch.chats]
        with write_transaction(db):
            fresh = chat_states(db, ids)
            given_now = already_given_many(db, ids, min_story_id=batch.min_story_id)
            to_store: list[tuple[BuiltDigest, date, ChatState]] = []
            for chat, built in zip(batch.chats, batch.drafts, strict=True):
                state = fresh.get(chat.chat_id)
                due = self._due(state, batch.now) if state is not None and state.active and not state.paused else None
                if state is None or due is None:
                    continue  # built by another process, paused or gone meanwhile
                if state != chat or given_now[chat.chat_id] != batch.given[chat.chat_id]:
                    built = batch.redraft(state, given_now[chat.chat_id], batch.mutes.get(chat.chat_id))
                to_store.append((built, due, state))
            stored = self.outbox.store_many(
                [
                    NewDigest(b.chat_id, "digest", b.parts, b.window, due.isoformat(), style=state.digest_style)
                    for b, due, state in to_store if b.parts
                ],
                now=batch.now,
            )
            db.conn.executemany(
                "UPDATE subscribers SET last_digest_at = ?, last_digest_local_date = ? WHERE chat_id = ?",
                [(to_iso(b.window.end), due.isoformat(), b.chat_id) for b, due, _ in to_store],
            )
        report.built.extend(stored)
        report.empty.extend(b.chat_id for b, _, _ in to_store if not b.parts)
        return [b.chat_id for b, _, _ in to_store if b.parts]

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
                kind = self.outbox.kind(digest_id)
                # Alerts go ahead of digest parts in the sender (command replies ahead of both);
                # only digests are broadcasts that may be paid for.
                options: dict[str, Any] = (
                    {"priority": ALERT_PRIORITY} if kind == "alert"
                    else {"priority": DIGEST_PRIORITY, "paid_broadcast": self.config.bot.paid_broadcast}
                )
                try:
                    await self._send_parts(chat_id, digest_id, report, options)
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

    @contextlib.contextmanager
    def _sending_part(self) -> Iterator[None]:
        """Count this task as sending one part (what ``stop_sending`` waits for)."""
        task = asyncio.current_task()
        assert task is not None
        self._sending.add(task)
        self._idle.clear()
        try:
            yield
        finally:
            self._sending.discard(task)
            if not self._sending:
                self._idle.set()

    async def stop_sending(self, *, timeout: float) -> bool:
        """Graceful stop: start no new part and let the parts in flight finish and be marked
        sent, for at most ``timeout`` seconds; a send still going then is cancelled (it stays
        pending and goes out after the next start). True if all finished in time.

        Cancelling a request Telegram has already received is what would send a part twice;
        waiting here is what prevents it. (A SIGKILL cannot wait: then at most the one part in
        flight per chat goes out again after the restart.)
        """
        self._stopping = True

        async def quiet() -> None:
            await self._idle.wait()
            async with self._tick_lock:  # a tick that was building stops at its next chat
                pass
            await self._idle.wait()

        try:
            await asyncio.wait_for(quiet(), timeout=timeout)
            return True
        except TimeoutError:
            stuck = list(self._sending)
            log.warning("stopping: %d digest part(s) still sending after %.0f s; left pending", len(stuck), timeout)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
            return False

    async def _send_parts(
        self, chat_id: int, digest_id: int, report: DeliveryReport, options: dict[str, Any] | None = None
    ) -> None:
        """Send a claimed digest's unsent parts in order: the buttons go under the last part; a
        compact digest of several parts goes as its first page with ◀ ▶ (the others are
        shown by editing that message), so it is complete once that one message is sent."""
        info = self.outbox.info(digest_id)
        unsent = self.outbox.unsent_parts(digest_id)
        if info is None or not unsent:
            return
        last = info.pages - 1
        if self._stopping:
            return  # stays pending in the outbox for the next start
        if info.style == "compact" and info.pages > 1 and unsent[0][0] == 0:
            markup = to_markup(digest_keyboard(digest_id, page=0, pages=info.pages))
            with self._sending_part():
                result = await self.sender.send(
                    chat_id, unsent[0][1], parse_mode="HTML", disable_preview=True, reply_markup=markup,
                    disable_notification=info.silent, **(options or {}),
                )
                report.parts_sent += 1
                if self.outbox.mark_all_sent(digest_id, int(result.message_id), self.now()):
                    report.digests_completed += 1
            return
        for seq, text in unsent:
            if self._stopping:
                return  # the rest stays pending in the outbox for the next start
            under: dict[str, Any] | None = to_markup(digest_keyboard(digest_id)) if seq == last else None
            # Sent and marked as one unit that a graceful stop waits for (stop_sending).
            with self._sending_part():
                result = await self.sender.send(
                    chat_id, text, parse_mode="HTML", disable_preview=True, reply_markup=under,
                    disable_notification=info.silent, **(options or {}),
                )
                report.parts_sent += 1
                if self.outbox.mark_sent(digest_id, seq, int(result.message_id), self.now()):
                    report.digests_completed += 1

    async def deliver_pending(
        self,
        *,
        chat_ids: Iterable[int] | None = None,
        digest_ids: Iterable[int] | None = None,
        skip_chats: Collection[int] = (),
    ) -> DeliveryReport:
        """Send every pending part (of these chats/digests, not of ``skip_chats``), each chat's
        in order, chats in parallel."""
        work: asyncio.Queue[tuple[int, list[int]] | None] = asyncio.Queue()
        for chat_id, ids in _by_chat(self.outbox.pending(chat_ids=chat_ids, digest_ids=digest_ids)).items():
            if chat_id not in skip_chats:
                work.put_nowait((chat_id, ids))
        work.put_nowait(None)
        report = DeliveryReport()
        await self._send_from(work, report)
        return report

    async def _send_from(self, work: asyncio.Queue[tuple[int, list[int]] | None], report: DeliveryReport) -> None:
        """``concurrency`` workers send the chats queued in ``work`` until its ``None``; the
        first error that is not a chat's own (``Unauthorized``, a bug) is raised once the
        workers have stopped taking new chats."""
        errors: list[BaseException] = []

        async def worker() -> None:
            while True:
                item = await work.get()
                if item is None:
                    work.put_nowait(None)  # for the other workers
                    return
                if errors:
                    continue
                try:
                    report.merge(await self._deliver_chat(*item))
                except Exception as e:
                    errors.append(e)  # raised below, after the other workers stop

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        if errors:
            raise errors[0]

    async def _build_and_send(self, now: datetime, *, sent_to: set[int]) -> TickReport:
        """Build the due digests in a worker thread and send each batch as soon as it is
        committed, while the next batches are built; the chats sent to are added to ``sent_to``."""
        batches: asyncio.Queue[list[int] | None] = asyncio.Queue()
        work: asyncio.Queue[tuple[int, list[int]] | None] = asyncio.Queue()
        build = asyncio.ensure_future(self.build_due_async(now, on_batch=batches.put_nowait))
        build.add_done_callback(lambda _: batches.put_nowait(None))

        async def feed() -> None:
            while (chat_ids := await batches.get()) is not None:
                # Every pending digest of these chats, oldest first, so a chat's older
                # unsent digest (after a crash) still goes before the new one.
                for chat_id, ids in _by_chat(self.outbox.pending(chat_ids=chat_ids)).items():
                    sent_to.add(chat_id)
                    work.put_nowait((chat_id, ids))
            work.put_nowait(None)

        delivery = DeliveryReport()
        try:
            await asyncio.gather(feed(), self._send_from(work, delivery))
        finally:
            if not build.done():
                await asyncio.wait({build})
        report = build.result()
        report.delivery = delivery
        return report

    # --- entry points ---

    async def tick(self) -> TickReport:
        """The scheduled job: store what is due (sending each batch as soon as it is stored),
        then send everything else pending (resumes after a crash)."""
        async with self._tick_lock:
            if self._stopping:
                return TickReport()
            now = self.now()
            if self._started_at is None:
                self._started_at = now
            waiting = (
                self.wait_for_collection is not None
                and not self._collected
                and now - self._started_at < self.wait_for_collection
            )
            sent_to: set[int] = set()
            report = TickReport() if waiting else await self._build_and_send(now, sent_to=sent_to)
            # Then the rest of the outbox; a chat already tried this tick (deferred after
            # Telegram kept failing) waits for the next one.
            report.delivery.merge(await self.deliver_pending(skip_chats=sent_to))
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
        self._collected = True
        # Not behind the tick lock: a long digest round must not hold alerts back. Per-chat
        # locks and claims keep the two from sending the same part.
        ids = build_alerts(self.db, self.config, outbox=self.outbox, now=self.now())
        if not ids:
            return DeliveryReport()
        return await self.deliver_pending(digest_ids=ids)

    def install(self, scheduler: BaseScheduler, *, job_id: str = "digests") -> Job:
        """Add the tick to an APScheduler ``AsyncIOScheduler``: once at start (catch-up and
        resuming the outbox), then every ``tick_seconds`` on the clock's multiples of it
        (:00 of each minute by default), so a digest due at 09:00 is built at 09:00:00, not up
        to a tick later. Returns the repeating job."""
        tick = self.config.digest.tick_seconds
        aligned = datetime.fromtimestamp(utcnow().timestamp() // tick * tick, UTC)
        scheduler.add_job(self.tick, "date", run_date=utcnow(), id=f"{job_id}-start", replace_existing=True,
                          misfire_grace_time=tick * 5)
        return scheduler.add_job(
            self.tick,
            "interval",
            seconds=tick,
            start_date=aligned + timedelta(seconds=tick),
            id=job_id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=tick * 5,
            replace_existing=True,
        )


# --- `tgdigest digest` ------------------------------------------------------------------------

def _by_chat(pending: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    """``(digest_id, chat_id)`` pairs grouped per chat, order kept."""
    by_chat: dict[int, list[int]] = {}
    for digest_id, chat_id in pending:
        by_chat.setdefault(chat_id, []).append(digest_id)
    return by_chat


def _db_file(db: Database) -> str | None:
    """The file of ``db``'s main database; None for an in-memory one."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return str(file) or None
    return None


def digest_to_json(built: BuiltDigest) -> dict[str, Any]:
    """The ``tgdigest digest --format json`` shape: chat, stories in display order (post objects,
    representative first; with the section, the channel count and the importance score) and
    the Telegram HTML messages."""
    from bot.storage.store import story_to_json

    return {
        "chat_id": built.chat_id,
        "stories": [
            {**story_to_json(s), "section": section, "channels": importance(s).channels, "score": importance(s).score}
            for section, s in built.shown
        ],
        "messages": built.messages,
    }


class NoSender:
    """For building only: sending through it is a bug."""

    async def send(self, chat_id: int, text: str, **options: Any) -> SentLike:
        raise RuntimeError("this DigestService was built for a dry run and cannot send")
