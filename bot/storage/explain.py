"""Why a story holds the posts it holds, and which stories were shown to be one: read side
of ``post_joins`` and ``story_links`` (written by ``bot.storage.ingest``).

``tgdigest story ID`` prints this; digests, alerts and search use the links so that two
stories a later post showed to be one reach a subscriber once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.core.clock import from_iso, to_iso
from bot.core.models import Story
from bot.storage.store import Store, post_to_json

# How each kind of join reads to a person; a "copy" is told apart at read time (below).
_KIND_LABELS = {
    "forward": "forward",
    "exact": "exact copy",
    "repost": "repost (same text; other emoji, credit or links)",
    "copy": "copy",
    "similar": "similar wording",
    "containment": "containment (one text holds the other)",
    "rewrite": "rewrite (same facts in other words)",
    "same post": "already indexed",
}


@dataclass(frozen=True, slots=True)
class JoinReason:
    """Why one post joined its story. ``kind``: forward | exact | repost | similar |
    containment | rewrite (a stored "copy" is told apart into exact copy and repost);
    ``matched``: the post of the story it repeats or forwards, when known."""

    kind: str
    score: float | None
    shared_entities: tuple[str, ...]
    shared_numbers: tuple[str, ...]
    joined_at: datetime | None
    matched: tuple[int, int] | None = None

    @property
    def label(self) -> str:
        return _KIND_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True, slots=True)
class StoryLink:
    """Two stories a later post showed to be one (``story_id`` < ``linked_id``)."""

    story_id: int
    linked_id: int
    reason: str
    linked_at: datetime | None

    def other(self, story_id: int) -> int:
        return self.linked_id if story_id == self.story_id else self.story_id


@dataclass(frozen=True, slots=True)
class StoryExplanation:
    story: Story
    joins: dict[tuple[int, int], JoinReason]  # posts without an entry started the story
    links: tuple[StoryLink, ...]


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def links_of(db: Database, story_ids: Iterable[int]) -> list[StoryLink]:
    """The links touching any of ``story_ids``."""
    ids = sorted(set(story_ids))
    found: dict[tuple[int, int], StoryLink] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for row in db.execute(
            "SELECT story_id, linked_id, reason, linked_at FROM story_links "
            f"WHERE story_id IN ({marks}) OR linked_id IN ({marks})",
            [*chunk, *chunk],
        ):
            found[(row[0], row[1])] = StoryLink(row[0], row[1], row[2], from_iso(row[3]))
    return sorted(found.values(), key=lambda link: (link.story_id, link.linked_id))


def linked_groups(db: Database, story_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """Each given story → every story linked to it, directly or through others (itself included)."""
    ids = set(story_ids)
    neighbours: dict[int, set[int]] = {}
    frontier = set(ids)
    seen: set[int] = set()
    while frontier:  # follow links outwards until no new story appears (groups are tiny)
        seen |= frontier
        new: set[int] = set()
        for link in links_of(db, frontier):
            neighbours.setdefault(link.story_id, set()).add(link.linked_id)
            neighbours.setdefault(link.linked_id, set()).add(link.story_id)
            new |= {link.story_id, link.linked_id}
        frontier = new - seen
    groups: dict[int, frozenset[int]] = {}
    for story_id in ids:
        if story_id in groups:
            continue
        group, todo = {story_id}, [story_id]
        while todo:
            for other in neighbours.get(todo.pop(), ()):
                if other not in group:
                    group.add(other)
                    todo.append(other)
        frozen = frozenset(group)
        for member in frozen & ids:
            groups[member] = frozen
    return groups


def explain_story(db: Database, story_id: int) -> StoryExplanation | None:
    """A story with, for each post after the first, why it joined; None if there is no such story."""
    story = Store(db).story(story_id)
    if story is None:
        return None
    hashes: dict[tuple[int, int], str] = {}
    for row in db.execute(
        "SELECT channel_id, message_id, content_hash FROM posts WHERE story_id = ?", [story_id]
    ):
        hashes[(row[0], row[1])] = row[2]
    by_key = {sp.post.key: sp.post for sp in story.posts}
    order = sorted(story.posts, key=lambda sp: (sp.post.date, sp.post.key))
    joins: dict[tuple[int, int], JoinReason] = {}
    for row in db.execute(
        "SELECT channel_id, message_id, kind, score, shared_entities, shared_numbers, joined_at "
        "FROM post_joins WHERE story_id = ?",
        [story_id],
    ):
        key = (row[0], row[1])
        post = by_key.get(key)
        if post is None:
            continue
        kind, matched = row[2], None
        if kind == "forward" and post.forward_origin in by_key:
            matched = post.forward_origin
        elif kind == "copy":
            # The same canonical text as an earlier post: the same characters, or a repost
            # that differs in emoji, credit lines or links.
            twin = next(
                (sp.post for sp in order if sp.post.key != key and hashes.get(sp.post.key) == hashes.get(key)),
                None,
            )
            if twin is not None:
                matched = twin.key
                kind = "exact" if twin.text == post.text else "repost"
        joins[key] = JoinReason(
            kind=kind,
            score=row[3],
            shared_entities=tuple(json.loads(row[4])),
            shared_numbers=tuple(json.loads(row[5])),
            joined_at=from_iso(row[6]),
            matched=matched,
        )
    return StoryExplanation(story, joins, tuple(links_of(db, [story_id])))


def join_to_json(reason: JoinReason | None) -> dict[str, Any] | None:
    if reason is None:
        return None
    return {
        "kind": reason.kind,
        "label": reason.label,
        "score": reason.score,
        "shared_entities": list(reason.shared_entities),
        "shared_numbers": list(reason.shared_numbers),
        "matched": {"channel_id": reason.matched[0], "message_id": reason.matched[1]} if reason.matched else None,
        "joined_at": to_iso(reason.joined_at) if reason.joined_at else None,
    }


def explanation_to_json(explained: StoryExplanation) -> dict[str, Any]:
    """The ``tgdigest story ID --format json`` shape."""
    story = explained.story
    return {
        "story_id": story.id,
        "categories": list(story.categories),
        "news": story.news,
        "channels": len({sp.post.channel_id for sp in story.posts}),
        "posts": [
            {**post_to_json(sp), "joined": join_to_json(explained.joins.get(sp.post.key))}
            for sp in story.posts
        ],
        "linked": [
            {
                "story_id": link.other(story.id),
                "reason": link.reason,
                "linked_at": to_iso(link.linked_at) if link.linked_at else None,
            }
            for link in explained.links
        ],
    }
