"""The one retry helper: backoff, Retry-After, and the loop (with virtual time)."""

from __future__ import annotations

import asyncio
import math

import pytest

from bot.core.retry import backoff_delay, parse_retry_after, retrying


def test_backoff_doubles_from_its_base_up_to_the_cap() -> None:
    assert [backoff_delay(n, base=1.5) for n in (1, 2, 3, 4)] == [1.5, 3.0, 6.0, 12.0]
    assert backoff_delay(30, base=0.5, cap=60) == 60
    assert backoff_delay(10_000, base=1.0) < math.inf  # no overflow however long it goes on


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, 5.0), ("12", 12.0), ("2.5", 2.5), ("soon", 5.0), ("-3", 5.0), ("inf", 5.0), ("nan", 5.0)],
)
def test_retry_after_header(header: str | None, expected: float) -> None:
    assert parse_retry_after(header, default=5.0) == expected


class Flaky:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"failure {self.calls}")
        return "ok"


def test_retrying_pauses_between_attempts_and_returns_the_first_success() -> None:
    pauses: list[float] = []
    retried: list[str] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    flaky = Flaky(failures=2)
    result = asyncio.run(
        retrying(
            flaky, attempts=5, retry_on=(ConnectionError,), delay=lambda _e, n: backoff_delay(n, base=1.0),
            pause=pause, on_retry=lambda e, s: retried.append(f"{e} {s:g}"),
        )
    )
    assert result == "ok" and flaky.calls == 3
    assert pauses == [1.0, 2.0]
    assert retried == ["failure 1 1", "failure 2 2"]


def test_retrying_gives_up_with_the_last_error_and_does_not_retry_others() -> None:
    async def pause(seconds: float) -> None:
        pass

    flaky = Flaky(failures=10)
    with pytest.raises(ConnectionError, match="failure 3"):
        asyncio.run(retrying(flaky, attempts=3, retry_on=(ConnectionError,), delay=lambda _e, _n: 0, pause=pause))
    assert flaky.calls == 3

    async def broken() -> str:
        raise KeyError("a bug, not a transient failure")

    with pytest.raises(KeyError):
        asyncio.run(retrying(broken, attempts=3, retry_on=(ConnectionError,), delay=lambda _e, _n: 0, pause=pause))
