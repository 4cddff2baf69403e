"""Digests put the big news first: importance order, "told by N channels", top stories, the
JSON in display order, and linked stories reaching a subscriber once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import CategoryConfig, Config
from bot.core.models import Post
from bot.core.text import telegram_length, visible_text
from bot.devtools.sandbox import Sandbox
from bot.digests.alerts import build_alerts
from bot.digests.delivery import DigestService, NoSender, digest_to_json
from bot.digests.outbox import Outbox
from bot.digests.render import TELEGRAM_LIMIT
from bot.digests.selection import TOP
from bot.query.parser import parse_query
from bot.storage import subscribers
from bot.storage.ingest import Ingestor
from bot.storage.store import Store
from bot.telegram.botapi import BotAPI
from bot.telegram.sender import Sender

TOKEN = "123456:importance-test"
CONFIG = Config(
    categories=(CategoryConfig("Politics", "election OR parliament OR minister"), CategoryConfig("Economy", "bank")),
)
NOW = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)
# Two headlines of one event that share too little to fold, and a later post holding both.
HEADLINE = "Parliament passed the election law in the final reading on Sunday night after a long debate."
DETAIL = "The opposition walked out of the chamber before the vote and called the election law unfair."


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, spec_path=Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json") as sb:
        yield sb
        assert sb.violations == []


def post(channel: int, message: int, hours_ago: float, text: str, **kw: Any) -> Post:
    return Post(channel_id=channel, message_id=message, date=NOW - timedelta(hours=hours_ago), text=text,
                channel_username=f"chan{channel}", channel_title=f"Channel {channel}", **kw)


def subscribe(db: Any, chat_id: int, *queries: str, urgent: bool = False) -> None:
    subscribers.register(db, chat_id, default_time="09:00", default_timezone="UTC", now=NOW - timedelta(days=2))
    for query in queries:
        subscribers.add_subscription(db, chat_id, query, urgent=urgent)


def dry_run(db: Any, chat_id: int, now: datetime = NOW) -> Any:
    return DigestService(db, NoSender(), CONFIG, now=lambda: now).build_now(chat_id, dry_run=True)


def send_digest(db: Any, sandbox: Sandbox, chat_id: int, now: datetime = NOW) -> Any:
    async def main() -> Any:
        async with BotAPI(TOKEN, base_url=sandbox.base_url) as api:
            sender = Sender(api, global_rate=1000.0, per_chat_rate=1000.0, backoff=0.01)
            return await DigestService(db, sender, CONFIG, now=lambda: now).send_now(chat_id)

    return asyncio.run(main())


def test_story_told_by_three_channels_comes_before_one_told_by_one(db: Any, sandbox: Sandbox) -> None:
    """The subscriber's digest lists the story three channels told first, saying so, though
    the single-channel story of the same category was published earlier."""
    subscribe(db, 31, "election")
    Ingestor(db, CONFIG).ingest([
        post(1, 1, 6, "Snap election called\nThe president dissolved parliament; the election is in June."),
        post(2, 1, 5, "Snap election called\nThe president dissolved parliament; the election is in June."),
        post(3, 1, 5, "Snap election called\nThe president dissolved parliament; the election is in June. 🗳"),
        post(4, 1, 8, "Election posters vandalised\nPosters of two parties were torn down overnight."),
    ])
    built = send_digest(db, sandbox, 31)
    assert built.digest_id is not None
    [message] = [m.plain_text for m in sandbox.sent_to(31)]
    big, small = message.index("Snap election called"), message.index("Election posters vandalised")
    assert big < small
    assert "told by 3 channels" in message[big:small]
    assert "told by" not in message[small:]


def test_over_ten_stories_open_with_top_stories_listed_once(db: Any) -> None:
    """Twelve stories: up to three told by several channels open the digest under "Top
    stories" (across categories) and are not repeated in their sections; the JSON lists the
    stories in that order with channels and score."""
    subscribe(db, 32, "election OR bank OR parliament")
    posts = []
    for i in range(8):  # single-channel stories, newest last
        posts.append(post(1, 100 + i, 8 - i * 0.5, f"Election note {i}\nCandidate {i} toured district {i} today."))
    told = [  # several channels each, across both categories
        (2, "Election commission resigns\nAll seven members quit over the count in Kazan."),
        (4, "Central bank raises its key rate\nThe bank lifted the rate to 21% citing inflation."),
        (3, "Prime minister survives confidence vote\nParliament backed the cabinet by 12 votes."),
        (2, "Bank merger approved\nRegulators cleared the deal between Alfa and Sber."),
    ]
    for i, (channels, text) in enumerate(told):
        posts += [post(10 + c, 200 + i, 7 - i, text) for c in range(channels)]
    Ingestor(db, CONFIG).ingest(posts)
    built = dry_run(db, 32)
    shape = digest_to_json(built)
    stories = shape["stories"]
    assert len(stories) == 12 and len({s["story_id"] for s in stories}) == 12
    assert [s["section"] for s in stories[:3]] == [TOP] * 3
    assert [s["channels"] for s in stories[:3]] == [4, 3, 2]
    assert {s["section"] for s in stories[:3]} == {TOP}
    # below the top, each section is ordered by score, most important first
    for name in ("Politics", "Economy"):
        scores = [s["score"] for s in stories if s["section"] == name]
        assert scores == sorted(scores, reverse=True)
    assert all(isinstance(s["score"], float) and s["channels"] >= 1 for s in stories)
    text = "\n".join(visible_text(m) for m in shape["messages"])
    assert text.count("Central bank raises its key rate") == 1
    assert text.index(TOP) < text.index("Central bank raises") < text.index("Politics")
    # two stories told by two channels: the newer one is the third top story, the older one
    # stays in its section (listed first there: it outranks the single-channel notes)
    assert text.index("Bank merger approved") < text.index("Politics")
    assert text.index("Politics") < text.index("Election commission resigns") < text.index("Election note")
    assert "Economy" not in text, "both bank stories are top stories: their section is empty"


def test_over_ten_single_channel_stories_still_open_with_the_top_three(db: Any) -> None:
    """Eleven stories each told by one channel: the digest still opens with three top stories,
    those with the most posts (the next signal after channels)."""
    subscribe(db, 34, "election")
    posts = [post(1, 500 + i, 6, f"Election note {i}\nCandidate {i} toured district {i} today.") for i in range(10)]
    posts += [post(1, 520 + k, 5 - k * 0.1, "Turnout record\nA record 71% voted in the election.") for k in range(3)]
    Ingestor(db, CONFIG).ingest(posts)
    stories = digest_to_json(dry_run(db, 34))["stories"]
    assert len(stories) == 11
    assert [s["section"] for s in stories[:3]] == [TOP] * 3
    assert TOP not in {s["section"] for s in stories[3:]}
    assert stories[0]["channels"] == 1 and stories[0]["score"] == max(s["score"] for s in stories)


def test_ten_stories_or_fewer_have_no_top_section(db: Any) -> None:
    subscribe(db, 33, "election")
    posts = [post(1, 300 + i, 5, f"Election note {i}\nCandidate {i} toured district {i}.") for i in range(9)]
    posts += [post(c, 400, 4, "Election day set\nThe election commission set the vote for 2 June.") for c in (2, 3)]
    Ingestor(db, CONFIG).ingest(posts)
    shape = digest_to_json(dry_run(db, 33))
    assert len(shape["stories"]) == 10
    assert TOP not in {s["section"] for s in shape["stories"]}
    assert shape["stories"][0]["channels"] == 2


def test_long_digest_with_top_stories_splits_between_stories(db: Any) -> None:
    """Every part is at most 4,096 UTF-16 units and every story is carried by exactly one part."""
    subscribe(db, 34, "election")
    body = " ".join(["Election 🗳 commentary with a long body of words"] * 12)
    posts = []
    for i in range(40):
        channels = 1 + i % 3
        posts += [post(10 + c, 500 + i, 8 - i * 0.1, f"Election story {i} 🇩🇪\n{body} {i}") for c in range(channels)]
    Ingestor(db, Config(categories=CONFIG.categories, digest=CONFIG.digest)).ingest(posts)
    built = dry_run(db, 34)
    assert len(built.parts) > 1
    assert all(telegram_length(part.text) <= TELEGRAM_LIMIT for part in built.parts)
    carried = [sid for part in built.parts for sid in part.story_ids]
    assert sorted(carried) == sorted({s.id for _, s in built.shown}) and len(carried) == len(set(carried))
    assert visible_text(built.parts[0].text).count(TOP) == 1


def _linked_pair(db: Any) -> tuple[int, int]:
    """Two stories, then a post that shows they are one (so they get linked)."""
    ingestor = Ingestor(db, CONFIG)
    ingestor.ingest([post(1, 1, 6, HEADLINE)])
    ingestor.ingest([post(2, 1, 5, DETAIL)])
    ingestor.ingest([post(3, 1, 4, f"{HEADLINE} {DETAIL}")])
    first, second = (
        db.execute("SELECT story_id FROM posts WHERE channel_id = ?", [c]).fetchone()[0] for c in (1, 2)
    )
    assert first != second
    assert db.execute("SELECT count(*) FROM story_links").fetchone()[0] == 1
    return first, second


def test_linked_stories_selected_together_are_shown_once(db: Any) -> None:
    """Both stories are new to the chat: one entry, under the earlier story, with the posts
    (and channels) of both."""
    subscribe(db, 35, "election")
    first, second = _linked_pair(db)
    built = dry_run(db, 35)
    shown = [s for _, s in built.shown]
    assert [s.id for s in shown] == [first]
    assert {sp.post.channel_id for sp in shown[0].posts} == {1, 2, 3}
    assert "told by 3 channels" in visible_text(built.parts[0].text)


def test_story_linked_to_one_already_delivered_is_not_new(db: Any, sandbox: Sandbox) -> None:
    """The chat got the first story; a second one, later shown to be the same news (linked),
    is not delivered again, neither by digest nor by alert, while another chat gets it."""
    subscribe(db, 36, "election")
    subscribers.add_subscription(db, 36, "opposition", urgent=True)
    ingestor = Ingestor(db, CONFIG)
    ingestor.ingest([post(1, 1, 6, HEADLINE)])
    assert send_digest(db, sandbox, 36, now=NOW - timedelta(hours=5, minutes=30)).digest_id is not None
    ingestor.ingest([post(2, 1, 5, DETAIL)])
    ingestor.ingest([post(3, 1, 4, f"{HEADLINE} {DETAIL}")])
    first, second = (
        db.execute("SELECT story_id FROM posts WHERE channel_id = ?", [c]).fetchone()[0] for c in (1, 2)
    )
    assert first != second
    built = dry_run(db, 36)
    assert built.empty, [s.id for _, s in built.shown]
    assert build_alerts(db, CONFIG, outbox=Outbox(db), now=NOW) == []
    # without the link the second story is new to this chat: it would be listed and alerted
    db.execute("DELETE FROM story_links")
    assert [s.id for _, s in dry_run(db, 36).shown] == [second]
    assert len(build_alerts(db, CONFIG, outbox=Outbox(db), now=NOW)) == 1


def test_search_stays_newest_first_and_lists_linked_stories_once(db: Any) -> None:
    """/search orders by date, newest first (not by importance), and shows a linked pair once."""
    ingestor = Ingestor(db, CONFIG)
    ingestor.ingest([post(c, 1, 10, "Election date set\nThe vote is on 2 June.") for c in (5, 6, 7)])
    ingestor.ingest([post(8, 1, 1, "Election observers arrive\nThe mission has 40 members.")])
    first, second = _linked_pair(db)
    found = Store(db).search(parse_query("election"))
    dates = [s.first_date for s in found]
    assert dates == sorted(dates, reverse=True)
    ids = [s.id for s in found]
    assert len([i for i in ids if i in (first, second)]) == 1
    assert found[0].representative.post.channel_id == 8  # newest, though told by one channel


def test_linked_stories_arriving_together_are_alerted_as_one(db: Any) -> None:
    """An urgent subscription matching both stories of a linked pair gets one entry for them."""
    subscribe(db, 38, "election", urgent=True)
    first, second = _linked_pair(db)
    [alert_id] = build_alerts(db, CONFIG, outbox=Outbox(db), now=NOW)
    carried = [r[0] for r in db.execute("SELECT story_id FROM deliveries WHERE digest_id = ?", [alert_id])]
    assert carried == [first]
    [text] = [r[0] for r in db.execute("SELECT text FROM digest_parts WHERE digest_id = ?", [alert_id])]
    assert "told by 3 channels" in visible_text(text)
    assert dry_run(db, 38).empty, "the linked story is not new to the chat afterwards"
