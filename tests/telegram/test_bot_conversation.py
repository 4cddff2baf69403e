"""Conversations with the real bot loop over real HTTP against the loopback Bot API sandbox.

Every request the bot makes is checked against the official Bot API spec (fixture), and each
test ends by asserting there was no violation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.clocks import SkipTime

from bot.config import BotConfig, CategoryConfig, Config, QueryConfig, Secrets
from bot.core.models import Post
from bot.core.text import utf16_len
from bot.devtools.sandbox import Sandbox, parse_html
from bot.storage import subscribers as subs
from bot.storage.db import get_meta
from bot.storage.ingest import Ingestor
from bot.telegram.updates import OFFSET_KEY, BotApp, build_bot

SPEC = Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json"
TOKEN = "7312345678:AAH0kX9pQ_test-token-value-abcdefghijk"
ADMIN = 900
ALICE = 101
BOB = 202


def make_config(**bot: Any) -> Config:
    options = {"admins": (ADMIN,), "global_rate": 1000.0, "per_chat_rate": 1000.0, "poll_timeout": 5}
    options.update(bot)
    return Config(
        bot=BotConfig(**options),
        categories=(CategoryConfig("Energy", "oil OR gas"),),
    )


@pytest.fixture
def sandbox():
    with Sandbox(token=TOKEN, spec_path=SPEC) as sb:
        yield sb
        assert sb.violations == []



def seed_stories(db, config: Config, texts: list[str], *, channel: str = "energywire") -> None:
    """Store real posts (one story each) through the ingest core, newest first in ``texts``."""
    now = datetime.now(UTC)
    posts = [
        Post(
            channel_id=5001, message_id=i + 1, date=now - timedelta(hours=i + 1), text=text,
            channel_username=channel, channel_title="Energy Wire",
        )
        for i, text in enumerate(texts)
    ]
    Ingestor(db, config).ingest(posts)



@contextlib.asynccontextmanager
async def running_bot(sandbox: Sandbox, db, config: Config, **options: Any) -> AsyncIterator[BotApp]:
    app = build_bot(config, Secrets(bot_token=TOKEN, bot_api_url=sandbox.base_url), db, **options)
    stop = asyncio.Event()
    task = asyncio.create_task(app.loop.run(stop))
    try:
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
        await app.aclose()


async def say(sandbox: Sandbox, chat_id: int, text: str, *, expect: int = 1, user_id: int | None = None) -> list[str]:
    """Type ``text`` in ``chat_id``; return the bot's ``expect`` replies (HTML as sent)."""
    before = len(sandbox.sent_to(chat_id))
    update_id = sandbox.send_user_message(chat_id, text, user_id=user_id)
    await sandbox.wait_confirmed(update_id)
    sent = await sandbox.wait_sent(before + expect, chat_id=chat_id)
    return [m.text for m in sent[before:]]


async def until(condition: Callable[[], bool], *, what: str, timeout: float = 10.0) -> None:
    """Wait for ``condition`` without blocking the bot; past ``timeout`` the test fails, never hangs."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting until {what}")
        await asyncio.sleep(0.01)


def subscription_queries(db, chat_id: int) -> list[str]:
    return [s.query for s in subs.list_subscriptions(db, chat_id)]


def test_start_subscribe_list_unsubscribe(sandbox, db):
    """The basic journey: register, subscribe (with a preview of matches), list, unsubscribe."""
    config = make_config()
    seed_stories(db, config, ["Oil output rises in Norway this quarter", "Oil tanker delayed at Suez canal", "Football cup final tonight"])

    async def go():
        async with running_bot(sandbox, db, config):
            start = await say(sandbox, ALICE, "/start")
            subscribed = await say(sandbox, ALICE, "/subscribe oil")
            listed = await say(sandbox, ALICE, "/list")
            removed = await say(sandbox, ALICE, "/unsubscribe 1")
            empty = await say(sandbox, ALICE, "/list")
            return start, subscribed, listed, removed, empty

    start, subscribed, listed, removed, empty = asyncio.run(go())
    assert "Welcome to tgdigest" in start[0] and "/subscribe" in start[0]
    assert subscribed[0].startswith("Subscribed (#1): <code>oil</code>")
    assert "In the last 7 days 2 stories matched" in subscribed[0]
    assert subscribed[0].count("<a href=\"https://t.me/energywire/") == 2
    assert "Oil output rises in Norway" in subscribed[0]  # the newest first
    assert "1. <code>oil</code>" in listed[0] and "Daily digest at 09:00 (UTC)" in listed[0]
    assert removed == ["Removed #1: <code>oil</code>."]
    assert "no subscriptions yet" in empty[0]
    assert subscription_queries(db, ALICE) == []
    assert all(m.parse_mode == "HTML" for m in sandbox.sent)


def test_menu_webhook_and_allowed_updates_at_start(sandbox, db):
    """At start the bot deletes the webhook, sets its command menu and polls only the updates it handles."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            await say(sandbox, ALICE, "/help")

    asyncio.run(go())
    assert len(sandbox.calls_of("deleteWebhook")) == 1
    assert {c["command"] for c in sandbox.commands} >= {"subscribe", "unsubscribe", "list", "digest", "search", "time", "tz"}
    assert "addchannel" not in {c["command"] for c in sandbox.commands}
    polls = sandbox.calls_of("getUpdates")
    assert polls[0].params["allowed_updates"] == ["message", "edited_message", "callback_query", "my_chat_member"]


