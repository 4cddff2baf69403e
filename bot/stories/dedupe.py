"""Fold posts into *stories*: posts that tell the same news, in one channel or several.

Two posts are the same story when, within the time window (default 7 days):

- one is a forward of the other (its origin ``(channel, post id)`` is indexed), or both
  forward the same origin;
- their *canonical* texts are identical (``content_hash``): normalised text with credit
  lines ("source: @x", "via @x"), "read more"/"read in full" trailers and links removed,
  so a repost that differs only in emoji, quotes, dashes, whitespace, credit or trailer
  hashes the same;
- the shorter one is (nearly) contained in the longer one: the share of its word
  bigrams found in the other is at least ``containment`` (a post repeating the body of
  one published shortly before, a post with an added title line or paragraph);
- their word-bigram Jaccard similarity is at least ``similarity`` (light rewrites).

and no guard separates them. Guards, checked on every similarity/containment match:

- numbers: if each text has a number the other lacks ("resume on 3 March" vs "on 5
  March"), they are different stories;
- names, for short texts (both at most ``SHORT_WORDS`` words): if each has a content word
  (not a common function word) the other lacks, they are different stories ("flights to
  Bangkok" vs "flights to Hanoi"). Normalised text is casefolded, so capitalisation cannot
  tell a name from another word: for short posts any substitution counts;
- texts under ``MIN_WORDS`` words (media-only posts, "Read in full") never match by
  similarity, only by identical hash (non-empty text) or forward origin.

Scaling: the index keeps, per post, its canonical text (its bigram signature and numbers
are derived from it again only when it is a candidate: cheaper to keep than a hash array)
and files it under a few *keys*, found by splitting on whitespace (no bigram set): the hash
of each sentence (a repost with an added title, a repeated body or a retelling that keeps
some sentences shares them verbatim), of its first and last word pair (a repeated head or
tail line), and of the word pairs whose first word is long (at least ``SAMPLE_LENGTH``
characters, ``SHORT_SAMPLE_LENGTH`` for short texts: the choice depends on the pair alone,
so a rewritten or contained part still shares some, in every run). An exact copy of an
indexed text derives nothing: it shares the first copy's text and keys. ``find`` looks up
the new post's keys (a key shared by more than ``POSTING_CAP`` posts is boilerplate and
dropped), ranks the posts found by how rare their shared keys are, checks the number guard
on the best ``MAX_VERIFY`` and verifies the survivors exactly (bigram sets, all guards). A
post that shares no key with anything (most new stories) never builds a bigram set. Work
per post is bounded by its own length, not by the size of the index, so an import scales
linearly. Recall limit of the sampling: a short fragment from the middle of one sentence of
a long post may share no key.

In-memory keys use Python's ``hash`` of strings, which is randomised per process: the
index is rebuilt from the database at each start and never stores them. ``content_hash``
is a stable digest (blake2b) and is what gets stored.

Nothing here does I/O; ``StoryIndex`` is an in-memory structure the ingest path fills
from the database for the window it needs. It raises ``ValueError`` for naive datetimes
or a non-positive window; everything else is total.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import re
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import compress, filterfalse
from typing import Literal
from zlib import crc32

from bot.core.caches import remember
from bot.core.text import ascii_bytes_table
from bot.stories.similarity import (
    ACRONYM,
    DEFAULT_THRESHOLD,
    MAX_GAP_HOURS,
    UNIT,
    WEAK,
    Gist,
    RewriteMatch,
    entities_of,
    entities_of_pieces,
    facts_conflict,
    facts_of,
    gist,
    names_conflict,
    rewrite_match,
)

__all__ = [
    "DedupeItem",
    "Join",
    "Fingerprint",
    "StoryIndex",
    "canonical",
    "content_hash",
    "fingerprint",
    "fingerprints",
    "same_story",
]

MIN_WORDS = 4  # below this a text is too short to say anything by similarity
SHORT_WORDS = 40  # at most this many words: the name guard applies
# A bigram whose first word has at least this many letters is a key: long words are the
# rarer, telling ones, and the choice depends on the bigram alone (and not on the per-process
# hash), so two posts sharing it both pick it, in every run.
SAMPLE_LENGTH = 9
SHORT_SAMPLE_LENGTH = 6  # the same for texts of at most FULL_ANCHOR words (few to pick from)
FULL_ANCHOR = 40  # texts with at most this many words are short: sampled more densely
POSTING_CAP = 32  # a key shared by more posts than this is boilerplate: dropped
MAX_VERIFY = 8  # candidates verified exactly per lookup, most shared keys first
MAX_REWRITE = 4  # of those, how many are scored as retellings (the costlier check)
GISTS_KEPT = 1024  # entries whose gist (the retelling check's ~15 kB) stays in memory: the latest
DEFAULT_CONTAINMENT = 0.85
REWRITE_SCORE_CAP = 1.0  # rewrite_match's score is at most this (it rounds min(score, 1.0))
SHORT_FLOOR = 0.55  # short texts compared by content words need this much bigram overlap too


# --- canonical form --------------------------------------------------------------------

# Links as ``normalise`` leaves them: scheme and "www." already stripped, casefolded.
# Possessive quantifiers: no backtracking inside words, so a scan stays linear.
_TLDS = "com|ru|org|net|me|io|info|gov|edu|int|uk|de|fr|su|by|ua|kz|tv|news|co"
_LINK_RE = rf"(?<![\w.-])(?:https?://)?(?:[\w-]++\.)++(?:[a-z]{{2,}}+/\S*+|(?:{_TLDS})\b(?!\.\w))"
_LINK = re.compile(_LINK_RE)
_TARGET = rf"(?:@[\w.]++|{_LINK_RE})"
# Credit lines and "read more" trailers at the end of a post, in English and Russian.
# Credits need a target (a bare trailing "source" is prose); read-more phrases may not.
_TRAILER = re.compile(
    r"(?<!\S)(?:"
    rf"(?:source|sources|via|credit|credits|from|photo|video|источник|по материалам|фото|видео)\s*+:?\s*+{_TARGET}"
    r"|(?:read more|read in full|read the full (?:text|story|article|statement)|full text|more details|"
    r"details|subscribe|follow us|join us|подробнее|читать далее|читать полностью|полный текст|"
    r"подписаться|подпишись|подписывайтесь)\s*+(?:here|здесь|тут)?\s*+[:.]*+\s*+(?:"
    + _TARGET
    + r")?"
    r"|@[\w.]++"
    rf"|{_LINK_RE}"
    r")[\s.:;,|>-]*+$"
)
_TRAILER_SPAN = 300  # trailers are short: only the end of a post is searched
# the most words an alternative of _TRAILER spans ("read the full statement here : t.me/x"
# is 7), and one more
_TRAILER_WORDS = 8
_WITHOUT_SEPARATORS = operator.methodcaller("strip", ".:;,|>-")  # "" for a word of those only
_HINT_SPAN = 40
_TRAILER_HINT = re.compile(
    r"[@/]|\.(?:" + _TLDS + r")\b|read|full|more|details|text|subscri|follow|join|"
    r"подроб|читать|текст|подпис"
)
_BARE_DOMAIN_HINT = re.compile(r"\.(?:" + _TLDS + r")\b")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")


def canonical(text_norm: str) -> str:
    """``text_norm`` without trailing credit lines and read-more trailers, and without links.

    If nothing would be left (a post that is only a link), the links are kept so that two
    different link-only posts stay apart.
    """
    text = text_norm.strip()
    # Cheap gates first: most posts end in prose and carry no link.
    while text and _TRAILER_HINT.search(text[-_HINT_SPAN:]):
        cut = text.rfind(" ", 0, len(text) - _TRAILER_SPAN) + 1 if len(text) > _TRAILER_SPAN else 0
        # A trailer starts at a word and spans at most _TRAILER_WORDS whitespace-separated
        # words before the separators that may follow it: when none of the last words is
        # separators only, it starts among them, and the search (which tries every position,
        # ~20 µs over the 300 characters) starts there. (The same match: the search finds
        # the leftmost, and none can start before.)
        words = text.rsplit(None, _TRAILER_WORDS)
        if len(words) > _TRAILER_WORDS and all(map(_WITHOUT_SEPARATORS, words[1:])):
            cut = max(cut, len(words[0]))
        found = _TRAILER.search(text, cut)
        if found is None:
            break
        text = text[: found.start()].rstrip()
    if "/" in text or _BARE_DOMAIN_HINT.search(text):
        text = _SPACES.sub(" ", _LINK.sub(" ", text)).strip()
    return text or text_norm.strip()


# The ingest path hashes a post (``content_hash``) right before asking the index about it
# (``find``, then ``add``): one remembered result saves deriving the canonical form (a
# regex scan of the post's end, the costliest step for reposts) twice. One tuple, swapped
# in whole, so concurrent callers at worst recompute.


@functools.lru_cache(maxsize=4096)
def _head(text_norm: str) -> tuple[str, bytes]:
    """Canonical text and its digest: all an exact copy needs. Cached because ingest hashes
    a whole batch first (``content_hash``) and then dedupes it (``find``/``add``)."""
    canon = canonical(text_norm)
    return canon, hashlib.blake2b(canon.encode(), digest_size=16).digest()


def content_hash(text_norm: str) -> str:
    """Hex digest of the canonical form: equal for copies that differ only in credit,
    trailer or links; stable across runs and machines."""
    return _head(text_norm)[1].hex()


# --- signatures --------------------------------------------------------------------------

# Function words do not name anything: a rewrite that swaps "the" for "a" is not a new fact.
# Negations are deliberately absent: "not" is content.
_STOPWORD_TEXT = """a an the and or but if of to in on at by for with from into onto over under about after
    before during between through against among within as than then so such that this
    these those there here it its it's is are was were be been being has have had do does did
    will would shall should can could may might must i we you he she they them us our your his
    her their my me him who whom whose which what when where why how all any both each few more
    most other some own same too very also just only s t said says say told according per
    via amid while since until up down out off again further once
    и в во не на с со к ко по за из от до для о об при а но или же ли что как это этот эта эти
    тот та те так также уже еще ещё бы был была были было быть есть он она оно они мы вы я его
    ее её их им ним нем ней у вот"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


