"""One collection pass over the watched channels: resolve new handles once, then poll each
due channel from its cursor and hand the posts to the ingest path.

Guarantees:
- A page of posts and its cursor are stored in one transaction (``PostSink.ingest`` with
  ``cursors``), so a crash between fetch and store never skips or repeats a post.
- A handle is resolved once; its channel id and access hash are kept, so polls never
  resolve usernames again.
- Per-channel failures (private, renamed, banned, flood wait) are recorded on the channel
  and never stop the others. A dead session (``SessionInvalid``) ends the pass: retrying
  cannot help until someone runs ``tgdigest login``.

Which channels: ``channel_handles`` (migration 0004) lists the handles we were asked to
watch, from the config file (``sync_configured_channels``) and from bot admins
(``add_channel`` / ``remove_channel``); both lists merge. A handle's ``channel_id`` stays
NULL until it is resolved.

Errors: ``ChannelListError`` (a bad add/remove request); source errors are those of
``bot.sources``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlite_utils import Database

from bot.config import Config, Secrets
from bot.core.clock import from_iso, to_iso, utcnow
from bot.core.handles import Handle, HandleError, parse_handle
from bot.core.models import Channel, Post
from bot.errors import ChannelUnavailable, FloodWait, SessionInvalid, SourceError, TgdigestError
from bot.sources import ChannelSource, Page

log = logging.getLogger(__name__)

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
                "INSERT INTO channel_handles (handle, origin, source, title, interval, backfill, added_at) "
                "VALUES (?, 'config', ?, ?, ?, ?, ?) ON CONFLICT(handle) DO UPDATE SET "
                "origin = 'config', source = excluded.source, title = excluded.title, "
                "interval = excluded.interval, backfill = excluded.backfill",
                [handle, channel.source, channel.title, channel.interval, channel.backfill, stamp],
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
                    [name, int(name) if name.isdigit() else None],
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
    """Every watched handle and every stored channel, for ``tgdigest channels``."""
    rows = db.execute(
        """
        SELECT h.handle, h.origin, coalesce(c.source, h.source), c.id, c.username,
               coalesce(c.title, h.title), coalesce(c.last_message_id, 0), c.last_poll_at,
               coalesce(c.last_error, h.last_error), coalesce(c.next_poll_at, h.next_attempt_at),
               coalesce(c.active, 1)
        FROM channel_handles h LEFT JOIN channels c ON c.id = h.channel_id
        UNION ALL
        SELECT c.handle, c.origin, c.source, c.id, c.username, c.title, c.last_message_id,
               c.last_poll_at, c.last_error, c.next_poll_at, c.active
        FROM channels c WHERE c.id NOT IN
            (SELECT channel_id FROM channel_handles WHERE channel_id IS NOT NULL)
        """
    ).fetchall()
    keys = (
        "handle", "origin", "source", "id", "username", "title", "last_message_id",
        "last_poll_at", "last_error", "next_poll_at", "active",
    )
    out = [dict(zip(keys, row, strict=True)) for row in rows]
    for item in out:
        item["active"] = bool(item["active"])
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


class Collector:
    """Runs collection passes. ``sources`` maps a source name (``telethon``, ``web``) to a
    ``ChannelSource``; a channel whose source is missing gets a clear per-channel error."""

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
        self.default_source = default_source
        self.clock = clock

    # -- public --

    async def run_once(self, *, only: str | None = None, force: bool = False) -> CollectReport:
        """Resolve pending handles, then poll every due channel (``force``: ignore the
        per-channel interval, never a flood wait). ``only`` limits the pass to one channel
        (handle, @username, id or title)."""
        now = self.clock()
        results: list[ChannelResult] = []
        wanted = self._matcher(only)
        for handle, source in self._pending(wanted):
            results.append(await self._resolve(handle, source, now))
        changed: set[int] = set()
        for target in self._targets(wanted):
            results.append(await self._poll(target, now, force, changed))
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

    def _pending(self, wanted: _ChannelFilter | None) -> list[tuple[str, str]]:
        rows = self.db.execute(
            "SELECT handle, source, title FROM channel_handles WHERE channel_id IS NULL ORDER BY added_at, handle"
        ).fetchall()
        return [
            (handle, source or self.default_source)
            for handle, source, title in rows
            if wanted is None or wanted(handle, None, None, title)
        ]

    def _targets(self, wanted: _ChannelFilter | None) -> list[_Target]:
        rows = self.db.execute(
            "SELECT c.id, c.username, c.title, c.handle, c.access_hash, c.source, c.last_message_id, "
            "c.last_poll_at, c.last_error, c.next_poll_at, h.handle, h.source, h.interval, h.backfill "
            "FROM channels c JOIN channel_handles h ON h.channel_id = c.id "
            "WHERE c.active = 1 ORDER BY c.id, h.added_at"
        ).fetchall()
        by_id: dict[int, list[Any]] = {}
        for row in rows:
            by_id.setdefault(row[0], []).append(row)
        targets = []
        for group in by_id.values():
            first = group[0]
            channel = Channel(
                id=first[0], username=first[1], title=first[2], handle=first[3], access_hash=first[4],
                source=first[5], last_message_id=first[6] or 0, last_poll_at=from_iso(first[7]),
                last_error=first[8], next_poll_at=from_iso(first[9]),
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

    # -- resolution --

    async def _resolve(self, handle_text: str, source_name: str, now: datetime) -> ChannelResult:
        row = self.db.execute(
            "SELECT next_attempt_at, title FROM channel_handles WHERE handle = ?", [handle_text]
        ).fetchone()
        not_before = from_iso(row[0])
        if not_before is not None and not_before > now:
            return ChannelResult(handle_text, None, skipped=f"not resolved before {to_iso(not_before)}")
        source = self.sources.get(source_name)
        if source is None:
            message = _missing_source(source_name)
            self._handle_failed(handle_text, message, None)
            return ChannelResult(handle_text, None, error=message)
        try:
            resolved = await source.resolve(parse_handle(handle_text))
        except SessionInvalid:
            raise
        except FloodWait as e:
            log.warning("%s: %s; resolution postponed", handle_text, e)
            self._handle_failed(handle_text, str(e), now + timedelta(seconds=e.seconds))
            return ChannelResult(handle_text, None, error=str(e))
        except ChannelUnavailable as e:
            log.warning("%s", e)
            self._handle_failed(handle_text, str(e), now + RESOLVE_BACKOFF)
            return ChannelResult(handle_text, None, error=str(e))
        except SourceError as e:
            log.warning("%s", e)
            self._handle_failed(handle_text, str(e), now + timedelta(minutes=self.config.collect.interval))
            return ChannelResult(handle_text, None, error=str(e))
        title = row[1] or resolved.title
        with self.db.atomic():
            if resolved.username:
                # A username moves with renames; the unique index must follow the channel.
                self.db.execute(
                    "UPDATE channels SET username = NULL WHERE username = ? COLLATE NOCASE AND id != ?",
                    [resolved.username, resolved.id],
                )
            self.db.execute(
                "INSERT INTO channels (id, handle, username, title, access_hash, source, origin, active, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT(id) DO UPDATE SET "
                "handle = excluded.handle, username = excluded.username, title = excluded.title, "
                "access_hash = coalesce(excluded.access_hash, channels.access_hash), "
                "source = excluded.source, active = 1",
                [
                    resolved.id, handle_text, resolved.username, title, resolved.access_hash,
                    source_name, self._origin(handle_text), to_iso(now),
                ],
            )
            self.db.execute(
                "UPDATE channel_handles SET channel_id = ?, last_error = NULL, next_attempt_at = NULL "
                "WHERE handle = ?",
                [resolved.id, handle_text],
            )
        log.info("%s resolved to channel %d (%s)", handle_text, resolved.id, title)
        return ChannelResult(title or handle_text, resolved.id, resolved=True)

    def _origin(self, handle_text: str) -> str:
        row = self.db.execute("SELECT origin FROM channel_handles WHERE handle = ?", [handle_text]).fetchone()
        return row[0] if row else "config"

    def _handle_failed(self, handle_text: str, message: str, not_before: datetime | None) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE channel_handles SET last_error = ?, next_attempt_at = ? WHERE handle = ?",
                [message, to_iso(not_before) if not_before else None, handle_text],
            )

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

    async def _poll(self, target: _Target, now: datetime, force: bool, changed: set[int]) -> ChannelResult:
        channel = target.channel
        name = channel.display_name
        if channel.next_poll_at is not None and channel.next_poll_at > now:
            return ChannelResult(name, channel.id, skipped=f"waiting until {to_iso(channel.next_poll_at)}")
        if not force and not self._due(target, now):
            return ChannelResult(name, channel.id, skipped="not due")
        source = self.sources.get(target.source)
        if source is None:
            message = _missing_source(target.source)
            self._record(channel.id, error=message, next_poll_at=None, success=False)
            return ChannelResult(name, channel.id, error=message)
        edit_ids = self._edit_ids(channel, now)
        new = updated = 0
        cursor = channel.last_message_id
        refreshed: list[Post] = []
        try:
            page: Page
            async for page in source.fetch_new(
                channel, backfill=target.backfill, page_size=self.config.collect.page_size
            ):
                result = self.sink.ingest(page.posts, cursors={channel.id: page.cursor})
                new += result.new
                updated += result.updated
                changed |= result.changed_story_ids
                cursor = max(cursor, page.cursor)
                refreshed.extend(page.refreshed)
            window = set(edit_ids)
            edits = [p for p in refreshed if p.message_id in window]
            seen = {p.message_id for p in edits}
            wanted = [i for i in edit_ids if i not in seen]
            if wanted:
                edits.extend(await source.refetch(channel, wanted))
            if edits:
                result = self.sink.ingest(edits)
                updated += result.updated
                changed |= result.changed_story_ids
        except SessionInvalid:
            raise
        except FloodWait as e:
            until = now + timedelta(seconds=e.seconds)
            # Logged here once; later passes skip the channel quietly until `until`.
            log.warning("%s: %s; next poll not before %s", name, e, to_iso(until))
            self._record(channel.id, error=str(e), next_poll_at=until, success=False)
            return ChannelResult(name, channel.id, new=new, updated=updated, cursor=cursor, error=str(e))
        except ChannelUnavailable as e:
            log.warning("%s", e)
            self._record(channel.id, error=str(e), next_poll_at=now + UNAVAILABLE_BACKOFF, success=False)
            return ChannelResult(name, channel.id, new=new, updated=updated, cursor=cursor, error=str(e))
        except SourceError as e:
            log.warning("%s", e)
            self._record(channel.id, error=str(e), next_poll_at=None, success=False)
            return ChannelResult(name, channel.id, new=new, updated=updated, cursor=cursor, error=str(e))
        self._record(channel.id, error=None, next_poll_at=None, success=True, at=now)
        if new or updated:
            log.info("%s: %d new, %d updated (cursor %d)", name, new, updated, cursor)
        return ChannelResult(name, channel.id, new=new, updated=updated, cursor=cursor)

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
            from bot.sources import telethon_source

            client = await telethon_source.connect(secrets, data_dir)
            stack.push_async_callback(client.disconnect)
            sources["telethon"] = telethon_source.TelethonSource(
                client, flood_sleep_threshold=config.collect.flood_sleep_threshold
            )
        yield sources


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
