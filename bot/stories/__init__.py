"""Folding posts into stories (canonical form, similarity, story index) and categorising them; pure, no I/O. May import bot.query and bot.core."""
