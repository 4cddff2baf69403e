"""Conversations by buttons: the real bot loop and digest service over real HTTP against the
loopback Bot API sandbox. The tests read the buttons from the ``reply_markup`` of what the
bot sent and press them, as a user would; after ``/start`` nothing is typed but a query and a
file. Every request is checked against the official Bot API spec (fixture)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import BotConfig, Config, DigestConfig, Secrets
from bot.core.models import Post
from bot.devtools.sandbox import CallbackAnswer, Sandbox, SentMessage
from bot.digests.delivery import DigestService
from bot.storage import subscribers as subs
from bot.storage.ingest import Ingestor
from bot.telegram.updates import BotApp, build_bot

SPEC = Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json"
TOKEN = "7312345678:AAH0kX9pQ_test-token-value-abcdefghijk"
ALICE = 101


def make_config(**digest: Any) -> Config:
    return Config(
        bot=BotConfig(global_rate=1000.0, per_chat_rate=1000.0, poll_timeout=5),
        digest=DigestConfig(**digest) if digest else DigestConfig(),
    )


@pytest.fixture
def sandbox():
    with Sandbox(token=TOKEN, spec_path=SPEC) as sb:
        yield sb
        assert sb.violations == []
        # Every press was answered (once: a second answer is refused), so no button kept spinning.
        assert sb.unanswered == []


def seed(db: Any, config: Config, count: int = 3, *, long: bool = False) -> None:
    """Oil stories from two channels, 20 minutes apart, the newest 20 minutes old."""
    now = datetime.now(UTC)
    body = " More about the oil market today." * (60 if long else 1)
    posts = [
        Post(channel_id=5001 + i % 2, message_id=i + 1, date=now - timedelta(minutes=20 * (i + 1)),
             text=f"Oil story number {i}\nPipeline {i} report.{body}", channel_username=f"wire{i % 2}",
             channel_title=f"Wire {i % 2}")
        for i in range(count)
    ]
    Ingestor(db, config).ingest(posts)


@contextlib.asynccontextmanager
async def running(sandbox: Sandbox, db: Any, config: Config) -> AsyncIterator[tuple[BotApp, DigestService]]:
    """The bot loop and a digest service sharing its sender, as ``tgdigest run`` wires them."""
    holder: dict[str, DigestService] = {}

    async def on_demand(chat_id: int) -> str | None:
        return await holder["service"].digest_now(chat_id)

    app = build_bot(config, Secrets(bot_token=TOKEN, bot_api_url=sandbox.base_url), db, digest_now=on_demand)
    holder["service"] = DigestService(db, app.sender, config)
    stop = asyncio.Event()
    task = asyncio.create_task(app.loop.run(stop))
    try:
        yield app, holder["service"]
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
        await app.aclose()


class User:
    """A user in a chat with the bot: types, sends files, presses buttons."""

    def __init__(self, sandbox: Sandbox, app: BotApp, chat_id: int = ALICE) -> None:
        self.sandbox, self.app, self.chat_id = sandbox, app, chat_id
        self.commands: list[str] = []  # every command typed, to prove what was done by buttons

    async def _settle(self, update_id: int) -> None:
        await self.sandbox.wait_confirmed(update_id)
        await self.app.loop.drain()

    async def say(self, text: str, *, reply_to: SentMessage | None = None) -> list[SentMessage]:
        if text.startswith("/"):
            self.commands.append(text.split()[0])
        before = len(self.sandbox.sent_to(self.chat_id))
        await self._settle(self.sandbox.send_user_message(self.chat_id, text, reply_to=reply_to))
        return self.sandbox.sent_to(self.chat_id)[before:]

    async def send_file(self, name: str, content: bytes, *, caption: str | None = None) -> list[SentMessage]:
        before = len(self.sandbox.sent_to(self.chat_id))
        await self._settle(self.sandbox.send_user_document(self.chat_id, name, content, caption=caption))
        return self.sandbox.sent_to(self.chat_id)[before:]

    async def press(self, message: SentMessage, label: str) -> tuple[CallbackAnswer, SentMessage, list[SentMessage]]:
        """Press the button labelled ``label`` under ``message``: the answer, the message as it
        is now, and the new messages the press brought."""
        before = len(self.sandbox.sent_to(self.chat_id))
        update_id = self.sandbox.press(self.chat_id, message, label)
        answer = await self.sandbox.wait_answer(update_id)
        await self._settle(update_id)
        now = self.sandbox.message(self.chat_id, message.message_id)
        assert now is not None
        return answer, now, self.sandbox.sent_to(self.chat_id)[before:]

    def last(self) -> SentMessage:
        return self.sandbox.sent_to(self.chat_id)[-1]


def modes(db: Any) -> list[tuple[str, str]]:
    return [(s.query, s.mode) for s in subs.list_subscriptions(db, ALICE)]


def test_subscribing_and_choosing_delivery_modes_by_buttons(sandbox, db):
    """/start, then Add (the next plain message is the query), then modes from /list's buttons."""
    config = make_config()
    seed(db, config)

    async def go():
        async with running(sandbox, db, config) as (app, _):
            user = User(sandbox, app)
            [welcome] = await user.say("/start")
            assert [label for label, _ in welcome.buttons] == ["➕ Add subscription", "📋 Subscriptions", "⚙ Settings"]
            _, _, [prompt] = await user.press(welcome, "Add subscription")
            assert "Send me the query" in prompt.plain_text
            [subscribed] = await user.say("oil")
            assert subscribed.text.startswith("Subscribed (#1): <code>oil</code>")
            assert "In the last 7 days 3 stories matched" in subscribed.plain_text
            answer, as_list, _ = await user.press(subscribed, "Silent alert")
            assert "silent alert" in (answer.text or "") and modes(db) == [("oil", "silent")]
            assert "1. oil (silent alert)" in as_list.plain_text

            _, _, [prompt] = await user.press(welcome, "Add subscription")
            [refused] = await user.say('"unclosed phrase')
            assert refused.plain_text.startswith("Not subscribed:") and len(modes(db)) == 1
            [plain] = await user.say("pipeline")  # the question was answered (badly): text is text again
            assert "I understand commands only" in plain.plain_text
            await user.press(welcome, "Add subscription")
            await user.say("pipeline")

            _, _, [listed] = await user.press(welcome, "Subscriptions")
            assert "1. oil (silent alert)" in listed.plain_text and "2. pipeline" in listed.plain_text
            _, listed, _ = await user.press(listed, "2. pipeline · 📰 digest")
            assert modes(db) == [("oil", "silent"), ("pipeline", "alert")]
            assert "2. pipeline (alert)" in listed.plain_text  # the list message itself was edited
            _, listed, _ = await user.press(listed, "1. oil · 🔕 silent")
            assert modes(db) == [("oil", "digest"), ("pipeline", "alert")]
            _, listed, _ = await user.press(listed, "Remove…")
            answer, listed, _ = await user.press(listed, "✖ 1. oil")
            assert "Removed" in (answer.text or "") and modes(db) == [("pipeline", "alert")]
            _, listed, _ = await user.press(listed, "Done")
            assert "1. pipeline (alert)" in listed.plain_text and "oil" not in listed.plain_text
            assert user.commands == ["/start"]

    asyncio.run(go())


