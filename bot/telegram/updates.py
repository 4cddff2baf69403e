"""The bot's receive loop: long-poll ``getUpdates``, handle each update, send the replies.

At start: ``deleteWebhook`` (polling and a webhook exclude each other), ``setMyCommands``
(Telegram's command menu), ``getMe`` (our @username, for commands in groups).

The offset lives in the database (meta key ``bot_update_offset``) and is written right after
an update is handled, before its replies go out; so a restart never re-handles an update whose
changes were stored, and never loses one that was not confirmed. (A crash in between handling
and storing the offset re-handles that one update; every command is idempotent for that.)

Replies go through the shared ``Sender`` in a task per chat, so a slow or rate-limited chat
never holds up the others, and one chat's replies keep their order.

Errors: ``Unauthorized`` (wrong token) ends the loop; network, 5xx, 429 and 409 errors are
waited out with backoff (capped at ``max_backoff``), at start as much as while polling: a host
that boots before its network, or a proxy that restarts, only delays the bot. An outage is
logged once when it starts and once when it ends, and shows in ``tgdigest health`` meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlite_utils import Database

from bot.config import Config, Secrets
from bot.core.buttons import to_markup
from bot.core.retry import backoff_delay, retrying
from bot.errors import BadRequest, BotAPIError, ConfigError, Conflict, NetworkError, RetryAfter, ServerError
from bot.ops.health import mark_bot_api_reachable, mark_bot_api_unreachable
from bot.storage import subscribers as subs
from bot.storage.db import get_meta, open_db, set_meta
from bot.telegram.botapi import ALLOWED_UPDATES, BotAPI
from bot.telegram.commands import IMPORT_MAX_BYTES, MENU, CommandHandler, DigestNow, StoryLookup
from bot.telegram.messages import FileRef, Reply, parse_update
from bot.telegram.sender import Sender

if TYPE_CHECKING:
    from bot.digests.delivery import DigestService

log = logging.getLogger(__name__)

T = TypeVar("T")

OFFSET_KEY = "bot_update_offset"
SORRY = "Sorry, something went wrong on my side. Please try again later."


def load_offset(db: Database) -> int | None:
    value = get_meta(db, OFFSET_KEY)
    return int(value) if value and value.lstrip("-").isdigit() else None


class UpdateLoop:
    """Polls and dispatches; ``await loop.run(stop)`` until ``stop`` is set."""

    def __init__(
        self,
        api: BotAPI,
        db: Database,
        handler: CommandHandler,
        sender: Sender,
        *,
        poll_timeout: int = 30,
        max_backoff: float = 60.0,
    ) -> None:
        self.api = api
        self.db = db
        self.handler = handler
        self.sender = sender
        self.poll_timeout = poll_timeout
        self.max_backoff = max_backoff
        self._chat_tasks: dict[int, asyncio.Task[None]] = {}
        self._answers: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._prepared = False
        self._prepare_lock = asyncio.Lock()
        self._unreachable_since: datetime | None = None
        self.handled = 0

    async def prepare(self) -> None:
        """deleteWebhook, setMyCommands and getMe; transient failures are retried. Once only:
        ``run`` skips it if the caller already prepared (e.g. to fail fast before other jobs)."""
        async with self._prepare_lock:
            if not self._prepared:
                await self._prepare()

    async def _prepare(self) -> None:
        await self._retrying(lambda: self.api.delete_webhook(drop_pending_updates=False), attempts=None)
        try:
            await self._retrying(lambda: self.api.set_my_commands(MENU))
        except BotAPIError as e:
            log.warning("could not set the command menu: %s", e)  # cosmetic; the bot works without
        me = await self._retrying(self.api.get_me, attempts=None)
        mark_bot_api_reachable(self.db)  # also clears a mark left by a process killed mid-outage
        if isinstance(me, dict) and isinstance(me.get("username"), str):
            self.handler.bot_username = me["username"]
            log.info("bot @%s ready", me["username"])
        self._prepared = True

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Prepare, then poll until ``stop`` is set (or ``Unauthorized`` is raised)."""
        self._stop = stop or asyncio.Event()
        try:
            try:
                await self.prepare()
            except _Stopped:
                return
            failures = 0
            while not self._stop.is_set():
                try:
                    updates = await self._until_stopped(
                        self.api.get_updates(
                            offset=load_offset(self.db), timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
                        )
                    )
                except (NetworkError, ServerError, Conflict, RetryAfter) as e:
                    failures += 1
                    delay = self._delay(e, failures)
                    self._failed(e, f"getUpdates failed ({e}); polling again in {delay:.0f} s")
                    await self._pause(delay)
                    continue
                if updates is None:
                    break
                self._reachable()
                failures = 0
                await self.process(updates)
        finally:
            await self.drain()

    async def process(self, updates: list[dict[str, Any]]) -> None:
        """Handle a batch in update_id order, storing the offset after each."""
        offset = load_offset(self.db) or 0
        for update in sorted(updates, key=lambda u: u.get("update_id", 0) if isinstance(u, dict) else 0):
            update_id = update.get("update_id") if isinstance(update, dict) else None
            if not isinstance(update_id, int) or update_id < offset:
                continue  # already handled before a restart, or not an update at all
            replies = await self._handle(update)
            set_meta(self.db, OFFSET_KEY, str(update_id + 1))
            offset = update_id + 1
            self.handled += 1
            incoming = parse_update(update)
            if incoming.kind == "callback" and incoming.callback_id:
                # Answered at once (the button spins until then), in a task of its own: not
                # behind this chat's rate-limited messages, and without holding up the next
                # update for a round trip to Telegram.
                notice = next((r.text for r in replies if r.notice), "")
                self._answer(incoming.callback_id, notice)
            for reply in replies:
                if not reply.notice:
                    self._queue(reply)

    async def drain(self) -> None:
        """Wait for every reply and press answer already queued to be sent (or to fail)."""
        while self._chat_tasks or self._answers:
            await asyncio.gather(*list(self._chat_tasks.values()), *self._answers, return_exceptions=True)

    def _answer(self, callback_id: str, notice: str) -> None:
        async def answer() -> None:
            try:
                await self.api.answer_callback_query(callback_id, text=notice or None)
            except BotAPIError as e:
                log.info("answerCallbackQuery failed: %s", e)

        task = asyncio.create_task(answer())
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _handle(self, update: dict[str, Any]) -> list[Reply]:
        try:
            return await self.handler.handle_update(update)
        except Exception:
            # A bug in one command must neither stop the bot nor be retried for ever: log it
            # with its traceback, apologise, and move the offset past it like any update.
            log.exception("handling update %s failed", update.get("update_id"))
            incoming = parse_update(update)
            if incoming.kind == "message" and incoming.chat_id is not None and incoming.chat_type == "private":
                return [Reply(incoming.chat_id, SORRY)]
            if incoming.kind == "callback" and incoming.chat_id is not None:
                return [Reply(incoming.chat_id, SORRY, notice=True)]  # the press's answer says so
            return []

    def _queue(self, reply: Reply) -> None:
        previous = self._chat_tasks.get(reply.chat_id)
        task = asyncio.create_task(self._send_after(previous, reply))
        self._chat_tasks[reply.chat_id] = task

        def forget(done: asyncio.Task[None], chat_id: int = reply.chat_id) -> None:
            if self._chat_tasks.get(chat_id) is done:
                del self._chat_tasks[chat_id]

        task.add_done_callback(forget)

    async def _send_after(self, previous: asyncio.Task[None] | None, reply: Reply) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        # The update is already confirmed (its offset stored), so a reply given up on is an
        # answer lost: network and 5xx failures are retried past the sender's own retries, for
        # as long as an outage lasts (a graceful stop bounds it by cancelling).
        failures = 0
        while True:
            try:
                await self._deliver(reply)
                return
            except (NetworkError, ServerError) as e:
                failures += 1
                delay = self._delay(e, failures)
                log.debug("reply to chat %s not sent yet (%s); trying again in %.1f s", reply.chat_id, e, delay)
                await asyncio.sleep(delay)
            except BotAPIError as e:
                log.warning("reply to chat %s not delivered: %s", reply.chat_id, e)
                return

    async def _deliver(self, reply: Reply) -> None:
        """Send one reply: a message through the sender, a document, or an edit in place."""
        markup = to_markup(reply.buttons) if reply.buttons else None
        if reply.document is not None:
            await self.api.send_document(
                reply.chat_id, reply.document.file_name, reply.document.content, caption=reply.text or None,
                reply_markup=markup,
            )
            return
        if reply.edit_message_id is not None:
            try:
                if reply.keyboard_only:
                    await self.api.edit_message_reply_markup(reply.chat_id, reply.edit_message_id, reply_markup=markup)
                else:
                    await self.api.edit_message_text(reply.chat_id, reply.edit_message_id, reply.text, reply_markup=markup)
                return
            except BadRequest as e:
                if "not modified" in e.description.lower():
                    return  # pressed twice: it already shows this
                gone = "to edit not found" in e.description.lower() or "can't be edited" in e.description.lower()
                if reply.keyboard_only or not gone:
                    raise
                # The message is gone (deleted by the user) or too old: show the screen anew.
        await self.sender.send(reply.chat_id, reply.text, reply_markup=markup)

    async def _until_stopped(self, call: Awaitable[T]) -> T | None:
        """``await call`` unless ``stop`` is set first (then cancel it and return None)."""
        task = asyncio.ensure_future(call)
        stopper = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if task in done:
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    def _delay(self, error: Exception, failures: int) -> float:
        if isinstance(error, RetryAfter):
            return error.retry_after
        return backoff_delay(failures + 1, base=0.5, cap=self.max_backoff)

    async def _retrying(self, call: Callable[[], Awaitable[T]], attempts: int | None = 5) -> T:
        """``await call()``, retrying transient failures; ``attempts=None``: until it works
        or ``stop`` is set (then ``_Stopped``)."""

        def noted(error: Exception, seconds: float) -> None:
            self._failed(error, f"Bot API call failed ({error}); retrying in {seconds:.0f} s")

        async def pause(seconds: float) -> None:
            await self._pause(seconds)
            if self._stop.is_set():
                raise _Stopped

        result = await retrying(
            call, attempts=attempts, retry_on=(NetworkError, ServerError, RetryAfter),
            delay=self._delay, pause=pause, on_retry=noted,
        )
        self._reachable()
        return result

    def _failed(self, error: Exception, message: str) -> None:
        """Log a failed call: an outage once when it starts (then at debug level), others as they come."""
        if not isinstance(error, (NetworkError, ServerError)):
            log.warning("%s", message)  # 429 and 409 say something specific each time
            return
        if self._unreachable_since is not None:
            log.debug("%s", message)
            return
        self._unreachable_since = datetime.now(UTC)
        log.warning("Bot API unreachable (%s); retrying with backoff up to %.0f s until it answers",
                    error, self.max_backoff)
        mark_bot_api_unreachable(self.db, since=self._unreachable_since)

    def _reachable(self) -> None:
        if self._unreachable_since is None:
            return
        lasted = (datetime.now(UTC) - self._unreachable_since).total_seconds()
        self._unreachable_since = None
        log.info("Bot API reachable again after %.0f s", lasted)
        mark_bot_api_reachable(self.db)


