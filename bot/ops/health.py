"""Is the service alive and making progress? The heartbeat, the health check and the stats.

The running service calls ``write_heartbeat`` every ``[service] heartbeat_seconds``; it stores
the time (ISO 8601 UTC) under ``heartbeat_at`` in the ``meta`` table, and whether the collector
runs (``run --no-fetch`` does not poll channels) under ``heartbeat_fetching``.

``check_health`` (behind ``tgdigest health``, the container HEALTHCHECK) is unhealthy when:

- the heartbeat is missing or older than ``max_age_s``: the process is dead or hung;
- an active channel that the collector polls (source telethon or web, not imported-only) has
  had no successful poll (``channels.last_poll_at``, or ``added_at`` if never polled) for
  ``channel_stuck_hours``, and is not deliberately waiting out a flood wait
  (``next_poll_at`` in the future). Skipped while the collector is off;
- the bot cannot reach the Bot API (``bot_api_unreachable_since``, set by the update loop
  when a call first fails for network or 5xx reasons and cleared by the next success);
- the sender is stuck: the oldest unsent part of a pending digest belongs to a digest composed
  more than ``sender_stuck_s`` ago (default an hour: rate limits and Bot API retry-after delay
  a part by seconds or minutes, never by an hour, so this means sending has stopped, e.g. a
  revoked bot token or an unreachable Bot API).

``collect_stats`` (behind ``tgdigest stats``) counts rows and shows each channel's lag.
Nothing here raises on purpose; a broken database surfaces as sqlite3 errors to the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.core.clock import from_iso, to_iso, utcnow
from bot.storage.db import get_meta, set_meta

HEARTBEAT_KEY = "heartbeat_at"
FETCHING_KEY = "heartbeat_fetching"
BOT_API_DOWN_KEY = "bot_api_unreachable_since"
DEFAULT_SENDER_STUCK_S = 3600.0
# Channels the collector never polls: their posts only ever come from imports.
UNPOLLED_SOURCES = ("export",)


@dataclass(frozen=True, slots=True)
class HealthReport:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    heartbeat_age_s: float | None = None

    def __str__(self) -> str:
        if self.ok:
            age = "" if self.heartbeat_age_s is None else f" (heartbeat {self.heartbeat_age_s:.0f} s ago)"
            return f"healthy{age}"
        return "unhealthy: " + "; ".join(self.reasons)


def _parse(value: str | None) -> datetime | None:
    """A stored instant, or None when it is missing or unreadable (health never fails on one)."""
    try:
        return from_iso(value)
    except ValueError:
        return None


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def write_heartbeat(db: Database, *, now: datetime, fetching: bool = True) -> None:
    """Record that the service is alive at ``now`` (and whether its collector runs)."""
    with db.atomic():
        set_meta(db, HEARTBEAT_KEY, to_iso(now))
        set_meta(db, FETCHING_KEY, "1" if fetching else "0")


def mark_bot_api_unreachable(db: Database, *, since: datetime) -> None:
    """The Bot API stopped answering at ``since`` (the bot keeps retrying)."""
    set_meta(db, BOT_API_DOWN_KEY, to_iso(since))


def mark_bot_api_reachable(db: Database) -> None:
    set_meta(db, BOT_API_DOWN_KEY, "")


def check_health(
    db: Database,
    *,
    now: datetime,
    max_age_s: float,
    channel_stuck_hours: float,
    sender_stuck_s: float = DEFAULT_SENDER_STUCK_S,
) -> HealthReport:
    """Judge the service from what it wrote to the database; see the module docstring."""
    reasons: list[str] = []

    heartbeat = _parse(get_meta(db, HEARTBEAT_KEY))
    age: float | None = None
    if heartbeat is None:
        reasons.append("no heartbeat: `tgdigest run` has not started on this database")
    else:
        age = (now - heartbeat).total_seconds()
        if age > max_age_s:
            reasons.append(f"heartbeat is {_ago(age)} old (limit {max_age_s:.0f} s): the service is down or hung")

    down_since = _parse(get_meta(db, BOT_API_DOWN_KEY))
    if down_since is not None:
        reasons.append(
            f"Bot API unreachable since {to_iso(down_since)} ({_ago((now - down_since).total_seconds())}; "
            "retrying with backoff)"
        )

    if get_meta(db, FETCHING_KEY, "1") != "0":
        reasons.extend(_stuck_channels(db, now=now, stuck_s=channel_stuck_hours * 3600))

    row = db.execute(
        "SELECT MIN(d.created_at), COUNT(*) FROM digest_parts p JOIN digests d ON d.id = p.digest_id "
        "WHERE p.sent_at IS NULL AND d.status = 'pending'"
    ).fetchone()
    oldest = _parse(row[0])
    if oldest is not None:
        waiting = (now - oldest).total_seconds()
        if waiting > sender_stuck_s:
            reasons.append(
                f"sender stuck: {row[1]} digest part(s) unsent, the oldest for {_ago(waiting)} "
                f"(limit {_ago(sender_stuck_s)})"
            )
    return HealthReport(ok=not reasons, reasons=reasons, heartbeat_age_s=age)


def _stuck_channels(db: Database, *, now: datetime, stuck_s: float) -> list[str]:
    placeholders = ", ".join("?" for _ in UNPOLLED_SOURCES)
    rows = db.execute(
        "SELECT id, username, handle, last_poll_at, added_at, next_poll_at, last_error, account FROM channels "
        f"WHERE active = 1 AND source NOT IN ({placeholders}) ORDER BY id",
        list(UNPOLLED_SOURCES),
    ).fetchall()
    reasons = []
    for channel_id, username, handle, last_poll, added, next_poll, last_error, account in rows:
        waiting_until = _parse(next_poll)
        if waiting_until is not None and waiting_until > now:
            continue  # a flood wait: being patient on purpose is not being stuck
        since = _parse(last_poll) or _parse(added)
        if since is None:
            continue  # nothing to measure from yet
        idle = (now - since).total_seconds()
        if idle > stuck_s:
            name = f"@{username}" if username else (handle or str(channel_id))
            what = "not polled successfully" if last_poll else "never polled successfully"
            error = f" (last error: {last_error})" if last_error else ""
            by = f" [account {account}]" if account else ""
            reasons.append(
                f"channel {name}{by} {what} for {_ago(idle)} (limit {stuck_s / 3600:g} h){error}"
            )
    return reasons


def collect_stats(db: Database, *, now: datetime | None = None) -> dict[str, Any]:
    """Row counts and, per channel, how far behind polling and the newest post are: the one
    source of ``tgdigest stats`` (``format_stats``) and the bot's /stats."""
    now = now or utcnow()

    def count(sql: str, params: list[Any] | None = None) -> int:
        return int(db.execute(sql, params or []).fetchone()[0])

    since_24h = to_iso(now - timedelta(hours=24))
    stats: dict[str, Any] = {
        "channels": count("SELECT COUNT(*) FROM channels"),
        "channels_active": count("SELECT COUNT(*) FROM channels WHERE active = 1"),
        "posts": count("SELECT COUNT(*) FROM posts"),
        "stories": count("SELECT COUNT(*) FROM stories"),
        "subscribers_active": count("SELECT COUNT(*) FROM subscribers WHERE active = 1"),
        "subscribers_paused": count("SELECT COUNT(*) FROM subscribers WHERE paused = 1"),
        "subscribers_blocked": count("SELECT COUNT(*) FROM subscribers WHERE active = 0"),
        "subscribers_total": count("SELECT COUNT(*) FROM subscribers"),
        "subscriptions": count("SELECT COUNT(*) FROM subscriptions"),
        "subscriptions_urgent": count("SELECT COUNT(*) FROM subscriptions WHERE urgent = 1"),
        "pending_parts": count(
            "SELECT COUNT(*) FROM digest_parts p JOIN digests d ON d.id = p.digest_id "
            "WHERE p.sent_at IS NULL AND d.status = 'pending'"
        ),
        "send_errors_24h": count("SELECT COUNT(*) FROM send_errors WHERE at >= ?", [since_24h]),
        "send_errors_total": count("SELECT COUNT(*) FROM send_errors"),
        "heartbeat_at": get_meta(db, HEARTBEAT_KEY),
    }
    newest = {
        channel_id: (newest_date, n)
        for channel_id, newest_date, n in db.execute(
            "SELECT channel_id, MAX(date), COUNT(*) FROM posts GROUP BY channel_id"
        ).fetchall()
    }
    lag = []
    accounts: dict[str, dict[str, Any]] = {}
    for channel_id, username, title, source, active, last_poll, next_poll, last_error, account in db.execute(
        "SELECT id, username, title, source, active, last_poll_at, next_poll_at, last_error, account "
        "FROM channels ORDER BY username COLLATE NOCASE, id"
    ).fetchall():
        newest_date, n = newest.get(channel_id, (None, 0))
        polled = _parse(last_poll)
        newest_post = _parse(newest_date)
        lag.append(
            {
                "id": channel_id,
                "username": username,
                "title": title,
                "source": source,
                "active": bool(active),
                "posts": n,
                "last_poll_at": last_poll,
                "poll_lag_s": None if polled is None else round((now - polled).total_seconds()),
                "newest_post_at": newest_date,
                "newest_post_lag_s": None if newest_post is None else round((now - newest_post).total_seconds()),
                "next_poll_at": next_poll,
                "last_error": last_error,
                "account": account,
            }
        )
        if account is not None:
            totals = accounts.setdefault(
                account, {"channels": 0, "channels_active": 0, "posts": 0, "channels_with_errors": 0}
            )
            totals["channels"] += 1
            totals["channels_active"] += int(bool(active))
            totals["posts"] += n
            totals["channels_with_errors"] += int(last_error is not None)
    stats["channel_lag"] = lag
    # Sums per reading account (Telethon channels only; web and imported ones have none).
    stats["accounts"] = dict(sorted(accounts.items(), key=lambda item: (item[0] != "default", item[0])))
    return stats


