"""Logging for the service: one line per event, human-readable or JSON, secrets redacted.

``configure_logging`` is called once from ``bot.cli.main()`` (never at import) with values the
CLI read from ``TGDIGEST_LOG_LEVEL`` and ``TGDIGEST_LOG_FORMAT``. Every record that reaches
its handler passes ``RedactingFilter`` first: each configured secret (bot token, API hash,
session string) and anything shaped like a bot token, also inside a URL such as
``/bot<token>/getUpdates``, becomes ``[redacted]`` in the message, its arguments, the
exception text and the stack; the formatter then redacts the finished line once more, so
``extra`` fields are covered too.

Errors: ``ConfigError`` for an unknown level or format.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from bot.errors import ConfigError

REDACTED = "[redacted]"
# Bot API tokens are "<bot id>:<35 chars>"; the lookbehind still matches after "/bot".
TOKEN_RE = re.compile(r"(?<!\d)\d+:[A-Za-z0-9_-]{30,}")
# Shorter "secrets" would blank out ordinary words; no real credential is that short.
MIN_SECRET_LENGTH = 4
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("text", "json")
# Libraries whose INFO/DEBUG lines carry request URLs (which hold the bot token) or repeat
# on every tick; they speak only from WARNING up.
QUIET_LOGGERS = ("httpx", "httpcore", "hpack")
# Attributes every LogRecord has; anything else came in through ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret and every token-shaped string replaced by ``[redacted]``."""
    # Longest first, so a secret containing another is removed whole.
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return TOKEN_RE.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Renders a record's message, exception and stack once, redacted, before any formatter."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)
        self._exc_formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception as e:  # a bad format string must not hide the event
            message = f"{record.msg!r} % {record.args!r} (unformattable: {e})"
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exc_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def _utc_iso(created: float) -> str:
    t = time.gmtime(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(created % 1 * 1000):03d}Z"


class TextFormatter(logging.Formatter):
    """``2025-01-31T09:00:00.123Z INFO bot.collect.collector: message``; newlines become `` | ``."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_utc_iso(record.created)} {record.levelname} {record.name}: {record.getMessage()}"
        extra = _extra(record)
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += " | " + record.exc_text
        if record.stack_info:
            line += " | " + record.stack_info
        return redact(line.replace("\r", "").replace("\n", " | "), self.secrets)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, any ``extra`` fields, exc."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": _utc_iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        event.update(_extra(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            event["exc"] = record.exc_text
        if record.stack_info:
            event["stack"] = record.stack_info
        # json.dumps escapes newlines, so an event is always one line.
        return redact(json.dumps(event, ensure_ascii=False, default=str), self.secrets)


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")}


class _Handler(logging.StreamHandler):
    """Marks the handler this module installed, so a second call replaces it, not doubles it."""


def configure_logging(
    *,
    level: str,
    fmt: str,
    secrets: Sequence[str],
    stream: TextIO | None = None,
) -> None:
    """Send every log event to ``stream`` (default stderr) at ``level``, as ``fmt`` text|json."""
    level_name = (level or "INFO").strip().upper()
    if level_name == "WARN":
        level_name = "WARNING"
    if level_name not in LEVELS:
        raise ConfigError(f"TGDIGEST_LOG_LEVEL: {level!r} is not one of {', '.join(LEVELS)}")
    fmt_name = (fmt or "text").strip().lower()
    if fmt_name not in FORMATS:
        raise ConfigError(f"TGDIGEST_LOG_FORMAT: {fmt!r} is not one of {', '.join(FORMATS)}")

    handler = _Handler(stream if stream is not None else sys.stderr)
    handler.addFilter(RedactingFilter(secrets))
    handler.setFormatter(JsonFormatter(secrets) if fmt_name == "json" else TextFormatter(secrets))

    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level_name)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # APScheduler logs every job run at INFO ("Running job ..."): noise unless debugging.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if level_name == "DEBUG" else logging.WARNING)
    logging.captureWarnings(True)
