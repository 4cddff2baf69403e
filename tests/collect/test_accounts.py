"""Several reading accounts: fake Telegram accounts on one fake server → TelethonSource per
account → Collector → real Ingestor → real SQLite. Channels spread, full accounts, flood
waits handed over and taken back, revoked sessions, private channels pinned to their account."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.clocks import Sleeps
from fakes.fake_telegram import T0, FakeTelegram
from telethon import errors

from bot.collect.accounts import list_accounts
from bot.collect.collector import Collector, add_channel, list_channels, sync_configured_channels
from bot.config import ChannelConfig, CollectConfig, Config
from bot.sources.telethon_source import TelethonSource
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(hours=1)

    def __call__(self) -> Any:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class Accounts:
    """One fake server, accounts ``names`` on it, one collector reading with all of them."""

    def __init__(self, tmp_path: Path, names: tuple[str, ...] = ("default", "b"), **collect: Any) -> None:
        self.db = open_db(tmp_path / "t.sqlite")
        self.config = Config(collect=CollectConfig(**{"backfill": 50, "jitter": 0, **collect}))
        self.server = FakeTelegram()
        self.tg = {name: self.server if name == "default" else self.server.account(name) for name in names}
        self.clock = Clock()
        self.ingestor = Ingestor(self.db, self.config)
        self._collector: Collector | None = None

    def channel(self, channel_id: int, **kw: Any) -> None:
        self.server.add_channel(channel_id, username=f"chan{channel_id}", **kw)
        add_channel(self.db, f"@chan{channel_id}", origin="config")

    def collector(self, *, fresh: bool = False, only: tuple[str, ...] | None = None) -> Collector:
        if self._collector is None or fresh:
            sources = {
                f"telethon:{name}": TelethonSource(client, sleep=Sleeps())
                for name, client in self.tg.items()
                if only is None or name in only
            }
            self._collector = Collector(self.db, self.config, self.ingestor, sources, clock=self.clock)
        return self._collector

    def run(self, **kw: Any) -> Any:
        return asyncio.run(self.collector().run_once(force=kw.pop("force", True), **kw))

    def owner(self, channel_id: int) -> str:
        return self.db.execute("SELECT account FROM channels WHERE id = ?", [channel_id]).fetchone()[0]

    def history(self, name: str, channel_id: int | None = None) -> int:
        client = self.tg[name]
        if channel_id is None:
            return client.requests["history"]
        return client.requests_by_channel[("history", channel_id)]

    def stored(self, channel_id: int) -> list[int]:
        rows = self.db.execute("SELECT message_id FROM posts WHERE channel_id = ? ORDER BY message_id", [channel_id])
        return [r[0] for r in rows.fetchall()]

    def accounts(self) -> dict[str, dict[str, Any]]:
        listed = list_accounts(self.db, sessions={n: "file" for n in self.tg}, now=self.clock.now)
        return {a["name"]: a for a in listed}


def test_new_channels_spread_over_accounts(tmp_path: Path) -> None:
    """Six channels over three accounts: two each, each resolved by the account that reads it."""
    w = Accounts(tmp_path, ("default", "b", "c"))
    for cid in range(10, 16):
        w.channel(cid)
        w.server.posts(cid, 1)
    w.run()
    owners = [w.owner(cid) for cid in range(10, 16)]
    assert sorted(owners) == ["b", "b", "c", "c", "default", "default"]
    for name in ("default", "b", "c"):
        assert w.tg[name].requests["resolve"] == 2
        assert w.history(name) == 2
    assert all(w.stored(cid) == [1] for cid in range(10, 16))
    rows = {r["id"]: r for r in list_channels(w.db)}
    assert {rows[cid]["account"] for cid in range(10, 16)} == {"default", "b", "c"}
    assert {a: w.accounts()[a]["channels"] for a in ("default", "b", "c")} == {"default": 2, "b": 2, "c": 2}


def test_a_full_account_takes_no_new_channel(tmp_path: Path) -> None:
    """With max_channels_per_account = 2 and two accounts, the fifth channel waits with an
    error saying to add an account; a third account then takes it."""
    w = Accounts(tmp_path, ("default", "b"), max_channels_per_account=2)
    for cid in range(10, 15):
        w.channel(cid)
    report = w.run()
    (error,) = report.errors
    assert "every reading account already reads 2 channels" in error.error
    assert "tgdigest login --account" in error.error
    assert sorted(w.owner(cid) for cid in range(10, 14)) == ["b", "b", "default", "default"]
    w.tg["c"] = w.server.account("c")
    w.collector(fresh=True)
    w.clock.advance(minutes=10)
    report = w.run()
    assert not report.errors
    assert w.owner(14) == "c"


def test_flooded_account_hands_over_and_takes_back(tmp_path: Path) -> None:
    """Account b floods: its public channels are read by the default account (resolved there
    once) in the same pass and while the wait lasts; afterwards b reads them again. Every
    post is stored once, none skipped."""
    w = Accounts(tmp_path, ("default", "b"))
    for cid in (10, 11, 12, 13):
        w.channel(cid)
        w.server.posts(cid, 2)
    w.run()
    mine = [cid for cid in (10, 11, 12, 13) if w.owner(cid) == "b"]
    assert len(mine) == 2
    for cid in (10, 11, 12, 13):
        w.server.posts(cid, 1, prefix="during the wait")
    w.tg["b"].flood_seconds = 3600
    report = w.run()
    assert not report.errors
    assert {c.channel_id: c.account for c in report.channels if c.channel_id in mine} == {m: "default" for m in mine}
    assert w.tg["b"].requests["history"] == 2 + 1  # one flood answer, then b is left alone
    assert w.tg["default"].requests["resolve"] == 2 + 2  # its own two, and b's two once
    assert w.accounts()["b"]["state"] == "flood_wait"
    assert w.accounts()["b"]["flood_until"] == "2025-07-01T10:00:00+00:00"

    # still waiting: b gets no request at all, default reads b's channels with the kept hashes
    w.clock.advance(minutes=30)
    for cid in mine:
        w.server.posts(cid, 1, prefix="still waiting")
    b_before = sum(w.tg["b"].requests.values())
    w.run()
    assert sum(w.tg["b"].requests.values()) == b_before
    assert w.tg["default"].requests["resolve"] == 4

    # the wait is over: b reads its own channels again; nothing was read twice or skipped
    w.tg["b"].flood_seconds = None
    w.clock.advance(hours=1)
    for cid in mine:
        w.server.posts(cid, 1, prefix="after")
    before = {cid: w.history("default", cid) for cid in mine}
    report = w.run()
    assert {c.channel_id: c.account for c in report.channels if c.channel_id in mine} == {m: "b" for m in mine}
    assert {cid: w.history("default", cid) for cid in mine} == before
    assert w.owner(mine[0]) == "b"
    for cid in (10, 11, 12, 13):
        assert w.stored(cid) == sorted(w.server.channels[cid].messages)
    assert w.accounts()["b"]["state"] == "ok"


def test_revoked_session_hands_over_and_the_pass_goes_on(tmp_path: Path) -> None:
    """Telegram revokes b's session mid-pass: b is logged out (once, in `accounts`), its
    public channels are read by the default account and the pass does not stop."""
    w = Accounts(tmp_path, ("default", "b"))
    for cid in (10, 11, 12, 13):
        w.channel(cid)
    w.run()
    mine = [cid for cid in (10, 11, 12, 13) if w.owner(cid) == "b"]
    for cid in (10, 11, 12, 13):
        w.server.posts(cid, 3)
    w.tg["b"].dead_session = errors.SessionRevokedError(request=None)
    report = w.run()
    assert not report.errors
    assert all(w.stored(cid) == [1, 2, 3] for cid in (10, 11, 12, 13))
    b = w.accounts()["b"]
    assert b["state"] == "logged_out" and "tgdigest login" in b["last_error"]
    assert b["channels"] == 2  # still b's: they go back after `tgdigest login --account b`
    # next pass: b is not asked again
    b_before = w.tg["b"].requests["history"]
    w.clock.advance(minutes=10)
    w.run()
    assert w.tg["b"].requests["history"] == b_before
    # b logs in again (a new process): it reads its channels again
    w.tg["b"].dead_session = None
    w.collector(fresh=True)
    w.server.posts(mine[0], 1)
    report = w.run()
    assert next(c for c in report.channels if c.channel_id == mine[0]).account == "b"
    assert w.stored(mine[0]) == [1, 2, 3, 4]


def test_every_session_revoked_still_stops_the_pass(tmp_path: Path) -> None:
    """When no account is left the pass ends with SessionInvalid (the job pauses)."""
    from bot.errors import SessionInvalid

    w = Accounts(tmp_path, ("default", "b"))
    for cid in (10, 11):
        w.channel(cid)
    w.run()
    for client in w.tg.values():
        client.dead_session = errors.AuthKeyUnregisteredError(request=None)
    with pytest.raises(SessionInvalid):
        w.run()


def test_private_channel_stays_with_the_account_that_joined(tmp_path: Path) -> None:
    """A private channel named for account b in the config is joined and read by b only; while
    b waits out a flood, nobody else reads (or joins) it, and it says why."""
    w = Accounts(tmp_path, ("default", "b"))
    w.server.add_channel(77, title="Inner circle", invite_hash="JoinMePlease", private=True)
    w.server.posts(77, 2)
    w.config = Config(collect=w.config.collect, channels=(ChannelConfig("https://t.me/+JoinMePlease", account="b"),))
    sync_configured_channels(w.db, w.config)
    w.collector(fresh=True).config = w.config
    w.run()
    assert w.owner(77) == "b" and w.stored(77) == [1, 2]
    assert w.tg["b"].requests["join"] == 1 and w.tg["default"].requests["join"] == 0
    w.server.posts(77, 1)
    w.tg["b"].flood_seconds = 600
    w.run()  # b floods on it
    w.clock.advance(minutes=5)
    report = w.run()
    assert w.tg["default"].requests_by_channel[("history", 77)] == 0
    assert w.tg["default"].requests["join"] == 0
    (result,) = [c for c in report.channels if c.channel_id == 77]
    assert (result.skipped or result.error) is not None
    w.tg["b"].flood_seconds = None
    w.clock.advance(minutes=10)
    w.run()
    assert w.stored(77) == [1, 2, 3]


def test_a_pinned_public_channel_is_not_handed_over(tmp_path: Path) -> None:
    """account = "b" in the config keeps a public channel with b even when b is logged out."""
    w = Accounts(tmp_path, ("default", "b"))
    w.server.add_channel(10, username="chan10")
    w.config = Config(collect=w.config.collect, channels=(ChannelConfig("@chan10", account="b"),))
    sync_configured_channels(w.db, w.config)
    w.collector(fresh=True).config = w.config
    w.run()
    assert w.owner(10) == "b"
    w.tg["b"].dead_session = errors.SessionRevokedError(request=None)
    report = w.run()
    assert w.tg["default"].requests["history"] == 0
    assert any("logged out" in (c.error or "") for c in report.channels)


def test_thousand_channels_three_accounts_one_request_each(tmp_path: Path) -> None:
    """1,000 resolved channels over 3 accounts, nothing new: exactly one history request per
    channel, spread evenly, no resolution, and the accounts read at the same time."""
    w = Accounts(tmp_path, ("default", "b", "c"), edit_ids_per_poll=0)
    for cid in range(1000, 2000):
        w.channel(cid)
    w.run()
    for client in w.tg.values():
        client.requests.clear()
        client.requests_by_channel.clear()
        client.latency = 0.001  # makes each request yield, so concurrency is observable
    w.clock.advance(minutes=10)
    report = w.run(force=False)
    assert report.new == 0 and not report.errors
    per_channel = sum((c.requests_by_channel for c in w.tg.values()), start=type(w.server.requests_by_channel)())
    assert len(per_channel) == 1000 and set(per_channel.values()) == {1}
    assert sorted(c.requests["history"] for c in w.tg.values()) == [333, 333, 334]
    assert sum(c.requests["resolve"] for c in w.tg.values()) == 0
    # the three lanes overlapped: while one account waited on a request, another was in one
    assert w.server.max_in_flight == 3
    assert sum(sum(c.requests.values()) for c in w.tg.values()) == 1000


def test_channels_health_and_stats_show_the_account(tmp_path: Path) -> None:
    """`channels` rows carry the account, `stats` sums per account, a stuck channel in
    `health` names its account, and the bot's /channels shows it to admins only."""
    from bot.ops.health import check_health, collect_stats, format_stats
    from bot.telegram.commands import channel_names as bot_channels

    w = Accounts(tmp_path, ("default", "b"))
    for cid in (10, 11, 12):
        w.channel(cid)
        w.server.posts(cid, 2)
    w.run()
    stats = collect_stats(w.db, now=w.clock.now)
    assert stats["accounts"] == {
        "default": {"channels": 2, "channels_active": 2, "posts": 4, "channels_with_errors": 0},
        "b": {"channels": 1, "channels_active": 1, "posts": 2, "channels_with_errors": 0},
    }
    assert "account b: 1 active channels, 2 posts" in format_stats(stats)
    assert {row["account"] for row in stats["channel_lag"]} == {"default", "b"}
    b_channel = next(cid for cid in (10, 11, 12) if w.owner(cid) == "b")
    report = check_health(w.db, now=w.clock.now + timedelta(hours=7), max_age_s=1e9, channel_stuck_hours=6)
    assert any(f"@chan{b_channel} [account b]" in reason for reason in report.reasons)
    assert any(line.endswith("— account b") for line in bot_channels(w.db, accounts=True))
    assert not any("account" in line for line in bot_channels(w.db))


