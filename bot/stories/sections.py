"""Built-in news sections: every post sorted into one section (or none), and news or not.

The sections are the ones readers of news aggregators expect (those of Telegram's news
clustering contest): Society, Economy, Technology, Sports, Entertainment, Science. A post
in none of them is shown under "Other"; a post that is not news at all (advertising,
promotions, how-to guides, listicles, greetings) is marked ``news=False``.

The classifier is multinomial naive Bayes over word stems and word prefixes, in Russian
and English at once (each word is stemmed by the stemmer of its own script, so a post
mixing both works). It is trained by ``scripts/train_sections.py`` (``make train``) on
hand-written labelled posts and bilingual lexicons in ``datasets/sections/``, and ships as
``sections_model.json`` next to this module. Pure: no I/O beyond reading that file once.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import snowballstemmer

from bot.core.caches import remember
from bot.core.models import SECTIONS

__all__ = [
    "LABELS",
    "MODEL_PATH",
    "NOT_NEWS",
    "OTHER",
    "SECTIONS",
    "SectionModel",
    "Verdict",
    "features",
    "majority_section",
    "section_model",
]

OTHER = "Other"  # news in none of the sections
NOT_NEWS = "not news"
LABELS = (*SECTIONS, OTHER, NOT_NEWS)  # the classes the model scores, in this order
MODEL_PATH = Path(__file__).with_name("sections_model.json")

# The topic of a news post is in its first lines; a long post's tail adds time, not signal.
MAX_TOKENS = 48
PREFIX_LENGTH = 5
# Calling news "not news" hides it from every digest, the costlier mistake, so a post is
# not news only when that beats its best news label by this much (log-probability). Chosen
# on the dev split, plain and with channel footers added: 5.0 hid 15 news posts of ~2,450
# where 3.0 hid 21, with the same accuracy.
NOT_NEWS_MARGIN = 5.0
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the classifier says of one post."""

    section: str | None  # one of SECTIONS, or None ("Other")
    news: bool


_NO_TEXT = Verdict(section=None, news=True)  # media without a caption: nothing to judge
# The few verdicts there are, made once (a frozen dataclass costs ~1 µs to build).
_NOT_NEWS = Verdict(section=None, news=False)
_NEWS_IN = {section: Verdict(section=section, news=True) for section in SECTIONS}


class _WordFeatures:
    """A word's features: its Snowball stem by script (Cyrillic words: Russian, others:
    English) and its prefix; numbers are all one feature. Memoised: Snowball in pure Python
    costs microseconds a word, and news vocabulary repeats, so a bounded cache makes a word
    a dict lookup for all but its first occurrence."""

    MAX_CACHED = 200_000
    NUMBER = ("#",)

    def __init__(self) -> None:
        self._russian = snowballstemmer.stemmer("russian")
        self._english = snowballstemmer.stemmer("english")
        self.cache: dict[str, tuple[str, ...]] = {}

    def word(self, word: str) -> tuple[str, ...]:
        if word.isdigit():
            return self.NUMBER
        if "\u0400" <= word[0] <= "\u04ff":
            return (self._russian.stemWord(word.replace("ё", "е")), word[:PREFIX_LENGTH] + "~")
        return (self._english.stemWord(word), word[:PREFIX_LENGTH] + "~")

    def compute(self, chunk: str) -> tuple[str, ...]:
        """Features of one space-separated chunk of normalised text ("law,", "state's",
        "t.me/x"): those of each word in it. Cached by chunk, punctuation included, so the
        regular expression runs once per distinct chunk, not once per post."""
        found = tuple(f for w in _WORD.findall(chunk) for f in self.word(w))
        return remember(self.cache, chunk, found, self.MAX_CACHED)


_word_features = _WordFeatures()


def _chunks(text_norm: str) -> list[str]:
    """The first MAX_TOKENS space-separated chunks (normalised text has single spaces)."""
    return text_norm[: MAX_TOKENS * 24].split(" ", MAX_TOKENS)[:MAX_TOKENS]


def _chunk_features(chunk: str) -> tuple[str, ...]:
    return _word_features.cache.get(chunk) or _word_features.compute(chunk)


def _shape(text_norm: str, chunks: int) -> list[str]:
    """A few marks of shape: promotions shout, polls ask, markets quote percentages."""
    out = []
    if "!" in text_norm:
        out.append("_!")
    if "?" in text_norm:
        out.append("_?")
    if "%" in text_norm:
        out.append("_%")
    if chunks < 8:
        out.append("_short")
    return out


def features(text_norm: str) -> list[str]:
    """The model's features of normalised text (``bot.core.normalise.normalise``): the stem
    and the 5-letter prefix of each word of each distinct chunk among the first MAX_TOKENS
    space-separated chunks, plus marks of shape. A repeated chunk counts once (a channel's
    signature or a repeated name adds no evidence); one word in two spellings ("law", "law,")
    counts twice, which ``SectionModel.scores`` reproduces exactly."""
    chunks = _chunks(text_norm)
    out = [f for chunk in dict.fromkeys(chunks) for f in _chunk_features(chunk)]
    out.extend(_shape(text_norm, len(chunks)))
    return out


# Scores are sums of fixed-point weights (thousandths) packed into one integer per feature,
# one LANE_BITS-wide lane per label, each lane offset by LANE_OFFSET to stay non-negative:
# a post's eight sums are then one sum() of ~50 ints, in C, instead of eight Python-level
# loops, and they are exact integers (no float rounding: the same label on every machine).
SCALE = 1000
LANE_BITS = 48
# > any |weight| * SCALE, so each offset weight is below 2**33 and a lane holds the sum of
# 2**15 of them: far more features than a post's first MAX_TOKENS chunks can give.
LANE_OFFSET = 1 << 32
_LANE_MASK = (1 << LANE_BITS) - 1
# Above the label lanes, one more counts the features summed: a chunk's weights and its
# feature count are then one int, and a post's total is one sum() over its chunks.
_COUNT_SHIFT = LANE_BITS * len(LABELS)
_ONE_FEATURE = 1 << _COUNT_SHIFT
_LABEL_LANES = _ONE_FEATURE - 1
_SHIFTS = tuple(LANE_BITS * k for k in range(len(LABELS)))  # where each label's lane starts


