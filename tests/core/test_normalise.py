"""Normalisation: the fast paths fold exactly what the slow ones would."""

from __future__ import annotations

import re
import sys

from hypothesis import given
from hypothesis import strategies as st

from bot.core.normalise import _UNUSUAL, _is_decoration, extract_hashtags, normalise

# The scan before the ASCII/Cyrillic ranges were listed first (the reference).
_REFERENCE_UNUSUAL = re.compile(r"[^\w\s!-/:-@\[-`{-~\u2010-\u2027\u2030-\u205e]+")


def test_no_character_the_fast_scan_passes_over_is_a_decoration() -> None:
    """Every character the scan now skips by range, and the old one did not, is kept by
    the decoration check anyway: the scan finds every character that changes."""
    skipped = [
        chr(c) for c in range(sys.maxunicode + 1)
        if not 0xD800 <= c <= 0xDFFF
        and _REFERENCE_UNUSUAL.fullmatch(chr(c)) and not _UNUSUAL.fullmatch(chr(c))
    ]
    assert skipped  # the ranges do skip something (ASCII controls, ...)
    assert not [ch for ch in skipped if _is_decoration(ch)]
    assert all(_UNUSUAL.fullmatch(ch) for ch in "🔴⚡️📌©°҂")  # decorations still found, ҂ included


def test_decorations_quotes_and_case_fold_away() -> None:
    assert normalise("⚡️ «Лавров» — в Пекине!\u0482 BRICS") == normalise('"лавров" - в пекине! brics')


_REFERENCE_HASHTAG = re.compile(r"(?<![\w#])#([^\W][\w]*)")


def _reference_hashtags(text: str) -> tuple[str, ...]:
    import unicodedata

    from bot.core.normalise import strip_invisible

    found = (m.group(1).casefold() for m in _REFERENCE_HASHTAG.finditer(strip_invisible(unicodedata.normalize("NFKC", text))))
    return tuple(dict.fromkeys(found))


@given(st.text(alphabet="#a_Б1 \n.\ufe5f\uff03ǅ\u200d", max_size=30))
def test_hashtags_as_the_reference_pattern_finds_them(text: str) -> None:
    """The look-behind moved after "#" and the no-"#" shortcut change nothing found."""
    assert extract_hashtags(text) == _reference_hashtags(text)


def test_hashtags_examples() -> None:
    assert extract_hashtags("#BRICS a#b ##x #Росcия_1 ＃Wide, #_no") == ("brics", "росcия_1", "wide", "_no")
    assert extract_hashtags("no tags here") == ()
