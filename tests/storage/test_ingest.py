"""The shared write path: posts stored once, edits in place, stories, categories, cursors."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import CategoryConfig, Config
from bot.core.models import Post
from bot.sources.export import read_export
from bot.storage.ingest import Ingestor
from bot.storage.store import Store

T0 = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
CATS = (
    CategoryConfig("BRICS", 'BRICS OR "New Development Bank"'),
    CategoryConfig("Asia", "ASEAN OR China"),
)


def _config(**kw) -> Config:
    return Config(categories=kw.pop("categories", CATS), **kw)


def _export_posts(path: Path, username: str | None = None) -> list[Post]:
    return [p for p in read_export(path, username=username) if isinstance(p, Post)]



def test_sample_channel_folds_each_body_repeat_into_its_post(db, sample_export: Path) -> None:
    """The sample channel posts everything twice: 24 posts become 12 stories."""
    result = Ingestor(db, _config()).ingest(_export_posts(sample_export, "mfa_russia"))
    assert (result.new, result.duplicate, result.stories_new) == (24, 12, 12)
    stories = Store(db).stories_between(T0 - timedelta(days=30), T0 + timedelta(days=30))
    assert len(stories) == 12
    assert all(len(s.posts) == 2 for s in stories)
    # The representative is the earlier, full post (title line first).
    assert stories[0].representative.post.message_id == 2


def test_importing_twice_changes_nothing(db, sample_export: Path) -> None:
    """A second import of the same export reports everything unchanged and stores no row more."""
    ingestor = Ingestor(db, _config())
    ingestor.ingest(_export_posts(sample_export))
    before = db.execute("SELECT count(*), sum(story_id) FROM posts").fetchone()
    again = Ingestor(db, _config()).ingest(_export_posts(sample_export))
    assert (again.new, again.updated, again.unchanged, again.stories_new) == (0, 0, 24, 0)
    assert db.execute("SELECT count(*), sum(story_id) FROM posts").fetchone() == before
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == 12


def test_edit_updates_in_place_and_keeps_story(db) -> None:
    """An edited post is updated (text, edited_at), never stored twice, and stays in its story."""
    ingestor = Ingestor(db, _config())
    post = Post(channel_id=1, message_id=10, date=T0, text="BRICS summit opens in Rio de Janeiro today")
    ingestor.ingest([post])
    story_id = db.execute("SELECT story_id FROM posts").fetchone()[0]
    edited = replace(post, text="BRICS summit opens in Rio de Janeiro today with ASEAN guests",
                     edited_at=T0 + timedelta(minutes=5))
    result = ingestor.ingest([edited])
    assert (result.new, result.updated) == (0, 1)
    rows = db.execute("SELECT text, edited_at, story_id, categories FROM posts").fetchall()
    assert len(rows) == 1
    text, edited_at, sid, cats = rows[0]
    assert "ASEAN guests" in text and edited_at.startswith("2025-07-01T09:05")
    assert sid == story_id
    assert json.loads(cats) == ["BRICS", "Asia"]
    assert story_id in result.changed_story_ids


def test_repost_channel_joins_the_original_stories(db, sample_export: Path, repost_export: Path) -> None:
    """Retellings with emoji, credit line and read-more trailer join the original's story."""
    ingestor = Ingestor(db, _config())
    ingestor.ingest(_export_posts(sample_export, "mfa_russia"))
    result = ingestor.ingest(_export_posts(repost_export, "worlddesk_demo"))
    assert result.duplicate == 5, "five retellings of the sample channel's posts"
    assert result.stories_new == 5, "five own posts; 3 March and 5 March flights stay two stories"
    flights = db.execute("SELECT count(DISTINCT story_id) FROM posts WHERE text LIKE 'Flights between%'").fetchone()
    assert flights[0] == 2


def test_categories_per_post_and_union_per_story(db, sample_export: Path) -> None:
    """Posts get their matching categories in config order; a story the union of its posts'."""
    Ingestor(db, _config()).ingest(_export_posts(sample_export))
    brics = db.execute("SELECT count(*) FROM stories WHERE categories LIKE '%BRICS%'").fetchone()[0]
    assert brics >= 3
    none = db.execute("SELECT count(*) FROM stories WHERE categories = '[]'").fetchone()[0]
    assert none >= 1, "some stories are in no category (shown under Other)"


def test_recategorise_after_config_change(db, sample_export: Path) -> None:
    """Changing the categories re-evaluates stored posts, on demand and on start."""
    Ingestor(db, _config()).ingest(_export_posts(sample_export))
    changed_config = _config(categories=(CategoryConfig("Kuala Lumpur", '"Kuala Lumpur"'),))
    ingestor = Ingestor(db, changed_config)
    assert ingestor.ensure_categories_current() is True
    cats = {c for (c,) in db.execute("SELECT DISTINCT categories FROM stories")}
    assert cats == {"[]", '["Kuala Lumpur"]'}
    assert Ingestor(db, changed_config).ensure_categories_current() is False


def test_cursor_moves_with_the_batch_and_not_without_it(db) -> None:
    """Cursors advance in the batch's transaction; a failed batch moves nothing."""
    ingestor = Ingestor(db, _config())
    db.execute("INSERT INTO channels (id, username) VALUES (7, 'seven')")
    posts = [Post(channel_id=7, message_id=i, date=T0 + timedelta(minutes=i), text=f"news number {i} about trade")
             for i in (1, 2, 3)]
    ingestor.ingest(posts, cursors={7: 3})
    assert db.execute("SELECT last_message_id FROM channels WHERE id = 7").fetchone()[0] == 3
    bad = [Post(channel_id=7, message_id=4, date=T0, text="x"), "not a post"]  # type: ignore[list-item]
    with pytest.raises(AttributeError):
        ingestor.ingest(bad, cursors={7: 4})  # type: ignore[arg-type]
    assert db.execute("SELECT last_message_id FROM channels WHERE id = 7").fetchone()[0] == 3
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 3
    # The ingestor still works after the rollback.
    ingestor.ingest([Post(channel_id=7, message_id=4, date=T0, text="fourth item on oil markets")], cursors={7: 4})
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 4