_NEGATIONS = ("not", "no", "never", "none", "nor", "cannot", "without", "не", "нет", "ни", "без", "никогда")


_NEGATIONS = ("not", "no", "never", "none", "nor", "cannot", "without", "не", "нет", "ни", "без", "никогда")
# Word ids are ``hash(word)`` (+ k for its k-th repeat): per process, like every in-memory key.
_NEGATION_IDS = frozenset(map(hash, _NEGATIONS))  # first occurrence, as in names

_TOKEN = re.compile(r"\w+")
# For ASCII text, mapping every non-word character to a space and splitting gives the same
# tokens as ``_TOKEN.findall`` at a third of the cost; the mapping runs over the text's bytes
# (``ascii_bytes_table``: a quarter of ``str.translate``'s cost, the same characters).
_ASCII_BREAKS = ascii_bytes_table({c: " " for c in map(chr, range(128)) if not re.match(r"[\w\s]", c)})
_EMPTY: frozenset[int] = frozenset()
_ASCII_DIGIT_RUNS = ascii_bytes_table({c: " " for c in map(chr, range(128)) if not c.isdigit()})


def _tokens(text: str) -> list[str]:
    return text.encode().translate(_ASCII_BREAKS).decode().split() if text.isascii() else _TOKEN.findall(text)


def _numbers(canon: str) -> frozenset[int | tuple[int, int]] | None:
    """The numbers of a text as a multiset (n, then (n, 2) for its second occurrence...),
    so "10-11 ... 13" → "13-11 ... 13" still shows a number replaced; None: no digits.
    (Digits are word characters, so these are exactly the digit runs of the tokens.)"""
    # ASCII (most posts): digits kept, everything else a space, split: the same runs as
    # the regex (\d is 0-9 there) for a fraction of its cost
    digits = canon.encode().translate(_ASCII_DIGIT_RUNS).decode().split() if canon.isascii() else _DIGITS.findall(canon)
    if not digits:
        return None
    try:
        values = list(map(int, digits))  # "05" and "5" are one number
    except ValueError:  # thousands of digits in a row: compare them as text
        values = [hash(d.lstrip("0")) for d in digits]
    numbers: frozenset[int | tuple[int, int]] = frozenset(values)
    if len(numbers) < len(values):
        seen: dict[int, int] = {}
        tagged: list[int | tuple[int, int]] = []
        for v in values:
            seen[v] = count = seen.get(v, 0) + 1
            tagged.append(v if count == 1 else (v, count))
        numbers = frozenset(tagged)
    return numbers


