"""Read a Telegram Desktop channel export ("Export chat history", machine-readable JSON).

Exports can be hundreds of MB, so the file is streamed with ijson: only one message is
held at a time. Both export formats are understood: the 2021 one (``date`` only, ``text``
as a string or a list of strings and entity objects) and the current one
(``date_unixtime``, ``edited_unixtime``, ``text_entities``, ``reactions``).

One bad message never loses the rest: it is yielded as an ``ImportProblem`` naming the file
and message id, and reading goes on. A file that is not an export at all raises
``ImportFormatError``; one that breaks off part-way raises ``ExportBrokenOff`` after every
message read completely before the break has been yielded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from bot.core.clock import parse_instant
from bot.core.models import Post
from bot.core.normalise import extract_hashtags
from bot.core.text import shorten
from bot.errors import ExportBrokenOff, ImportFormatError

CHANNEL_TYPES = ("public_channel", "private_channel")

_MEDIA_TYPES = {
    "video_file": "video",
    "animation": "animation",
    "video_message": "video_note",
    "voice_message": "voice",
    "audio_file": "audio",
    "sticker": "sticker",
}


@dataclass(frozen=True, slots=True)
class ExportHeader:
    name: str
    type: str
    id: int


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """A message that could not be read; the rest of the file still is."""

    file: str
    message_id: object  # as the file has it: possibly not a number at all
    reason: str
    skipped: bool = False  # True for service messages: expected, not an error

    def __str__(self) -> str:
        mid = self.message_id
        # an id that is not a number is shown quoted and on one line ("\n" is a valid JSON id)
        shown = mid if isinstance(mid, int) or mid == "?" else shorten(repr(mid), 40)
        return f"{self.file}: message {shown}: {self.reason}"


ProgressCallback = Callable[[int], None]
MAX_ID = 2**63 - 1  # SQLite's INTEGER; Telegram's ids are far below it


def read_export(
    path: str | Path,
    *,
    username: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> Iterator[ExportHeader | Post | ImportProblem]:
    """Yield the header once, then a ``Post`` or ``ImportProblem`` per message, in file order.

    ``username`` (without ``@``) is attached to the posts so their links are public ones;
    exports do not carry it. ``on_progress(bytes_read)`` is called as the file is read.
    """
    path = Path(path)
    label = str(path)
    try:
        handle = path.open("rb")
    except OSError as e:
        raise ImportFormatError(f"{label}: cannot open: {e.strerror or e}") from None
    with handle:
        yield from _read(handle, label, username=username, on_progress=on_progress)


def _read(
    handle: BinaryIO,
    label: str,
    *,
    username: str | None,
    on_progress: ProgressCallback | None,
) -> Iterator[ExportHeader | Post | ImportProblem]:
    header_obj = _scan_header(handle, label)
    yield header_obj
    # Second pass over the messages with ijson's C item builder: about 10x faster than
    # assembling each message from parse events in Python. Its parser (yajl) refuses
    # integers beyond 64 bits, which is valid JSON: then the pure-Python backend, which
    # reads any integer, takes over after the messages already yielded.
    last_reported = 0
    last_id: Any = None
    done = 0
    for backend in (ijson, _PYTHON_BACKEND):
        handle.seek(0)
        try:
            for index, message in enumerate(backend.items(handle, "messages.item", use_float=True)):
                if index < done:
                    continue
                item = _convert(message, header_obj, label, username)
                last_id = item.message_id
                done += 1
                yield item
                if on_progress is not None:
                    position = handle.tell()
                    if position - last_reported >= 1 << 16:
                        last_reported = position
                        on_progress(position)
        except ijson.JSONError as e:
            if backend is ijson and _is_integer_overflow(e):
                continue
            raise ExportBrokenOff(_broken_off(label, last_id, handle.tell(), _first_line(str(e)))) from None
        except UnicodeDecodeError:
            raise ExportBrokenOff(_broken_off(label, last_id, handle.tell(), "not UTF-8 text")) from None
        break
    if on_progress is not None:
        on_progress(handle.tell())


_PYTHON_BACKEND = ijson.get_backend("python")


def _is_integer_overflow(error: Exception) -> bool:
    return "integer overflow" in str(error)


def _broken_off(label: str, last_id: Any, offset: int, reason: str) -> str:
    where = f"after message {last_id}" if last_id is not None else "before the first message"
    return f"{label}: not valid JSON {where}, reading stopped at byte {offset} ({reason})"


def _first_line(text: str) -> str:
    """The JSON parser's own message without the caret drawing it adds on the next lines."""
    return text.strip().splitlines()[0].strip() if text.strip() else "parse error"


def _scan_header(handle: BinaryIO, label: str) -> ExportHeader:
    """Read ``name``, ``type`` and ``id``, stopping where the messages start."""
    try:
        try:
            return _scan_header_with(ijson, handle, label)
        except ijson.JSONError as e:
            if not _is_integer_overflow(e):
                raise
            handle.seek(0)
            return _scan_header_with(_PYTHON_BACKEND, handle, label)
    except ijson.JSONError as e:
        raise ImportFormatError(
            f"{label}: not valid JSON: {_first_line(str(e))} (is this the result.json of a Telegram Desktop export?)"
        ) from None
    except UnicodeDecodeError:
        raise ImportFormatError(f"{label}: not UTF-8 text") from None