class _Stopped(Exception):
    """``stop`` was set while a call was being retried."""


@dataclass
class BotApp:
    """The running bot's parts; the service shares ``sender`` with digest delivery."""

    api: BotAPI
    sender: Sender
    handler: CommandHandler
    loop: UpdateLoop

    async def aclose(self) -> None:
        await self.api.aclose()


def build_bot(
    config: Config,
    secrets: Secrets,
    db: Database,
    *,
    stories: StoryLookup | None = None,
    digest_now: DigestNow | None = None,
    **sender_options: Any,
) -> BotApp:
    """Wire client, sender, handler and loop over an open database. Raises ConfigError."""
    if not secrets.bot_token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token")
    try:
        api = BotAPI(secrets.bot_token, base_url=secrets.bot_api_url)
    except ValueError as e:
        raise ConfigError(f"TELEGRAM_BOT_TOKEN: {e}") from None
    if stories is None:
        from bot.storage.store import Store

        stories = Store(db)

    def blocked(chat_id: int) -> None:
        subs.set_active(db, chat_id, False)

    def failed(chat_id: int, error: BotAPIError) -> None:
        subs.record_send_error(db, chat_id, str(error))

    sender = Sender.from_config(api, config.bot, on_blocked=blocked, on_error=failed, **sender_options)
    async def fetch_file(file: FileRef) -> bytes:
        found = await api.get_file(file.file_id)
        return await api.download_file(found["file_path"], max_bytes=IMPORT_MAX_BYTES)

    handler = CommandHandler(db, config, stories=stories, digest_now=digest_now, fetch_file=fetch_file)
    loop = UpdateLoop(api, db, handler, sender, poll_timeout=config.bot.poll_timeout)
    return BotApp(api, sender, handler, loop)


async def run_bot(
    config: Config,
    secrets: Secrets,
    db_path: str | Path,
    *,
    stop: asyncio.Event | None = None,
    digest_now: DigestNow | None = None,
) -> None:
    """Run the bot alone (polling and commands) until ``stop`` is set or the task is cancelled.

    /digest works here too (it sends what is new now); the scheduled daily digests, alerts
    and collection need ``tgdigest run``.
    """
    db = open_db(db_path)
    try:
        service: DigestService | None = None

        async def on_demand(chat_id: int) -> str | None:
            assert service is not None  # set below, before the loop can call this
            return await service.digest_now(chat_id)

        app = build_bot(config, secrets, db, digest_now=digest_now or on_demand)
        if digest_now is None:
            from bot.digests.delivery import DigestService

            service = DigestService(db, app.sender, config)
        try:
            await app.loop.run(stop)
        finally:
            await app.aclose()
    finally:
        db.close()
