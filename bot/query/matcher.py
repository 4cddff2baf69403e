"""Bulk matching: every subscription against every new story in one pass, for the digests.

The naive way runs each query on each post of each story. ``SubscriptionIndex`` instead
builds an inverted index of the batch -- for each word, hashtag and channel, the posts
holding it, as a bitset (a Python int, one bit per post) -- and evaluates each distinct
query tree once over those bitsets: an AND intersects its required terms (its anchors),
stopping as soon as nothing is left, then clears the bits of its exclusions; OR is a
union. Words, stems, prefixes, hashtags, channels and phrases are decided exactly by the
index (the batch indexes exactly the word sequences the subscriptions' phrases ask for);
stemmed phrases take the index's candidates (posts holding all their stems) and verify
each with the exact matcher (``Phrase.matches``).

Bits are laid out post-position-major (all first posts, then all second posts, ...), so
folding the layers onto each other turns "posts that match" into "stories with at least
one matching post" -- the same rule as ``bot.query.parser.story_matches``. The result is
identical to the naive loop (tests/query/test_matcher.py checks it on random data).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import compress
from typing import TypeVar

from bot.query.parser import (
    And,
    Channel,
    MatchDoc,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Query,
    Tag,
    Word,
    stem,
    stems_in,
    story_matches,
)

__all__ = ["MatchResult", "StorySet", "SubscriptionIndex", "naive_match"]

StoryId = int
_Key = TypeVar("_Key", str, tuple[str, ...])
_BITS = bytes.maketrans(b"01", b"\x00\x01")


class StorySet(AbstractSet[StoryId]):
    """The stories one chat matched, kept as the batch's bitset: building a Python set per
    chat would cost more than the whole matching (10,000 chats x ~1,000 stories each are
    ten million set insertions), while digests only ask "is this story in it?"."""

    __slots__ = ("_mask", "_batch")

    def __init__(self, mask: int, batch: _Batch) -> None:
        self._mask = mask
        self._batch = batch

    def __contains__(self, story_id: object) -> bool:
        bit = self._batch.position.get(story_id) if isinstance(story_id, int) else None
        return bit is not None and bool(self._mask >> bit & 1)

    def __iter__(self) -> Iterator[StoryId]:
        return iter(self._batch.story_set(self._mask))

    def __len__(self) -> int:
        return self._mask.bit_count()

    def __repr__(self) -> str:
        return f"StorySet({set(self)!r})"


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Stories per chat and per subscription; chats and subscriptions with none are absent."""

    by_chat: dict[int, AbstractSet[StoryId]]
    by_subscription: dict[int, frozenset[StoryId]]


def _mask(bits: list[int], nbytes: int) -> int:
    """An int with the given bit numbers set (linear time, unlike repeated ``|=``)."""
    buf = bytearray(nbytes)
    for b in bits:
        buf[b >> 3] |= 1 << (b & 7)
    return int.from_bytes(buf, "little")


