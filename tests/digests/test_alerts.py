"""Instant alerts for urgent subscriptions, against the real ingest path and the loopback Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.core.models import Post, StoredPost, Story
from bot.devtools.sandbox import Sandbox
from bot.digests.alerts import select_alert_stories
from bot.digests.delivery import DigestService
from bot.storage import subscribers
from bot.storage.ingest import Ingestor
from bot.telegram.botapi import BotAPI
from bot.telegram.sender import Sender

TOKEN = "123456:alerts-test"
CONFIG = Config()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, spec_path=Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json") as sb:
        yield sb
        assert sb.violations == []



def post(message: int, text: str, *, hours_ago: float = 0.5, channel: int = 1, edited: bool = False) -> Post:
    now = datetime.now(UTC)
    return Post(channel_id=channel, message_id=message, date=now - timedelta(hours=hours_ago), text=text,
                channel_username=f"chan{channel}", channel_title=f"Channel {channel}",
                edited_at=now if edited else None)


def ingest(db: Any, *posts: Post) -> None:
    Ingestor(db, CONFIG).ingest(posts)


def alert_pass(db: Any, sandbox: Sandbox) -> Any:
    """One collection cycle's alert pass, at the real current time (ingest stamps real time too)."""
    async def main() -> Any:
        async with BotAPI(TOKEN, base_url=sandbox.base_url) as api:
            svc = DigestService(db, Sender(api, global_rate=1000, per_chat_rate=1000), CONFIG,
                                now=lambda: datetime.now(UTC))
            return await svc.send_alerts()

    return asyncio.run(main())


def digest_tick(db: Any, sandbox: Sandbox, now: datetime) -> Any:
    async def main() -> Any:
        async with BotAPI(TOKEN, base_url=sandbox.base_url) as api:
            svc = DigestService(db, Sender(api, global_rate=1000, per_chat_rate=1000), CONFIG, now=lambda: now)
            return await svc.tick()

    return asyncio.run(main())


def setup_chat(db: Any, chat_id: int, *, urgent: str = "earthquake", normal: str | None = None) -> None:
    # Registered with a digest time already passed today, so a digest tick is due at once.
    subscribers.register(db, chat_id, default_time="00:00", now=datetime.now(UTC) - timedelta(days=3))
    subscribers.add_subscription(db, chat_id, urgent, urgent=True)
    if normal:
        subscribers.add_subscription(db, chat_id, normal)


def test_new_matching_story_alerts_once_and_is_not_repeated_in_the_digest(db: Any, sandbox: Sandbox) -> None:
    """A new story matching /alert is pushed in the next pass, not again, and not in the digest."""
    setup_chat(db, 101, normal="earthquake OR city")
    alert_pass(db, sandbox)
    ingest(db, post(1, "Earthquake hits the coast\nMagnitude 6"), post(2, "City council meets\nagenda"))
    report = alert_pass(db, sandbox)
    assert report.parts_sent == 1
    [alert] = [m.plain_text for m in sandbox.sent_to(101)]
    assert alert.startswith("🔔 Alert") and "Earthquake hits the coast" in alert and "City council" not in alert
    alert_pass(db, sandbox)
    assert len(sandbox.sent_to(101)) == 1
    digest_tick(db, sandbox, datetime.now(UTC) + timedelta(seconds=5))
    digest = sandbox.sent_to(101)[-1].plain_text
    assert "City council meets" in digest and "Earthquake hits" not in digest


def test_several_stories_arriving_together_are_batched(db: Any, sandbox: Sandbox) -> None:
    """Three matching stories in one cycle make one alert message that lists all three."""
    setup_chat(db, 102)
    alert_pass(db, sandbox)
    ingest(db, *(post(10 + i, f"Earthquake report {i}\nDetails {i} differ {'x' * i}") for i in range(3)))
    alert_pass(db, sandbox)
    [alert] = [m.plain_text for m in sandbox.sent_to(102)]
    assert "3 new stories" in alert and all(f"Earthquake report {i}" in alert for i in range(3))


def test_edit_that_adds_a_match_alerts_once(db: Any, sandbox: Sandbox) -> None:
    """A post edited to mention the alert term alerts once; later edits of it never alert again."""
    setup_chat(db, 103)
    alert_pass(db, sandbox)
    ingest(db, post(20, "Tremor felt downtown\nNo damage"))
    alert_pass(db, sandbox)
    assert sandbox.sent_to(103) == []
    ingest(db, post(20, "Tremor felt downtown\nIt was an earthquake, no damage", edited=True))
    alert_pass(db, sandbox)
    alert_pass(db, sandbox)
    ingest(db, post(20, "Tremor felt downtown\nIt was an earthquake, minor damage", edited=True))
    alert_pass(db, sandbox)
    assert len(sandbox.sent_to(103)) == 1
    assert "Tremor felt downtown" in sandbox.sent_to(103)[0].plain_text


def test_edit_that_adds_no_match_never_alerts(db: Any, sandbox: Sandbox) -> None:
    """Editing a non-matching post into another non-matching text sends nothing."""
    setup_chat(db, 104)
    alert_pass(db, sandbox)
    ingest(db, post(30, "Storm warning\nWind"))
    alert_pass(db, sandbox)
    ingest(db, post(30, "Storm warning\nStrong wind and rain", edited=True))
    alert_pass(db, sandbox)
    assert sandbox.sent_to(104) == []


def test_old_story_arriving_late_does_not_alert(db: Any, sandbox: Sandbox) -> None:
    """A backfilled post from three days ago matching /alert is not pushed."""
    setup_chat(db, 105)
    alert_pass(db, sandbox)
    ingest(db, post(40, "Earthquake archive\nold news", hours_ago=72))
    alert_pass(db, sandbox)
    assert sandbox.sent_to(105) == []


def test_only_urgent_subscriptions_alert(db: Any, sandbox: Sandbox) -> None:
    """A story matching only an ordinary subscription waits for the digest."""
    setup_chat(db, 106, urgent="volcano", normal="earthquake")
    alert_pass(db, sandbox)
    ingest(db, post(50, "Earthquake again\nsmall"))
    alert_pass(db, sandbox)
    assert sandbox.sent_to(106) == []


def test_select_alert_stories_filters_given_and_old() -> None:
    """Pure selection: matched, not already given, first published after the cut-off; oldest first."""
    now = datetime(2024, 6, 10, tzinfo=UTC)

    def s(i: int, hours: float) -> Story:
        return Story(i, (StoredPost(Post(1, i, now - timedelta(hours=hours), "t"), i),))

    chosen = select_alert_stories([s(1, 1), s(2, 2), s(3, 3), s(4, 48)], matched={1, 2, 4}, already={2},
                                  not_before=now - timedelta(hours=24))
    assert [c.id for c in chosen] == [1]