def test_accounts_listing_json_shape(tmp_path: Path) -> None:
    """`tgdigest accounts` data: one row per account with channels, state, last success, errors;
    [] when there is no account at all."""
    assert list_accounts(open_db(tmp_path / "empty.sqlite"), sessions={}, now=T0) == []
    w = Accounts(tmp_path, ("default", "b"))
    for cid in (10, 11):
        w.channel(cid)
    w.run()
    rows = w.accounts()
    assert set(rows) == {"default", "b"}
    assert rows["default"] == {
        "name": "default", "session": "file", "state": "ok", "flood_until": None, "channels": 1,
        "pinned_channels": 0, "channels_with_errors": 0, "last_success_at": "2025-07-01T09:00:00+00:00",
        "last_error": None, "last_error_at": None,
    }


def test_every_account_flooded_ends_the_pass_without_bouncing(tmp_path: Path) -> None:
    """Both accounts flood: no account asks for a channel twice, every channel says why it
    waits, and the pass ends (no channel bounces between flooded accounts)."""
    w = Accounts(tmp_path, ("default", "b"))
    for cid in (10, 11, 12, 13):
        w.channel(cid)
    w.run()
    for client in w.tg.values():
        client.requests.clear()
        client.requests_by_channel.clear()
        client.flood_seconds = 900
    report = asyncio.run(asyncio.wait_for(w.collector().run_once(force=True), timeout=10))
    for client in w.tg.values():
        assert set(client.requests_by_channel.values()) == {1}
    assert all(c.error for c in report.channels) and len(report.channels) == 4
    assert all("flood wait" in c.error for c in report.channels)