def _names(toks: list[str]) -> frozenset[int]:
    """Content words of a short text as a multiset (id, id+1 for the second occurrence...):
    "bank ... the bank's" → "Jakarta ... the bank's" must still show "bank" replaced."""
    content = [w for w in toks if w not in _STOPWORDS]
    if not "".join(content).isalpha():  # words with digits are numbers' business
        content = [w for w in content if w.isalpha() or not _DIGITS.search(w)]
    ids = list(map(hash, content))
    names = frozenset(ids)
    if len(names) < len(ids):
        counts: dict[int, int] = {}
        for wid in ids:
            counts[wid] = counts.get(wid, 0) + 1
        names = frozenset(wid + k for wid, n in counts.items() for k in range(n))
    return names


@dataclass(frozen=True, slots=True)
class _Signature:
    """What the similarity rules need of one text; built only to verify a candidate."""

    nwords: int
    shingles: frozenset[int]  # hashed word bigrams of the canonical text
    numbers: frozenset[int | tuple[int, int]] | None
    names: frozenset[int] | None  # content words (id + occurrence), short texts only


_UNKNOWN: Literal[False] = False


def _signature(
    canon: str, numbers: frozenset[int | tuple[int, int]] | None | Literal[False] = _UNKNOWN
) -> _Signature:
    """``numbers``: ``_numbers(canon)`` when the caller has it already (the number guard ran)."""
    toks = _tokens(canon)
    nwords = len(toks)
    if nwords < MIN_WORDS:
        return _Signature(nwords, _EMPTY, None, None)
    # str hashes are cached on the string and tuple hashes of them are cheap; zip reuses
    # its result tuple, so this allocates nothing per bigram but the int
    shingles = frozenset(map(hash, zip(toks, toks[1:], strict=False)))
    names = _names(toks) if nwords <= SHORT_WORDS else None
    return _Signature(nwords, shingles, _numbers(canon) if numbers is False else numbers, names)


def _stable(text: str) -> int:
    """A hash that is the same in every process (``hash()`` is salted per process), so
    keys can be computed in an import worker and looked up in the importing process."""
    return crc32(text.encode())


def _keys(canon: str) -> list[int]:
    """The keys a post is indexed and looked up under; a pure function of its canonical
    text, so two posts meet under a key only if both chose it. Cheap on purpose (every
    new post pays it): whitespace-split words, a few hashes, no bigram set."""
    # Sentences as they stand in the canonical text: a repeat, an added title line or a
    # retelling keeps most of them verbatim. normalise() folded line breaks to spaces.
    # (``_stable`` of each, as map() chains at C speed: no Python call per key.)
    encode = str.encode
    keys = list(map(crc32, map(encode, canon.rstrip(".!? ").split(". "))))
    words = canon.split()
    if len(words) >= 2:
        least = SHORT_SAMPLE_LENGTH if len(words) <= FULL_ANCHOR else SAMPLE_LENGTH
        # the word pairs whose first word is long enough; only those are joined
        pairs = compress(zip(words, words[1:], strict=False), map(least.__le__, map(len, words)))
        keys += map(crc32, map(encode, map(" ".join, pairs)))
        keys.append(_stable(f"{words[0]} {words[1]}"))
        keys.append(_stable(f"{words[-2]} {words[-1]}"))
    return keys


def _guards_pass(
    a_numbers: frozenset[int | tuple[int, int]] | None,
    a_names: frozenset[int] | None,
    b_numbers: frozenset[int | tuple[int, int]] | None,
    b_names: frozenset[int] | None,
) -> bool:
    """False when the two texts state different numbers, or (short texts) different names
    or opposite polarity ("resume" vs "do not resume")."""
    if (
        a_numbers is not None
        and b_numbers is not None
        and not (a_numbers <= b_numbers or b_numbers <= a_numbers)
    ):
        return False
    if a_names is not None and b_names is not None:
        if not (a_names <= b_names or b_names <= a_names):
            return False
        if (a_names ^ b_names) & _NEGATION_IDS:
            return False
    return True


def _score(
    inter: int,
    na: int,
    nb: int,
    a_words: int,
    b_words: int,
    a_names: frozenset[int] | None,
    b_names: frozenset[int] | None,
    similarity: float,
    containment: float,
) -> float:
    """How strongly two signatures (that passed the guards) say "same story"; 0.0: no."""
    if inter == 0:
        return 0.0
    jaccard = inter / (na + nb - inter)
    if jaccard >= similarity:
        return jaccard
    contained = inter / min(na, nb)
    if min(a_words, b_words) >= MIN_WORDS and contained >= containment:
        # a contained fragment counts, a little below an equally strong rewrite
        return containment * contained
    if a_names and b_names and max(jaccard, contained) >= SHORT_FLOOR:
        # Short texts reworded in another order lose most bigrams; the guards already
        # ruled out a substituted word, so compare their content words instead.
        common = len(a_names & b_names)
        word_jaccard = common / (len(a_names) + len(b_names) - common)
        if word_jaccard >= similarity:
            return word_jaccard * SHORT_FLOOR
    return 0.0


def same_story(
    a_norm: str,
    b_norm: str,
    *,
    similarity: float = 0.7,
    containment: float = DEFAULT_CONTAINMENT,
    a_text: str | None = None,
    b_text: str | None = None,
    gap_hours: float = 0.0,
    rewrite_threshold: float = DEFAULT_THRESHOLD,
) -> bool:
    """Whether two normalised texts tell one story by content alone (no forwards).

    The pairwise rule ``StoryIndex`` applies to its candidates; for tests and tuning. With
    the raw texts (``a_text``, ``b_text``: their capitalisation names the entities) a
    retelling is recognised too (``bot.stories.similarity``), ``gap_hours`` apart.
    """
    (a_canon, a_hash), (b_canon, b_hash) = _head(a_norm), _head(b_norm)
    if a_hash == b_hash:
        return bool(a_norm.strip())
    a_entities = entities_of(a_text) if a_text else frozenset()
    b_entities = entities_of(b_text) if b_text else frozenset()
    if _similar(_signature(a_canon), _signature(b_canon), similarity, containment) > 0.0:
        return not names_conflict(a_entities, b_entities)
    if a_text is None or b_text is None:
        return False
    match = rewrite_match(
        gist(a_canon, a_entities), gist(b_canon, b_entities), gap_hours=gap_hours, threshold=rewrite_threshold,
    )
    return match is not None and match.joined


