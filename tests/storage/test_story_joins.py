"""Stories stay stable and explain themselves: why each post joined, links between stories,
and an ingestor that sees the posts another process stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Config
from bot.core.models import Post
from bot.storage.db import open_db
from bot.storage.explain import explain_story, explanation_to_json, linked_groups, links_of
from bot.storage.ingest import Ingestor
from bot.storage.store import Store

T0 = datetime(2025, 7, 13, 20, 0, tzinfo=UTC)
# A match report and its retelling by another channel (same facts, other words and order).
REPORT = (
    "Chelsea beat Paris Saint-Germain 3-0 in the Club World Cup final in New Jersey on July 13, "
    "with Cole Palmer scoring twice and setting up the third."
)
RETOLD = (
    "Cole Palmer's two goals and an assist gave Chelsea a 3-0 victory over Paris Saint-Germain "
    "in the Club World Cup final, played in New Jersey on July 13."
)
# Two headlines of one event that share too little to fold, and a later post holding both.
HEADLINE = "Chelsea beat Paris Saint-Germain in the Club World Cup final in New Jersey on Sunday night."
SCORERS = "Cole Palmer scored twice and set up the third goal as Chelsea won the final."


def post(channel: int, message: int, minutes: int, text: str, **kw) -> Post:
    return Post(channel_id=channel, message_id=message, date=T0 + timedelta(minutes=minutes), text=text,
                channel_username=f"chan{channel}", **kw)


def story_of(db, channel: int, message: int) -> int:
    return db.execute(
        "SELECT story_id FROM posts WHERE channel_id = ? AND message_id = ?", [channel, message]
    ).fetchone()[0]


def test_each_post_after_the_first_records_why_it_joined(db) -> None:
    """Exact copy, repost with emoji, forward and rewrite are each stored and told apart."""
    ingestor = Ingestor(db, Config())
    ingestor.ingest([post(1, 10, 0, REPORT)])
    ingestor.ingest([
        post(2, 20, 30, RETOLD),
        post(3, 30, 40, REPORT + " ⚽️🔥"),
        post(4, 40, 50, REPORT),
        post(5, 50, 55, REPORT, forward_channel_id=1, forward_message_id=10),
    ])
    story_id = story_of(db, 1, 10)
    explained = explain_story(db, story_id)
    assert explained is not None and len(explained.story.posts) == 5
    joins = explained.joins
    assert (1, 10) not in joins, "the first post started the story"
    assert joins[(3, 30)].kind == "repost" and joins[(3, 30)].matched == (1, 10)
    assert joins[(4, 40)].kind == "exact" and joins[(4, 40)].matched == (1, 10)
    assert joins[(5, 50)].kind == "forward" and joins[(5, 50)].matched == (1, 10)
    rewrite = joins[(2, 20)]
    assert rewrite.kind == "rewrite"
    assert rewrite.score is not None and 0.0 < rewrite.score <= 1.0
    assert rewrite.shared_entities and rewrite.shared_numbers
    shape = explanation_to_json(explained)
    assert shape["story_id"] == story_id and shape["channels"] == 5
    assert shape["posts"][0]["joined"] is None
    by_key = {(p["channel_id"], p["message_id"]): p["joined"] for p in shape["posts"]}
    assert by_key[(2, 20)]["kind"] == "rewrite" and by_key[(2, 20)]["shared_entities"]
    assert by_key[(4, 40)]["matched"] == {"channel_id": 1, "message_id": 10}


def test_a_rewrite_keeps_the_id_of_a_story_already_delivered(db) -> None:
    """The story id a digest carried never changes when a retelling (even an earlier-dated
    one, which becomes the representative) joins it."""
    ingestor = Ingestor(db, Config())
    ingestor.ingest([post(1, 10, 60, REPORT)])
    before = story_of(db, 1, 10)
    result = ingestor.ingest([post(2, 20, 0, RETOLD)])  # dated an hour earlier
    assert result.stories_new == 0 and result.duplicate == 1
    assert story_of(db, 1, 10) == story_of(db, 2, 20) == before
    story = Store(db).story(before)
    assert story is not None and story.representative.post.key == (2, 20)


def test_a_post_matching_two_stories_links_them_and_renumbers_nothing(db) -> None:
    """Two stored stories a later post shows to be one are linked (with the reason); both
    keep their ids and posts."""
    ingestor = Ingestor(db, Config())
    ingestor.ingest([post(1, 1, 0, HEADLINE)])
    ingestor.ingest([post(2, 1, 5, SCORERS)])
    first, second = story_of(db, 1, 1), story_of(db, 2, 1)
    assert first != second
    ingestor.ingest([post(3, 1, 30, f"{HEADLINE} {SCORERS}")])
    assert (story_of(db, 1, 1), story_of(db, 2, 1)) == (first, second)
    assert story_of(db, 3, 1) in (first, second)
    links = links_of(db, [first])
    assert [(link.story_id, link.linked_id) for link in links] == [(min(first, second), max(first, second))]
    assert "post 3/1" in links[0].reason
    assert linked_groups(db, [first, second]) == {first: {first, second}, second: {first, second}}
    shape = explanation_to_json(explain_story(db, second))  # type: ignore[arg-type]
    assert [link["story_id"] for link in shape["linked"]] == [first]


def test_retention_removes_joins_and_links_with_their_posts(db) -> None:
    """Deleting old posts and their stories (as housekeeping does) leaves no dangling rows."""
    ingestor = Ingestor(db, Config())
    ingestor.ingest([post(1, 1, 0, HEADLINE)])
    ingestor.ingest([post(2, 1, 5, SCORERS)])
    ingestor.ingest([post(3, 1, 30, f"{HEADLINE} {SCORERS}"), post(4, 1, 40, HEADLINE)])
    assert db.execute("SELECT count(*) FROM post_joins").fetchone()[0] == 2
    db.execute("DELETE FROM posts")
    db.execute("DELETE FROM stories")
    assert db.execute("SELECT count(*) FROM post_joins").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM story_links").fetchone()[0] == 0


def test_service_index_catches_up_with_posts_another_process_stored(tmp_path: Path) -> None:
    """Two ingestors on one SQLite file (the running service and an import): a post the
    second stores joins the first's in-memory index before its next batch, so a repeat the
    first collects afterwards folds into that story."""
    path = tmp_path / "shared.sqlite"
    service_db, import_db = open_db(path), open_db(path)
    try:
        service, importer = Ingestor(service_db, Config()), Ingestor(import_db, Config())
        service.ingest([post(1, 1, 0, "The central bank kept its key rate unchanged at the meeting today")])
        imported = importer.ingest([post(2, 7, 10, REPORT)])
        assert imported.stories_new == 1
        repeat = service.ingest([post(3, 9, 20, REPORT + " 🔥")])
        assert (repeat.duplicate, repeat.stories_new) == (1, 0)
        assert story_of(service_db, 3, 9) == story_of(service_db, 2, 7)
        # and the service's next new story does not take an id the importer handed out
        importer.ingest([post(4, 1, 30, "Wimbledon: the men's final is postponed by rain until Monday afternoon")])
        service.ingest([post(5, 1, 40, "Parliament passed the budget bill in its third reading on Friday")])
        ids = [r[0] for r in service_db.execute("SELECT story_id FROM posts ORDER BY channel_id")]
        assert len(set(ids)) == 4, ids
    finally:
        service_db.close()
        import_db.close()
