"""The write path every source shares: posts → normalise → dedupe → categorise → store.

Imports, the Telethon collector and the web-preview source all hand their ``Post`` s to
``Ingestor.ingest``, which writes one batch (and, for collectors, the channel cursors) in a
single transaction: a crash part-way stores nothing of the batch and moves no cursor, so
the next run fetches the same posts again and nothing is skipped or repeated.

Rules kept here:
- A post is keyed by (channel id, message id). Seeing it again with other text or a newer
  edit date updates it in place (``edited_at`` kept); it never becomes a second post.
- An edited post stays in its story: re-clustering on every edit would make stories flicker
  in digests already sent. Its categories are recomputed and the story is marked updated,
  so urgent alerts can notice an edit that adds a match.
- A story's representative is its earliest post; its custom categories are the union of its
  posts', its built-in section (``bot.stories.sections``) their majority, and it is news when
  at least half its posts are.
- Story ids never change: a post joins the story already stored (so a story already in a
  digest keeps its id), and why it joined is stored with it (``post_joins``). When a post
  matches two stored stories, it joins the best match and the two are *linked*
  (``story_links``), never merged or renumbered; only on word-level evidence (``LINK_KINDS``).
- The in-memory index sees every stored post, also those another process wrote (an import
  while the service runs): each batch first indexes the rows stored since the last one
  (by rowid), so a repeat collected afterwards folds into their story.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta

from sqlite_utils import Database

from bot.config import Config
from bot.core.clock import from_iso, to_iso, utcnow
from bot.core.gcpace import fewer_collections
from bot.core.language import detect_language, snowball_language
from bot.core.models import Post
from bot.core.normalise import extract_hashtags, join_forms, piece_forms
from bot.core.pieces import split_pieces
from bot.errors import ImportFormatError
from bot.storage.db import get_meta, set_meta
from bot.storage.schema import POST_COLUMNS
from bot.stories.categorise import Categoriser
from bot.stories.dedupe import DedupeItem, Fingerprint, Join, StoryIndex, fingerprints
from bot.stories.sections import Verdict, majority_section, section_model

log = logging.getLogger(__name__)

CATEGORIES_META_KEY = "categories_hash"
# A post that also matches a second story links the two only on word-level evidence: a link
# keeps the linked story from subscribers who had the other, so it must be as sure as a copy.
# A retelling of both (shared names and numbers alone) joins its best story but links nothing.
LINK_KINDS = frozenset({"forward", "copy", "similar", "containment"})


class ChannelConflict(ImportFormatError):
    """Posts name a channel username that another stored channel already has."""

_POST_COLUMNS = ", ".join(POST_COLUMNS)
_STORY_STATE_SELECT = (
    "SELECT id, rep_channel_id, rep_message_id, first_date, last_date, post_count, categories, news_posts, "
    "section_votes FROM stories"
)


@dataclass(slots=True)
class IngestResult:
    """What one or more ``ingest`` calls did. ``duplicate``: new posts that joined an
    existing story (the repeats tgdigest exists to fold away)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    stories_new: int = 0
    changed_story_ids: set[int] = field(default_factory=set)

    def add(self, other: IngestResult) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.duplicate += other.duplicate
        self.stories_new += other.stories_new
        self.changed_story_ids |= other.changed_story_ids

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class Prepared:
    """A post with what the pure stages derived from it; made by ``prepare``, possibly in
    another process (imports), then stored by ``Ingestor.ingest_prepared``."""

    post: Post
    text_norm: str
    fingerprint: Fingerprint
    hashtags: tuple[str, ...]
    categories: tuple[str, ...]  # the custom categories, then the built-in section if any
    lang: str | None = None  # None: no text to tell
    news: bool = True
    section: str | None = None


def prepare(post: Post, categoriser: Categoriser, *, sections: bool = True) -> Prepared:
    """The pure half of ingesting a post: normalise, dedupe fingerprint, hashtags, language,
    categories, news or not. ``sections=False`` leaves out the built-in section and the news
    verdict (``news`` stays True, ``section`` None, only custom categories) for
    ``with_section`` to add later, maybe in another process: an import's reading worker does
    so to share the work evenly with the writer."""
    return prepare_batch([post], categoriser, sections=sections)[0]


