"""Running the service: health, stats, the data-directory lock, logging setup. May import bot.storage and below."""