def _similar(a: _Signature, b: _Signature, similarity: float, containment: float) -> float:
    """The score of two different texts: 0.0 when a guard separates them or they are
    not similar enough."""
    if not a.shingles or not b.shingles:
        return 0.0
    if not _guards_pass(a.numbers, a.names, b.numbers, b.names):
        return 0.0
    sa, sb = a.shingles, b.shingles
    return _score(len(sa & sb), len(sa), len(sb), a.nwords, b.nwords, a.names, b.names, similarity, containment)


# --- the index ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DedupeItem:
    """What dedupe needs of a post; ``text_norm`` is ``bot.core.normalise.normalise(post.text)``.
    ``fingerprint`` (of that text) may be computed ahead, e.g. in an import worker."""

    key: tuple[int, int]  # (channel_id, message_id)
    date: datetime  # aware UTC
    text_norm: str
    forward_origin: tuple[int, int] | None = None
    fingerprint: Fingerprint | None = field(default=None, compare=False)
    # the post's raw text: its capitalisation names the entities a retelling must share
    text: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The part of dedupe that depends on a post's text alone: canonical text, its digest
    and its index keys. Pure and process-independent, so it can be made anywhere."""

    canon: str
    chash: bytes
    keys: tuple[int, ...]
    entities: frozenset[str] = frozenset()
    facts: frozenset[tuple[str, str]] | None = None  # numbers and months (``facts_of``); None: not computed

    @property
    def content_hash(self) -> str:
        return self.chash.hex()


# How many of a post's first entities are paired into keys: a pair of names ("lavrov" with
# "fidan") stays rare where each name alone is boilerplate in a channel's window.
ENTITY_PAIR_SPAN = 4
ENTITY_KEYS = 6  # single names indexed per post: keys per post stay bounded


def _entity_keys(entities: frozenset[str]) -> list[int]:
    """Keys that let a retelling meet its story: each of a few names (and each country) and
    each pair of the first few names (sorted, so both posts choose the same ones). Names
    that saturate (a country, a common word opening a sentence) are dropped like any
    boilerplate key, so lookup stays bounded."""
    # Each entity as its place in one sorted list (remembered: news repeats its names):
    # sure names (acronyms without their mark), then words capitalised only at a sentence
    # start ("Tesla delivered...": common words among them saturate like any boilerplate
    # key), then countries and tags, then names of several words (no key). One sort and
    # two bisections instead of a filter and a sort per kind.
    known = _ENTITY_ORDER.get
    ordered = sorted([known(entity) or _entity_order(entity) for entity in entities])
    named = bisect_left(ordered, _TAGS)
    crcs = _NAME_CRCS.get
    parts = [crcs(name) or _name_crcs(name) for name in ordered[: min(named, ENTITY_KEYS)]]
    keys = [part[0] for part in parts]
    keys += [(crcs(name) or _name_crcs(name))[0] for name in ordered[named : bisect_left(ordered, _UNITS, named)]]
    head = parts[:ENTITY_PAIR_SPAN]
    # the pair "\x02x y" by continuing x's running CRC over " y": no string is built
    keys += [crc32(y[2], x[1]) for i, x in enumerate(head) for y in head[i + 1 :]]
    return keys


# an entity's place in _entity_keys' sorted list: a kind's mark, then its name
_SURE, _WEAK, _TAGS, _UNITS = "\x00", "\x01", "\x02", "\x03"
_ENTITY_ORDER: dict[str, str] = {}
_ENTITY_ORDER_MAX = 100_000


def _entity_order(entity: str) -> str:
    if entity[0] == WEAK:
        made = _WEAK + entity[1:]
    elif entity[0] == UNIT:
        made = _UNITS + entity
    else:
        name = entity.lstrip(ACRONYM)
        made = (_TAGS if name[0] == "#" else _SURE) + name
    return remember(_ENTITY_ORDER, entity, made, _ENTITY_ORDER_MAX)


# an entity's place -> (_stable("\x01" + name), the CRC of "\x02" + name, " " + name as
# bytes): news repeats its names, so a post's entity keys cost a few lookups
_NAME_CRCS: dict[str, tuple[int, int, bytes]] = {}
_NAME_CRCS_MAX = 100_000


def _name_crcs(place: str) -> tuple[int, int, bytes]:
    encoded = place[1:].encode()
    made = (crc32(b"\x01" + encoded), crc32(b"\x02" + encoded), b" " + encoded)
    return remember(_NAME_CRCS, place, made, _NAME_CRCS_MAX)


def fingerprint(text_norm: str, text: str | None = None, *, pieces: list[str] | None = None) -> Fingerprint:
    """Canonical text, digest and keys of ``text_norm``; with the raw ``text``, its names
    (``entities_of``) and their keys too. A function of its arguments alone: two posts
    with the same canonical text but different raw texts (a repost with a credit line or
    emoji) each get the names of their own text, whatever was fingerprinted before.
    ``pieces``: ``split_pieces(text)`` when the caller has them already."""
    return fingerprints([text_norm], [text], [pieces])[0]


def fingerprints(
    texts_norm: Sequence[str], texts: Sequence[str | None], pieces: Sequence[list[str] | None]
) -> list[Fingerprint]:
    """``[fingerprint(n, t, pieces=p) for n, t, p in zip(texts_norm, texts, pieces)]``, one
    step at a time over the whole batch (canonical forms, names, keys): each step's code
    and caches then stay hot, ~20% less CPU than post by post on bench/ingest.py's posts."""
    heads = list(map(_head, texts_norm))
    # names are remembered per piece of raw text (see bot.core.pieces); no raw text: no names
    names = [
        None if not text else entities_of(text) if parts is None else entities_of_pieces(parts)
        for text, parts in zip(texts, pieces, strict=True)
    ]
    text_keys = [_text_keys(canon) for canon, _ in heads]
    name_keys = [() if found is None else _name_keys(found) for found in names]
    # (facts are derived in the index, and only for the posts a retelling is compared with)
    return [
        Fingerprint(canon, chash, keys) if found is None else Fingerprint(canon, chash, keys + more, found)
        for (canon, chash), keys, found, more in zip(heads, text_keys, names, name_keys, strict=True)
    ]


