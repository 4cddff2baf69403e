"""A fake Telegram Bot API on 127.0.0.1, for tests, benchmarks and ``make demo``.

It is a real HTTP server (stdlib ``http.server`` in a thread) that answers the way Telegram
does: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..., "description":
..., "parameters": {"retry_after": ...}}``. It long-polls ``getUpdates`` (honouring
``timeout`` and ``offset``), validates ``sendMessage`` like Telegram (HTML parse mode with only
Telegram's tags, balanced; at most 4,096 UTF-16 code units after entity parsing; not empty),
and can be told to fail: 429 with ``retry_after``, 403 for a blocked chat, 500s, a rate limit,
and an outage (``go_down``/``come_up``: connections dropped unanswered).

Buttons and files, as Telegram does them: ``reply_markup`` must be an InlineKeyboardMarkup
(JSON-serialised in form and multipart requests) of at most 100 buttons, each with one action
and ``callback_data`` of 1-64 bytes. ``press_button``/``press`` queue the ``callback_query``
a user's press produces (the button must be under the message as it is now);
``answerCallbackQuery`` is recorded in ``answers`` (once per press; a second answer is
refused like Telegram's "query is too old"); ``editMessageText`` and
``editMessageReplyMarkup`` change the stored message in place (``message(chat, id)`` returns
the current version; an identical edit is refused as "message is not modified").
``sendDocument`` takes multipart uploads; ``getFile`` and ``GET /file/bot<token>/<path>``
give files back; ``send_user_document`` and ``send_user_message(reply_to=...)`` are a user
sending a file or replying to one of the bot's messages.

The rate limit comes in two kinds: the lenient token bucket (``rate_limit``/``burst``) and
the strict one Telegram behaves like (``window_limit``): at most that many messages
accepted in any sliding 1-second window, the next one answered 429 with ``retry_after``.
With ``latency``/``jitter`` every request waits a random ``latency + U(0, jitter)`` seconds
before it is handled, as requests to Telegram arrive after network delays that vary, so
messages sent evenly can arrive bunched. Paid broadcasts (``allow_paid_broadcast``) are
counted in a window of their own (``paid_window_limit``, 1,000 like Telegram's).

Given a spec (``spec_path``: the JSON of github.com/PaulSonOfLars/telegram-bot-api-spec) it
checks every request's method, parameter names, required parameters and JSON types against
the official specification. A violation is answered with 400 *and* recorded in
``violations``, so a misspelt method or parameter fails the test that caused it.

    with Sandbox(token="123:abc", spec_path="tests/fixtures/bot-api-spec.json") as sandbox:
        api = BotAPI("123:abc", base_url=sandbox.base_url)
        sandbox.send_user_message(42, "/start")
        ...
        assert sandbox.sent_to(42)[0].text.startswith("Welcome")
        assert sandbox.violations == []

Everything here is thread-safe: the HTTP threads and the test share one condition variable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.core.text import utf16_len

MAX_MESSAGE_LENGTH = 4096
DROPPED = 0  # the "status" of a request whose connection was dropped during an outage

# Telegram's HTML parse mode: these tags and nothing else.
TELEGRAM_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "tg-emoji", "code", "pre", "blockquote",
    }
)
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTRIBUTE = re.compile(r"\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*(?:=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")


class HTMLParseError(ValueError):
    """Text is not valid Telegram HTML; ``str(e)`` is what Telegram would say after the colon."""


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, index: int, *, strict: bool) -> tuple[str, int]:
    """The character the ``&`` at ``index`` stands for, and the index after the entity."""
    m = _ENTITY.match(text, index)
    if m:
        if m.group(3) is not None:
            name = m.group(3)
            if name in _NAMED_ENTITIES:
                return _NAMED_ENTITIES[name], m.end()
        else:
            code = int(m.group(1)) if m.group(1) is not None else int(m.group(2), 16)
            if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                return chr(code), m.end()
    if strict:
        # Telegram keeps a stray "&" as text; the sandbox is stricter so our escaping bugs show.
        raise HTMLParseError(f"unescaped \"&\" at byte offset {_byte_offset(text, index)}")
    return "&", index + 1


def parse_html(text: str, *, strict: bool = True) -> str:
    """The plain text Telegram shows for ``text`` in HTML parse mode; raise HTMLParseError.

    Checks what Telegram checks: only its tags, every start tag closed in order, ``<`` and
    ``>`` only as tag delimiters, entities limited to ``&lt; &gt; &amp; &quot;`` and numeric
    ones. With ``strict`` (the default) a bare ``&`` is an error too.
    """
    out: list[str] = []
    stack: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded, i = _decode_entity(text, i, strict=strict)
            out.append(decoded)
            continue
        if ch == ">":
            raise HTMLParseError(f"unexpected \">\" at byte offset {_byte_offset(text, i)}; escape it as &gt;")
        if ch != "<":
            out.append(ch)
            i += 1
            continue
        start = i
        closing = text.startswith("</", i)
        j = i + (2 if closing else 1)
        m = _TAG_NAME.match(text, j)
        if not m:
            raise HTMLParseError(
                f"unsupported start tag at byte offset {_byte_offset(text, start)}; escape \"<\" as &lt;"
            )
        name = m.group(0).lower()
        j = m.end()
        if closing:
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise HTMLParseError(f"can't find end of end tag at byte offset {_byte_offset(text, start)}")
            if not stack:
                raise HTMLParseError(f"unexpected end tag at byte offset {_byte_offset(text, start)}")
            if stack[-1] != name:
                raise HTMLParseError(
                    f"unmatched end tag at byte offset {_byte_offset(text, start)}, "
                    f"expected \"</{stack[-1]}>\", found \"</{name}>\""
                )
            stack.pop()
            i = j + 1
            continue
        if name not in TELEGRAM_TAGS:
            raise HTMLParseError(f"unsupported start tag \"{name}\" at byte offset {_byte_offset(text, start)}")
        attributes: dict[str, str] = {}
        while True:
            a = _ATTRIBUTE.match(text, j)
            if not a or a.end() == j:
                break
            value = a.group(2) or ""
            if value[:1] in ("'", '"'):
                value = value[1:-1]
            attributes[a.group(1).lower()] = value
            j = a.end()
        while j < n and text[j].isspace():
            j += 1
        if j >= n or text[j] != ">":
            raise HTMLParseError(f"can't find end of the start tag at byte offset {_byte_offset(text, start)}")
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise HTMLParseError(f"tag \"span\" must have class \"tg-spoiler\" at byte offset {_byte_offset(text, start)}")
        if name == "tg-emoji" and "emoji-id" not in attributes:
            raise HTMLParseError(f"tag \"tg-emoji\" must have attribute \"emoji-id\" at byte offset {_byte_offset(text, start)}")
        stack.append(name)
        i = j + 1
    if stack:
        raise HTMLParseError(f"can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)


# --- the specification -------------------------------------------------------------------

class BotAPISpec:
    """Methods and types of the official Bot API, from the spec JSON; checks requests."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version = str(data.get("version", "?"))
        self.methods: dict[str, dict[str, Any]] = data["methods"]
        self.types: dict[str, dict[str, Any]] = data["types"]

    @classmethod
    def load(cls, path: str | Path) -> BotAPISpec:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def check(self, method: str, params: dict[str, Any], *, typed: bool = True) -> list[str]:
        """Every way ``method(params)`` departs from the spec, one line each (empty: fine)."""
        spec = self.methods.get(method)
        if spec is None:
            near = [m for m in self.methods if m.lower() == method.lower()]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            return [f"unknown method {method!r}{hint}"]
        return self._check_fields(method, spec.get("fields", []), params, typed=typed)

    def _check_fields(self, where: str, fields: list[dict[str, Any]], values: dict[str, Any], *, typed: bool) -> list[str]:
        problems: list[str] = []
        by_name = {f["name"]: f for f in fields}
        for name, value in values.items():
            f = by_name.get(name)
            if f is None:
                problems.append(f"{where}: unknown parameter {name!r}")
            elif typed:
                problems.extend(self._check_value(f"{where}.{name}", f["types"], value))
        for f in fields:
            if f.get("required") and f["name"] not in values:
                problems.append(f"{where}: required parameter {f['name']!r} missing")
        return problems

    def _check_value(self, where: str, types: list[str], value: Any) -> list[str]:
        best: list[str] | None = None
        for t in types:
            problems = self._check_one(where, t, value)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or [f"{where}: {value!r} is not {' or '.join(types)}"]

    def _check_one(self, where: str, t: str, value: Any) -> list[str]:
        if t.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{where}: expected {t}, got {type(value).__name__}"]
            inner = t[len("Array of "):]
            return [p for i, item in enumerate(value) for p in self._check_one(f"{where}[{i}]", inner, item)]
        simple = {
            "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "Float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "String": lambda v: isinstance(v, str),
            "Boolean": lambda v: isinstance(v, bool),
            "True": lambda v: v is True,
            "InputFile": lambda v: isinstance(v, str),
        }
        if t in simple:
            return [] if simple[t](value) else [f"{where}: expected {t}, got {value!r:.60}"]
        type_spec = self.types.get(t)
        if type_spec is None:
            return []  # a type this spec does not describe: nothing to check against
        if not isinstance(value, dict):
            return [f"{where}: expected a {t} object, got {type(value).__name__}"]
        if "subtypes" in type_spec:
            candidates = [self._check_one(where, sub, value) for sub in type_spec["subtypes"]]
            return min(candidates, key=len) if candidates else []
        return self._check_fields(where, type_spec.get("fields", []), value, typed=True)


