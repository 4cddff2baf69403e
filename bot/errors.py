"""Every error tgdigest raises on purpose, drawn once.

    TgdigestError                 anything the CLI turns into one line and an exit code
    ├── ConfigError               config file or environment is wrong (lists every problem)
    ├── QueryError                a query in the query language is invalid
    ├── ImportFormatError         an export file or one of its messages is malformed
    │   └── ExportBrokenOff       the file stops being valid JSON part-way through
    ├── SourceError               a channel source failed (per channel; others go on)
    │   ├── ChannelUnavailable    private, banned, renamed or invalid channel
    │   │   └── StaleAccess       the stored access hash is no longer accepted by this account
    │   ├── FloodWait             Telegram asks us to wait ``seconds`` before the next call
    │   ├── SessionInvalid        no usable Telegram session: run ``tgdigest login``
    │   └── WebPreviewError       t.me/s page missing or its markup not understood
    ├── BotAPIError               the Bot API refused a request or could not be reached
    │   ├── RetryAfter            429: wait ``retry_after`` seconds before any request
    │   ├── Forbidden             403: the bot may not write to this chat
    │   ├── BadRequest            400: the request itself is wrong
    │   ├── Unauthorized          401: the bot token is wrong or revoked
    │   ├── Conflict              409: a webhook or another getUpdates caller
    │   ├── ServerError           5xx, or an answer that is not the Bot API's JSON
    │   └── NetworkError          no answer: refused, reset, timeout, DNS
    ├── LockedError               another ``tgdigest run`` owns this data directory
    └── SubscriberDataError       a subscriber export document to import is malformed

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


class ExportBrokenOff(ImportFormatError):
    """The export stops being valid JSON part-way (cut off, corrupted); what came before is good."""


class SourceError(TgdigestError):
    """Fetching a channel failed; recorded on the channel, never stops the others."""


class ChannelUnavailable(SourceError):
    """The channel is private, banned, renamed or does not exist."""


class StaleAccess(ChannelUnavailable):
    """PEER_ID_INVALID / CHANNEL_INVALID on a stored channel: its access hash belongs to another
    account or session. A public channel is re-resolved by its handle; a private one re-joined."""


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
    """The Bot API refused a request or could not be reached."""

    def __init__(self, description: str, *, method: str = "", error_code: int = 0) -> None:
        self.description = description
        self.method = method
        self.error_code = error_code
        prefix = f"{method}: " if method else ""
        code = f" [{error_code}]" if error_code else ""
        super().__init__(f"{prefix}{description}{code}")


class RetryAfter(BotAPIError):
    """429 Too Many Requests: no request may be sent for ``retry_after`` seconds."""

    def __init__(self, description: str, *, retry_after: float, method: str = "", error_code: int = 429) -> None:
        self.retry_after = float(retry_after)
        super().__init__(description, method=method, error_code=error_code)


class Forbidden(BotAPIError):
    """403: the bot may not write to this chat (blocked by the user, user deactivated, kicked)."""


class BadRequest(BotAPIError):
    """400: the request itself is wrong; sending it again unchanged fails the same way."""

    @property
    def is_parse_error(self) -> bool:
        """Telegram could not parse the HTML/Markdown of the text."""
        return "can't parse entities" in self.description.lower()

    @property
    def is_too_long(self) -> bool:
        return "message is too long" in self.description.lower()

    @property
    def is_chat_not_found(self) -> bool:
        return "chat not found" in self.description.lower()


class Unauthorized(BotAPIError):
    """401: the bot token is wrong or was revoked (fix TELEGRAM_BOT_TOKEN)."""


class Conflict(BotAPIError):
    """409: a webhook is active or another process is already calling getUpdates."""


class ServerError(BotAPIError):
    """5xx, or an answer that is not the Bot API's JSON (a proxy's error page)."""


class NetworkError(BotAPIError):
    """The request got no answer: connection refused/reset, timeout, DNS failure."""


class LockedError(TgdigestError):
    """Another process already owns this data directory."""


class SubscriberDataError(TgdigestError):
    """A subscriber export document (``/import``, ``tgdigest subscribers import``) is not usable;
    ``str(e)`` names the first problem and where it is. Nothing is stored when it is raised."""