BAD_INPUTS = [
    "/subscribe",
    "/subscribe    ",
    '/subscribe "unclosed phrase',
    "/subscribe (oil OR gas",
    "/subscribe oil)",
    "/subscribe -only -exclusions",
    "/subscribe " + "x" * 5000,
    "/subscribe <script>alert(1)</script>",
    "/subscribe <b>oil</b>",
    "/alert",
    "/time 25:99",
    "/time abc",
    "/time 9",
    "/tz Mars/Olympus",
    "/tz 5",
    "/tz ../../etc/passwd",
    "/unsubscribe 999",
    "/unsubscribe two",
    "/unsubscribe " + "9" * 5000,
    "/unsubscribe",
    "/search",
    "/search (",
    "/nosuchcommand",
    "/" + "a" * 5000,
    "just some words",
    "x" * 5000,
]


def test_bad_inputs_get_one_line_and_change_nothing(sandbox, db):
    """Each bad input is answered with exactly one single-line message and leaves the database as it was."""
    config = make_config()

    async def go():
        async with running_bot(sandbox, db, config):
            await say(sandbox, ALICE, "/start")
            await say(sandbox, ALICE, "/subscribe oil")
            before = (subs.get_subscriber(db, ALICE), subscription_queries(db, ALICE))
            answers = {}
            for text in BAD_INPUTS:
                answers[text] = await say(sandbox, ALICE, text)
            after = (subs.get_subscriber(db, ALICE), subscription_queries(db, ALICE))
            return before, after, answers

    before, after, answers = asyncio.run(go())
    assert before == after
    assert subscription_queries(db, ALICE) == ["oil"]
    for text, replies in answers.items():
        assert len(replies) == 1, text[:40]
        assert "\n" not in replies[0], (text[:40], replies[0])
        assert len(replies[0]) <= 300, text[:40]
    assert "unbalanced quotes" in answers['/subscribe "unclosed phrase'][0]
    assert answers["/time 25:99"] == ["“25:99” is not a time of day: use HH:MM, 24-hour, e.g. /time 07:30."]
    assert answers["/unsubscribe 999"] == ["There is no subscription #999; you have 1 (see /list)."]
    assert "not a time zone" in answers["/tz Mars/Olympus"][0]
    assert "/help" in answers["/nosuchcommand"][0]
    # Nothing was sent as plain text after a parse failure: all replies were valid HTML.
    assert all(m.parse_mode == "HTML" for m in sandbox.sent)


