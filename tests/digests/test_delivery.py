"""Digest building and exactly-once delivery through the real sender to the loopback Bot API."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import CategoryConfig, Config
from bot.core.models import Post
from bot.devtools.sandbox import Sandbox
from bot.digests.delivery import DigestService
from bot.digests.outbox import Outbox
from bot.storage import subscribers
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor
from bot.telegram.botapi import BotAPI
from bot.telegram.sender import Sender

TOKEN = "123456:delivery-test"
CONFIG = Config(
    categories=(CategoryConfig("Politics", "election OR parliament"), CategoryConfig("Economy", "bank OR inflation")),
)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def set(self, t: datetime) -> None:
        self.t = t


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # One server for the module (each test uses its own chat ids): stopping one takes 0.5 s.
    with Sandbox(token=TOKEN, spec_path=Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json") as sb:
        yield sb
        assert sb.violations == []



def ingest(db: Any, *posts: Post) -> None:
    Ingestor(db, CONFIG).ingest(posts)


def p(channel: int, message: int, when: datetime, text: str) -> Post:
    return Post(channel_id=channel, message_id=message, date=when, text=text,
                channel_username=f"chan{channel}", channel_title=f"Channel {channel}")


def subscribe(db: Any, chat_id: int, *queries: str, tz: str = "UTC", at: str = "09:00", urgent: bool = False,
              now: datetime | None = None) -> None:
    subscribers.register(db, chat_id, default_time=at, default_timezone=tz, now=now)
    for q in queries:
        subscribers.add_subscription(db, chat_id, q, urgent=urgent)


def with_service(
    db: Any, sandbox: Sandbox, clock: Clock, fn: Callable[[DigestService], Awaitable[Any]], **sender_options: Any
) -> Any:
    async def main() -> Any:
        async with BotAPI(TOKEN, base_url=sandbox.base_url) as api:
            options = {"global_rate": 1000.0, "per_chat_rate": 1000.0, "backoff": 0.01, **sender_options}
            sender = Sender(api, **options)
            return await fn(DigestService(db, sender, CONFIG, now=clock))

    return asyncio.run(main())


def tick(db: Any, sandbox: Sandbox, clock: Clock, **sender_options: Any) -> Any:
    async def go(svc: DigestService) -> Any:
        return await svc.tick()

    return with_service(db, sandbox, clock, go, **sender_options)


def texts(sandbox: Sandbox, chat_id: int) -> list[str]:
    return [m.plain_text for m in sandbox.sent_to(chat_id)]


DAY1 = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)


def test_each_story_once_and_none_repeated_in_the_next_digest(db: Any, sandbox: Sandbox) -> None:
    """A story told by two channels is listed once; the next day's digest holds only what is new."""
    subscribe(db, 7, "election", now=DAY1 - timedelta(days=2))
    ingest(
        db,
        p(1, 1, DAY1 - timedelta(hours=5), "Election called\nParliament dissolved, election in June."),
        p(2, 9, DAY1 - timedelta(hours=4), "Election called\nParliament dissolved, election in June."),
        p(1, 2, DAY1 - timedelta(hours=3), "Bank and election\nThe bank comments on the election."),
        p(1, 3, DAY1 - timedelta(hours=2), "Weather\nSunny."),
    )
    clock = Clock(DAY1)
    report = tick(db, sandbox, clock)
    assert len(report.built) == 1
    [day1] = texts(sandbox, 7)
    assert day1.count("Election called") == 1 and "also in Channel 2" in day1
    assert "Bank and election" in day1 and "Weather" not in day1

    ingest(
        db,
        p(3, 5, DAY1 + timedelta(hours=1), "Election called\nParliament dissolved, election in June."),
        p(1, 4, DAY1 + timedelta(hours=6), "Election debate tonight\nCandidates meet."),
    )
    clock.set(DAY1 + timedelta(days=1))
    tick(db, sandbox, clock)
    day2 = texts(sandbox, 7)[1]
    assert "Election debate tonight" in day2
    assert "Election called" not in day2 and "Bank and election" not in day2


