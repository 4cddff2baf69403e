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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import snowballstemmer

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
# not news only when that beats its best news label by this much (log-probability).
NOT_NEWS_MARGIN = 3.0
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the classifier says of one post."""

    section: str | None  # one of SECTIONS, or None ("Other")
    news: bool


_NO_TEXT = Verdict(section=None, news=True)  # media without a caption: nothing to judge


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

    def compute(self, word: str) -> tuple[str, ...]:
        found: tuple[str, ...]
        if word.isdigit():
            found = self.NUMBER
        elif "\u0400" <= word[0] <= "\u04ff":
            found = (self._russian.stemWord(word.replace("ё", "е")), word[:PREFIX_LENGTH] + "~")
        else:
            found = (self._english.stemWord(word), word[:PREFIX_LENGTH] + "~")
        if len(self.cache) >= self.MAX_CACHED:
            self.cache.clear()
        self.cache[word] = found
        return found


_word_features = _WordFeatures()


def features(text_norm: str) -> list[str]:
    """The model's features of normalised text (``bot.core.normalise.normalise``): the stem
    and the 5-letter prefix of each of the first words, plus a few marks of shape."""
    tokens = _WORD.findall(text_norm, 0, MAX_TOKENS * 20)[:MAX_TOKENS]
    get, compute = _word_features.cache.get, _word_features.compute
    out = [f for token in tokens for f in (get(token) or compute(token))]
    if "!" in text_norm:
        out.append("_!")
    if "?" in text_norm:
        out.append("_?")
    if "%" in text_norm:
        out.append("_%")
    if len(tokens) < 8:
        out.append("_short")
    return out


class SectionModel:
    """Per-class biases and per-feature weights; a post's class is the best sum over its
    distinct features (naive Bayes log-probabilities, stored as weights)."""

    __slots__ = ("bias", "labels", "version", "weights")

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
        self.labels = LABELS
        self.bias = tuple(bias)
        self.weights = {f: tuple(w) for f, w in weights.items()}
        self.version = version

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

    def scores(self, feats: Iterable[str]) -> list[float]:
        weights = self.weights
        found = [w for w in (weights.get(f) for f in set(feats)) if w is not None]
        # zip(*) sums the columns in C: a post's ~100 features cost a few microseconds.
        return [sum(column) for column in zip(self.bias, *found, strict=True)]

    def label(self, text_norm: str) -> str:
        """The best of LABELS for normalised text (not news only by NOT_NEWS_MARGIN)."""
        scores = self.scores(features(text_norm))
        best_news = max(range(len(scores) - 1), key=scores.__getitem__)
        if scores[-1] > scores[best_news] + NOT_NEWS_MARGIN:
            return NOT_NEWS
        return self.labels[best_news]

    def classify(self, text_norm: str) -> Verdict:
        if not _WORD.search(text_norm):
            return _NO_TEXT
        label = self.label(text_norm)
        if label == NOT_NEWS:
            return Verdict(section=None, news=False)
        return Verdict(section=label if label in SECTIONS else None, news=True)


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