# News repeats itself: a repost (credit, emoji, links) shares its original's canonical text,
# and posts about the same people share their names, so both key sets are remembered.
@functools.lru_cache(maxsize=4096)
def _text_keys(canon: str) -> tuple[int, ...]:
    return tuple(_keys(canon))


@functools.lru_cache(maxsize=4096)
def _name_keys(entities: frozenset[str]) -> tuple[int, ...]:
    return tuple(_entity_keys(entities))


@dataclass(frozen=True, slots=True)
class Join:
    """Why ``find`` put a post into an existing story: ``kind`` is "forward", "copy" (the same
    canonical text: a repost with other emoji, credit or links), "similar" (word pairs
    shared or contained: a light edit, a repeated body) or "rewrite" (a retelling:
    ``score`` with the shared entities and numbers)."""

    kind: str
    score: float = 1.0
    shared_entities: tuple[str, ...] = ()
    shared_numbers: tuple[str, ...] = ()


# The reasons without a score, made once: a frozen dataclass costs a microsecond to build
_FORWARD = Join("forward")
_COPY = Join("copy")


class _Entry:
    """One indexed post. ``canon`` (its canonical text, from which its keys and signature
    are derived again when needed: cheaper to keep than either) and ``numbers`` are shared
    with the post's exact copies (``numbers`` is False until first needed); ``anchored`` is set on the one copy indexed under the keys.
    ``copied``: other entries were filed under its hash since it was added (False: its hash's
    bag is the entry itself, so ``find`` skips it out of the window without the bag)."""

    __slots__ = ("key", "ts", "story", "chash", "canon", "numbers", "origin", "anchored", "copied", "entities", "facts", "gist")

    def __init__(self, key: tuple[int, int], ts: float, story: int, origin: tuple[int, int] | None) -> None:
        self.key = key
        self.ts = ts
        self.story = story
        self.chash: bytes | None = None
        self.canon = ""
        # derived on first use: most posts are never anyone's candidate
        self.numbers: frozenset[int | tuple[int, int]] | None | Literal[False] = False
        self.origin = origin
        self.anchored = False
        self.copied = False
        # its names (``entities_of``) as a tuple: a seventh of a set's memory; made a set again
        # for the rare comparison that needs one
        self.entities: tuple[str, ...] = ()
        self.facts: frozenset[tuple[str, str]] | None = None  # derived on first use, like numbers
        self.gist: Gist | None = None  # built when first a candidate for a rewrite


class _Probe:
    """What ``find`` and then ``add`` derive from one new post; the signature only if a
    candidate passes the number guard."""

    __slots__ = ("item", "canon", "chash", "_keys", "_numbers", "_sig", "entities", "_facts", "_gist", "live_keys")

    def __init__(self, item: DedupeItem) -> None:
        self.item = item
        made = item.fingerprint
        if made is not None:
            self.canon, self.chash = made.canon, made.chash
            self._keys: Sequence[int] | None = made.keys  # read only: no copy
            self.entities = made.entities
            self._facts = None if made.facts is None else _shared_facts(made.facts)  # shipped: shared like ours
        else:
            self._facts = None
            self.canon, self.chash = _head(item.text_norm)
            self._keys = None
            self.entities = entities_of(item.text) if item.text else frozenset()
        self._gist: Gist | None = None
        self._numbers: frozenset[int | tuple[int, int]] | None | Literal[False] = False
        self._sig: _Signature | None = None
        # ``find``'s keys that are not saturated, with the index's saturation count then (see
        # StoryIndex._live_keys)
        self.live_keys: tuple[int, Sequence[int]] | None = None

    @property
    def keys(self) -> Sequence[int]:
        if self._keys is None:
            self._keys = _keys(self.canon) + _entity_keys(self.entities)
        return self._keys

    @property
    def facts(self) -> frozenset[tuple[str, str]]:
        if self._facts is None:
            self._facts = _shared_facts(facts_of(self.canon))
        return self._facts

    @property
    def built_gist(self) -> Gist | None:
        return self._gist

    @property
    def gist(self) -> Gist:
        if self._gist is None:
            self._gist = gist(self.canon, self.entities, self.facts)
        return self._gist

    @property
    def numbers(self) -> frozenset[int | tuple[int, int]] | None:
        if self._numbers is False:
            self._numbers = _numbers(self.canon)
        return self._numbers

    @property
    def sig(self) -> _Signature:
        if self._sig is None:
            self._sig = _signature(self.canon, self.numbers)
        return self._sig


_NO_NAMES: tuple[str, ...] = ()
_NAMES: dict[str, str] = {}  # see StoryIndex._shared
_NAMES_REMEMBERED = 1 << 16


# One object per fact ("date", "3") across the index: entries' facts share their tuples, and
# comparing two posts' facts (``facts_conflict``, several times per post) finds equal facts
# by identity instead of reading both tuples and their strings from memory.
_FACTS: dict[tuple[str, str], tuple[str, str]] = {}
_FACTS_REMEMBERED = 1 << 16


