"""Property tests at the edges that take outside input: export files, t.me/s pages, config files.

Whatever arrives, the result is data or our typed error with one line per problem; never
another exception, and never a loss of what was readable.
"""

from __future__ import annotations

import json
import math
import string
import tempfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.collect.importer import import_export
from bot.config import Config, load_config
from bot.core.models import Post
from bot.errors import ConfigError, ImportFormatError, WebPreviewError
from bot.sources.export import ImportProblem, read_export
from bot.sources.web_preview import WebPage, parse_page
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor

FIXTURES = Path(__file__).parent.parent / "fixtures"
PAGE = (FIXTURES / "web-preview" / "full.html").read_text(encoding="utf-8")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- export messages ---------------------------------------------------------------------

json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
)
entity = st.one_of(
    st.text(max_size=20),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["plain", "bold", "link", "text_link", "hashtag", "mention", "x"]),
         "text": st.one_of(st.text(max_size=20), json_scalar)},
        optional={"href": st.one_of(st.text(max_size=20), json_scalar)},
    ),
    json_scalar,
)
message = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.integers(min_value=-5, max_value=10**6), json_scalar),
        "type": st.sampled_from(["message", "service", "other", "", None]),
        "date": st.one_of(st.just("2025-06-01T10:00:00"), st.text(max_size=25), json_scalar),
        "date_unixtime": st.one_of(st.integers(min_value=-10**12, max_value=10**12).map(str), json_scalar),
        "edited_unixtime": st.one_of(st.integers(min_value=0, max_value=2 * 10**9).map(str), json_scalar),
        "text": st.one_of(st.text(max_size=40), st.lists(entity, max_size=5), json_scalar),
        "text_entities": st.one_of(st.lists(entity, max_size=5), json_scalar),
        "photo": st.text(max_size=5),
        "media_type": st.one_of(st.sampled_from(["video_file", "sticker", "voice_message"]), json_scalar),
        "file": st.text(max_size=5),
    },
)
any_message = st.one_of(message, json_scalar, st.lists(json_scalar, max_size=3))


def _export(messages: list[Any]) -> dict[str, Any]:
    return {"name": "prop", "type": "public_channel", "id": 555, "messages": messages}


