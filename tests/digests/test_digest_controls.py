"""Buttons under digests, compact digests paged in one message, mutes and silent alerts,
through the real service, sender and the loopback Bot API (every request spec-checked)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.core.models import Mutes, Post, StoredPost, Story
from bot.devtools.sandbox import Sandbox
from bot.digests.delivery import DigestService
from bot.digests.selection import apply_mutes
from bot.storage import subscribers
from bot.storage.ingest import Ingestor
from bot.telegram.botapi import BotAPI
from bot.telegram.sender import Sender

TOKEN = "123456:controls-test"
CONFIG = Config()
DAY1 = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, spec_path=Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json") as sb:
        yield sb
        assert sb.violations == []


def p(channel: int, message: int, when: datetime, text: str) -> Post:
    return Post(channel_id=channel, message_id=message, date=when, text=text,
                channel_username=f"chan{channel}", channel_title=f"Channel {channel}")


def service_run(db: Any, sandbox: Sandbox, now: datetime, what: str) -> Any:
    async def main() -> Any:
        async with BotAPI(TOKEN, base_url=sandbox.base_url) as api:
            svc = DigestService(db, Sender(api, global_rate=1000, per_chat_rate=1000), CONFIG, now=lambda: now)
            return await (svc.tick() if what == "tick" else svc.send_alerts())

    return asyncio.run(main())


def big(db: Any, n: int = 40) -> None:
    Ingestor(db, CONFIG).ingest(
        [p(1, 100 + i, DAY1 - timedelta(minutes=600 - i),
           f"Election item {i}\n" + "The parliament debated the election law and officials said the vote is due on Friday. " * 8)
         for i in range(n)]
    )


def subscribe(db: Any, chat_id: int, query: str, *, style: str = "full", mode: str = "digest") -> None:
    subscribers.register(db, chat_id, now=DAY1 - timedelta(days=2))
    subscribers.add_subscription(db, chat_id, query, urgent=mode != "digest", silent=mode == "silent")
    subscribers.set_digest_style(db, chat_id, style)


def test_a_full_digest_has_its_buttons_under_the_last_part(db: Any, sandbox: Sandbox) -> None:
    subscribe(db, 31, "election")
    big(db)
    service_run(db, sandbox, DAY1, "tick")
    sent = sandbox.sent_to(31)
    assert len(sent) >= 2
    assert all(m.buttons == [] for m in sent[:-1])
    labels = [label for label, _ in sent[-1].buttons]
    assert labels == ["🔇 Mute channel", "🙈 Hide story", "⏸ Pause", "⚙ Settings"]
    assert all(len(data.encode()) <= 64 for _, data in sent[-1].buttons)
    assert not any(m.disable_notification for m in sent)


def test_a_compact_digest_is_one_message_with_pages_and_every_story_delivered(db: Any, sandbox: Sandbox) -> None:
    subscribe(db, 32, "election", style="compact")
    big(db)
    service_run(db, sandbox, DAY1, "tick")
    [message] = sandbox.sent_to(32)
    digest_id, pages = db.execute(
        "SELECT d.id, count(p.seq) FROM digests d JOIN digest_parts p ON p.digest_id = d.id WHERE d.chat_id = 32"
    ).fetchone()
    assert pages >= 2
    assert message.buttons[:2] == [(f"1/{pages}", "noop"), ("▶", f"pg:{digest_id}:1")]
    assert message.text == db.execute("SELECT text FROM digest_parts WHERE digest_id = ? AND seq = 0", [digest_id]).fetchone()[0]
    undelivered = db.execute("SELECT count(*) FROM deliveries WHERE chat_id = 32 AND delivered_at IS NULL").fetchone()[0]
    assert undelivered == 0
    assert db.execute("SELECT status FROM digests WHERE id = ?", [digest_id]).fetchone()[0] == "sent"


def test_a_muted_channel_and_a_hidden_story_stay_out_of_the_digest(db: Any, sandbox: Sandbox) -> None:
    subscribe(db, 33, "election")
    Ingestor(db, CONFIG).ingest([
        p(1, 1, DAY1 - timedelta(hours=5), "Election called\nParliament dissolved, election in June."),
        p(2, 1, DAY1 - timedelta(hours=4), "Election called\nParliament dissolved, election in June."),
        p(2, 2, DAY1 - timedelta(hours=3), "Election debate\nOnly channel two has this."),
        p(1, 3, DAY1 - timedelta(hours=2), "Election poll\nA poll from channel one."),
        p(1, 4, DAY1 - timedelta(hours=1), "Election recount\nA long-running story."),
    ])
    recount = db.execute("SELECT story_id FROM posts WHERE channel_id = 1 AND message_id = 4").fetchone()[0]
    subscribers.add_mute(db, 33, "channel", 2, "@chan2")
    subscribers.add_mute(db, 33, "story", recount, "Election recount")
    service_run(db, sandbox, DAY1, "tick")
    [digest] = [m.plain_text for m in sandbox.sent_to(33)]
    assert "Election called" in digest and "also in Channel 2" not in digest  # told by channel 1 too
    assert "Election debate" not in digest and "Election recount" not in digest
    assert "Election poll" in digest


def test_silent_subscriptions_alert_without_a_notification(db: Any, sandbox: Sandbox) -> None:
    now = datetime.now(UTC)
    subscribers.register(db, 34)
    subscribers.add_subscription(db, 34, "pipeline", urgent=True, silent=True)
    subscribers.register(db, 35)
    subscribers.add_subscription(db, 35, "pipeline", urgent=True)
    service_run(db, sandbox, now, "alerts")  # the first pass only sets the cursor
    Ingestor(db, CONFIG).ingest([p(1, 1, now - timedelta(minutes=20), "Pipeline explosion\nFire at the pumping station.")])
    service_run(db, sandbox, datetime.now(UTC), "alerts")
    [quiet] = sandbox.sent_to(34)
    [loud] = sandbox.sent_to(35)
    assert quiet.disable_notification and not loud.disable_notification
    assert "Pipeline explosion" in quiet.plain_text and quiet.buttons[0][0] == "🔇 Mute channel"


def _story(story_id: int, *channels: int) -> Story:
    when = DAY1
    return Story(story_id, tuple(StoredPost(p(c, story_id, when + timedelta(minutes=i), f"s{story_id}"), story_id)
                                 for i, c in enumerate(channels)))


def test_apply_mutes_takes_out_channels_and_stories() -> None:
    stories = [_story(1, 1, 2), _story(2, 2), _story(3, 3)]
    kept = apply_mutes(stories, Mutes(channels=frozenset({2}), stories=frozenset({3})))
    assert [s.id for s in kept] == [1]
    assert [sp.post.channel_id for sp in kept[0].posts] == [1]
    assert apply_mutes(stories, Mutes()) == stories
    only_rep_muted = apply_mutes([_story(4, 1, 2)], Mutes(channels=frozenset({1})))
    assert only_rep_muted[0].representative.post.channel_id == 2


def test_mutes_apply_to_alerts(db: Any, sandbox: Sandbox) -> None:
    now = datetime.now(UTC)
    subscribers.register(db, 36)
    subscribers.add_subscription(db, 36, "pipeline", urgent=True)
    subscribers.add_mute(db, 36, "channel", 7, "@chan7")
    service_run(db, sandbox, now, "alerts")  # the first pass only sets the cursor
    Ingestor(db, CONFIG).ingest([
        p(7, 1, now - timedelta(minutes=20), "Pipeline leak\nOnly the muted channel has this."),
        p(8, 1, now - timedelta(minutes=10), "Pipeline repaired\nThe crews finished the work, officials said."),
    ])
    service_run(db, sandbox, datetime.now(UTC), "alerts")
    [alert] = sandbox.sent_to(36)
    assert "Pipeline repaired" in alert.plain_text and "Pipeline leak" not in alert.plain_text