def test_a_database_from_before_accounts_keeps_reading_with_the_default_account(tmp_path: Path) -> None:
    """Migration 0007: channels resolved by the one account of old become the default
    account's, with their stored access hash; nothing is resolved again, nothing re-read."""
    from bot.storage.schema import MIGRATIONS

    db = open_db(tmp_path / "old.sqlite", migrate=False)
    MIGRATIONS.apply(db, stop_before="0007_reading_accounts")
    server = FakeTelegram()
    server.add_channel(10, username="chan10")
    server.add_channel(77, title="Inner circle", invite_hash="JoinMePlease", private=True)
    server.joined.add(77)
    server.posts(10, 3)
    server.posts(77, 2)
    with db.atomic():
        for cid, username in ((10, "chan10"), (77, None)):
            db.execute(
                "INSERT INTO channels (id, handle, username, title, access_hash, source, last_message_id, added_at) "
                "VALUES (?, ?, ?, ?, ?, 'telethon', 1, '2025-06-01T00:00:00+00:00')",
                [cid, f"@{username}" if username else "https://t.me/+JoinMePlease", username, f"C{cid}",
                 server.access_hash(cid)],
            )
            db.execute(
                "INSERT INTO channel_handles (handle, origin, channel_id, added_at) VALUES (?, 'config', ?, ?)",
                [f"@{username}" if username else "https://t.me/+JoinMePlease", cid, "2025-06-01T00:00:00+00:00"],
            )
    MIGRATIONS.apply(db)
    rows = {r["id"]: r for r in list_channels(db)}
    assert (rows[10]["account"], rows[10]["pinned"]) == ("default", False)
    assert (rows[77]["account"], rows[77]["pinned"]) == ("default", True)
    config = Config(collect=CollectConfig(jitter=0))
    second = server.account("second")
    sources = {"telethon:default": TelethonSource(server), "telethon:second": TelethonSource(second)}
    report = asyncio.run(Collector(db, config, Ingestor(db, config), sources, clock=Clock()).run_once(force=True))
    assert not report.errors and report.new == 3
    assert server.requests["resolve"] == 0 and second.requests["history"] == 0


