"""Digests at scale: built in batches while sending starts, replies ahead of a broadcast,
paid broadcast, ticks on the minute, and the strict sandbox the benchmarks run against."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import BotConfig, Config, Secrets
from bot.core.models import Post
from bot.devtools.sandbox import Sandbox
from bot.digests.delivery import DigestService
from bot.storage import subscribers
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor
from bot.telegram.botapi import BotAPI
from bot.telegram.sender import Sender
from bot.telegram.updates import build_bot

TOKEN = "123456:scale-test"
SPEC = Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json"
NOW = datetime(2024, 6, 10, 9, 0, 30, tzinfo=UTC)


def populate(db: Any, chats: int, *, stories: int = 3) -> None:
    """``chats`` subscribers due at 09:00, each matching ``stories`` stories of the last hours."""
    for chat in range(1, chats + 1):
        subscribers.register(db, chat, default_time="09:00", now=NOW - timedelta(days=3))
        subscribers.add_subscription(db, chat, "election")
    Ingestor(db, Config()).ingest(
        [
            Post(channel_id=1, message_id=i, date=NOW - timedelta(hours=1 + i), text=f"Election update {i}\nVotes.",
                 channel_username="chan1", channel_title="Channel 1")
            for i in range(stories)
        ]
    )


class RecordingSender:
    """A sender (same interface as ``Sender``) that records, at each message, how many
    digests the database held then -- through its own connection, as another process would."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.stored_at_send: list[int] = []
        self.options: list[dict[str, Any]] = []
        self._ids = 0

    async def send(self, chat_id: int, text: str, **options: Any) -> Any:
        conn = sqlite3.connect(self.db_path)
        try:
            self.stored_at_send.append(conn.execute("SELECT count(*) FROM digests").fetchone()[0])
        finally:
            conn.close()
        self.options.append(options)
        self._ids += 1
        await asyncio.sleep(0)

        class Result:
            message_id = self._ids

        return Result()


def test_sending_starts_with_the_first_batch_while_the_rest_is_built(db: Any, tmp_path: Path) -> None:
    """300 due chats in batches of 10: the first message goes out long before all 300 digests
    exist, and every digest is still sent exactly once, as a digest (lowest priority)."""
    populate(db, 300)
    sender = RecordingSender(tmp_path / "tgdigest.sqlite")
    service = DigestService(db, sender, Config(), now=lambda: NOW, build_batch=10)

    report = asyncio.run(service.tick())
    assert len(report.built) == 300 and report.delivery.parts_sent == 300
    assert sender.stored_at_send[0] < 300  # sending began while later batches were still to come
    assert sender.stored_at_send == sorted(sender.stored_at_send)
    assert all(o["priority"] == 2 and o["paid_broadcast"] is False for o in sender.options)
    assert db.execute("SELECT count(*) FROM digests WHERE status = 'sent'").fetchone()[0] == 300
    assert db.execute("SELECT count(*) FROM subscribers WHERE last_digest_local_date = '2024-06-10'").fetchone()[0] == 300
    # A second tick in the same minute builds and sends nothing more.
    again = asyncio.run(service.tick())
    assert again.built == [] and again.delivery.parts_sent == 0


def test_batched_build_stores_what_one_by_one_would(db: Any) -> None:
    """Batch size changes nothing in what is stored: same digests, same stories reserved."""
    populate(db, 25, stories=4)
    DigestService(db, RecordingSender(Path("unused")), Config(), now=lambda: NOW, build_batch=7).build_due()
    batched = db.execute(
        "SELECT d.chat_id, p.seq, p.text FROM digests d JOIN digest_parts p ON p.digest_id = d.id ORDER BY 1, 2"
    ).fetchall()
    reserved = db.execute("SELECT chat_id, story_id FROM deliveries ORDER BY 1, 2").fetchall()
    db.execute("DELETE FROM deliveries")
    db.execute("DELETE FROM digest_parts")
    db.execute("DELETE FROM digests")
    db.execute("UPDATE subscribers SET last_digest_at = NULL, last_digest_local_date = NULL")
    DigestService(db, RecordingSender(Path("unused")), Config(), now=lambda: NOW, build_batch=1).build_due()
    assert db.execute(
        "SELECT d.chat_id, p.seq, p.text FROM digests d JOIN digest_parts p ON p.digest_id = d.id ORDER BY 1, 2"
    ).fetchall() == batched
    assert db.execute("SELECT chat_id, story_id FROM deliveries ORDER BY 1, 2").fetchall() == reserved
    assert len(reserved) == 25 * 4


