"""Digests and alerts: schedule, selection, rendering, the outbox and the delivery service. May import bot.storage and below; never bot.telegram."""