def prepare_batch(posts: Sequence[Post], categoriser: Categoriser, *, sections: bool = True) -> list[Prepared]:
    """``[prepare(post, categoriser, sections=sections) for post in posts]``, done stage by
    stage over the whole batch: each stage's code and caches then stay hot in the CPU
    instead of taking turns with the others, ~10% less CPU a post than post by post
    (bench/ingest.py's posts, batches of 1,000; the results are the same)."""
    texts = [post.text for post in posts]
    # the raw texts' lines and sentences: normalising and name reading are done once per
    # distinct piece (news repeats them), the rest per post
    pieces = list(map(split_pieces, texts))
    # each piece's normalised form, which the categories and sections also read piece by piece
    forms = list(map(piece_forms, pieces))
    norms = list(map(join_forms, forms))
    # every source extracts the hashtags; this covers any that did not
    hashtags = [post.hashtags if post.hashtags or "#" not in post.text else extract_hashtags(post.text) for post in posts]
    langs = [detect_language(text) if text_norm else None for text, text_norm in zip(texts, norms, strict=True)]
    categories = [
        categoriser.categories_of(text_norm, tags, post.channel_username, language=snowball_language(lang),
                                  forms=text_forms)
        for post, text_norm, text_forms, tags, lang in zip(posts, norms, forms, hashtags, langs, strict=True)
    ]
    made = fingerprints(norms, texts, pieces)
    if not sections:
        return [
            Prepared(post, text_norm, printed, tags, found, lang=lang)
            for post, text_norm, printed, tags, found, lang in zip(posts, norms, made, hashtags, categories, langs,
                                                                    strict=True)
        ]
    # the verdicts first, so each Prepared is built once (not again by ``with_section``)
    verdicts = [categoriser.verdict(text_norm) for text_norm in norms]
    return list(map(_with_verdict, posts, norms, made, hashtags, categories, langs, verdicts))


def with_section(item: Prepared, categoriser: Categoriser) -> Prepared:
    """``item``, from ``prepare(..., sections=False)``, as ``prepare`` would have made it:
    with its built-in section (also last among its categories) and news verdict."""
    verdict = categoriser.verdict(item.text_norm)
    if verdict.section is None and verdict.news:
        return item
    return _with_verdict(item.post, item.text_norm, item.fingerprint, item.hashtags, item.categories, item.lang,
                         verdict)


def _with_verdict(post: Post, text_norm: str, printed: Fingerprint, hashtags: tuple[str, ...],
                  categories: tuple[str, ...], lang: str | None, verdict: Verdict) -> Prepared:
    """The ``Prepared`` of these parts with the built-in section (also last among the
    categories) and news verdict."""
    # Built field by field: dataclasses.replace costs twice as much, and an import builds one
    # for every post (_PREPARED_FIELDS makes a new field fail here, not vanish).
    if verdict.section is not None:
        return Prepared(post, text_norm, printed, hashtags, (*categories, verdict.section), lang, verdict.news,
                        verdict.section)
    return Prepared(post, text_norm, printed, hashtags, categories, lang, verdict.news, None)


_PREPARED_FIELDS = ("post", "text_norm", "fingerprint", "hashtags", "categories", "lang", "news", "section")
assert tuple(f.name for f in fields(Prepared)) == _PREPARED_FIELDS, "with_section builds every field of Prepared"


@dataclass(slots=True)
class _StoryState:
    rep_key: tuple[int, int]
    first_date: datetime
    last_date: datetime
    post_count: int
    categories: Sequence[str]  # custom categories only; the section comes from section_votes
    news_posts: int = 1
    section_votes: dict[str, int] = field(default_factory=dict)
    is_new: bool = False
    # the stored forms of first_date and last_date when known (a post's date is formatted
    # once, for its row and its story's); None: format them when the row is written
    first_iso: str | None = None
    last_iso: str | None = None

    def vote(self, section: str | None, news: bool, weight: int = 1) -> None:
        key = section or ""
        self.section_votes[key] = self.section_votes.get(key, 0) + weight
        if self.section_votes[key] <= 0:
            del self.section_votes[key]
        self.news_posts += weight if news else 0

    def join(self, key: tuple[int, int], when: datetime, when_iso: str, custom: Sequence[str], section: str | None,
             news: bool, rank: Mapping[str, int]) -> None:
        """A new post joined the story (``when_iso``: ``to_iso(when)``)."""
        self.post_count += 1
        if when < self.first_date:
            self.first_date, self.rep_key, self.first_iso = when, key, when_iso
        if when > self.last_date:
            self.last_date, self.last_iso = when, when_iso
        self.categories = _union(self.categories, custom, rank)
        self.vote(section, news)

    def edit(self, custom: Sequence[str], old_section: str | None, old_news: bool, section: str | None, news: bool,
             rank: Mapping[str, int]) -> None:
        """One of the story's posts changed: its categories add to the story's, its vote moves."""
        self.categories = _union(self.categories, custom, rank)
        self.vote(old_section, old_news, -1)
        self.vote(section, news)


class _StoryGone(Exception):
    """A stored story the batch joined was deleted meanwhile (retention, maybe in another process)."""


