"""Which language a post is written in, and the snowball stemmer that fits it.

Most posts in our users' feeds are Russian or English, so those are decided by a cheap
look at the text (Cyrillic letters that only Russian uses; English function words) in a
few microseconds. Everything else, and anything those checks are unsure of, goes to CLD2
(``pycld2``: Google's compact language detector, model compiled into the wheel, no
download, ~25 µs on a short post), which tells apart some 80 languages. Deterministic.
"""

from __future__ import annotations

import re

import pycld2

__all__ = ["UNDETERMINED", "detect_language", "has_cyrillic", "snowball_language"]

UNDETERMINED = "und"  # ISO 639-2 "undetermined": no text, or too little to tell

_SAMPLE = 300  # characters looked at: a post's first lines tell its language
# Runs, not single letters: findall then makes one string a word, not one a letter.
_CYRILLIC = re.compile(r"[\u0400-\u04ff]+")
_LATIN = re.compile(r"[a-zA-Z]+")
# Letters Russian has and its Cyrillic neighbours lack (ы, э, ё; Ukrainian, Belarusian,
# Bulgarian, Serbian, Kazakh... each lack at least these together)...
_RUSSIAN_ONLY = re.compile(r"[ыэёЫЭЁ]")
# ...and letters the neighbours have and Russian lacks.
_NOT_RUSSIAN = re.compile(r"[іїєґўјљњћђџѓќѕәғқңөұүһІЇЄҐЎЈЉЊЋЂЏЃЌЅӘҒҚҢӨҰҮҺ]")
_ENGLISH_FUNCTION_WORDS = (
    "the", "and", "of", "to", "is", "was", "were", "are", "for", "with", "that", "this", "from",
    "has", "have", "had", "will", "by", "its", "it", "on",
)
# Matched against lower-cased text (faster than IGNORECASE).
_ENGLISH_WORDS = re.compile(r"\b(?:" + "|".join(_ENGLISH_FUNCTION_WORDS) + r")\b")
_LETTER_RUN = re.compile(r"[^\W\d_]+")

# ISO 639-1 code → snowball algorithm name (the languages snowballstemmer has).
_SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "da": "danish",
    "nl": "dutch", "en": "english", "fi": "finnish", "fr": "french", "de": "german",
    "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "nb": "norwegian",
    "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian", "es": "spanish",
    "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``'s language ("en", "ru", "uk", ...), or ``"und"``."""
    sample = text[:_SAMPLE]
    data = sample.encode("utf-8", "surrogatepass")  # as has_cyrillic encodes it
    if not _has_cyrillic_bytes(data):
        # No Cyrillic (most English posts): the Latin letters and English words are
        # counted at C speed (bytes.translate) instead of by regular expressions, which
        # were a third of the cost of classifying a long post.
        return _without_cyrillic(sample, data)
    cyrillic = sum(map(len, _CYRILLIC.findall(sample)))
    latin = sum(map(len, _LATIN.findall(sample)))
    if cyrillic > latin:
        if not _NOT_RUSSIAN.search(sample):
            if _RUSSIAN_ONLY.search(sample):
                return "ru"
            # Without ы, э, ё and without the neighbours' letters it is Russian or
            # Bulgarian; CLD2 tells those two apart (on a short text it may say Serbian
            # or Ukrainian, whose own letters we just saw are absent).
            return "bg" if _cld2(sample, cyrillic=cyrillic, latin=latin) == "bg" else "ru"
    elif latin > 0:
        english = len(_ENGLISH_WORDS.findall(sample.lower()))
        if english >= 2 and english * 8 >= len(sample.split()):
            return "en"
    elif cyrillic == 0 and not _LETTER_RUN.search(sample):
        return UNDETERMINED  # emoji, numbers, links only
    return _cld2(sample, cyrillic=cyrillic, latin=latin)