class _Batch:
    """Bitset index of one batch of stories; leaf bitsets are built on first use."""

    def __init__(
        self,
        stories: Sequence[tuple[StoryId, Sequence[MatchDoc]]],
        *,
        phrases: dict[int, frozenset[tuple[str, ...]]],
    ) -> None:
        # Longest stories first, so layer k (the k-th posts) is a prefix of the story order.
        order = sorted((s for s in stories if len(s[1])), key=lambda s: len(s[1]), reverse=True)
        self.story_ids: list[StoryId] = [sid for sid, _ in order]
        self.position: dict[StoryId, int] = {sid: i for i, sid in enumerate(self.story_ids)}
        self.layers: list[tuple[int, int]] = []  # (bit offset, stories in the layer)
        self.docs: list[MatchDoc] = []  # by bit number
        words: dict[str, list[int]] = defaultdict(list)
        tags: dict[str, list[int]] = defaultdict(list)
        channels: dict[str, list[int]] = defaultdict(list)
        languages: dict[str | None, list[int]] = defaultdict(list)
        grams: dict[tuple[str, ...], list[int]] = defaultdict(list)
        lengths = sorted(phrases.items())
        depth = len(order[0][1]) if order else 0
        for k in range(depth):
            offset = len(self.docs)
            count = 0
            for i, (_, docs) in enumerate(order):
                if len(docs) <= k:
                    break
                count += 1
                bit = offset + i
                doc = docs[k]
                self.docs.append(doc)
                for w in doc.word_set:
                    words[w].append(bit)
                for t in doc.hashtags:
                    tags[t].append(bit)
                if doc.channel is not None:
                    channels[doc.channel].append(bit)
                languages[doc.language].append(bit)
                ws = doc.words
                for length, wanted in lengths:
                    if len(ws) < length:
                        break
                    # Only the word sequences some phrase asks for are kept.
                    for gram in wanted.intersection(zip(*(ws[i:] for i in range(length)), strict=False)):
                        grams[gram].append(bit)
            self.layers.append((offset, count))
        self.nbytes = (len(self.docs) + 7) // 8
        self.universe = (1 << len(self.docs)) - 1
        self._word_bits = words
        self._tag_bits = tags
        self._channel_bits = channels
        # Posts by language: a stemmed term is stemmed in each post's own language.
        self._languages = sorted(
            ((lang, _mask(bits, self.nbytes)) for lang, bits in languages.items()), key=lambda x: x[0] or ""
        )
        self._gram_bits = grams
        self._words: dict[str, int] = {}
        self._tags: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self._grams: dict[tuple[str, ...], int] = {}
        self._prefixes: dict[str, int] = {}
        self._stems: dict[tuple[str, str], int] = {}
        self._stem_groups: dict[str, dict[str, list[str]]] = {}
        self._phrases: dict[Phrase, int] = {}
        self._vocab: list[str] | None = None

    # --- leaves -------------------------------------------------------------------------

    def _cached(self, cache: dict[_Key, int], source: dict[_Key, list[int]], key: _Key) -> int:
        found = cache.get(key)
        if found is None:
            bits = source.get(key)
            found = cache[key] = _mask(bits, self.nbytes) if bits else 0
        return found

    def word(self, w: str) -> int:
        return self._cached(self._words, self._word_bits, w)

    def prefix(self, p: str) -> int:
        found = self._prefixes.get(p)
        if found is None:
            if self._vocab is None:
                self._vocab = sorted(self._word_bits)
            vocab = self._vocab
            bits: list[int] = []
            # Words sharing a prefix are contiguous in sorted order.
            for i in range(bisect.bisect_left(vocab, p), len(vocab)):
                if not vocab[i].startswith(p):
                    break
                bits.extend(self._word_bits[vocab[i]])
            found = self._prefixes[p] = _mask(bits, self.nbytes) if bits else 0
        return found

    def stem(self, s: str, language: str) -> int:
        found = self._stems.get((s, language))
        if found is None:
            groups = self._stem_groups.get(language)
            if groups is None:
                # Stem each distinct word of the batch once, not each occurrence.
                groups = defaultdict(list)
                for w in self._word_bits:
                    groups[stem(w, language)].append(w)
                self._stem_groups[language] = groups
            bits: list[int] = []
            for w in groups.get(s, ()):
                bits.extend(self._word_bits[w])
            found = self._stems[(s, language)] = _mask(bits, self.nbytes) if bits else 0
        return found

    def stemmed(self, words: tuple[str, ...], stems: tuple[str, ...], default: str) -> int:
        """Posts holding every one of ``words`` by stem, each post in its own language
        (posts of no known language: ``default``, the query's)."""
        out = 0
        for language, in_language in self._languages:
            language = language or default
            wanted = stems if language == default else stems_in(words, language)
            candidates = in_language
            for s in set(wanted):
                candidates &= self.stem(s, language)
                if not candidates:
                    break
            out |= candidates
        return out

    def phrase(self, node: Phrase) -> int:
        if node.language is None:
            if len(node.words) == 1:
                return self.word(node.words[0])
            return self._cached(self._grams, self._gram_bits, node.words)
        found = self._phrases.get(node)
        if found is None:
            assert node.stems is not None
            candidates = self.stemmed(node.words, node.stems, node.language)
            if candidates and len(node.stems) > 1:
                docs = self.docs
                verified = 0
                for bit in compress(range(len(docs)), _bit_flags(candidates)):
                    if node.matches(docs[bit]):
                        verified |= 1 << bit
                candidates = verified
            found = self._phrases[node] = candidates
        return found

    # --- trees ----------------------------------------------------------------------------

    def evaluate(self, node: Node) -> int:
        """Bitset of the posts ``node`` matches."""
        if isinstance(node, Word):
            if node.language is None:
                return self.word(node.value)
            assert node.stem is not None
            return self.stemmed((node.value,), (node.stem,), node.language)
        if isinstance(node, And):
            running = self.universe
            # Required terms first (they only ever shrink the set), exclusions after.
            for child in node.children:
                if not isinstance(child, Not):
                    running &= self.evaluate(child)
                    if not running:
                        return 0
            for child in node.children:
                if isinstance(child, Not):
                    running &= ~self.evaluate(child.child)
                    if not running:
                        return 0
            return running
        if isinstance(node, Or):
            out = 0
            for child in node.children:
                out |= self.evaluate(child)
            return out
        if isinstance(node, Tag):
            return self._cached(self._tags, self._tag_bits, node.value)
        if isinstance(node, Channel):
            return self._cached(self._channels, self._channel_bits, node.value)
        if isinstance(node, Prefix):
            return self.prefix(node.value)
        if isinstance(node, Phrase):
            return self.phrase(node)
        assert isinstance(node, Not)  # only inside And after parse_query; kept general
        return self.universe & ~self.evaluate(node.child)

    def stories_mask(self, posts: int) -> int:
        """Fold the post layers onto each other: bit i set if any post of story i is."""
        out = 0
        for offset, count in self.layers:
            layer = posts >> offset
            if not layer:
                break
            out |= layer & ((1 << count) - 1)
        return out

    def story_set(self, stories: int) -> set[StoryId]:
        ids = self.story_ids
        if stories.bit_count() * 16 > len(ids):
            return set(compress(ids, _bit_flags(stories)))
        # Sparse: jump from one set bit to the next in the binary string instead.
        digits = bin(stories)
        top = len(digits) - 1
        out = set()
        j = digits.find("1", 2)
        while j >= 0:
            out.add(ids[top - j])
            j = digits.find("1", j + 1)
        return out