def test_user_text_is_escaped_in_replies(sandbox, db):
    """Markup typed by a user comes back as visible text, never as Telegram markup."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            tz = await say(sandbox, ALICE, "/tz <b>Evil</b>&co")
            unsub = await say(sandbox, ALICE, "/unsubscribe <i>x</i>")
            return tz[0], unsub[0]

    tz, unsub = asyncio.run(go())
    assert "&lt;b&gt;Evil&lt;/b&gt;&amp;co" in tz
    assert "<b>Evil" not in tz
    assert "&lt;i&gt;x&lt;/i&gt;" in unsub
    plain = [m.plain_text for m in sandbox.sent_to(ALICE)]
    assert "<b>Evil</b>&co" in plain[0]


def test_settings_time_zone_pause_resume(sandbox, db):
    """/time and /tz store the digest schedule; /pause and /resume toggle it; /list shows it."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            await say(sandbox, ALICE, "/start")
            await say(sandbox, ALICE, "/time 7:30")
            await say(sandbox, ALICE, "/tz europe/moscow")
            paused = await say(sandbox, ALICE, "/pause")
            listed = await say(sandbox, ALICE, "/list")
            await say(sandbox, ALICE, "/resume")
            return paused, listed

    paused, listed = asyncio.run(go())
    subscriber = subs.get_subscriber(db, ALICE)
    assert (subscriber.digest_time, subscriber.timezone, subscriber.paused) == ("07:30", "Europe/Moscow", False)
    assert "Paused" in paused[0]
    assert "Daily digest at 07:30 (Europe/Moscow). Paused" in listed[0]


def test_weekly_digest_day_is_set_checked_and_cleared(sandbox, db):
    """/weekly DAY switches to a weekly digest, a non-day changes nothing, /weekly off is daily again."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            await say(sandbox, ALICE, "/start")
            set_day = await say(sandbox, ALICE, "/weekly Wed")
            day = subs.weekly_day(db, ALICE)
            bad = await say(sandbox, ALICE, "/weekly 42")
            after_bad = subs.weekly_day(db, ALICE)
            off = await say(sandbox, ALICE, "/weekly off")
            return set_day, day, bad, after_bad, off

    set_day, day, bad, after_bad, off = asyncio.run(go())
    assert day == 2 and "Weekly digest on Wednesdays at 09:00" in set_day[0]
    assert "not a weekday" in bad[0] and after_bad == 2
    assert "Daily digest" in off[0] and subs.weekly_day(db, ALICE) is None


def test_admin_commands_are_refused_to_others(sandbox, db):
    """Non-admins get exactly "Not allowed." for admin commands and nothing changes."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            return [
                await say(sandbox, ALICE, "/addchannel @somechannel"),
                await say(sandbox, ALICE, "/removechannel @somechannel"),
                await say(sandbox, ALICE, "/stats"),
            ]

    answers = asyncio.run(go())
    assert answers == [["Not allowed."]] * 3
    assert db.execute("SELECT count(*) FROM channel_handles").fetchone()[0] == 0


def test_admin_adds_lists_and_removes_a_channel(sandbox, db):
    """An admin adds a channel by handle, sees it in /channels and /stats, and removes it again."""
    config = make_config()
    seed_stories(db, config, ["Gas pipeline repaired after storm damage"])

    async def go():
        async with running_bot(sandbox, db, config):
            added = await say(sandbox, ADMIN, "/addchannel https://t.me/New_Channel")
            again = await say(sandbox, ADMIN, "/addchannel @new_channel")
            bad = await say(sandbox, ADMIN, "/addchannel not a channel!")
            channels = await say(sandbox, ALICE, "/channels")
            stats = await say(sandbox, ADMIN, "/stats")
            removed = await say(sandbox, ADMIN, "/removechannel @new_channel")
            after = await say(sandbox, ALICE, "/channels")
            return added, again, bad, channels, stats, removed, after

    added, again, bad, channels, stats, removed, after = asyncio.run(go())
    assert added == ["Added @new_channel: it is read from the next collection pass on."]
    assert again == ["@new_channel is already watched."]
    assert bad[0].startswith("Not added:")
    assert "@new_channel" in channels[0] and "@energywire" in channels[0]
    assert "Posts: 1, stories: 1" in stats[0] and "@energywire" in stats[0]
    assert removed[0].startswith("Removed @new_channel")
    assert "@new_channel" not in after[0]
    assert db.execute("SELECT count(*) FROM channel_handles").fetchone()[0] == 0


