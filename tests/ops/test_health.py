"""Health check and stats, judged from a real SQLite database the way the service leaves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from bot.ops.health import HEARTBEAT_KEY, check_health, collect_stats, format_stats, write_heartbeat
from bot.storage.db import get_meta

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")



def add_channel(db, channel_id: int, username: str, *, source: str = "telethon", active: int = 1,
                last_poll: datetime | None = None, added: datetime | None = None,
                next_poll: datetime | None = None, last_error: str | None = None) -> None:
    with db.atomic():
        db.execute(
            "INSERT INTO channels (id, handle, username, title, source, active, last_poll_at, added_at, "
            "next_poll_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [channel_id, f"@{username}", username, username.title(), source, active,
             last_poll and iso(last_poll), added and iso(added), next_poll and iso(next_poll), last_error],
        )


def add_post(db, channel_id: int, message_id: int, date: datetime) -> None:
    with db.atomic():
        db.execute(
            "INSERT INTO posts (channel_id, message_id, date, text, text_norm, content_hash, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [channel_id, message_id, iso(date), "hello", "hello", f"h{message_id}", iso(date)],
        )


def add_pending_digest(db, chat_id: int, created: datetime, *, parts: int = 2, sent: int = 0) -> None:
    with db.atomic():
        db.execute(
            "INSERT OR IGNORE INTO subscribers (chat_id, created_at) VALUES (?, ?)", [chat_id, iso(created)]
        )
        cursor = db.execute(
            "INSERT INTO digests (chat_id, kind, status, created_at) VALUES (?, 'digest', 'pending', ?)",
            [chat_id, iso(created)],
        )
        for seq in range(parts):
            db.execute(
                "INSERT INTO digest_parts (digest_id, seq, text, sent_at) VALUES (?, ?, ?, ?)",
                [cursor.lastrowid, seq, f"part {seq}", iso(created) if seq < sent else None],
            )


def healthy_service(db) -> None:
    write_heartbeat(db, now=NOW - timedelta(seconds=20))


def check(db, **kwargs):
    options = {"now": NOW, "max_age_s": 180, "channel_stuck_hours": 6}
    options.update(kwargs)
    return check_health(db, **options)


def test_fresh_heartbeat_and_nothing_stuck_is_healthy(db):
    """A recent heartbeat with recently polled channels and no waiting parts is healthy."""
    healthy_service(db)
    add_channel(db, 1, "news", last_poll=NOW - timedelta(minutes=10))
    report = check(db)
    assert report.ok and report.reasons == []
    assert report.heartbeat_age_s == 20
    assert str(report) == "healthy (heartbeat 20 s ago)"


def test_heartbeat_is_stored_as_iso_utc_in_meta(db):
    """write_heartbeat stores an ISO 8601 UTC time under meta 'heartbeat_at', committed."""
    write_heartbeat(db, now=NOW)
    assert get_meta(db, HEARTBEAT_KEY) == "2025-03-01T12:00:00+00:00"
    assert not db.conn.in_transaction


def test_missing_heartbeat_is_unhealthy(db):
    """A database the service never ran on is unhealthy, saying so."""
    report = check(db)
    assert not report.ok
    assert report.reasons == ["no heartbeat: `tgdigest run` has not started on this database"]
    assert report.heartbeat_age_s is None


def test_stale_heartbeat_is_unhealthy(db):
    """A heartbeat older than max_age_s makes the service unhealthy with its age in the reason."""
    write_heartbeat(db, now=NOW - timedelta(minutes=5))
    report = check(db)
    assert not report.ok
    assert report.reasons == ["heartbeat is 5 min old (limit 180 s): the service is down or hung"]
    assert str(report).startswith("unhealthy: heartbeat is 5 min old")


def test_channel_without_successful_poll_past_threshold_is_unhealthy(db):
    """An active polled channel whose last success is older than channel_stuck_hours is reported."""
    healthy_service(db)
    add_channel(db, 1, "fine", last_poll=NOW - timedelta(hours=1))
    add_channel(db, 2, "stuck", last_poll=NOW - timedelta(hours=7), last_error="ChannelPrivateError")
    report = check(db)
    assert not report.ok
    assert report.reasons == [
        "channel @stuck not polled successfully for 7.0 h (limit 6 h) (last error: ChannelPrivateError)"
    ]


def test_never_polled_channel_is_measured_from_when_it_was_added(db):
    """A channel never polled counts from added_at: recent is fine, old is stuck."""
    healthy_service(db)
    add_channel(db, 1, "newcomer", added=NOW - timedelta(hours=1))
    add_channel(db, 2, "forgotten", added=NOW - timedelta(hours=30))
    report = check(db)
    assert report.reasons == ["channel @forgotten never polled successfully for 30.0 h (limit 6 h)"]


def test_flood_wait_in_the_future_is_not_stuck(db):
    """A channel waiting out a flood wait (next_poll_at ahead) is not counted as stuck."""
    healthy_service(db)
    add_channel(db, 1, "waiting", last_poll=NOW - timedelta(hours=8), next_poll=NOW + timedelta(hours=1))
    add_channel(db, 2, "waited", last_poll=NOW - timedelta(hours=8), next_poll=NOW - timedelta(hours=1))
    report = check(db)
    assert [r.split(" ")[1] for r in report.reasons] == ["@waited"]


def test_inactive_and_import_only_channels_are_not_checked(db):
    """Channels that are inactive or only fed by imports are never stuck."""
    healthy_service(db)
    add_channel(db, 1, "off", active=0, last_poll=NOW - timedelta(days=3))
    add_channel(db, 2, "imported", source="export", added=NOW - timedelta(days=3))
    assert check(db).ok


def test_channels_are_not_checked_while_the_collector_is_off(db):
    """Under `run --no-fetch` (heartbeat says fetching off) channel staleness is ignored."""
    write_heartbeat(db, now=NOW, fetching=False)
    add_channel(db, 1, "stuck", last_poll=NOW - timedelta(days=2))
    assert check(db).ok
    write_heartbeat(db, now=NOW, fetching=True)
    assert not check(db).ok


def test_sender_stuck_when_oldest_unsent_part_is_too_old(db):
    """A pending digest part unsent for longer than sender_stuck_s is reported with the count."""
    healthy_service(db)
    add_pending_digest(db, 100, NOW - timedelta(minutes=5))
    assert check(db, sender_stuck_s=3600).ok
    add_pending_digest(db, 200, NOW - timedelta(hours=2), parts=3, sent=1)
    report = check(db, sender_stuck_s=3600)
    assert report.reasons == ["sender stuck: 4 digest part(s) unsent, the oldest for 2.0 h (limit 60 min)"]


def test_sent_or_cancelled_digests_do_not_count_as_stuck(db):
    """Old digests that were fully sent or cancelled do not make the sender look stuck."""
    healthy_service(db)
    add_pending_digest(db, 100, NOW - timedelta(days=1), parts=2, sent=2)
    add_pending_digest(db, 200, NOW - timedelta(days=1))
    with db.atomic():
        db.execute("UPDATE digests SET status = 'cancelled' WHERE chat_id = 200")
    assert check(db).ok


def test_every_problem_is_reported_at_once(db):
    """Stale heartbeat, a stuck channel and a stuck sender all appear in one report."""
    write_heartbeat(db, now=NOW - timedelta(hours=1))
    add_channel(db, 1, "stuck", last_poll=NOW - timedelta(hours=9))
    add_pending_digest(db, 100, NOW - timedelta(hours=3))
    assert len(check(db).reasons) == 3


def test_collect_stats_counts_and_lag(db):
    """Stats count every table the operator cares about and give each channel's lag."""
    write_heartbeat(db, now=NOW)
    add_channel(db, 1, "alpha", last_poll=NOW - timedelta(minutes=3))
    add_channel(db, 2, "beta", source="export", active=0)
    add_post(db, 1, 10, NOW - timedelta(hours=2))
    add_post(db, 1, 11, NOW - timedelta(minutes=30))
    add_post(db, 2, 5, NOW - timedelta(days=2))
    add_pending_digest(db, 100, NOW - timedelta(minutes=1), parts=2, sent=1)
    with db.atomic():
        db.execute("INSERT INTO subscribers (chat_id, created_at, active) VALUES (200, ?, 0)", [iso(NOW)])
        db.execute("INSERT INTO subscriptions (chat_id, query, created_at) VALUES (100, 'ai', ?)", [iso(NOW)])
        db.execute("INSERT INTO send_errors (chat_id, at, error) VALUES (100, ?, 'x')", [iso(NOW - timedelta(hours=1))])
        db.execute("INSERT INTO send_errors (chat_id, at, error) VALUES (100, ?, 'y')", [iso(NOW - timedelta(hours=30))])
    stats = collect_stats(db, now=NOW)
    lag = {c["username"]: c for c in stats.pop("channel_lag")}
    assert stats.pop("accounts") == {}  # no channel here is read by a Telegram account
    assert stats == {
        "channels": 2,
        "channels_active": 1,
        "posts": 3,
        "stories": 0,
        "subscribers_active": 1,
        "subscribers_paused": 0,
        "subscribers_blocked": 1,
        "subscribers_total": 2,
        "subscriptions": 1,
        "subscriptions_urgent": 0,
        "pending_parts": 1,
        "send_errors_24h": 1,
        "send_errors_total": 2,
        "heartbeat_at": "2025-03-01T12:00:00+00:00",
    }
    assert (lag["alpha"]["poll_lag_s"], lag["alpha"]["newest_post_lag_s"], lag["alpha"]["posts"]) == (180, 1800, 2)
    assert (lag["beta"]["poll_lag_s"], lag["beta"]["newest_post_lag_s"], lag["beta"]["active"]) == (None, 172800, False)


