"""The one outgoing sender: rates, 429 pauses, retries, 403 deactivation, plain-text fallback.

Rate and pause behaviour runs in virtual time against a Telegram double with the client's
interface; error handling runs over real HTTP against the sandbox, with sleeps skipped.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from pathlib import Path
from typing import Any

import pytest
from fakes.clocks import SkipTime

from bot.devtools.sandbox import Sandbox
from bot.errors import BadRequest, Forbidden, NetworkError, RetryAfter, ServerError
from bot.storage import subscribers as subs
from bot.storage.db import open_db
from bot.telegram.botapi import BotAPI
from bot.telegram.sender import Priority, Sender, html_to_plain

SPEC = Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json"
TOKEN = "7312345678:AAH0kX9pQ_test-token-value-abcdefghijk"


class VirtualTime:
    """An asyncio clock that jumps straight to the next sleeper once every task is waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._seq), future))
        await future

    async def run(self, *coros: Any) -> list[Any]:
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(t.done() for t in tasks):
            for _ in range(20):  # let every task run until it waits on virtual time
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].cancelled():
                heapq.heappop(self._sleepers)  # a sleep cut short (the sender's dispatcher woken early)
            if self._sleepers:
                wake, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                future.set_result(None)
            elif not all(t.done() for t in tasks):
                raise RuntimeError("deadlock: tasks wait on something other than virtual time")
        return [t.result() for t in tasks]


class ScriptedTelegram:
    """Answers sendMessage like Telegram, with errors scripted per call, stamping virtual time."""

    def __init__(self, clock: VirtualTime, errors: dict[int, Exception] | None = None) -> None:
        self.clock = clock
        self.errors = errors or {}  # call number (1-based) -> error to raise
        self.calls: list[tuple[float, int, str]] = []
        self.paid: list[bool] = []
        self._ids = itertools.count(1)

    async def send_message(
        self, chat_id: int, text: str, *, parse_mode: str | None = "HTML", disable_preview: bool = True,
        allow_paid_broadcast: bool = False,
    ) -> dict[str, Any]:
        self.calls.append((self.clock.now, chat_id, text))
        self.paid.append(allow_paid_broadcast)
        error = self.errors.get(len(self.calls))
        if error is not None:
            raise error
        return {"message_id": next(self._ids), "chat": {"id": chat_id}, "text": text}


def test_per_chat_rate_spaces_messages_to_one_chat():
    """Five messages to one chat at 1/s go out one second apart."""
    vt = VirtualTime()
    api = ScriptedTelegram(vt)
    sender = Sender(api, global_rate=30, per_chat_rate=1, clock=vt.clock, sleep=vt.sleep)

    asyncio.run(vt.run(*(sender.send(7, f"m{i}") for i in range(5))))
    assert [t for t, _, _ in api.calls] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [text for _, _, text in api.calls] == ["m0", "m1", "m2", "m3", "m4"]


def test_global_rate_caps_messages_over_all_chats():
    """Sixty messages to sixty chats at 30/s never come closer than 1/30 s, so they take ~2 s."""
    vt = VirtualTime()
    api = ScriptedTelegram(vt)
    sender = Sender(api, global_rate=30, per_chat_rate=1, clock=vt.clock, sleep=vt.sleep)

    asyncio.run(vt.run(*(sender.send(chat, "x") for chat in range(60))))
    times = [t for t, _, _ in api.calls]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 60 and min(gaps) >= 1 / 30 - 1e-9
    assert times[-1] == pytest.approx(59 / 30)


def test_429_pauses_all_chats_for_retry_after():
    """After a 429 on one chat, no message to any chat goes out until retry_after has passed."""
    vt = VirtualTime()
    api = ScriptedTelegram(vt, {1: RetryAfter("Too Many Requests: retry after 5", retry_after=5, method="sendMessage")})
    sender = Sender(api, global_rate=30, per_chat_rate=1, clock=vt.clock, sleep=vt.sleep)

    results = asyncio.run(vt.run(*(sender.send(chat, "x") for chat in range(1, 6))))
    after = [t for t, _, _ in api.calls[1:]]
    assert after and min(after) >= 5.0
    assert {r.chat_id for r in results} == {1, 2, 3, 4, 5}
    assert results[0].attempts == 2 and sender.stats.rate_limited == 1


def test_retry_after_longer_than_allowed_is_raised():
    """A 429 asking for longer than max_retry_after is raised to the caller instead of waited out."""
    vt = VirtualTime()
    api = ScriptedTelegram(vt, {1: RetryAfter("Too Many Requests", retry_after=3600)})
    sender = Sender(api, max_retry_after=600, clock=vt.clock, sleep=vt.sleep)
    with pytest.raises(RetryAfter):
        asyncio.run(vt.run(sender.send(1, "x")))
    assert len(api.calls) == 1


