"""Subscriptions against stories, as delivery needs them: parsed queries per chat, match
documents per story, and the spans to bold in a story's text."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence

from sqlite_utils import Database

from bot.config import Config
from bot.core.language import snowball_language
from bot.core.models import Story
from bot.core.text import merge_spans
from bot.errors import QueryError
from bot.query.parser import MatchDoc, Query, highlight_spans, parse_query, story_matches

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

    Many chats share stories and queries, so one instance per tick remembers each
    (story, query) result; ``docs`` are the stories' MatchDocs when already built."""

    def __init__(self, docs: dict[int, list[MatchDoc]] | None = None) -> None:
        self._docs = docs if docs is not None else {}
        self._spans: dict[tuple[int, Query], list[tuple[int, int]] | None] = {}

    def spans(self, story: Story, query: Query) -> list[tuple[int, int]] | None:
        key = (story.id, query)
        if key not in self._spans:
            docs = self._docs.get(story.id)
            if docs is None:
                docs = self._docs[story.id] = post_docs(story)
            self._spans[key] = (
                highlight_spans(
                    story.representative.post.text or "",
                    query,
                    language=snowball_language(story.representative.lang),
                )
                if story_matches(query, docs)
                else None
            )
        return self._spans[key]

    def for_chat(self, stories: Sequence[Story], queries: Sequence[Query]) -> dict[int, list[tuple[int, int]]]:
        out: dict[int, list[tuple[int, int]]] = {}
        for story in stories:
            found: list[tuple[int, int]] = []
            for query in queries:
                found.extend(self.spans(story, query) or ())
            out[story.id] = merge_spans(found)
        return out


def highlights_for(stories: Sequence[Story], queries: Sequence[Query]) -> dict[int, list[tuple[int, int]]]:
    """Spans to bold in each story's representative text: the terms of the queries it matched."""
    return Highlighter().for_chat(stories, queries)
