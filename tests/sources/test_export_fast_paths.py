"""The export reader's fast paths (a message's one plain part, tags and links without a
second de-duplication, Post built by position, hashtags by findall) read every message as
the code they replaced, a frozen copy of which is kept here: every field of every post and
problem, over the bundled exports, the bench's generated exports and crafted messages."""

from __future__ import annotations

import re
import sys
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import ijson
import pytest

from bot.core.models import Post
from bot.core.normalise import extract_hashtags, strip_invisible
from bot.sources import export
from bot.sources.export import ExportHeader, ImportProblem

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
_OLD_HASHTAG = re.compile(r"#(?<![\w#]#)([^\W][\w]*)", re.UNICODE)


def _old_extract_hashtags(text: str) -> tuple[str, ...]:
    if "#" not in text and "\ufe5f" not in text and "\uff03" not in text:
        return ()
    found = (m.group(1).casefold() for m in _OLD_HASHTAG.finditer(strip_invisible(unicodedata.normalize("NFKC", text))))
    return tuple(dict.fromkeys(found))


def _old_text(message: dict[str, Any]) -> tuple[str, list[str], list[str]]:
    parts = message.get("text_entities")
    if parts is None:
        parts = message.get("text", "")
    if isinstance(parts, str):
        return parts, [], []
    if not isinstance(parts, list):
        raise ValueError("\"text\" is neither a string nor a list")
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


def _old_convert(message: object, header: ExportHeader, label: str, username: str | None) -> Post | ImportProblem:
    if not isinstance(message, dict):
        return ImportProblem(label, "?", "not an object")
    mid = message.get("id")
    if not isinstance(mid, int) or isinstance(mid, bool) or not 0 < mid <= export.MAX_ID:
        return ImportProblem(label, mid if mid is not None else "?", "missing or invalid \"id\"")
    kind = message.get("type")
    if kind == "service":
        return ImportProblem(label, mid, "service message", skipped=True)
    if kind != "message":
        return ImportProblem(label, mid, f"unknown message type {kind!r}")
    try:
        date = export._date(message, "date")
        if date is None:
            return ImportProblem(label, mid, "missing \"date\"")
        edited = export._date(message, "edited")
        text, links, entity_tags = _old_text(message)
    except ValueError as e:
        return ImportProblem(label, mid, str(e))
    hashtags = tuple(dict.fromkeys((*entity_tags, *_old_extract_hashtags(text))))
    return Post(
        channel_id=header.id,
        message_id=mid,
        date=date,
        text=text,
        channel_username=username,
        channel_title=header.name,
        edited_at=edited,
        hashtags=hashtags,
        links=tuple(dict.fromkeys(links)),
        media_kind=export._media_kind(message),
    )


CRAFTED: list[object] = [
    {"id": 1, "type": "message", "date_unixtime": "1700000000", "text": "",
     "text_entities": [{"type": "plain", "text": "one plain part #Tag #tag ＃Wide"}]},
    {"id": 2, "type": "message", "date_unixtime": "1700000000", "text_entities": [{"type": "plain", "text": 5}]},
    {"id": 3, "type": "message", "date_unixtime": "1700000000", "text_entities": [{"type": "plain"}]},
    {"id": 4, "type": "message", "date_unixtime": "1700000000", "text_entities": [{"type": "bold", "text": "bold"}]},
    {"id": 5, "type": "message", "date_unixtime": "1700000000", "text_entities": [{"text": "no type"}]},
    {"id": 6, "type": "message", "date_unixtime": "1700000000", "text_entities": ["a bare string"]},
    {"id": 7, "type": "message", "date_unixtime": "1700000000", "text_entities": [["not", "a", "part"]]},
    {"id": 8, "type": "message", "date_unixtime": "1700000000",
     "text_entities": [{"type": "hashtag", "text": "#BRICS"}, {"type": "plain", "text": " and #brics #UN"}]},
    {"id": 9, "type": "message", "date_unixtime": "1700000000",
     "text_entities": [{"type": "link", "text": "t.me/x"}, {"type": "plain", "text": " "},
                       {"type": "text_link", "text": "here", "href": "t.me/x"}, {"type": "link", "text": "t.me/y"}]},
    {"id": 10, "type": "message", "date_unixtime": "1700000000", "text_entities": [{"type": "link", "text": "t.me/z"}]},
    {"id": 11, "type": "message", "date_unixtime": "1700000000", "text_entities": [{"type": "hashtag", "text": "#"}]},
    {"id": 12, "type": "message", "date": "2021-05-01T10:00:00", "text": ["old ", {"type": "hashtag", "text": "#Old"}]},
    {"id": 13, "type": "message", "date_unixtime": "1700000000", "text_entities": [], "photo": "p.jpg"},
    {"id": 14, "type": "message", "date_unixtime": "1700000000", "edited_unixtime": "1700000100",
     "text_entities": [{"type": "plain", "text": "zero\u200dwidth #zero\u200dwidth #Straße #STRASSE"}],
     "media_type": "voice_message"},
    {"id": 15, "type": "message", "text_entities": [{"type": "plain", "text": "no date"}]},
    {"id": 16, "type": "service", "date_unixtime": "1700000000"},
    {"id": True, "type": "message"},
    "not an object",
]


def _messages(path: Path) -> list[object]:
    with path.open("rb") as handle:
        return list(ijson.get_backend("python").items(handle, "messages.item", use_float=True))


def _bench_exports(tmp: Path) -> list[Path]:
    sys.path.insert(0, str(ROOT / "bench"))
    import ingest as bench  # the bench's own generator: its exports are the import being measured

    paths, _ = bench.generate(3000, 5, tmp)
    return paths


@pytest.mark.parametrize("username", [None, "mfa_russia"])
def test_every_message_is_read_as_before(username: str | None) -> None:
    header = ExportHeader(name="Channel", type="public_channel", id=77)
    exports = sorted(FIXTURES.glob("*.json"))
    with tempfile.TemporaryDirectory() as tmp:
        messages = [m for path in (*exports, *_bench_exports(Path(tmp))) if path.name != "bot-api-spec.json"
                    for m in _messages(path)]
    messages += CRAFTED
    assert len(messages) > 3000
    read = [export._convert(m, header, "x.json", username) for m in messages]
    assert read == [_old_convert(m, header, "x.json", username) for m in messages]
    # equal, and every field of the same type (a tuple stays a tuple, () the same ())
    for new, old in zip(read, (_old_convert(m, header, "x.json", username) for m in messages), strict=True):
        assert repr(new) == repr(old)
    assert sum(isinstance(item, Post) for item in read) > 3000
    assert any(isinstance(item, ImportProblem) and not item.skipped for item in read)


def test_hashtags_by_findall_are_those_of_the_match_loop() -> None:
    texts = [str(m.get("text")) for m in CRAFTED if isinstance(m, dict)] + [
        "#a#b ##c #_x #1 #é#ü ＃Wide ﹟small #Tag #tag #TAG", "", "no tags", "C# and F#", "#\u200dzw",
    ]
    for text in texts:
        assert extract_hashtags(text) == _old_extract_hashtags(text), text
