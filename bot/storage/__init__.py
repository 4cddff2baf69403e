"""SQLite through sqlite-utils: schema and migrations, the ingest write path, reads of posts and stories, subscribers, channels. May import bot.stories, bot.query, bot.core."""
