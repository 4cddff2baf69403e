"""The one outgoing sender: every message the bot sends goes through ``Sender.send``.

    sender = Sender.from_config(api, config.bot, on_blocked=..., on_error=...)
    result = await sender.send(chat_id, html_text)          # -> SendResult
    result.message_id                                       # Telegram's id of the message

``send(chat_id, text, *, parse_mode="HTML", disable_preview=True, reply_markup=None,
disable_notification=False) -> SendResult`` is the
stable entry point (digest delivery calls it). It is safe to call from many tasks at once.

What it guarantees:

- Rate: at most ``global_rate`` messages/s over all chats and ``per_chat_rate`` per chat.
  Messages are spaced evenly (no bursts), in the order ``send`` was called.
- 429 Too Many Requests: *all* sending pauses for ``retry_after``; then the message is retried.
- 5xx and network errors: retried with exponential backoff (``backoff`` doubling, at most
  ``max_backoff`` seconds), ``max_retries`` attempts in all; then the last error is raised.
  A failed attempt gives its rate slot back (Telegram counts only messages it accepted).
- 403 Forbidden (the user blocked the bot): ``on_blocked(chat_id)`` runs (it deactivates the
  subscriber) and ``Forbidden`` is raised at once; never retried.
- 400 "can't parse entities": resent once as plain text (tags stripped, entities decoded),
  with a warning in the log; ``SendResult.plain_fallback`` is then True.
- Any other 400 (chat not found, message too long), 401, 409: raised at once.

Errors that leave ``send`` are the ``bot.telegram.botapi`` types (``Forbidden``, ``BadRequest``,
``RetryAfter``, ``ServerError``, ``NetworkError``, ...); ``on_error(chat_id, error)`` is called
for each of them first (the bot records it for ``/stats``). A 500 is retried even though
Telegram may in rare cases have delivered the message: Telegram gives no way to tell.

The clock and sleep are injected so tests run in virtual time.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.config import BotConfig
from bot.errors import BadRequest, BotAPIError, Forbidden, NetworkError, RetryAfter, ServerError

log = logging.getLogger(__name__)

_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?>")


class MessageAPI(Protocol):
    """What the sender needs from ``bot.telegram.botapi.BotAPI``."""

    async def send_message(
        self, chat_id: int, text: str, *, parse_mode: str | None = ..., disable_preview: bool = ...,
        disable_notification: bool | None = ..., reply_markup: dict[str, Any] | None = ...,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class SendResult:
    chat_id: int
    message_id: int
    attempts: int  # requests made, 1 when it went through at once
    plain_fallback: bool = False  # Telegram rejected the HTML; it went out as plain text


@dataclass(slots=True)
class SendStats:
    sent: int = 0
    retries: int = 0
    rate_limited: int = 0  # 429s received
    plain_fallbacks: int = 0
    failed: int = 0


def html_to_plain(text: str) -> str:
    """``text`` without Telegram HTML: tags dropped, entities decoded (for the plain resend)."""
    return html.unescape(_TAG.sub("", text))


OnBlocked = Callable[[int], Awaitable[None] | None]
OnError = Callable[[int, BotAPIError], Awaitable[None] | None]


class Sender:
    """Rate-limited, retrying sender over a Bot API client (see module docstring)."""

    def __init__(
        self,
        api: MessageAPI,
        *,
        global_rate: float = 30.0,
        per_chat_rate: float = 1.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 600.0,
        on_blocked: OnBlocked | None = None,
        on_error: OnError | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if global_rate <= 0 or per_chat_rate <= 0:
            raise ValueError("send rates must be greater than 0")
        self._api = api
        self._global_interval = 1.0 / global_rate
        self._chat_interval = 1.0 / per_chat_rate
        self._max_retries = max(1, max_retries)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._max_retry_after = max_retry_after
        self._on_blocked = on_blocked
        self._on_error = on_error
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0
        self.stats = SendStats()

    @classmethod
    def from_config(cls, api: MessageAPI, config: BotConfig, **options: Any) -> Sender:
        return cls(
            api, global_rate=config.global_rate, per_chat_rate=config.per_chat_rate,
            max_retries=config.max_retries, **options,
        )

    @property
    def paused_until(self) -> float:
        """Clock time before which nothing is sent (after a 429)."""
        return self._paused_until

    async def send(
        self, chat_id: int, text: str, *, parse_mode: str | None = "HTML", disable_preview: bool = True,
        reply_markup: dict[str, Any] | None = None, disable_notification: bool = False,
    ) -> SendResult:
        """Send one message; return its ``SendResult`` or raise a ``bot.telegram.botapi`` error.

        ``reply_markup`` (an InlineKeyboardMarkup) and ``disable_notification`` go to Telegram as
        they are; only the fake APIs of old tests lack them, so they are passed only when set."""
        extra: dict[str, Any] = {}
        if reply_markup is not None:
            extra["reply_markup"] = reply_markup
        if disable_notification:
            extra["disable_notification"] = True
        attempt = 0
        body, mode, fallback = text, parse_mode, False
        while True:
            attempt += 1
            await self._wait_turn(chat_id)
            try:
                message = await self._api.send_message(
                    chat_id, body, parse_mode=mode, disable_preview=disable_preview, **extra
                )
            except RetryAfter as e:
                self.stats.rate_limited += 1
                self._pause(e.retry_after)
                log.warning("Telegram rate limit: all sending paused for %s s", e.retry_after)
                if attempt >= self._max_retries or e.retry_after > self._max_retry_after:
                    await self._failed(chat_id, e)
                    raise
                self.stats.retries += 1
            except Forbidden as e:
                log.info("chat %s blocked the bot (%s); deactivating it", chat_id, e.description)
                if self._on_blocked is not None:
                    await _maybe_await(self._on_blocked(chat_id))
                await self._failed(chat_id, e)
                raise
            except BadRequest as e:
                if e.is_parse_error and mode is not None and not fallback:
                    plain = html_to_plain(text)
                    if plain.strip():
                        log.warning(
                            "chat %s: Telegram could not parse our HTML (%s); resending as plain text",
                            chat_id, e.description,
                        )
                        body, mode, fallback = plain, None, True
                        self.stats.plain_fallbacks += 1
                        continue
                await self._failed(chat_id, e)
                raise
            except (ServerError, NetworkError) as e:
                self._refund(chat_id)
                if attempt >= self._max_retries:
                    await self._failed(chat_id, e)
                    raise
                delay = min(self._max_backoff, self._backoff * 2 ** (attempt - 1))
                log.warning("send to chat %s failed (%s); retry %d in %.1f s", chat_id, e, attempt, delay)
                self.stats.retries += 1
                await self._sleep(delay)
            except BotAPIError as e:
                await self._failed(chat_id, e)
                raise
            else:
                self.stats.sent += 1
                return SendResult(chat_id, int(message["message_id"]), attempt, fallback)

    async def _wait_turn(self, chat_id: int) -> None:
        """Sleep until this message may go: its slot in both rates, and no 429 pause."""
        while True:
            async with self._lock:
                now = self._clock()
                at = max(now, self._next_global, self._next_chat.get(chat_id, 0.0), self._paused_until)
                self._next_global = at + self._global_interval
                self._next_chat[chat_id] = at + self._chat_interval
                if len(self._next_chat) > 10_000:
                    self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
            if at > now:
                await self._sleep(at - now)
            # A 429 may have arrived while we slept: then wait for the pause like everyone.
            if self._clock() >= self._paused_until:
                return

    def _refund(self, chat_id: int) -> None:
        """Give back the slot of a request that delivered nothing (5xx, network error).

        Telegram's limits count messages it accepted; without this, a 5% error rate would cost
        5% of the throughput. At worst two later messages share an instant, a burst Telegram
        allows.
        """
        now = self._clock()
        self._next_global = max(now, self._next_global - self._global_interval)
        if chat_id in self._next_chat:
            self._next_chat[chat_id] = max(now, self._next_chat[chat_id] - self._chat_interval)

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def _failed(self, chat_id: int, error: BotAPIError) -> None:
        self.stats.failed += 1
        if self._on_error is not None:
            await _maybe_await(self._on_error(chat_id, error))


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if inspect.isawaitable(value):
        await value
