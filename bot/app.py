"""`tgdigest run`: the one place that wires the service together.

One asyncio process, one SQLite connection (used only from the event loop), and an
APScheduler ``AsyncIOScheduler`` running coroutine jobs on that loop:

    collect      every [collect] interval (+jitter): Telethon / web preview → ingest; then alerts
    digests      every [digest] tick_seconds: build due digests into the outbox, send pending parts
    heartbeat    every [service] heartbeat_seconds: what `tgdigest health` reads
    housekeeping hourly: delete posts past [service] retention_days

plus the bot's long-polling update loop as a task. SIGTERM/SIGINT stop it gracefully: no
new work is taken, digest parts in flight finish and are marked sent (up to DRAIN_SECONDS;
one still going then stays pending in the outbox for the next start), Telethon is
disconnected, the database closed. A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Config, Secrets
from bot.core.clock import to_iso, utcnow
from bot.errors import ConfigError, TgdigestError
from bot.storage.db import open_db

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.digests.delivery import BuiltDigest

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 10.0
DRAIN_SECONDS = 5.0  # how long a graceful stop waits for digest parts in flight


def check_can_run(config: Config, secrets: Secrets, *, fetch: bool) -> None:
    """Fail before anything starts when the environment cannot run the service."""
    problems = []
    if not secrets.bot_token:
        problems.append("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token")
    if fetch and not secrets.has_telegram_api and (
        not config.channels or any(c.source != "web" for c in config.channels)
    ):
        problems.append(
            "TELEGRAM_API_ID / TELEGRAM_API_HASH are not set: get them at https://my.telegram.org "
            "and run `tgdigest login`, use source = \"web\" for public channels, "
            "or start with --no-fetch (posts then come from `tgdigest import`)"
        )
    if problems:
        raise ConfigError(problems)


def delete_expired_posts(db: Database, *, now: datetime, retention_days: float) -> int:
    """Housekeeping: drop posts (and stories left empty) older than the retention period.

    Delivery records are kept: they are what stops a story being sent twice, and they cost
    a few bytes per story and subscriber.
    """
    if retention_days <= 0:  # the config check refuses this; never let it empty the database
        raise ConfigError(f"service.retention_days: {retention_days} would delete every post (must be > 0)")
    cutoff = to_iso(now - timedelta(days=retention_days))
    with db.atomic():
        deleted = db.execute("DELETE FROM posts WHERE date < ?", [cutoff]).rowcount
        db.execute("DELETE FROM stories WHERE id NOT IN (SELECT DISTINCT story_id FROM posts WHERE story_id IS NOT NULL)")
    return deleted


async def run_service(
    config: Config,
    secrets: Secrets,
    db_path: Path,
    *,
    fetch: bool = True,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until ``stop`` is set (or SIGTERM/SIGINT when started from the CLI)."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.collect.collector import (
        Collector,
        channels_needing,
        default_source_name,
        open_sources,
        sync_configured_channels,
    )
    from bot.collect.jobs import add_collection_job, collection_interval
    from bot.digests.delivery import DigestService
    from bot.ops.health import write_heartbeat
    from bot.ops.lock import acquire_lock
    from bot.storage.ingest import Ingestor
    from bot.telegram.updates import build_bot

    check_can_run(config, secrets, fetch=fetch)
    stop = stop or asyncio.Event()
    data_dir = db_path.parent
    async with AsyncExitStack() as stack:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            lock = acquire_lock(data_dir)
            stack.callback(lock.release)
            db = open_db(db_path)
        except OSError as e:
            raise TgdigestError(f"{data_dir}: cannot use the data directory: {e.strerror or e}") from None
        except sqlite3.DatabaseError as e:
            raise TgdigestError(f"{db_path}: cannot open the database: {e}") from None
        stack.callback(db.close)
        ingestor = Ingestor(db, config)
        ingestor.ensure_categories_current()
        sync_configured_channels(db, config)

        digests: DigestService | None = None

        async def digest_now(chat_id: int) -> str | None:
            assert digests is not None
            return await digests.digest_now(chat_id)

        bot = build_bot(config, secrets, db, digest_now=digest_now)
        stack.push_async_callback(bot.aclose)
        # With collection on, the first digests wait (up to 15 min) for the first pass, so a
        # catch-up digest after downtime includes what was posted while we were down.
        digests = DigestService(
            db, bot.sender, config, owner=f"pid{os.getpid()}",
            wait_for_collection=timedelta(minutes=15) if fetch else None,
        )

        scheduler = AsyncIOScheduler(timezone=UTC)
        digests.install(scheduler)

        def heartbeat() -> None:
            write_heartbeat(db, now=utcnow(), fetching=fetch)

        async def heartbeat_job() -> None:
            heartbeat()

        async def housekeeping_job() -> None:
            now = utcnow()
            removed = delete_expired_posts(db, now=now, retention_days=config.service.retention_days)
            ingestor.forget_before(now - timedelta(days=config.service.retention_days))
            if removed:
                log.info("housekeeping: deleted %d posts older than %s days", removed, config.service.retention_days)

        heartbeat()
        scheduler.add_job(heartbeat_job, "interval", seconds=config.service.heartbeat_seconds, id="heartbeat",
                          max_instances=1, coalesce=True, misfire_grace_time=config.service.heartbeat_seconds)
        scheduler.add_job(housekeeping_job, "interval", hours=1, id="housekeeping", max_instances=1,
                          coalesce=True, misfire_grace_time=3600, next_run_time=utcnow() + timedelta(minutes=1))

        if fetch:
            default = default_source_name(secrets.has_telegram_api)
            sources = await stack.enter_async_context(
                # Telethon is connected whenever credentials exist, so a channel an admin
                # adds later through the bot is collected without a restart.
                open_sources(
                    db, config, secrets, data_dir=data_dir,
                    needed=channels_needing(db, default) | ({"telethon"} if secrets.has_telegram_api else set()),
                )
            )
            collector = Collector(db, config, ingestor, sources, default_source=default)

            async def collect_job() -> None:
                report = await collector.run_once()
                if report.new or report.updated:
                    log.info("collected %d new and %d edited posts", report.new, report.updated)
                await digests.send_alerts()

            add_collection_job(
                scheduler, collect_job, minutes=collection_interval(config), jitter=config.collect.jitter,
                misfire_grace=config.collect.misfire_grace,
            )

        # The scheduler starts before the bot has reached the Bot API: an API unreachable at
        # start is waited out by the update loop while the heartbeat, collection and the outbox
        # go on (a wrong token still ends the run: the update loop raises Unauthorized).
        scheduler.start()
        stack.callback(scheduler.shutdown, wait=False)
        bot_task = asyncio.create_task(bot.loop.run(stop), name="bot-updates")
        log.info("tgdigest running (fetch %s); stop with SIGTERM or Ctrl-C", "on" if fetch else "off")
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({bot_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if bot_task in done and (failure := bot_task.exception()) is not None:
            stopper.cancel()
            raise failure
        # Graceful stop: no new jobs, let the update loop finish the update in hand, and let
        # digest parts in flight finish and be marked sent (bounded), so a part Telegram has
        # already received is never cancelled unmarked and sent again after the restart.
        scheduler.pause()
        stop.set()

        async def finish_updates() -> None:
            try:
                await asyncio.wait_for(bot_task, timeout=SHUTDOWN_SECONDS - 2)
            except (TimeoutError, asyncio.CancelledError):
                bot_task.cancel()

        await asyncio.gather(finish_updates(), digests.stop_sending(timeout=DRAIN_SECONDS))
        log.info("tgdigest stopped")


def run_forever(config: Config, secrets: Secrets, db_path: Path, *, fetch: bool) -> None:
    """Run the service in a new event loop with signal handling (PID 1 safe)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals_seen = 0

        def on_signal(signum: int) -> None:
            nonlocal signals_seen
            signals_seen += 1
            if signals_seen > 1:
                log.warning("second signal: exiting now")
                os._exit(130)
            log.info("received %s: shutting down", signal.Signals(signum).name)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        await run_service(config, secrets, db_path, fetch=fetch, stop=stop)

    # Digests are built in a worker thread; a shorter GIL switch interval (default 5 ms) lets
    # the event loop -- the bot's answers, the paced sends -- take its turn sooner meanwhile.
    sys.setswitchinterval(0.001)
    asyncio.run(main())


def run_digest_command(
    db: Database, config: Config, secrets: Secrets, *, chat_id: int, dry_run: bool
) -> BuiltDigest:
    """`tgdigest digest`: build one chat's digest now; unless ``dry_run``, store and send it
    through the Bot API (needs TELEGRAM_BOT_TOKEN). Raises UnknownSubscriberError, ConfigError,
    BotAPIError."""
    from bot.digests.delivery import DigestService, NoSender

    if dry_run:
        return DigestService(db, NoSender(), config).build_now(chat_id, dry_run=True)
    if not secrets.bot_token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: it is needed to send (use --dry-run to only print)")
    token = secrets.bot_token

    async def send() -> BuiltDigest:
        from bot.telegram.botapi import BotAPI
        from bot.telegram.sender import Sender

        async with BotAPI(token, base_url=secrets.bot_api_url) as api:
            service = DigestService(db, Sender.from_config(api, config.bot), config, owner="cli")
            return await service.send_now(chat_id)

    return asyncio.run(send())
