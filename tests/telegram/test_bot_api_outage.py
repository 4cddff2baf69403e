"""The bot against a Bot API that is unreachable at start or goes away mid-run: waited out, never fatal."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.config import BotConfig, Config, Secrets
from bot.devtools.sandbox import DROPPED, Sandbox
from bot.ops.health import check_health
from bot.telegram.updates import build_bot

SPEC = Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json"
TOKEN = "7312345678:AAH0kX9pQ_test-token-value-abcdefghijk"
CONFIG = Config(bot=BotConfig(global_rate=1000.0, per_chat_rate=1000.0, poll_timeout=1))


def _health_reasons(db) -> list[str]:
    return check_health(db, now=datetime.now(UTC), max_age_s=1e9, channel_stuck_hours=1e9).reasons


def test_unreachable_at_start_is_retried_beyond_five_tries_and_shows_in_health(db, caplog) -> None:
    """Start-up waits out an outage like mid-run does: many tries, one log line per state change, health says since when."""
    caplog.set_level(logging.DEBUG)

    async def go() -> None:
        with Sandbox(token=TOKEN, spec_path=SPEC) as sandbox:
            sandbox.go_down()
            app = build_bot(CONFIG, Secrets(bot_token=TOKEN, bot_api_url=sandbox.base_url), db)
            app.loop.max_backoff = 0.02  # the real cap is a minute; the test only needs many tries
            stop = asyncio.Event()
            task = asyncio.create_task(app.loop.run(stop))
            deadline = time.monotonic() + 20
            while len([c for c in sandbox.calls if c.status == DROPPED]) < 12:
                assert not task.done(), f"the bot gave up while the Bot API was down: {task.exception()!r}"
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            reasons = _health_reasons(db)
            assert any(r.startswith("Bot API unreachable since ") for r in reasons), reasons
            sandbox.come_up()
            sandbox.send_user_message(77, "/help")
            await sandbox.wait_sent(1, chat_id=77, timeout=20)
            assert not any("Bot API unreachable" in r for r in _health_reasons(db))
            stop.set()
            await asyncio.wait_for(task, timeout=15)
            await app.aclose()
            assert sandbox.violations == []

    asyncio.run(go())
    down = [r for r in caplog.records if "Bot API unreachable" in r.getMessage()]
    back = [r for r in caplog.records if "Bot API reachable again" in r.getMessage()]
    assert len(down) == 1 and down[0].levelno == logging.WARNING
    assert len(back) == 1


def test_outage_mid_run_is_logged_once_and_ends_by_itself(db, caplog) -> None:
    """A mid-run outage gives one warning, one recovery line, and the update sent meanwhile is answered once."""
    caplog.set_level(logging.INFO)

    async def go() -> None:
        with Sandbox(token=TOKEN, spec_path=SPEC) as sandbox:
            app = build_bot(CONFIG, Secrets(bot_token=TOKEN, bot_api_url=sandbox.base_url), db)
            app.loop.max_backoff = 0.02
            stop = asyncio.Event()
            task = asyncio.create_task(app.loop.run(stop))
            sandbox.send_user_message(78, "/help")
            await sandbox.wait_sent(1, chat_id=78, timeout=20)
            sandbox.go_down()
            sandbox.send_user_message(78, "/help")
            deadline = time.monotonic() + 20
            while len([c for c in sandbox.calls if c.status == DROPPED]) < 10:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            sandbox.come_up()
            await sandbox.wait_sent(2, chat_id=78, timeout=20)
            await asyncio.sleep(0.3)
            assert len(sandbox.sent_to(78)) == 2
            stop.set()
            await asyncio.wait_for(task, timeout=15)
            await app.aclose()

    asyncio.run(go())
    assert len([r for r in caplog.records if "Bot API unreachable" in r.getMessage()]) == 1
    assert len([r for r in caplog.records if "Bot API reachable again" in r.getMessage()]) == 1


def test_service_starts_with_the_bot_api_down_and_serves_once_it_is_up(tmp_path: Path) -> None:
    """`run` wiring: with the Bot API down at start the service keeps running (heartbeat written), then serves."""
    from bot.app import run_service
    from bot.ops.health import HEARTBEAT_KEY
    from bot.storage.db import get_meta, open_db

    db_path = tmp_path / "db.sqlite"

    async def go() -> None:
        with Sandbox(token=TOKEN, spec_path=SPEC) as sandbox:
            sandbox.go_down()
            stop = asyncio.Event()
            secrets = Secrets(bot_token=TOKEN, bot_api_url=sandbox.base_url)
            service = asyncio.create_task(run_service(CONFIG, secrets, db_path, fetch=False, stop=stop))
            await asyncio.sleep(2.5)
            assert not service.done(), service.exception()
            reader = open_db(db_path)
            assert get_meta(reader, HEARTBEAT_KEY)
            assert any(r.startswith("Bot API unreachable since") for r in _health_reasons(reader))
            sandbox.come_up()
            sandbox.send_user_message(79, "/help")
            await sandbox.wait_sent(1, chat_id=79, timeout=30)
            stop.set()
            await asyncio.wait_for(service, timeout=15)
            assert not any("Bot API unreachable" in r for r in _health_reasons(reader))
            reader.close()

    asyncio.run(go())


def test_a_reply_is_not_dropped_when_sending_fails_longer_than_the_sender_retries(db) -> None:
    """An answer whose sends keep failing (5xx, an outage) is retried until it goes through, once."""

    async def go() -> None:
        with Sandbox(token=TOKEN, spec_path=SPEC) as sandbox:
            app = build_bot(CONFIG, Secrets(bot_token=TOKEN, bot_api_url=sandbox.base_url), db,
                            backoff=0.001, max_backoff=0.002)
            app.loop.max_backoff = 0.02
            stop = asyncio.Event()
            task = asyncio.create_task(app.loop.run(stop))
            sandbox.fail_next("sendMessage", 500, times=40)  # eight times what one send retries
            sandbox.send_user_message(80, "/help")
            sent = await sandbox.wait_sent(1, chat_id=80, timeout=20)
            await asyncio.sleep(0.3)
            assert len(sandbox.sent_to(80)) == 1 and "/subscribe" in sent[0].plain_text
            stop.set()
            await asyncio.wait_for(task, timeout=15)
            await app.aclose()

    asyncio.run(go())


def test_a_stale_unreachable_mark_from_a_killed_process_is_cleared_at_start(db) -> None:
    """A process killed during an outage leaves the mark; the next start that reaches the API clears it."""
    from bot.ops.health import mark_bot_api_unreachable

    mark_bot_api_unreachable(db, since=datetime(2026, 1, 1, tzinfo=UTC))
    assert any("Bot API unreachable" in r for r in _health_reasons(db))

    async def go() -> None:
        with Sandbox(token=TOKEN, spec_path=SPEC) as sandbox:
            app = build_bot(CONFIG, Secrets(bot_token=TOKEN, bot_api_url=sandbox.base_url), db)
            await app.loop.prepare()
            await app.aclose()

    asyncio.run(go())
    assert not any("Bot API unreachable" in r for r in _health_reasons(db))