def test_settings_by_buttons(sandbox, db):
    """Time in steps, time zone by region then city, weekly day, style, pause and resume."""
    config = make_config()

    async def go():
        async with running(sandbox, db, config) as (app, _):
            user = User(sandbox, app)
            [welcome] = await user.say("/start")
            _, _, [settings] = await user.press(welcome, "Settings")
            assert "Daily digest at 09:00 (UTC)" in settings.plain_text
            answer, settings, _ = await user.press(settings, "+1 h")
            assert answer.text == "Digest at 10:00." and "at 10:00" in settings.plain_text
            _, settings, _ = await user.press(settings, "−15 min")
            _, settings, _ = await user.press(settings, "Time zone")
            assert "Choose your region" in settings.plain_text
            _, settings, _ = await user.press(settings, "Europe")
            _, settings, _ = await user.press(settings, "▶")  # the second page of European cities
            assert "Europe (2/" in settings.plain_text
            _, settings, _ = await user.press(settings, "◀")
            answer, settings, _ = await user.press(settings, "Berlin")
            assert answer.text == "Time zone: Europe/Berlin."
            _, settings, _ = await user.press(settings, "📅 Daily")
            _, settings, _ = await user.press(settings, "Fri")
            assert "Weekly digest on Fridays at 09:45 (Europe/Berlin)" in settings.plain_text
            _, settings, _ = await user.press(settings, "Style: full → compact")
            answer, settings, _ = await user.press(settings, "Non-news: left out → include")
            assert answer.text == "Non-news posts included." and "Non-news posts included" in settings.plain_text
            _, settings, _ = await user.press(settings, "Pause")
            assert subs.get_subscriber(db, ALICE).paused  # type: ignore[union-attr]
            _, settings, _ = await user.press(settings, "Resume")
            assert len(sandbox.sent_to(ALICE)) == 2  # everything happened in the settings message
            assert user.commands == ["/start"]
            return settings

    settings = asyncio.run(go())
    subscriber = subs.get_subscriber(db, ALICE)
    assert subscriber is not None
    assert (subscriber.digest_time, subscriber.timezone, subscriber.weekly_day) == ("09:45", "Europe/Berlin", 4)
    assert subscriber.digest_style == "compact" and subscriber.include_nonnews and not subscriber.paused
    assert "Style: compact" in settings.plain_text