def test_start_is_answered_before_more_than_a_few_digest_parts(tmp_path: Path) -> None:
    """While 300 digests go out, a user's /start is answered ahead of the queued digest
    parts: at most a handful of parts (those already on their way) are sent between the
    /start arriving and its answer."""
    db = open_db(tmp_path / "tgdigest.sqlite")
    populate(db, 300)
    config = Config(bot=BotConfig(global_rate=100.0))
    probe = 999_001

    async def main(sandbox: Sandbox) -> tuple[int, int]:
        secrets = Secrets(bot_token=TOKEN, bot_api_url=sandbox.base_url)
        bot = build_bot(config, secrets, db)
        service = DigestService(db, bot.sender, config, now=lambda: NOW)
        stop = asyncio.Event()
        loop_task = asyncio.create_task(bot.loop.run(stop))
        tick_task = asyncio.create_task(service.tick())
        while len(sandbox.sent) < 40:
            await asyncio.sleep(0.005)
        before = len(sandbox.sent)
        sandbox.send_user_message(probe, "/start")
        answer = await sandbox.wait_sent(1, chat_id=probe, timeout=30)
        between = sum(1 for m in sandbox.sent if m.chat_id != probe and m.at < answer[0].at) - before
        await tick_task
        stop.set()
        await loop_task
        await bot.aclose()
        return between, len(sandbox.sent)

    with Sandbox(token=TOKEN, spec_path=SPEC) as sandbox:
        between, total = asyncio.run(main(sandbox))
        assert sandbox.violations == []
    assert total == 301  # every digest, and the answer
    assert between <= 5
    db.close()


def test_paid_broadcast_sends_digests_with_allow_paid_broadcast(db: Any) -> None:
    """With [bot] paid_broadcast = true digests go out with Telegram's allow_paid_broadcast
    (a parameter the Bot API spec knows), counted in the sandbox's paid window."""
    populate(db, 3)
    config = Config(bot=BotConfig(paid_broadcast=True))

    async def main(sandbox: Sandbox) -> None:
        async with BotAPI(TOKEN, base_url=sandbox.base_url) as api:
            sender = Sender.from_config(api, config.bot)
            await DigestService(db, sender, config, now=lambda: NOW).tick()
            await sender.send(1, "a reply")

    with Sandbox(token=TOKEN, spec_path=SPEC, window_limit=30) as sandbox:
        asyncio.run(main(sandbox))
        sent = sandbox.sent
        assert sandbox.violations == []
    assert [m.paid_broadcast for m in sent] == [True, True, True, False]
    assert all(c.params.get("allow_paid_broadcast") is True for c in sandbox.calls_of("sendMessage")[:3])


def test_ticks_fall_on_the_minute() -> None:
    """The digest job runs once at start and then on whole minutes (tick_seconds = 60)."""

    async def main() -> tuple[datetime, datetime, list[str]]:
        scheduler = AsyncIOScheduler(timezone=UTC)
        job = DigestService(open_db(":memory:"), RecordingSender(Path("unused")), Config()).install(scheduler)
        scheduler.start(paused=True)
        try:
            first = job.next_run_time
            second = job.trigger.get_next_fire_time(first, first + timedelta(seconds=1))
            return first, second, sorted(j.id for j in scheduler.get_jobs())
        finally:
            scheduler.shutdown(wait=False)

    first, second, jobs = asyncio.run(main())
    assert (first.second, first.microsecond) == (0, 0) and second - first == timedelta(seconds=60)
    assert jobs == ["digests", "digests-start"]


def test_strict_sandbox_accepts_at_most_its_window_in_any_second() -> None:
    """window_limit=5: of 8 messages sent at once, 5 are accepted and 3 answered 429 with
    retry_after; a second later there is room again. A paid broadcast has its own window."""

    def send(client: httpx.Client, chat: int, **extra: Any) -> dict[str, Any]:
        response = client.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": chat, "text": "hi", **extra})
        return dict(response.json())

    with Sandbox(token=TOKEN, spec_path=SPEC, window_limit=5, paid_window_limit=50) as sandbox:
        with httpx.Client(base_url=sandbox.base_url) as client:
            answers = [send(client, chat) for chat in range(8)]
            paid = [send(client, 100 + chat, allow_paid_broadcast=True) for chat in range(8)]
            refused = [a for a in answers if not a["ok"]]
            assert sum(a["ok"] for a in answers) == 5 and len(refused) == 3
            assert all(a["error_code"] == 429 and a["parameters"]["retry_after"] >= 1 for a in refused)
            assert all(a["ok"] for a in paid)
            first_accepted = sandbox.sent[0].at
            time.sleep(max(0.0, first_accepted + 1.05 - time.monotonic()))
            assert send(client, 50)["ok"]
        assert sandbox.violations == []


def test_sandbox_latency_delays_each_request() -> None:
    """latency + jitter: every request is answered no sooner than ``latency``, and not all alike."""
    with Sandbox(token=TOKEN, latency=0.02, jitter=0.03, seed=3) as sandbox, httpx.Client(base_url=sandbox.base_url) as client:
        took = []
        for chat in range(6):
            started = time.perf_counter()
            client.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": chat, "text": "x"})
            took.append(time.perf_counter() - started)
    assert min(took) >= 0.02
    assert max(took) - min(took) > 0.001


def test_batched_build_reads_mutes_and_styles_in_bulk(db: Any) -> None:
    """A chat that muted the channel gets no digest from it; another chose the compact style,
    which its stored digest keeps -- both read in bulk for a batch, as one by one."""
    populate(db, 3)
    subscribers.add_mute(db, 2, "channel", 1, "Channel 1")
    subscribers.set_digest_style(db, 3, "compact")
    assert subscribers.mutes_of_many(db, [1, 2, 3]) == {2: subscribers.mutes_of(db, 2)}

    report = DigestService(db, RecordingSender(Path("unused")), Config(), now=lambda: NOW, build_batch=3).build_due()
    assert report.empty == [2]
    stored = dict(db.execute("SELECT chat_id, style FROM digests").fetchall())
    assert stored == {1: "full", 3: "compact"}