def has_cyrillic(text: str) -> bool:
    """Whether ``text`` has a character of the Cyrillic block (U+0400-U+04FF), as
    ``_CYRILLIC.search`` says. In UTF-8 those characters, and only they, start with a byte
    0xD0-0xD3: four byte searches at C speed, ~4x faster than the regex's scan."""
    # a lone surrogate is 3 bytes from 0xED: no match
    return _has_cyrillic_bytes(text.encode("utf-8", "surrogatepass"))


def _has_cyrillic_bytes(data: bytes) -> bool:
    return b"\xd0" in data or b"\xd1" in data or b"\xd2" in data or b"\xd3" in data


_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
_NOT_LETTER = bytes(b for b in range(128) if b not in _ASCII_LETTERS)
_NOT_ASCII_LETTER = _NOT_LETTER + bytes(range(128, 256))  # UTF-8: no byte of a non-ASCII character
# \w runs of lower-cased ASCII text, as bytes: everything else becomes a space.
_WORD_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_")
_TO_WORDS = bytes(b if b in _WORD_CHARS else 32 for b in range(256))
_ENGLISH_SET = frozenset(w.encode() for w in _ENGLISH_FUNCTION_WORDS)
# str.split's ASCII whitespace (\t \n \v \f \r, \x1c-\x1f, space), "?", and the lead bytes
# of UTF-8 (0xC0-0xFF: one a non-ASCII character). A non-ASCII character (a few, such as
# U+00A0 and U+2009, are whitespace) is counted as one possible word break.
_WHITESPACE_OR_NOT_ASCII = bytes(b for b in range(128) if chr(b).isspace()) + b"?" + bytes(range(0xC0, 0x100))


def _without_cyrillic(sample: str, data: bytes) -> str:
    """``detect_language`` of a sample without Cyrillic letters; ``data``: the sample in
    UTF-8 (surrogates passed). The counts are those of _LATIN and _ENGLISH_WORDS (other
    characters are word boundaries), except that an English word glued to a non-ASCII
    letter ("theé") counts here and not there."""
    # ASCII letters are the same bytes in UTF-8; every byte of a non-ASCII character is
    # >= 0x80, neither a letter nor a word character (_TO_WORDS makes it a space).
    latin = len(data.translate(None, _NOT_ASCII_LETTER))
    if latin > 0:
        # The whole words of _ENGLISH_WORDS, counted as its findall counts them.
        english = sum(map(_ENGLISH_SET.__contains__, data.lower().translate(_TO_WORDS).split()))
        # len(sample.split()) is at most 1 + the sample's whitespace characters, and those
        # are among its ASCII whitespace and its non-ASCII characters (one UTF-8 lead byte
        # each): counted by one C-level translate, that bound settles nearly every English
        # sample without building its ~50 words (~2 µs); the rest are counted exactly.
        if english >= 2 and (
            english * 8 > len(data) - len(data.translate(None, _WHITESPACE_OR_NOT_ASCII))
            or english * 8 >= len(sample.split())
        ):
            return "en"
    elif not _LETTER_RUN.search(sample):
        return UNDETERMINED  # numbers, links, punctuation only
    return _cld2(sample, cyrillic=0, latin=latin)


def _cld2(sample: str, *, cyrillic: int, latin: int) -> str:
    try:
        reliable, _, found = pycld2.detect(sample)
    except (pycld2.error, UnicodeEncodeError):  # text that is not valid UTF-8 (lone surrogates)
        return UNDETERMINED
    code: str = found[0][1]
    if code != "un" and (reliable or len(sample) >= 40):
        return code.split("-")[0]  # "zh-Hant" → "zh"
    # Too short for CLD2 to be sure: a few Russian/English words are still worth stemming.
    if cyrillic >= 3 and cyrillic > latin:
        return "ru"
    if latin >= 3 and latin > cyrillic:
        return "en" if code in ("un", "en") else code
    return UNDETERMINED


def snowball_language(code: str | None) -> str | None:
    """The snowball stemmer for an ISO 639-1 code, or None when there is none."""
    return _SNOWBALL.get(code) if code else None
