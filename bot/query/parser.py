"""The query language: one language for categories, subscriptions and search.

    word          whole word, case-insensitive, any script: ``UN`` does not match "unilateral"
    "a phrase"    these words in this order, punctuation between them ignored
    prefix*       a word starting with ``prefix``: ``sanction*`` matches "sanctions"
    ~word         the word in any form (snowball stemming): ``~sanction`` matches "sanctioned"
    #tag          the post carries this hashtag
    @channel      the post comes from this channel (its public username)
    a b           both (AND);  ``a OR b``: either;  ``-term``: not;  ``( )`` groups
    precedence    NOT binds tightest, then AND, then OR: ``a b OR c`` is ``(a b) OR c``

A bare term that normalises to several words (``U.S.``, ``covid-19``, ``Iran's``) is the
phrase of those words. With ``stemming=True`` every bare word is stemmed; quote a word
(``"sanction"``) to keep it exact. Text is compared after ``bot.core.normalise.normalise``, so
typographic quotes, case and emoji never matter.

``parse_query`` raises ``bot.errors.QueryError`` (one line saying what is wrong) for any
invalid input; user text never reaches a regex or SQL engine, it only becomes the
immutable tree below, which ``Query.matches`` evaluates against a ``MatchDoc``.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.core.normalise import extract_hashtags, normalise, strip_decorations, strip_invisible, words
from bot.core.text import merge_spans, shorten
from bot.errors import QueryError

if TYPE_CHECKING:
    from bot.core.models import Post

__all__ = [
    "And",
    "Channel",
    "MatchDoc",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Prefix",
    "Query",
    "Tag",
    "Term",
    "Word",
    "highlight_spans",
    "parse_query",
    "stem",
    "stem_in",
    "stemming_languages",
    "stems_in",
    "story_matches",
]

MAX_DEPTH = 10  # parentheses nesting; keeps recursion far from Python's limit

# Phones type typographic quotes and dashes; fold them so `“a phrase”` and `—word` work.
_QUERY_FOLD = str.maketrans(
    {
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2033": '"', "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-",
    }
)
_TAG = re.compile(r"\w+", re.UNICODE)
_USERNAME = re.compile(r"[A-Za-z0-9_]+")


# --- stemming -------------------------------------------------------------------------

class _Stemmer(Protocol):
    """What we use of a ``snowballstemmer`` stemmer (the library ships no types)."""

    def stemWord(self, word: str) -> str: ...  # noqa: N802 (the library's name)


_stemmer_lock = threading.Lock()  # snowball stemmer objects keep state between calls
_stemmers: dict[str, _Stemmer] = {}


def stemming_languages() -> tuple[str, ...]:
    """Languages the ``[query] language`` setting accepts."""
    import snowballstemmer

    return tuple(snowballstemmer.algorithms())


@functools.lru_cache(maxsize=200_000)
def stem(word: str, language: str) -> str:
    """The snowball stem of a normalised ``word``; raises QueryError for an unknown language."""
    with _stemmer_lock:
        stemmer = _stemmers.get(language)
        if stemmer is None:
            import snowballstemmer

            if language not in snowballstemmer.algorithms():
                raise QueryError(
                    f"stemming language {language!r} is not supported "
                    f"(one of: {', '.join(snowballstemmer.algorithms())})"
                )
            stemmer = _stemmers[language] = snowballstemmer.stemmer(language)
        return stemmer.stemWord(word)


@functools.lru_cache(maxsize=65536)
def stem_in(word: str, language: str) -> str:
    """``stem`` memoised: a query word is re-stemmed in each post language it meets."""
    return stem(word, language)


def stems_in(words: tuple[str, ...], language: str) -> tuple[str, ...]:
    return tuple(stem_in(w, language) for w in words)


# --- documents --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchDoc:
    """What a query sees of one post: its normalised words, hashtags and channel username,
    and its language, which decides how ``~word`` terms are stemmed in it."""

    words: tuple[str, ...]
    hashtags: frozenset[str] = frozenset()
    channel: str | None = None  # username casefolded, or None
    language: str | None = None  # snowball language of the post; None: the query's language
    # Derived once per document because every query looks words up by membership.
    word_set: frozenset[str] = field(init=False, repr=False, compare=False)
    _stems: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "hashtags", frozenset(self.hashtags))
        if self.channel is not None:
            object.__setattr__(self, "channel", self.channel.lstrip("@").casefold())
        object.__setattr__(self, "word_set", frozenset(self.words))
        object.__setattr__(self, "_stems", {})

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        hashtags: Sequence[str] = (),
        channel: str | None = None,
        language: str | None = None,
    ) -> MatchDoc:
        """Build from original post text; hashtags in the text are added to ``hashtags``."""
        tags = {t.casefold().lstrip("#") for t in hashtags} | set(extract_hashtags(text))
        return cls(
            words=tuple(words(normalise(text))), hashtags=frozenset(tags), channel=channel, language=language
        )

    @classmethod
    def from_post(cls, post: Post, *, language: str | None = None) -> MatchDoc:
        return cls.from_text(post.text, hashtags=post.hashtags, channel=post.channel_username, language=language)

    def stems(self, language: str) -> tuple[str, ...]:
        """The stem of each word, in order (computed once per language)."""
        found = self._stems.get(language)
        if found is None:
            found = self._stems[language] = tuple(stem(w, language) for w in self.words)
        return found


# --- the tree ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    """A whole word; with ``language`` set, any word with the same stem."""

    value: str
    stem: str | None = None
    language: str | None = None

    def matches(self, doc: MatchDoc) -> bool:
        if self.language is None:
            return self.value in doc.word_set
        language = doc.language or self.language
        want = self.stem if language == self.language else stem_in(self.value, language)
        return want in doc.stems(language)

    def describe(self, *, global_stemming: bool = False) -> str:
        return self.value if self.language is None or global_stemming else "~" + self.value


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive words; with ``language`` set, compared by stem."""

    words: tuple[str, ...]
    stems: tuple[str, ...] | None = None
    language: str | None = None

    def matches(self, doc: MatchDoc) -> bool:
        if self.language is None:
            return contains_run(doc.words, self.words, doc.word_set)
        assert self.stems is not None
        language = doc.language or self.language
        run = self.stems if language == self.language else stems_in(self.words, language)
        return contains_run(doc.stems(language), run, None)

    def describe(self, *, global_stemming: bool = False) -> str:
        quoted = '"' + " ".join(self.words) + '"'
        return quoted if self.language is None else "~" + quoted


