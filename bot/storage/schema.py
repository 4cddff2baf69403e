"""The database schema, as named migrations (sqlite-utils ``Migrations``).

Never edit a migration that has shipped: add a new one at the end. Each runs in its own
transaction together with the record that it ran, so an upgrade is all or nothing.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("tgdigest")

# The posts table's columns as the migrations leave it, in the order the write path fills
# them (bot/storage/ingest.py); reads (bot/storage/store.py) pick theirs from here by name.
POST_COLUMNS: tuple[str, ...] = (
    "channel_id", "message_id", "date", "edited_at", "text", "text_norm", "content_hash", "hashtags", "links",
    "media_kind", "grouped_id", "fwd_channel_id", "fwd_message_id", "views", "forwards", "story_id",
    "categories", "updated_at", "lang", "news", "section",
)


@MIGRATIONS(name="0001_core")
def _core(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE channels (
            id INTEGER PRIMARY KEY,            -- bare Telegram channel id
            handle TEXT,                        -- as configured: @name, t.me/..., id
            username TEXT,
            title TEXT,
            access_hash INTEGER,                -- from the one resolution we ever make
            source TEXT NOT NULL DEFAULT 'telethon',   -- telethon | web | export
            origin TEXT NOT NULL DEFAULT 'config',     -- config | bot | import
            active INTEGER NOT NULL DEFAULT 1,
            last_message_id INTEGER NOT NULL DEFAULT 0, -- the collection cursor
            last_poll_at TEXT,
            last_error TEXT,
            next_poll_at TEXT,                  -- flood waits: not before this
            added_at TEXT
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX idx_channels_username ON channels(username COLLATE NOCASE)")
    db.execute(
        """
        CREATE TABLE stories (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            rep_channel_id INTEGER NOT NULL,
            rep_message_id INTEGER NOT NULL,
            first_date TEXT NOT NULL,
            last_date TEXT NOT NULL,
            post_count INTEGER NOT NULL DEFAULT 1,
            categories TEXT NOT NULL DEFAULT '[]',
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_stories_first_date ON stories(first_date)")
    db.execute(
        """
        CREATE TABLE posts (
            channel_id INTEGER NOT NULL REFERENCES channels(id),
            message_id INTEGER NOT NULL,
            date TEXT NOT NULL,
            edited_at TEXT,
            text TEXT NOT NULL,
            text_norm TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            hashtags TEXT NOT NULL DEFAULT '[]',
            links TEXT NOT NULL DEFAULT '[]',
            media_kind TEXT,
            grouped_id INTEGER,
            fwd_channel_id INTEGER,
            fwd_message_id INTEGER,
            views INTEGER,
            forwards INTEGER,
            story_id INTEGER REFERENCES stories(id),
            categories TEXT NOT NULL DEFAULT '[]',
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, message_id)
        )
        """
    )
    db.execute("CREATE INDEX idx_posts_date ON posts(date)")
    db.execute("CREATE INDEX idx_posts_story ON posts(story_id)")
    db.execute("CREATE INDEX idx_posts_fwd ON posts(fwd_channel_id, fwd_message_id)")
    db.execute(
        """
        CREATE TABLE post_hashtags (
            channel_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            tag TEXT NOT NULL,
            PRIMARY KEY (channel_id, message_id, tag),
            FOREIGN KEY (channel_id, message_id) REFERENCES posts(channel_id, message_id)
                ON DELETE CASCADE
        )
        """
    )
    db.execute("CREATE INDEX idx_post_hashtags_tag ON post_hashtags(tag)")
    db.table("posts").enable_fts(["text"], create_triggers=True, tokenize="unicode61 remove_diacritics 2")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")


@MIGRATIONS(name="0002_subscribers")
def _subscribers(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE subscribers (
            chat_id INTEGER PRIMARY KEY,
            username TEXT,
            first_name TEXT,
            active INTEGER NOT NULL DEFAULT 1,   -- 0 once the user blocked the bot (403)
            paused INTEGER NOT NULL DEFAULT 0,
            digest_time TEXT NOT NULL DEFAULT '09:00',
            timezone TEXT NOT NULL DEFAULT 'UTC',
            weekly_day INTEGER,                  -- NULL: daily; 0=Monday..6=Sunday: weekly
            created_at TEXT NOT NULL,
            last_digest_at TEXT,                 -- UTC instant the last digest covered up to
            last_digest_local_date TEXT          -- subscriber's local date of that digest
        )
        """
    )
    db.execute(
        """
        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL REFERENCES subscribers(chat_id) ON DELETE CASCADE,
            query TEXT NOT NULL,
            urgent INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_subscriptions_chat ON subscriptions(chat_id)")


@MIGRATIONS(name="0003_delivery")
def _delivery(db: Database) -> None:
    # The outbox: a digest is stored whole before its first part is sent.
    db.execute(
        """
        CREATE TABLE digests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL REFERENCES subscribers(chat_id) ON DELETE CASCADE,
            kind TEXT NOT NULL,                  -- digest | alert
            status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | cancelled
            created_at TEXT NOT NULL,
            window_start TEXT,
            window_end TEXT,
            local_date TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_digests_pending ON digests(status, chat_id)")
    db.execute(
        """
        CREATE TABLE digest_parts (
            digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            text TEXT NOT NULL,
            sent_at TEXT,
            telegram_message_id INTEGER,
            PRIMARY KEY (digest_id, seq)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE deliveries (
            chat_id INTEGER NOT NULL REFERENCES subscribers(chat_id) ON DELETE CASCADE,
            story_id INTEGER NOT NULL,
            digest_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            delivered_at TEXT,                   -- NULL until its part is acknowledged
            PRIMARY KEY (chat_id, story_id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE send_errors (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER,
            at TEXT NOT NULL,
            error TEXT NOT NULL
        )
        """
    )


@MIGRATIONS(name="0004_channel_handles")
def _channel_handles(db: Database) -> None:
    # The channels we are asked to watch (config and bot admins), by handle. A channel's id
    # is unknown until its handle is resolved, and channels.id is the primary key, so a
    # handle waits here with channel_id NULL until the one resolution we ever make.
    db.execute(
        """
        CREATE TABLE channel_handles (
            handle TEXT PRIMARY KEY,            -- canonical: @name, https://t.me/+hash, bare id
            origin TEXT NOT NULL DEFAULT 'config',     -- config | bot
            source TEXT,                        -- telethon | web | NULL: by credentials
            title TEXT,
            interval REAL,                      -- minutes between polls; NULL: [collect] interval
            backfill INTEGER,                   -- posts taken on first sight; NULL: [collect] backfill
            channel_id INTEGER REFERENCES channels(id),  -- NULL until resolved
            last_error TEXT,                    -- why resolution failed
            next_attempt_at TEXT,               -- resolution not retried before this
            added_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_channel_handles_channel ON channel_handles(channel_id)")


@MIGRATIONS(name="0005_outbox_parts")
def _outbox_parts(db: Database) -> None:
    # Which part of its digest carries a story, so the story is marked delivered in the same
    # transaction as the part that carried it is marked sent.
    db.execute("ALTER TABLE deliveries ADD COLUMN seq INTEGER")
    db.execute("CREATE INDEX idx_deliveries_digest ON deliveries(digest_id, seq)")
    # A lease: the process sending a pending digest ("host:pid") and until when, so two
    # processes (the service and `tgdigest digest`) never send the same part twice.
    db.execute("ALTER TABLE digests ADD COLUMN claimed_by TEXT")
    db.execute("ALTER TABLE digests ADD COLUMN claimed_until TEXT")


@MIGRATIONS(name="0006_sections")
def _sections(db: Database) -> None:
    # Each post's language, whether it is news, and its built-in section (bot.stories.sections;
    # NULL: none). Stored posts get them when `recategorise` runs, which the service and
    # `tgdigest import` do on their own when they see the model or the categories changed.
    db.execute("ALTER TABLE posts ADD COLUMN lang TEXT")
    db.execute("ALTER TABLE posts ADD COLUMN news INTEGER NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE posts ADD COLUMN section TEXT")
    # A story is news when at least half its posts are; its section is its posts' majority.
    # section_votes counts its posts per section ("": none), so a joining post needs no re-read.
    db.execute("ALTER TABLE stories ADD COLUMN news INTEGER NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE stories ADD COLUMN news_posts INTEGER NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE stories ADD COLUMN section_votes TEXT NOT NULL DEFAULT '{}'")
    # Subscribers who asked for non-news posts too (/nonnews on).
    db.execute("ALTER TABLE subscribers ADD COLUMN include_nonnews INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS(name="0007_reading_accounts")
def _reading_accounts(db: Database) -> None:
    # Several Telegram accounts read channels (one account can join at most 500). Each
    # channel is read by one account; `pinned` channels never move to another (private ones
    # need the account that joined them; the config may name one). The cursor stays per
    # channel, so a channel read by another account for a while is never read twice.
    db.execute("ALTER TABLE channels ADD COLUMN account TEXT")  # the reading account (telethon)
    db.execute("ALTER TABLE channels ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE channel_handles ADD COLUMN account TEXT")  # the config's account = "NAME"
    # Access hashes are per account: the one resolution per handle becomes one per
    # (channel, account); `resolved_at` (the last re-resolution after a stale hash) rate-limits the next.
    db.execute(
        """
        CREATE TABLE channel_access (
            channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
            account TEXT NOT NULL,
            access_hash INTEGER,
            resolved_at TEXT,
            PRIMARY KEY (channel_id, account)
        )
        """
    )
    # What the collector last saw of each account, for `tgdigest accounts` and handovers.
    db.execute(
        """
        CREATE TABLE accounts (
            name TEXT PRIMARY KEY,
            state TEXT NOT NULL DEFAULT 'ok',   -- ok | flood_wait | logged_out
            flood_until TEXT,
            last_success_at TEXT,
            last_error TEXT,
            last_error_at TEXT
        )
        """
    )
    # Until now there was one account: it reads every Telethon channel it resolved.
    db.execute("UPDATE channels SET account = 'default' WHERE source = 'telethon'")
    db.execute("UPDATE channels SET pinned = 1 WHERE source = 'telethon' AND username IS NULL")
    db.execute(
        "INSERT INTO channel_access (channel_id, account, access_hash) "
        "SELECT id, 'default', access_hash FROM channels WHERE source = 'telethon' AND access_hash IS NOT NULL"
    )


@MIGRATIONS(name="0008_story_joins_and_links")
def _story_joins_and_links(db: Database) -> None:
    # Why each post joined its story, written by ingest as it decides (the first post of a
    # story has no row): kind = forward | copy | similar | containment | rewrite, the score
    # the dedupe rule gave, and for a rewrite the entities and numbers both posts share.
    db.execute(
        """
        CREATE TABLE post_joins (
            channel_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            story_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            score REAL,
            shared_entities TEXT NOT NULL DEFAULT '[]',
            shared_numbers TEXT NOT NULL DEFAULT '[]',
            joined_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, message_id),
            FOREIGN KEY (channel_id, message_id) REFERENCES posts(channel_id, message_id)
                ON DELETE CASCADE
        )
        """
    )
    # Two stored stories that a later post showed to be one. Story ids never change under
    # a sent digest, so they are linked instead of merged; story_id < linked_id always.
    db.execute(
        """
        CREATE TABLE story_links (
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            linked_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            reason TEXT NOT NULL,               -- e.g. "rewrite 0.71 via post 1113692283/57"
            linked_at TEXT NOT NULL,
            PRIMARY KEY (story_id, linked_id),
            CHECK (story_id < linked_id)
        )
        """
    )
    db.execute("CREATE INDEX idx_story_links_linked ON story_links(linked_id)")


@MIGRATIONS(name="0009_subscriber_controls")
def _subscriber_controls(db: Database) -> None:
    # Delivery mode per subscription: urgent=0 is "digest"; urgent=1 is "alert", or "silent"
    # (sent with disable_notification) when silent=1. Keeping ``urgent`` as it was means every
    # reader of urgent subscriptions (alerts, /stats) is unchanged.
    db.execute("ALTER TABLE subscriptions ADD COLUMN silent INTEGER NOT NULL DEFAULT 0")
    # "full": the digest in as many messages as it needs (as before); "compact": one message
    # paged with ◀ ▶ buttons. ``awaiting``: what the chat's next plain message is taken as
    # (after a button asked for it, e.g. "subscribe": the query to follow); NULL: nothing.
    db.execute("ALTER TABLE subscribers ADD COLUMN digest_style TEXT NOT NULL DEFAULT 'full'")
    db.execute("ALTER TABLE subscribers ADD COLUMN awaiting TEXT")
    # What a chat no longer wants to see, in digests, alerts and /search: a channel (target =
    # channels.id; its posts are left out) or a story (target = stories.id). ``label`` is how
    # it was shown when muted, so /mutes can name it even after the channel or story is gone.
    db.execute(
        """
        CREATE TABLE mutes (
            chat_id INTEGER NOT NULL REFERENCES subscribers(chat_id) ON DELETE CASCADE,
            kind TEXT NOT NULL,                 -- channel | story
            target INTEGER NOT NULL,
            label TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, kind, target)
        )
        """
    )
    # How a digest was sent: its style (compact digests page their stored parts in one
    # message) and whether it goes without a notification (alerts of silent subscriptions).
    db.execute("ALTER TABLE digests ADD COLUMN style TEXT NOT NULL DEFAULT 'full'")
    db.execute("ALTER TABLE digests ADD COLUMN silent INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS(name="0010_invisible_characters")
def _invisible_characters(db: Database) -> None:
    # Normalisation now removes invisible characters (soft hyphen, zero-width joiners...)
    # instead of breaking words at them. Posts stored before get their normalised text and
    # content hash recomputed, and the full-text index moves from the raw text to the
    # normalised text: the search prefilter's words are then the matcher's words exactly
    # ("zero\u200dwidth" is the word "zerowidth" in both), so it can never drop a match.
    from bot.core.normalise import INVISIBLE, normalise
    from bot.stories.dedupe import content_hash

    has_invisible = " OR ".join(f"instr(text, char({ord(c)})) > 0" for c in INVISIBLE)
    rows = db.execute(f"SELECT channel_id, message_id, text FROM posts WHERE {has_invisible}").fetchall()
    changed = []
    for channel_id, message_id, text in rows:
        norm = normalise(text or "")
        changed.append((norm, content_hash(norm), channel_id, message_id))
    db.conn.executemany(
        "UPDATE posts SET text_norm = ?, content_hash = ? WHERE channel_id = ? AND message_id = ?", changed
    )
    if changed:
        # Categories come from the normalised text: have the next start re-evaluate them.
        db.execute("DELETE FROM meta WHERE key = 'categories_hash'")
    db.table("posts").disable_fts()
    db.table("posts").enable_fts(["text_norm"], create_triggers=True, tokenize="unicode61 remove_diacritics 2")


@MIGRATIONS(name="0011_fts_on_text_changes")
def _fts_on_text_changes(db: Database) -> None:
    # The full-text index follows text_norm alone, but its update trigger fired on every
    # UPDATE of a post: a collector or re-import refreshing a post's view count deleted and
    # re-tokenised its text each time. It now fires when text_norm is written (the write
    # path's upsert always writes it, so edits re-index as before). Same trigger name, so
    # sqlite-utils' disable_fts/enable_fts keep managing it.
    db.execute('DROP TRIGGER IF EXISTS "posts_au"')
    db.execute(
        'CREATE TRIGGER "posts_au" AFTER UPDATE OF "text_norm" ON "posts" BEGIN\n'
        '  INSERT INTO "posts_fts" ("posts_fts", rowid, "text_norm") VALUES(\'delete\', old.rowid, old."text_norm");\n'
        '  INSERT INTO "posts_fts" (rowid, "text_norm") VALUES (new.rowid, new."text_norm");\n'
        "END"
    )


# The full-text index's triggers for deletes and text changes (sqlite-utils' names, so its
# disable_fts/enable_fts keep managing them; the update trigger fires on text changes only,
# 0011). New posts have no trigger since 0012: the write path indexes a batch's new posts
# with one statement (bot/storage/ingest.py, Ingestor._write_posts).
_FTS_TRIGGERS = (
    'CREATE TRIGGER "posts_ad" AFTER DELETE ON "posts" BEGIN\n'
    '  INSERT INTO "posts_fts" ("posts_fts", rowid, "text_norm") VALUES(\'delete\', old.rowid, old."text_norm");\n'
    "END",
    'CREATE TRIGGER "posts_au" AFTER UPDATE OF "text_norm" ON "posts" BEGIN\n'
    '  INSERT INTO "posts_fts" ("posts_fts", rowid, "text_norm") VALUES(\'delete\', old.rowid, old."text_norm");\n'
    '  INSERT INTO "posts_fts" (rowid, "text_norm") VALUES (new.rowid, new."text_norm");\n'
    "END",
)


@MIGRATIONS(name="0012_lighter_post_indexes")
def _lighter_post_indexes(db: Database) -> None:
    # Every stored post pays for the indexes on posts at insert time (~1,000 a batch in an
    # import), so what nothing reads goes:
    # - The full-text index is read only by search's prefilter (bot/storage/store.py,
    #   required_fts_terms): single quoted words and prefixes joined by AND, never a phrase,
    #   NEAR, a column filter or a ranking. It kept every word's positions (detail=full) and a
    #   row of token counts per post (columnsize=1, for bm25) that no query used; without
    #   them (detail=none, columnsize=0) the same words and prefixes match the same posts.
    # - The insert trigger ran a trigger program per new post; the write path, the only
    #   place posts are inserted, now indexes each batch's new posts with one statement.
    # - idx_posts_fwd (forward origin): no query filters, joins or orders by fwd_channel_id
    #   or fwd_message_id (a forward finds its origin by the origin's primary key).
    # What they save in the import's writer: docs/benchmarks.md ("The writer's SQL, round 4").
    db.execute("DROP INDEX IF EXISTS idx_posts_fwd")
    for trigger in ("posts_ai", "posts_ad", "posts_au"):
        db.execute(f'DROP TRIGGER IF EXISTS "{trigger}"')
    db.execute("DROP TABLE IF EXISTS posts_fts")
    db.execute(
        'CREATE VIRTUAL TABLE "posts_fts" USING FTS5 (\n'
        '    "text_norm",\n'
        "    tokenize='unicode61 remove_diacritics 2',\n"
        '    content="posts",\n'
        "    detail=none,\n"
        "    columnsize=0\n"
        ")"
    )
    for trigger_sql in _FTS_TRIGGERS:
        db.execute(trigger_sql)
    db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')")
