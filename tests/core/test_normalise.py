"""Normalisation: the fast paths fold exactly what the slow ones would."""

from __future__ import annotations

import re
import sys

from bot.core.normalise import _UNUSUAL, _is_decoration, normalise

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