@dataclass(frozen=True, slots=True)
class Prefix:
    value: str

    def matches(self, doc: MatchDoc) -> bool:
        value = self.value
        return any(w.startswith(value) for w in doc.word_set)

    def describe(self, *, global_stemming: bool = False) -> str:
        return self.value + "*"


@dataclass(frozen=True, slots=True)
class Tag:
    value: str  # casefolded, without '#'

    def matches(self, doc: MatchDoc) -> bool:
        return self.value in doc.hashtags

    def describe(self, *, global_stemming: bool = False) -> str:
        return "#" + self.value


@dataclass(frozen=True, slots=True)
class Channel:
    value: str  # username casefolded, without '@'

    def matches(self, doc: MatchDoc) -> bool:
        return doc.channel == self.value

    def describe(self, *, global_stemming: bool = False) -> str:
        return "@" + self.value


Term = Word | Phrase | Prefix | Tag | Channel


@dataclass(frozen=True, slots=True)
class Not:
    child: Node

    def matches(self, doc: MatchDoc) -> bool:
        return not self.child.matches(doc)

    def describe(self, *, global_stemming: bool = False) -> str:
        inner = self.child.describe(global_stemming=global_stemming)
        return "-(" + inner + ")" if isinstance(self.child, And | Or) else "-" + inner


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]

    def matches(self, doc: MatchDoc) -> bool:
        return all(c.matches(doc) for c in self.children)

    def describe(self, *, global_stemming: bool = False) -> str:
        parts = []
        for c in self.children:
            text = c.describe(global_stemming=global_stemming)
            parts.append("(" + text + ")" if isinstance(c, Or) else text)
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]

    def matches(self, doc: MatchDoc) -> bool:
        return any(c.matches(doc) for c in self.children)

    def describe(self, *, global_stemming: bool = False) -> str:
        return " OR ".join(c.describe(global_stemming=global_stemming) for c in self.children)


Node = Word | Phrase | Prefix | Tag | Channel | Not | And | Or


def contains_run(seq: Sequence[str], run: Sequence[str], members: frozenset[str] | None) -> bool:
    """True if ``run`` occurs as consecutive items of ``seq``."""
    n = len(run)
    first = run[0]
    if members is not None and first not in members:
        return False
    if n == 1:
        return first in seq
    run = tuple(run)
    return any(item == first and tuple(seq[i : i + n]) == run for i, item in enumerate(seq))


