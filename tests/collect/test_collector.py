"""Collection passes end to end: fake Telegram → TelethonSource → Collector → real Ingestor →
real SQLite. Nothing lost, nothing repeated, Telegram's limits respected."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fakes.clocks import Sleeps
from fakes.fake_telegram import T0, FakeTelegram, photo
from telethon import errors

from bot.collect.collector import (
    ChannelListError,
    Collector,
    add_channel,
    list_channels,
    remove_channel,
    sync_configured_channels,
)
from bot.collect.jobs import add_collection_job, collection_interval
from bot.config import ChannelConfig, CollectConfig, Config
from bot.core.models import Post
from bot.errors import SessionInvalid
from bot.sources.telethon_source import TelethonSource
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)



class CrashingSink:
    """The real Ingestor, but the first ``failures`` ingest calls die like a crash mid-store."""

    def __init__(self, inner: Ingestor, failures: int = 1) -> None:
        self.inner = inner
        self.failures = failures

    def ingest(self, posts: Iterable[Post], *, cursors: Mapping[int, int] | None = None) -> Any:
        batch = list(posts)
        if self.failures:
            self.failures -= 1
            # die inside the transaction, after some rows were written
            with self.inner.db.atomic():
                self.inner.db.execute("UPDATE channels SET last_message_id = 999999")
                raise RuntimeError("power cut")
        return self.inner.ingest(batch, cursors=cursors)


class World:
    """A database, a fake Telegram and a collector wired like the service does."""

    def __init__(self, tmp_path: Path, **collect: Any) -> None:
        self.db = open_db(tmp_path / "t.sqlite")
        self.config = Config(collect=CollectConfig(**{"backfill": 50, "jitter": 0, **collect}))
        self.tg = FakeTelegram()
        self.sleeps = Sleeps()
        self.clock = Clock(T0 + timedelta(hours=1))
        self.ingestor = Ingestor(self.db, self.config)
        self.sink: Any = self.ingestor

    def channel(self, channel_id: int, username: str | None = None, **kw: Any) -> None:
        self.tg.add_channel(channel_id, username=username or f"chan{channel_id}", **kw)
        add_channel(self.db, f"@{username or f'chan{channel_id}'}", origin="config")

    def collector(self) -> Collector:
        source = TelethonSource(self.tg, sleep=self.sleeps, flood_sleep_threshold=self.config.collect.flood_sleep_threshold)
        return Collector(self.db, self.config, self.sink, {"telethon": source}, clock=self.clock)

    def run(self, **kw: Any) -> Any:
        return asyncio.run(self.collector().run_once(force=kw.pop("force", True), **kw))

    def stored(self, channel_id: int | None = None) -> list[tuple[int, int]]:
        sql = "SELECT channel_id, message_id FROM posts"
        params: list[Any] = []
        if channel_id is not None:
            sql += " WHERE channel_id = ?"
            params.append(channel_id)
        return [tuple(r) for r in self.db.execute(sql + " ORDER BY channel_id, message_id", params).fetchall()]

    def cursor(self, channel_id: int) -> int:
        return self.db.execute("SELECT last_message_id FROM channels WHERE id = ?", [channel_id]).fetchone()[0]

    def channel_row(self, channel_id: int) -> dict[str, Any]:
        return next(r for r in list_channels(self.db) if r["id"] == channel_id)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_polling_twice_stores_each_post_once(world: World) -> None:
    """Two passes over the same channel store every post exactly once."""
    world.channel(10)
    world.tg.posts(10, 30)
    first = world.run()
    second = world.run()
    assert first.new == 30 and second.new == 0
    assert world.stored(10) == [(10, i) for i in range(1, 31)]
    assert world.cursor(10) == 30


def test_downtime_posts_all_arrive_exactly_once(world: World) -> None:
    """After a downtime of N posts (more than two pages), all N arrive once and in order."""
    world.channel(10)
    world.tg.posts(10, 5)
    world.run()
    world.tg.posts(10, 237, prefix="while down")
    report = world.run()
    assert report.new == 237
    assert world.stored(10) == [(10, i) for i in range(1, 243)]
    assert world.cursor(10) == 242


def test_crash_between_fetch_and_store_loses_and_repeats_nothing(world: World) -> None:
    """A store that dies mid-transaction leaves no post and no cursor move; the next pass
    stores everything exactly once."""
    world.channel(10)
    world.tg.posts(10, 3)
    world.run()
    world.tg.posts(10, 150, prefix="fresh")
    world.sink = CrashingSink(world.ingestor, failures=1)
    with pytest.raises(RuntimeError, match="power cut"):
        world.run()
    assert world.cursor(10) == 3
    assert len(world.stored(10)) == 3
    world.run()
    assert world.stored(10) == [(10, i) for i in range(1, 154)]
    assert world.cursor(10) == 153


def test_first_sight_takes_only_the_backfill(world: World) -> None:
    """A new channel contributes only its newest `backfill` posts, then continues from there."""
    world.channel(10)
    world.tg.posts(10, 80)
    world.run()
    assert world.stored(10) == [(10, i) for i in range(31, 81)]
    world.tg.posts(10, 2)
    world.run()
    assert world.stored(10)[-2:] == [(10, 81), (10, 82)]


def test_per_channel_backfill_from_config(tmp_path: Path) -> None:
    """A channel's own `backfill` in the config wins over [collect] backfill."""
    w = World(tmp_path)
    w.tg.add_channel(10, username="chan10")
    w.tg.posts(10, 20)
    w.config = Config(collect=w.config.collect, channels=(ChannelConfig("@chan10", backfill=5),))
    sync_configured_channels(w.db, w.config)
    w.run()
    assert w.stored(10) == [(10, i) for i in range(16, 21)]