def test_a_channel_without_an_account_gets_one_once(tmp_path: Path) -> None:
    """A Telethon channel with no account yet (e.g. read by the web source before) is given
    the least loaded account once, which resolves it once and keeps it."""
    w = Accounts(tmp_path, ("default", "b"))
    for cid in (10, 11, 12):
        w.channel(cid)
    w.run()
    lonely = next(cid for cid in (10, 11, 12) if w.owner(cid) == "b")
    with w.db.atomic():
        w.db.execute("UPDATE channels SET account = NULL WHERE id = ?", [lonely])
        w.db.execute("DELETE FROM channel_access WHERE channel_id = ?", [lonely])
    w.server.posts(lonely, 2)
    w.run()
    w.run()
    assert w.owner(lonely) == "b"  # default reads two channels, b none: b has the fewest
    assert w.tg["b"].requests["resolve"] == 1 + 1
    assert w.stored(lonely) == [1, 2]


def test_an_account_that_cannot_connect_stays_logged_out_and_its_channels_move(tmp_path: Path) -> None:
    """An account whose session did not connect (recorded logged out) is listed so after
    passes by the others, and its public channels are read by them meanwhile."""
    from bot.collect.accounts import record_logged_out

    w = Accounts(tmp_path, ("default", "b"))
    for cid in (10, 11):
        w.channel(cid)
    w.run()
    mine = next(cid for cid in (10, 11) if w.owner(cid) == "b")
    record_logged_out(w.db, "b", "no Telegram session for account b", w.clock.now)
    w.collector(fresh=True, only=("default",))
    w.server.posts(mine, 1)
    report = w.run()
    assert next(c for c in report.channels if c.channel_id == mine).account == "default"
    assert w.stored(mine) == [1]
    assert w.accounts()["b"]["state"] == "logged_out"
    assert w.accounts()["b"]["last_error"] == "no Telegram session for account b"