def test_a_digest_pages_mutes_hides_and_pauses_by_its_buttons(sandbox, db):
    """Only /start is typed: a subscription and the compact style are chosen by buttons; the
    digest pages with ◀ ▶ by editing its message; its buttons mute a channel, hide a story,
    pause and resume; the mutes keep things out of /search; Settings → Mutes undoes them."""
    config = make_config(max_stories=100)
    seed(db, config, 30, long=True)

    async def go():
        async with running(sandbox, db, config) as (app, service):
            user = User(sandbox, app)
            [welcome] = await user.say("/start")
            await user.press(welcome, "Add subscription")
            await user.say("oil")
            _, _, [settings] = await user.press(welcome, "Settings")
            await user.press(settings, "Style: full → compact")
            await service.send_now(ALICE)  # the digest comes (as it would on the schedule)
            digest = user.last()
            pages = [label for label, _ in digest.buttons][0]
            assert pages.startswith("1/") and int(pages[2:]) >= 2
            first_page = digest.plain_text
            _, digest, new = await user.press(digest, "▶")
            assert new == [] and digest.plain_text != first_page and digest.buttons[1][0].startswith("2/")
            _, digest, _ = await user.press(digest, "◀")
            assert digest.plain_text == first_page

            _, digest, [chooser] = await user.press(digest, "Mute channel")
            assert sorted(label for label, _ in chooser.buttons) == ["Cancel", "🔇 @wire0", "🔇 @wire1"]
            answer, chooser, _ = await user.press(chooser, "@wire1")
            assert answer.text == "Muted @wire1." and "Muted @wire1" in chooser.plain_text
            _, digest, [hider] = await user.press(digest, "Hide story")
            assert len(hider.buttons) == 20 + 2  # 20 stories a page, ▶, Cancel
            if not any(label.endswith("number 0") for label, _ in hider.buttons):
                _, hider, _ = await user.press(hider, "▶")
            answer, hider, _ = await user.press(hider, "Oil story number 0")
            assert answer.text == "Story hidden."

            answer, digest, _ = await user.press(digest, "Pause")
            assert "Paused" in (answer.text or "") and ("▶ Resume", digest.button("Resume")) in digest.buttons
            assert digest.plain_text == first_page  # only the buttons changed
            _, digest, _ = await user.press(digest, "Resume")
            assert not subs.get_subscriber(db, ALICE).paused  # type: ignore[union-attr]

            _, _, [settings] = await user.press(digest, "Settings")
            _, mutes, _ = await user.press(settings, "Mutes (2)")
            assert "channel: @wire1" in mutes.plain_text and "story: Oil story number 0" in mutes.plain_text
            assert user.commands == ["/start"]

            [search] = await user.say("/search oil")
            shown = [int(n) for n in re.findall(r"Oil story number (\d+)", search.plain_text)]
            assert shown == list(range(2, 22, 2))  # @wire1 told the odd ones; story 0 is hidden
            [listed] = await user.say("/mutes")
            assert listed.plain_text == mutes.plain_text

            _, mutes, _ = await user.press(mutes, "Unmute @wire1")
            assert "@wire1" not in mutes.plain_text
            return subs.mutes_of(db, ALICE)

    mutes = asyncio.run(go())
    assert mutes.channels == frozenset() and len(mutes.stories) == 1


