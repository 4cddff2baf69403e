"""Retrying transient failures in one place: exponential backoff, the Retry-After header and
the retry loop the web preview and the Bot API start-up use. (The sender's 429 handling --
one pause for all chats, refunded tokens -- is delivery logic and stays in the sender.)"""

from __future__ import annotations

import itertools
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def backoff_delay(retry: int, *, base: float, cap: float = math.inf) -> float:
    """Seconds to wait before retry number ``retry`` (1 for the first): ``base``, twice that,
    four times that ... but never more than ``cap``."""
    return min(cap, base * 2.0 ** min(max(retry - 1, 0), 64))


def parse_retry_after(value: str | None, *, default: float) -> float:
    """Seconds from an HTTP ``Retry-After`` header (the delta-seconds form Telegram sends);
    ``default`` when it is absent, not a number, negative or infinite."""
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    return seconds if math.isfinite(seconds) and seconds >= 0 else default


async def retrying(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int | None,
    retry_on: tuple[type[Exception], ...],
    delay: Callable[[Exception, int], float],
    pause: Callable[[float], Awaitable[None]],
    on_retry: Callable[[Exception, float], None] | None = None,
) -> T:
    """``await call()`` up to ``attempts`` times (None: until it succeeds) while it raises one
    of ``retry_on``, pausing ``delay(error, failures)`` seconds in between; the last error
    propagates. ``pause`` is injected so tests use virtual time and a stopping service can
    cut the wait short (by returning early, or raising)."""
    if attempts is not None and attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    for failures in itertools.count(1):
        try:
            return await call()
        except retry_on as error:
            if attempts is not None and failures >= attempts:
                raise
            seconds = delay(error, failures)
            if on_retry is not None:
                on_retry(error, seconds)
            await pause(seconds)
    raise AssertionError("unreachable: itertools.count never ends")