class SectionModel:
    """Per-class biases and per-feature weights; a post's class is the best sum of the
    weights of its features (``features``), stored to three decimals."""

    __slots__ = ("_chunk_cache", "_packed", "bias", "labels", "version", "weights")

    MAX_CACHED_CHUNKS = 200_000

    def __init__(
        self,
        *,
        labels: Sequence[str],
        bias: Sequence[float],
        weights: Mapping[str, Sequence[float]],
        version: str,
    ) -> None:
        if tuple(labels) != LABELS:
            raise ValueError(f"model labels {list(labels)} are not {list(LABELS)}")
        if len(bias) != len(LABELS) or any(len(w) != len(LABELS) for w in weights.values()):
            raise ValueError("model weights do not have one value per label")
        if any(abs(x) * SCALE >= LANE_OFFSET for w in weights.values() for x in w):
            raise ValueError("model weight out of range")
        self.labels = LABELS
        self.bias = tuple(bias)
        self.weights = {f: tuple(w) for f, w in weights.items()}
        self.version = version
        # each feature's weights packed, counting one feature (``_COUNT_SHIFT``)
        self._packed = {f: _pack(w) + _ONE_FEATURE for f, w in self.weights.items()}
        # chunk -> packed sum of its known features' weights and their count: news
        # vocabulary repeats, so a post costs one dict lookup per chunk.
        self._chunk_cache = _ChunkWeights(self)

    @classmethod
    def from_json(cls, text: str) -> SectionModel:
        data = json.loads(text)
        return cls(labels=data["labels"], bias=data["bias"], weights=data["weights"], version=data["version"])

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "labels": list(self.labels),
                "bias": list(self.bias),
                "weights": {f: list(w) for f, w in sorted(self.weights.items())},
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    def forget(self) -> None:
        """Empty the per-chunk caches (this model's and the word stems'): what a process
        meeting its first post starts from. For benchmarks of first-sight cost."""
        self._chunk_cache.clear()
        _word_features.cache.clear()

    def _chunk_weights(self, chunk: str) -> int:
        packed = self._packed
        return sum(p for p in map(packed.get, _chunk_features(chunk)) if p is not None)

    def scores(self, text_norm: str) -> list[float]:
        """Each label's score for normalised text: bias plus the weights of ``features``."""
        chunks = _chunks(text_norm)
        # A set, not dict.fromkeys (4x costlier): the sums are of integers, so their order
        # cannot change a score.
        distinct = set(chunks)
        # no Python loop: a chunk not seen before (most posts have one or two) is weighed
        # by the cache's __missing__, within the same C-level map
        total = sum(map(self._chunk_cache.__getitem__, distinct))
        for mark in _shape(text_norm, len(chunks)):
            total += self._packed.get(mark, 0)
        offset = (total >> _COUNT_SHIFT) * LANE_OFFSET
        total &= _LABEL_LANES
        return [bias + (((total >> shift) & _LANE_MASK) - offset) / SCALE for bias, shift in zip(self.bias, _SHIFTS, strict=True)]

    def label(self, text_norm: str) -> str:
        """The best of LABELS for normalised text (not news only by NOT_NEWS_MARGIN)."""
        scores = self.scores(text_norm)
        best_news = max(range(len(scores) - 1), key=scores.__getitem__)
        if scores[-1] > scores[best_news] + NOT_NEWS_MARGIN:
            return NOT_NEWS
        return self.labels[best_news]

    def classify(self, text_norm: str) -> Verdict:
        if not _WORD.search(text_norm):
            return _NO_TEXT
        label = self.label(text_norm)
        if label == NOT_NEWS:
            return _NOT_NEWS
        return _NEWS_IN.get(label, _NO_TEXT)  # "Other": news in no section


class _ChunkWeights(dict[str, int]):
    """The model's chunk -> packed weights cache, filling itself: a lookup that misses
    weighs the chunk (``SectionModel._chunk_weights``), emptying the cache first when it
    holds MAX_CACHED_CHUNKS. Finding the chunks not seen before by a set difference ahead
    of every sum cost ~1.5 µs a post; a dict only looks for __missing__ on a miss."""

    __slots__ = ("_model",)

    def __init__(self, model: SectionModel) -> None:
        super().__init__()
        self._model = model

    def __missing__(self, chunk: str) -> int:
        return remember(self, chunk, self._model._chunk_weights(chunk), self._model.MAX_CACHED_CHUNKS)


def _pack(weights: Sequence[float]) -> int:
    return sum((round(w * SCALE) + LANE_OFFSET) << (LANE_BITS * k) for k, w in enumerate(weights))


@functools.cache
def section_model() -> SectionModel:
    """The shipped model, read once per process."""
    return SectionModel.from_json(MODEL_PATH.read_text(encoding="utf-8"))


def majority_section(votes: Mapping[str, int]) -> str | None:
    """A story's section from its posts' sections (``""``: a post in none): the most
    common; a section wins a tie with "none", and ties between sections go by SECTIONS order."""
    best: str | None = None
    best_count = 0
    for section in SECTIONS:
        count = votes.get(section, 0)
        if count > best_count:
            best, best_count = section, count
    if best is not None and votes.get("", 0) > best_count:
        return None
    return best