def format_stats(stats: dict[str, Any]) -> list[str]:
    """``collect_stats`` output as lines for a terminal."""
    lines = [
        f"channels: {stats['channels']} ({stats['channels_active']} active)",
        f"posts: {stats['posts']}",
        f"stories: {stats['stories']}",
        f"subscribers: {stats['subscribers_active']} active, {stats['subscribers_total']} total",
        f"subscriptions: {stats['subscriptions']}",
        f"pending digest parts: {stats['pending_parts']}",
        f"send errors (24 h): {stats['send_errors_24h']}",
        f"heartbeat: {stats['heartbeat_at'] or 'never'}",
    ]
    for name, totals in stats.get("accounts", {}).items():
        errors = f", {totals['channels_with_errors']} with errors" if totals["channels_with_errors"] else ""
        lines.append(
            f"account {name}: {totals['channels_active']} active channels, {totals['posts']} posts{errors}"
        )
    if stats["channel_lag"]:
        lines.append("per channel (last poll / newest post):")
    for c in stats["channel_lag"]:
        name = f"@{c['username']}" if c["username"] else str(c["id"])
        poll = "never polled" if c["poll_lag_s"] is None else f"polled {_ago(c['poll_lag_s'])} ago"
        post = "no posts" if c["newest_post_lag_s"] is None else f"newest post {_ago(c['newest_post_lag_s'])} ago"
        flags = ("" if c["active"] else " [inactive]") + (f" [error: {c['last_error']}]" if c["last_error"] else "")
        source = f"{c['source']}, account {c['account']}" if c.get("account") else c["source"]
        lines.append(f"  {name} ({source}): {c['posts']} posts, {poll}, {post}{flags}")
    return lines