def test_stale_buttons_answer_one_line_and_change_nothing(sandbox, db):
    config = make_config()
    seed(db, config)

    async def go():
        async with running(sandbox, db, config) as (app, service):
            user = User(sandbox, app)
            await user.say("/start")
            [subscribed] = await user.say("/subscribe oil")
            await service.send_now(ALICE)
            digest = user.last()
            [listed] = await user.say("/list")
            await user.say("/unsubscribe 1")
            answer, _, new = await user.press(listed, "1. oil")
            assert answer.text == "That subscription was removed already; /list shows the ones you have." and new == []
            digest_id = int(digest.button("Mute channel").split(":")[1])
            db.execute("UPDATE digests SET created_at = ? WHERE id = ?",
                       [(datetime.now(UTC) - timedelta(days=40)).isoformat(timespec="seconds"), digest_id])
            answer, _, _ = await user.press(digest, "Hide story")
            assert answer.text is not None and "more than 30 days old" in answer.text
            db.execute("DELETE FROM digest_parts WHERE digest_id = ?", [digest_id])
            db.execute("DELETE FROM deliveries WHERE digest_id = ?", [digest_id])
            db.execute("DELETE FROM digests WHERE id = ?", [digest_id])
            answer, _, _ = await user.press(digest, "Mute channel")
            assert answer.text == "This digest is no longer stored, so its buttons do nothing now."
            sandbox.send_callback_query(ALICE, "zz:garbage:1")
            await asyncio.sleep(0.3)
            await app.loop.drain()
            return subscribed

    asyncio.run(go())
    assert sandbox.answers[-1].text == "This button no longer does anything. Send /start to see what I can do."
    assert subs.list_mutes(db, ALICE) == []


def test_button_presses_work_after_blocking_and_unblocking(sandbox, db):
    config = make_config()

    async def go():
        async with running(sandbox, db, config) as (app, _):
            user = User(sandbox, app)
            [welcome] = await user.say("/start")
            sandbox.block(ALICE)
            await user.say("/help")  # answered into the void (403): the chat is now inactive
            assert not subs.get_subscriber(db, ALICE).active  # type: ignore[union-attr]
            sandbox.unblock(ALICE, notify=False)  # Telegram's my_chat_member update got lost
            answer, _, [settings] = await user.press(welcome, "Settings")
            return settings

    settings = asyncio.run(go())
    assert "Settings" in settings.plain_text
    assert subs.get_subscriber(db, ALICE).active  # type: ignore[union-attr]