# --- the server --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file uploaded by the bot (sendDocument) or by a user (a document message)."""

    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    content: bytes

    def as_document(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_name": self.file_name,
            "mime_type": self.mime_type, "file_size": len(self.content),
        }


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the bot sent, as the sandbox accepted it (its latest version after edits)."""

    message_id: int
    chat_id: int
    text: str  # as sent (HTML when parse_mode is HTML); a document's caption
    plain_text: str  # what the user sees
    parse_mode: str | None
    link_preview_disabled: bool
    at: float  # time.monotonic() when accepted
    reply_markup: dict[str, Any] | None = None  # the InlineKeyboardMarkup under it, if any
    disable_notification: bool = False
    document: StoredFile | None = None
    edits: int = 0  # how many times editMessageText/ReplyMarkup changed it
    paid_broadcast: bool = False  # sent with allow_paid_broadcast

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """``(label, callback_data)`` of every button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]

    def button(self, label: str) -> str:
        """The callback_data of the button whose label contains ``label``; KeyError if none."""
        for text, data in self.buttons:
            if label in text:
                return data
        raise KeyError(f"no button {label!r} on message {self.message_id}: {[t for t, _ in self.buttons]}")


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """An ``answerCallbackQuery``: its text, and how long after the press it came."""

    callback_query_id: str
    chat_id: int
    data: str
    text: str | None
    delay: float  # seconds between the press and the answer


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    params: dict[str, Any]
    status: int


