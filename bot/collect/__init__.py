"""Getting posts in: the collector over live sources, the export import pipeline, the scheduler jobs. May import bot.storage, bot.sources and below."""
