"""Logging: one line per event, JSON on request, and no secret ever reaches the output."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest

from bot.errors import ConfigError
from bot.ops.logs import REDACTED, configure_logging, redact

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
API_HASH = "0123456789abcdef0123456789abcdef"
SESSION = "1BVtsOKABuxyz" + "Q" * 300


@pytest.fixture
def restore_logging():
    """Leave the root logger as pytest set it up, whatever a test configured."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "apscheduler")}
    yield
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)


def configured(fmt: str = "text", level: str = "DEBUG") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(level=level, fmt=fmt, secrets=[TOKEN, API_HASH, SESSION], stream=stream)
    return stream


def log_secrets_everywhere() -> None:
    log = logging.getLogger("bot.test")
    log.debug("polling https://api.telegram.org/bot%s/getUpdates", TOKEN)
    log.debug("configured with hash " + API_HASH + " and session %s", SESSION)
    try:
        raise RuntimeError(f"request to /bot{TOKEN}/sendMessage failed (hash {API_HASH})")
    except RuntimeError:
        log.exception("send failed")


def test_text_output_has_no_secret_in_message_args_or_exception(restore_logging):
    """A token, API hash and session in the message, its args and an exception are all redacted."""
    stream = configured("text")
    log_secrets_everywhere()
    out = stream.getvalue()
    for secret in (TOKEN, API_HASH, SESSION, TOKEN.split(":")[1]):
        assert secret not in out
    assert out.count(REDACTED) >= 5
    assert "Traceback" in out and "RuntimeError" in out


def test_text_output_is_one_line_per_event(restore_logging):
    """Even an event with a traceback is written as a single line."""
    stream = configured("text")
    log_secrets_everywhere()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert " DEBUG bot.test: polling https://api.telegram.org/bot[redacted]/getUpdates" in lines[0]
    assert lines[2].split(" ", 1)[1].startswith("ERROR bot.test: send failed | Traceback")


def test_json_output_parses_and_is_redacted(restore_logging):
    """TGDIGEST_LOG_FORMAT=json writes one parseable JSON object per event, secrets redacted."""
    stream = configured("json")
    log_secrets_everywhere()
    logging.getLogger("bot.test").info("lag", extra={"channel": "@durov", "lag_s": 12})
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["level"] for e in events] == ["DEBUG", "DEBUG", "ERROR", "INFO"]
    assert events[0]["msg"] == "polling https://api.telegram.org/bot[redacted]/getUpdates"
    assert events[0]["logger"] == "bot.test" and events[0]["ts"].endswith("Z")
    assert "RuntimeError" in events[2]["exc"] and TOKEN not in events[2]["exc"]
    assert events[3]["channel"] == "@durov" and events[3]["lag_s"] == 12
    assert TOKEN not in stream.getvalue() and API_HASH not in stream.getvalue()


def test_token_shaped_strings_are_redacted_even_when_not_configured(restore_logging):
    """A bot token nobody passed in as a secret is still caught by its shape."""
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="text", secrets=[], stream=stream)
    other = "987654:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
    logging.getLogger("bot.test").info("url /bot%s/getMe", other)
    assert other not in stream.getvalue()
    assert "/bot[redacted]/getMe" in stream.getvalue()


def test_level_is_applied(restore_logging):
    """At WARNING, info and debug events are dropped and warnings kept."""
    stream = configured("text", level="warning")
    log = logging.getLogger("bot.test")
    log.info("quiet")
    log.warning("loud")
    assert "quiet" not in stream.getvalue() and "loud" in stream.getvalue()


def test_httpx_request_lines_are_silenced_below_warning(restore_logging):
    """httpx's per-request INFO line (which holds the URL with the token) is not written at DEBUG."""
    stream = configured("text", level="DEBUG")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.get(f"https://api.telegram.org/bot{TOKEN}/getMe")
    assert "HTTP Request" not in stream.getvalue()
    assert TOKEN not in stream.getvalue()


def test_configuring_twice_does_not_duplicate_lines(restore_logging):
    """A second configure_logging call replaces the handler instead of adding another."""
    configured("text")
    stream = configured("text")
    logging.getLogger("bot.test").warning("once")
    assert stream.getvalue().count("once") == 1


def test_bad_level_or_format_is_a_config_error(restore_logging):
    """An unknown level or format is reported with the variable name."""
    with pytest.raises(ConfigError, match="TGDIGEST_LOG_LEVEL"):
        configure_logging(level="LOUD", fmt="text", secrets=[])
    with pytest.raises(ConfigError, match="TGDIGEST_LOG_FORMAT"):
        configure_logging(level="INFO", fmt="xml", secrets=[])


def test_redact_prefers_the_longest_secret_and_ignores_tiny_ones():
    """A secret containing another is removed whole; one- to three-character values are not secrets."""
    assert redact("abcdefgh and abcd", ["abcd", "abcdefgh"]) == "[redacted] and [redacted]"
    assert redact("a b c", ["a"]) == "a b c"
    assert redact("at 12:30 and 42:abc", []) == "at 12:30 and 42:abc"