def _scan_header_with(backend: Any, handle: BinaryIO, label: str) -> ExportHeader:
    header: dict[str, Any] = {}
    for prefix, event, value in backend.parse(handle, use_float=True):
        if prefix in ("name", "type", "id") and event in ("string", "number"):
            header[prefix] = value
        elif prefix == "messages" and event == "start_array":
            return _header(header, label)
    raise ImportFormatError(
        f"{label}: no \"messages\" list: not a Telegram Desktop export "
        "(export the channel with Format: Machine-readable JSON)"
    )


def _header(raw: dict[str, Any], label: str) -> ExportHeader:
    kind = raw.get("type")
    if kind is None or "id" not in raw:
        raise ImportFormatError(
            f"{label}: this is not a single-chat export (expected \"name\", \"type\" and \"id\" "
            "before \"messages\"; export one channel, not all data)"
        )
    if kind not in CHANNEL_TYPES:
        raise ImportFormatError(f"{label}: this export is a {kind}, not a channel ({' or '.join(CHANNEL_TYPES)})")
    try:
        channel_id = int(raw["id"])
    except (TypeError, ValueError):
        raise ImportFormatError(f"{label}: channel id {raw['id']!r} is not a number") from None
    if not 0 < channel_id <= MAX_ID:
        raise ImportFormatError(f"{label}: channel id {channel_id} is not a channel id")
    return ExportHeader(name=str(raw.get("name") or channel_id), type=kind, id=channel_id)


def _convert(
    message: object, header: ExportHeader, label: str, username: str | None
) -> Post | ImportProblem:
    if not isinstance(message, dict):
        return ImportProblem(label, "?", "not an object")
    mid = message.get("id")
    if not isinstance(mid, int) or isinstance(mid, bool) or not 0 < mid <= MAX_ID:
        return ImportProblem(label, mid if mid is not None else "?", "missing or invalid \"id\"")
    kind = message.get("type")
    if kind == "service":
        return ImportProblem(label, mid, "service message", skipped=True)
    if kind != "message":
        return ImportProblem(label, mid, f"unknown message type {kind!r}")
    try:
        date = _date(message, "date")
        if date is None:
            return ImportProblem(label, mid, "missing \"date\"")
        edited = _date(message, "edited")
        text, links, entity_tags = _text(message)
    except ValueError as e:
        return ImportProblem(label, mid, str(e))
    # extract_hashtags gives each tag once already; entity tags (old exports) go first
    hashtags = tuple(dict.fromkeys((*entity_tags, *extract_hashtags(text)))) if entity_tags else extract_hashtags(text)
    # Post's first ten fields, by position (checked below): by keyword costs ~0.5 µs a message
    return Post(
        header.id,  # channel_id
        mid,  # message_id
        date,
        text,
        username,  # channel_username
        header.name,  # channel_title
        edited,  # edited_at
        hashtags,
        tuple(dict.fromkeys(links)) if links else (),  # links
        _media_kind(message),
    )


# _convert passes these by position
assert tuple(f.name for f in fields(Post))[:10] == (
    "channel_id", "message_id", "date", "text", "channel_username", "channel_title", "edited_at", "hashtags", "links",
    "media_kind",
), "export._convert builds Post by position"


def _date(message: dict[str, Any], key: str) -> datetime | None:
    unix = message.get(f"{key}_unixtime")
    if unix is not None and unix != "":
        try:
            return datetime.fromtimestamp(int(unix), UTC)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{key}_unixtime {unix!r} is not a Unix time") from None
    raw = message.get(key)
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise ValueError(f"{key} {raw!r} is not a date")
    try:
        # Old exports write the exporting machine's local time without an offset; we have
        # no better guess than UTC (documented in docs/collection.md).
        return parse_instant(raw)
    except ValueError:
        raise ValueError(f"{key} {raw!r} is not an ISO date") from None


def _text(message: dict[str, Any]) -> tuple[str, list[str], list[str]]:
    """Plain text, link targets and hashtag entities of a message."""
    parts = message.get("text_entities")
    if parts is None:
        parts = message.get("text", "")
    if isinstance(parts, str):
        return parts, [], []
    if not isinstance(parts, list):
        raise ValueError("\"text\" is neither a string nor a list")
    if len(parts) == 1:  # a message without formatting (the common case): its one plain part
        part = parts[0]
        if isinstance(part, dict) and part.get("type") == "plain" and isinstance(text := part.get("text", ""), str):
            return text, [], []
    chunks: list[str] = []
    links: list[str] = []
    tags: list[str] = []
    for part in parts:
        if isinstance(part, str):
            chunks.append(part)
            continue
        if not isinstance(part, dict) or not isinstance(part.get("text", ""), str):
            raise ValueError("a text entity is not an object with a \"text\" string")
        text = part.get("text", "")
        chunks.append(text)
        kind = part.get("type")
        if kind == "text_link" and isinstance(part.get("href"), str):
            links.append(part["href"])
        elif kind == "link":
            links.append(text)
        elif kind == "hashtag" and text.startswith("#") and len(text) > 1:
            tags.append(text[1:].casefold())
    return "".join(chunks), links, tags


def _media_kind(message: dict[str, Any]) -> str | None:
    if "photo" in message:
        return "photo"
    media_type = message.get("media_type")
    if isinstance(media_type, str):
        return _MEDIA_TYPES.get(media_type, media_type)
    if "poll" in message:
        return "poll"
    if "location_information" in message:
        return "location"
    if "file" in message:
        return "document"
    return None
