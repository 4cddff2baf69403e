"""The one outgoing sender: every message the bot sends goes through ``Sender.send``.

    sender = Sender.from_config(api, config.bot, on_blocked=..., on_error=...)
    result = await sender.send(chat_id, html_text)          # -> SendResult
    result.message_id                                       # Telegram's id of the message

``send(chat_id, text, *, parse_mode="HTML", disable_preview=True, reply_markup=None,
disable_notification=False, priority=Priority.REPLY, paid_broadcast=False) -> SendResult`` is
the stable entry point (digest delivery calls it). It is safe to call from many tasks at once.

What it guarantees:

- Priority: waiting messages are let out highest priority first -- command replies
  (``Priority.REPLY``, the default), then alerts, then digest parts -- so a user's ``/start``
  never queues behind a broadcast: it waits at most for the messages already on the wire.
- Rate: at most ``global_rate`` messages in any 1-second window over all chats (default 29,
  one under Telegram's ~30/s, so request latency jitter cannot push 31 into some second of
  Telegram's clock), spaced evenly, and ``per_chat_rate`` per chat. The window counts the
  messages Telegram accepted or that are still in flight: a failed request (5xx, network
  error, 429) gives its slot back. A guard keeps the sends in flight plus those answered in
  the last second under Telegram's own limit (30; 1,000 paid), so even a stalled event loop
  that bunches sends cannot trip a 429 (see ``Pace``).
- 429 Too Many Requests: all sending pauses for ``retry_after`` (Telegram's word), and the
  pace drops (x ``slowdown``) then creeps back by ``recovery`` messages/s every second up to
  ``global_rate`` (AIMD): after a 429 the sender does not go straight back to the rate that
  tripped it.
- Paid broadcast: ``paid_broadcast=True`` sends with Telegram's ``allow_paid_broadcast``
  (billed in Stars) in a lane of its own paced at ``paid_rate`` (up to 1,000/s); only when
  the operator set ``[bot] paid_broadcast = true``.
- 5xx and network errors: the first retry after a short jittered delay (``first_retry``
  to twice that: a lone 500 is one failed request, and the retry waits its turn in the
  window like any send, so retrying soon costs no rate, while a long fixed wait leaves the
  window idle at the end of a broadcast), further ones with exponential backoff (``backoff``
  doubling, at most ``max_backoff`` seconds: repeated failures mean Telegram is in trouble),
  ``max_retries`` attempts in all; then the last error is raised.
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
import bisect
import html
import inspect
import itertools
import logging
import math
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol

from bot.config import BotConfig
from bot.errors import BadRequest, BotAPIError, Forbidden, NetworkError, RetryAfter, ServerError

log = logging.getLogger(__name__)

_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?>")
WINDOW_SECONDS = 1.0  # Telegram's limits are "per second": we count any 1-second window
CATCH_UP_SECONDS = 0.25  # lateness after which the pace's schedule restarts
TELEGRAM_LIMIT = 30  # messages Telegram accepts from a bot in any second (free)
TELEGRAM_PAID_LIMIT = 1000  # ... with allow_paid_broadcast


class Priority(IntEnum):
    """Which waiting message goes first (lower first)."""

    REPLY = 0  # answers to commands: a user is waiting
    ALERT = 1  # instant alerts
    DIGEST = 2  # digest parts: a broadcast, minutes long at scale


class MessageAPI(Protocol):
    """What the sender needs from ``bot.telegram.botapi.BotAPI``."""

    async def send_message(
        self, chat_id: int, text: str, *, parse_mode: str | None = ..., disable_preview: bool = ...,
        disable_notification: bool | None = ..., reply_markup: dict[str, Any] | None = ...,
        allow_paid_broadcast: bool = ...,
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


@dataclass(slots=True)
class Pace:
    """One lane's global pace, and the guard that keeps it under Telegram's limit.

    The pace: consecutive sends ``1/rate`` apart, at most ``floor(rate)`` in any 1-second
    window of their start times, and AIMD after a 429 (``slow_down``, then ``recovery``
    messages/s regained per second). The even spacing absorbs the network's latency
    jitter: at 29/s, 31 sends span 1.03 s, so Telegram sees no 31 in one of its seconds
    unless their latencies differ by more than 34 ms.

    The guard, for when they do (a stalled event loop, a busy machine): Telegram counts a
    message when it accepts it, somewhere between our request and its answer. A send may
    start only while the sends in flight plus those answered in the last second number
    under ``limit`` (Telegram's: 30, or 1,000 for paid broadcasts). An answer counts from
    its arrival less the fastest round trip seen: Telegram's second for our next send
    starts at least a one-way trip after we send it, and it accepted each earlier message
    at least a one-way trip before answering, so that is all it can still count. That
    makes a 429 all but impossible whatever the latency (only the split of the fastest
    trip between there and back is assumed), at little cost while the pace is even.

    Only sends that are in flight or were accepted count: a failed one is taken out again
    (``settle(..., accepted=False)``) and its slot given back, since Telegram counts only
    what it accepted.
    """

    ceiling: float  # the configured rate, messages/s
    limit: int = 30  # Telegram's: messages accepted in any 1-second window
    slowdown: float = 0.8  # rate multiplier after a 429
    recovery: float = 2.0  # messages/s regained per second without a 429
    rate: float = 0.0
    changed_at: float = 0.0
    next_at: float = 0.0  # the next send's place in the even schedule
    window: deque[float] = field(default_factory=deque)  # start times of counted sends
    in_flight: int = 0
    answered: deque[float] = field(default_factory=deque)  # earliest acceptance times
    fastest: float = float("inf")  # the fastest round trip seen, seconds

    def __post_init__(self) -> None:
        self.rate = self.rate or self.ceiling
        self.limit = max(self.limit, math.ceil(self.ceiling))

    def current_rate(self, now: float) -> float:
        if self.rate < self.ceiling:
            self.rate = min(self.ceiling, self.rate + self.recovery * max(0.0, now - self.changed_at))
        self.changed_at = now
        return self.rate

    def ready_at(self, now: float) -> float:
        """The earliest time the next send may start (``inf``: when a send in flight is answered)."""
        while self.window and self.window[0] <= now - WINDOW_SECONDS:
            self.window.popleft()
        while self.answered and self.answered[0] <= now - WINDOW_SECONDS:
            self.answered.popleft()
        at = max(now, self.next_at)
        limit = max(1, int(self.current_rate(now) + 1e-9))
        if len(self.window) >= limit:
            at = max(at, self.window[len(self.window) - limit] + WINDOW_SECONDS)
        over = self.in_flight + len(self.answered) - (self.limit - 1)
        if over > 0:
            if over > len(self.answered):
                return float("inf")
            at = max(at, self.answered[over - 1] + WINDOW_SECONDS)
        return at

    def take(self, now: float) -> float:
        """Count a send starting now; returns its stamp (for ``settle``)."""
        # A turn that came late (a sleep overshoots, the event loop was busy writing a batch
        # of digests) keeps its place in the schedule, so the sends after it catch up: those
        # delays would otherwise add up to several percent of the rate. The window (of the
        # real start times) and the guard keep the catching up within the limits. After a
        # long stall (no one was waiting) the schedule starts afresh.
        late = now - self.next_at
        base = self.next_at if 0 <= late < CATCH_UP_SECONDS else now
        self.next_at = base + 1.0 / self.rate
        self.window.append(now)
        self.in_flight += 1
        return now

    def settle(self, stamp: float, *, started: float, now: float, accepted: bool) -> None:
        """The send stamped ``stamp`` (started at ``started``) was answered now."""
        self.in_flight = max(0, self.in_flight - 1)
        if accepted:
            self.fastest = min(self.fastest, max(0.0, now - started))
            self.answered.append(now - self.fastest)
            return
        try:
            self.window.remove(stamp)
        except ValueError:
            return  # already out of the window
        # Its place in the schedule comes back, even if that is now past: the next sends
        # catch up (within the window and the guard) instead of the slot being lost -- but
        # never closer than half an interval after the last send.
        interval = 1.0 / self.rate
        last = self.window[-1] if self.window else now - interval
        self.next_at = max(self.next_at - interval, last + interval / 2)

    def slow_down(self, now: float) -> None:
        self.rate = max(1.0, self.current_rate(now) * self.slowdown)
        self.changed_at = now


@dataclass(slots=True)
class _Waiter:
    priority: int
    seq: int
    chat_id: int
    pace: Pace
    granted: asyncio.Future[float]

    @property
    def order(self) -> tuple[int, int]:
        return (self.priority, self.seq)


class Sender:
    """Rate-limited, prioritised, retrying sender over a Bot API client (see module docstring)."""

    def __init__(
        self,
        api: MessageAPI,
        *,
        global_rate: float = 29.0,
        per_chat_rate: float = 1.0,
        paid_rate: float = 1000.0,
        slowdown: float = 0.8,
        recovery: float = 2.0,
        max_retries: int = 5,
        first_retry: float = 0.05,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 600.0,
        on_blocked: OnBlocked | None = None,
        on_error: OnError | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if global_rate <= 0 or per_chat_rate <= 0 or paid_rate <= 0:
            raise ValueError("send rates must be greater than 0")
        if not 0 < slowdown <= 1 or recovery <= 0:
            raise ValueError("slowdown must be in (0, 1] and recovery greater than 0")
        self._api = api
        self.pace = Pace(global_rate, limit=TELEGRAM_LIMIT, slowdown=slowdown, recovery=recovery)
        self.paid_pace = Pace(
            paid_rate, limit=TELEGRAM_PAID_LIMIT, slowdown=slowdown, recovery=recovery * paid_rate / global_rate
        )
        self._chat_interval = 1.0 / per_chat_rate
        self._max_retries = max(1, max_retries)
        self._first_retry = first_retry
        self._backoff = backoff
        self._jitter = random.Random()  # spreads first retries, so failures at one moment do not retry in step
        self._max_backoff = max_backoff
        self._max_retry_after = max_retry_after
        self._on_blocked = on_blocked
        self._on_error = on_error
        self._clock = clock
        self._sleep = sleep
        self._waiters: list[_Waiter] = []  # sorted by (priority, arrival)
        self._seq = itertools.count()
        self._wake: asyncio.Event | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0
        self.stats = SendStats()

    @classmethod
    def from_config(cls, api: MessageAPI, config: BotConfig, **options: Any) -> Sender:
        return cls(
            api, global_rate=config.global_rate, per_chat_rate=config.per_chat_rate,
            paid_rate=config.paid_broadcast_rate, max_retries=config.max_retries, **options,
        )

    @property
    def paused_until(self) -> float:
        """Clock time before which nothing is sent (after a 429)."""
        return self._paused_until

    @property
    def waiting(self) -> int:
        """Messages waiting for their turn."""
        return len(self._waiters)

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        disable_preview: bool = True,
        reply_markup: dict[str, Any] | None = None,
        disable_notification: bool = False,
        priority: int = Priority.REPLY,
        paid_broadcast: bool = False,
    ) -> SendResult:
        """Send one message; return its ``SendResult`` or raise a ``bot.telegram.botapi`` error.

        ``reply_markup`` (an InlineKeyboardMarkup) and ``disable_notification`` go to Telegram as
        they are; only the fake APIs of old tests lack them, so they are passed only when set.
        ``priority``: replies (default) go ahead of alerts, alerts ahead of digest parts.
        ``paid_broadcast``: Telegram's ``allow_paid_broadcast``, in the paid lane's pace."""
        extra: dict[str, Any] = {}
        if reply_markup is not None:
            extra["reply_markup"] = reply_markup
        if disable_notification:
            extra["disable_notification"] = True
        attempt = 0
        body, mode, fallback = text, parse_mode, False
        pace = self.paid_pace if paid_broadcast else self.pace
        if paid_broadcast:
            extra["allow_paid_broadcast"] = True
        while True:
            attempt += 1
            stamp = await self._turn(chat_id, priority, pace)
            try:
                message = await self._request(
                    pace, stamp, chat_id, body, parse_mode=mode, disable_preview=disable_preview, **extra
                )
            except RetryAfter as e:
                self.stats.rate_limited += 1
                pace.slow_down(self._clock())
                self._pause(e.retry_after)
                log.warning(
                    "Telegram rate limit: all sending paused for %s s, then %.1f msg/s", e.retry_after, pace.rate
                )
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
                if attempt >= self._max_retries:
                    await self._failed(chat_id, e)
                    raise
                delay = self._retry_delay(attempt)
                log.warning("send to chat %s failed (%s); retry %d in %.2f s", chat_id, e, attempt, delay)
                self.stats.retries += 1
                await self._sleep(delay)
            except BotAPIError as e:
                await self._failed(chat_id, e)
                raise
            else:
                self.stats.sent += 1
                return SendResult(chat_id, int(message["message_id"]), attempt, fallback)

    def _retry_delay(self, attempt: int) -> float:
        """Seconds before retrying a 5xx or network error after ``attempt`` failed requests."""
        if attempt == 1:
            return self._first_retry * (1.0 + self._jitter.random())
        return min(self._max_backoff, self._backoff * 2.0 ** (attempt - 2))

    async def _request(self, pace: Pace, stamp: float, chat_id: int, text: str, **options: Any) -> dict[str, Any]:
        """One sendMessage; the pace learns whether Telegram accepted it."""
        started = self._clock()
        try:
            message = await self._api.send_message(chat_id, text, **options)
        except BaseException:
            # Telegram counts only what it accepted: an error answer (or none) gives the slot back.
            self._settle(chat_id, pace, stamp, started, accepted=False)
            raise
        self._settle(chat_id, pace, stamp, started, accepted=True)
        return message

    # --- whose turn it is ---

    async def _turn(self, chat_id: int, priority: int, pace: Pace) -> float:
        """Wait until this message may start; return its stamp in ``pace``'s window."""
        granted: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(int(priority), next(self._seq), chat_id, pace, granted)
        bisect.insort(self._waiters, waiter, key=lambda w: w.order)
        if self._dispatcher is None or self._dispatcher.done() or self._wake is None:
            self._wake = asyncio.Event()
            self._dispatcher = asyncio.create_task(self._dispatch(), name="sender-dispatch")
        self._wake.set()
        try:
            return await granted
        except asyncio.CancelledError:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            elif granted.done() and not granted.cancelled():
                now = self._clock()
                pace.settle(granted.result(), started=now, now=now, accepted=False)
            raise

    async def _dispatch(self) -> None:
        """Let waiting messages out one at a time: the first in priority order whose chat and
        lane are free now; otherwise sleep until one is (or a new message arrives)."""
        assert self._wake is not None
        while self._waiters:
            now = self._clock()
            wake_at = float("inf")
            chosen: _Waiter | None = None
            for waiter in self._waiters:
                if waiter.granted.done():
                    continue  # cancelled; removed by its task
                at = max(self._paused_until, self._next_chat.get(waiter.chat_id, 0.0), waiter.pace.ready_at(now))
                if at <= now:
                    chosen = waiter
                    break
                wake_at = min(wake_at, at)
            if chosen is not None:
                self._waiters.remove(chosen)
                self._next_chat[chosen.chat_id] = now + self._chat_interval
                if len(self._next_chat) > 10_000:
                    self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
                chosen.granted.set_result(chosen.pace.take(now))
                continue
            self._wake.clear()
            if wake_at == float("inf"):
                await self._wake.wait()
                continue
            await self._sleep_or_wake(wake_at - now)

    async def _sleep_or_wake(self, seconds: float) -> None:
        """Sleep ``seconds`` (the injected sleep), cut short when a new message arrives."""
        assert self._wake is not None
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                if not task.done():
                    task.cancel()

    def _settle(self, chat_id: int, pace: Pace, stamp: float, started: float, *, accepted: bool) -> None:
        """A request was answered (or failed): account for it, and give back the slots of
        one that delivered nothing (5xx, network error, 429, 400...) -- without that, a 5%
        error rate would cost 5% of the throughput."""
        now = self._clock()
        pace.settle(stamp, started=started, now=now, accepted=accepted)
        if not accepted and chat_id in self._next_chat:
            self._next_chat[chat_id] = max(now, self._next_chat[chat_id] - self._chat_interval)
        if self._wake is not None:
            self._wake.set()

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def _failed(self, chat_id: int, error: BotAPIError) -> None:
        self.stats.failed += 1
        if self._on_error is not None:
            await _maybe_await(self._on_error(chat_id, error))


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if inspect.isawaitable(value):
        await value