def test_sections_follow_config_order(db: Any, sandbox: Sandbox) -> None:
    """A story in Politics and Economy is listed once under Politics; Other comes last."""
    subscribe(db, 6, "news", now=DAY1 - timedelta(days=2))
    ingest(
        db,
        p(1, 1, DAY1 - timedelta(hours=5), "Plain news\nnothing else"),
        p(1, 2, DAY1 - timedelta(hours=4), "Bank news\ninflation up"),
        p(1, 3, DAY1 - timedelta(hours=3), "Election and bank news\nboth"),
    )
    tick(db, sandbox, Clock(DAY1))
    [text] = texts(sandbox, 6)
    assert text.index("Politics") < text.index("Election and bank news") < text.index("Economy")
    assert text.index("Economy") < text.index("Bank news") < text.index("Other") < text.index("Plain news")
    assert text.count("Election and bank news") == 1


def test_empty_digest_is_not_sent_and_digest_now_says_since_when(db: Any, sandbox: Sandbox) -> None:
    """Nothing matched: no message on schedule, the day is recorded, /digest answers in local time."""
    subscribe(db, 8, "volcano", tz="Europe/Berlin", at="11:00", now=DAY1 - timedelta(days=2))
    ingest(db, p(1, 1, DAY1 - timedelta(hours=2), "Election\nnothing about mountains"))
    clock = Clock(DAY1)  # 11:00 in Berlin
    report = tick(db, sandbox, clock)
    assert report.empty == [8] and sandbox.sent_to(8) == []
    row = db.execute("SELECT last_digest_local_date, last_digest_at FROM subscribers WHERE chat_id = 8").fetchone()
    assert row[0] == "2024-06-10"
    clock.set(DAY1 + timedelta(hours=3))

    async def now(svc: DigestService) -> str | None:
        return await svc.digest_now(8)

    assert with_service(db, sandbox, clock, now) == "Nothing new since 11:00."
    assert sandbox.sent_to(8) == []


def test_digest_now_sends_and_the_scheduled_digest_does_not_repeat_it(db: Any, sandbox: Sandbox) -> None:
    """/digest sends what is new; the next scheduled digest lists only stories after it."""
    subscribe(db, 9, "election", now=DAY1 - timedelta(days=2))
    ingest(db, p(1, 1, DAY1 - timedelta(hours=2), "Election one\nfirst"))
    clock = Clock(DAY1 - timedelta(hours=1))

    async def now(svc: DigestService) -> str | None:
        return await svc.digest_now(9)

    assert with_service(db, sandbox, clock, now) is None
    ingest(db, p(1, 2, DAY1 - timedelta(minutes=30), "Election two\nsecond"))
    clock.set(DAY1)
    tick(db, sandbox, clock)
    first, second = texts(sandbox, 9)
    assert "Election one" in first
    assert "Election two" in second and "Election one" not in second


def test_outbox_is_stored_before_sending_and_resumed_after_failures(db: Any, sandbox: Sandbox) -> None:
    """When Telegram keeps failing, the digest waits in the outbox undelivered; the next tick sends it once."""
    subscribe(db, 10, "election", now=DAY1 - timedelta(days=2))
    ingest(db, p(1, 1, DAY1 - timedelta(hours=2), "Election night\nresults"))
    sandbox.fail_next("sendMessage", 500, times=3)
    clock = Clock(DAY1)
    report = tick(db, sandbox, clock, max_retries=3)
    assert report.delivery.chats_deferred == [10]
    assert db.execute("SELECT status FROM digests").fetchall() == [("pending",)]
    assert db.execute("SELECT count(*) FROM digest_parts WHERE sent_at IS NULL").fetchone()[0] == 1
    assert db.execute("SELECT delivered_at FROM deliveries").fetchall() == [(None,)]
    assert sandbox.sent_to(10) == []

    clock.set(DAY1 + timedelta(minutes=1))
    report = tick(db, sandbox, clock)
    assert report.built == [] and report.delivery.parts_sent == 1
    assert len(sandbox.sent_to(10)) == 1
    assert db.execute("SELECT status FROM digests").fetchall() == [("sent",)]
    assert db.execute("SELECT count(*) FROM deliveries WHERE delivered_at IS NULL").fetchone()[0] == 0


def big_digest(db: Any, chat_id: int, n: int = 40) -> None:
    ingest(db, *(p(1, 100 + i, DAY1 - timedelta(minutes=600 - i), f"Election item {i} 🗳️\n" + "Долгий текст 😀 " * 30)
                 for i in range(n)))