def iter_terms(node: Node, *, negated: bool = False) -> Iterator[tuple[Term, bool]]:
    """Every leaf with whether it sits under an exclusion."""
    if isinstance(node, Not):
        yield from iter_terms(node.child, negated=not negated)
    elif isinstance(node, And | Or):
        for c in node.children:
            yield from iter_terms(c, negated=negated)
    else:
        yield node, negated


def is_positive(node: Node) -> bool:
    """True if every document the node matches must contain at least one of its terms."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(is_positive(c) for c in node.children)
    if isinstance(node, Or):
        return all(is_positive(c) for c in node.children)
    return True


@dataclass(frozen=True)
class Query:
    """A parsed query: the source text and its immutable tree (``parse_query`` builds it)."""

    text: str
    root: Node
    stemming: bool = False
    language: str = "english"

    def matches(self, doc: MatchDoc) -> bool:
        """True if one post (as a MatchDoc) matches."""
        return self.root.matches(doc)

    def positive_terms(self) -> tuple[Term, ...]:
        """Words, phrases, prefixes and hashtags the query looks for (not the excluded ones),
        in query order without repeats: what a snippet highlights. Channels are left out."""
        found = (t for t, negated in iter_terms(self.root) if not negated and not isinstance(t, Channel))
        return tuple(dict.fromkeys(found))

    def describe(self) -> str:
        """Canonical form (folded case, normalised spacing); parses back to the same query."""
        return self.root.describe(global_stemming=self.stemming)

    def __str__(self) -> str:
        return self.describe()


def story_matches(query: Query, docs: Sequence[MatchDoc]) -> bool:
    """A story matches when ANY of its posts matches (each post is judged on its own)."""
    root = query.root
    return any(root.matches(d) for d in docs)


# --- parsing ----------------------------------------------------------------------------

# Token kinds: "(", ")", "OR", "-", "TERM" (bare text), "PHRASE" (text inside quotes).
@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str = ""
    stem: bool = False


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(_Token(c))
            i += 1
        elif c == "-":
            nxt = text[i + 1] if i + 1 < n else ""
            if not nxt or nxt.isspace() or nxt == ")":
                raise QueryError("'-' must be written directly before what it excludes, like -word")
            if nxt == "-":
                raise QueryError("'--': exclude a term with a single '-'")
            tokens.append(_Token("-"))
            i += 1
        elif c == '"' or (c == "~" and text[i + 1 : i + 2] == '"'):
            start = i + (2 if c == "~" else 1)
            end = text.find('"', start)
            if end < 0:
                raise QueryError(f"unbalanced quotes: {shorten(text[i:], 24)!r} is never closed with '\"'")
            tokens.append(_Token("PHRASE", text[start:end], stem=c == "~"))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"':
                j += 1
            raw = text[i:j]
            tokens.append(_Token("OR") if raw == "OR" else _Token("TERM", raw))
            i = j
    return tokens


def _check_parentheses(tokens: list[_Token]) -> None:
    depth = 0
    for t in tokens:
        if t.kind == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise QueryError(f"parentheses are nested more than {MAX_DEPTH} deep")
        elif t.kind == ")":
            depth -= 1
            if depth < 0:
                raise QueryError("unbalanced parentheses: a ')' has no matching '('")
    if depth:
        raise QueryError("unbalanced parentheses: a '(' is never closed with ')'")


class _Parser:
    def __init__(self, tokens: list[_Token], *, stemming: bool, language: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.stemming = stemming
        self.language = language

    def peek(self) -> str | None:
        return self.tokens[self.pos].kind if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.parse_or()
        if self.peek() is not None:  # only a stray ')' can stop parse_or early
            raise QueryError("unbalanced parentheses: a ')' has no matching '('")
        return node

    def parse_or(self) -> Node:
        alternatives = [self.parse_and()]
        while self.peek() == "OR":
            self.take()
            if self.peek() in (None, ")", "OR"):
                raise QueryError("OR needs a term on both sides, like: iran OR iraq")
            alternatives.append(self.parse_and())
        if len(alternatives) == 1:
            return alternatives[0]
        flat: list[Node] = []
        for a in alternatives:
            flat.extend(a.children if isinstance(a, Or) else (a,))
        return Or(tuple(flat))

    def parse_and(self) -> Node:
        items: list[Node] = []
        while self.peek() not in (None, ")", "OR"):
            items.append(self.parse_unary())
        if not items:
            if self.peek() == "OR":
                raise QueryError("OR needs a term on both sides, like: iran OR iraq")
            if self.peek() == ")":
                raise QueryError("empty parentheses '()'")
            raise QueryError("the query is empty")
        if len(items) == 1:
            return items[0]
        flat: list[Node] = []
        for item in items:
            flat.extend(item.children if isinstance(item, And) else (item,))
        return And(tuple(flat))

    def parse_unary(self) -> Node:
        if self.peek() != "-":
            return self.parse_primary()
        self.take()
        if self.peek() == "OR":
            raise QueryError("'-OR': '-' must be followed by the term it excludes")
        node = self.parse_primary()
        if isinstance(node, Not):
            raise QueryError("an exclusion cannot be excluded again; write the term itself")
        return Not(node)

    def parse_primary(self) -> Node:
        token = self.take()
        if token.kind == "(":
            if self.peek() == ")":
                raise QueryError("empty parentheses '()'")
            node = self.parse_or()
            self.take()  # the ')' (balance was checked before parsing)
            return node
        if token.kind == "PHRASE":
            return self.phrase(token.text, stem_it=token.stem)
        return self.term(token.text)

    def phrase(self, text: str, *, stem_it: bool, source: str | None = None) -> Node:
        found = tuple(words(normalise(text)))
        if not found:
            shown = source if source is not None else f'"{text}"'
            raise QueryError(f"empty phrase {shown}: put at least one word inside the quotes")
        if not stem_it:
            return Phrase(found)
        return Phrase(found, tuple(stem(w, self.language) for w in found), self.language)

    def term(self, raw: str) -> Node:
        text = raw
        stem_it = False
        if text.startswith("~"):
            stem_it = True
            text = text[1:]
            if not text:
                raise QueryError("'~' must be written directly before a word, like ~sanction")
            if text[0] in "#@~" or text.endswith("*"):
                raise QueryError(f"{raw!r}: '~' (any form of a word) only goes before a word or a phrase")
        if text.startswith("#"):
            tag = unicodedata.normalize("NFKC", text[1:]).casefold()
            if not _TAG.fullmatch(tag):
                raise QueryError(f"{raw!r} is not a hashtag: write # followed by letters or digits")
            return Tag(tag)
        if text.startswith("@"):
            name = text[1:]
            if not _USERNAME.fullmatch(name):
                raise QueryError(f"{raw!r} is not a channel username: write @ followed by the name")
            return Channel(name.casefold())
        if "*" in text:
            if text == "*" or set(text) == {"*"}:
                raise QueryError("'*' alone is not a term: put it at the end of a word, like sanction*")
            if text.index("*") != len(text) - 1:
                raise QueryError(f"{raw!r}: '*' may only end a word, like sanction*")
            stem_part = tuple(words(normalise(text[:-1])))
            if not stem_part:
                raise QueryError(f"{raw!r} has no letters or digits before the '*'")
            if len(stem_part) > 1:
                raise QueryError(f"{raw!r}: a prefix* must be one word (no spaces or punctuation)")
            return Prefix(stem_part[0])
        found = tuple(words(normalise(text)))
        if not found:
            raise QueryError(f"{raw!r} has no letters or digits to look for")
        stem_it = stem_it or self.stemming
        if len(found) > 1:  # "U.S.", "covid-19", "Iran's": the words in order
            return self.phrase(text, stem_it=stem_it, source=repr(raw))
        w = found[0]
        if stem_it:
            return Word(w, stem(w, self.language), self.language)
        return Word(w)


def parse_query(
    text: str,
    *,
    max_length: int = 200,
    max_terms: int = 20,
    stemming: bool = False,
    language: str = "english",
) -> Query:
    """Parse ``text``; raise QueryError saying what is wrong if it is not a valid query."""
    if not isinstance(text, str):
        raise QueryError("a query must be text")
    # Emoji and decorative symbols mean nothing to matching (posts lose them in
    # normalisation too); invisible characters would split or change words. The query is
    # kept without them, so "/subscribe iran 🔥" subscribes to "iran".
    cleaned = strip_decorations(strip_invisible(text))
    if cleaned != text:
        text = " ".join(cleaned.split())
        if not text:
            raise QueryError("emoji and symbols are ignored in queries: give at least one word to look for")
    if not text.strip():
        raise QueryError("the query is empty: give at least one word to look for")
    if len(text) > max_length:
        raise QueryError(f"the query is {len(text)} characters long; the limit is {max_length}")
    language = language.strip().casefold()
    folded = unicodedata.normalize("NFKC", text).translate(_QUERY_FOLD)
    tokens = _tokenize(folded)
    _check_parentheses(tokens)
    root = _Parser(tokens, stemming=stemming, language=language).parse()
    count = sum(1 for _ in iter_terms(root))
    if count > max_terms:
        raise QueryError(f"the query has {count} terms; the limit is {max_terms}")
    _check_groups(root)
    if not is_positive(root):
        raise QueryError(
            "a query needs at least one term to look for, not only exclusions: "
            "write 'iran -israel', not '-israel'"
        )
    return Query(text=text, root=root, stemming=stemming, language=language)


def _check_groups(node: Node) -> None:
    """Each OR alternative and each group must look for something (this also lets the
    matcher index every query by the terms it requires)."""
    if isinstance(node, Or):
        if not all(is_positive(c) for c in node.children):
            raise QueryError("each side of OR needs a term to look for, not only exclusions")
    elif isinstance(node, And) and not is_positive(node):
        raise QueryError("a group in parentheses needs a term to look for, not only exclusions")
    if isinstance(node, And | Or):
        for c in node.children:
            _check_groups(c)
    elif isinstance(node, Not):
        _check_groups(node.child)


# --- highlighting -----------------------------------------------------------------------


def _word_spans(text: str) -> list[tuple[str, int, int]]:
    """Normalised words of ``text`` with their spans in ``text`` itself.

    Each run of letters/digits (with combining marks) is normalised on its own, so NFKC or
    casefolding that changes length never shifts a span; a run that folds into several
    words gives each of them the run's span."""
    out: list[tuple[str, int, int]] = []
    start = -1
    n = len(text)
    for i in range(n + 1):
        ch = text[i] if i < n else " "
        inside = ch.isalnum() or (start >= 0 and unicodedata.category(ch) in ("Mn", "Mc"))
        if inside:
            if start < 0:
                start = i
        elif start >= 0:
            for w in words(normalise(text[start:i])):
                out.append((w, start, i))
            start = -1
    return out


