"""A frozen copy of ``bot.stories.dedupe``'s story index as it stood before issue 14's
index work (main e4e98c5): the reference ``tests/stories/test_index_fast_paths.py`` holds
the optimised ``StoryIndex`` to. Do not optimise or restyle this file; it only changes if
the index's *decisions* are meant to change (then both change together).

The pure helpers (keys, signatures, guards, facts) are imported from the product: their own
fast paths have their own equivalence tests (test_fast_paths.py, test_writer_fast_paths.py).
"""
# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from bot.stories.dedupe import (
    DEFAULT_CONTAINMENT,
    GISTS_KEPT,
    MAX_REWRITE,
    MAX_VERIFY,
    POSTING_CAP,
    REWRITE_SCORE_CAP,
    SHORT_FLOOR,
    DedupeItem,
    Join,
    _entity_keys,
    _head,
    _keys,
    _numbers,
    _signature,
    _similar,
)
from bot.stories.similarity import (
    DEFAULT_THRESHOLD,
    MAX_GAP_HOURS,
    Gist,
    RewriteMatch,
    entities_of,
    facts_conflict,
    facts_of,
    gist,
    names_conflict,
    rewrite_match,
)

class _Entry:
    """One indexed post. ``canon`` (its canonical text, from which its keys and signature
    are derived again when needed: cheaper to keep than either) and ``numbers`` are shared
    with the post's exact copies (``numbers`` is False until first needed); ``anchored`` is set on the one copy indexed under the keys."""

    __slots__ = ("key", "ts", "story", "chash", "canon", "numbers", "origin", "anchored", "entities", "facts", "gist")

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
        # its names (``entities_of``) as a tuple: a seventh of a set's memory; made a set again
        # for the rare comparison that needs one
        self.entities: tuple[str, ...] = ()
        self.facts: frozenset[tuple[str, str]] | None = None  # derived on first use, like numbers
        self.gist: Gist | None = None  # built when first a candidate for a rewrite


class _Probe:
    """What ``find`` and then ``add`` derive from one new post; the signature only if a
    candidate passes the number guard."""

    __slots__ = ("item", "canon", "chash", "_keys", "_numbers", "_sig", "entities", "_facts", "_gist")

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


# One object per fact ("date", "3") across the index: entries' facts share their tuples, and
# comparing two posts' facts (``facts_conflict``, several times per post) finds equal facts
# by identity instead of reading both tuples and their strings from memory.
_FACTS: dict[tuple[str, str], tuple[str, str]] = {}
_FACTS_REMEMBERED = 1 << 16


def _shared_facts(facts: frozenset[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    if len(_FACTS) >= _FACTS_REMEMBERED:
        _FACTS.clear()  # the recent facts: starting over costs nothing but sharing
    known = _FACTS.setdefault
    return frozenset([known(fact, fact) for fact in facts])


def _timestamp(when: datetime) -> float:
    if when.tzinfo is None:
        raise ValueError(f"dedupe needs timezone-aware datetimes, got naive {when.isoformat()}")
    return when.timestamp()


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
        # keys shared by more than POSTING_CAP posts → how many; their lists are dropped
        self._saturated: dict[int, int] = {}
        self._origins: dict[tuple[int, int], _Entry | list[_Entry]] = {}  # forwarded key → forwards
        # ingest calls find(item) then add(item, ...): derive from the text once
        self._probe: _Probe | None = None
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
        if probe is None or not (probe.item is item or probe.item == item):
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
        self.last_join = None
        self.last_also = {}
        own = self._entries.get(item.key)
        if own is not None:
            return own.story

        # 1. forwards: of an indexed post, of a post others forwarded, or of a shared origin
        forward = Join("forward")
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
            self.last_join = Join("copy")
            return copy.story

        # 3. similarity / containment among candidates that share a key
        postings = self._postings
        common = postings.keys() & probe.keys
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
        numbers = probe.numbers
        self._rewrites_left = MAX_REWRITE
        deferred: list[tuple[_Entry, float]] | None = [] if self._rewrite_loses else None
        for entry in candidates:
            if abs(entry.ts - ts) > window:
                # the indexed copy is too old or new; an exact copy of it may be in range
                entry = self._copy_in_window(entry.chash, ts)  # type: ignore[arg-type, assignment]  # indexed: chash set; None skipped
                if entry is None:
                    continue
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
            consider(entry, score, why)
        if deferred and best is None:
            for entry, gap_hours in deferred:
                consider(entry, *self._retelling(probe, entry, gap_hours))
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
            if copy is not None:
                # same canonical text: same keys and guards; nothing to derive
                entry.canon, entry.numbers = copy.canon, copy.numbers
            else:
                entry.canon = probe.canon
                self._anchor(probe.keys, entry)
                entry.anchored = True
            _bag_add(self._by_hash, probe.chash, entry)
        self._entries[item.key] = entry
        if item.forward_origin is not None:
            _bag_add(self._origins, item.forward_origin, entry)

    def _shared(self, entities: frozenset[str]) -> tuple[str, ...]:
        """An entry's names: a tuple of interned strings. The index holds every post of the
        window, most naming the same few people and places, and a set of names per post
        was the largest part of its memory."""
        return tuple(map(sys.intern, entities)) if entities else _NO_NAMES

    def _any_copy(self, chash: bytes) -> _Entry | None:
        for entry in _bag_values(self._by_hash.get(chash)):
            return entry
        return None

    def _anchor(self, keys: Sequence[int], entry: _Entry) -> None:
        # a key repeated in one post is indexed (and later removed) as often
        postings, saturated = self._postings, self._saturated
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

    def discard(self, key: tuple[int, int]) -> None:
        """Forget a post; unknown keys are ignored."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        if entry.chash is not None:
            _bag_remove(self._by_hash, entry.chash, entry)
        if entry.anchored:
            keys = _keys(entry.canon) + _entity_keys(frozenset(entry.entities))
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
