"""A graceful stop while a digest part is in flight lets the send finish and marks it: no part twice after restart."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import run_service
from bot.config import BotConfig, Config, DigestConfig, Secrets
from bot.core.models import Post
from bot.devtools.sandbox import Sandbox
from bot.storage import subscribers as subs
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor

SPEC = Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json"
TOKEN = "7312345678:AAH0kX9pQ_test-token-value-abcdefghijk"
CHAT = 6161
CONFIG = Config(
    bot=BotConfig(global_rate=1000.0, per_chat_rate=1000.0, poll_timeout=1),
    digest=DigestConfig(first_lookback_hours=48, tick_seconds=1),
)


def _prepare(db_path: Path) -> None:
    db = open_db(db_path)
    now = datetime.now(UTC)
    posts = [Post(channel_id=77, message_id=i, date=now - timedelta(minutes=10 + i), channel_username="wire",
                  text=f"Energy story {i}: pipeline number {i} reopened after talks in city {i * 7919}")
             for i in range(1, 31)]
    Ingestor(db, CONFIG).ingest(posts)
    subs.register(db, CHAT, default_time="00:00", default_timezone="UTC", now=now - timedelta(days=2))
    subs.add_subscription(db, CHAT, "energy", now=now - timedelta(days=2))
    db.close()


def _marked_parts(db_path: Path) -> tuple[int, int]:
    db = open_db(db_path)
    sent, total = db.execute("SELECT count(sent_at), count(*) FROM digest_parts").fetchone()
    db.close()
    return sent, total


def test_sigterm_while_a_part_is_in_flight_marks_it_and_restart_sends_nothing_twice(tmp_path: Path) -> None:
    db_path = tmp_path / "db.sqlite"
    _prepare(db_path)

    async def go() -> None:
        with Sandbox(token=TOKEN, spec_path=SPEC) as sandbox:
            secrets = Secrets(bot_token=TOKEN, bot_api_url=sandbox.base_url)
            # Telegram takes the message at once but its answer is slow: the stop comes in between.
            sandbox.delay_answers("sendMessage", 1.5)
            stop = asyncio.Event()
            service = asyncio.create_task(run_service(CONFIG, secrets, db_path, fetch=False, stop=stop))
            deadline = time.monotonic() + 30
            while not sandbox.sent_to(CHAT):
                assert time.monotonic() < deadline and not service.done()
                await asyncio.sleep(0.02)
            started = time.monotonic()
            stop.set()
            await asyncio.wait_for(service, timeout=15)
            assert time.monotonic() - started < 8, "the stop waits for the send, boundedly"
            in_flight_at_stop = len(sandbox.sent_to(CHAT))
            sent, total = _marked_parts(db_path)
            assert sent == in_flight_at_stop >= 1, "every part Telegram received is marked sent"

            sandbox.delay_answers("sendMessage", 0)
            stop = asyncio.Event()
            service = asyncio.create_task(run_service(CONFIG, secrets, db_path, fetch=False, stop=stop))
            deadline = time.monotonic() + 30
            while _marked_parts(db_path)[0] < total:
                assert time.monotonic() < deadline and not service.done()
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # another tick: nothing more may go out
            stop.set()
            await asyncio.wait_for(service, timeout=15)
            texts = [m.text for m in sandbox.sent_to(CHAT)]
            assert len(texts) == total and len(set(texts)) == total, "each part exactly once"
            assert sandbox.violations == []

    asyncio.run(go())