def test_export_and_import_by_buttons_and_by_reply(sandbox, db):
    """Export sends a JSON document; importing it (after ⬆ Import, or replying /import to it)
    restores subscriptions, modes, mutes and settings; a bad file gets one line and changes nothing."""
    config = make_config()

    async def go():
        async with running(sandbox, db, config) as (app, _):
            user = User(sandbox, app)
            [welcome] = await user.say("/start")
            subs.add_subscription(db, ALICE, "oil OR gas")
            subs.add_subscription(db, ALICE, "pipeline", urgent=True)
            subs.set_digest_time(db, ALICE, "07:30")
            subs.add_mute(db, ALICE, "channel", 5001, "@wire0")
            _, _, [settings] = await user.press(welcome, "Settings")
            _, _, [export] = await user.press(settings, "Export")
            assert export.document is not None and export.document.file_name == "tgdigest-export.json"
            document = json.loads(export.document.content)
            assert document["subscriptions"] == [{"query": "oil OR gas", "mode": "digest"}, {"query": "pipeline", "mode": "alert"}]

            # Everything is lost (say, a move to a new account); the file brings it back.
            subs.remove_all_subscriptions(db, ALICE)
            subs.remove_mute(db, ALICE, "channel", 5001)
            subs.set_digest_time(db, ALICE, "09:00")
            _, _, [ask] = await user.press(settings, "Import")
            assert "Send me the file" in ask.plain_text
            [done] = await user.send_file("tgdigest-export.json", export.document.content)
            assert done.plain_text.startswith("Imported: 2 subscriptions added")
            assert modes(db) == [("oil OR gas", "digest"), ("pipeline", "alert")]
            assert subs.get_subscriber(db, ALICE).digest_time == "07:30"  # type: ignore[union-attr]
            assert subs.mutes_of(db, ALICE).channels == {5001}
            assert user.commands == ["/start"]

            [again] = await user.say("/import", reply_to=export)  # replying to the bot's own file
            assert "0 subscriptions added" in again.plain_text and "2 already there" in again.plain_text

            bad = json.loads(export.document.content)
            bad["subscriptions"].append({"query": "(oil", "mode": "digest"})
            bad["settings"]["digest_time"] = "06:00"
            [unasked] = await user.send_file("edited.json", json.dumps(bad).encode())
            assert "reply to it with /import" in unasked.plain_text  # a file alone changes nothing
            [refused] = await user.send_file("edited.json", json.dumps(bad).encode(), caption="/import")
            return refused

    refused = asyncio.run(go())
    assert refused.plain_text.startswith("Not imported: subscriptions[2].query:")
    assert refused.plain_text.endswith("Nothing was changed.")
    assert modes(db) == [("oil OR gas", "digest"), ("pipeline", "alert")]
    assert subs.get_subscriber(db, ALICE).digest_time == "07:30"  # type: ignore[union-attr]


def test_a_bad_import_file_gets_one_line_and_changes_nothing(sandbox, db):
    config = make_config()

    async def go():
        async with running(sandbox, db, config) as (app, _):
            user = User(sandbox, app)
            await user.say("/start")
            await user.say("/subscribe oil")
            replies = []
            for name, content in [
                ("notes.txt", b"\xff\xfe not json"),
                ("other.json", b'{"format": "something else", "version": 1}'),
                ("broken.json", json.dumps({"format": "tgdigest.subscriber", "version": 1,
                                            "settings": {"digest_time": "06:00"},
                                            "subscriptions": [{"query": "(oil"}]}).encode()),
            ]:
                await user.say("/import")
                replies += await user.send_file(name, content)
            return replies

    replies = asyncio.run(go())
    assert [r.plain_text.split(":")[0] for r in replies] == ["Not imported"] * 3
    assert "not JSON" in replies[0].plain_text and "subscriptions[0].query" in replies[2].plain_text
    assert all("\n" not in r.plain_text for r in replies)
    assert modes(db) == [("oil", "digest")] and subs.get_subscriber(db, ALICE).digest_time == "09:00"  # type: ignore[union-attr]


def test_a_press_that_fails_is_answered_with_an_apology_and_the_bot_goes_on(sandbox, db, caplog):
    """A bug behind a button (here: a digest time a hand edit of the database broke) gets the
    apology as the press's answer, is logged, and the next press works."""
    config = make_config()

    async def go():
        async with running(sandbox, db, config) as (app, _):
            user = User(sandbox, app)
            [welcome] = await user.say("/start")
            _, _, [settings] = await user.press(welcome, "Settings")
            db.execute("UPDATE subscribers SET digest_time = 'soon' WHERE chat_id = ?", [ALICE])
            broken, _, _ = await user.press(settings, "+1 h")
            db.execute("UPDATE subscribers SET digest_time = '09:00' WHERE chat_id = ?", [ALICE])
            fine, settings, _ = await user.press(settings, "+1 h")
            return broken, fine, settings

    broken, fine, settings = asyncio.run(go())
    assert broken.text == "Sorry, something went wrong on my side. Please try again later."
    assert fine.text == "Digest at 10:00." and "at 10:00" in settings.plain_text
    assert any("handling update" in r.getMessage() for r in caplog.records)