def test_one_chat_never_sees_or_changes_another_chats_subscriptions(sandbox, db):
    """Alice's and Bob's lists are separate; Bob's /unsubscribe all leaves Alice's alone."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            await say(sandbox, ALICE, "/subscribe oil")
            await say(sandbox, ALICE, "/subscribe tanker*")
            await say(sandbox, BOB, "/subscribe gas")
            bob_list = await say(sandbox, BOB, "/list")
            bob_two = await say(sandbox, BOB, "/unsubscribe 2")
            await say(sandbox, BOB, "/unsubscribe all")
            return bob_list, bob_two

    bob_list, bob_two = asyncio.run(go())
    assert "gas" in bob_list[0] and "oil" not in bob_list[0] and "tanker" not in bob_list[0]
    assert bob_two == ["There is no subscription #2; you have 1 (see /list)."]
    assert subscription_queries(db, ALICE) == ["oil", "tanker*"]
    assert subscription_queries(db, BOB) == []


def test_subscription_limit_and_duplicates(sandbox, db):
    """A duplicate query is not stored twice and the per-chat limit is enforced."""
    config = make_config(max_subscriptions=2)

    async def go():
        async with running_bot(sandbox, db, config):
            await say(sandbox, ALICE, "/subscribe oil")
            dup = await say(sandbox, ALICE, "/subscribe OIL")
            await say(sandbox, ALICE, "/subscribe gas")
            over = await say(sandbox, ALICE, "/subscribe coal")
            return dup, over

    dup, over = asyncio.run(go())
    assert dup == ["You already have this subscription (#1); see /list."]
    assert "the most allowed" in over[0]
    assert subscription_queries(db, ALICE) == ["oil", "gas"]


def test_alert_stores_an_urgent_subscription(sandbox, db):
    """/alert QUERY stores the query with urgent=1 and /list marks it."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            alert = await say(sandbox, ALICE, "/alert pipeline explosion")
            listed = await say(sandbox, ALICE, "/list")
            return alert, listed

    alert, listed = asyncio.run(go())
    assert alert[0].startswith("Alert set (#1)")
    assert "(alert)" in listed[0]
    assert [s.urgent for s in subs.list_subscriptions(db, ALICE)] == [True]


def test_search_lists_the_ten_newest_matches_with_links(sandbox, db):
    """/search shows at most 10 matching stories, newest first, one line each with a link."""
    config = make_config()
    cities = ["Oslo", "Bergen", "Aberdeen", "Houston", "Dubai", "Riyadh", "Baku", "Lagos", "Perth", "Calgary", "Tromso", "Kuwait"]
    seed_stories(db, config, [f"Refinery number {i} in {city} reports record oil throughput for {1990 + i}" for i, city in enumerate(cities)])

    async def go():
        async with running_bot(sandbox, db, config):
            return (await say(sandbox, ALICE, "/search oil"))[0], (await say(sandbox, ALICE, "/search unicorns"))[0]

    found, none = asyncio.run(go())
    lines = found.splitlines()
    assert lines[0] == "The 10 newest stories matching <code>oil</code>:"
    assert len(lines) == 11 and all(line.startswith("• <a href=\"https://t.me/energywire/") for line in lines[1:])
    assert "Oslo" in lines[1] and "Tromso" not in found
    assert none == "No stored story matches <code>unicorns</code>."


def test_long_lists_are_split_under_the_telegram_limit(sandbox, db):
    """Fifty long subscriptions make /list several messages, each within 4,096 characters."""
    config = make_config(max_subscriptions=50)
    queries = [f'"{"&" * 150} word{i}" extra{i}' for i in range(50)]

    async def go():
        async with running_bot(sandbox, db, config):
            for q in queries:
                await say(sandbox, ALICE, f"/subscribe {q}")
            before = len(sandbox.sent_to(ALICE))
            await say(sandbox, ALICE, "/list", expect=2)
        return [m.text for m in sandbox.sent_to(ALICE)[before:]]  # the bot has sent all by now

    listed = asyncio.run(go())
    assert len(subscription_queries(db, ALICE)) == 50
    assert len(listed) > 1 and all(len(m) <= 4096 for m in listed)
    numbers = [line.split(".")[0] for m in listed for line in m.splitlines() if line[:1].isdigit()]
    assert numbers == [str(i) for i in range(1, 51)]


