"""Subscriptions against stories, as delivery needs them: parsed queries per chat, match
documents per story, and the spans to bold in a story's text."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet

from sqlite_utils import Database

from bot.config import Config
from bot.core.language import snowball_language
from bot.core.models import Story
from bot.core.text import merge_spans
from bot.errors import QueryError
from bot.query.parser import (
    MatchDoc,
    Node,
    Query,
    Term,
    parse_query,
    stem,
    story_matches,
    term_spans,
    word_spans,
)

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=100_000)
def _parse_cached(text: str, stemming: bool, language: str) -> Query:
    return parse_query(text, max_length=10_000, max_terms=1_000, stemming=stemming, language=language)


def subscription_queries(
    db: Database, config: Config, chat_ids: Iterable[int], *, urgent_only: bool = False
) -> dict[int, list[tuple[int, Query]]]:
    """Parsed subscriptions per chat. A stored query that no longer parses is logged and skipped."""
    ids = list(chat_ids)
    found: dict[int, list[tuple[int, Query]]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT id, chat_id, query FROM subscriptions WHERE chat_id IN ({marks})"
        if urgent_only:
            sql += " AND urgent = 1"
        for sub_id, chat_id, text in db.execute(sql + " ORDER BY id", chunk):
            try:
                query = _parse_cached(text, config.query.stemming, config.query.language)
            except QueryError as e:
                log.warning("subscription %s of chat %s is skipped: %s", sub_id, chat_id, e)
                continue
            found.setdefault(chat_id, []).append((sub_id, query))
    return found


def post_docs(story: Story) -> list[MatchDoc]:
    """Match documents of a story's posts, each stemmed in its post's own language."""
    return [MatchDoc.from_post(sp.post, language=snowball_language(sp.lang)) for sp in story.posts]


def story_docs(stories: Sequence[Story]) -> list[tuple[int, list[MatchDoc]]]:
    return [(s.id, post_docs(s)) for s in stories]


class Highlighter:
    """Spans to bold in each story's representative text: the terms of the queries it matched.

    Many chats share stories and queries, so one instance per tick remembers each story's
    tokens and each (story, query) result. ``docs`` are the stories' MatchDocs when already
    built; ``matched`` the stories each query tree matched (from
    ``SubscriptionIndex.match_with_queries``), so no query is run again here. Its memory is
    bounded: the (story, query) results are dropped every ``max_cached`` entries.
    """

    def __init__(
        self,
        docs: dict[int, list[MatchDoc]] | None = None,
        *,
        matched: Mapping[Node, AbstractSet[int]] | None = None,
        max_cached: int = 200_000,
    ) -> None:
        self._docs = docs if docs is not None else {}
        self._matched = matched
        self._max_cached = max_cached
        self._tokens: dict[int, list[tuple[str, int, int]]] = {}
        # Per story: its words and their stems per language, and each term's spans in it.
        # Chats' queries differ but share their terms, so a (story, term) is looked for once
        # a tick rather than once per (story, query) -- the same spans, ``highlight_spans``
        # being the union of its terms' spans.
        self._words: dict[int, tuple[str, ...]] = {}
        self._stems: dict[tuple[int, str], tuple[str, ...]] = {}
        self._term_cache: dict[tuple[int, Term], list[tuple[int, int]]] = {}
        self._query_terms: dict[str, tuple[Term, ...]] = {}
        self._spans: dict[tuple[int, str], list[tuple[int, int]] | None] = {}

    def _hits(self, query: Query) -> AbstractSet[int] | None:
        """The stories ``query`` matched, when known from the bulk matcher."""
        return self._matched.get(query.root) if self._matched is not None else None

    def _matches(self, story: Story, query: Query, hits: AbstractSet[int] | None) -> bool:
        if self._matched is not None:
            return hits is not None and story.id in hits
        docs = self._docs.get(story.id)
        if docs is None:
            docs = self._docs[story.id] = post_docs(story)
        return story_matches(query, docs)

    def _terms(self, query: Query) -> tuple[Term, ...]:
        found = self._query_terms.get(query.text)
        if found is None:
            found = self._query_terms[query.text] = query.positive_terms()
        return found

    def _term_spans(self, story: Story, term: Term) -> list[tuple[int, int]]:
        key = (story.id, term)
        found = self._term_cache.get(key)
        if found is not None:
            return found
        text = story.representative.post.text or ""
        tokens = self._tokens.get(story.id)
        if tokens is None:
            if len(self._tokens) >= self._max_cached // 10:
                self._tokens.clear()
                self._words.clear()
                self._stems.clear()
            tokens = self._tokens[story.id] = word_spans(text)
        words = self._words.get(story.id)
        if words is None:
            words = self._words[story.id] = tuple(t[0] for t in tokens)

        def stems(language: str) -> tuple[str, ...]:
            got = self._stems.get((story.id, language))
            if got is None:
                got = self._stems[(story.id, language)] = tuple(stem(w, language) for w in words)
            return got

        found = term_spans(
            text, term, language=snowball_language(story.representative.lang), tokens=tokens,
            token_words=words, stems=stems,
        )
        if len(self._term_cache) >= self._max_cached:
            self._term_cache.clear()
        self._term_cache[key] = found
        return found

    def spans(
        self, story: Story, query: Query, *, hits: AbstractSet[int] | None = None
    ) -> list[tuple[int, int]] | None:
        # Keyed by the query's text: hashing its tree (nested frozen dataclasses) on every
        # lookup cost more than the highlighting. One tick has one query configuration.
        key = (story.id, query.text)
        if key in self._spans:
            return self._spans[key]
        found: list[tuple[int, int]] | None = None
        if self._matches(story, query, hits if hits is not None else self._hits(query)):
            found = merge_spans(span for term in self._terms(query) for span in self._term_spans(story, term))
        if len(self._spans) >= self._max_cached:
            self._spans.clear()
        self._spans[key] = found
        return found

    def for_chat(self, stories: Sequence[Story], queries: Sequence[Query]) -> dict[int, list[tuple[int, int]]]:
        with_hits = [(q, self._hits(q)) for q in queries]
        if self._matched is None:
            out: dict[int, list[tuple[int, int]]] = {}
            for story in stories:
                found: list[tuple[int, int]] = []
                for query, hits in with_hits:
                    found.extend(self.spans(story, query, hits=hits) or ())
                out[story.id] = merge_spans(found)
            return out
        # From the bulk matcher: each query's terms' spans in the stories it matched, joined
        # once per story (the union is the same however it is grouped).
        with_terms = [(self._terms(q), h) for q, h in with_hits if h]  # queries that matched nothing: skip
        out = {}
        for story in stories:
            found = []
            for terms, hits in with_terms:
                if story.id in hits:
                    for term in terms:
                        found.extend(self._term_spans(story, term))
            out[story.id] = merge_spans(found)
        return out


def highlights_for(stories: Sequence[Story], queries: Sequence[Query]) -> dict[int, list[tuple[int, int]]]:
    """Spans to bold in each story's representative text: the terms of the queries it matched."""
    return Highlighter().for_chat(stories, queries)