class Ingestor:
    """Stores posts for one database. Keeps a dedupe index of the recent window in memory,
    loaded lazily day by day from the database, so a long-running process pays once."""

    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config
        self.window = timedelta(days=config.dedupe.window_days)
        self.index = StoryIndex(window=self.window, similarity=config.dedupe.similarity)
        self.categoriser = Categoriser.from_config(config)
        self._loaded_days: set[date] = set()
        self._known_channels: set[int] = set()
        self._next_story_id: int | None = None
        # posts.rowid up to which every stored post is in the index (or will be, when its
        # day is loaded); None until the first batch
        self._indexed_rowid: int | None = None
        self._joins: list[tuple] = []  # this batch's post_joins rows
        # the custom categories' names in config order (the categoriser's): for _union and membership
        self._category_rank = {name: i for i, name in enumerate(self.categoriser.names)}
        self._links: dict[tuple[int, int], str] = {}  # this batch's story_links
        # Stored stories the batch changes are read with one SELECT after its posts are
        # placed, not one per story: meanwhile their changes wait here, in order (story id →
        # [(_StoryState method, its arguments)]), taking each story to exist still. If one
        # does not, the batch is undone and done again reading each story as it is joined.
        self._read_stories_later = True
        self._story_changes: dict[int, list[tuple[Callable[..., None], tuple]]] = {}

    def _forget_cache(self) -> None:
        """After a rolled-back batch, in-memory state may name rows that were never stored."""
        self.index = StoryIndex(window=self.window, similarity=self.config.dedupe.similarity)
        self._loaded_days.clear()
        self._known_channels.clear()
        self._next_story_id = None
        self._indexed_rowid = None

    # --- public ------------------------------------------------------------------------

    def ingest(
        self, posts: Iterable[Post], *, cursors: Mapping[int, int] | None = None
    ) -> IngestResult:
        """Store ``posts`` and move ``cursors`` (channel id → last message id) in one transaction."""
        return self.ingest_prepared(prepare_batch(list(posts), self.categoriser), cursors=cursors)

    def ingest_prepared(
        self, prepared: Iterable[Prepared], *, cursors: Mapping[int, int] | None = None
    ) -> IngestResult:
        """``ingest`` for posts already through ``prepare`` (the categories must be this config's)."""
        items = list(prepared)
        if not items and not cursors:
            return IngestResult()
        try:
            return self._ingest_batch(items, cursors, read_stories_later=True)
        except _StoryGone:
            # Rolled back (and the index forgotten): the rare batch that joins a story deleted
            # since it was indexed runs again the careful way, and starts a new story instead.
            return self._ingest_batch(items, cursors, read_stories_later=False)

    def _ingest_batch(
        self, items: list[Prepared], cursors: Mapping[int, int] | None, *, read_stories_later: bool
    ) -> IngestResult:
        batch = [item.post for item in items]
        result = IngestResult()
        now = to_iso(utcnow())
        self._read_stories_later = read_stories_later
        try:
            with fewer_collections(BATCH_GC_THRESHOLD), self.db.atomic():
                # Story rows are written after their posts (once the batch settled each
                # story's representative), so check references at commit, not per row.
                self.db.execute("PRAGMA defer_foreign_keys = ON")
                self._catch_up()
                self._joins, self._links, self._story_changes = [], {}, {}
                self._ensure_channels(batch, now)
                existing = self._existing(batch)
                stored_keys = set(existing)  # before _ingest_one adds this batch's new posts to it
                stories: dict[int, _StoryState] = {}
                rows: dict[tuple[int, int], tuple] = {}
                for item in sorted(items, key=_BATCH_ORDER):
                    self._ingest_one(item, existing, stories, rows, result, now)
                self._read_changed_stories(stories)
                self._write_posts(rows, existing_keys=stored_keys)
                self._write_stories(stories, now)
                self._write_joins(now)
                # every row up to here is ours (one writer at a time) and indexed
                self._indexed_rowid = self._max_rowid()
                if cursors:
                    self.db.conn.executemany(
                        "UPDATE channels SET last_message_id = max(last_message_id, ?) WHERE id = ?",
                        [(last, channel_id) for channel_id, last in cursors.items()],
                    )
        except BaseException:
            self._forget_cache()
            raise
        finally:
            self._story_changes = {}
        return result

    def recategorise(self) -> int:
        """Recompute every post's language, news flag, section and categories, and every
        story's, from the config and the shipped model; returns stories changed."""
        with self.db.atomic():
            stories: dict[int, _StoryState] = {}
            updates = []
            rows = self.db.execute(
                "SELECT p.channel_id, p.message_id, p.text, p.text_norm, p.hashtags, c.username, p.story_id, "
                "p.categories, p.lang, p.news, p.section FROM posts p JOIN channels c ON c.id = p.channel_id"
            ).fetchall()
            for channel_id, message_id, text, text_norm, hashtags, username, story_id, *old in rows:
                lang = detect_language(text) if text_norm else None
                custom = self.categoriser.categories_of(
                    text_norm, json.loads(hashtags), username, language=snowball_language(lang)
                )
                verdict = self.categoriser.verdict(text_norm)
                cats = _json_list([*custom, verdict.section] if verdict.section else custom)
                state = stories.setdefault(story_id, _StoryState(
                    rep_key=(0, 0), first_date=_EPOCH, last_date=_EPOCH, post_count=0, categories=[],
                    news_posts=0,
                ))
                state.categories = _union(state.categories, custom, self._category_rank)
                state.vote(verdict.section, verdict.news)
                new = [cats, lang, int(verdict.news), verdict.section]
                if new != old:
                    updates.append((*new, channel_id, message_id))
            self.db.conn.executemany(
                "UPDATE posts SET categories = ?, lang = ?, news = ?, section = ? "
                "WHERE channel_id = ? AND message_id = ?",
                updates,
            )
            story_updates = []
            for story_id, post_count, *old in self.db.execute(
                "SELECT id, post_count, categories, news, news_posts, section_votes FROM stories"
            ).fetchall():
                state = stories.get(story_id) or _StoryState(
                    rep_key=(0, 0), first_date=_EPOCH, last_date=_EPOCH, post_count=0, categories=[],
                    news_posts=0,
                )
                categories, votes = _story_fields(state)
                new = [categories, int(state.news_posts * 2 >= post_count), state.news_posts, votes]
                if new != old:
                    story_updates.append((*new, story_id))
            self.db.conn.executemany(
                "UPDATE stories SET categories = ?, news = ?, news_posts = ?, section_votes = ? WHERE id = ?",
                story_updates,
            )
            set_meta(self.db, CATEGORIES_META_KEY, categories_fingerprint(self.config))
        return len(story_updates)

    def ensure_categories_current(self) -> bool:
        """Recategorise if the configured categories changed since last time; True if it ran."""
        if get_meta(self.db, CATEGORIES_META_KEY) == categories_fingerprint(self.config):
            return False
        has_posts = self.db.execute("SELECT 1 FROM posts LIMIT 1").fetchone() is not None
        if has_posts:
            log.info("categories or the sections model changed: recategorising stored posts")
            self.recategorise()
        else:
            set_meta(self.db, CATEGORIES_META_KEY, categories_fingerprint(self.config))
        return has_posts

    def forget_before(self, cutoff: datetime) -> None:
        """Drop what retention deleted from the in-memory dedupe index (long-running service)."""
        self.index.prune(cutoff)
        self._loaded_days = {d for d in self._loaded_days if d >= cutoff.date()}

    # --- internals ---------------------------------------------------------------------

    def _ensure_channels(self, batch: list[Post], now: str) -> None:
        seen: dict[int, Post] = {}
        for post in batch:
            if post.channel_id not in self._known_channels:
                seen.setdefault(post.channel_id, post)
        for channel_id, post in seen.items():
            if post.channel_username:
                other = self.db.execute(
                    "SELECT id, title FROM channels WHERE username = ? COLLATE NOCASE AND id != ?",
                    [post.channel_username, channel_id],
                ).fetchone()
                if other is not None:
                    raise ChannelConflict(
                        f"@{post.channel_username} is already the username of channel {other[0]} "
                        f"({other[1] or 'no title'}), not of {post.channel_title or channel_id}: "
                        "check the channel's username"
                    )
            # Fill in what we learn, never overwrite what an operator or resolver set.
            self.db.execute(
                "INSERT INTO channels (id, username, title, source, origin, added_at) "
                "VALUES (?, ?, ?, 'export', 'import', ?) "
                "ON CONFLICT(id) DO UPDATE SET "
                "username = coalesce(channels.username, excluded.username), "
                "title = coalesce(channels.title, excluded.title)",
                [channel_id, post.channel_username, post.channel_title, now],
            )
            self._known_channels.add(channel_id)

    def _existing(self, batch: list[Post]) -> dict[tuple[int, int], tuple]:
        found: dict[tuple[int, int], tuple] = {}
        by_channel: dict[int, set[int]] = {}
        for post in batch:
            by_channel.setdefault(post.channel_id, set()).add(post.message_id)
        for channel_id, ids in by_channel.items():
            # channel_id = ? AND message_id IN (...) walks the primary key; a row-value
            # IN (VALUES ...) would scan the whole table for every batch.
            id_list = sorted(ids)
            for start in range(0, len(id_list), 500):
                chunk = id_list[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in self.db.execute(
                    "SELECT channel_id, message_id, content_hash, edited_at, story_id, text, views, media_kind, "
                    "news, section "
                    f"FROM posts WHERE channel_id = ? AND message_id IN ({marks})",
                    [channel_id, *chunk],
                ):
                    found[(row[0], row[1])] = row
        return found

    def _ingest_one(
        self,
        item: Prepared,
        existing: dict[tuple[int, int], tuple],
        stories: dict[int, _StoryState],
        rows: dict[tuple[int, int], tuple],
        result: IngestResult,
        now: str,
    ) -> None:
        post = item.post
        key = (post.channel_id, post.message_id)
        categories = item.categories
        custom = categories[:-1] if item.section is not None else categories
        edited = to_iso(post.edited_at) if post.edited_at else None
        old = existing.get(key)
        if old is None and key in rows:
            # A second copy of a message new in this batch: an update or unchanged against the
            # first copy (kept in ``existing`` from now on, so a third compares with it too).
            old = existing[key] = _existing_of(rows[key])
        if old is not None:
            _, _, old_hash, old_edited, story_id, old_text, old_views, old_media, old_news, old_section = old
            if old_text == post.text and edited == old_edited and old_media == post.media_kind:
                if post.views is not None and post.views != old_views:
                    self.db.execute(
                        "UPDATE posts SET views = ?, forwards = ? WHERE channel_id = ? AND message_id = ?",
                        [post.views, post.forwards, *key],
                    )
                result.unchanged += 1
                return
            rows[key] = _post_row(item, to_iso(post.date), edited, _json_list(categories), story_id, now)
            if self._story_stored(story_id, stories):
                self._change_story(story_id, stories, _StoryState.edit, (
                    custom, old_section, bool(old_news), item.section, item.news, self._category_rank))
            result.updated += 1
            result.changed_story_ids.add(story_id)
            return

        when = post.date
        when_iso = to_iso(when)
        categories_json = _json_list(categories)
        self._ensure_index_covers(when)
        forward_origin = post.forward_origin
        dedupe_item = DedupeItem(
            key=key, date=when, text_norm=item.text_norm, forward_origin=forward_origin,
            fingerprint=item.fingerprint, text=post.text,
        )
        story_id = self.index.find(dedupe_item)
        join, also = self.index.last_join, self.index.last_also
        if story_id is None and forward_origin is not None:
            story_id = self._stored_story_of(forward_origin)
            join = Join("forward")
        if story_id is None or not self._story_stored(story_id, stories):
            # a new story (or one that retention deleted meanwhile)
            story_id = self._new_story_id()
            stories[story_id] = _StoryState(
                rep_key=key, first_date=when, last_date=when, post_count=1, categories=custom,
                news_posts=int(item.news), section_votes={item.section or "": 1}, is_new=True,
                first_iso=when_iso, last_iso=when_iso,
            )
            result.stories_new += 1
        else:
            self._change_story(story_id, stories, _StoryState.join, (
                key, when, when_iso, custom, item.section, item.news, self._category_rank))
            result.duplicate += 1
            # no reason only when the index already held this key (a post retention dropped)
            self._joins.append((*key, story_id, join or Join("same post")))
            for other, why in also.items():
                if why.kind in LINK_KINDS and other != story_id and self._story_exists(other, stories):
                    pair = (min(story_id, other), max(story_id, other))
                    self._links.setdefault(pair, f"post {post.channel_id}/{post.message_id} joined story "
                                           f"{story_id} and also matches story {other} ({_describe(why)})")
        self.index.add(dedupe_item, story_id)
        rows[key] = _post_row(item, when_iso, edited, categories_json, story_id, now)
        result.new += 1
        result.changed_story_ids.add(story_id)

    def _write_posts(self, rows: dict[tuple[int, int], tuple], *, existing_keys: set[tuple[int, int]]) -> None:
        if not rows:
            return
        # Rows go to a temp table first and into posts with ONE statement (as its hashtags
        # below): with the FTS insert trigger, FTS5 indexed one statement ~4x faster than one
        # statement (and one segment flush) per row; without it (0012), an executemany into
        # posts measured the same as staging + copy (13.9 vs 13.3 µs a post).
        self.db.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS post_staging AS SELECT {_POST_COLUMNS} FROM main.posts WHERE 0"
        )
        # New posts take rowids above every stored one (posts has no AUTOINCREMENT: max + 1)
        indexed_up_to = self._max_rowid()
        self.db.conn.executemany(
            f"INSERT INTO temp.post_staging ({_POST_COLUMNS}) VALUES ({','.join('?' * len(POST_COLUMNS))})",
            rows.values(),
        )
        updated = [key for key in rows if key in existing_keys]
        self.db.execute(
            f"INSERT INTO main.posts ({_POST_COLUMNS}) {_STAGED_IN_ROWID_ORDER if updated else _STAGED} "
            "ON CONFLICT(channel_id, message_id) DO UPDATE SET edited_at = excluded.edited_at, "
            "text = excluded.text, text_norm = excluded.text_norm, content_hash = excluded.content_hash, "
            "hashtags = excluded.hashtags, links = excluded.links, media_kind = excluded.media_kind, "
            "views = coalesce(excluded.views, posts.views), "
            "forwards = coalesce(excluded.forwards, posts.forwards), "
            "categories = excluded.categories, updated_at = excluded.updated_at, "
            "lang = excluded.lang, news = excluded.news, section = excluded.section"
        )
        # The batch's new posts into the full-text index with one statement (no insert
        # trigger since migration 0012: a trigger program per post cost more); an edit's
        # upsert re-indexes its post through the update trigger.
        self.db.execute(
            "INSERT INTO posts_fts (rowid, text_norm) SELECT rowid, text_norm FROM main.posts WHERE rowid > ?",
            [indexed_up_to],
        )
        if updated:
            self.db.conn.executemany(
                "DELETE FROM post_hashtags WHERE channel_id = ? AND message_id = ?", updated
            )
        # the hashtags from the rows' JSON lists, by SQLite in one statement
        self.db.execute(
            "INSERT OR IGNORE INTO post_hashtags (channel_id, message_id, tag) "
            "SELECT s.channel_id, s.message_id, tag.value FROM temp.post_staging s, json_each(s.hashtags) tag "
            "WHERE s.hashtags != '[]'"
        )
        self.db.execute("DELETE FROM temp.post_staging")

    def _story_stored(self, story_id: int | None, stories: dict[int, _StoryState]) -> bool:
        """Whether ``story_id`` is a story of this batch or a stored one (reading it now
        unless stored stories are read after the batch's posts are placed)."""
        if story_id is None:
            return False
        if story_id in stories or story_id in self._story_changes or self._read_stories_later:
            return True
        return self._story_state(story_id, stories) is not None

    def _change_story(self, story_id: int, stories: dict[int, _StoryState],
                      change: Callable[..., None], args: tuple) -> None:
        state = stories.get(story_id)
        if state is not None:
            change(state, *args)
        else:  # a stored story not read yet: _read_changed_stories applies it
            self._story_changes.setdefault(story_id, []).append((change, args))

    def _read_changed_stories(self, stories: dict[int, _StoryState]) -> None:
        """Read the stored stories the batch changed, with one SELECT per 500, and apply
        their changes in the order the posts made them."""
        ids = list(self._story_changes)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row in self.db.execute(
                f"{_STORY_STATE_SELECT} WHERE id IN ({','.join('?' * len(chunk))})", chunk
            ):
                stories[row[0]] = self._state_of(row)
        for story_id, changes in self._story_changes.items():
            state = stories.get(story_id)
            if state is None:
                raise _StoryGone(story_id)
            for change, args in changes:
                change(state, *args)
        self._story_changes = {}

    def _story_state(self, story_id: int, stories: dict[int, _StoryState]) -> _StoryState | None:
        state = stories.get(story_id)
        if state is None:
            row = self.db.execute(f"{_STORY_STATE_SELECT} WHERE id = ?", [story_id]).fetchone()
            if row is None:
                return None
            state = stories[story_id] = self._state_of(row)
        return state

    def _state_of(self, row: tuple) -> _StoryState:
        """A stored story's state from its ``_STORY_STATE_SELECT`` row."""
        return _StoryState(
            rep_key=(row[1], row[2]), first_date=from_iso(row[3]), last_date=from_iso(row[4]),  # type: ignore[arg-type]  # NOT NULL columns
            post_count=row[5], categories=[c for c in _json_names(row[6]) if c in self._category_rank],
            news_posts=row[7], section_votes=dict(_json_votes_of(row[8])),
        )

    def _write_stories(self, stories: dict[int, _StoryState], now: str) -> None:
        rows = []
        for story_id, state in stories.items():
            categories, votes = _story_fields(state)
            rows.append((
                story_id, state.rep_key[0], state.rep_key[1], state.first_iso or to_iso(state.first_date),
                state.last_iso or to_iso(state.last_date), state.post_count, categories, now,
                int(state.news_posts * 2 >= state.post_count), state.news_posts, votes,
            ))
        self.db.conn.executemany(
            "INSERT INTO stories (id, rep_channel_id, rep_message_id, first_date, last_date, post_count, "
            "categories, updated_at, news, news_posts, section_votes) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET "
            "rep_channel_id = excluded.rep_channel_id, rep_message_id = excluded.rep_message_id, "
            "first_date = excluded.first_date, last_date = excluded.last_date, "
            "post_count = excluded.post_count, categories = excluded.categories, "
            "updated_at = excluded.updated_at, news = excluded.news, news_posts = excluded.news_posts, "
            "section_votes = excluded.section_votes",
            rows,
        )

    def _story_exists(self, story_id: int, stories: dict[int, _StoryState]) -> bool:
        return story_id in stories or story_id in self._story_changes or self.db.execute(
            "SELECT 1 FROM stories WHERE id = ?", [story_id]
        ).fetchone() is not None

    def _write_joins(self, now: str) -> None:
        if self._joins:
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO post_joins (channel_id, message_id, story_id, kind, score, "
                "shared_entities, shared_numbers, joined_at) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (channel_id, message_id, story_id, join.kind, join.score,
                     _json_list(join.shared_entities), _json_list(join.shared_numbers), now)
                    for channel_id, message_id, story_id, join in self._joins
                ],
            )
        if self._links:
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO story_links (story_id, linked_id, reason, linked_at) VALUES (?,?,?,?)",
                [(a, b, reason, now) for (a, b), reason in self._links.items()],
            )
        self._joins, self._links = [], {}

    def _max_rowid(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(rowid), 0) FROM posts").fetchone()[0])

    def _catch_up(self) -> None:
        """Index the posts another process stored since our last batch (by rowid), so the
        in-memory index sees every stored post. Runs inside the batch's transaction."""
        # Another process may have created stories too: take the next id from the table.
        self._next_story_id = None
        if self._indexed_rowid is None:
            # Rows stored so far are read when their day is first loaded.
            self._indexed_rowid = self._max_rowid()
            return
        last = self._indexed_rowid
        for row in self.db.execute(
            "SELECT rowid, channel_id, message_id, date, text_norm, fwd_channel_id, fwd_message_id, story_id, "
            "text FROM posts WHERE rowid > ? ORDER BY rowid",
            [last],
        ):
            last = max(last, row[0])
            when = from_iso(row[3])
            # a day not loaded yet is read whole when first needed
            if when is None or when.date() not in self._loaded_days:
                continue
            if self.index.story_of((row[1], row[2])) is not None:
                continue
            origin = (row[5], row[6]) if row[5] is not None and row[6] is not None else None
            self.index.add(
                DedupeItem(key=(row[1], row[2]), date=when, text_norm=row[4], forward_origin=origin, text=row[8]),
                row[7],
            )
        self._indexed_rowid = last

    def _new_story_id(self) -> int:
        # Story ids are handed out here (not by AUTOINCREMENT at insert time) so a whole
        # batch of stories can be written with one executemany.
        if self._next_story_id is None:
            row = self.db.execute("SELECT max(id) FROM stories").fetchone()
            seq = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'stories'").fetchone()
            self._next_story_id = max(row[0] or 0, seq[0] if seq else 0) + 1
        story_id = self._next_story_id
        self._next_story_id += 1
        return story_id

    def _stored_story_of(self, key: tuple[int, int]) -> int | None:
        row = self.db.execute(
            "SELECT story_id FROM posts WHERE channel_id = ? AND message_id = ?", list(key)
        ).fetchone()
        return row[0] if row else None

    def _ensure_index_covers(self, when: datetime) -> None:
        """Load stored posts near ``when`` into the dedupe index (once per day)."""
        day = when.date()
        if day in self._loaded_days:
            return
        span = int(self.window.total_seconds() // 86400) + 1
        wanted = [day + timedelta(days=d) for d in range(-span, span + 1)]
        missing = [d for d in wanted if d not in self._loaded_days]
        if not missing:
            return
        start = datetime.combine(min(missing), datetime.min.time(), UTC)
        end = datetime.combine(max(missing) + timedelta(days=1), datetime.min.time(), UTC)
        for row in self.db.execute(
            "SELECT channel_id, message_id, date, text_norm, fwd_channel_id, fwd_message_id, story_id, text "
            "FROM posts WHERE date >= ? AND date < ? ORDER BY date",
            [to_iso(start), to_iso(end)],
        ):
            if self.index.story_of((row[0], row[1])) is not None:
                continue
            origin = (row[4], row[5]) if row[4] is not None and row[5] is not None else None
            self.index.add(
                DedupeItem(key=(row[0], row[1]), date=from_iso(row[2]), text_norm=row[3], forward_origin=origin, text=row[7]),  # type: ignore[arg-type]  # date NOT NULL
                row[6],
            )
        self._loaded_days.update(missing)


# A batch allocates freely and frees almost nothing in cycles: it runs with the young
# collection every BATCH_GC_THRESHOLD allocations (``bot.core.gcpace``); an import sets an
# even slower pace for its whole run, which a batch keeps.
BATCH_GC_THRESHOLD = 20_000


@functools.lru_cache(maxsize=4096)
def _json_tuple(items: tuple[str, ...]) -> str:
    return json.dumps(list(items), ensure_ascii=False)


def _json_list(items: Iterable[str] | tuple[str, ...] | list[str]) -> str:
    """The stored JSON form of a list of strings (one spelling everywhere, so comparisons hold).
    Hashtag and category lists repeat a lot, hence the cache."""
    return _json_tuple(tuple(items)) if items else "[]"


@functools.lru_cache(maxsize=4096)
def _json_names(text: str) -> tuple[str, ...]:
    """A stored JSON list of names (stories share a few category lists: parsed once each)."""
    return tuple(json.loads(text))


@functools.lru_cache(maxsize=4096)
def _json_votes_of(text: str) -> tuple[tuple[str, int], ...]:
    """A stored vote tally's items (stories share a few tallies: parsed once each)."""
    return tuple(json.loads(text).items())


def _post_row(item: Prepared, date: str, edited_at: str | None, categories: str, story_id: int, now: str) -> tuple:
    """The posts-table row, in ``POST_COLUMNS`` order (``date``, ``edited_at``, ``categories``:
    the post's, in stored form)."""
    post = item.post
    return (
        post.channel_id, post.message_id, date, edited_at,
        post.text, item.text_norm, item.fingerprint.content_hash, _json_list(item.hashtags),
        _json_list(post.links), post.media_kind, post.grouped_id,
        post.forward_channel_id, post.forward_message_id, post.views, post.forwards,
        story_id, categories, now, item.lang, int(item.news), item.section,
    )


# The staged rows as the upsert in ``Ingestor._write_posts`` reads them. ``WHERE true``: an
# upsert's SELECT needs a WHERE (SQLite's parser would take ON CONFLICT for a join's ON).
_STAGED = f"SELECT {_POST_COLUMNS} FROM temp.post_staging WHERE true"
# With edits among them, in the stored posts' rowid order (new posts first): each edit's
# update trigger deletes and re-adds the post in the full-text index, and FTS5 writes out
# its pending changes whenever a rowid comes below the one before it, so edits in date
# order cost a segment a post (bench's 4,869 edits: ~90 -> ~30 µs each for the upsert).
_STAGED_IN_ROWID_ORDER = (
    f"SELECT {', '.join('s.' + column for column in POST_COLUMNS)} FROM temp.post_staging s "
    "LEFT JOIN main.posts p ON p.channel_id = s.channel_id AND p.message_id = s.message_id "
    "WHERE true ORDER BY p.rowid"
)


def _existing_of(row: tuple) -> tuple:
    """A ``_post_row`` as ``Ingestor._existing`` reads a stored post (a copy met again in
    its batch: rows are made for every new post, this only for the rare repeat)."""
    return row[0], row[1], row[6], row[3], row[15], row[4], row[13], row[9], row[19], row[20]


# A batch is stored in date order, then (channel id, message id): one C-level key per post
_BATCH_ORDER = operator.attrgetter("post.date", "post.channel_id", "post.message_id")


def _describe(join: Join) -> str:
    """A join in a few words, for a link's reason."""
    if join.kind == "rewrite":
        shared = ", ".join([*join.shared_entities, *join.shared_numbers])
        return f"rewrite {join.score:.2f}" + (f": {shared}" if shared else "")
    if join.kind in ("similar", "containment"):
        return f"{join.kind} {join.score:.2f}"
    return join.kind


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _story_fields(state: _StoryState) -> tuple[str, str]:
    """A story's stored categories (its custom ones, then its majority section if any) and
    section votes, as JSON."""
    return _story_fields_of(tuple(state.categories), tuple(sorted(state.section_votes.items())))


@functools.lru_cache(maxsize=4096)
def _story_fields_of(categories: tuple[str, ...], votes: tuple[tuple[str, int], ...]) -> tuple[str, str]:
    """Most stories have one of a few category lists and vote tallies ({"": 1}, ...): each
    pair is worked out and encoded once."""
    section = majority_section(dict(votes))
    return (_json_list((*categories, section) if section else categories),
            json.dumps(dict(votes), ensure_ascii=False, separators=(",", ":")))


def _union(current: Iterable[str], more: Iterable[str], rank: Mapping[str, int]) -> list[str]:
    """Both lists' categories once each, in config order (``rank``: name → position)."""
    last = len(rank)
    return sorted(set(current).union(more), key=lambda n: rank.get(n, last))


def categories_fingerprint(config: Config) -> str:
    """Changes whenever stored categories would: the config's categories and the model."""
    payload = json.dumps(
        [[c.name, c.query] for c in config.categories]
        + [config.query.stemming, config.query.language, config.builtin_sections, section_model().version]
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
