"""The subscriber bot: Bot API client and its errors, the rate-limited sender, the update loop, commands. May import bot.digests, bot.storage and below."""