def test_forward_joins_its_origin_story_even_outside_the_window(db) -> None:
    """A forward whose origin post is stored joins that story, however old the origin is."""
    ingestor = Ingestor(db, _config())
    original = Post(channel_id=1, message_id=5, date=T0, text="Lavrov meets Wang Yi in Beijing")
    ingestor.ingest([original])
    forward = Post(channel_id=2, message_id=9, date=T0 + timedelta(days=40), text="Lavrov meets Wang Yi in Beijing",
                   forward_channel_id=1, forward_message_id=5)
    result = Ingestor(db, _config()).ingest([forward])
    assert result.duplicate == 1
    assert len({r[0] for r in db.execute("SELECT story_id FROM posts")}) == 1


def test_hashtags_stored_per_post(db, sample_export: Path) -> None:
    """Hashtags land in the post's JSON and in the post_hashtags table."""
    Ingestor(db, _config()).ingest(_export_posts(sample_export))
    tags = {t for (t,) in db.execute("SELECT tag FROM post_hashtags")}
    assert {"russiaasean", "russiausa", "russiachina"} <= tags


def test_fts_index_follows_inserts_and_edits(db) -> None:
    """The FTS5 index is kept current by triggers, including after an edit."""
    ingestor = Ingestor(db, _config())
    post = Post(channel_id=1, message_id=1, date=T0, text="Kuala Lumpur hosts the forum")
    ingestor.ingest([post])
    ingestor.ingest([replace(post, text="Jakarta hosts the forum", edited_at=T0 + timedelta(hours=1))])
    hits = lambda term: db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ?", [term]).fetchone()[0]  # noqa: E731
    assert hits("jakarta") == 1
    assert hits("kuala") == 0


def test_recategorise_is_stable_with_non_ascii_names(db, sample_export: Path) -> None:
    """Recategorising twice with a Cyrillic category name changes nothing the second time."""
    config = _config(categories=(CategoryConfig("АСЕАН", "ASEAN"),))
    ingestor = Ingestor(db, config)
    ingestor.ingest(_export_posts(sample_export))
    assert ingestor.recategorise() == 0
    stored = {c for (c,) in db.execute("SELECT DISTINCT categories FROM stories")}
    assert '["АСЕАН"]' in stored


def test_retention_deletes_old_posts_and_a_late_repeat_starts_a_new_story(db) -> None:
    """Housekeeping drops expired posts and empty stories; a late copy of one is stored as a new story."""
    from bot.app import delete_expired_posts

    ingestor = Ingestor(db, _config())
    text = "Lavrov and Wang Yi discussed the SCO summit preparations in Tianjin on Tuesday"
    old = Post(channel_id=1, message_id=1, date=T0, text=text)
    recent = Post(channel_id=1, message_id=2, date=T0 + timedelta(days=40), text="Oil prices rose on Tuesday")
    ingestor.ingest([old, recent])
    removed = delete_expired_posts(db, now=T0 + timedelta(days=41), retention_days=30)
    assert removed == 1
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'tianjin'").fetchone()[0] == 0
    # The in-memory index still remembers the deleted post until housekeeping tells it.
    late = Post(channel_id=2, message_id=9, date=T0 + timedelta(hours=1), text=text)
    result = ingestor.ingest([late])
    assert (result.new, result.stories_new) == (1, 1)
    ingestor.forget_before(T0 + timedelta(days=11))
    assert ingestor.index.story_of(old.key) is None


def test_search_follows_edits_view_updates_and_deletes(db) -> None:
    """The full-text index is re-tokenised only when a post's text changes (a view-count
    refresh leaves it alone), and still finds exactly the stored texts after edits, view
    refreshes, a re-import and retention deletes."""
    from bot.app import delete_expired_posts

    ingestor = Ingestor(db, _config())
    posts = [Post(channel_id=1, message_id=i, date=T0 + timedelta(minutes=i), text=f"Harbour number {i} reopens after storms")
             for i in range(1, 6)]
    ingestor.ingest(posts)
    hits = lambda term: db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ?", [term]).fetchone()[0]  # noqa: E731
    segments = lambda: db.execute("SELECT count(*) FROM posts_fts_data").fetchone()[0]  # noqa: E731
    assert hits("harbour") == 5
    before = segments()
    ingestor.ingest([replace(p, views=100 + p.message_id) for p in posts])  # same texts, new view counts
    assert db.execute("SELECT sum(views) FROM posts").fetchone()[0] == sum(100 + i for i in range(1, 6))
    assert segments() == before  # nothing was re-indexed
    ingestor.ingest([replace(posts[0], text="Airport reopens after storms", edited_at=T0 + timedelta(hours=2))])
    assert (hits("harbour"), hits("airport"), hits("storms")) == (4, 1, 5)
    db.execute("INSERT INTO posts_fts(posts_fts) VALUES ('integrity-check')")  # raises if index and posts disagree
    assert delete_expired_posts(db, now=T0 + timedelta(days=40), retention_days=30) == 5
    assert (hits("harbour"), hits("airport"), hits("storms")) == (0, 0, 0)
    db.execute("INSERT INTO posts_fts(posts_fts) VALUES ('integrity-check')")


def test_fts_update_trigger_fires_on_text_only(db) -> None:
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'posts_au'").fetchone()[0]
    assert 'AFTER UPDATE OF "text_norm"' in sql