def test_short_flood_wait_slept_long_recorded_others_continue(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """A short FloodWait is slept through; a long one is recorded as next poll, logged once,
    and the other channels are still collected."""
    for cid in (10, 20, 30):
        world.channel(cid)
        world.tg.posts(cid, 2)
    world.run()
    for cid in (10, 20, 30):
        world.tg.posts(cid, 1, prefix="later")
    world.tg.fail_next("history", errors.FloodWaitError(request=None, capture=5), channel_id=10)
    world.tg.fail_next("history", errors.FloodWaitError(request=None, capture=7200), channel_id=20)
    with caplog.at_level(logging.WARNING, logger="bot.collect.collector"):
        report = world.run()
        assert world.sleeps.calls == [5]
        assert {(c.channel_id, c.new) for c in report.channels} == {(10, 1), (20, 0), (30, 1)}
        row = world.channel_row(20)
        assert row["next_poll_at"] == "2025-07-01T11:00:00+00:00"  # clock 09:00 + 7200 s
        assert "7200" in row["last_error"]
        # the next passes skip the channel quietly until then
        world.clock.advance(minutes=30)
        again = world.run()
        skipped = next(c for c in again.channels if c.channel_id == 20)
        assert skipped.skipped is not None and "waiting until" in skipped.skipped
    assert sum("7200" in r.getMessage() for r in caplog.records) == 1
    world.clock.advance(hours=2)
    world.run()
    assert world.cursor(20) == 3
    assert world.channel_row(20)["last_error"] is None


def test_private_channel_error_is_recorded_others_go_on(world: World) -> None:
    """ChannelPrivateError lands on the channel's last_error; the other channels still work."""
    world.channel(10)
    world.channel(20)
    world.tg.posts(10, 1)
    world.tg.posts(20, 1)
    world.run()
    world.tg.channels[10].banned = True
    world.tg.posts(20, 1)
    report = world.run()
    assert "private" in world.channel_row(10)["last_error"]
    assert world.channel_row(10)["next_poll_at"] is not None
    assert [c.new for c in report.channels if c.channel_id == 20] == [1]


def test_album_parts_become_one_stored_post(world: World) -> None:
    """An album's parts are stored as one post (the captioned part)."""
    world.channel(10)
    world.tg.posts(10, 1)
    world.run()
    world.tg.post(10, "", media=photo(), grouped_id=42)
    caption = world.tg.post(10, "Harbour at dawn", media=photo(), grouped_id=42)
    world.tg.post(10, "", media=photo(), grouped_id=42)
    world.run()
    assert world.stored(10) == [(10, 1), (10, caption.id)]
    assert world.cursor(10) == 4


def test_forwards_carry_their_origin(world: World) -> None:
    """A forwarded post is stored with its origin channel and post id."""
    world.channel(10)
    world.tg.post(10, "Original words", forward=(31337, 77))
    world.run()
    row = world.db.execute("SELECT fwd_channel_id, fwd_message_id FROM posts").fetchone()
    assert tuple(row) == (31337, 77)


def test_edits_update_in_place(world: World) -> None:
    """An edit inside the window reaches storage as new text on the same post, not a second post."""
    world.channel(10)
    world.tg.posts(10, 3)
    world.run()
    world.tg.edit(10, 2, "post 1, corrected")
    report = world.run()
    assert report.updated == 1 and report.new == 0
    assert world.db.execute("SELECT text FROM posts WHERE message_id = 2").fetchone()[0] == "post 1, corrected"
    assert len(world.stored(10)) == 3


def test_edits_outside_the_window_are_not_reread(world: World) -> None:
    """Posts older than edit_window_hours cost no re-read requests."""
    world.channel(10)
    world.tg.posts(10, 3)
    world.run()
    world.clock.advance(hours=30)
    before = world.tg.requests["by_ids"]
    world.run()
    assert world.tg.requests["by_ids"] == before


def test_request_economy_200_channels_nothing_new(tmp_path: Path) -> None:
    """A pass over 200 resolved channels with nothing new costs exactly 200 history
    requests and no username resolution; edit re-reads are one request per channel with
    posts inside the edit window and none for the rest."""
    w = World(tmp_path)
    w.tg.now = w.clock.now - timedelta(days=3)
    for cid in range(1000, 1200):
        w.channel(cid)
        w.tg.posts(cid, 2)
    w.run()
    assert w.tg.requests["resolve"] == 200  # each handle resolved once, on first sight
    # half the channels posted recently, half long ago (outside the 24 h edit window)
    w.clock.advance(hours=25)
    w.tg.now = w.clock.now - timedelta(hours=2)
    for cid in range(1000, 1100):
        w.tg.posts(cid, 1, prefix="recent")
    w.run()
    w.tg.requests.clear()
    w.clock.advance(minutes=10)
    report = w.run(force=False)
    assert report.new == 0 and not report.errors
    assert w.tg.requests["history"] == 200
    assert w.tg.requests["resolve"] == 0
    assert w.tg.requests["get_entity"] == 0
    assert w.tg.requests["by_ids"] == 100
    assert sum(w.tg.requests.values()) == 300


def test_channels_not_due_are_not_polled(world: World) -> None:
    """Without force, a channel polled less than its interval ago is skipped (no request)."""
    world.channel(10)
    world.run()
    world.tg.requests.clear()
    world.clock.advance(minutes=3)
    report = world.run(force=False)
    assert report.channels[0].skipped == "not due"
    assert world.tg.requests["history"] == 0


def test_dead_session_stops_the_pass(world: World) -> None:
    """A revoked session raises SessionInvalid (run `tgdigest login`) instead of erroring per channel."""
    world.channel(10)
    world.channel(20)
    world.run()
    world.tg.dead_session = errors.SessionRevokedError(request=None)
    with pytest.raises(SessionInvalid, match="tgdigest login"):
        world.run()
    assert world.tg.requests["history"] == 3  # 2 on the first pass, then the pass stopped at once


def test_unresolvable_handle_is_recorded_and_not_retried_at_once(world: World) -> None:
    """A username nobody holds is recorded on the handle and not resolved again next pass."""
    add_channel(world.db, "@nobody_here")
    world.run()
    world.run()
    (row,) = list_channels(world.db)
    assert row["resolved"] is False and "no channel has this username" in row["last_error"]
    assert world.tg.requests["resolve"] == 1


def test_private_channel_by_invite(world: World) -> None:
    """An invite link joins the private channel once and its posts are collected."""
    world.tg.add_channel(77, title="Inner circle", invite_hash="JoinMePlease", private=True)
    world.tg.posts(77, 2)
    add_channel(world.db, "https://t.me/+JoinMePlease")
    world.run()
    world.run()
    assert world.stored(77) == [(77, 1), (77, 2)]
    assert world.tg.requests["join"] == 1
    assert world.db.execute("SELECT username FROM channels WHERE id = 77").fetchone()[0] is None


def test_missing_telethon_source_is_a_clear_channel_error(tmp_path: Path) -> None:
    """Without API credentials a Telethon channel gets an error saying what to set."""
    w = World(tmp_path)
    add_channel(w.db, "@somechannel", source="telethon")
    report = asyncio.run(Collector(w.db, w.config, w.ingestor, {}, clock=w.clock).run_once())
    assert "TELEGRAM_API_ID" in report.channels[0].error


def test_only_one_channel(world: World) -> None:
    """`only` restricts the pass to the named channel; an unknown name is an error."""
    world.channel(10)
    world.channel(20)
    world.tg.posts(10, 1)
    world.tg.posts(20, 1)
    world.run()
    world.tg.posts(10, 1)
    world.tg.posts(20, 1)
    report = world.run(only="@chan20")
    assert [c.channel_id for c in report.channels] == [20]
    with pytest.raises(ChannelListError, match="no watched channel"):
        world.run(only="@nothere")


# --- the channel list ------------------------------------------------------------------------


def test_config_and_bot_lists_merge(world: World) -> None:
    """Config channels sync in and out; bot-added ones stay; config ones cannot be removed by the bot."""
    config = Config(channels=(ChannelConfig("@alpha_news"), ChannelConfig("t.me/beta_news", title="Beta")))
    result = sync_configured_channels(world.db, config)
    assert result.added == ("@alpha_news", "@beta_news")
    assert add_channel(world.db, "https://t.me/gamma_news") == ("@gamma_news", True)
    assert add_channel(world.db, "@GAMMA_news") == ("@gamma_news", False)
    with pytest.raises(ChannelListError, match="config file"):
        remove_channel(world.db, "@alpha_news")
    result = sync_configured_channels(world.db, Config(channels=(ChannelConfig("@beta_news"),)))
    assert result.removed == ("@alpha_news",)
    handles = sorted(r["handle"] for r in list_channels(world.db))
    assert handles == ["@beta_news", "@gamma_news"]
    assert remove_channel(world.db, "@gamma_news") == "@gamma_news"
    with pytest.raises(ChannelListError, match="not watched"):
        remove_channel(world.db, "@gamma_news")
    for beyond in ("9223372036854775808", "²"):  # no id SQLite can hold, a digit int() cannot read
        with pytest.raises(ChannelListError):  # one clear line, not an OverflowError or ValueError
            remove_channel(world.db, beyond)


def test_removed_channel_stops_being_polled_and_keeps_its_posts(world: World) -> None:
    """Removing a channel deactivates it: no more requests, stored posts stay."""
    world.tg.add_channel(10, username="chan10")
    world.tg.posts(10, 2)
    add_channel(world.db, "@chan10")
    world.run()
    remove_channel(world.db, "chan10")
    world.tg.requests.clear()
    world.run()
    assert world.tg.requests["history"] == 0
    assert len(world.stored(10)) == 2
    assert list_channels(world.db)[0]["active"] is False


def test_channels_listing_fields(world: World) -> None:
    """`tgdigest channels` data: id, username, title, cursor, last poll, error, next poll."""
    world.channel(10, title="Ten News")
    world.tg.posts(10, 4)
    world.run()
    row = world.channel_row(10)
    assert row["username"] == "chan10" and row["title"] == "Ten News"
    assert row["last_message_id"] == 4
    assert row["last_poll_at"] == "2025-07-01T09:00:00+00:00"
    assert row["last_error"] is None and row["next_poll_at"] is None


# --- scheduling ----------------------------------------------------------------------------


def test_collection_job_options() -> None:
    """The job runs alone, coalesces missed runs, and has a real misfire grace time."""
    scheduler = AsyncIOScheduler(timezone=UTC)

    async def noop() -> None:
        return None

    job = add_collection_job(scheduler, noop, minutes=10, jitter=30, misfire_grace=300)
    assert job.max_instances == 1
    assert job.coalesce is True
    assert job.misfire_grace_time == 300
    assert job.trigger.interval == timedelta(minutes=10)
    assert job.trigger.jitter == 30


def test_session_invalid_pauses_the_job() -> None:
    """A dead session pauses the collection job instead of failing every interval."""
    seen: list[Exception] = []

    async def main() -> Any:
        scheduler = AsyncIOScheduler(timezone=UTC)

        async def dead() -> None:
            raise SessionInvalid("the Telegram session is no longer valid: run `tgdigest login`")

        job = add_collection_job(scheduler, dead, minutes=10, jitter=0, misfire_grace=60,
                                 on_session_invalid=seen.append, run_now=False)
        scheduler.start(paused=True)
        await job.func()
        state = scheduler.get_job(job.id).next_run_time
        scheduler.shutdown(wait=False)
        return state

    assert asyncio.run(main()) is None  # paused jobs have no next run time
    assert len(seen) == 1


def test_collection_interval_is_the_shortest() -> None:
    """The pass interval is the shortest of the default and any channel's own interval."""
    config = Config(collect=CollectConfig(interval=10), channels=(ChannelConfig("@a_chan", interval=3),))
    assert collection_interval(config) == 3


# --- what real servers send (issue 12) -------------------------------------------------------


def test_undecodable_reply_in_one_channel_does_not_end_the_pass(world: World) -> None:
    """TypeNotFoundError inside get_entity (resolution) and an unexpected error in a history
    read stay their channels': recorded, logged, retried; the channels after them are read."""
    world.channel(10)
    world.channel(20)
    world.channel(30)
    world.tg.posts(30, 2)
    world.tg.fail_next("resolve", errors.TypeNotFoundError(0x1CB5C415, b""))
    report = world.run()
    assert world.stored(30) == [(30, 1), (30, 2)]
    (failed,) = report.errors
    assert "TypeNotFoundError" in failed.error
    world.tg.posts(20, 1)
    world.tg.fail_next("history", KeyError("surprise"), channel_id=20)
    world.clock.advance(minutes=10)  # a resolution that failed this way is retried a pass later
    world.run()
    assert "unexpected KeyError" in world.channel_row(20)["last_error"]
    assert world.channel_row(10)["resolved"] and world.channel_row(10)["last_error"] is None
    world.run()
    assert world.stored(20) == [(20, 1)]
    assert world.channel_row(20)["last_error"] is None


def test_flood_warning_names_the_channel_once(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """The long flood-wait warning says the channel's name once, not twice."""
    world.channel(10, title="Harbour News")
    world.run()
    world.tg.fail_next("history", errors.FloodWaitError(request=None, capture=7200), channel_id=10)
    with caplog.at_level(logging.WARNING, logger="bot.collect.collector"):
        world.run()
    (line,) = [r.getMessage() for r in caplog.records if "7200" in r.getMessage()]
    assert line.count("Harbour News") == 1


def test_stale_access_hash_re_resolves_a_public_channel_once(tmp_path: Path) -> None:
    """After the reading account changes (a new login), stored hashes answer CHANNEL_INVALID:
    a public channel is resolved again by its username, once, and read in the same pass; a
    private one says to re-join with the invite link instead of being retried blindly."""
    w = World(tmp_path)
    w.channel(10)
    w.tg.add_channel(77, title="Inner circle", invite_hash="JoinMePlease", private=True)
    add_channel(w.db, "https://t.me/+JoinMePlease")
    w.run()
    w.tg.posts(10, 2)
    w.tg = w.tg.account("relogin")  # same server, another account: every stored hash is stale
    report = w.run()
    assert w.stored(10) == [(10, 1), (10, 2)]
    assert w.tg.requests["resolve"] == 1
    private = w.channel_row(77)["last_error"]
    assert "re-join with the invite link" in private
    assert w.tg.requests["join"] == 0
    assert {c.channel_id for c in report.errors} == {77}
    w.clock.advance(minutes=10)
    w.run()
    assert w.tg.requests["resolve"] == 1  # the new hash is kept: no second resolution


def test_stale_access_hash_is_not_re_resolved_again_and_again(world: World) -> None:
    """A hash still refused after re-resolving is an error; re-resolution waits 6 hours."""
    world.channel(10)
    world.run()
    for _ in range(4):
        world.tg.fail_next("history", errors.PeerIdInvalidError(request=None), channel_id=10)
    world.run()
    assert world.tg.requests["resolve"] == 2  # first sight + one re-resolution
    assert "still refused" in world.channel_row(10)["last_error"]
    world.clock.advance(hours=2)
    world.run()
    assert world.tg.requests["resolve"] == 2