def test_parts_go_out_in_order_with_their_stories_marked(db: Any, sandbox: Sandbox) -> None:
    """A multi-part digest is sent in order; each part records Telegram's id; every story is delivered."""
    subscribe(db, 11, "election", now=DAY1 - timedelta(days=2))
    big_digest(db, 11)
    tick(db, sandbox, Clock(DAY1))
    sent = sandbox.sent_to(11)
    parts = db.execute("SELECT seq, text, telegram_message_id FROM digest_parts ORDER BY seq").fetchall()
    assert len(parts) >= 2
    assert [m.text for m in sent] == [t for _, t, _ in parts]
    assert [m.message_id for m in sent] == [mid for _, _, mid in parts]
    delivered = db.execute("SELECT count(*) FROM deliveries WHERE chat_id = 11 AND delivered_at IS NOT NULL").fetchone()[0]
    assert delivered == 40
    assert all(m.link_preview_disabled for m in sent)


def test_5xx_and_429_are_retried_without_duplicates(db: Any, sandbox: Sandbox) -> None:
    """Two 500s and a 429 during a multi-part digest: every part arrives exactly once, in order."""
    subscribe(db, 12, "election", now=DAY1 - timedelta(days=2))
    big_digest(db, 12, n=25)
    sandbox.fail_next("sendMessage", 500, times=2)
    sandbox.fail_next("sendMessage", 429, retry_after=1)
    tick(db, sandbox, Clock(DAY1))
    sent = [m.text for m in sandbox.sent_to(12)]
    parts = [r[0] for r in db.execute("SELECT text FROM digest_parts ORDER BY seq")]
    assert sent == parts and len(parts) >= 2
    statuses = [c.status for c in sandbox.calls_of("sendMessage") if c.params.get("chat_id") == 12]
    assert statuses.count(500) == 2 and statuses.count(429) == 1


class BlockAfterFirst:
    """A sender wrapper standing in for a user who blocks the bot after the first message arrives."""

    def __init__(self, inner: Sender, sandbox: Sandbox, chat_id: int) -> None:
        self.inner, self.sandbox, self.chat_id = inner, sandbox, chat_id

    async def send(self, chat_id: int, text: str, **options: Any) -> Any:
        result = await self.inner.send(chat_id, text, **options)
        if chat_id == self.chat_id:
            self.sandbox.block(chat_id, notify=False)
        return result


def test_403_mid_digest_deactivates_and_cancels_only_that_chat(db: Any, sandbox: Sandbox) -> None:
    """A user blocking the bot mid-digest: deactivated, rest cancelled and released; others get everything."""
    subscribe(db, 13, "election", now=DAY1 - timedelta(days=2))
    subscribe(db, 14, "election", now=DAY1 - timedelta(days=2))
    big_digest(db, 13)

    async def go(svc: DigestService) -> Any:
        svc.sender = BlockAfterFirst(svc.sender, sandbox, 13)  # type: ignore[assignment]
        return await svc.tick()

    report = with_service(db, sandbox, Clock(DAY1), go)
    assert report.delivery.chats_blocked == [13]
    assert len(sandbox.sent_to(13)) == 1
    n_parts = db.execute("SELECT count(*) FROM digest_parts p JOIN digests d ON d.id = p.digest_id "
                         "WHERE d.chat_id = 14").fetchone()[0]
    assert len(sandbox.sent_to(14)) == n_parts >= 2
    assert db.execute("SELECT active FROM subscribers WHERE chat_id = 13").fetchone()[0] == 0
    assert db.execute("SELECT status FROM digests WHERE chat_id = 13").fetchone()[0] == "cancelled"
    assert db.execute("SELECT count(*) FROM deliveries WHERE chat_id = 13 AND delivered_at IS NULL").fetchone()[0] == 0
    first_part_stories = db.execute("SELECT count(*) FROM deliveries WHERE chat_id = 13").fetchone()[0]
    assert 0 < first_part_stories < 40
    tick(db, sandbox, Clock(DAY1 + timedelta(days=1)))
    assert len(sandbox.sent_to(13)) == 1


def test_catch_up_after_downtime_sends_one_digest_covering_the_gap(db: Any, sandbox: Sandbox) -> None:
    """Down for three days: on start one digest holds the stories of all three days; no more that day."""
    subscribe(db, 15, "election", now=DAY1 - timedelta(days=2))
    clock = Clock(DAY1)
    tick(db, sandbox, clock)  # nothing yet: records the day
    ingest(db, *(p(1, 10 + d, DAY1 + timedelta(days=d, hours=3), f"Election day {d}\ntext") for d in range(3)))
    for minutes in (0, 1, 30, 120):
        clock.set(DAY1 + timedelta(days=3, hours=3, minutes=minutes))
        tick(db, sandbox, clock)
    [digest] = texts(sandbox, 15)
    assert all(f"Election day {d}" in digest for d in range(3))