def test_digest_placeholder_and_hook(sandbox, db):
    """/digest answers with a placeholder until a digest hook is given, then with the hook's text."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            placeholder = await say(sandbox, ALICE, "/digest")
        async with running_bot(sandbox, db, make_config(), digest_now=lambda chat: f"Nothing new for {chat} since 09:00."):
            await say(sandbox, BOB, "/start")
            hooked = await say(sandbox, BOB, "/digest")
        return placeholder, hooked

    placeholder, hooked = asyncio.run(go())
    assert placeholder[0].startswith("Digests on demand are not available yet")
    assert hooked == [f"Nothing new for {BOB} since 09:00."]


def test_a_failing_command_is_answered_and_the_bot_goes_on(sandbox, db):
    """An exception inside a command gets an apology, is logged, and the next update is handled."""

    def broken(chat_id: int) -> str:
        raise RuntimeError("digest exploded")

    async def go():
        async with running_bot(sandbox, db, make_config(), digest_now=broken):
            await say(sandbox, ALICE, "/start")
            sorry = await say(sandbox, ALICE, "/digest")
            after = await say(sandbox, ALICE, "/help")
            return sorry, after

    sorry, after = asyncio.run(go())
    assert sorry == ["Sorry, something went wrong on my side. Please try again later."]
    assert after[0].startswith("<b>Commands</b>")


def test_offset_survives_restart_nothing_lost(sandbox, db):
    """Messages that arrive while the bot is down are handled once after it restarts."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            await say(sandbox, ALICE, "/start")
            await say(sandbox, ALICE, "/subscribe oil")
        sandbox.send_user_message(ALICE, "/subscribe gas")
        last = sandbox.send_user_message(ALICE, "/list")
        async with running_bot(sandbox, db, make_config()):
            await sandbox.wait_confirmed(last)
            await sandbox.wait_sent(4, chat_id=ALICE)
        return last

    last = asyncio.run(go())
    texts = [m.text for m in sandbox.sent_to(ALICE)]
    assert len(texts) == 4
    assert texts[2].startswith("Subscribed (#2): <code>gas</code>")
    assert subscription_queries(db, ALICE) == ["oil", "gas"]
    assert get_meta(db, OFFSET_KEY) == str(last + 1)


def test_offset_survives_restart_nothing_re_handled(db):
    """If Telegram redelivers updates the bot already handled, the stored offset skips them."""
    config = make_config()

    async def first_run(sb: Sandbox):
        async with running_bot(sb, db, config):
            await say(sb, ALICE, "/start")
            await say(sb, ALICE, "/subscribe oil")

    async def second_run(sb: Sandbox):
        # A fresh server replays the same two updates (same ids) and then two new ones.
        sb.send_user_message(ALICE, "/start")
        sb.send_user_message(ALICE, "/subscribe oil")
        sb.send_user_message(ALICE, "/subscribe gas")
        last = sb.send_user_message(ALICE, "/list")
        async with running_bot(sb, db, config):
            await sb.wait_confirmed(last)
            await sb.wait_sent(2, chat_id=ALICE)

    with Sandbox(token=TOKEN, spec_path=SPEC) as sb1:
        asyncio.run(first_run(sb1))
        assert len(sb1.sent_to(ALICE)) == 2
    with Sandbox(token=TOKEN, spec_path=SPEC) as sb2:
        asyncio.run(second_run(sb2))
        texts = [m.text for m in sb2.sent_to(ALICE)]
        assert sb2.violations == []
    assert len(texts) == 2
    assert texts[0].startswith("Subscribed (#2): <code>gas</code>")
    assert subscription_queries(db, ALICE) == ["oil", "gas"]


