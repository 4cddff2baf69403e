"""Private-chat messages that are not text commands: each gets one short answer, a captioned command runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.config import Config
from bot.storage import subscribers as subs
from bot.storage.db import open_db
from bot.telegram.botapi import ALLOWED_UPDATES
from bot.telegram.commands import CommandHandler

CHAT = 4242


def _message(**content: Any) -> dict[str, Any]:
    return {
        "message_id": 7, "date": 1_750_000_000,
        "from": {"id": CHAT, "is_bot": False, "first_name": "Ann"},
        "chat": {"id": CHAT, "type": "private", "first_name": "Ann"},
        **content,
    }


# Shaped as the Bot API sends them (fields from the official Message type).
NON_TEXT = {
    "sticker": {"sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512, "height": 512,
                            "is_animated": False, "is_video": False, "emoji": "🔥"}},
    "photo": {"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]},
    "voice": {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 3}},
    "video": {"video": {"file_id": "v2", "file_unique_id": "u4", "width": 1, "height": 1, "duration": 1}},
    "document": {"document": {"file_id": "d1", "file_unique_id": "u5"}},
    "location": {"location": {"latitude": 52.5, "longitude": 13.4}},
    "contact": {"contact": {"phone_number": "+100", "first_name": "Bob"}},
}


@pytest.fixture
def handler(tmp_path) -> CommandHandler:
    return CommandHandler(open_db(tmp_path / "t.sqlite"), Config())


def _texts(handler: CommandHandler, update: dict[str, Any]) -> list[str]:
    return [r.text for r in asyncio.run(handler.handle_update({"update_id": 1, **update}))]


@pytest.mark.parametrize("kind", sorted(NON_TEXT))
def test_non_text_message_gets_one_pointer_to_help(handler: CommandHandler, kind: str) -> None:
    replies = _texts(handler, {"message": _message(**NON_TEXT[kind])})
    assert len(replies) == 1
    # A document is a subscriptions file to /import, and its answer says how; the rest point to /help.
    assert ("/import" if kind == "document" else "/help") in replies[0]


def test_edited_message_gets_one_answer_and_is_not_run_again(handler: CommandHandler) -> None:
    """An edit is answered (send it anew) but never executed: a re-run /subscribe would surprise."""
    replies = _texts(handler, {"edited_message": _message(text="/subscribe iran", edit_date=1_750_000_100)})
    assert len(replies) == 1 and "/help" in replies[0] and "edit" in replies[0]
    assert subs.list_subscriptions(handler.db, CHAT) == []


def test_edits_are_asked_for_from_telegram() -> None:
    """Without edited_message in allowed_updates Telegram would never deliver edits to answer."""
    assert "edited_message" in ALLOWED_UPDATES


def test_photo_with_a_command_caption_runs_the_command(handler: CommandHandler) -> None:
    replies = _texts(handler, {"message": _message(caption="/subscribe iran", **NON_TEXT["photo"])})
    assert replies and replies[0].startswith("Subscribed (#1)")
    assert [s.query for s in subs.list_subscriptions(handler.db, CHAT)] == ["iran"]


def test_non_text_in_a_group_stays_silent(handler: CommandHandler) -> None:
    message = _message(**NON_TEXT["sticker"])
    message["chat"] = {"id": -100, "type": "group", "title": "g"}
    assert _texts(handler, {"message": message}) == []
    edited = _message(text="/help")
    edited["chat"] = {"id": -100, "type": "group", "title": "g"}
    assert _texts(handler, {"edited_message": edited}) == []


def test_service_message_in_private_chat_is_not_answered(handler: CommandHandler) -> None:
    """A pinned-message notice or similar carries no user content: nothing to point to /help about."""
    assert _texts(handler, {"message": _message(pinned_message=_message(text="x"))}) == []


def test_unsubscribe_negative_number_says_there_is_no_such_subscription(handler: CommandHandler) -> None:
    """`/unsubscribe -1` is a number, just not one from /list."""
    replies = _texts(handler, {"message": _message(text="/unsubscribe -1")})
    assert len(replies) == 1 and "not a number" not in replies[0]
    assert "no subscription #-1" in replies[0]