_HASHTAG_SPAN = re.compile(r"(?<![\w#])#(\w+)", re.UNICODE)


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """``text``'s normalised words with their spans: what ``highlight_spans`` scans, to
    compute once per text when many queries are highlighted in it."""
    return _word_spans(text)


def highlight_spans(
    text: str,
    query: Query,
    *,
    language: str | None = None,
    tokens: Sequence[tuple[str, int, int]] | None = None,
) -> list[tuple[int, int]]:
    """Sorted, merged ``(start, end)`` spans of ``text`` (the original, not normalised) where
    the query's positive terms occur, for bolding in a digest.

    ``language`` is the snowball language of the text (the post's detected language), so
    ``~word`` terms are stemmed as the matcher stems them (``MatchDoc.language``); None: the
    query's configured language, as before. ``tokens``: ``word_spans(text)`` when already
    computed (many queries highlighted in one text)."""
    terms = query.positive_terms()
    if not terms:
        return []
    if tokens is None:
        tokens = _word_spans(text)
    toks = tuple(t[0] for t in tokens)
    spans: list[tuple[int, int]] = []
    stem_cache: dict[str, tuple[str, ...]] = {}
    seq: tuple[str, ...]
    want: str | None
    run: tuple[str, ...] | None

    def stems(language: str) -> tuple[str, ...]:
        if language not in stem_cache:
            stem_cache[language] = tuple(stem(w, language) for w in toks)
        return stem_cache[language]

    for term in terms:
        if isinstance(term, Word):
            if term.language is None:
                seq, want = toks, term.value
            else:
                in_language = language or term.language
                seq = stems(in_language)
                want = term.stem if in_language == term.language else stem_in(term.value, in_language)
            spans.extend((tokens[i][1], tokens[i][2]) for i, w in enumerate(seq) if w == want)
        elif isinstance(term, Prefix):
            spans.extend((s, e) for w, s, e in tokens if w.startswith(term.value))
        elif isinstance(term, Phrase):
            if term.language is None:
                seq, run = toks, term.words
            else:
                in_language = language or term.language
                seq = stems(in_language)
                run = term.stems if in_language == term.language else stems_in(term.words, in_language)
            assert run is not None
            k = len(run)
            for i in range(len(seq) - k + 1):
                if tuple(seq[i : i + k]) == run:
                    spans.append((tokens[i][1], tokens[i + k - 1][2]))
        elif isinstance(term, Tag):
            for m in _HASHTAG_SPAN.finditer(text):
                if unicodedata.normalize("NFKC", m.group(1)).casefold() == term.value:
                    spans.append((m.start(), m.end()))
    return merge_spans(spans)