def test_blocking_and_unblocking_the_bot(sandbox, db):
    """my_chat_member kicked deactivates the subscriber, member reactivates it."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            await say(sandbox, ALICE, "/start")
            sandbox.block(ALICE)
            await until(lambda: not subs.get_subscriber(db, ALICE).active, what="Alice is deactivated")
            blocked = subs.get_subscriber(db, ALICE).active
            sandbox.unblock(ALICE)
            await until(lambda: subs.get_subscriber(db, ALICE).active, what="Alice is active again")
            return blocked

    assert asyncio.run(go()) is False
    assert subs.get_subscriber(db, ALICE).active is True


def test_send_failures_in_a_conversation(sandbox, db):
    """A 500 and a 429 on replies are retried (each reply arrives once); a 403 deactivates and is recorded."""
    skip = SkipTime()

    async def go():
        async with running_bot(sandbox, db, make_config(), clock=skip.clock, sleep=skip.sleep):
            await say(sandbox, ALICE, "/start")
            sandbox.fail_next("sendMessage", 500, chat_id=ALICE)
            after_500 = await say(sandbox, ALICE, "/help")
            sandbox.fail_next("sendMessage", 429, retry_after=4, chat_id=ALICE)
            after_429 = await say(sandbox, ALICE, "/list")
            await say(sandbox, BOB, "/start")
            sandbox.block(BOB, notify=False)
            update_id = sandbox.send_user_message(BOB, "/help")
            await sandbox.wait_confirmed(update_id)
            await until(lambda: not subs.get_subscriber(db, BOB).active, what="Bob is deactivated")
            return after_500, after_429

    after_500, after_429 = asyncio.run(go())
    assert after_500[0].startswith("<b>Commands</b>") and after_429[0].startswith("You have no subscriptions")
    assert len(sandbox.sent_to(ALICE)) == 3
    assert 4 in [round(s) for s in skip.sleeps]
    assert subs.get_subscriber(db, BOB).active is False
    errors = db.execute("SELECT chat_id, error FROM send_errors").fetchall()
    assert [(c, "Forbidden" in e) for c, e in errors] == [(BOB, True)]


def test_token_never_appears_in_captured_logs(sandbox, db, caplog):
    """A whole conversation with failures, logged at DEBUG, never shows the bot token."""
    caplog.set_level(logging.DEBUG)
    skip = SkipTime()

    async def go():
        async with running_bot(sandbox, db, make_config(), clock=skip.clock, sleep=skip.sleep):
            await say(sandbox, ALICE, "/start")
            sandbox.fail_next("sendMessage", 500, chat_id=ALICE)
            await say(sandbox, ALICE, "/subscribe oil")
            sandbox.fail_next("getUpdates", 502)
            sandbox.fail_next("sendMessage", 403, chat_id=ALICE)
            sandbox.send_user_message(ALICE, "/list")
            await until(lambda: not subs.get_subscriber(db, ALICE).active, what="Alice is deactivated")

    asyncio.run(go())
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "getUpdates" in logged and "sendMessage" in logged  # the log does talk about the calls
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged


def test_group_chats_are_not_served(sandbox, db):
    """In a group the bot ignores plain commands and answers one addressed to it with a pointer to private chat."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            sandbox.send_user_message(-1005, "/subscribe oil", user_id=ALICE, chat_type="supergroup")
            update_id = sandbox.send_user_message(
                -1005, f"/subscribe@{Sandbox.bot_user['username']} oil", user_id=ALICE, chat_type="supergroup"
            )
            await sandbox.wait_confirmed(update_id)
            return await sandbox.wait_sent(1, chat_id=-1005)

    sent = asyncio.run(go())
    assert len(sent) == 1 and "private chats only" in sent[0].text
    assert subs.get_subscriber(db, -1005) is None and subscription_queries(db, ALICE) == []


