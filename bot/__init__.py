"""tgdigest: watch Telegram channels, fold repeats into stories, send each subscriber a daily digest."""

__version__ = "0.1.0"