def test_late_arriving_old_post_does_not_flood_the_digest(db: Any, sandbox: Sandbox) -> None:
    """A post published three days ago but collected now is not in today's digest."""
    subscribe(db, 16, "election", now=DAY1 - timedelta(days=5))
    clock = Clock(DAY1)
    tick(db, sandbox, clock)
    ingest(db, p(1, 1, DAY1 - timedelta(days=3), "Old election\nbackfill"),
           p(1, 2, DAY1 + timedelta(hours=5), "New election\nfresh"))
    clock.set(DAY1 + timedelta(days=1))
    tick(db, sandbox, clock)
    [digest] = texts(sandbox, 16)
    assert "New election" in digest and "Old election" not in digest


def test_story_collected_just_after_a_digest_goes_in_the_next(db: Any, sandbox: Sandbox) -> None:
    """Posted at 08:55, collected after the 09:00 digest: the next digest still has it (late grace)."""
    subscribe(db, 17, "election", now=DAY1 - timedelta(days=2))
    clock = Clock(DAY1)
    tick(db, sandbox, clock)
    ingest(db, p(1, 1, DAY1 - timedelta(minutes=5), "Election late\ncollected late"))
    clock.set(DAY1 + timedelta(days=1))
    tick(db, sandbox, clock)
    assert any("Election late" in t for t in texts(sandbox, 17))


def test_berlin_autumn_dst_day_one_digest(db: Any, sandbox: Sandbox) -> None:
    """Ticking every 10 minutes through Berlin's fall-back night sends one 02:30 digest, not two."""
    start = datetime(2024, 10, 26, 12, 0, tzinfo=UTC)
    subscribe(db, 18, "election", tz="Europe/Berlin", at="02:30", now=start - timedelta(days=2))
    clock = Clock(start)
    tick(db, sandbox, clock)
    ingest(db, p(1, 1, start + timedelta(hours=2), "Election a\nx"), p(1, 2, start + timedelta(hours=11), "Election b\ny"))

    async def many(svc: DigestService) -> None:
        for step in range(1, 24 * 6):
            clock.set(start + timedelta(minutes=10 * step))
            await svc.tick()

    with_service(db, sandbox, clock, many)
    sent = texts(sandbox, 18)
    assert len(sent) == 1 and "Election a" in sent[0] and "Election b" in sent[0]
    assert db.execute("SELECT local_date FROM digests").fetchall() == [("2024-10-27",)]


def test_paused_inactive_and_unsubscribed_chats_are_not_sent(db: Any, sandbox: Sandbox) -> None:
    """Only active, unpaused chats with subscriptions get scheduled digests."""
    for chat in (20, 21, 22):
        subscribe(db, chat, "election", now=DAY1 - timedelta(days=2))
    subscribe(db, 23, now=DAY1 - timedelta(days=2))
    subscribers.set_paused(db, 20, True)
    subscribers.set_active(db, 21, False)
    ingest(db, p(1, 1, DAY1 - timedelta(hours=1), "Election\nx"))
    tick(db, sandbox, Clock(DAY1))
    assert {m.chat_id for m in sandbox.sent} & {20, 21, 22, 23} == {22}


def test_dry_run_builds_without_writing(db: Any, sandbox: Sandbox) -> None:
    """build_now(dry_run=True) returns the digest and changes nothing in the database."""
    subscribe(db, 24, "election", now=DAY1 - timedelta(days=2))
    ingest(db, p(1, 1, DAY1 - timedelta(hours=1), "Election\nx"))

    async def dry(svc: DigestService) -> Any:
        return svc.build_now(24, dry_run=True)

    built = with_service(db, sandbox, Clock(DAY1), dry)
    assert [s.id for s in built.selection.stories] and built.messages and built.digest_id is None
    assert db.execute("SELECT count(*) FROM digests").fetchone()[0] == 0
    assert db.execute("SELECT last_digest_at FROM subscribers WHERE chat_id = 24").fetchone()[0] is None