def test_callback_queries_are_answered(sandbox, db):
    """A stray inline-button press is acknowledged so the user's button stops spinning."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            update_id = sandbox.send_callback_query(ALICE, "noop")
            await sandbox.wait_confirmed(update_id)
            await until(lambda: bool(sandbox.calls_of("answerCallbackQuery")), what="the callback is answered")

    asyncio.run(go())
    assert sandbox.calls_of("answerCallbackQuery")[0].status == 200


def test_stemming_config_reaches_the_query_parser(sandbox, db):
    """Queries use the configured query options: with a 10-character limit a longer query is refused."""
    config = replace(make_config(), query=QueryConfig(max_length=10))

    async def go():
        async with running_bot(sandbox, db, config):
            return await say(sandbox, ALICE, "/subscribe sanctions against")

    answer = asyncio.run(go())
    assert "the limit is 10" in answer[0]
    assert subscription_queries(db, ALICE) == []


def test_every_reply_in_these_conversations_is_valid_telegram_html(sandbox, db):
    """/start, /help, /categories and /channels replies parse as Telegram HTML within the limit."""

    async def go():
        async with running_bot(sandbox, db, make_config()):
            return [
                (await say(sandbox, ALICE, cmd))[0]
                for cmd in ("/start", "/help", "/categories", "/channels", "/start")
            ]

    replies = asyncio.run(go())
    for reply in replies:
        assert len(parse_html(reply)) <= 4096
    assert "<b>Energy</b>: <code>oil OR gas</code>" in replies[2]
    assert replies[4].startswith("<b>Welcome back!</b>")


def test_tgdigest_bot_command_runs_the_bot(tmp_path):
    """`tgdigest bot` as a real subprocess answers /start and /digest through TELEGRAM_BOT_API_URL and stops on Ctrl-C."""
    import os
    import signal
    import subprocess
    import sys

    env = dict(os.environ, TELEGRAM_BOT_TOKEN=TOKEN, TGDIGEST_LOG_LEVEL="DEBUG")
    env.pop("TGDIGEST_CONFIG", None)
    with Sandbox(token=TOKEN, spec_path=SPEC) as sb:
        env["TELEGRAM_BOT_API_URL"] = sb.base_url
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--db", str(tmp_path / "bot.sqlite"), "bot"],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            sb.send_user_message(ALICE, "/start")
            sb.wait_for_sent(1, chat_id=ALICE, timeout=30)
            sb.send_user_message(ALICE, "/digest")
            sent = sb.wait_for_sent(2, chat_id=ALICE, timeout=30)
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        assert sb.violations == []
    assert "Welcome to tgdigest" in sent[0].text
    assert sent[1].text.startswith("Nothing new since"), "/digest is served by the real digest service"
    assert process.returncode == 130
    assert TOKEN not in stderr and TOKEN.split(":")[1] not in stderr


def test_prepare_runs_once_even_if_called_before_run(sandbox, db):
    """A service that prepares the bot itself before run() does not register the menu twice."""

    async def go():
        async with running_bot(sandbox, db, make_config()) as app:
            await app.loop.prepare()
            await say(sandbox, ALICE, "/help")

    asyncio.run(go())
    assert len(sandbox.calls_of("deleteWebhook")) == 1 and len(sandbox.calls_of("setMyCommands")) == 1


def test_list_of_astral_subscriptions_is_split_by_utf16_units(sandbox, db):
    """50 subscriptions in math letters and CJK Extension B (2 UTF-16 units per character):
    split by code points, /list made parts Telegram rejects as too long and the user saw
    nothing; split by UTF-16 units every part arrives and all 50 are listed."""
    config = make_config()
    math_bold = "".join(chr(0x1D400 + i % 26) for i in range(60))  # MATHEMATICAL BOLD CAPITAL A..Z
    cjk_ext_b = "".join(chr(0x20000 + i) for i in range(60))
    queries = [f"{math_bold[i % 7:]}{cjk_ext_b[: 60 - i % 7]}{i}" for i in range(50)]
    subs.register(db, ALICE)
    for query in queries:
        subs.add_subscription(db, ALICE, query, limit=config.bot.max_subscriptions)
    assert sum(utf16_len(q) for q in queries) > 2 * 4096 > sum(len(q) for q in queries)  # the astral case

    async def go():
        async with running_bot(sandbox, db, config):
            sandbox.send_user_message(ALICE, "/list")
            sandbox.send_user_message(ALICE, "/help")  # replies go out in order: /list's parts come first
            await until(
                lambda: any(m.text.startswith("<b>Commands</b>") for m in sandbox.sent_to(ALICE)),
                what="the /help reply arrives",
            )
            return [m.plain_text for m in sandbox.sent_to(ALICE)[:-1]]

    parts = asyncio.run(go())
    assert [c.status for c in sandbox.calls_of("sendMessage")] == [200] * (len(parts) + 1)
    assert len(parts) >= 3 and all(utf16_len(part) <= 4096 for part in parts)
    listed = "\n".join(parts)
    for number, query in enumerate(queries, 1):
        assert f"{number}. {query}" in listed
