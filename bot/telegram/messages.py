"""What goes in and out of the bot: updates read defensively, replies, and Telegram HTML
helpers. Shared by ``bot.telegram.commands`` (typed commands) and ``bot.telegram.buttons``
(button presses)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.core.buttons import Keyboard
from bot.core.text import esc, shorten, utf16_len

__all__ = ["EDITED", "MAX_MESSAGE", "NOT_TEXT", "Command", "Document", "FileRef", "Incoming", "Reply", "esc", "pack",
           "parse_command", "parse_update", "shorten"]

MAX_MESSAGE = 4096
NOT_TEXT = "I read text commands only: send /help to see them."
EDITED = "I don't act on edited messages: send the command again as a new message (/help lists them)."


def pack(lines: Iterable[str], *, limit: int = MAX_MESSAGE) -> list[str]:
    """Join lines into as few messages as fit ``limit``, splitting only between lines.

    Lengths are UTF-16 units, as Telegram counts them (a math letter or a CJK extension
    character is 2), of the HTML as written: never less than what Telegram counts after
    parsing the markup, so a part can never be rejected as too long."""
    messages: list[str] = []
    current = ""
    for line in lines:
        if utf16_len(line) > limit:
            raise ValueError("a single reply line is longer than a message")  # a bug here, not input
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) > limit:
            messages.append(current)
            current = line
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


# --- updates ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FileRef:
    """A document in a message: what ``getFile`` needs, and what the user called it."""

    file_id: str
    file_name: str | None = None
    file_size: int | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """The parts of an update the bot uses. ``kind``: message, edited (an edited message),
    member, callback or other.

    For a callback (a button press): ``callback_data`` and ``message_id``, the bot's message
    the button is under (None when Telegram no longer shows it). For a message: ``document``
    when it carries a file, and ``reply_document`` when it replies to a message with one;
    ``has_content`` when the user sent something (text, a sticker, a photo, a location ...),
    as opposed to a service message (a pin, a member joining)."""

    kind: str
    update_id: int
    chat_id: int | None = None
    chat_type: str = "private"
    user_id: int | None = None
    username: str | None = None
    first_name: str | None = None
    text: str | None = None
    caption: str | None = None  # of a message with a file (a document sent with "/import")
    member_status: str | None = None
    callback_id: str | None = None
    callback_data: str | None = None
    message_id: int | None = None
    document: FileRef | None = None
    reply_document: FileRef | None = None
    has_content: bool = False


# Message fields that carry something a user sent (Bot API ``Message``); a message with none
# of these and no text is a service message (pinned, members joined, ...), not answered.
USER_CONTENT = frozenset({
    "animation", "audio", "caption", "contact", "dice", "document", "game", "location", "paid_media",
    "photo", "poll", "sticker", "story", "text", "venue", "video", "video_note", "voice",
})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _file_ref(value: Any) -> FileRef | None:
    document = _dict(value)
    file_id = _str(document.get("file_id"))
    if not file_id:
        return None
    return FileRef(file_id, _str(document.get("file_name")), _int(document.get("file_size")))


def parse_update(update: Any) -> Incoming:
    """Read an update defensively: odd shapes become ``kind="other"``, never an exception."""
    data = _dict(update)
    update_id = _int(data.get("update_id")) or 0
    for key, kind in (("message", "message"), ("edited_message", "edited")):
        if key not in data:
            continue
        message = _dict(data[key])
        chat = _dict(message.get("chat"))
        sender = _dict(message.get("from"))
        return Incoming(
            kind=kind, update_id=update_id, chat_id=_int(chat.get("id")),
            chat_type=_str(chat.get("type")) or "private", user_id=_int(sender.get("id")),
            username=_str(sender.get("username")), first_name=_str(sender.get("first_name")),
            text=_str(message.get("text")), caption=_str(message.get("caption")),
            message_id=_int(message.get("message_id")),
            document=_file_ref(message.get("document")),
            reply_document=_file_ref(_dict(message.get("reply_to_message")).get("document")),
            has_content=any(k in message for k in USER_CONTENT),
        )
    if "my_chat_member" in data:
        member = _dict(data["my_chat_member"])
        chat = _dict(member.get("chat"))
        new = _dict(member.get("new_chat_member"))
        return Incoming(
            kind="member", update_id=update_id, chat_id=_int(chat.get("id")),
            chat_type=_str(chat.get("type")) or "private", member_status=_str(new.get("status")),
        )
    if "callback_query" in data:
        callback = _dict(data["callback_query"])
        sender = _dict(callback.get("from"))
        message = _dict(callback.get("message"))
        chat = _dict(message.get("chat"))
        # An inaccessible message (too old for Telegram to show) has date 0: nothing to edit.
        visible = bool(message) and message.get("date") != 0
        return Incoming(
            kind="callback", update_id=update_id, chat_id=_int(chat.get("id")) or _int(sender.get("id")),
            chat_type=_str(chat.get("type")) or "private", user_id=_int(sender.get("id")),
            username=_str(sender.get("username")), first_name=_str(sender.get("first_name")),
            callback_id=_str(callback.get("id")), callback_data=_str(callback.get("data")),
            message_id=_int(message.get("message_id")) if visible else None,
        )
    return Incoming(kind="other", update_id=update_id)


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # lower case, without "/" and "@bot"
    args: str  # the rest, stripped
    mention: str | None = None  # the "@bot" part, if any


_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?(?=\s|$)")


def parse_command(text: str) -> Command | None:
    """``"/subscribe@my_bot  iran"`` → Command("subscribe", "iran", "my_bot"); not a command → None."""
    stripped = text.strip()
    m = _COMMAND.match(stripped)
    if not m:
        return None
    return Command(m.group(1).lower(), stripped[m.end():].strip(), m.group(2))


@dataclass(frozen=True, slots=True)
class Document:
    """A file to send (``sendDocument``): its name and bytes."""

    file_name: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """Something to send to ``chat_id``: a message (``text``, Telegram HTML), with ``buttons``
    under it; or, with ``edit_message_id``, a new text and buttons for that message (only its
    buttons when ``keyboard_only``); or a ``document`` with ``text`` as its caption; or, with
    ``notice``, the answer to a button press (a short line Telegram shows over the chat)."""

    chat_id: int
    text: str
    buttons: Keyboard = ()
    edit_message_id: int | None = None
    keyboard_only: bool = False
    document: Document | None = None
    notice: bool = False