def test_format_stats_is_readable(db):
    """The terminal form names each channel with its poll and post lag."""
    add_channel(db, 1, "alpha", last_poll=NOW - timedelta(minutes=3))
    add_post(db, 1, 10, NOW - timedelta(hours=2))
    lines = format_stats(collect_stats(db, now=NOW))
    assert "channels: 1 (1 active)" in lines
    assert "heartbeat: never" in lines
    assert "  @alpha (telethon): 1 posts, polled 3 min ago, newest post 2.0 h ago" in lines


def run_cli(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TGDIGEST_", "TELEGRAM_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "tgdigest.sqlite"), *args],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )


def test_health_command_exit_codes(db, tmp_path):
    """`tgdigest health` exits 1 with the reason before a heartbeat, and 0 once one is fresh."""
    result = run_cli(tmp_path, "health")
    assert result.returncode == 1
    assert "no heartbeat" in result.stderr
    write_heartbeat(db, now=datetime.now(UTC))
    result = run_cli(tmp_path, "health")
    assert (result.returncode, result.stdout.split(" (")[0]) == (0, "healthy")


def test_stats_command_prints_counts_and_json(db, tmp_path):
    """`tgdigest stats` prints the counts, and --format json the same data as JSON."""
    add_channel(db, 1, "alpha", last_poll=NOW)
    add_post(db, 1, 10, NOW)
    text = run_cli(tmp_path, "stats")
    assert text.returncode == 0 and "posts: 1" in text.stdout.splitlines()
    data = json.loads(run_cli(tmp_path, "stats", "--format", "json").stdout)
    assert data["posts"] == 1 and data["channel_lag"][0]["username"] == "alpha"