def _accepted_times(api: ScriptedTelegram) -> list[float]:
    return [t for i, (t, _, _) in enumerate(api.calls, 1) if i not in api.errors]


def _most_in_one_second(times: list[float]) -> int:
    """The most sends that any 1-second window (t - 1, t] holds (1 µs of float tolerance: at
    exactly 29/s, 30 sends span exactly one second, which the window allows)."""
    return max((sum(1 for u in times if t - 1 + 1e-6 < u <= t) for t in times), default=0)


def test_reply_goes_ahead_of_a_queued_broadcast():
    """300 digest parts are queued; a reply asked for at 2 s is sent next, not after them."""
    vt = VirtualTime()
    api = ScriptedTelegram(vt)
    sender = Sender(api, global_rate=29, per_chat_rate=1, clock=vt.clock, sleep=vt.sleep)

    async def reply_later() -> None:
        await vt.sleep(2.0)
        await sender.send(99_999, "Welcome")

    digests = [sender.send(chat, f"part {chat}", priority=Priority.DIGEST) for chat in range(300)]
    asyncio.run(vt.run(reply_later(), *digests))
    texts = [text for _, _, text in api.calls]
    position = texts.index("Welcome")
    before = sum(1 for t, _, _ in api.calls if t < 2.0)
    assert position <= before + 1  # at most the part whose turn had already come
    assert api.calls[position][0] - 2.0 <= 1 / 29 + 1e-9
    assert position < 100 and len(texts) == 301


def test_alerts_go_ahead_of_digest_parts():
    """Alerts and digests queued together: every alert leaves before the digests waiting with it."""
    vt = VirtualTime()
    api = ScriptedTelegram(vt)
    sender = Sender(api, global_rate=29, per_chat_rate=1, clock=vt.clock, sleep=vt.sleep)
    digests = [sender.send(chat, "digest", priority=Priority.DIGEST) for chat in range(50)]
    alerts = [sender.send(1000 + chat, "alert", priority=Priority.ALERT) for chat in range(10)]
    asyncio.run(vt.run(*digests, *alerts))
    texts = [text for _, _, text in api.calls]
    assert texts[:10] == ["alert"] * 10 and texts.count("digest") == 50


def test_any_one_second_holds_at_most_global_rate_and_failures_give_their_slot_back():
    """29/s in any 1-second window, even with 5% of sends failing; failures do not cost rate."""
    vt = VirtualTime()
    errors: dict[int, Exception] = {i: ServerError("Internal Server Error", method="sendMessage") for i in range(7, 600, 20)}
    api = ScriptedTelegram(vt, errors)
    sender = Sender(api, global_rate=29, per_chat_rate=1, backoff=0.5, clock=vt.clock, sleep=vt.sleep)
    asyncio.run(vt.run(*(sender.send(chat, "x") for chat in range(580))))
    accepted = _accepted_times(api)
    assert len(accepted) == 580 and _most_in_one_second(accepted) <= 29
    achieved = (len(accepted) - 1) / (accepted[-1] - accepted[0])
    assert achieved >= 28.5


def test_429_lowers_the_pace_which_then_creeps_back():
    """AIMD: after a 429 the pace drops below 29/s, and some seconds later it is back to 29/s."""
    vt = VirtualTime()
    api = ScriptedTelegram(vt, {40: RetryAfter("Too Many Requests: retry after 1", retry_after=1)})
    sender = Sender(api, global_rate=29, per_chat_rate=1, slowdown=0.5, recovery=1.0, clock=vt.clock, sleep=vt.sleep)
    asyncio.run(vt.run(*(sender.send(chat, "x") for chat in range(900))))
    times = [t for t, _, _ in api.calls]
    limited_at = times[39]
    just_after = [t for t in times if limited_at + 1 <= t < limited_at + 2]
    much_later = [t for t in times if limited_at + 20 <= t < limited_at + 21]
    assert min(times[40:]) >= limited_at + 1  # retry_after honoured
    assert 14 <= len(just_after) <= 17  # about half of 29
    assert len(much_later) in (28, 29, 30)
    assert sender.stats.rate_limited == 1


def test_paid_broadcast_sets_the_flag_and_uses_its_own_pace():
    """Digest parts sent as paid broadcast carry allow_paid_broadcast and go at up to 1,000/s."""
    vt = VirtualTime()
    api = ScriptedTelegram(vt)
    sender = Sender(api, global_rate=29, per_chat_rate=1, paid_rate=1000, clock=vt.clock, sleep=vt.sleep)
    paid = [sender.send(chat, "d", priority=Priority.DIGEST, paid_broadcast=True) for chat in range(500)]
    asyncio.run(vt.run(*paid, sender.send(7_000, "reply")))
    assert api.paid.count(True) == 500 and api.paid[[t for _, _, t in api.calls].index("reply")] is False
    paid_times = [t for (t, _, text) in api.calls if text == "d"]
    assert paid_times[-1] < 0.6 and _most_in_one_second(paid_times) <= 1000


