"""The Desktop export reader: both formats, streaming, and bad input that loses nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.models import Post
from bot.errors import ImportFormatError
from bot.sources.export import ExportHeader, ImportProblem, read_export


def _posts(path: Path, **kw) -> list[Post]:
    return [item for item in read_export(path, **kw) if isinstance(item, Post)]


def test_2021_format_text_as_string_and_entity_list(fixtures: Path) -> None:
    """The 2021 export gives plain text, entity-list text joined, edits and media kinds."""
    items = list(read_export(fixtures / "private_channel_2021_result.json"))
    assert items[0] == ExportHeader(name="test", type="private_channel", id=1292077344)
    posts = {p.message_id: p for p in items if isinstance(p, Post)}
    assert posts[2].text == "test text post"
    assert posts[5].text.startswith("italic\n\nbold")
    assert posts[5].edited_at == datetime(2020, 11, 12, 13, 3, tzinfo=UTC)
    assert posts[3].media_kind == "photo"
    assert posts[7].media_kind == "voice"
    skipped = [i for i in items if isinstance(i, ImportProblem)]
    assert skipped and all(p.skipped for p in skipped)


def test_current_format_uses_unixtime_entities_and_hashtags(sample_export: Path) -> None:
    """date_unixtime, text_entities hashtags and text_link hrefs reach the Post."""
    posts = _posts(sample_export, username="mfa_russia")
    assert len(posts) == 24
    first = posts[0]
    assert first.date == datetime(2025, 6, 28, 9, 0, tzinfo=UTC)
    assert first.media_kind == "video"
    assert first.url == "https://t.me/mfa_russia/2"
    tagged = [p for p in posts if "russiaasean" in p.hashtags]
    assert tagged, "hashtag entities are extracted"
    linked = [p for p in posts if "https://mid.ru/en/" in p.links]
    assert linked, "text_link hrefs are kept"


def test_without_username_links_use_private_form(sample_export: Path) -> None:
    """Exports carry no username, so links fall back to t.me/c/<id>/<msg>."""
    post = _posts(sample_export)[0]
    assert post.url == "https://t.me/c/1113692283/2"


def test_bad_message_is_reported_and_the_rest_is_read(tmp_path: Path) -> None:
    """One malformed message yields a problem naming file and id; its neighbours still load."""
    export = {
        "name": "x", "type": "public_channel", "id": 42,
        "messages": [
            {"id": 1, "type": "message", "date": "2025-01-01T10:00:00", "text": "first"},
            {"id": 2, "type": "message", "date": "yesterday", "text": "bad date"},
            {"id": 3, "type": "message", "date": "2025-01-01T11:00:00", "text": {"oops": 1}},
            "not an object",
            {"id": 4, "type": "message", "date": "2025-01-01T12:00:00", "text": "last"},
        ],
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export))
    items = list(read_export(path))
    assert [p.message_id for p in items if isinstance(p, Post)] == [1, 4]
    problems = [str(p) for p in items if isinstance(p, ImportProblem)]
    assert any("message 2" in p and "date" in p and str(path) in p for p in problems)
    assert any("message 3" in p for p in problems)
    assert len(problems) == 3


def test_an_id_that_is_not_a_number_is_named_quoted_on_one_line(tmp_path: Path) -> None:
    """A problem is one line even when the file's id is a string with line breaks."""
    export = {"name": "x", "type": "public_channel", "id": 42, "messages": [
        {"id": "\n"}, {"id": "seven\nlines " * 20}, {"id": 5, "type": "message", "date": "2025-01-01T12:00:00", "text": "ok"},
    ]}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export))
    problems = [str(p) for p in read_export(path) if isinstance(p, ImportProblem)]
    assert len(problems) == 2
    assert all("\n" not in p for p in problems)
    assert "message '\\n'" in problems[0]
    assert len(problems[1]) < len(str(path)) + 100  # a long id is shortened


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"about": "x", "chats": {"list": []}}', "no \"messages\" list"),
        ('{"name": "me", "type": "personal_chat", "id": 5, "messages": []}', "not a channel"),
        ('{"messages": []}', "single-chat export"),
    ],
)
def test_malformed_files_raise_one_clear_error(tmp_path: Path, content: str, expected: str) -> None:
    """A file that is not a channel export raises ImportFormatError naming the file."""
    path = tmp_path / "result.json"
    path.write_text(content)
    with pytest.raises(ImportFormatError) as err:
        list(read_export(path))
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """A path that does not exist gives an ImportFormatError, not an OSError traceback."""
    with pytest.raises(ImportFormatError, match="cannot open"):
        list(read_export(tmp_path / "nope.json"))


def test_streams_without_loading_the_whole_file(tmp_path: Path) -> None:
    """Progress is reported while reading, i.e. messages are yielded before the end of the file."""
    messages = [
        {"id": i, "type": "message", "date_unixtime": str(1_700_000_000 + i), "text": "x" * 500}
        for i in range(1, 2001)
    ]
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"name": "big", "type": "public_channel", "id": 9, "messages": messages}))
    seen_at_progress: list[int] = []
    count = 0

    def progress(done: int) -> None:
        seen_at_progress.append(count)

    for item in read_export(path, on_progress=progress):
        if isinstance(item, Post):
            count += 1
    assert count == 2000
    assert len(seen_at_progress) > 5
    assert 0 < seen_at_progress[0] < 2000, "first progress report came mid-stream"