def _shared_facts(facts: frozenset[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    if len(_FACTS) >= _FACTS_REMEMBERED:
        _FACTS.clear()  # the recent facts: starting over costs nothing but sharing
    known = _FACTS.setdefault
    return frozenset(map(known, facts, facts))


def _timestamp(when: datetime) -> float:
    if when.tzinfo is None:
        raise ValueError(f"dedupe needs timezone-aware datetimes, got naive {when.isoformat()}")
    return when.timestamp()


def _anchored_keys(entry: _Entry) -> list[int]:
    """The keys an anchored entry is indexed under, derived again from what it keeps."""
    return _keys(entry.canon) + _entity_keys(frozenset(entry.entities))


def _bag_add(bag: dict, key: object, value: _Entry) -> None:
    """Multimap with the single-value case stored bare: most keys have one value, and a
    list per key would triple the memory of the index. Values are distinct entries."""
    old = bag.get(key)
    if old is None:
        bag[key] = value
    elif type(old) is list:
        old.append(value)
    else:
        bag[key] = [old, value]


def _bag_remove(bag: dict, key: object, value: _Entry) -> None:
    old = bag.get(key)
    if old is None:
        return
    if type(old) is not list:
        if old is value:
            del bag[key]
        return
    try:
        old.remove(value)  # entries compare by identity
    except ValueError:
        return
    if len(old) == 1:
        bag[key] = old[0]


def _bag_values(found: _Entry | list[_Entry] | None) -> Iterable[_Entry]:
    if found is None:
        return ()
    if isinstance(found, list):
        return found
    return (found,)


class StoryIndex:
    """Posts of the recent window, indexed for "which story does this post join?".

    ``find`` then ``add`` for each new post, in any date order; ``discard`` forgets a post
    (before re-indexing an edit); ``prune`` drops posts older than a date. ``containment``
    is the share of the shorter text's bigrams that must appear in the longer one.
    """

    def __init__(
        self,
        *,
        window: timedelta = timedelta(days=7),
        similarity: float = 0.7,
        containment: float = DEFAULT_CONTAINMENT,
        rewrite_threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError(f"dedupe window must be positive, got {window}")
        if not 0.0 < similarity <= 1.0:
            raise ValueError(f"dedupe similarity must be in (0, 1], got {similarity}")
        if not 0.0 < containment <= 1.0:
            raise ValueError(f"dedupe containment must be in (0, 1], got {containment}")
        self.window = window
        self.similarity = similarity
        self.containment = containment
        self.rewrite_threshold = rewrite_threshold
        # why the last ``find`` joined a story (None: it started a new one)
        self.last_join: Join | None = None
        # other stories the last ``find``'s post also matched (story → why): the post shows
        # they tell its story too; the ingest path links them (story ids never change)
        self.last_also: dict[int, Join] = {}
        self._window_s = window.total_seconds()
        self._entries: dict[tuple[int, int], _Entry] = {}  # post key → entry
        self._by_hash: dict[bytes, _Entry | list[_Entry]] = {}
        self._postings: dict[int, _Entry | list[_Entry]] = {}  # key → entries indexed under it
        # keys shared by more than POSTING_CAP posts (their lists are dropped) → how often the
        # anchored posts have them; the counts are kept only from the first ``discard`` on
        # (``_count_saturated``): an import only adds, and counting ~23 boilerplate keys a post
        # for a ``discard`` that never comes was a tenth of ``add``
        self._saturated: Counter[int] = Counter()
        self._counting = False
        self._saturations = 0  # how often a key joined or left ``_saturated``: see _live_keys
        self._origins: dict[tuple[int, int], _Entry | list[_Entry]] = {}  # forwarded key → forwards
        # ingest calls find(item) then add(item, ...): derive from the text once
        self._probe: _Probe | None = None
        self._last_ts: tuple[DedupeItem | None, float] = (None, 0.0)  # the last ``find``'s item and timestamp
        # the lowest word-level score (``_score``) beats the highest retelling score (1.0 / 10):
        # then a candidate with word-level evidence settles a lookup without the retelling pass
        self._rewrite_loses = min(similarity, containment * containment, similarity * SHORT_FLOOR) > REWRITE_SCORE_CAP / 10
        self._gist_holders: deque[_Entry] = deque()  # see _keep_gist
        self._rewrites_left = MAX_REWRITE  # retelling scorings left in the current lookup

    def __len__(self) -> int:
        return len(self._entries)

    def story_of(self, key: tuple[int, int]) -> int | None:
        """Story of an indexed post, else None."""
        entry = self._entries.get(key)
        return None if entry is None else entry.story

    def _probe_of(self, item: DedupeItem) -> _Probe:
        probe = self._probe
        # (find's item is a new one, with another key: no dataclass comparison for it)
        if probe is None or not (probe.item is item or (probe.item.key == item.key and probe.item == item)):
            probe = self._probe = _Probe(item)
        return probe

    def _copy_in_window(self, chash: bytes, ts: float) -> _Entry | None:
        """An exact copy (same canonical text) dated within the window of ``ts``."""
        window = self._window_s
        for entry in _bag_values(self._by_hash.get(chash)):
            if abs(entry.ts - ts) <= window:
                return entry
        return None

    def find(self, item: DedupeItem) -> int | None:
        """The story ``item`` joins, or None for a new story. An already indexed key
        returns its own story: ``discard`` it first to re-evaluate an edited post."""
        ts = _timestamp(item.date)
        self._last_ts = (item, ts)  # for ``add``, which ingest calls next with the same item
        self.last_join = None
        self.last_also = {}
        own = self._entries.get(item.key)
        if own is not None:
            return own.story

        # 1. forwards: of an indexed post, of a post others forwarded, or of a shared origin
        forward = _FORWARD
        if item.forward_origin is not None:
            story = self.story_of(item.forward_origin)
            if story is not None:
                self.last_join = forward
                return story
            for entry in _bag_values(self._origins.get(item.forward_origin)):
                self.last_join = forward
                return entry.story
        for entry in _bag_values(self._origins.get(item.key)):
            self.last_join = forward
            return entry.story

        if not item.text_norm or item.text_norm.isspace():
            return None

        # 2. identical canonical text
        probe = self._probe_of(item)
        copy = self._copy_in_window(probe.chash, ts)
        if copy is not None:
            self.last_join = _COPY
            return copy.story

        # 3. similarity / containment among candidates that share a key
        postings = self._postings
        common = postings.keys() & self._live_keys(probe)
        if not common:
            return None  # most new stories end here, having built no bigram set
        # A key few posts share says more than one many share: rank by summed rarity.
        hits: dict[_Entry, float] = {}
        get = hits.get
        for h in common:
            found = postings[h]
            if isinstance(found, list):
                weight = 1.0 / len(found)
                for entry in found:
                    hits[entry] = get(entry, 0.0) + weight
            else:
                hits[found] = get(found, 0.0) + 1.0
        candidates: Iterable[_Entry] = hits
        if len(hits) > MAX_VERIFY:
            candidates = sorted(hits, key=hits.__getitem__, reverse=True)[:MAX_VERIFY]
        return self._verify(probe, ts, candidates)

    def _verify(self, probe: _Probe, ts: float, candidates: Iterable[_Entry]) -> int | None:
        """The best of ``candidates`` for ``probe``: word-level evidence (similar, contained),
        else a retelling.

        When every word-level score beats every retelling score (``_rewrite_loses``: a
        retelling scores ``match.score / 10`` and ``rewrite_match`` caps its score at 1.0),
        the retelling checks wait until all candidates had the word-level check, and run only
        if none matched so: then they see the same candidates in the same order as inline
        checks would (spending ``MAX_REWRITE`` on the same ones) and decide the same. A
        skipped check could only have added a "rewrite" entry to ``last_also`` for another
        story, and ingest links stories on word-level evidence alone
        (``bot.storage.ingest.LINK_KINDS``)."""
        best_score = 0.0
        best: _Entry | None = None
        best_why: Join | None = None
        matched: dict[int, tuple[float, Join]] = {}

        def consider(entry: _Entry, score: float, why: Join | None) -> None:
            """Tally one candidate's verdict: the best per story, and the best overall
            (the earlier post on a tie)."""
            nonlocal best_score, best, best_why
            if score and why is not None and score > matched.get(entry.story, (0.0, why))[0]:
                matched[entry.story] = (score, why)
            if score > best_score or (score == best_score and best is not None and score and entry.ts < best.ts):
                best_score, best, best_why = score, entry, why

        window = self._window_s
        by_hash = self._by_hash
        # the probe's numbers when first a candidate is in the window (in an import of one
        # channel after another, most candidates of most lookups are not)
        numbers: frozenset[int | tuple[int, int]] | None | Literal[False] = _UNKNOWN
        self._rewrites_left = MAX_REWRITE
        deferred: list[tuple[_Entry, float]] | None = [] if self._rewrite_loses else None
        for entry in candidates:
            if abs(entry.ts - ts) > window:
                # the indexed copy is too old or new; an exact copy of it may be in range (most
                # posts have none: their hash's bag is the entry itself, which ``copied`` tells
                # without a look-up in the big table of hashes)
                if not entry.copied:
                    continue
                copies = by_hash.get(entry.chash)  # type: ignore[arg-type]  # indexed: chash set
                if copies is entry or copies is None:
                    continue
                in_window = self._copy_in_window(entry.chash, ts)  # type: ignore[arg-type]  # indexed: chash set
                if in_window is None:
                    continue
                entry = in_window
            if numbers is False:
                numbers = probe.numbers
            other = entry.numbers
            if other is False:
                other = entry.numbers = _numbers(entry.canon)
            score = 0.0
            why: Join | None = None
            # the number guard first: it needs no signature, and settles most candidates
            if numbers is None or other is None or numbers <= other or other <= numbers:
                score = _similar(probe.sig, _signature(entry.canon, other), self.similarity, self.containment)
                if score and names_conflict(probe.entities, frozenset(entry.entities)):
                    score = 0.0  # the same words about someone else ("WHO" / "UNESCO adopted...")
                if score:
                    why = Join("similar", round(min(score, 1.0), 3))
            if not score and probe.entities and entry.entities:
                gap_hours = (ts - entry.ts) / 3600
                if abs(gap_hours) <= MAX_GAP_HOURS:
                    if deferred is not None:
                        deferred.append((entry, gap_hours))
                        continue
                    score, why = self._retelling(probe, entry, gap_hours)
            if score:  # a zero score changes nothing (see consider)
                consider(entry, score, why)
        if deferred and best is None:
            for entry, gap_hours in deferred:
                score, why = self._retelling(probe, entry, gap_hours)
                if score:
                    consider(entry, score, why)
        self.last_join = best_why
        if best is not None:
            self.last_also = {story: why for story, (_, why) in matched.items() if story != best.story}
        return best.story if best is not None else None

    def _retelling(self, probe: _Probe, entry: _Entry, gap_hours: float) -> tuple[float, Join | None]:
        """A retelling's score and reason (0.0, None: not one); ``MAX_REWRITE`` scorings per lookup."""
        if not self._rewrites_left:
            return 0.0, None
        # other words, same facts (scored below any copy or containment); different figures
        # or dates settle it before the costlier scoring
        facts = entry.facts
        if facts is None:
            facts = entry.facts = _shared_facts(facts_of(entry.canon))
        if facts_conflict(probe.facts, facts):
            return 0.0, None
        self._rewrites_left -= 1
        match = self._rewrite(probe, entry, gap_hours)
        if match is not None and match.joined:
            return match.score / 10, Join("rewrite", match.score, match.shared_entities, match.shared_numbers)
        return 0.0, None

    def _rewrite(self, probe: _Probe, entry: _Entry, gap_hours: float) -> RewriteMatch | None:
        made = entry.gist
        if made is None:
            made = gist(entry.canon, frozenset(entry.entities), entry.facts)
            self._keep_gist(entry, made)
        return rewrite_match(probe.gist, made, gap_hours=gap_hours, threshold=self.rewrite_threshold)

    def _keep_gist(self, entry: _Entry, made: Gist) -> None:
        """Remember an entry's gist, for the ``GISTS_KEPT`` entries that got one last: a gist
        weighs ~15 kB and is rarely needed twice (a gist is derived again when it is)."""
        entry.gist = made
        holders = self._gist_holders
        holders.append(entry)
        if len(holders) > GISTS_KEPT:
            holders.popleft().gist = None

    def add(self, item: DedupeItem, story_id: int) -> None:
        """Index ``item`` under ``story_id``; adding a key again replaces its entry."""
        last, ts = self._last_ts
        if last is not item:
            ts = _timestamp(item.date)
        has_text = bool(item.text_norm) and not item.text_norm.isspace()
        old = self._entries.get(item.key)
        if old is not None:
            if (
                old.story == story_id
                and old.ts == ts
                and old.origin == item.forward_origin
                and old.chash == (self._probe_of(item).chash if has_text else None)
            ):
                return
            self.discard(item.key)
        entry = _Entry(item.key, ts, story_id, item.forward_origin)
        if has_text:
            probe = self._probe_of(item)
            entry.chash = probe.chash
            copy = self._any_copy(probe.chash)
            entry.entities = self._shared(probe.entities)
            if probe.built_gist is not None:  # scored as a retelling already: keep what it cost
                self._keep_gist(entry, probe.built_gist)
            entry.facts = probe._facts
            # the number guard's numbers, if ``find`` derived them: most posts compared with
            # others are compared again as candidates later
            numbers = probe._numbers
            if copy is not None:
                # same canonical text: same keys and guards; nothing to derive
                # (a bag of several entries: each was marked as it joined, or as it was alone)
                entry.copied = copy.copied = True
                if copy.numbers is False:
                    copy.numbers = numbers
                entry.canon, entry.numbers = copy.canon, copy.numbers
            else:
                entry.canon, entry.numbers = probe.canon, numbers
                live = probe.live_keys
                # find's filtering still holds if no key joined or left the saturated ones since
                self._anchor(probe.keys, entry, live[1] if live is not None and live[0] == self._saturations else None)
                entry.anchored = True
            _bag_add(self._by_hash, probe.chash, entry)
        self._entries[item.key] = entry
        if item.forward_origin is not None:
            _bag_add(self._origins, item.forward_origin, entry)

    def _shared(self, entities: frozenset[str]) -> tuple[str, ...]:
        """An entry's names: a tuple of interned strings. The index holds every post of the
        window, most naming the same few people and places, and a set of names per post
        was the largest part of its memory."""
        if not entities:
            return _NO_NAMES
        if len(_NAMES) >= _NAMES_REMEMBERED:
            _NAMES.clear()  # the recent names: starting over costs nothing but sharing
        # one object per name, like sys.intern, in a table of names only: small enough to
        # stay in the processor's cache, where the interpreter's table of every string is not
        known = _NAMES.setdefault
        return tuple(map(known, entities, entities))

    def _live_keys(self, probe: _Probe) -> Sequence[int]:
        """The probe's keys that are not saturated, in order: the only ones ``postings`` can
        have (a key is in one of the two or neither), found in ``_saturated`` (a few thousand
        keys, in the processor's cache) rather than looked up in ``_postings`` (hundreds of
        thousands: a cache miss each), and kept for ``add``'s ``_anchor`` of the same post,
        which would filter them again. Four in five of a post's keys are saturated in the
        bench's import."""
        saturated = self._saturated
        if not saturated:
            return probe.keys
        live = list(filterfalse(saturated.__contains__, probe.keys))
        probe.live_keys = (self._saturations, live)
        return live

    def _any_copy(self, chash: bytes) -> _Entry | None:
        for entry in _bag_values(self._by_hash.get(chash)):
            return entry
        return None

    def _anchor(self, keys: Sequence[int], entry: _Entry, live: Sequence[int] | None = None) -> None:
        """Index ``entry`` under ``keys``; ``live``: those of them not saturated now, if known."""
        # a key repeated in one post is indexed (and later removed) as often
        postings, saturated = self._postings, self._saturated
        if live is not None and not self._counting:
            keys = live
        elif saturated:
            # Most of a post's keys are boilerplate dropped already (four in five in the
            # bench's import): count those in C (once counting: see __init__), and walk only
            # the rest. Counts commute, and a key saturated by this very call is counted by the
            # loop, as before (before counting, the loop's counts are only placeholders).
            is_saturated = saturated.__contains__
            if self._counting:
                saturated.update(filter(is_saturated, keys))
            keys = list(filterfalse(is_saturated, keys))
        for h in keys:
            old = postings.get(h)
            if old is None:
                if h in saturated:
                    saturated[h] += 1
                else:
                    postings[h] = entry
            elif not isinstance(old, list):
                postings[h] = [old, entry]
            elif len(old) < POSTING_CAP:
                old.append(entry)
            else:
                # boilerplate: stop paying memory and lookup time for it
                del postings[h]
                saturated[h] = POSTING_CAP + 1
                self._saturations += 1

    def _count_saturated(self) -> None:
        """Start counting saturated keys: each one's occurrences among the anchored posts'
        keys, which is what ``_anchor`` and ``_unanchor`` would have kept (a key saturates
        with the ``POSTING_CAP`` + 1 occurrences anchored, each later anchoring adds one, each
        unanchoring takes one away, and it is dropped at none). Until the first ``discard``
        nothing was unanchored, so every saturated key is still some anchored post's. Once per
        index: one derivation of every anchored post's keys."""
        saturated = self._saturated
        is_saturated = saturated.__contains__
        counts: Counter[int] = Counter()
        for entry in self._entries.values():
            if entry.anchored:
                counts.update(filter(is_saturated, _anchored_keys(entry)))
        saturated.clear()
        saturated.update(counts)
        self._counting = True
        self._saturations += 1

    def _unanchor(self, keys: list[int], entry: _Entry) -> None:
        saturated = self._saturated
        for h in keys:
            count = saturated.get(h)
            if count is None:
                _bag_remove(self._postings, h, entry)
            elif count > 1:
                saturated[h] = count - 1
            else:
                del saturated[h]
                self._saturations += 1

    def discard(self, key: tuple[int, int]) -> None:
        """Forget a post; unknown keys are ignored."""
        entry = self._entries.get(key)
        if entry is None:
            return
        if entry.anchored and not self._counting:
            self._count_saturated()  # while the entry is still among the anchored ones
        del self._entries[key]
        if entry.chash is not None:
            _bag_remove(self._by_hash, entry.chash, entry)
        if entry.anchored:
            keys = _anchored_keys(entry)
            self._unanchor(keys, entry)
            entry.anchored = False
            # hand the keys to an exact copy that stays, if any
            for other in _bag_values(self._by_hash.get(entry.chash)):  # type: ignore[arg-type]  # indexed entries have a chash
                self._anchor(keys, other)
                other.anchored = True
                break
        if entry.origin is not None:
            _bag_remove(self._origins, entry.origin, entry)

    def prune(self, before: datetime) -> int:
        """Forget every post dated before ``before``; returns how many were dropped."""
        cutoff = _timestamp(before)
        old = [key for key, entry in self._entries.items() if entry.ts < cutoff]
        for key in old:
            self.discard(key)
        return len(old)