@SETTINGS
@given(st.lists(any_message, max_size=25))
def test_export_reader_turns_every_message_into_a_post_or_a_problem(messages: list[Any]) -> None:
    """Generated message objects of any shape: one Post or ImportProblem each, never an exception."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "result.json"
        path.write_text(json.dumps(_export(messages)))
        items = list(read_export(path))
    read = [i for i in items if isinstance(i, Post | ImportProblem)]
    assert len(read) == len(messages)
    for item in read:
        if isinstance(item, ImportProblem):
            assert "\n" not in str(item)


valid_message = st.builds(
    lambda i, words: {"id": i, "type": "message", "date_unixtime": str(1_700_000_000 + i * 60), "text": " ".join(words)},
    st.integers(), st.lists(st.text(alphabet=string.ascii_letters + "äöü€🔥\"\\", min_size=1, max_size=8), max_size=6),
)


@SETTINGS
@given(st.integers(min_value=1, max_value=40), st.lists(st.text(max_size=10), min_size=40, max_size=40),
       st.floats(min_value=0.0, max_value=1.0))
def test_an_export_cut_anywhere_keeps_every_message_before_the_cut(count: int, texts: list[str], where: float) -> None:
    """A file cut at a random byte: everything complete before the cut is stored, the rest is one error line."""
    head = '{"name": "cut", "type": "public_channel", "id": 556, "messages": ['
    pieces, ends = [], []
    offset = len(head.encode())
    for i in range(1, count + 1):
        piece = json.dumps({"id": i, "type": "message", "date_unixtime": str(1_700_000_000 + 60 * i),
                            "text": f"story {i} {texts[i - 1]}"})
        piece = piece if i == 1 else ", " + piece
        offset += len(piece.encode())
        pieces.append(piece)
        ends.append(offset)
    data = (head + "".join(pieces) + "]}").encode()
    cut = int(len(data) * where)
    complete = sum(1 for end in ends if end <= cut)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cut.json"
        path.write_bytes(data[:cut])
        db = open_db(Path(tmp) / "t.sqlite")
        report = import_export(path, Ingestor(db, Config()), batch_size=7, parallel=False)
        stored = db.execute("SELECT count(*) FROM posts").fetchone()[0]
        db.close()
    if cut == len(data):
        assert report.error is None and stored == count
        return
    assert report.error is not None and "\n" not in report.error and str(path) in report.error
    # The message whose closing brace is the last byte read may or may not be taken: the
    # parser cannot know yet whether the object is followed by valid JSON; all before it are.
    assert stored in (complete, complete - 1) if cut in ends else stored == complete


# --- t.me/s pages -------------------------------------------------------------------------


@st.composite
def mutated_page(draw: st.DrawFn) -> str:
    page = PAGE
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        kind = draw(st.sampled_from(["cut", "delete", "duplicate", "insert", "swap-attr", "truncate"]))
        a = draw(st.integers(min_value=0, max_value=max(0, len(page) - 1)))
        b = draw(st.integers(min_value=a, max_value=min(len(page), a + 2000)))
        if kind == "cut":
            page = page[:a] + page[b:]
        elif kind == "delete":
            page = page.replace(page[a:b], "", 1) if b > a else page
        elif kind == "duplicate":
            page = page[:b] + page[a:b] + page[b:]
        elif kind == "insert":
            page = page[:a] + draw(st.sampled_from(['<div class="tgme_widget_message" data-post="x/y">', "</div>",
                                                    'datetime="yesterday"', "<time>", "&amp;", "\x00", "🔥",
                                                    'data-before="abc"', "<a class=\"tme_messages_more\">"])) + page[a:]
        elif kind == "swap-attr":
            page = page.replace('data-post="', draw(st.sampled_from(['data-post="@', 'data-post="', 'data-pos="'])), 1)
        else:
            page = page[:a]
    return page


@SETTINGS
@given(mutated_page())
def test_a_mutated_preview_page_is_parsed_or_refused_with_one_line(page: str) -> None:
    try:
        parsed = parse_page(page, where="@topwar_official")
    except WebPreviewError as e:
        assert "\n" not in str(e) and str(e).startswith("@topwar_official")
    else:
        assert isinstance(parsed, WebPage)


# --- config files ---------------------------------------------------------------------------

toml_scalar = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x7f"), max_size=15),
    st.dates(), st.times(), st.datetimes(),
)
toml_value = st.one_of(toml_scalar, st.lists(toml_scalar, max_size=3), st.dictionaries(st.sampled_from(["a", "handle"]), toml_scalar, max_size=2))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")) if not math.isfinite(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"


SECTIONS = {name: [f for f in getattr(Config(), name).__dataclass_fields__] for name in
            ("collect", "web", "dedupe", "query", "bot", "digest", "service")}
TABLE_KEYS = {"channels": ["handle", "title", "interval", "backfill", "source", "nope"], "categories": ["name", "query", "x"]}


@st.composite
def config_text(draw: st.DrawFn) -> str:
    lines = []
    for section in draw(st.lists(st.sampled_from(sorted(SECTIONS)), unique=True, max_size=4)):
        lines.append(f"[{section}]")
        keys = draw(st.lists(st.sampled_from([*SECTIONS[section], "unknown_key"]), unique=True, max_size=4))
        lines.extend(f"{key} = {_toml(draw(toml_value))}" for key in keys)
    for table, keys in TABLE_KEYS.items():
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            lines.append(f"[[{table}]]")
            chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=3))
            lines.extend(f"{key} = {_toml(draw(toml_value))}" for key in chosen)
    if draw(st.booleans()):
        lines.append(f"top_level = {_toml(draw(toml_value))}")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(config_text())
def test_a_config_of_known_keys_and_wrong_types_is_a_config_or_one_line_per_problem(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.toml"
        path.write_text(text, encoding="utf-8")
        try:
            config = load_config(path, env={})
        except ConfigError as e:
            assert e.problems
            for problem in e.problems:
                assert "\n" not in problem and problem.startswith(str(path)), problem
        else:
            assert isinstance(config, Config)


def test_a_known_bad_config_gives_exactly_its_problems(tmp_path: Path) -> None:
    """Anchor for the property above: wrong types are reported, not crashed on."""
    path = tmp_path / "c.toml"
    path.write_text('[service]\nretention_days = "30"\n[[channels]]\nhandle = 5\n[[categories]]\nname = []\n')
    try:
        load_config(path, env={})
    except ConfigError as e:
        assert len(e.problems) == 4, e.problems  # 3 wrong types + the category's missing query
    else:
        raise AssertionError("accepted a config with wrong types")


def test_reader_errors_are_typed(tmp_path: Path) -> None:
    """Not an export at all: ImportFormatError, one line."""
    path = tmp_path / "x.json"
    path.write_text('{"a": [1, 2')
    try:
        list(read_export(path))
    except ImportFormatError as e:
        assert "\n" not in str(e)
    else:
        raise AssertionError("read a broken non-export")


@pytest.mark.parametrize("huge", [2**64, 10**30, -(2**63)])
def test_integers_beyond_64_bits_are_one_problem_not_a_broken_file(tmp_path: Path, huge: int) -> None:
    """Valid JSON with an id beyond 64 bits (which ijson's C parser refuses): that message is one
    problem, the messages around it are read, and nothing claims the file broke off."""
    messages = [
        {"id": 1, "type": "message", "date_unixtime": "1700000000", "text": "before"},
        {"id": huge, "type": "message", "date_unixtime": "1700000060", "text": "huge id"},
        {"id": 2, "type": "message", "date_unixtime": "1700000120", "text": "after"},
    ]
    path = tmp_path / "result.json"
    path.write_text(json.dumps(_export(messages)))
    items = [i for i in read_export(path) if isinstance(i, Post | ImportProblem)]
    assert [i.message_id for i in items if isinstance(i, Post)] == [1, 2]
    problems = [str(i) for i in items if isinstance(i, ImportProblem)]
    assert len(problems) == 1 and "invalid \"id\"" in problems[0]
