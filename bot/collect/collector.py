"""One collection pass over the watched channels: resolve new handles once, then poll each
due channel from its cursor and hand the posts to the ingest path.

Guarantees:
- A page of posts and its cursor are stored in one transaction (``PostSink.ingest`` with
  ``cursors``), so a crash between fetch and store never skips or repeats a post.
- A handle is resolved once per reading account; its channel id and access hash are kept,
  so polls never resolve usernames again. A hash the account no longer accepts
  (``StaleAccess``) is re-resolved by username once (at most every ``RESOLVE_BACKOFF``);
  a private channel then says to re-join by invite.
- Per-channel failures (private, renamed, banned, flood wait, and anything unexpected a
  source raises) are recorded on the channel and never stop the others.
- Several reading accounts (``bot.collect.accounts``) are read concurrently, one lane each.
  An account in a flood wait or with a dead session hands its public channels to another
  account; a dead session ends the pass only when no account is left (``SessionInvalid``:
  retrying cannot help until someone runs ``tgdigest login``).

Which channels: ``channel_handles`` (migration 0004) lists the handles we were asked to
watch, from the config file (``sync_configured_channels``) and from bot admins
(``add_channel`` / ``remove_channel``); both lists merge. A handle's ``channel_id`` stays
NULL until it is resolved.

Errors: ``ChannelListError`` (a bad add/remove request); source errors are those of
``bot.sources``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlite_utils import Database

from bot.collect.accounts import AccountBook, NoAccount, record_logged_out
from bot.config import DEFAULT_ACCOUNT, Config, Secrets
from bot.core.clock import from_iso, to_iso, utcnow
from bot.core.handles import Handle, HandleError, parse_handle
from bot.core.models import Channel, Post
from bot.errors import ChannelUnavailable, FloodWait, SessionInvalid, SourceError, StaleAccess, TgdigestError
from bot.sources import ChannelSource, Page

log = logging.getLogger(__name__)

T = TypeVar("T")

UNAVAILABLE_BACKOFF = timedelta(hours=1)  # a private/banned channel is retried this often
RESOLVE_BACKOFF = timedelta(hours=6)  # a handle that did not resolve (resolutions are costly)
POLLED_SOURCES = ("telethon", "web")

# Picks channels for `fetch --channel X`: (handle, channel id, username, title) -> wanted?
_ChannelFilter = Callable[[str | None, int | None, str | None, str | None], bool]


class ChannelListError(TgdigestError):
    """A channel cannot be added or removed as asked (the message says why)."""


class IngestResultLike(Protocol):
    new: int
    updated: int
    changed_story_ids: set[int]


class PostSink(Protocol):
    """Where posts go: ``bot.storage.ingest.Ingestor`` (stores posts and cursors in one transaction)."""

    def ingest(
        self, posts: Iterable[Post], *, cursors: Mapping[int, int] | None = None
    ) -> IngestResultLike: ...


@dataclass(frozen=True, slots=True)
class ChannelResult:
    """What one channel did in one pass."""

    name: str
    channel_id: int | None
    new: int = 0
    updated: int = 0
    cursor: int | None = None
    error: str | None = None
    skipped: str | None = None  # why it was not polled (not due, flood wait)
    resolved: bool = False  # its handle was resolved in this pass
    account: str | None = None  # the Telegram account that read (or resolved) it


@dataclass(frozen=True, slots=True)
class CollectReport:
    channels: tuple[ChannelResult, ...]
    changed_story_ids: frozenset[int] = field(default=frozenset())

    @property
    def new(self) -> int:
        return sum(c.new for c in self.channels)

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self.channels)

    @property
    def errors(self) -> list[ChannelResult]:
        return [c for c in self.channels if c.error]


# --- the channel list ------------------------------------------------------------------------


def canonical_handle(text: str) -> str:
    """The one spelling a handle is stored under (``@name``, ``https://t.me/+hash``, bare id)."""
    return str(parse_handle(text))


def _sync_active(db: Database) -> None:
    """A polled channel is active while at least one handle points at it."""
    placeholders = ",".join("?" for _ in POLLED_SOURCES)
    db.execute(
        f"UPDATE channels SET active = CASE WHEN id IN "
        f"(SELECT channel_id FROM channel_handles WHERE channel_id IS NOT NULL) THEN 1 ELSE 0 END "
        f"WHERE source IN ({placeholders})",
        list(POLLED_SOURCES),
    )


@dataclass(frozen=True, slots=True)
class SyncResult:
    added: tuple[str, ...]
    removed: tuple[str, ...]


def sync_configured_channels(db: Database, config: Config, *, now: datetime | None = None) -> SyncResult:
    """Make the config's ``[[channels]]`` the set of config-origin handles (bot-added ones stay)."""
    stamp = to_iso(now or utcnow())
    wanted: dict[str, Any] = {}
    for channel in config.channels:
        wanted[canonical_handle(channel.handle)] = channel
    with db.atomic():
        current = {
            row[0]: row[1]
            for row in db.execute("SELECT handle, origin FROM channel_handles").fetchall()
        }
        added = []
        for handle, channel in wanted.items():
            if handle not in current:
                added.append(handle)
            db.execute(
                "INSERT INTO channel_handles (handle, origin, source, title, interval, backfill, added_at, account) "
                "VALUES (?, 'config', ?, ?, ?, ?, ?, ?) ON CONFLICT(handle) DO UPDATE SET "
                "origin = 'config', source = excluded.source, title = excluded.title, "
                "interval = excluded.interval, backfill = excluded.backfill, account = excluded.account",
                [handle, channel.source, channel.title, channel.interval, channel.backfill, stamp, channel.account],
            )
            if channel.account:
                # Named in the config: that account reads it from now on, and only that one.
                db.execute(
                    "UPDATE channels SET account = ?, pinned = 1 WHERE id = "
                    "(SELECT channel_id FROM channel_handles WHERE handle = ?)",
                    [channel.account, handle],
                )
            if channel.title:
                db.execute(
                    "UPDATE channels SET title = ? WHERE id = "
                    "(SELECT channel_id FROM channel_handles WHERE handle = ?)",
                    [channel.title, handle],
                )
        removed = [h for h, origin in current.items() if origin == "config" and h not in wanted]
        for handle in removed:
            db.execute("DELETE FROM channel_handles WHERE handle = ?", [handle])
        _sync_active(db)
    return SyncResult(added=tuple(added), removed=tuple(removed))


def add_channel(
    db: Database,
    text: str,
    *,
    origin: str = "bot",
    source: str | None = None,
    title: str | None = None,
    now: datetime | None = None,
) -> tuple[str, bool]:
    """Watch a channel (bot admins); returns (canonical handle, False if already watched).
    Resolution happens on the next collection pass."""
    try:
        handle = parse_handle(text)
    except HandleError as e:
        raise ChannelListError(str(e)) from None
    if source not in (None, *POLLED_SOURCES):
        raise ChannelListError(f"source must be \"telethon\" or \"web\", not {source!r}")
    if source == "web" and handle.kind != "username":
        raise ChannelListError("the web preview only reads public @name channels")
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO channel_handles (handle, origin, source, title, added_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(handle) DO NOTHING",
            [str(handle), origin, source, title, to_iso(now or utcnow())],
        )
        added = cursor.rowcount > 0
        _sync_active(db)
    return str(handle), added


def remove_channel(db: Database, text: str) -> str:
    """Stop watching a bot-added channel (its stored posts stay); returns the canonical handle."""
    try:
        handle = str(parse_handle(text))
    except HandleError as e:
        raise ChannelListError(str(e)) from None
    with db.atomic():
        row = db.execute("SELECT origin FROM channel_handles WHERE handle = ?", [handle]).fetchone()
        if row is None:
            # Also accept the channel's username when it was added by invite or id.
            name = handle.lstrip("@")
            row2 = db.execute(
                "SELECT h.handle, h.origin FROM channel_handles h JOIN channels c ON c.id = h.channel_id "
                "WHERE c.username = ? COLLATE NOCASE",
                [name],
            ).fetchone()
            if row2 is None:
                # A stored channel no handle points at (e.g. one that came from an export):
                # stop listing it as watched.
                stored = db.execute(
                    "SELECT id FROM channels WHERE active = 1 AND (username = ? COLLATE NOCASE OR id = ?)",
                    [name, int(name) if name.isdecimal() and len(name) <= 18 else None],  # ids fit SQLite's integers
                ).fetchone()
                if stored is None:
                    raise ChannelListError(f"{handle} is not watched")
                db.execute("UPDATE channels SET active = 0 WHERE id = ?", [stored[0]])
                return handle
            handle, origin = row2
        else:
            origin = row[0]
        if origin == "config":
            raise ChannelListError(f"{handle} is listed in the config file; remove it there")
        db.execute("DELETE FROM channel_handles WHERE handle = ?", [handle])
        _sync_active(db)
    return handle


def list_channels(db: Database) -> list[dict[str, Any]]:
    """Every watched handle and every stored channel, for ``tgdigest channels`` (with the
    account that reads it, and whether it is pinned to that account)."""
    rows = db.execute(
        """
        SELECT h.handle, h.origin, coalesce(c.source, h.source), c.id, c.username,
               coalesce(c.title, h.title), coalesce(c.last_message_id, 0), c.last_poll_at,
               coalesce(c.last_error, h.last_error), coalesce(c.next_poll_at, h.next_attempt_at),
               coalesce(c.active, 1), coalesce(c.account, h.account), coalesce(c.pinned, h.account IS NOT NULL)
        FROM channel_handles h LEFT JOIN channels c ON c.id = h.channel_id
        UNION ALL
        SELECT c.handle, c.origin, c.source, c.id, c.username, c.title, c.last_message_id,
               c.last_poll_at, c.last_error, c.next_poll_at, c.active, c.account, c.pinned
        FROM channels c WHERE c.id NOT IN
            (SELECT channel_id FROM channel_handles WHERE channel_id IS NOT NULL)
        """
    ).fetchall()
    keys = (
        "handle", "origin", "source", "id", "username", "title", "last_message_id",
        "last_poll_at", "last_error", "next_poll_at", "active", "account", "pinned",
    )
    out = [dict(zip(keys, row, strict=True)) for row in rows]
    for item in out:
        item["active"] = bool(item["active"])
        item["pinned"] = bool(item["pinned"])
        item["resolved"] = item["id"] is not None
    return sorted(out, key=lambda d: (d["title"] or d["username"] or d["handle"] or "").casefold())


# --- the pass ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    channel: Channel
    handles: tuple[str, ...]
    source: str
    interval: float  # minutes
    backfill: int


@dataclass(slots=True)
class _Progress:
    new: int = 0
    updated: int = 0
    cursor: int = 0


WEB_LANE = "source:"  # lanes of non-account sources are named "source:<name>"


def accounts_in(sources: Mapping[str, ChannelSource]) -> dict[str, ChannelSource]:
    """The reading accounts in a sources mapping: ``telethon:NAME`` keys, and ``telethon``
    as the default account when no ``telethon:default`` is given."""
    accounts = {key.split(":", 1)[1]: src for key, src in sources.items() if key.startswith("telethon:")}
    if "telethon" in sources and DEFAULT_ACCOUNT not in accounts and not accounts:
        accounts[DEFAULT_ACCOUNT] = sources["telethon"]
    return accounts


class Collector:
    """Runs collection passes. ``sources`` maps a source name (``telethon``, ``web``) to a
    ``ChannelSource``; reading accounts are ``telethon:NAME`` entries (a bare ``telethon``
    is the ``default`` account). A channel whose source is missing gets a clear per-channel
    error; one whose account is not connected is read by another account if it can be.

    Accounts are read concurrently, one lane each (one connection, its own pacing); inside
    a lane channels are read one after another. See ``bot.collect.accounts`` for who reads what.
    """

    def __init__(
        self,
        db: Database,
        config: Config,
        sink: PostSink,
        sources: Mapping[str, ChannelSource],
        *,
        default_source: str = "telethon",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.config = config
        self.sink = sink
        self.sources = sources
        self.accounts = accounts_in(sources)
        self.default_source = default_source
        self.clock = clock
        self.book = AccountBook(db, list(self.accounts), max_channels=config.collect.max_channels_per_account)
        self._access: dict[tuple[int, str], tuple[int | None, datetime | None]] = {}
        self._assigned: dict[int, str] = {}  # accounts given in this pass to channels that had none

    # -- public --

    async def run_once(self, *, only: str | None = None, force: bool = False) -> CollectReport:
        """Resolve pending handles, then poll every due channel (``force``: ignore the
        per-channel interval, never a flood wait). ``only`` limits the pass to one channel
        (handle, @username, id or title)."""
        now = self.clock()
        results: list[ChannelResult] = []
        wanted = self._matcher(only)
        changed: set[int] = set()
        try:
            for handle, source, account in self._pending(wanted):
                results.append(await self._resolve(handle, source, account, now))
            self._load_access()
            self._assigned.clear()
            results.extend(await self._poll_all(self._targets(wanted), now, force, changed))
        finally:
            self.book.save(now)
        if only is not None and not results:
            raise ChannelListError(f"{only}: no watched channel by that name (see `tgdigest channels`)")
        return CollectReport(channels=tuple(results), changed_story_ids=frozenset(changed))

    # -- selection --

    def _matcher(self, only: str | None) -> _ChannelFilter | None:
        if only is None:
            return None
        text = only.strip()
        try:
            parsed: Handle | None = parse_handle(text)
        except HandleError:
            parsed = None

        def match(handle: str | None, channel_id: int | None, username: str | None, title: str | None) -> bool:
            if parsed is not None:
                if handle == str(parsed):
                    return True
                if parsed.kind == "username" and username and username.casefold() == parsed.value:
                    return True
                if parsed.kind == "id" and channel_id == int(parsed.value):
                    return True
            return bool(title) and title is not None and title.casefold() == text.casefold()

        return match

    def _pending(self, wanted: _ChannelFilter | None) -> list[tuple[str, str, str | None]]:
        rows = self.db.execute(
            "SELECT handle, source, title, account FROM channel_handles WHERE channel_id IS NULL "
            "ORDER BY added_at, handle"
        ).fetchall()
        return [
            (handle, source or self.default_source, account)
            for handle, source, title, account in rows
            if wanted is None or wanted(handle, None, None, title)
        ]

    def _targets(self, wanted: _ChannelFilter | None) -> list[_Target]:
        rows = self.db.execute(
            "SELECT c.id, c.username, c.title, c.handle, c.access_hash, c.source, c.last_message_id, "
            "c.last_poll_at, c.last_error, c.next_poll_at, h.handle, h.source, h.interval, h.backfill, "
            "c.account, c.pinned, h.account "
            "FROM channels c JOIN channel_handles h ON h.channel_id = c.id "
            "WHERE c.active = 1 ORDER BY c.id, h.added_at"
        ).fetchall()
        by_id: dict[int, list[Any]] = {}
        for row in rows:
            by_id.setdefault(row[0], []).append(row)
        targets = []
        for group in by_id.values():
            first = group[0]
            pin = next((r[16] for r in group if r[16]), None)
            channel = Channel(
                id=first[0], username=first[1], title=first[2], handle=first[3], access_hash=first[4],
                source=first[5], last_message_id=first[6] or 0, last_poll_at=from_iso(first[7]),
                last_error=first[8], next_poll_at=from_iso(first[9]),
                account=pin or first[14], pinned=bool(first[15]) or pin is not None,
            )
            handles = tuple(r[10] for r in group)
            if wanted is not None and not any(wanted(h, channel.id, channel.username, channel.title) for h in handles):
                continue
            intervals = [r[12] for r in group if r[12] is not None]
            backfills = [r[13] for r in group if r[13] is not None]
            source = next((r[11] for r in group if r[11]), None) or channel.source
            if source not in POLLED_SOURCES:
                source = self.default_source
            targets.append(
                _Target(
                    channel=channel,
                    handles=handles,
                    source=source,
                    interval=min(intervals) if intervals else self.config.collect.interval,
                    backfill=backfills[0] if backfills else self.config.collect.backfill,
                )
            )
        return targets

    # -- access hashes (per account) --

    def _load_access(self) -> None:
        self._access = {
            (channel_id, account): (access_hash, from_iso(resolved_at))
            for channel_id, account, access_hash, resolved_at in self.db.execute(
                "SELECT channel_id, account, access_hash, resolved_at FROM channel_access"
            ).fetchall()
        }

    def _store_access(
        self, channel_id: int, account: str, access_hash: int | None, now: datetime, *, re_resolved: bool = False
    ) -> None:
        """Keep ``account``'s hash; ``re_resolved`` (after a stale hash) stamps the time that
        rate-limits the next re-resolution."""
        stamp = now if re_resolved else self._access.get((channel_id, account), (None, None))[1]
        self._access[(channel_id, account)] = (access_hash, stamp)
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO channel_access (channel_id, account, access_hash, resolved_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(channel_id, account) DO UPDATE SET access_hash = excluded.access_hash, "
                "resolved_at = excluded.resolved_at",
                [channel_id, account, access_hash, to_iso(stamp) if stamp else None],
            )
            self.db.execute(
                "UPDATE channels SET access_hash = ? WHERE id = ? AND account = ?", [access_hash, channel_id, account]
            )

    # -- resolution --

    async def _resolve(
        self, handle_text: str, source_name: str, pinned_account: str | None, now: datetime
    ) -> ChannelResult:
        row = self.db.execute(
            "SELECT next_attempt_at, title FROM channel_handles WHERE handle = ?", [handle_text]
        ).fetchone()
        not_before = from_iso(row[0])
        if not_before is not None and not_before > now:
            return ChannelResult(handle_text, None, skipped=f"not resolved before {to_iso(not_before)}")
        account: str | None = None
        source: ChannelSource | None
        if source_name == "telethon" and (self.accounts or pinned_account):
            try:
                account = self.book.choose(pinned_account, now)
            except NoAccount as e:
                message = f"{handle_text}: {e}"
                log.warning("%s", message)
                self._handle_failed(handle_text, message, now + timedelta(minutes=self.config.collect.interval))
                return ChannelResult(handle_text, None, error=message)
            source = self.accounts[account]
        else:
            source = self.sources.get(source_name)
        if source is None:
            message = _missing_source(source_name)
            self._handle_failed(handle_text, message, None)
            return ChannelResult(handle_text, None, error=message)
        try:
            resolved = await _guard(handle_text, source.resolve(parse_handle(handle_text)))
        except SessionInvalid as e:
            if account is None:
                raise
            self._account_logged_out(account, e, now)
            self._handle_failed(handle_text, str(e), None)
            return ChannelResult(handle_text, None, error=str(e), account=account)
        except FloodWait as e:
            log.warning("%s; resolution postponed", e)
            if account is not None:
                self.book.flooded(account, now + timedelta(seconds=e.seconds), str(e), now)
            self._handle_failed(handle_text, str(e), now + timedelta(seconds=e.seconds))
            return ChannelResult(handle_text, None, error=str(e), account=account)
        except ChannelUnavailable as e:
            log.warning("%s", e)
            self._handle_failed(handle_text, str(e), now + RESOLVE_BACKOFF)
            return ChannelResult(handle_text, None, error=str(e), account=account)
        except SourceError as e:
            log.warning("%s", e)
            self._handle_failed(handle_text, str(e), now + timedelta(minutes=self.config.collect.interval))
            return ChannelResult(handle_text, None, error=str(e), account=account)
        title = row[1] or resolved.title
        # A private channel (no username) can only be read by the account that joined it.
        pinned = account is not None and (pinned_account is not None or not resolved.username)
        with self.db.atomic():
            if resolved.username:
                # A username moves with renames; the unique index must follow the channel.
                self.db.execute(
                    "UPDATE channels SET username = NULL WHERE username = ? COLLATE NOCASE AND id != ?",
                    [resolved.username, resolved.id],
                )
            self.db.execute(
                "INSERT INTO channels (id, handle, username, title, access_hash, source, origin, active, added_at, "
                "account, pinned) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "handle = excluded.handle, username = excluded.username, title = excluded.title, "
                "access_hash = coalesce(excluded.access_hash, channels.access_hash), "
                "source = excluded.source, active = 1, account = excluded.account, pinned = excluded.pinned",
                [
                    resolved.id, handle_text, resolved.username, title, resolved.access_hash,
                    source_name, self._origin(handle_text), to_iso(now), account, int(pinned),
                ],
            )
            self.db.execute(
                "UPDATE channel_handles SET channel_id = ?, last_error = NULL, next_attempt_at = NULL "
                "WHERE handle = ?",
                [resolved.id, handle_text],
            )
        if account is not None:
            self._store_access(resolved.id, account, resolved.access_hash, now)
        log.info(
            "%s resolved to channel %d (%s)%s", handle_text, resolved.id, title,
            f", read by account {account}" if account else "",
        )
        return ChannelResult(title or handle_text, resolved.id, resolved=True, account=account)

    def _origin(self, handle_text: str) -> str:
        row = self.db.execute("SELECT origin FROM channel_handles WHERE handle = ?", [handle_text]).fetchone()
        return row[0] if row else "config"

    def _handle_failed(self, handle_text: str, message: str, not_before: datetime | None) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE channel_handles SET last_error = ?, next_attempt_at = ? WHERE handle = ?",
                [message, to_iso(not_before) if not_before else None, handle_text],
            )

    def _account_logged_out(self, account: str, error: SessionInvalid, now: datetime) -> None:
        """One line when an account's session dies; a pass with no live account left stops."""
        log.error("account %s: %s; its public channels go to the other accounts", account, error)
        self.book.logged_out(account, str(error), now)
        if not self.book.any_alive():
            raise error

    # -- polling --

    def _due(self, target: _Target, now: datetime) -> bool:
        last = target.channel.last_poll_at
        if last is None:
            return True
        interval = timedelta(minutes=target.interval)
        # Scheduler jitter makes passes drift by seconds; without slack a channel polled at
        # the pass interval would skip every other pass.
        slack = min(interval / 2, timedelta(seconds=self.config.collect.jitter + 60))
        return now >= last + interval - slack

    def _edit_ids(self, channel: Channel, now: datetime) -> list[int]:
        if self.config.collect.edit_ids_per_poll <= 0 or self.config.collect.edit_window_hours <= 0:
            return []
        since = now - timedelta(hours=self.config.collect.edit_window_hours)
        rows = self.db.execute(
            "SELECT message_id FROM posts WHERE channel_id = ? AND date >= ? AND message_id <= ? "
            "ORDER BY message_id DESC LIMIT ?",
            [channel.id, to_iso(since), channel.last_message_id, self.config.collect.edit_ids_per_poll],
        ).fetchall()
        return sorted(r[0] for r in rows)

    def _lane_for(self, target: _Target, now: datetime, queues: Mapping[str, deque[_Target]]) -> str | None:
        """Which account reads ``target`` now: its own when usable; else, for a public channel
        that is not pinned, the least busy usable account; else its own again (a flooded
        account with nobody to stand in still gets tried) or None (nobody can)."""
        channel = target.channel
        owner = channel.account or self._assigned.get(channel.id) or self._assign(target, now)
        if self.book.usable(owner, now):
            return owner
        if channel.username and not channel.pinned:
            stand_in = self.book.stand_in(owner, now, {k: len(q) for k, q in queues.items()})
            if stand_in is not None:
                return stand_in
        if self.book.alive(owner):
            return owner
        return None

    def _assign(self, target: _Target, now: datetime) -> str | None:
        """Give a resolved Telethon channel without an account (stored before accounts
        existed, or by another source) one, as for a new channel."""
        try:
            account = self.book.choose(None, now)
        except NoAccount:
            return None
        with self.db.atomic():
            self.db.execute("UPDATE channels SET account = ? WHERE id = ?", [account, target.channel.id])
        self._assigned[target.channel.id] = account
        return account

    async def _poll_all(
        self, targets: list[_Target], now: datetime, force: bool, changed: set[int]
    ) -> list[ChannelResult]:
        results: list[ChannelResult] = []
        queues: dict[str, deque[_Target]] = defaultdict(deque)
        for target in targets:
            channel = target.channel
            name = channel.display_name
            if channel.next_poll_at is not None and channel.next_poll_at > now:
                results.append(ChannelResult(name, channel.id, skipped=f"waiting until {to_iso(channel.next_poll_at)}"))
                continue
            if not force and not self._due(target, now):
                results.append(ChannelResult(name, channel.id, skipped="not due"))
                continue
            if target.source != "telethon" or not self.accounts:
                queues[WEB_LANE + target.source].append(target)
                continue
            lane = self._lane_for(target, now, queues)
            if lane is None:
                results.append(self._unreadable(target, now))
            else:
                queues[lane].append(target)
        # One lane per account (and per other source), all at once. A lane whose account
        # floods or dies mid-pass hands its remaining public channels to other lanes; a lane
        # that had already finished then runs again in the next round.
        while any(queues.values()):
            lanes = [key for key, queue in queues.items() if queue]
            tasks = [asyncio.create_task(self._drain(key, queues, now, force, changed)) for key in lanes]
            try:
                for done in await asyncio.gather(*tasks):
                    results.extend(done)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        return results

    def _unreadable(self, target: _Target, now: datetime) -> ChannelResult:
        channel = target.channel
        why = self.book.why_not(channel.account, now)
        if channel.pinned or not channel.username:
            why += "; this channel is pinned to it (private, or named in the config)"
        message = f"{channel.display_name}: {why}"
        self._record(channel.id, error=message, next_poll_at=None, success=False)
        return ChannelResult(channel.display_name, channel.id, error=message, account=channel.account)

    async def _drain(
        self, lane: str, queues: dict[str, deque[_Target]], now: datetime, force: bool, changed: set[int]
    ) -> list[ChannelResult]:
        out: list[ChannelResult] = []
        queue = queues[lane]
        is_account = not lane.startswith(WEB_LANE)
        while queue:
            target = queue.popleft()
            if is_account and not self.book.usable(lane, now):
                # This account floods or died during the pass: hand over what is left.
                other = self._lane_for(target, now, queues)
                if other != lane:
                    if other is None or not self.book.usable(other, now):
                        # Its own account waits too: no request spent on it in this pass.
                        out.append(self._unreadable(target, now))
                    else:
                        queues[other].append(target)
                    continue
            if is_account:
                result = await self._poll_account(target, lane, now, changed, queues)
            else:
                result = await self._poll(target, self.sources.get(lane.removeprefix(WEB_LANE)), target.channel,
                                          now, changed)
            if result is not None:
                out.append(result)
        return out

    async def _poll_account(
        self,
        target: _Target,
        account: str,
        now: datetime,
        changed: set[int],
        queues: dict[str, deque[_Target]],
        *,
        retried: bool = False,
    ) -> ChannelResult | None:
        """Read one channel with ``account``; None when it was handed to another lane."""
        channel = target.channel
        source = self.accounts[account]
        try:
            readable = await self._channel_for(target, account, source, now, stale=retried)
            result = await self._poll(target, source, readable, now, changed, account=account, reraise=True)
        except SessionInvalid as e:
            self._account_logged_out(account, e, now)
            return self._hand_over(target, account, now, queues)
        except FloodWait as e:
            until = now + timedelta(seconds=e.seconds)
            self.book.flooded(account, until, str(e), now)
            stand_in = self._lane_for(target, now, queues)
            if stand_in is not None and stand_in != account and self.book.usable(stand_in, now):
                # Logged here once; the account's public channels are read elsewhere until then.
                log.warning("account %s: %s; its public channels go to other accounts until %s",
                            account, e, to_iso(until))
                queues[stand_in].append(target)
                return None
            # Logged here once; later passes skip the channel quietly until `until`.
            log.warning("%s; next poll not before %s", e, to_iso(until))
            self._record(channel.id, error=str(e), next_poll_at=until, success=False)
            return ChannelResult(channel.display_name, channel.id, error=str(e), account=account)
        except StaleAccess as e:
            if not retried and channel.username and self._may_re_resolve(channel.id, account, now):
                log.info("%s; resolving @%s again for account %s", e, channel.username, account)
                self._access[(channel.id, account)] = (None, self._access.get((channel.id, account), (None, None))[1])
                return await self._poll_account(target, account, now, changed, queues, retried=True)
            if channel.username:
                _, when = self._access.get((channel.id, account), (None, None))
                message = (
                    f"{e} (resolved @{channel.username} again at {to_iso(when) if when else 'an earlier pass'} "
                    f"and still refused; the next try after {RESOLVE_BACKOFF.total_seconds() / 3600:g} h)"
                )
            else:
                message = (
                    f"{channel.display_name}: account {account} can no longer read this private channel: "
                    f"re-join with the invite link (remove the channel and add its invite link again)"
                )
            log.warning("%s", message)
            self._record(channel.id, error=message, next_poll_at=now + UNAVAILABLE_BACKOFF, success=False)
            return ChannelResult(channel.display_name, channel.id, error=message, account=account)
        except ChannelUnavailable as e:
            log.warning("%s", e)
            self._record(channel.id, error=str(e), next_poll_at=now + UNAVAILABLE_BACKOFF, success=False)
            return ChannelResult(channel.display_name, channel.id, error=str(e), account=account)
        except SourceError as e:
            log.warning("%s", e)
            self._record(channel.id, error=str(e), next_poll_at=None, success=False)
            return ChannelResult(channel.display_name, channel.id, error=str(e), account=account)
        self.book.succeeded(account, now)
        return result

    def _hand_over(
        self, target: _Target, account: str, now: datetime, queues: dict[str, deque[_Target]]
    ) -> ChannelResult | None:
        """Queue ``target`` on another account's lane (None), or say why nobody can read it."""
        other = self._lane_for(target, now, queues)
        if other is not None and other != account and self.book.usable(other, now):
            queues[other].append(target)
            return None
        return self._unreadable(target, now)

    def _may_re_resolve(self, channel_id: int, account: str, now: datetime) -> bool:
        """A stale hash is re-resolved at most once per RESOLVE_BACKOFF (resolutions are costly)."""
        _, resolved_at = self._access.get((channel_id, account), (None, None))
        return resolved_at is None or now - resolved_at >= RESOLVE_BACKOFF

    async def _channel_for(
        self, target: _Target, account: str, source: ChannelSource, now: datetime, *, stale: bool = False
    ) -> Channel:
        """The channel with ``account``'s access hash, resolving it there once if needed
        (hashes are per account: a stand-in resolves the public channel by username once)."""
        channel = target.channel
        access_hash, _ = self._access.get((channel.id, account), (None, None))
        if access_hash is None and account == channel.account and (channel.id, account) not in self._access:
            access_hash = channel.access_hash  # stored before accounts had their own hashes
        if access_hash is None:
            handle = f"@{channel.username}" if channel.username else target.handles[0]
            resolved = await _guard(channel.display_name, source.resolve(parse_handle(handle)))
            if resolved.id != channel.id:
                raise ChannelUnavailable(f"{channel.display_name}: {handle} now belongs to another channel")
            access_hash = resolved.access_hash
            self._store_access(channel.id, account, access_hash, now, re_resolved=stale)
        return replace(channel, access_hash=access_hash)

    async def _poll(
        self,
        target: _Target,
        source: ChannelSource | None,
        channel: Channel,
        now: datetime,
        changed: set[int],
        *,
        account: str | None = None,
        reraise: bool = False,
    ) -> ChannelResult:
        """Read one channel from its cursor with ``source``. With ``reraise`` the caller
        handles source errors (the account lanes); else they are recorded here."""
        name = channel.display_name
        if source is None:
            message = _missing_source(target.source)
            self._record(channel.id, error=message, next_poll_at=None, success=False)
            return ChannelResult(name, channel.id, error=message)
        edit_ids = self._edit_ids(channel, now)
        progress = _Progress(cursor=channel.last_message_id)
        try:
            await self._read(target, source, channel, progress, edit_ids, changed)
        except SessionInvalid:
            raise
        except SourceError as e:
            if reraise:
                raise
            if isinstance(e, FloodWait):
                until = now + timedelta(seconds=e.seconds)
                # Logged here once; later passes skip the channel quietly until `until`.
                log.warning("%s; next poll not before %s", e, to_iso(until))
                self._record(channel.id, error=str(e), next_poll_at=until, success=False)
            elif isinstance(e, ChannelUnavailable):
                log.warning("%s", e)
                self._record(channel.id, error=str(e), next_poll_at=now + UNAVAILABLE_BACKOFF, success=False)
            else:
                log.warning("%s", e)
                self._record(channel.id, error=str(e), next_poll_at=None, success=False)
            return ChannelResult(
                name, channel.id, new=progress.new, updated=progress.updated, cursor=progress.cursor, error=str(e)
            )
        self._record(channel.id, error=None, next_poll_at=None, success=True, at=now)
        if progress.new or progress.updated:
            log.info("%s: %d new, %d updated (cursor %d)", name, progress.new, progress.updated, progress.cursor)
        return ChannelResult(
            name, channel.id, new=progress.new, updated=progress.updated, cursor=progress.cursor, account=account
        )

    async def _read(
        self,
        target: _Target,
        source: ChannelSource,
        channel: Channel,
        progress: _Progress,
        edit_ids: list[int],
        changed: set[int],
    ) -> None:
        """Fetch pages and edits and store them; source failures come out as SourceError
        (sink failures, e.g. a full disk, propagate as they are and stop the pass)."""
        refreshed: list[Post] = []
        pages = source.fetch_new(channel, backfill=target.backfill, page_size=self.config.collect.page_size)
        while True:
            try:
                page: Page = await _guard(channel.display_name, anext(pages))
            except StopAsyncIteration:
                break
            result = self.sink.ingest(page.posts, cursors={channel.id: page.cursor})
            progress.new += result.new
            progress.updated += result.updated
            changed |= result.changed_story_ids
            progress.cursor = max(progress.cursor, page.cursor)
            refreshed.extend(page.refreshed)
        window = set(edit_ids)
        edits = [p for p in refreshed if p.message_id in window]
        seen = {p.message_id for p in edits}
        wanted = [i for i in edit_ids if i not in seen]
        if wanted:
            edits.extend(await _guard(channel.display_name, source.refetch(channel, wanted)))
        if edits:
            result = self.sink.ingest(edits)
            progress.updated += result.updated
            changed |= result.changed_story_ids

    def _record(
        self,
        channel_id: int,
        *,
        error: str | None,
        next_poll_at: datetime | None,
        success: bool,
        at: datetime | None = None,
    ) -> None:
        with self.db.atomic():
            if success:
                self.db.execute(
                    "UPDATE channels SET last_poll_at = ?, last_error = NULL, next_poll_at = NULL WHERE id = ?",
                    [to_iso(at or self.clock()), channel_id],
                )
            else:
                self.db.execute(
                    "UPDATE channels SET last_error = ?, next_poll_at = ? WHERE id = ?",
                    [error, to_iso(next_poll_at) if next_poll_at else None, channel_id],
                )


async def _guard(label: str, step: Awaitable[T]) -> T:
    """Await a source call; anything it raises that is not already one of our errors is
    this channel's SourceError (one channel's surprise never ends the pass)."""
    try:
        return await step
    except (TgdigestError, StopAsyncIteration):
        raise
    except Exception as e:  # noqa: BLE001 - a source's unexpected failure stays its channel's
        raise SourceError(f"{label}: unexpected {type(e).__name__} from the source: {e}") from e


def _missing_source(name: str) -> str:
    if name == "telethon":
        return (
            "needs a Telegram account: set TELEGRAM_API_ID and TELEGRAM_API_HASH and run "
            "`tgdigest login`, or use source = \"web\" for a public channel"
        )
    return f"source {name!r} is not available"


def default_source_name(has_telegram_api: bool) -> str:
    """Channels without an explicit source use Telethon when API credentials exist, else web."""
    return "telethon" if has_telegram_api else "web"


def forward_lookup(db: Database) -> Callable[[str], int | None]:
    """username → channel id for channels we know (the web preview names forward origins by username)."""

    def lookup(username: str) -> int | None:
        row = db.execute("SELECT id FROM channels WHERE username = ? COLLATE NOCASE", [username]).fetchone()
        return row[0] if row else None

    return lookup


def summarize(report: CollectReport) -> list[dict[str, Any]]:
    """The report as plain data (``tgdigest fetch --format json``)."""
    return [
        {
            "channel": c.name, "id": c.channel_id, "new": c.new, "updated": c.updated,
            "cursor": c.cursor, "error": c.error, "skipped": c.skipped, "resolved": c.resolved,
            "account": c.account,
        }
        for c in report.channels
    ]


def channels_needing(db: Database, default_source: str) -> set[str]:
    """Which sources the watched channels need (to avoid connecting Telethon for nothing)."""
    rows = db.execute(
        "SELECT h.source, c.source FROM channel_handles h LEFT JOIN channels c ON c.id = h.channel_id"
    ).fetchall()
    needed: set[str] = set()
    for handle_source, channel_source in rows:
        src = handle_source or (channel_source if channel_source in POLLED_SOURCES else None) or default_source
        needed.add(src)
    return needed



@asynccontextmanager
async def open_sources(
    db: Database, config: Config, secrets: Secrets, *, data_dir: Path, needed: Iterable[str]
) -> AsyncIterator[dict[str, ChannelSource]]:
    """The sources the watched channels need, connected; closed on exit. Telethon is only
    connected when some channel uses it (and then fails fast with SessionInvalid if there is
    no usable session: the service never prompts)."""
    needed = set(needed)
    sources: dict[str, ChannelSource] = {}
    async with AsyncExitStack() as stack:
        if "web" in needed:
            from bot.sources.web_preview import WebPreviewSource, make_client

            http = await stack.enter_async_context(make_client(timeout=config.web.timeout))
            sources["web"] = WebPreviewSource(
                http,
                base_url=config.web.base_url,
                request_interval=config.web.request_interval,
                max_retries=config.web.max_retries,
                forward_lookup=forward_lookup(db),
            )
        if "telethon" in needed and secrets.has_telegram_api:
            for name, client in (await connect_accounts(db, config, secrets, data_dir=data_dir)).items():
                stack.push_async_callback(client.disconnect)
                sources[f"telethon:{name}"] = _telethon_source(client, config, name)
            if "telethon:default" in sources:
                sources["telethon"] = sources["telethon:default"]
        yield sources


def _telethon_source(client: Any, config: Config, account: str) -> ChannelSource:
    from bot.sources.telethon_source import TelethonSource

    return TelethonSource(
        client,
        flood_sleep_threshold=config.collect.flood_sleep_threshold,
        request_interval=config.collect.request_interval,
        account=account,
    )


def wanted_accounts(db: Database, config: Config, sessions: Iterable[str]) -> list[str]:
    """Accounts to connect: every one with a session, plus any a channel is assigned or
    pinned to (so a missing one is reported, not silently skipped)."""
    assigned = [r[0] for r in db.execute("SELECT DISTINCT account FROM channels WHERE account IS NOT NULL AND active = 1")]
    pinned = [c.account for c in config.channels if c.account]
    names = dict.fromkeys([*sessions, *assigned, *pinned])
    return sorted(names, key=lambda n: (n != DEFAULT_ACCOUNT, n))


async def connect_accounts(
    db: Database, config: Config, secrets: Secrets, *, data_dir: Path
) -> dict[str, Any]:
    """Connected clients of every reading account that can connect. An account that cannot
    is recorded as logged out (its public channels are read by the others); when none can,
    the first account's SessionInvalid is raised (the service never prompts)."""
    from bot.sources import telethon_source

    sessions = telethon_source.known_sessions(secrets, data_dir)
    names = wanted_accounts(db, config, sessions) or [DEFAULT_ACCOUNT]
    clients: dict[str, Any] = {}
    first_error: SessionInvalid | None = None
    for name in names:
        try:
            clients[name] = await telethon_source.connect(secrets, data_dir, account=name, telegram=config.telegram)
        except SessionInvalid as e:
            log.warning("account %s cannot read: %s", name, e)
            record_logged_out(db, name, str(e), utcnow())
            first_error = first_error or e
        except BaseException:
            for client in clients.values():
                await client.disconnect()
            raise
    if not clients and first_error is not None:
        raise first_error
    return clients


async def fetch(
    db: Database, config: Config, secrets: Secrets, *, data_dir: Path, only: str | None = None
) -> CollectReport:
    """``tgdigest fetch``: sync the config's channels and run one pass now (ignoring intervals)."""
    from bot.storage.ingest import Ingestor

    sync_configured_channels(db, config)
    default = default_source_name(secrets.has_telegram_api)
    async with open_sources(
        db, config, secrets, data_dir=data_dir, needed=channels_needing(db, default)
    ) as sources:
        collector = Collector(db, config, Ingestor(db, config), sources, default_source=default)
        return await collector.run_once(only=only, force=True)
