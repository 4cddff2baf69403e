"""The shared text helpers: Telegram's length unit, escaping, shortening, span merging."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.text import (
    ascii_bytes_table,
    esc,
    esc_attr,
    merge_spans,
    shorten,
    telegram_length,
    utf16_len,
    visible_text,
)


def test_utf16_len_counts_astral_characters_twice() -> None:
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("中文") == 2  # BMP CJK: one unit each
    assert utf16_len("\U0001D400") == 2  # MATHEMATICAL BOLD CAPITAL A
    assert utf16_len("\U00020000") == 2  # CJK Extension B
    assert utf16_len("😀a") == 3


def test_escaping_for_text_and_attributes() -> None:
    assert esc('<b> & "q"') == '&lt;b&gt; &amp; "q"'
    assert esc_attr('a"b') == "a&quot;b"
    assert visible_text('<a href="x">A &amp; B</a>') == "A & B"
    assert telegram_length("<b>😀</b>") == 2


def test_shorten_flattens_whitespace_and_cuts_with_an_ellipsis() -> None:
    assert shorten("short", 10) == "short"
    assert shorten("two\n  lines", 20) == "two lines"
    assert shorten("abcdefghij", 5) == "abcd…"
    assert shorten("abc defgh", 5) == "abc…"  # no space before the ellipsis
    assert shorten("abcdef", 0) == "…"


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_shorten_never_exceeds_its_width(text: str, width: int) -> None:
    assert len(shorten(text, width)) <= width


def test_merge_spans_joins_overlapping_and_touching_spans() -> None:
    assert merge_spans([]) == []
    assert merge_spans([(5, 7), (0, 2), (1, 3), (3, 4), (6, 6)]) == [(0, 4), (5, 7)]
    assert merge_spans([(0, 10), (2, 3)]) == [(0, 10)]


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 20)).map(lambda t: (t[0], t[0] + t[1]))))
def test_merged_spans_cover_the_same_positions_and_are_disjoint(spans: list[tuple[int, int]]) -> None:
    merged = merge_spans(spans)
    assert all(a[1] < b[0] for a, b in zip(merged, merged[1:], strict=False))
    covered = {i for s, e in spans for i in range(s, e)}
    assert {i for s, e in merged for i in range(s, e)} == covered


_LETTERS = "ab ён"


@given(st.lists(st.text(_LETTERS, min_size=1, max_size=6), min_size=1, max_size=8), st.text(_LETTERS + ".", max_size=60))
@settings(max_examples=400, deadline=None)
def test_literal_alternation_matches_exactly_as_the_sorted_alternation(words: list[str], text: str) -> None:
    """The trie finds the same matches (spans and words) as the words sorted longest first
    and joined by "|", also when what follows it decides (here a word boundary)."""
    import re

    from bot.core.text import literal_alternation

    plain = re.compile("(?:" + "|".join(sorted(map(re.escape, set(words)), key=len, reverse=True)) + r")\b")
    trie = re.compile("(?:" + literal_alternation(words) + r")\b")
    assert [m.span() for m in trie.finditer(text)] == [m.span() for m in plain.finditer(text)]


def test_literal_alternation_is_a_trie() -> None:
    from bot.core.text import literal_alternation

    assert literal_alternation(["south korea", "saudi", "south africa", "sa"]) == (
        r"s(?:a(?:udi|)|outh\ (?:africa|korea))"
    )


def test_ascii_bytes_table_translates_as_str_translate() -> None:
    mapping = {c: " " for c in map(chr, range(128)) if not c.isalnum()} | {"7": "0"}
    table = ascii_bytes_table(mapping)
    every_ascii = "".join(map(chr, range(128)))
    for text in ["", every_ascii, "Rates rose 7.5% on 3 May, (2025)_x\t\n\x00\x7f", every_ascii[::-1] * 3]:
        assert text.encode().translate(table).decode() == text.translate(str.maketrans(mapping))


@pytest.mark.parametrize("mapping", [{"é": " "}, {"a": "é"}, {"a": "bc"}])
def test_ascii_bytes_table_maps_one_ascii_character_to_one(mapping: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="one ASCII character"):
        ascii_bytes_table(mapping)
