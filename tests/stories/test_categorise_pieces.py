"""Categories read piece by piece (``Categoriser.categories_of(..., forms=...)``) and
remembered per combination of what was found are those of the one regex scan over the
whole normalised text they replace (a frozen copy of it is kept here) and those of asking
each query of the post's MatchDoc: over the labelled pairs, the bundled exports, the bench's generated posts,
texts made to catch words inside longer tokens, and generated texts."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from news_texts import ROOT, pair_and_export_texts

from bot.core.normalise import extract_hashtags, join_forms, normalise, piece_forms
from bot.core.pieces import split_pieces
from bot.storage.store import match_doc
from bot.stories.categorise import Categoriser

CATEGORIES = [
    ("UN", 'UN OR "United Nations"'),  # "un" starts many a longer word
    ("Asia", 'ASEAN OR China OR "Kuala Lumpur"'),
    ("BRICS", "BRICS OR #BRICS"),
    ("Russia", "Россия OR России OR Лавров"),
    ("Not war", "talks AND NOT war"),
    ("Channel", "@mfa_russia OR sanctions"),
    ("Numbers", "2025 OR 18"),
    ("Unicode", "naïve OR café OR ß"),
]

TRICKY = [
    "unity under the UN flag, un-bound, _un_ and un_ and UN's mandate",
    "Kuala\nLumpur hosts ASEAN; kuala  lumpur again; Kuala-Lumpur",
    "china's chinas CHINA. #brics #BRICS brics_ x2025 2025y 2025 18% 018",
    "Россия, России! Лавров: «Россия»",
    "naïve café — strasse STRASSE Straße",
    "",
    "🔥 ✨",
    "talks. war",
]


def _old_words(categoriser: Categoriser, text_norm: str) -> set[str]:
    """The whole-word scan ``categories_of`` ran over every post before (frozen copy)."""
    found: set[str] = set()
    scan = categoriser._word_scan
    if scan is None:
        return found
    for m in scan.finditer(text_norm):
        start = m.start()
        if start == 0 or not text_norm[start - 1].isalnum():
            found.add(m.group())
    return found


def _check(categoriser: Categoriser, texts: list[str]) -> None:
    for text in texts:
        forms = piece_forms(split_pieces(text))
        text_norm = join_forms(forms)
        assert text_norm == normalise(text)
        new_words = set().union(*categoriser._words_of_forms(forms))
        assert new_words == _old_words(categoriser, text_norm), text
        tags = extract_hashtags(text)
        for username in (None, "mfa_russia"):
            got = categoriser.categories_of(text_norm, tags, username, forms=forms)
            assert got == categoriser.categories_of(text_norm, tags, username), text
            # and what every query says of the post's MatchDoc (no scan, no cache)
            assert got == categoriser.categories_for(match_doc(text_norm, tags, username)), text


def _bench_texts(n: int) -> list[str]:
    sys.path.insert(0, str(ROOT / "bench"))
    import ingest as bench  # the bench's own generator: its posts are the import being measured

    from bot.core.models import Post
    from bot.sources.export import read_export

    with tempfile.TemporaryDirectory() as tmp:
        paths, _ = bench.generate(n, 5, Path(tmp))
        return [p.text for path in paths for p in read_export(path) if isinstance(p, Post)]


def test_categories_from_pieces_are_those_of_the_whole_text_scan() -> None:
    categoriser = Categoriser(CATEGORIES)
    texts = TRICKY + pair_and_export_texts() + _bench_texts(3000)
    assert len(texts) > 4000
    _check(categoriser, texts)
    # a second pass reads every piece from the cache: the same again
    _check(categoriser, texts)


def test_categories_from_pieces_are_the_same_when_the_cache_fills_up(monkeypatch) -> None:  # noqa: ANN001
    import bot.stories.categorise as categorise

    monkeypatch.setattr(categorise, "_FORM_WORDS_MAX", 3)
    _check(Categoriser(CATEGORIES), TRICKY + pair_and_export_texts()[:300])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["un", "UN", "united", "nations", "China", "china's", "kuala", "lumpur", "ß", "ss",
                                 "#brics", "brics", "_", "-", "'", ".", ". ", "\n", " ", "  ", "2025", "１８", "é",
                                 "\u0301", "\u200b", "war", "talks", "https://t.me/un", "Россия", "ё"]),
                max_size=30).map("".join))
def test_categories_from_pieces_are_those_of_the_scan_on_generated_texts(text: str) -> None:
    _check(Categoriser(CATEGORIES), [text])


def test_a_categoriser_without_plain_words_reads_no_pieces() -> None:
    """Stemmed and prefix queries are asked of a MatchDoc, with or without the pieces."""
    categoriser = Categoriser([("Sanctions", "sanction*"), ("Tags", "#brics")], stemming=True)
    text = "New sanctions announced #BRICS"
    forms = piece_forms(split_pieces(text))
    tags = extract_hashtags(text)
    assert categoriser.categories_of(join_forms(forms), tags, None, forms=forms) == ("Sanctions", "Tags")
    assert re.search("sanction", join_forms(forms))
