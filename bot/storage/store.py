"""Read side of the SQLite store: posts and stories back as our own types, and their JSON.

Writes of posts and stories go through ``bot.storage.ingest`` (one transaction per batch); this
module only reads, so every consumer (CLI, bot, digests) sees the same shapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.core.clock import from_iso, to_iso
from bot.core.language import snowball_language
from bot.core.models import Post, StoredPost, Story, channel_url
from bot.core.normalise import words
from bot.query.parser import And, MatchDoc, Node, Phrase, Prefix, Query, Word
from bot.storage.schema import POST_COLUMNS

# What a StoredPost needs: the posts columns but the write path's own (normalised text,
# hash, write time, section), then the channel's name.
_READ = tuple(
    name for name in POST_COLUMNS if name not in ("text_norm", "content_hash", "updated_at", "section")
)
_POST_COLUMNS = ", ".join(f"p.{name}" for name in _READ) + ", c.username, c.title"
_AT = {name: i for i, name in enumerate((*_READ, "username", "title"))}


_FTS_SAFE = re.compile(r"[a-z0-9]+")


def required_fts_terms(node: Node) -> list[str]:
    """FTS5 terms that every post matching ``node`` must contain: a prefilter that can never
    drop a match. Only plain ASCII words and prefixes qualify (for them our normaliser and
    FTS5's unicode61 tokenizer agree exactly); they are quoted, so no user text ever
    reaches FTS syntax. ``OR``, exclusions, hashtags, channels and stemmed words add none."""
    if isinstance(node, Word):
        return [f'"{node.value}"'] if node.stem is None and _FTS_SAFE.fullmatch(node.value) else []
    if isinstance(node, Phrase):
        return [f'"{w}"' for w in node.words if _FTS_SAFE.fullmatch(w)] if node.stems is None else []
    if isinstance(node, Prefix):
        return [f'"{node.value}"*'] if _FTS_SAFE.fullmatch(node.value) else []
    if isinstance(node, And):
        return [term for child in node.children for term in required_fts_terms(child)]
    return []


def match_doc(
    text_norm: str, hashtags: Iterable[str], username: str | None, *, language: str | None = None
) -> MatchDoc:
    """What the query language sees of a stored post (its text is already normalised);
    ``language``: the snowball language of the post (``bot.core.language.snowball_language``)."""
    return MatchDoc(
        words=tuple(words(text_norm)),
        hashtags=frozenset(hashtags),
        channel=username.casefold() if username else None,
        language=language,
    )


def _row_to_stored(row: Sequence[Any]) -> StoredPost:
    at = _AT
    post = Post(
        channel_id=row[at["channel_id"]],
        message_id=row[at["message_id"]],
        date=from_iso(row[at["date"]]),  # type: ignore[arg-type]  # posts.date is NOT NULL
        edited_at=from_iso(row[at["edited_at"]]),
        text=row[at["text"]],
        hashtags=tuple(json.loads(row[at["hashtags"]])),
        links=tuple(json.loads(row[at["links"]])),
        media_kind=row[at["media_kind"]],
        grouped_id=row[at["grouped_id"]],
        forward_channel_id=row[at["fwd_channel_id"]],
        forward_message_id=row[at["fwd_message_id"]],
        views=row[at["views"]],
        forwards=row[at["forwards"]],
        channel_username=row[at["username"]],
        channel_title=row[at["title"]],
    )
    return StoredPost(
        post=post, story_id=row[at["story_id"]], categories=tuple(json.loads(row[at["categories"]])),
        lang=row[at["lang"]], news=bool(row[at["news"]]),
    )


class Store:
    """Queries over posts and stories. Cheap to create; holds only the connection."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- posts -----------------------------------------------------------------------

    def posts(
        self,
        *,
        since: datetime | None = None,
        channel_id: int | None = None,
        limit: int | None = None,
    ) -> list[StoredPost]:
        """Posts oldest first, optionally from ``since`` on and of one channel."""
        where: list[str] = ["1 = 1"]
        params: list[str | int] = []
        if since is not None:
            where.append("p.date >= ?")
            params.append(to_iso(since))
        if channel_id is not None:
            where.append("p.channel_id = ?")
            params.append(channel_id)
        sql = (
            f"SELECT {_POST_COLUMNS} FROM posts p JOIN channels c ON c.id = p.channel_id "
            f"WHERE {' AND '.join(where)} ORDER BY p.date, p.channel_id, p.message_id"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_row_to_stored(r) for r in self.db.execute(sql, params)]

    def find_channel_id(self, name: str) -> int | None:
        """The id of a stored channel named by @username, title or numeric id."""
        text = name.strip().lstrip("@")
        if text.lstrip("-").isdigit():
            number = int(text)
            number = int(str(number)[4:]) if str(number).startswith("-100") else abs(number)
            row = self.db.execute("SELECT id FROM channels WHERE id = ?", [number]).fetchone()
        else:
            row = self.db.execute(
                "SELECT id FROM channels WHERE username = ? COLLATE NOCASE OR title = ? COLLATE NOCASE "
                "ORDER BY username IS NULL LIMIT 1",
                [text, name.strip()],
            ).fetchone()
        return row[0] if row else None

    # --- stories ---------------------------------------------------------------------

    def stories(self, story_ids: Iterable[int]) -> list[Story]:
        """The given stories with all their posts, in the order of ``story_ids``."""
        ids = list(dict.fromkeys(story_ids))
        if not ids:
            return []
        by_story: dict[int, list[StoredPost]] = {i: [] for i in ids}
        meta: dict[int, tuple[int, int, list[str], bool]] = {}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT id, rep_channel_id, rep_message_id, categories, news FROM stories WHERE id IN ({marks})",
                chunk,
            ):
                meta[row[0]] = (row[1], row[2], json.loads(row[3]), bool(row[4]))
            for row in self.db.execute(
                f"SELECT {_POST_COLUMNS} FROM posts p JOIN channels c ON c.id = p.channel_id "
                f"WHERE p.story_id IN ({marks}) ORDER BY p.date, p.channel_id, p.message_id",
                chunk,
            ):
                by_story[row[13]].append(_row_to_stored(row))
        result = []
        for story_id in ids:
            posts = by_story.get(story_id) or []
            if story_id not in meta or not posts:
                continue
            rep_key = meta[story_id][:2]
            posts.sort(key=lambda sp: (sp.post.key != rep_key, sp.post.date, sp.post.key))
            result.append(
                Story(id=story_id, posts=tuple(posts), categories=tuple(meta[story_id][2]), news=meta[story_id][3])
            )
        return result

    def story(self, story_id: int) -> Story | None:
        found = self.stories([story_id])
        return found[0] if found else None

    def stories_between(self, start: datetime, end: datetime) -> list[Story]:
        """Stories whose first post is in ``[start, end)``, oldest first."""
        ids = [
            r[0]
            for r in self.db.execute(
                "SELECT id FROM stories WHERE first_date >= ? AND first_date < ? ORDER BY first_date, id",
                [to_iso(start), to_iso(end)],
            )
        ]
        return self.stories(ids)

    def stories_updated_since(self, since: datetime) -> list[Story]:
        """Stories created or changed (a post joined, a post was edited) after ``since``."""
        ids = [
            r[0]
            for r in self.db.execute(
                "SELECT id FROM stories WHERE updated_at > ? ORDER BY first_date, id", [to_iso(since)]
            )
        ]
        return self.stories(ids)

    def search(
        self,
        query: Query,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Story]:
        """Stories with a post matching ``query`` (a ``bot.query.parser.Query``), newest first.

        A story matches when any of its posts matches; it is listed once. Of stories linked
        to each other (a later post showed them to be one, see ``story_links``) only the
        newest matching one is listed.
        """
        where: list[str] = ["1 = 1"]
        params: list[str | int] = []
        if since is not None:
            where.append("s.last_date >= ?")
            params.append(to_iso(since))
        if until is not None:
            where.append("s.first_date < ?")
            params.append(to_iso(until))
        required = sorted(set(required_fts_terms(query.root)))
        if required:
            # The FTS index narrows the scan to posts holding every required word; the
            # query itself still decides (so the prefilter can only save time).
            where.append("p.rowid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
            params.append(" AND ".join(required))
        sql = (
            "SELECT p.story_id, p.text_norm, p.hashtags, c.username, p.lang FROM posts p "
            "JOIN stories s ON s.id = p.story_id JOIN channels c ON c.id = p.channel_id "
            f"WHERE {' AND '.join(where)} ORDER BY s.first_date DESC, s.id DESC"
        )
        found: list[int] = []
        seen: set[int] = set()
        for story_id, text_norm, hashtags, username, lang in self.db.execute(sql, params):
            if story_id in seen:
                continue
            doc = match_doc(text_norm, json.loads(hashtags), username, language=snowball_language(lang))
            if query.matches(doc):
                seen.add(story_id)
                seen.update(self._linked(story_id))
                found.append(story_id)
                if limit is not None and len(found) >= limit:
                    break
        return self.stories(found)

    def _linked(self, story_id: int) -> set[int]:
        """Stories directly linked to ``story_id``."""
        return {
            r[0]
            for r in self.db.execute(
                "SELECT linked_id FROM story_links WHERE story_id = ? "
                "UNION SELECT story_id FROM story_links WHERE linked_id = ?",
                [story_id, story_id],
            )
        }


# --- JSON shapes (the CLI contract: `tgdigest posts`, `search`, `digest`) ----------------

def post_to_json(sp: StoredPost) -> dict[str, Any]:
    p = sp.post
    return {
        "channel_id": p.channel_id,
        "channel": p.channel_username or p.channel_title or str(p.channel_id),
        "message_id": p.message_id,
        "date": to_iso(p.date),
        "edited_at": to_iso(p.edited_at) if p.edited_at else None,
        "text": p.text,
        "hashtags": list(p.hashtags),
        "links": list(p.links),
        "media": p.media_kind,
        "categories": list(sp.categories),
        "news": sp.news,
        "lang": sp.lang,
        "story_id": sp.story_id,
        "url": channel_url(p.channel_id, p.message_id, p.channel_username),
        "forwarded_from": (
            {"channel_id": p.forward_channel_id, "message_id": p.forward_message_id}
            if p.forward_origin
            else None
        ),
        "views": p.views,
    }


def story_to_json(story: Story) -> dict[str, Any]:
    return {
        "story_id": story.id,
        "categories": list(story.categories),
        "news": story.news,
        "posts": [post_to_json(sp) for sp in story.posts],
    }