def _bit_flags(mask: int) -> bytes:
    """One byte per bit, lowest bit first: 1 where set, 0 where not (for ``compress``)."""
    return bin(mask)[:1:-1].encode("ascii").translate(_BITS)


def _collect_phrases(node: Node, out: dict[int, set[tuple[str, ...]]]) -> None:
    """Word sequences of the exact multi-word phrases in ``node``, by length."""
    if isinstance(node, Phrase):
        if node.language is None and len(node.words) > 1:
            out[len(node.words)].add(node.words)
    elif isinstance(node, (And, Or)):
        for child in node.children:
            _collect_phrases(child, out)
    elif isinstance(node, Not):
        _collect_phrases(node.child, out)


class SubscriptionIndex:
    """Many subscriptions, compiled once, matched against batches of stories.

    Identical query trees (however they were spelled) are evaluated once per batch and
    fanned out to every subscription holding them.
    """

    def __init__(self, subscriptions: Iterable[tuple[int, int, Query]]) -> None:
        roots: dict[Node, int] = {}
        holders: list[list[int]] = []  # subscription ids per distinct tree
        chats: dict[int, set[int]] = defaultdict(set)  # distinct trees per chat
        phrases: dict[int, set[tuple[str, ...]]] = defaultdict(set)
        count = 0
        for subscription_id, chat_id, query in subscriptions:
            number = roots.get(query.root)
            if number is None:
                number = roots[query.root] = len(holders)
                holders.append([])
                _collect_phrases(query.root, phrases)
            holders[number].append(subscription_id)
            chats[chat_id].add(number)
            count += 1
        self._trees = list(roots)
        self._holders = holders
        self._chats = {chat: tuple(sorted(numbers)) for chat, numbers in chats.items()}
        self._phrases = {length: frozenset(p) for length, p in phrases.items()}
        self._count = count

    def __len__(self) -> int:
        return self._count

    @property
    def distinct_queries(self) -> int:
        return len(self._trees)

    def _evaluate(self, stories: Sequence[tuple[StoryId, Sequence[MatchDoc]]]) -> tuple[_Batch, list[int]]:
        batch = _Batch(stories, phrases=self._phrases)
        if not batch.docs:
            return batch, [0] * len(self._trees)
        return batch, [batch.stories_mask(batch.evaluate(tree)) for tree in self._trees]

    def match(self, stories: Sequence[tuple[StoryId, Sequence[MatchDoc]]]) -> dict[int, AbstractSet[StoryId]]:
        """Story ids per chat id (chats with no match are absent)."""
        batch, masks = self._evaluate(stories)
        return self._by_chat(batch, masks)

    def match_subscriptions(
        self, stories: Sequence[tuple[StoryId, Sequence[MatchDoc]]]
    ) -> dict[int, frozenset[StoryId]]:
        """Story ids per subscription id (subscriptions with no match are absent)."""
        batch, masks = self._evaluate(stories)
        return self._by_subscription(batch, masks)

    def match_all(self, stories: Sequence[tuple[StoryId, Sequence[MatchDoc]]]) -> MatchResult:
        """Both views of one evaluation."""
        batch, masks = self._evaluate(stories)
        return MatchResult(self._by_chat(batch, masks), self._by_subscription(batch, masks))

    def match_with_queries(
        self, stories: Sequence[tuple[StoryId, Sequence[MatchDoc]]]
    ) -> tuple[dict[int, AbstractSet[StoryId]], dict[Node, AbstractSet[StoryId]]]:
        """Story ids per chat, and per distinct query tree (``Query.root``) -- what the
        digests need to know which of a chat's queries a story matched, for highlighting,
        without running the query again. Both views share the batch's bitsets."""
        batch, masks = self._evaluate(stories)
        by_tree: dict[Node, AbstractSet[StoryId]] = {
            tree: StorySet(mask, batch) for tree, mask in zip(self._trees, masks, strict=True) if mask
        }
        return self._by_chat(batch, masks), by_tree

    def _by_chat(self, batch: _Batch, masks: list[int]) -> dict[int, AbstractSet[StoryId]]:
        out: dict[int, AbstractSet[StoryId]] = {}
        for chat, numbers in self._chats.items():
            mask = 0
            for n in numbers:
                mask |= masks[n]
            if mask:
                out[chat] = StorySet(mask, batch)
        return out

    def _by_subscription(self, batch: _Batch, masks: list[int]) -> dict[int, frozenset[StoryId]]:
        out: dict[int, frozenset[StoryId]] = {}
        for mask, holders in zip(masks, self._holders, strict=True):
            if mask:
                shared = frozenset(batch.story_set(mask))  # immutable, so holders can share it
                for subscription_id in holders:
                    out[subscription_id] = shared
        return out


def naive_match(
    subscriptions: Iterable[tuple[int, int, Query]],
    stories: Sequence[tuple[StoryId, Sequence[MatchDoc]]],
) -> MatchResult:
    """Every subscription against every story with the exact matcher: the reference."""
    by_chat: dict[int, set[StoryId]] = {}
    by_subscription: dict[int, set[StoryId]] = {}
    for subscription_id, chat_id, query in subscriptions:
        for story_id, docs in stories:
            if story_matches(query, docs):
                by_subscription.setdefault(subscription_id, set()).add(story_id)
                by_chat.setdefault(chat_id, set()).add(story_id)
    return MatchResult(dict(by_chat.items()), {k: frozenset(v) for k, v in by_subscription.items()})
