"""Random button presses at the handler: nothing escapes, each press gets exactly one answer
of at most 200 characters, every screen is valid Telegram HTML with valid buttons, and a
press never changes another chat's data."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import BotConfig, Config
from bot.core.buttons import CALLBACK_DATA_MAX
from bot.core.models import Post
from bot.core.text import utf16_len
from bot.devtools.sandbox import parse_html
from bot.digests.delivery import DigestService, NoSender
from bot.digests.keyboard import digest_keyboard
from bot.storage import subscriber_data
from bot.storage import subscribers as subs
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor
from bot.storage.store import Store
from bot.telegram import screens
from bot.telegram.commands import CommandHandler

CHAT, OTHER = 11, 22
HEADS = ["pg", "mc", "hs", "pz", "rs", "mch", "hst", "um", "set", "st", "mutes", "ls", "md", "rm", "add", "exp",
         "imp", "x", "noop", "zz", ""]
parts = st.one_of(
    st.integers(min_value=-2, max_value=12).map(str),  # ids that exist: digests, stories, channels
    st.integers(min_value=-5, max_value=10**20).map(str),
    st.sampled_from(["t", "z", "zr", "zs", "w", "wd", "s", "p", "r", "home", "c", "s", "rm", "e", "digest", "alert",
                     "silent", "compact", "full", "off", "Europe", "Europe/Berlin", "+60", "-15", "Mars"]),
    st.text(max_size=12),
)
presses = st.builds(lambda head, rest: ":".join([head, *rest]), st.sampled_from(HEADS), st.lists(parts, max_size=3))


@functools.lru_cache(maxsize=1)
def make_handler() -> CommandHandler:
    config = Config(bot=BotConfig(max_subscriptions=5))
    db = open_db(":memory:")
    now = datetime.now(UTC)
    Ingestor(db, config).ingest([
        Post(channel_id=1 + i % 2, message_id=i, date=now - timedelta(hours=i), text=f"Oil <b>{i}</b> & gas",
             channel_username=f"wire{i % 2}")
        for i in range(1, 6)
    ])
    for chat in (CHAT, OTHER):
        subs.register(db, chat)
        subs.add_subscription(db, chat, "oil")
    subs.set_digest_style(db, CHAT, "compact")
    built = DigestService(db, NoSender(), config).build_now(CHAT)
    assert built.digest_id == 1  # a stored digest for the digest buttons to act on
    return CommandHandler(db, config, stories=Store(db))


def press(handler: CommandHandler, data: str, message_id: int | None = 7) -> list:
    update = {"update_id": 1, "callback_query": {
        "id": "q", "from": {"id": CHAT, "is_bot": False, "first_name": "T"}, "chat_instance": "1", "data": data,
        "message": {"message_id": message_id, "date": 1, "chat": {"id": CHAT, "type": "private"}, "text": "x"},
    }}
    return asyncio.run(handler.handle_update(update))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(presses)
def test_any_press_gets_one_short_answer_and_valid_screens(data: str) -> None:
    handler = make_handler()
    other_before = subscriber_data.subscriber_document(handler.db, OTHER, envelope=False)
    replies = press(handler, data)
    notices = [r for r in replies if r.notice]
    assert len(notices) == 1 and len(notices[0].text) <= 200 and "\n" not in notices[0].text
    for reply in replies:
        assert reply.chat_id == CHAT
        if not reply.notice and not reply.keyboard_only and reply.document is None:
            plain = parse_html(reply.text)
            assert plain.strip() and utf16_len(plain) <= 4096
        assert sum(len(row) for row in reply.buttons) <= 100
        assert all(len(b.data.encode()) <= CALLBACK_DATA_MAX for row in reply.buttons for b in row)
    assert subscriber_data.subscriber_document(handler.db, OTHER, envelope=False) == other_before


def test_every_screen_keeps_within_telegrams_button_limits() -> None:
    subscriber = subs.Subscriber(chat_id=1, timezone="America/Argentina/ComodRivadavia")
    keyboards = [screens.settings_screen(subscriber, [])[1], screens.regions_screen("UTC")[1],
                 screens.weekly_screen(subscriber)[1], digest_keyboard(2**62, page=10**6, pages=10**6 + 1)]
    for region, zones in screens.zones_by_region().items():
        for page in range((len(zones) + screens.CITIES_PER_PAGE - 1) // screens.CITIES_PER_PAGE):
            screen = screens.cities_screen(region, page)
            assert screen is not None
            keyboards.append(screen[1])
    for rows in keyboards:
        assert sum(len(r) for r in rows) <= 100
        assert all(len(b.data.encode()) <= CALLBACK_DATA_MAX for r in rows for b in r)
    reachable = {b.data.split(":")[2] for rows in keyboards for r in rows for b in r if b.data.startswith("st:zs:")}
    assert "Europe/Berlin" in reachable and "America/Argentina/ComodRivadavia" in reachable
