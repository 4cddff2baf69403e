"""Text normalisation for matching and dedupe (display always uses the original text).

``normalise`` folds what differs between copies of the same post but carries no meaning:
Unicode compatibility forms (NFKC), invisible characters (soft hyphens, zero-width
characters: removed), case (casefold), typographic quotes and dashes, emoji and decorative
symbols, URL spelling, whitespace. ``words`` splits normalised text into the
tokens the query language matches as whole words, in any script.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import cast

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2039": '"', "\u203a": '"', "\u2033": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
        "\u2212": "-", "\ufe58": "-", "\ufe63": "-", "\uff0d": "-",
        "\u2026": "...", "\u00a0": " ", "\u2022": " ", "\u00b7": " ",
    }
)

# Invisible format characters that keyboards, editors and copy-paste leave inside words: soft
# hyphen, zero-width space/non-joiner/joiner, word joiner, byte order mark. They are removed
# (not turned into spaces), so "zero\u200dwidth" is the one word "zerowidth", in queries and
# in posts alike.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"

# A link, case-insensitively, in NFKC text: from "https://", "www." or "t.me/" (at a word start)
# up to a space, angle bracket or quote. Spelt without IGNORECASE (which also folds the
# long s "ſ" into "s"; NFKC text has none) and with the \b behind the "t": the scan then
# jumps between the letters h, w and t instead of trying every character (~30% faster).
_URL = re.compile(r"(?:[hH][tT][tT][pP][sS]?://|[wW][wW][wW]\.|[tT](?<=\b[tT])\.[mM][eE]/)[^\s<>\"']+")
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?", re.IGNORECASE)
# A word: letters/digits of any script, joined by inner apostrophes or hyphens is *not*
# kept together: "Iran's" gives "iran" and "s", so `Iran` matches it as a whole word.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# "#" not after a word character or another "#". The look-behind sits after the "#" (it
# looks at the two characters ending there) so the scan keeps its fast search for "#":
# in front it made hashtag extraction the costliest step of reading an export.
_HASHTAG = re.compile(r"#(?<![\w#]#)([^\W][\w]*)", re.UNICODE)


def _is_decoration(ch: str) -> bool:
    """Emoji, pictographs, dingbats, flags, variation selectors and joiners."""
    cat = unicodedata.category(ch)
    if cat in ("So", "Sk", "Cs", "Co"):
        return True
    code = ord(ch)
    # variation selectors, ZWJ/ZWNJ, keycap, tag characters used in flag sequences
    return (
        0xFE00 <= code <= 0xFE0F
        or code in (0x200D, 0x200C, 0x20E3)
        or 0xE0020 <= code <= 0xE007F
        or 0xE0100 <= code <= 0xE01EF
    )


# Characters that are neither word characters, whitespace nor everyday punctuation: the
# only ones that can be decorations. Scanning for these and checking each one found is
# ~10x faster than one character class of every emoji range. ASCII and the Cyrillic
# letters are listed first, as plain ranges, so most characters are passed over without
# the Unicode category lookup that \w costs (~40% faster; no ASCII control character and
# no Cyrillic letter is a decoration, so the result is the same).
_UNUSUAL = re.compile(r"[^\x00-\x7f\u0400-\u0481\u048a-\u04ff\w\s\u2010-\u2027\u2030-\u205e]+")


@functools.cache
def _strip_decorations(run: str) -> str:
    return "".join(" " if _is_decoration(ch) else ch for ch in run)


_FOLD = re.compile("[" + "".join(re.escape(chr(c)) for c in _QUOTES) + "]")


def normalise_url(url: str) -> str:
    """Fold the spellings of one URL: scheme, ``www.``, trailing slash and punctuation, case."""
    url = url.rstrip(".,;:!?)»\"'")
    url = _URL_PREFIX.sub("", url)
    url = url.rstrip("/")
    return url.casefold()


def strip_invisible(text: str) -> str:
    """``text`` without soft hyphens, zero-width characters, word joiners and BOMs."""
    if text.isascii():
        return text
    # str.translate with a dict looks every character up in Python (~25 µs for a post of
    # 300 non-ASCII characters, the costliest step of normalising); these characters are
    # rare, and six substring searches run at C speed (~0.3 µs).
    for char in INVISIBLE:
        if char in text:
            text = text.replace(char, "")
    return text


def strip_decorations(text: str) -> str:
    """``text`` with emoji and decorative symbols replaced by spaces (everything else kept)."""
    return text if text.isascii() else _UNUSUAL.sub(lambda m: _strip_decorations(m.group(0)), text)


def normalise(text: str) -> str:
    """Return ``text`` folded for comparison; idempotent: normalise(normalise(t)) == normalise(t)."""
    text = strip_invisible(unicodedata.normalize("NFKC", text))
    if "://" in text or "www." in text or "t.me/" in text:
        text = _URL.sub(lambda m: " " + normalise_url(m.group(0)) + " ", text)
    if not text.isascii():  # ASCII has no typographic quotes and no decorations
        text = _FOLD.sub(lambda m: m.group(0).translate(_QUOTES), text)
        text = _UNUSUAL.sub(lambda m: _strip_decorations(m.group(0)), text)
    # str.split() splits on the same Unicode whitespace as \s, at C speed.
    return " ".join(text.casefold().split())


# piece -> its normalised form (``normalise_pieces``), emptied when full
_PIECE_NORMS: dict[str, str] = {}
_PIECE_NORMS_MAX = 32_768  # as similarity._PIECE_NAMES_MAX: repeats come close together


def normalise_pieces(pieces: list[str]) -> str:
    """``normalise("".join(pieces))`` for the pieces of ``bot.core.pieces.split_pieces``,
    each piece normalised once per process: normalising works within whitespace-separated
    runs (NFKC composes nothing across a space or line break, links and decorations end at
    whitespace), so the whole is its pieces' forms joined by single spaces."""
    return join_forms(piece_forms(pieces))


def piece_forms(pieces: list[str]) -> list[str]:
    """Each piece's ``normalise`` (see ``normalise_pieces``), remembered per piece; the same
    piece gives the same string object each time, so stages that remember something per
    normalised piece (categories, sections) look it up without hashing it again."""
    known = _PIECE_NORMS.get
    forms = [known(piece) for piece in pieces]
    if None in forms:
        if len(_PIECE_NORMS) >= _PIECE_NORMS_MAX:
            _PIECE_NORMS.clear()
        for i, form in enumerate(forms):
            if form is None:
                forms[i] = _PIECE_NORMS[pieces[i]] = normalise(pieces[i])
    return cast(list[str], forms)


def join_forms(forms: list[str]) -> str:
    """The normalised text of the pieces whose ``piece_forms`` these are."""
    return " ".join(filter(None, forms))


def words(normalised: str) -> list[str]:
    """Whole-word tokens of already-normalised text, in order."""
    return _WORD.findall(normalised)


def extract_hashtags(text: str) -> tuple[str, ...]:
    """Hashtags in ``text``, casefolded, without ``#``, first occurrence order, no repeats."""
    if "#" not in text and "\ufe5f" not in text and "\uff03" not in text:  # NFKC folds those two to "#"
        return ()
    # findall returns the one group's strings at C speed (no match object a hashtag)
    found = _HASHTAG.findall(strip_invisible(unicodedata.normalize("NFKC", text)))
    return tuple(dict.fromkeys(map(str.casefold, found)))
