"""Instant alerts for urgent subscriptions (``/alert QUERY``).

After each collection pass the service calls ``DigestService.send_alerts``: the stories
created or changed since the previous pass (``stories.updated_at``: a new story, a post
joining it, an edit) are matched against every urgent subscription of active, unpaused
subscribers with the same rule as digests (a story matches when any of its posts does).
Each chat gets one alert message for its new matches (several stories arriving together are
batched into one message, split at 4,096 like a digest).

"Once" comes from the deliveries table, shared with digests (one row per chat and story):
a story already alerted or already in a digest is never alerted again, and a story alerted
is never repeated in the digest. So an edit that makes a story match alerts once, and an
edit that does not add a match -- the story did not match, or it matched and was already
delivered -- never alerts.

Mutes apply (``bot.digests.selection.apply_mutes``). An alert goes without a notification
(``disable_notification``) when every story in it came through a "silent" subscription.

Old stories never alert: only stories first published within ``first_lookback_hours`` count,
so an import or backfill does not flood anyone. Alerts go through the same outbox as digests
(kind ``alert``), with the same exactly-once delivery.

The pass remembers how far it got in ``meta['alerts.cursor']``; it re-reads a few minutes
before it (``overlap``) so a story written while the previous pass ran is not missed; the
re-read is harmless because deliveries make it idempotent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlite_utils import Database

from bot.config import Config
from bot.core.clock import from_iso, to_iso
from bot.core.models import Story
from bot.digests.matching import highlights_for, story_docs, subscription_queries
from bot.digests.outbox import Outbox, already_given
from bot.digests.render import render_alert
from bot.digests.selection import apply_mutes, fold_linked
from bot.query.matcher import SubscriptionIndex
from bot.query.parser import story_matches
from bot.storage.db import get_meta, set_meta, write_transaction
from bot.storage.explain import linked_groups
from bot.storage.store import Store
from bot.storage.subscribers import mutes_of

CURSOR_KEY = "alerts.cursor"
DEFAULT_OVERLAP = timedelta(minutes=5)


def select_alert_stories(
    stories: Sequence[Story],
    *,
    matched: Collection[int],
    already: Collection[int],
    not_before: datetime,
    include_nonnews: bool = False,
) -> list[Story]:
    """Matched stories first published at or after ``not_before`` that the chat has not had
    (stories that are not news only when the chat asked for them)."""
    chosen: dict[int, Story] = {}
    for story in stories:
        if not story.news and not include_nonnews:
            continue
        if story.id in matched and story.id not in already and story.posts and story.first_date >= not_before:
            chosen.setdefault(story.id, story)
    return sorted(chosen.values(), key=lambda s: (s.first_date, s.id))


def silent_subscriptions(db: Database, chat_ids: Collection[int]) -> set[int]:
    """Ids of the "silent" subscriptions (alerts sent without a notification) of these chats."""
    ids = list(chat_ids)
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            r[0] for r in db.execute(
                f"SELECT id FROM subscriptions WHERE urgent = 1 AND silent = 1 AND chat_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
        )
    return found


def urgent_chats(db: Database) -> list[int]:
    return [
        r[0]
        for r in db.execute(
            "SELECT DISTINCT s.chat_id FROM subscribers s JOIN subscriptions x ON x.chat_id = s.chat_id "
            "WHERE s.active = 1 AND s.paused = 0 AND x.urgent = 1 ORDER BY s.chat_id"
        )
    ]


def build_alerts(
    db: Database,
    config: Config,
    *,
    outbox: Outbox,
    now: datetime,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> list[int]:
    """Store one alert per chat with new urgent matches; return the outbox ids to send."""
    # First pass ever: only what changed in the last few minutes; history is for digests.
    cursor = from_iso(get_meta(db, CURSOR_KEY)) or now
    chats = urgent_chats(db)
    stories = Store(db).stories_updated_since(cursor - overlap) if chats else []
    if not stories:
        set_meta(db, CURSOR_KEY, to_iso(max(now, cursor)))
        return []
    queries = subscription_queries(db, config, chats, urgent_only=True)
    index = SubscriptionIndex((sub_id, chat_id, q) for chat_id, subs in queries.items() for sub_id, q in subs)
    docs = story_docs(stories)
    matched = index.match(docs)
    docs_by_story = dict(docs)
    silent_ids = silent_subscriptions(db, chats)
    not_before = now - timedelta(hours=config.digest.first_lookback_hours)
    created: list[int] = []
    for chat_id in chats:
        mine = matched.get(chat_id)
        if not mine:
            continue
        with write_transaction(db):
            fresh = db.execute(
                "SELECT include_nonnews FROM subscribers WHERE chat_id = ? AND active = 1 AND paused = 0", [chat_id]
            ).fetchone()
            if not fresh:
                continue
            mutes = mutes_of(db, chat_id)
            chosen = select_alert_stories(
                apply_mutes(stories, mutes) if mutes else stories, matched=mine,
                already=already_given(db, chat_id), not_before=not_before, include_nonnews=bool(fresh[0]),
            )
            if not chosen:
                continue
            # stories a later post showed to be one (linked) are alerted as one
            chosen = fold_linked(chosen, linked_groups(db, [s.id for s in chosen]))
            parts = render_alert(
                chosen,
                highlights=highlights_for(chosen, [q for _, q in queries.get(chat_id, [])]),
                snippet_length=min(config.digest.snippet_length, 160),
            )
            # Quiet only when every story came through a "silent" subscription: one that
            # matched through a loud alert is worth the notification.
            loud = [q for sub_id, q in queries.get(chat_id, []) if sub_id not in silent_ids]
            silent = not any(story_matches(q, docs_by_story[s.id]) for s in chosen for q in loud)
            created.append(outbox.store(chat_id=chat_id, kind="alert", parts=parts, now=now, silent=silent))
    set_meta(db, CURSOR_KEY, to_iso(max(now, cursor)))
    return created
