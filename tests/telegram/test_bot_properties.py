"""Random text at the command and query parsers: nothing escapes, every reply is valid Telegram HTML."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from bot.config import BotConfig, CategoryConfig, Config
from bot.core.models import Post
from bot.core.text import utf16_len
from bot.devtools.sandbox import parse_html
from bot.errors import QueryError
from bot.query.parser import parse_query
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor
from bot.storage.store import Store
from bot.telegram.commands import CommandHandler, pack, parse_command, parse_update

ADMIN = 900
COMMANDS = [
    "start", "help", "subscribe", "alert", "unsubscribe", "list", "digest", "search", "time", "tz",
    "pause", "resume", "channels", "categories", "addchannel", "removechannel", "stats", "weekly", "nope",
]
# Anything a Telegram client can send: every code point but lone surrogates (not valid UTF-8).
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
nasty = st.sampled_from(["<", ">", "&", "&amp;", "<b>", "</b>", "\"", "(", ")", "-", "*", "#", "@", " OR ", "😀", "\n", "\x00", "9" * 30])
arguments = st.one_of(any_text, st.lists(st.one_of(nasty, any_text), max_size=12).map("".join), st.text(max_size=5000))


CONFIG = Config(
    bot=BotConfig(admins=(ADMIN,), max_subscriptions=5),
    categories=(CategoryConfig("Energy <&>", "oil OR gas"),),
)


@functools.lru_cache(maxsize=1)
def seeded_database() -> Database:
    """The starting state every example copies: three stories and a send error, built once."""
    config = CONFIG
    db = open_db(":memory:")
    now = datetime.now(UTC)
    Ingestor(db, config).ingest(
        [
            Post(channel_id=1, message_id=i, date=now - timedelta(hours=i), text=text, channel_username="wire_feed")
            for i, text in enumerate(
                ["Oil <b>prices</b> & gas", "Gas pipeline <script>alert(1)</script>", "😀 " * 3000], start=1
            )
        ]
    )
    db.execute("INSERT INTO send_errors (chat_id, at, error) VALUES (1, '2025-01-01T00:00:00+00:00', '<x> & y')")
    return db


def make_handler() -> CommandHandler:
    """A handler over its own copy of the seeded database, so no example sees what another
    stored (a failure then replays alone); copying with SQLite's backup API takes a millisecond."""
    db = Database(sqlite3.connect(":memory:"))
    seeded_database().conn.backup(db.conn)
    db.execute("PRAGMA foreign_keys=ON")
    return CommandHandler(db, CONFIG, stories=Store(db), digest_now=lambda chat: None)


def assert_valid_replies(replies: list[str]) -> None:
    for reply in replies:
        assert len(reply) <= 4096
        plain = parse_html(reply)  # raises on anything Telegram would reject
        assert plain.strip() and utf16_len(plain) <= 4096


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(COMMANDS), args=arguments, admin=st.booleans(), mention=st.booleans())
def test_random_commands_get_valid_replies(command, args, admin, mention):
    """Any command with any arguments, from admins and others, returns only valid, short Telegram HTML."""
    handler = make_handler()
    text = f"/{command}{'@tgdigest_sandbox_bot' if mention else ''} {args}"
    chat = ADMIN if admin else 42
    for _ in range(2):  # twice: the second run sees what the first one stored
        replies = asyncio.run(handler.handle_text(chat, text))
        assert_valid_replies(replies)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(any_text, st.text(max_size=5000), st.lists(nasty, max_size=20).map("".join)))
def test_random_text_gets_valid_replies(text):
    """Whatever a user types, the answer is valid Telegram HTML within the limit, and never an exception."""
    handler = make_handler()
    replies = asyncio.run(handler.handle_text(42, text))
    assert_valid_replies(replies)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(any_text, st.lists(nasty, max_size=30).map("".join)))
def test_query_parser_raises_only_query_errors(text):
    """The query parser either returns a query or raises QueryError, for any input."""
    try:
        query = parse_query(text)
    except QueryError as e:
        assert str(e)
    else:
        assert query.describe()


@settings(max_examples=300, deadline=None)
@given(text=any_text)
def test_parse_command_never_raises(text):
    """parse_command returns a Command with a lower-case name, or None."""
    command = parse_command(text)
    if command is not None:
        assert command.name == command.name.lower() and text.strip().startswith("/")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.sampled_from(["/start", "/subscribe oil", "kicked", "member", "private", "group"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
update_keys = st.sampled_from(["update_id", "message", "my_chat_member", "callback_query", "chat", "from", "text", "id", "new_chat_member", "status"])


@settings(max_examples=150, deadline=None)
@given(update=st.dictionaries(update_keys, json_values | st.dictionaries(update_keys, json_values, max_size=5), max_size=5))
def test_malformed_updates_never_crash_the_handler(update):
    """Updates of any shape are read defensively: no exception, valid replies."""
    parse_update(update)
    handler = make_handler()
    replies = asyncio.run(handler.handle_update(update))
    assert_valid_replies([r.text for r in replies])


@given(lines=st.lists(st.text(min_size=1, max_size=400), max_size=60))
def test_pack_keeps_every_line_and_the_limit(lines):
    """pack splits between lines only, keeps them all in order, and never exceeds the limit."""
    messages = pack(lines, limit=1000)
    assert all(utf16_len(m) <= 1000 for m in messages)
    assert "\n".join(messages) == "\n".join(lines)
