"""Time for tests: sleeps that return at once and are recorded, and a clock that skips them."""

from __future__ import annotations

import asyncio
import time


class Sleeps:
    """Records requested sleeps instead of sleeping (tests never wait on the clock)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class SkipTime:
    """Real clock plus every requested sleep, which returns at once (and is recorded)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += max(0.0, seconds)
        await asyncio.sleep(0)

    def long_sleeps(self) -> list[float]:
        """The sleeps that were real waits (backoff, retry_after), not rate-limit nudges."""
        return [s for s in self.sleeps if s >= 0.1]
