"""Emoji in a query are ignored (a query of only emoji is refused in one line); invisible
characters (zero-width joiners, soft hyphens ...) never change matching, in queries or posts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Config
from bot.core.clock import to_iso
from bot.core.models import Post
from bot.core.normalise import extract_hashtags, normalise, words
from bot.errors import QueryError
from bot.query.parser import parse_query
from bot.storage import subscribers as subs
from bot.storage.db import get_meta, open_db
from bot.storage.ingest import CATEGORIES_META_KEY, Ingestor
from bot.storage.schema import MIGRATIONS
from bot.storage.store import Store, match_doc
from bot.stories.dedupe import content_hash
from bot.telegram.commands import CommandHandler

INVISIBLE = ["\u200d", "\u200c", "\u200b", "\u00ad", "\u2060", "\ufeff"]


@pytest.mark.parametrize("char", INVISIBLE)
def test_invisible_characters_vanish_in_normalisation(char: str) -> None:
    assert normalise(f"zero{char}width") == normalise("zerowidth") == "zerowidth"
    assert words(normalise(f"soft{char}hyphen and more")) == ["softhyphen", "and", "more"]


def test_invisible_characters_do_not_split_hashtags() -> None:
    assert extract_hashtags("#zero\u200dwidth news") == ("zerowidth",)


@pytest.mark.parametrize(("query", "post"), [
    ("zero\u200dwidth", "zerowidth"), ("zerowidth", "zero\u200dwidth"),
    ("soft\u00adhyphen", "softhyphen"), ("softhyphen", "soft\u00adhyphen"),
    ('"big zero\u200bwidth"', "a big zerowidth day"),
])
def test_invisible_characters_change_no_match(query: str, post: str) -> None:
    assert parse_query(query).matches(match_doc(normalise(post), (), None))


@pytest.mark.parametrize("text", ["iran 🔥", "🔥 iran", "iran🔥", "🔥iran 🇮🇷", "iran 👨\u200d👩\u200d👧"])
def test_emoji_in_a_query_are_ignored(text: str) -> None:
    query = parse_query(text)
    assert query.describe() == parse_query("iran").describe()
    assert query.text == "iran"


def test_emoji_next_to_operators_leave_a_valid_query() -> None:
    assert parse_query("iran OR 🔥 iraq").describe() == parse_query("iran OR iraq").describe()


@pytest.mark.parametrize("text", ["🔥", "🔥 🇮🇷 👍", "\u200d"])
def test_a_query_of_only_emoji_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(QueryError) as err:
        parse_query(text)
    assert "\n" not in str(err.value) and "word" in str(err.value)


def test_subscribe_with_an_emoji_subscribes_to_the_words(tmp_path: Path) -> None:
    db = open_db(tmp_path / "t.sqlite")
    handler = CommandHandler(db, Config())
    replies = asyncio.run(handler.handle_text(11, "/subscribe iran 🔥"))
    assert replies[0].startswith("Subscribed (#1)")
    assert [s.query for s in subs.list_subscriptions(db, 11)] == ["iran"]


def test_stored_posts_are_renormalised_and_searchable_after_upgrade(tmp_path: Path) -> None:
    """A database written before the change gets its normalised text and search index fixed once."""
    db = open_db(tmp_path / "old.sqlite", migrate=False)
    MIGRATIONS.apply(db, stop_before="0010_invisible_characters")
    now = datetime.now(UTC)
    # Rows as that schema's write path stored them (today's Ingestor needs today's schema:
    # it indexes new posts itself since 0012); the old normalisation made the joiner a word break.
    db.execute("INSERT INTO channels (id, username, source, origin) VALUES (3, 'wire', 'export', 'import')")
    for message_id, text, old_norm in ((1, "A zero\u200dwidth story", "a zero width story"),
                                       (2, "An ordinary story", "an ordinary story")):
        date = to_iso(now - timedelta(hours=message_id))
        db.execute("INSERT INTO stories (id, rep_channel_id, rep_message_id, first_date, last_date, updated_at) "
                   "VALUES (?, 3, ?, ?, ?, ?)", [message_id, message_id, date, date, date])
        db.execute("INSERT INTO posts (channel_id, message_id, date, text, text_norm, content_hash, story_id, "
                   "updated_at) VALUES (3, ?, ?, ?, ?, ?, ?, ?)",
                   [message_id, date, text, old_norm, content_hash(old_norm), message_id, date])
    db.conn.commit()
    MIGRATIONS.apply(db)
    norms = dict(db.execute("SELECT message_id, text_norm FROM posts").fetchall())
    assert norms == {1: "a zerowidth story", 2: "an ordinary story"}
    assert get_meta(db, CATEGORIES_META_KEY) is None, "categories are re-evaluated on the next start"
    found = Store(db).search(parse_query("zerowidth"))
    assert [s.representative.post.message_id for s in found] == [1]
    assert Store(db).search(parse_query("ordinary"))[0].representative.post.message_id == 2
    # New posts keep the index current (the write path indexes them).
    Ingestor(db, Config()).ingest([Post(channel_id=3, message_id=3, date=now, text="Soft\u00adhyphen news",
                                        channel_username="wire")])
    assert [s.representative.post.message_id for s in Store(db).search(parse_query("softhyphen"))] == [3]
