"""Categories: operator-written queries from the config, applied to posts and stories,
and the built-in sections (``bot.stories.sections``) when they are on.

A post belongs to every category whose query matches it, in config order; a story
belongs to a category when any of its posts does (the same rule as subscriptions).
Stories in no category are shown under "Other" by the digest, not here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bot.core.normalise import words
from bot.errors import QueryError
from bot.query.parser import And, Channel, MatchDoc, Node, Not, Or, Phrase, Query, Tag, Word, parse_query
from bot.stories.sections import Verdict, section_model

if TYPE_CHECKING:
    from bot.config import Config

__all__ = ["CATEGORY_MAX_LENGTH", "CATEGORY_MAX_TERMS", "Categoriser"]

# Operators write category queries in the config, so they get far more room than users.
CATEGORY_MAX_LENGTH = 1000
CATEGORY_MAX_TERMS = 100


class Categoriser:
    """Compiled category queries; raises QueryError naming the first invalid category."""

    __slots__ = ("_categories", "_plain", "_word_scan", "_phrase_scans", "builtin")

    def __init__(
        self,
        categories: Iterable[tuple[str, str]],
        *,
        stemming: bool = False,
        language: str = "english",
        builtin: bool = False,
    ) -> None:
        self.builtin = builtin  # sort posts into the built-in sections too
        compiled: list[tuple[str, Query]] = []
        for name, text in categories:
            try:
                query = parse_query(
                    text,
                    max_length=CATEGORY_MAX_LENGTH,
                    max_terms=CATEGORY_MAX_TERMS,
                    stemming=stemming,
                    language=language,
                )
            except QueryError as e:
                raise QueryError(f"category {name!r}: {e}") from None
            compiled.append((name, query))
        self._categories = tuple(compiled)
        # One scan of the text per post for every category at once: the whole words all
        # plain (unstemmed) queries name, found by a single regex over the normalised text,
        # instead of tokenising each post into a MatchDoc (~25 µs) and walking each tree.
        self._plain = tuple(_is_plain(query.root) for _, query in compiled)
        plain_words: set[str] = set()
        phrases: set[tuple[str, ...]] = set()
        for (_, query), plain in zip(compiled, self._plain, strict=True):
            if plain:
                _collect(query.root, plain_words, phrases)
        self._word_scan = _token_regex(sorted(plain_words, key=lambda w: (-len(w), w)))
        self._phrase_scans = tuple((phrase, _phrase_regex(phrase)) for phrase in sorted(phrases))

    @classmethod
    def from_config(cls, config: Config) -> Categoriser:
        return cls(
            ((c.name, c.query) for c in config.categories),
            stemming=config.query.stemming,
            language=config.query.language,
            builtin=config.builtin_sections,
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._categories)

    def categories_for(self, doc: MatchDoc) -> tuple[str, ...]:
        """Names of the categories one post belongs to, in config order."""
        return tuple(name for name, query in self._categories if query.matches(doc))

    def categories_of(
        self, text_norm: str, hashtags: Iterable[str], username: str | None, *, language: str | None = None
    ) -> tuple[str, ...]:
        """``categories_for(match_doc(text_norm, hashtags, username, language=language))``
        in one regex pass over the text; a MatchDoc is built only for stemmed or prefix
        queries, which need every word."""
        if not self._categories:
            return ()
        found = set(self._word_scan.findall(text_norm)) if self._word_scan is not None else set()
        for phrase, scan in self._phrase_scans:
            if scan.search(text_norm):
                found.add(phrase)
        scope = _Scope(found, frozenset(hashtags), username.lstrip("@").casefold() if username else None)
        doc: MatchDoc | None = None
        out = []
        for (name, query), plain in zip(self._categories, self._plain, strict=True):
            if plain:
                hit = scope.matches(query.root)
            else:
                if doc is None:
                    doc = MatchDoc(words=tuple(words(text_norm)), hashtags=scope.hashtags,
                                   channel=scope.channel, language=language)
                hit = query.matches(doc)
            if hit:
                out.append(name)
        return tuple(out)

    def categories_for_story(self, docs: Sequence[MatchDoc]) -> tuple[str, ...]:
        """Names of the categories any of the story's posts belongs to, in config order."""
        return tuple(
            name for name, query in self._categories if any(query.matches(d) for d in docs)
        )

    def verdict(self, text_norm: str) -> Verdict:
        """News or not, and the built-in section (None when the sections are off), of one
        post's normalised text. News is judged whether or not the sections are on."""
        verdict = section_model().classify(text_norm)
        if not self.builtin and verdict.section is not None:
            return Verdict(section=None, news=verdict.news)
        return verdict


# A token is a maximal run of [^\W_] (``bot.core.normalise.words``): a word or phrase is
# found as tokens when no token character touches it on either side, and a phrase's words
# are separated by any run of non-token characters, exactly as consecutive ``words``.
_TOKEN = re.compile(r"[^\W_]+")


def _token_regex(items: Sequence[str | tuple[str, ...]]) -> re.Pattern[str] | None:
    if not items:
        return None
    parts = [
        re.escape(item) if isinstance(item, str) else r"[\W_]+".join(map(re.escape, item)) for item in items
    ]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(parts) + r")(?![^\W_])")


def _phrase_regex(phrase: tuple[str, ...]) -> re.Pattern[str]:
    found = _token_regex([phrase])
    assert found is not None  # one item given
    return found


def _is_plain(node: Node) -> bool:
    """True if the query needs no stems and no prefixes: then a set of found words and
    phrases decides it."""
    if isinstance(node, Word):
        return node.language is None and _TOKEN.fullmatch(node.value) is not None
    if isinstance(node, Phrase):
        return node.language is None and all(_TOKEN.fullmatch(w) for w in node.words)
    if isinstance(node, Tag | Channel):
        return True
    if isinstance(node, Not):
        return _is_plain(node.child)
    if isinstance(node, And | Or):
        return all(_is_plain(c) for c in node.children)
    return False  # Prefix


def _collect(node: Node, plain_words: set[str], phrases: set[tuple[str, ...]]) -> None:
    if isinstance(node, Word):
        plain_words.add(node.value)
    elif isinstance(node, Phrase):
        if len(node.words) == 1:
            plain_words.add(node.words[0])
        else:
            phrases.add(node.words)
    elif isinstance(node, Not):
        _collect(node.child, plain_words, phrases)
    elif isinstance(node, And | Or):
        for c in node.children:
            _collect(c, plain_words, phrases)


class _Scope:
    """What a plain query sees of one post: the query words and phrases found in it."""

    __slots__ = ("channel", "found", "hashtags")

    def __init__(self, found: set[str | tuple[str, ...]], hashtags: frozenset[str], channel: str | None) -> None:
        self.found = found
        self.hashtags = hashtags
        self.channel = channel

    def matches(self, node: Node) -> bool:
        if isinstance(node, Word):
            return node.value in self.found
        if isinstance(node, Phrase):
            return (node.words[0] if len(node.words) == 1 else node.words) in self.found
        if isinstance(node, Tag):
            return node.value in self.hashtags
        if isinstance(node, Channel):
            return self.channel == node.value
        if isinstance(node, Not):
            return not self.matches(node.child)
        if isinstance(node, And):
            return all(self.matches(c) for c in node.children)
        if isinstance(node, Or):
            return any(self.matches(c) for c in node.children)
        raise TypeError(f"not a plain query node: {node!r}")  # _is_plain let it through: a bug