@dataclass(slots=True)
class _Failure:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | None


@dataclass(slots=True)
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    next_message_id: dict[int, int] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    known_chats: set[int] = field(default_factory=set)
    commands: list[dict[str, Any]] = field(default_factory=list)
    allowed_updates: list[str] | None = None
    webhook_deleted: int = 0
    confirmed_up_to: int = 0  # every update_id below this has been confirmed by an offset
    pressed: dict[str, tuple[int, str, float]] = field(default_factory=dict)  # unanswered callback queries
    press_ids: dict[int, str] = field(default_factory=dict)  # update_id of a press -> its callback query id
    answers: list[CallbackAnswer] = field(default_factory=list)
    files: dict[str, StoredFile] = field(default_factory=dict)
    tokens: float = 0.0  # rate-limit bucket
    accepted_at: deque[float] = field(default_factory=deque)  # the strict window
    paid_accepted_at: deque[float] = field(default_factory=deque)
    bucket_at: float = 0.0
    closing: bool = False
    down: bool = False  # an outage: every request's connection is dropped unanswered
    answer_delay: dict[str, float] = field(default_factory=dict)  # method -> seconds before answering


class Sandbox:
    """A loopback Bot API server; ``start()``/``stop()`` or use as a context manager.

    ``token``: when set, requests with another token get 401 like Telegram.
    ``spec_path``: check every request against the Bot API spec (see module docstring).
    ``rate_limit``: messages per second accepted by sendMessage (token bucket of ``burst``,
    default one second's worth); beyond it, 429 with ``retry_after``.
    ``window_limit``: messages accepted in any sliding 1-second window (Telegram's ~30/s, strictly);
    beyond it, 429 with ``retry_after`` 1. ``paid_window_limit`` the same for paid broadcasts.
    ``latency`` + ``jitter``: each request is handled after ``latency + U(0, jitter)`` seconds.
    ``error_rate``: share of sendMessage calls answered 500 at random (``seed`` for repeatability).
    ``known_chats_only``: sendMessage to a chat that never wrote to the bot gets 400 chat not found.
    """

    bot_user = {"id": 100000001, "is_bot": True, "first_name": "tgdigest sandbox", "username": "tgdigest_sandbox_bot"}

    def __init__(
        self,
        *,
        token: str | None = None,
        spec_path: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: float | None = None,
        burst: float | None = None,
        window_limit: int | None = None,
        paid_window_limit: int = 1000,
        latency: float = 0.0,
        jitter: float = 0.0,
        error_rate: float = 0.0,
        seed: int = 0,
        known_chats_only: bool = False,
        strict_html: bool = True,
        max_poll_timeout: float = 50.0,
    ) -> None:
        self.token = token
        self.spec = BotAPISpec.load(spec_path) if spec_path is not None else None
        self.rate_limit = rate_limit
        self.burst = burst if burst is not None else (rate_limit or 0.0)
        self.window_limit = window_limit
        self.paid_window_limit = paid_window_limit
        self.latency = latency
        self.jitter = jitter
        self.error_rate = error_rate
        self.known_chats_only = known_chats_only
        self.strict_html = strict_html
        self.max_poll_timeout = max_poll_timeout
        self._random = random.Random(seed)
        self._cond = threading.Condition()
        self._state = _State(tokens=self.burst, bucket_at=time.monotonic())
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> Sandbox:
        sandbox = self

        class Handler(_Handler):
            owner = sandbox

        self._server = _Server((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="bot-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._state.closing = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's address is (str, int)
        return f"http://{host}:{port}"

    # --- what a user does ---

    def send_user_message(
        self, chat_id: int, text: str, *, user_id: int | None = None, username: str | None = None,
        first_name: str = "Test", chat_type: str = "private", reply_to: SentMessage | None = None,
    ) -> int:
        """Queue a text message from a user, as Telegram delivers it; return its update_id.

        ``reply_to``: the bot's message the user replies to (Telegram includes it whole)."""
        message = self._user_message(chat_id, user_id=user_id, username=username, first_name=first_name,
                                     chat_type=chat_type, reply_to=reply_to)
        message["text"] = text
        command = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}]
        return self.inject_update({"message": message})

    def send_user_document(
        self, chat_id: int, file_name: str, content: bytes, *, mime_type: str = "application/json",
        caption: str | None = None, reply_to: SentMessage | None = None,
    ) -> int:
        """Queue a message with a file from a user (the bot fetches it with getFile); return its update_id."""
        stored = self._store_file(file_name, content, mime_type)
        message = self._user_message(chat_id, reply_to=reply_to)
        message["document"] = stored.as_document()
        if caption:
            message["caption"] = caption
        return self.inject_update({"message": message})

    def press_button(self, chat_id: int, message: SentMessage | int, callback_data: str) -> int:
        """Press an inline button under one of the bot's messages, as Telegram reports it: a
        ``callback_query`` with the message as it is now. The button must be there (a test
        presses only what the user sees); return the update_id."""
        message_id = message if isinstance(message, int) else message.message_id
        current = self.message(chat_id, message_id)
        if current is None:
            raise KeyError(f"the bot sent no message {message_id} to chat {chat_id}")
        if callback_data not in [data for _, data in current.buttons]:
            raise KeyError(f"message {message_id} has no button {callback_data!r}: {current.buttons}")
        query_id = f"{chat_id}-{time.monotonic_ns()}"
        with self._cond:
            self._state.pressed[query_id] = (chat_id, callback_data, time.monotonic())
        user = {"id": chat_id, "is_bot": False, "first_name": "Test"}
        return self._queue_press(query_id, {
            "callback_query": {
                "id": query_id, "from": user, "message": self._message_json(current),
                "chat_instance": str(chat_id), "data": callback_data,
            }
        })

    def _queue_press(self, query_id: str, update: dict[str, Any]) -> int:
        update_id = self.inject_update(update)
        with self._cond:
            self._state.press_ids[update_id] = query_id
        return update_id

    def press(self, chat_id: int, message: SentMessage | int, label: str) -> int:
        """``press_button`` by (part of) the button's label."""
        message_id = message if isinstance(message, int) else message.message_id
        current = self.message(chat_id, message_id)
        if current is None:
            raise KeyError(f"the bot sent no message {message_id} to chat {chat_id}")
        return self.press_button(chat_id, current, current.button(label))

    def _user_message(
        self, chat_id: int, *, user_id: int | None = None, username: str | None = None,
        first_name: str = "Test", chat_type: str = "private", reply_to: SentMessage | None = None,
    ) -> dict[str, Any]:
        user = {"id": user_id if user_id is not None else chat_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
            if username:
                chat["username"] = username
        else:
            chat["title"] = f"group {chat_id}"
        with self._cond:
            message_id = self._next_message_id(chat_id)
            self._state.known_chats.add(chat_id)
        message: dict[str, Any] = {"message_id": message_id, "from": user, "chat": chat, "date": int(time.time())}
        if reply_to is not None:
            message["reply_to_message"] = self._message_json(reply_to)
        return message

    def _message_json(self, m: SentMessage) -> dict[str, Any]:
        """A bot's message as Telegram shows it in updates (callback queries, replies)."""
        body: dict[str, Any] = {
            "message_id": m.message_id, "from": self.bot_user, "date": int(time.time()),
            "chat": {"id": m.chat_id, "type": "private", "first_name": "Test"},
        }
        if m.document is not None:
            body["document"] = m.document.as_document()
            if m.plain_text:
                body["caption"] = m.plain_text
        else:
            body["text"] = m.plain_text
        if m.reply_markup:
            body["reply_markup"] = m.reply_markup
        return body

    def _store_file(self, file_name: str, content: bytes, mime_type: str) -> StoredFile:
        with self._cond:
            number = len(self._state.files) + 1
            stored = StoredFile(f"BQACAgIAAx{number:06d}", f"AgAD{number:06d}", file_name, mime_type, content)
            self._state.files[stored.file_id] = stored
        return stored

    def block(self, chat_id: int, *, notify: bool = True) -> None:
        """The user blocks the bot: sendMessage answers 403; a my_chat_member update if ``notify``."""
        with self._cond:
            self._state.blocked.add(chat_id)
        if notify:
            self._member_update(chat_id, old="member", new="kicked")

    def unblock(self, chat_id: int, *, notify: bool = True) -> None:
        with self._cond:
            self._state.blocked.discard(chat_id)
        if notify:
            self._member_update(chat_id, old="kicked", new="member")

    def send_callback_query(self, chat_id: int, data: str) -> int:
        """A press of a button the sandbox knows nothing of (a message too old to be shown)."""
        user = {"id": chat_id, "is_bot": False, "first_name": "Test"}
        query_id = f"cb{time.monotonic_ns()}"
        with self._cond:
            self._state.pressed[query_id] = (chat_id, data, time.monotonic())
        return self._queue_press(
            query_id, {"callback_query": {"id": query_id, "from": user, "chat_instance": str(chat_id), "data": data}}
        )

    def inject_update(self, update: dict[str, Any]) -> int:
        """Queue any update (without ``update_id``: the sandbox numbers them); return its id."""
        with self._cond:
            update_id = self._state.next_update_id
            self._state.next_update_id += 1
            self._state.updates.append({"update_id": update_id, **update})
            self._cond.notify_all()
        return update_id

    def _member_update(self, chat_id: int, *, old: str, new: str) -> None:
        user = {"id": chat_id, "is_bot": False, "first_name": "Test"}
        self.inject_update(
            {
                "my_chat_member": {
                    "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
                    "from": user,
                    "date": int(time.time()),
                    "old_chat_member": {"status": old, "user": self.bot_user},
                    "new_chat_member": {"status": new, "user": self.bot_user, **({"until_date": 0} if new == "kicked" else {})},
                }
            }
        )

    # --- failures on demand ---

    def fail_next(
        self, method: str, error_code: int, description: str | None = None, *,
        retry_after: int | None = None, times: int = 1, chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id`` if given) with an error."""
        default = {
            429: "Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(error_code, f"Error {error_code}")
        if error_code == 429 and retry_after is None:
            retry_after = 1
        text = (description or default).format(retry_after=retry_after)
        with self._cond:
            self._state.failures.append(_Failure(method, error_code, text, retry_after, times, chat_id))

    def go_down(self) -> None:
        """Start an outage: from now every request (and every long poll waiting) has its
        connection dropped without an answer, as when the network or a proxy is gone."""
        with self._cond:
            self._state.down = True
            self._cond.notify_all()

    def come_up(self) -> None:
        """End the outage: requests are answered again."""
        with self._cond:
            self._state.down = False
            self._cond.notify_all()

    def delay_answers(self, method: str, seconds: float) -> None:
        """Answer ``method`` only ``seconds`` after handling it (0: at once again). For
        sendMessage the message counts as sent before the wait, like a Telegram that got
        the request but whose answer is slow to come back."""
        with self._cond:
            self._state.answer_delay[method] = seconds

    @property
    def is_down(self) -> bool:
        with self._cond:
            return self._state.down

    # --- what a test inspects ---

    @property
    def sent(self) -> list[SentMessage]:
        with self._cond:
            return list(self._state.sent)

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        with self._cond:
            return [m for m in self._state.sent if m.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """The bot's message as the user sees it now (after any edits), or None."""
        with self._cond:
            return next((m for m in self._state.sent if m.chat_id == chat_id and m.message_id == message_id), None)

    @property
    def answers(self) -> list[CallbackAnswer]:
        """Every answerCallbackQuery, in order."""
        with self._cond:
            return list(self._state.answers)

    @property
    def unanswered(self) -> list[str]:
        """callback_data of presses the bot has not answered (yet)."""
        with self._cond:
            return [data for _, data, _ in self._state.pressed.values()]

    async def wait_answer(self, update_id: int, *, timeout: float = 10.0) -> CallbackAnswer:
        """Wait for the answer to the press queued as ``update_id`` (see ``press_button``)."""
        with self._cond:
            query_id = self._state.press_ids.get(update_id)
        if query_id is None:
            raise KeyError(f"update {update_id} is not a button press")
        deadline = time.monotonic() + timeout
        while True:
            for answer in self.answers:
                if answer.callback_query_id == query_id:
                    return answer
            if time.monotonic() > deadline:
                raise TimeoutError(f"the press {update_id} was not answered")
            await asyncio.sleep(0.01)

    def file(self, file_id: str) -> StoredFile | None:
        with self._cond:
            return self._state.files.get(file_id)

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._state.calls)

    def calls_of(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self._state.calls if c.method == method]

    @property
    def violations(self) -> list[str]:
        with self._cond:
            return list(self._state.violations)

    @property
    def commands(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._state.commands)

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (an offset above their id)."""
        with self._cond:
            return sum(1 for u in self._state.updates if u["update_id"] >= self._state.confirmed_up_to)

    def wait_for_sent(self, count: int, *, chat_id: int | None = None, timeout: float = 10.0) -> list[SentMessage]:
        """Block until at least ``count`` messages (to ``chat_id``) were sent; return them.

        Raises TimeoutError (with what was sent) if they do not come: a test fails, never hangs.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self._state.sent if chat_id is None or m.chat_id == chat_id]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {count} messages, got {len(found)}: {[m.text[:80] for m in found]}")
                self._cond.wait(left)

    async def wait_sent(self, count: int, *, chat_id: int | None = None, timeout: float = 10.0) -> list[SentMessage]:
        """``wait_for_sent`` for async tests (polls without blocking the event loop)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.sent if chat_id is None or m.chat_id == chat_id]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {count} messages, got {len(found)}: {[m.text[:80] for m in found]}")
            await asyncio.sleep(0.005)

    async def wait_confirmed(self, update_id: int, *, timeout: float = 10.0) -> None:
        """Wait until the bot has confirmed ``update_id`` (asked for an offset above it)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if self._state.confirmed_up_to > update_id:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"update {update_id} was not confirmed")
            await asyncio.sleep(0.005)

    # --- the Bot API ---

    def _next_message_id(self, chat_id: int) -> int:
        value = self._state.next_message_id.get(chat_id, 1)
        self._state.next_message_id[chat_id] = value + 1
        return value

    def handle(
        self, token: str, method: str, params: dict[str, Any], *, typed: bool,
        files: dict[str, tuple[str, str, bytes]] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Answer one request: (HTTP status, JSON body); status 0 (DROPPED): drop the
        connection unanswered (an outage). Called on the server's threads.

        ``files``: the uploads of a multipart request, field → (file name, MIME type, bytes)."""
        if self.is_down:
            return self._record(method, params, DROPPED, {})
        if self.latency or self.jitter:
            with self._cond:
                delay = self.latency + self._random.uniform(0.0, self.jitter)
            time.sleep(delay)
        if self.token is not None and token != self.token:
            return self._record(method, params, 401, _error(401, "Unauthorized"))
        if self.spec is not None:
            problems = self.spec.check(method, params, typed=typed)
            if problems:
                with self._cond:
                    self._state.violations.extend(problems)
                return self._record(method, params, 400, _error(400, "Bad Request: sandbox spec check: " + "; ".join(problems)))
        injected = self._injected_failure(method, params)
        if injected is not None:
            return self._record(method, params, injected[0], injected[1])
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._record(method, params, 404, _error(404, "Not Found"))
        try:
            status, body = handler(params, files or {}) if method == "sendDocument" else handler(params)
        except _APIError as e:
            status, body = e.error_code, _error(e.error_code, e.description, e.parameters)
        return self._record(method, params, status, body)

    def _record(self, method: str, params: dict[str, Any], status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._cond:
            self._state.calls.append(Call(method, dict(params), status))
            self._cond.notify_all()
        return status, body

    def _injected_failure(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        with self._cond:
            for failure in self._state.failures:
                if failure.method != method or failure.remaining <= 0:
                    continue
                if failure.chat_id is not None and _as_int(params.get("chat_id")) != failure.chat_id:
                    continue
                failure.remaining -= 1
                parameters = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
                return failure.error_code, _error(failure.error_code, failure.description, parameters)
            self._state.failures = [f for f in self._state.failures if f.remaining > 0]
        if method == "sendMessage" and self.error_rate and self._random.random() < self.error_rate:
            return 500, _error(500, "Internal Server Error")
        return None

    def _api_getMe(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, _ok(dict(self.bot_user, can_join_groups=True, can_read_all_group_messages=False, supports_inline_queries=False))

    def _api_logOut(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, _ok(True)

    def _api_deleteWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._cond:
            self._state.webhook_deleted += 1
            if _truthy(params.get("drop_pending_updates")):
                self._state.confirmed_up_to = self._state.next_update_id
                self._state.updates.clear()
        return 200, _ok(True)

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, _ok({"url": "", "has_custom_certificate": False, "pending_update_count": self.pending_updates})

    def _api_setMyCommands(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        commands = _as_json(params.get("commands"))
        if not isinstance(commands, list) or len(commands) > 100:
            raise _APIError(400, "Bad Request: commands must be a list of at most 100 BotCommand")
        for c in commands:
            if not isinstance(c, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))):
                raise _APIError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise _APIError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        with self._cond:
            self._state.commands = list(commands)
        return 200, _ok(True)

    def _api_getMyCommands(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, _ok(self.commands)

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        query_id = str(params.get("callback_query_id") or "")
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _APIError(400, "Bad Request: MESSAGE_TOO_LONG")
        with self._cond:
            pressed = self._state.pressed.pop(query_id, None)
            if pressed is None:
                raise _APIError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
            chat_id, data, at = pressed
            self._state.answers.append(
                CallbackAnswer(query_id, chat_id, data, text if isinstance(text, str) else None, time.monotonic() - at)
            )
        return 200, _ok(True)

    def _api_getUpdates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset = _as_int(params.get("offset")) or 0
        limit = max(1, min(100, _as_int(params.get("limit")) or 100))
        timeout = max(0.0, min(float(_as_int(params.get("timeout")) or 0), self.max_poll_timeout))
        allowed = _as_json(params.get("allowed_updates"))
        deadline = time.monotonic() + timeout
        with self._cond:
            if isinstance(allowed, list):
                self._state.allowed_updates = [str(a) for a in allowed] or None
            if offset > 0:
                self._state.confirmed_up_to = max(self._state.confirmed_up_to, offset)
            elif offset < 0 and self._state.updates:
                keep = self._state.updates[offset:]
                self._state.confirmed_up_to = keep[0]["update_id"] if keep else self._state.next_update_id
            self._state.updates = [u for u in self._state.updates if u["update_id"] >= self._state.confirmed_up_to]
            while True:
                wanted = self._state.allowed_updates
                ready = [
                    u for u in self._state.updates
                    if wanted is None or any(kind in u for kind in wanted)
                ][:limit]
                if self._state.down:
                    return DROPPED, {}
                if ready or self._state.closing:
                    return 200, _ok(ready)
                left = deadline - time.monotonic()
                if left <= 0:
                    return 200, _ok([])
                self._cond.wait(left)

    def _chat(self, params: dict[str, Any]) -> int:
        """The target chat of a sending method, refused as Telegram refuses it."""
        chat_id = _as_int(params.get("chat_id"))
        if chat_id is None:
            raise _APIError(400, "Bad Request: chat_id is empty" if "chat_id" not in params else "Bad Request: chat not found")
        with self._cond:
            if chat_id in self._state.blocked:
                raise _APIError(403, "Forbidden: bot was blocked by the user")
            if self.known_chats_only and chat_id not in self._state.known_chats:
                raise _APIError(400, "Bad Request: chat not found")
        return chat_id

    def _plain(self, text: Any, parse_mode: Any, *, limit: int = MAX_MESSAGE_LENGTH, what: str = "message text") -> str:
        """What the user sees of ``text``: checked like Telegram (HTML, empty, length)."""
        if not isinstance(text, str):
            raise _APIError(400, f"Bad Request: {what} is empty")
        parse_mode = parse_mode or None
        if parse_mode is None:
            plain = text
        elif str(parse_mode).lower() == "html":
            try:
                plain = parse_html(text, strict=self.strict_html)
            except HTMLParseError as e:
                raise _APIError(400, f"Bad Request: can't parse entities: {e}") from None
        elif parse_mode in ("MarkdownV2", "Markdown"):
            plain = text  # not validated: the bot only sends HTML
        else:
            raise _APIError(400, "Bad Request: unsupported parse_mode")
        if not plain.strip():
            raise _APIError(400, f"Bad Request: {what} is empty")
        if utf16_len(plain) > limit:
            raise _APIError(400, "Bad Request: message is too long" if what == "message text" else "Bad Request: message caption is too long")
        return plain

    def _api_sendMessage(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = self._chat(params)
        text = params.get("text")
        plain = self._plain(text, params.get("parse_mode"))
        markup = _inline_markup(params.get("reply_markup"))
        preview = _as_json(params.get("link_preview_options"))
        preview_off = bool(isinstance(preview, dict) and preview.get("is_disabled")) or _truthy(
            params.get("disable_web_page_preview")
        )
        paid = _truthy(params.get("allow_paid_broadcast"))
        with self._cond:
            self._check_window(paid)
            if self.rate_limit:
                now = time.monotonic()
                self._state.tokens = min(self.burst, self._state.tokens + (now - self._state.bucket_at) * self.rate_limit)
                self._state.bucket_at = now
                if self._state.tokens < 1:
                    wait = max(1, math.ceil((1 - self._state.tokens) / self.rate_limit))
                    raise _APIError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
                self._state.tokens -= 1
            message_id = self._next_message_id(chat_id)
            sent = SentMessage(
                message_id, chat_id, str(text), plain, params.get("parse_mode") or None, preview_off,
                time.monotonic(), markup, _truthy(params.get("disable_notification")), paid_broadcast=paid,
            )
            self._state.sent.append(sent)
        return 200, _ok(self._message_json(sent))

    def _api_sendDocument(self, params: dict[str, Any], files: dict[str, tuple[str, str, bytes]]) -> tuple[int, dict[str, Any]]:
        chat_id = self._chat(params)
        upload = files.get("document")
        if upload is not None:
            stored = self._store_file(upload[0] or "document", upload[2], upload[1] or "application/octet-stream")
        else:
            known = self.file(str(params.get("document") or ""))
            if known is None:
                raise _APIError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            stored = known
        if not stored.content:
            raise _APIError(400, "Bad Request: file must be non-empty")
        caption = params.get("caption")
        plain = self._plain(caption, params.get("parse_mode"), limit=1024, what="caption") if caption else ""
        markup = _inline_markup(params.get("reply_markup"))
        with self._cond:
            sent = SentMessage(
                self._next_message_id(chat_id), chat_id, str(caption or ""), plain, params.get("parse_mode") or None,
                False, time.monotonic(), markup, _truthy(params.get("disable_notification")), stored,
            )
            self._state.sent.append(sent)
        return 200, _ok(self._message_json(sent))

    def _api_getFile(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        stored = self.file(str(params.get("file_id") or ""))
        if stored is None:
            raise _APIError(400, "Bad Request: invalid file_id")
        return 200, _ok(
            {
                "file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.content),
                "file_path": f"documents/{stored.file_id}/{stored.file_name}",
            }
        )

    def _check_window(self, paid: bool) -> None:
        """The strict limit: no more than the window's limit accepted in any 1 s (call locked)."""
        limit = self.paid_window_limit if paid else self.window_limit
        if not limit:
            return
        accepted = self._state.paid_accepted_at if paid else self._state.accepted_at
        now = time.monotonic()
        while accepted and accepted[0] <= now - 1.0:
            accepted.popleft()
        if len(accepted) >= limit:
            raise _APIError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        accepted.append(now)

    def download(self, token: str, path: str) -> tuple[int, bytes]:
        """``GET /file/bot<token>/<file_path>``: the file's bytes, as Telegram's file server."""
        if self.token is not None and token != self.token:
            return 401, b""
        m = re.fullmatch(r"documents/([^/]+)/.*", path)
        stored = self.file(m.group(1)) if m else None
        with self._cond:
            self._state.calls.append(Call("(download)", {"file_path": path}, 200 if stored else 404))
        return (200, stored.content) if stored else (404, b"")

    def _editable(self, params: dict[str, Any]) -> SentMessage:
        chat_id = _as_int(params.get("chat_id"))
        message_id = _as_int(params.get("message_id"))
        if chat_id is None or message_id is None:
            raise _APIError(400, "Bad Request: message identifier is not specified")
        found = self.message(chat_id, message_id)
        if found is None:
            raise _APIError(400, "Bad Request: message to edit not found")
        return found

    def _replace(self, old: SentMessage, new: SentMessage) -> dict[str, Any]:
        with self._cond:
            index = next(i for i, m in enumerate(self._state.sent) if m.chat_id == old.chat_id and m.message_id == old.message_id)
            self._state.sent[index] = new
            self._cond.notify_all()
        return self._message_json(new)

    def _api_editMessageText(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        current = self._editable(params)
        if current.document is not None:
            raise _APIError(400, "Bad Request: there is no text in the message to edit")
        text = params.get("text")
        plain = self._plain(text, params.get("parse_mode"))
        # Like Telegram: an edit without reply_markup removes the keyboard.
        markup = _inline_markup(params.get("reply_markup"))
        if str(text) == current.text and markup == current.reply_markup:
            raise _APIError(
                400, "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        updated = replace(current, text=str(text), plain_text=plain, parse_mode=params.get("parse_mode") or None,
                          reply_markup=markup, edits=current.edits + 1)
        return 200, _ok(self._replace(current, updated))

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        current = self._editable(params)
        markup = _inline_markup(params.get("reply_markup"))
        if markup == current.reply_markup:
            raise _APIError(
                400, "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        return 200, _ok(self._replace(current, replace(current, reply_markup=markup, edits=current.edits + 1)))


class _Server(ThreadingHTTPServer):
    # The stdlib's listen backlog of 5 resets connections when a client opens many at once
    # (httpx's pool does, under load); Telegram's servers never do that.
    request_queue_size = 256


class _APIError(Exception):
    def __init__(self, error_code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


MAX_BUTTONS = 100  # Telegram refuses bigger inline keyboards (REPLY_MARKUP_TOO_LONG)
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
)


def _inline_markup(value: Any) -> dict[str, Any] | None:
    """A ``reply_markup`` checked as Telegram checks an InlineKeyboardMarkup (it arrives
    JSON-serialised in form and multipart requests); None when absent."""
    if value is None:
        return None
    markup = _as_json(value)
    if not isinstance(markup, dict):
        raise _APIError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _APIError(400, "Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays")
    count = 0
    for row in rows:
        for button in row:
            count += 1
            if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"].strip():
                raise _APIError(400, "Bad Request: can't find field \"text\" in the InlineKeyboardButton")
            actions = [a for a in _BUTTON_ACTIONS if a in button]
            if len(actions) != 1:
                raise _APIError(400, "Bad Request: inline keyboard button must have exactly one optional field")
            data = button.get("callback_data")
            if "callback_data" in button and (
                not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64
            ):
                raise _APIError(400, "Bad Request: BUTTON_DATA_INVALID")
    if count > MAX_BUTTONS:
        raise _APIError(400, "Bad Request: REPLY_MARKUP_TOO_LONG")
    return markup if rows else None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _as_json(value: Any) -> Any:
    """Form-encoded requests carry arrays and objects JSON-serialised, as Telegram accepts them."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


class _Handler(BaseHTTPRequestHandler):
    owner: Sandbox
    protocol_version = "HTTP/1.1"  # keep-alive, as Telegram's servers do
    # Headers and body go out as separate writes; without TCP_NODELAY every answer would
    # wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the default writes each request (with the token in the path) to stderr

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        m = re.fullmatch(r"/bot([^/]+)/([A-Za-z0-9_]+)", parts.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        download = re.fullmatch(r"/file/bot([^/]+)/(.+)", parts.path)
        if download:
            status, content = self.owner.download(download.group(1), download.group(2))
            self._reply_bytes(status, content)
            return
        if not m:
            self._reply(404, _error(404, "Not Found"))
            return
        token, method = m.group(1), m.group(2)
        params: dict[str, Any] = dict(parse_qsl(parts.query))
        files: dict[str, tuple[str, str, bytes]] = {}
        typed = False
        full_type = self.headers.get("Content-Type") or ""
        content_type = full_type.split(";")[0].strip().lower()
        if raw:
            if content_type == "application/json":
                try:
                    body = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    self._reply(400, _error(400, "Bad Request: can't parse JSON"))
                    return
                if not isinstance(body, dict):
                    self._reply(400, _error(400, "Bad Request: JSON body must be an object"))
                    return
                params.update(body)
                typed = not parts.query
            elif content_type == "application/x-www-form-urlencoded":
                params.update(parse_qsl(raw.decode("utf-8", "replace")))
            elif content_type == "multipart/form-data":
                try:
                    fields, files = _multipart(full_type, raw)
                except ValueError as e:
                    self._reply(400, _error(400, f"Bad Request: {e}"))
                    return
                params.update(fields)
                # An upload stands where the spec expects its InputFile, for the spec check.
                params.update({name: f"attach://{name}" for name in files})
            else:
                self._reply(400, _error(400, f"Bad Request: unsupported Content-Type {content_type!r}"))
                return
        status, body = self.owner.handle(token, method, params, typed=typed, files=files)
        with self.owner._cond:
            delay = self.owner._state.answer_delay.get(method, 0.0)
        if delay > 0:
            time.sleep(delay)
        self._reply(status, body)

    def _reply_bytes(self, status: int, content: bytes) -> None:
        self._send(status, "application/octet-stream", content)

    def _send(self, status: int, content_type: str, content: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a cancelled long poll); nothing to answer

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        if status == DROPPED:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, "application/json", json.dumps(body, ensure_ascii=False).encode("utf-8"))


def _multipart(content_type: str, raw: bytes) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """Fields and files of a ``multipart/form-data`` body (how uploads reach the Bot API)."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw)
    if not message.is_multipart():
        raise ValueError("multipart body without parts")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("multipart part without a name")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, part.get_content_type(), content)
        else:
            fields[name] = content.decode(part.get_content_charset() or "utf-8", "replace")
    return fields, files