def test_a_live_claim_is_respected_and_a_dead_one_taken_over(db: Any, sandbox: Sandbox) -> None:
    """A pending digest claimed by a running process is left alone; one claimed by a dead process is resumed."""
    subscribe(db, 25, "election", now=DAY1 - timedelta(days=2))
    ingest(db, p(1, 1, DAY1 - timedelta(hours=1), "Election\nx"))
    clock = Clock(DAY1)

    async def build(svc: DigestService) -> Any:
        return svc.build_due()

    with_service(db, sandbox, clock, build)
    live = Outbox(db)  # this very process: alive
    assert live.claim(1, clock())
    assert tick(db, sandbox, clock).delivery.parts_sent == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    db.execute("UPDATE digests SET claimed_by = ? WHERE id = 1", [f"{socket.gethostname()}:{dead.stdout.strip()}:x"])
    assert tick(db, sandbox, clock).delivery.parts_sent == 1
    assert len(sandbox.sent_to(25)) == 1


def _cli(db_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(db_path), *args],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "TGDIGEST_CONFIG": "", **(env or {})}, cwd=db_path.parent,
    )


def test_cli_digest_dry_run_json_prints_without_marking(tmp_path: Path) -> None:
    """`tgdigest digest --chat ID --dry-run --format json` prints stories and messages and writes nothing."""
    db_path = tmp_path / "tg.sqlite"
    database = open_db(db_path)
    subscribe(database, 30, "election", now=datetime.now(UTC) - timedelta(days=2))
    ingest(database, p(1, 1, datetime.now(UTC) - timedelta(hours=2), "Election news\nvote"),
           p(2, 5, datetime.now(UTC) - timedelta(hours=1), "Election news\nvote"))
    database.close()
    result = _cli(db_path, "digest", "--chat", "30", "--dry-run", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["chat_id"] == 30
    [story] = data["stories"]
    assert [post["channel_id"] for post in story["posts"]] == [1, 2]
    assert set(story["posts"][0]) >= {"channel_id", "channel", "message_id", "date", "text", "url", "story_id"}
    assert len(data["messages"]) == 1 and "<b>Election news</b>" in data["messages"][0]
    database = open_db(db_path)
    assert database.execute("SELECT count(*) FROM digests").fetchone()[0] == 0
    database.close()


def test_cli_digest_sends_through_the_bot_api(tmp_path: Path, sandbox: Sandbox) -> None:
    """Without --dry-run the digest goes to the Bot API once; a second run finds nothing new."""
    db_path = tmp_path / "tg.sqlite"
    database = open_db(db_path)
    subscribe(database, 31, "election", now=datetime.now(UTC) - timedelta(days=2))
    ingest(database, p(1, 1, datetime.now(UTC) - timedelta(hours=2), "Election news\nvote"))
    database.close()
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BOT_API_URL": sandbox.base_url}
    first = _cli(db_path, "digest", "--chat", "31", env=env)
    assert first.returncode == 0, first.stderr
    assert "Election news" in first.stdout
    assert len(sandbox.sent_to(31)) == 1
    second = _cli(db_path, "digest", "--chat", "31", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("Nothing new since ")
    assert len(sandbox.sent_to(31)) == 1


def test_cli_digest_unknown_chat_is_one_line_error(tmp_path: Path) -> None:
    """A chat that never sent /start: exit 1 with a one-line message, no traceback."""
    result = _cli(tmp_path / "tg.sqlite", "digest", "--chat", "999", "--dry-run")
    assert result.returncode == 1
    assert "999" in result.stderr and "Traceback" not in result.stderr


def test_after_restart_digests_wait_for_the_first_collection_pass(db: Any, sandbox: Sandbox) -> None:
    """With wait_for_collection, a due digest is built only once the first collection pass has ended."""
    subscribe(db, 32, "election", now=DAY1 - timedelta(days=2))
    ingest(db, p(1, 1, DAY1 - timedelta(hours=2), "Election before\nx"))
    clock = Clock(DAY1)

    async def go(svc: DigestService) -> tuple[Any, Any]:
        svc.wait_for_collection = timedelta(minutes=15)
        early = await svc.tick()
        ingest(db, p(1, 2, DAY1 - timedelta(hours=1), "Election while down\ny"))  # the first pass
        await svc.send_alerts()
        clock.set(DAY1 + timedelta(minutes=1))
        return early, await svc.tick()

    early, later = with_service(db, sandbox, clock, go)
    assert early.built == [] and len(later.built) == 1
    [digest] = texts(sandbox, 32)
    assert "Election before" in digest and "Election while down" in digest
