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
from bot.query.parser import MatchDoc, Node, Query, highlight_spans, parse_query, story_matches, word_spans

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
            text = story.representative.post.text or ""
            tokens = self._tokens.get(story.id)
            if tokens is None:
                if len(self._tokens) >= self._max_cached // 10:
                    self._tokens.clear()
                tokens = self._tokens[story.id] = word_spans(text)
            found = highlight_spans(
                text, query, language=snowball_language(story.representative.lang), tokens=tokens
            )
        if len(self._spans) >= self._max_cached:
            self._spans.clear()
        self._spans[key] = found
        return found

    def for_chat(self, stories: Sequence[Story], queries: Sequence[Query]) -> dict[int, list[tuple[int, int]]]:
        with_hits = [(q, self._hits(q)) for q in queries]
        if self._matched is not None:
            with_hits = [(q, h) for q, h in with_hits if h]  # queries that matched nothing
        out: dict[int, list[tuple[int, int]]] = {}
        for story in stories:
            found: list[tuple[int, int]] = []
            for query, hits in with_hits:
                if self._matched is not None and story.id not in hits:  # type: ignore[operator]
                    continue
                found.extend(self.spans(story, query, hits=hits) or ())
            out[story.id] = merge_spans(found)
        return out


def highlights_for(stories: Sequence[Story], queries: Sequence[Query]) -> dict[int, list[tuple[int, int]]]:
    """Spans to bold in each story's representative text: the terms of the queries it matched."""
    return Highlighter().for_chat(stories, queries)
