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

Scaling: each text becomes a set of hashed word bigrams (its signature; words get CRC-32
ids, so everything is the same in every run). The index keeps, per post, an ``array`` of
those hashes (not the text) and a few *anchors*: every hash whose low bits are zero (one in
``SAMPLE_RATE``: the same bigrams are picked in every post, so a contained part shares
them), the smallest hash, and the first and last bigram (a repeated head or tail line).
Texts of at most ``FULL_ANCHOR`` bigrams are anchored under all of them. An exact copy of
an indexed text derives nothing: it shares the first copy's signature and anchors.
``find`` looks up all bigrams of the new post among the anchors (an anchor shared by more
than ``POSTING_CAP`` posts is boilerplate and dropped), keeps candidates whose shared
anchors could reach the thresholds, verifies the best ``MAX_VERIFY`` exactly against their
stored signature and applies the guards. Work per post is bounded by its own length, not
by the size of the index, so an import scales linearly. Recall limit of the sampling: a
short fragment (under ~25 words) from the middle of a long post may share no anchor.

Nothing here does I/O; ``StoryIndex`` is an in-memory structure the ingest path fills
from the database for the window it needs. It raises ``ValueError`` for naive datetimes
or a non-positive window; everything else is total.
"""

from __future__ import annotations

import hashlib
import re
import sys
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zlib import crc32

__all__ = [
    "DedupeItem",
    "StoryIndex",
    "canonical",
    "content_hash",
    "same_story",
]

MIN_WORDS = 4  # below this a text is too short to say anything by similarity
SHORT_WORDS = 40  # at most this many words: the name guard applies
SAMPLE_RATE = 8  # one bigram in this many (by hash) is an anchor (finds contained parts)
FULL_ANCHOR = 40  # texts with at most this many bigrams are anchored under all of them
POSTING_CAP = 48  # an anchor shared by more posts than this is boilerplate: dropped
VISIT_BUDGET = 384  # posting entries visited per lookup at most (keeps the worst case flat)
MAX_VERIFY = 8  # candidates verified exactly per lookup, most shared anchors first
PREFILTER = 0.25  # a candidate's estimated overlap must reach this share of what a match needs
DEFAULT_CONTAINMENT = 0.85
SHORT_FLOOR = 0.55  # short texts compared by content words need this much bigram overlap too

_SAMPLE_MASK = SAMPLE_RATE - 1  # SAMPLE_RATE must be a power of two

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
        found = _TRAILER.search(text, cut)
        if found is None:
            break
        text = text[: found.start()].rstrip()
    if "/" in text or _BARE_DOMAIN_HINT.search(text):
        text = _SPACES.sub(" ", _LINK.sub(" ", text)).strip()
    return text or text_norm.strip()


def content_hash(text_norm: str) -> str:
    """Hex digest of the canonical form: equal for copies that differ only in credit,
    trailer or links; stable across runs and machines."""
    return hashlib.blake2b(canonical(text_norm).encode(), digest_size=16).hexdigest()


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


_NEGATION_IDS = frozenset(crc32(w.encode()) + 1 for w in _NEGATIONS)  # first occurrence, as in names


def _word_ids(tokens: list[str]) -> list[int]:
    """Stable 32-bit ids of words (CRC-32): same in every run, no vocabulary to keep."""
    return list(map(crc32, map(str.encode, tokens)))


@dataclass(frozen=True, slots=True)
class _Signature:
    chash: bytes
    nwords: int
    shingles: frozenset[int]  # hashed word bigrams of the canonical text
    numbers: frozenset[str] | None  # digit runs as a multiset ("7#1", "7#2"); None: none
    names: frozenset[int] | None  # content words (id + occurrence number), short texts only
    ends: tuple[int, int] = (0, 0)  # first and last bigram: a repeated head or tail shares one


_TOKEN = re.compile(r"\w+")
# For ASCII text, mapping every non-word character to a space and splitting gives the same
# tokens as ``_TOKEN.findall`` at a third of the cost (str.translate has an ASCII fast path).
_ASCII_BREAKS = str.maketrans({c: " " for c in map(chr, range(128)) if not re.match(r"[\w\s]", c)})


def _tokens(text: str) -> list[str]:
    return text.translate(_ASCII_BREAKS).split() if text.isascii() else _TOKEN.findall(text)


def _head(text_norm: str) -> tuple[str, bytes]:
    """Canonical text and its digest: all an exact copy needs."""
    canon = canonical(text_norm)
    return canon, hashlib.blake2b(canon.encode(), digest_size=16).digest()


def _signature(text_norm: str, head: tuple[str, bytes] | None = None) -> _Signature:
    canon, chash = head or _head(text_norm)
    toks = _tokens(canon)
    nwords = len(toks)
    if nwords < MIN_WORDS:
        return _Signature(chash, nwords, frozenset(), None, None)
    ids = _word_ids(toks)
    # tuple hashes of ints are deterministic in CPython (no hash randomisation for ints)
    shingles = frozenset(map(hash, zip(ids, ids[1:], strict=False)))
    ends = (hash((ids[0], ids[1])), hash((ids[-2], ids[-1])))
    numbers = None
    # digits hide only in tokens that are not all letters: few per post
    mixed = None if "".join(toks).isalpha() else [t for t in toks if not t.isalpha()]
    if mixed:
        digits = _DIGITS.findall(" ".join(mixed))
        if digits:
            # a multiset (each number tagged with its occurrence), so "10-11 ... 13" →
            # "13-11 ... 13" still shows a number replaced
            seen: dict[str, int] = {}
            tagged = []
            for d in digits:
                d = d.lstrip("0") or "0"
                seen[d] = count = seen.get(d, 0) + 1
                tagged.append(f"{d}#{count}")
            numbers = frozenset(map(sys.intern, tagged))  # "2025#1" recurs in many posts
    names = None
    if nwords <= SHORT_WORDS:
        # a multiset again (id + occurrence number): "bank ... the bank's" → "Jakarta ... the
        # bank's" must still show "bank" replaced
        counts: dict[int, int] = {}
        for w, wid in zip(toks, ids, strict=True):
            if w not in _STOPWORDS and (w.isalpha() or not _DIGITS.search(w)):
                counts[wid] = counts.get(wid, 0) + 1
        names = frozenset(wid + k for wid, n in counts.items() for k in range(1, n + 1))
    return _Signature(chash, nwords, shingles, numbers, names, ends)


def _anchors(shingles: Iterable[int], n: int, ends: tuple[int, int]) -> Iterable[int]:
    """The hashes a post is indexed under; a pure function of its bigrams."""
    if n <= FULL_ANCHOR:
        return shingles
    found = {h for h in shingles if not h & _SAMPLE_MASK}
    found.add(min(shingles))  # at least one anchor, even when sampling picks none
    found.update(ends)  # a short repeat of the post's first or last line shares one
    return found


def _guards_pass(
    a_numbers: frozenset[str] | None,
    a_names: frozenset[int] | None,
    b_numbers: frozenset[str] | None,
    b_names: frozenset[int] | None,
) -> bool:
    """False when the two texts state different numbers, or (short texts) different names
    or opposite polarity ("resume" vs "do not resume")."""
    if (
        a_numbers is not None
        and b_numbers is not None
        and a_numbers - b_numbers
        and b_numbers - a_numbers
    ):
        return False
    if a_names is not None and b_names is not None:
        if a_names - b_names and b_names - a_names:
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
) -> bool:
    """Whether two normalised texts tell one story by content alone (no time, no forwards).

    The pairwise rule ``StoryIndex`` applies to its candidates; for tests and tuning.
    """
    a, b = _signature(a_norm), _signature(b_norm)
    if a.chash == b.chash:
        return bool(a_norm.strip())
    if not a.shingles or not b.shingles:
        return False
    if not _guards_pass(a.numbers, a.names, b.numbers, b.names):
        return False
    inter = len(a.shingles & b.shingles)
    score = _score(
        inter, len(a.shingles), len(b.shingles), a.nwords, b.nwords, a.names, b.names,
        similarity, containment,
    )
    return score > 0.0


# --- the index ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DedupeItem:
    """What dedupe needs of a post; ``text_norm`` is ``bot.normalise.normalise(post.text)``."""

    key: tuple[int, int]  # (channel_id, message_id)
    date: datetime  # aware UTC
    text_norm: str
    forward_origin: tuple[int, int] | None = None


class _Entry:
    """One indexed post. ``sig`` is shared with the post's exact copies; ``anchored`` says
    whether this copy is the one indexed under the anchors."""

    __slots__ = (
        "key", "ts", "story", "chash", "sig", "ends", "nwords", "numbers", "names", "origin", "anchored",
    )

    def __init__(
        self,
        key: tuple[int, int],
        ts: float,
        story: int,
        chash: bytes | None,
        sig: array | None,
        nwords: int,
        numbers: frozenset[str] | None,
        names: frozenset[int] | None,
        origin: tuple[int, int] | None,
    ) -> None:
        self.key = key
        self.ts = ts
        self.story = story
        self.chash = chash
        self.sig = sig
        self.ends = (0, 0)
        self.nwords = nwords
        self.numbers = numbers
        self.names = names
        self.origin = origin
        self.anchored = False


def _timestamp(when: datetime) -> float:
    if when.tzinfo is None:
        raise ValueError(f"dedupe needs timezone-aware datetimes, got naive {when.isoformat()}")
    return when.timestamp()


def _bag_add(bag: dict, key: object, value: int) -> None:
    """Multimap with the single-value case stored bare: most keys have one value, and a
    list per key would triple the memory of the index. Values are fresh ids, never repeated."""
    old = bag.get(key)
    if old is None:
        bag[key] = value
    elif type(old) is int:
        bag[key] = [old, value]
    else:
        old.append(value)


def _bag_remove(bag: dict, key: object, value: int) -> None:
    old = bag.get(key)
    if old is None:
        return
    if type(old) is int:
        if old == value:
            del bag[key]
        return
    try:
        old.remove(value)
    except ValueError:
        return
    if len(old) == 1:
        bag[key] = old[0]


def _bag_values(found: object) -> Iterable[int]:
    if found is None:
        return ()
    if type(found) is int:
        return (found,)
    return found  # type: ignore[return-value]


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
        self._window_s = window.total_seconds()
        self._need = min(similarity, containment) * PREFILTER
        self._entries: dict[int, _Entry] = {}  # internal id → entry
        self._ids: dict[tuple[int, int], int] = {}  # post key → internal id
        self._by_hash: dict[bytes, int | list[int]] = {}
        self._postings: dict[int, int | list[int]] = {}  # anchor → internal id(s)
        # anchors shared by more than POSTING_CAP posts → how many; their lists are dropped
        self._saturated: dict[int, int] = {}
        self._origins: dict[tuple[int, int], int | list[int]] = {}  # forwarded key → forwards
        self._next_id = 0
        # ingest calls find(item) then add(item, ...): derive from the text once
        self._last_item: DedupeItem | None = None
        self._last_head: tuple[str, bytes] = ("", b"")
        self._last_sig: _Signature | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def story_of(self, key: tuple[int, int]) -> int | None:
        """Story of an indexed post, else None."""
        iid = self._ids.get(key)
        return None if iid is None else self._entries[iid].story

    def _head(self, item: DedupeItem) -> tuple[str, bytes]:
        last = self._last_item
        if last is not None and (last is item or last == item):
            return self._last_head
        self._last_item, self._last_head, self._last_sig = item, _head(item.text_norm), None
        return self._last_head

    def _sig(self, item: DedupeItem) -> _Signature:
        head = self._head(item)
        if self._last_sig is None:
            self._last_sig = _signature(item.text_norm, head)
        return self._last_sig

    def _copy_in_window(self, chash: bytes, ts: float) -> _Entry | None:
        """An exact copy (same canonical text) dated within the window of ``ts``."""
        window = self._window_s
        for iid in _bag_values(self._by_hash.get(chash)):
            entry = self._entries[iid]
            if abs(entry.ts - ts) <= window:
                return entry
        return None

    def find(self, item: DedupeItem) -> int | None:
        """The story ``item`` joins, or None for a new story. An already indexed key
        returns its own story: ``discard`` it first to re-evaluate an edited post."""
        ts = _timestamp(item.date)
        own = self._ids.get(item.key)
        if own is not None:
            return self._entries[own].story
        entries = self._entries

        # 1. forwards: of an indexed post, of a post others forwarded, or of a shared origin
        if item.forward_origin is not None:
            story = self.story_of(item.forward_origin)
            if story is not None:
                return story
            for iid in _bag_values(self._origins.get(item.forward_origin)):
                return entries[iid].story
        for iid in _bag_values(self._origins.get(item.key)):
            return entries[iid].story

        if not item.text_norm or item.text_norm.isspace():
            return None

        # 2. identical canonical text
        copy = self._copy_in_window(self._head(item)[1], ts)
        if copy is not None:
            return copy.story
        sig = self._sig(item)
        if not sig.shingles:
            return None

        # 3. similarity / containment among candidates that share an anchor
        postings = self._postings
        flat: list[int] = []
        for h in postings.keys() & sig.shingles:
            found = postings[h]
            if type(found) is int:
                flat.append(found)
            else:
                flat.extend(found)  # type: ignore[arg-type]
                if len(flat) >= VISIT_BUDGET:
                    break
        if not flat:
            return None
        hits = Counter(flat)
        n = len(sig.shingles)
        # Against a long post only one bigram in SAMPLE_RATE is an anchor, so a real match
        # shares several; a single shared anchor is a boilerplate phrase. Short posts are
        # anchored under every bigram: one shared bigram is never a match either.
        small = n <= FULL_ANCHOR  # a short fragment of a long post may share one anchor only
        survivors = list(hits) if small else [iid for iid, count in hits.items() if count > 1]
        entries = self._entries
        need = self._need
        plausible = []
        for iid in survivors:
            count = hits[iid]
            m = len(entries[iid].sig)  # type: ignore[arg-type]
            estimate = count if m <= FULL_ANCHOR else count * SAMPLE_RATE
            if estimate >= need * (n if n < m else m):
                plausible.append((count, iid))
        if not plausible:
            return None
        if len(plausible) > MAX_VERIFY:
            plausible.sort(reverse=True)
            del plausible[MAX_VERIFY:]
        return self._verify(sig, ts, [iid for _, iid in plausible])

    def _verify(self, sig: _Signature, ts: float, candidates: list[int]) -> int | None:
        shingles = sig.shingles
        n = len(shingles)
        best_score = 0.0
        best: _Entry | None = None
        for iid in candidates:
            entry = self._entries[iid]
            if abs(entry.ts - ts) > self._window_s:
                # the anchored copy is too old or new; an exact copy of it may be in range
                entry = self._copy_in_window(entry.chash, ts)  # type: ignore[arg-type, assignment]
                if entry is None:
                    continue
            if not _guards_pass(sig.numbers, sig.names, entry.numbers, entry.names):
                continue
            other = entry.sig
            inter = len(shingles.intersection(other))  # type: ignore[arg-type]
            score = _score(
                inter, n, len(other), sig.nwords, entry.nwords, sig.names, entry.names,  # type: ignore[arg-type]
                self.similarity, self.containment,
            )
            if score > best_score or (score == best_score and best is not None and score and entry.ts < best.ts):
                best_score, best = score, entry
        return best.story if best is not None else None

    def add(self, item: DedupeItem, story_id: int) -> None:
        """Index ``item`` under ``story_id``; adding a key again replaces its entry."""
        ts = _timestamp(item.date)
        has_text = bool(item.text_norm) and not item.text_norm.isspace()
        old = self._ids.get(item.key)
        if old is not None:
            entry = self._entries[old]
            if (
                entry.story == story_id
                and entry.ts == ts
                and entry.origin == item.forward_origin
                and entry.chash == (self._head(item)[1] if has_text else None)
            ):
                return
            self.discard(item.key)
        iid = self._next_id
        self._next_id += 1
        entry = _Entry(item.key, ts, story_id, None, None, 0, None, None, item.forward_origin)
        if has_text:
            chash = self._head(item)[1]
            copy = self._any_copy(chash)
            if copy is not None:
                # same canonical text: same signature, anchors and guards; nothing to derive
                entry.chash, entry.nwords, entry.numbers, entry.names = chash, copy.nwords, copy.numbers, copy.names
                entry.sig, entry.ends = copy.sig, copy.ends
                _bag_add(self._by_hash, chash, iid)
                self._entries[iid] = entry
                self._ids[item.key] = iid
                if item.forward_origin is not None:
                    _bag_add(self._origins, item.forward_origin, iid)
                return
            sig = self._sig(item)
            entry.chash, entry.nwords = sig.chash, sig.nwords
            entry.numbers, entry.names = sig.numbers, sig.names
            if sig.shingles:
                entry.ends = sig.ends
                entry.sig = array("q", list(sig.shingles))  # from a list: the fast path
                self._anchor(entry.sig, sig.ends, iid)
                entry.anchored = True
            _bag_add(self._by_hash, sig.chash, iid)
        self._entries[iid] = entry
        self._ids[item.key] = iid
        if item.forward_origin is not None:
            _bag_add(self._origins, item.forward_origin, iid)

    def _any_copy(self, chash: bytes) -> _Entry | None:
        for iid in _bag_values(self._by_hash.get(chash)):
            return self._entries[iid]
        return None

    def _anchor(self, shingles: array, ends: tuple[int, int], iid: int) -> None:
        postings, saturated = self._postings, self._saturated
        for h in _anchors(shingles, len(shingles), ends):
            old = postings.get(h)
            if old is None:
                if h in saturated:
                    saturated[h] += 1
                else:
                    postings[h] = iid
            elif type(old) is int:
                postings[h] = [old, iid]
            elif len(old) < POSTING_CAP:  # type: ignore[arg-type]
                old.append(iid)  # type: ignore[union-attr]
            else:
                # boilerplate: stop paying memory and lookup time for it
                del postings[h]
                saturated[h] = POSTING_CAP + 1

    def _unanchor(self, shingles: array, ends: tuple[int, int], iid: int) -> None:
        saturated = self._saturated
        for h in _anchors(shingles, len(shingles), ends):
            count = saturated.get(h)
            if count is None:
                _bag_remove(self._postings, h, iid)
            elif count > 1:
                saturated[h] = count - 1
            else:
                del saturated[h]

    def discard(self, key: tuple[int, int]) -> None:
        """Forget a post; unknown keys are ignored."""
        iid = self._ids.pop(key, None)
        if iid is None:
            return
        entry = self._entries.pop(iid)
        if entry.chash is not None:
            _bag_remove(self._by_hash, entry.chash, iid)
        if entry.anchored and entry.sig is not None:
            self._unanchor(entry.sig, entry.ends, iid)
            # hand the anchors to an exact copy that stays, if any
            for other in _bag_values(self._by_hash.get(entry.chash)):  # type: ignore[arg-type]
                self._anchor(entry.sig, entry.ends, other)
                self._entries[other].anchored = True
                break
        if entry.origin is not None:
            _bag_remove(self._origins, entry.origin, iid)

    def prune(self, before: datetime) -> int:
        """Forget every post dated before ``before``; returns how many were dropped."""
        cutoff = _timestamp(before)
        old = [entry.key for entry in self._entries.values() if entry.ts < cutoff]
        for key in old:
            self.discard(key)
        return len(old)