def test_html_to_plain_drops_tags_and_decodes_entities():
    """The plain fallback shows the text a reader would see, with literal < > & restored."""
    assert html_to_plain("<b>Oil</b> &amp; gas &lt;3 <a href=\"x\">link</a>") == "Oil & gas <3 link"


# --- over real HTTP against the sandbox ----------------------------------------------------


@pytest.fixture
def sandbox():
    with Sandbox(token=TOKEN, spec_path=SPEC) as sb:
        yield sb
        assert sb.violations == []


def _send(sandbox: Sandbox, chat_id: int, text: str, **options: Any):
    """Send one message through a fresh client and sender; return (result or error, SkipTime)."""
    skip = SkipTime()

    async def go():
        async with BotAPI(TOKEN, base_url=sandbox.base_url) as api:
            sender = Sender(api, global_rate=1000, per_chat_rate=1000, clock=skip.clock, sleep=skip.sleep, **options)
            try:
                return await sender.send(chat_id, text)
            except Exception as e:
                return e

    return asyncio.run(go()), skip


def test_500s_are_retried_with_growing_backoff(sandbox):
    """Two 500s then success: delivered once, after backoffs of 0.5 s and 1 s."""
    sandbox.fail_next("sendMessage", 500, times=2)
    result, skip = _send(sandbox, 1, "hello")
    assert result.attempts == 3 and result.message_id == sandbox.sent_to(1)[0].message_id
    assert skip.long_sleeps() == [0.5, 1.0]
    assert len(sandbox.sent_to(1)) == 1


def test_retries_are_bounded(sandbox):
    """Endless 500s stop after max_retries attempts with ServerError, reported to on_error once."""
    sandbox.fail_next("sendMessage", 500, times=100)
    errors: list[tuple[int, Exception]] = []
    result, _ = _send(sandbox, 1, "hello", max_retries=3, on_error=lambda chat, e: errors.append((chat, e)))
    assert isinstance(result, ServerError)
    assert len(sandbox.calls_of("sendMessage")) == 3
    assert [chat for chat, _ in errors] == [1]


def test_429_over_http_waits_and_retries(sandbox):
    """Telegram's 429 with retry_after=3 makes the sender wait 3 s and then deliver."""
    sandbox.fail_next("sendMessage", 429, retry_after=3)
    result, skip = _send(sandbox, 1, "hello")
    assert result.attempts == 2
    assert sum(skip.long_sleeps()) == pytest.approx(3, abs=0.05)


def test_403_deactivates_the_subscriber_and_is_not_retried(sandbox, tmp_path):
    """A blocked chat gets one attempt, Forbidden, and its subscriber is marked inactive."""
    db = open_db(tmp_path / "t.sqlite")
    subs.register(db, 55)
    sandbox.block(55, notify=False)
    result, _ = _send(sandbox, 55, "hello", on_blocked=lambda chat: subs.set_active(db, chat, False))
    assert isinstance(result, Forbidden)
    assert len(sandbox.calls_of("sendMessage")) == 1
    assert subs.get_subscriber(db, 55).active is False


def test_unparsable_html_is_resent_once_as_plain_text(sandbox, caplog):
    """Telegram rejects the HTML; the same text goes out once more without markup, and it is logged."""
    caplog.set_level(logging.WARNING, logger="bot.telegram.sender")
    result, _ = _send(sandbox, 3, "<b>Oil</b> &amp; gas <blink>now</blink>")
    assert result.plain_fallback and result.attempts == 2
    sent = sandbox.sent_to(3)
    assert [(m.text, m.parse_mode) for m in sent] == [("Oil & gas now", None)]
    assert any("plain text" in r.getMessage() for r in caplog.records)


def test_other_bad_requests_are_raised_at_once(sandbox):
    """A message that is too long is not retried: one call, BadRequest.is_too_long."""
    result, _ = _send(sandbox, 3, "x" * 5000)
    assert isinstance(result, BadRequest) and result.is_too_long
    assert len(sandbox.calls_of("sendMessage")) == 1


def test_network_errors_are_retried_then_raised():
    """With nothing listening, the sender tries max_retries times and raises NetworkError."""
    skip = SkipTime()

    async def go():
        async with BotAPI(TOKEN, base_url="http://127.0.0.1:9") as api:
            sender = Sender(api, max_retries=2, per_chat_rate=1000, clock=skip.clock, sleep=skip.sleep)
            await sender.send(1, "x")

    with pytest.raises(NetworkError):
        asyncio.run(go())
    assert skip.long_sleeps() == [0.5]
