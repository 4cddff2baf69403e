"""Every error tgdigest raises on purpose, drawn once.

    TgdigestError                 anything the CLI turns into one line and an exit code
    ├── ConfigError               config file or environment is wrong (lists every problem)
    ├── QueryError                a query in the query language is invalid
    ├── ImportFormatError         an export file or one of its messages is malformed
    ├── SourceError               a channel source failed (per channel; others go on)
    │   ├── ChannelUnavailable    private, banned, renamed or invalid channel
    │   ├── FloodWait             Telegram asks us to wait ``seconds`` before the next call
    │   ├── SessionInvalid        no usable Telegram session: run ``tgdigest login``
    │   └── WebPreviewError       t.me/s page missing or its markup not understood
    ├── BotAPIError               the Bot API answered with an error (see ``bot.botapi``)
    └── LockedError               another ``tgdigest run`` owns this data directory

Library code raises these; only ``bot.cli`` prints them.
"""

from __future__ import annotations


class TgdigestError(Exception):
    """Base of every error meant for the user; ``str(e)`` is the one line they see."""


class ConfigError(TgdigestError):
    """Configuration is invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class QueryError(TgdigestError, ValueError):
    """A query is invalid; the message says what is wrong and how to fix it."""


class ImportFormatError(TgdigestError):
    """An export file, or one message in it, is not what Telegram Desktop writes."""


class SourceError(TgdigestError):
    """Fetching a channel failed; recorded on the channel, never stops the others."""


class ChannelUnavailable(SourceError):
    """The channel is private, banned, renamed or does not exist."""


class FloodWait(SourceError):
    """Telegram asked us to wait ``seconds`` before calling again."""

    def __init__(self, seconds: int, message: str = "") -> None:
        self.seconds = int(seconds)
        super().__init__(message or f"Telegram asks to wait {self.seconds} s (flood wait)")


class SessionInvalid(SourceError):
    """No usable Telegram user session; the fix is ``tgdigest login``."""


class WebPreviewError(SourceError):
    """The t.me/s web preview is unreachable or its markup is not understood."""


class BotAPIError(TgdigestError):
    """Base of the Bot API error hierarchy in ``bot.botapi``."""


class LockedError(TgdigestError):
    """Another process already owns this data directory."""
