"""Categories: operator-written queries from the config, applied to posts and stories,
and the built-in sections (``bot.stories.sections``) when they are on.

A post belongs to every category whose query matches it, in config order; a story
belongs to a category when any of its posts does (the same rule as subscriptions).
Stories in no category are shown under "Other" by the digest, not here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, cast

from bot.core.caches import remember
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

    __slots__ = ("_all_plain", "_categories", "_decided", "_form_words", "_phrase_scans", "_plain_words", "_tests", "_word_scan", "builtin")

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
        # A plain query (no stems, no prefixes) becomes one function of the words and
        # phrases found; the others (None here) are asked of a MatchDoc.
        self._tests = tuple(_compile(query.root) if _is_plain(query.root) else None for _, query in compiled)
        plain_words: set[str] = set()
        phrases: set[tuple[str, ...]] = set()
        for (_, query), test in zip(compiled, self._tests, strict=True):
            if test is not None:
                _collect(query.root, plain_words, phrases)
        self._word_scan = _word_regex(sorted(plain_words, key=lambda w: (-len(w), w)))
        self._plain_words = frozenset(plain_words)
        # normalised piece (``bot.core.normalise.piece_forms``) -> the plain words among its
        # tokens: news repeats its lines and sentences, so most pieces are looked up here
        # instead of scanned (``categories_of(..., forms=...)``)
        self._form_words: dict[str, frozenset[str]] = {}
        self._all_plain = None not in self._tests
        # (words and phrases found, hashtags, channel) -> the categories (``categories_of``)
        self._decided: dict[tuple[frozenset[str | tuple[str, ...]], frozenset[str], str | None], tuple[str, ...]] = {}
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
        self,
        text_norm: str,
        hashtags: Iterable[str],
        username: str | None,
        *,
        language: str | None = None,
        forms: Sequence[str] | None = None,
    ) -> tuple[str, ...]:
        """``categories_for(match_doc(text_norm, hashtags, username, language=language))``
        in one regex pass over the text; a MatchDoc is built only for stemmed or prefix
        queries, which need every word. ``forms``: ``text_norm``'s normalised pieces
        (``bot.core.normalise.piece_forms``), whose words are then looked up per piece."""
        if not self._categories:
            return ()
        found: set[str | tuple[str, ...]] = set()
        if self._word_scan is not None and forms is not None:
            found.update(*self._words_of_forms(forms))
        elif self._word_scan is not None:
            # The scan cannot look behind cheaply (that costs it the fast first-character
            # search), so a match that starts inside a longer word is dropped here.
            for m in self._word_scan.finditer(text_norm):
                start = m.start()
                if start == 0 or not text_norm[start - 1].isalnum():  # str.isalnum() is [^\W_]
                    found.add(m.group())
        for phrase, scan in self._phrase_scans:
            located = scan.search(text_norm)
            while located is not None:
                start = located.start()
                if start == 0 or not text_norm[start - 1].isalnum():
                    found.add(phrase)
                    break
                located = scan.search(text_norm, start + 1)  # phrases may overlap: look again just after
        tags = frozenset(hashtags)
        channel = username.lstrip("@").casefold() if username else None
        if self._all_plain:
            # Plain queries are decided by the words and phrases found, the hashtags and the
            # channel alone, and posts share few combinations of those (most find nothing):
            # a dict lookup instead of a call per category
            decided = self._decided
            key = (frozenset(found), tags, channel)
            names = decided.get(key)
            if names is None:
                names = remember(decided, key, self._decide(found, tags, channel, text_norm, language), _DECIDED_MAX)
            return names
        return self._decide(found, tags, channel, text_norm, language)

    def _decide(
        self, found: Found, tags: frozenset[str], channel: str | None, text_norm: str, language: str | None
    ) -> tuple[str, ...]:
        """The categories of a post whose words and phrases ``found`` the plain queries ask."""
        doc: MatchDoc | None = None
        out = []
        for (name, query), test in zip(self._categories, self._tests, strict=True):
            if test is not None:
                hit = test(found, tags, channel)
            else:
                if doc is None:
                    doc = MatchDoc(words=tuple(words(text_norm)), hashtags=tags, channel=channel, language=language)
                hit = query.matches(doc)
            if hit:
                out.append(name)
        return tuple(out)

    def _words_of_forms(self, forms: Sequence[str]) -> list[frozenset[str]]:
        """The plain words among each form's tokens. The word scan finds a word exactly
        where it is a whole token (``_word_regex``), and the text's tokens are its forms'
        tokens (forms are joined by a space), so this finds what the scan finds; but a form
        seen before (~2 in 3 on news) costs a dict lookup instead of a share of the scan."""
        cache = self._form_words
        known = list(map(cache.get, forms))
        if None in known:
            if len(cache) >= _FORM_WORDS_MAX:
                cache.clear()
            plain = self._plain_words
            for i, words_found in enumerate(known):
                if words_found is None:
                    form = forms[i]
                    hits = plain.intersection(_TOKEN.findall(form))
                    known[i] = cache[form] = frozenset(hits) if hits else _NO_WORDS
        return cast(list[frozenset[str]], known)

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
            return _NEWS if verdict.news else _NOT_NEWS  # the section without its name
        return verdict


_NO_WORDS: frozenset[str] = frozenset()
_FORM_WORDS_MAX = 32_768  # as the piece caches of bot.core.normalise: repeats come close together
_DECIDED_MAX = 32_768
_NEWS = Verdict(section=None, news=True)
_NOT_NEWS = Verdict(section=None, news=False)


# A token is a maximal run of [^\W_] (``bot.core.normalise.words``): a word or phrase is
# found as tokens when no token character touches it on either side, and a phrase's words
# are separated by any run of non-token characters, exactly as consecutive ``words``. A
# word match that starts mid-token ends at that token's end, so dropping it never hides
# another; phrases can overlap, so a phrase is searched again one character on. (The
# start is checked in Python because a look-behind would cost the regex its fast
# first-character search: 2-4x slower.)
_TOKEN = re.compile(r"[^\W_]+")


def _word_regex(plain_words: Sequence[str]) -> re.Pattern[str] | None:
    """Any of the words ending at a token end (the start is checked by the caller)."""
    if not plain_words:
        return None
    return re.compile("(?:" + "|".join(map(re.escape, plain_words)) + r")(?![^\W_])")


def _phrase_regex(phrase: tuple[str, ...]) -> re.Pattern[str]:
    """The phrase's words as consecutive tokens (any run of non-token characters between);
    the start is checked by the caller."""
    return re.compile(r"[\W_]+".join(map(re.escape, phrase)) + r"(?![^\W_])")


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


Found = set[str | tuple[str, ...]]
PlainTest = Callable[[Found, frozenset[str], str | None], bool]


def _compile(node: Node) -> PlainTest:
    """A plain query as a function of (words and phrases found, hashtags, channel)."""
    if isinstance(node, Or) and all(isinstance(c, Word | Tag) for c in node.children):
        # The common "a OR b OR #c": two set intersections.
        any_word = frozenset(c.value for c in node.children if isinstance(c, Word))
        any_tag = frozenset(c.value for c in node.children if isinstance(c, Tag))
        return lambda found, tags, channel: not any_word.isdisjoint(found) or not any_tag.isdisjoint(tags)
    if isinstance(node, Word):
        value = node.value
        return lambda found, tags, channel: value in found
    if isinstance(node, Phrase):
        key = node.words[0] if len(node.words) == 1 else node.words
        return lambda found, tags, channel: key in found
    if isinstance(node, Tag):
        tag = node.value
        return lambda found, tags, channel: tag in tags
    if isinstance(node, Channel):
        name = node.value
        return lambda found, tags, channel: channel == name
    if isinstance(node, Not):
        inner = _compile(node.child)
        return lambda found, tags, channel: not inner(found, tags, channel)
    if isinstance(node, And | Or):
        parts = tuple(_compile(c) for c in node.children)
        combine = all if isinstance(node, And) else any
        return lambda found, tags, channel: combine(p(found, tags, channel) for p in parts)
    raise TypeError(f"not a plain query node: {node!r}")  # _is_plain let it through: a bug
