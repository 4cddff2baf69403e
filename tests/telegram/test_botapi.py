"""The Bot API client against the loopback sandbox (real HTTP), and the sandbox's own checks."""

from __future__ import annotations

import asyncio
import logging
import socket
import traceback
from pathlib import Path

import httpx
import pytest

from bot.core.text import utf16_len
from bot.devtools.sandbox import HTMLParseError, Sandbox, parse_html
from bot.errors import (
    BadRequest,
    BotAPIError,
    Conflict,
    Forbidden,
    NetworkError,
    RetryAfter,
    ServerError,
    Unauthorized,
)
from bot.errors import BotAPIError as BaseBotAPIError
from bot.telegram.botapi import BotAPI, BotCommand, error_from_payload

SPEC = Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json"
TOKEN = "7312345678:AAH0kX9pQ_test-token-value-abcdefghijk"


@pytest.fixture
def sandbox():
    with Sandbox(token=TOKEN, spec_path=SPEC) as sb:
        yield sb


def run(coro):
    return asyncio.run(coro)


async def _with_api(sandbox: Sandbox, fn, *, token: str = TOKEN):
    async with BotAPI(token, base_url=sandbox.base_url) as api:
        return await fn(api)


def test_get_me_and_send_message_round_trip(sandbox):
    """getMe returns the bot user and sendMessage returns a Message whose id the sandbox recorded."""

    async def go(api: BotAPI):
        me = await api.get_me()
        message = await api.send_message(42, "<b>hi</b> &amp; bye")
        return me, message

    me, message = run(_with_api(sandbox, go))
    assert me["is_bot"] is True and me["username"] == Sandbox.bot_user["username"]
    sent = sandbox.sent_to(42)
    assert [m.message_id for m in sent] == [message["message_id"]]
    assert sent[0].plain_text == "hi & bye" and sent[0].link_preview_disabled
    assert sandbox.violations == []


def test_commands_and_webhook_calls_follow_the_spec(sandbox):
    """setMyCommands and deleteWebhook pass the spec check and the menu is stored."""

    async def go(api: BotAPI):
        await api.delete_webhook()
        await api.set_my_commands([BotCommand("subscribe", "Follow a topic")])

    run(_with_api(sandbox, go))
    assert sandbox.commands == [{"command": "subscribe", "description": "Follow a topic"}]
    assert sandbox.violations == []


@pytest.mark.parametrize(
    ("code", "description", "error_type"),
    [
        (403, "Forbidden: bot was blocked by the user", Forbidden),
        (400, "Bad Request: chat not found", BadRequest),
        (500, "Internal Server Error", ServerError),
        (502, "Bad Gateway", ServerError),
        (409, "Conflict: terminated by other getUpdates request", Conflict),
    ],
)
def test_wire_errors_map_to_typed_errors(sandbox, code, description, error_type):
    """Each Bot API error code becomes its own BotAPIError subclass carrying code and description."""
    sandbox.fail_next("sendMessage", code, description)

    with pytest.raises(error_type) as info:
        run(_with_api(sandbox, lambda api: api.send_message(1, "x")))
    assert isinstance(info.value, BaseBotAPIError)
    assert info.value.error_code == code and info.value.description == description
    assert info.value.method == "sendMessage"


def test_retry_after_carries_the_seconds(sandbox):
    """A 429 becomes RetryAfter with parameters.retry_after as a number."""
    sandbox.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as info:
        run(_with_api(sandbox, lambda api: api.send_message(1, "x")))
    assert info.value.retry_after == 7


def test_bad_html_is_a_parse_error(sandbox):
    """HTML with a tag Telegram does not know is answered 400 'can't parse entities'."""
    with pytest.raises(BadRequest) as info:
        run(_with_api(sandbox, lambda api: api.send_message(1, "hello <script>alert(1)</script>")))
    assert info.value.is_parse_error and not info.value.is_too_long
    assert sandbox.sent == []


def test_over_long_text_is_rejected_after_entity_parsing(sandbox):
    """4,097 UTF-16 units of visible text are too long; markup does not count."""
    fits = "<b>" + "😀" * 2048 + "</b>"  # 4,096 code units once the tags are gone
    too_long = "a" * 4097

    async def go(api: BotAPI):
        await api.send_message(1, fits)
        with pytest.raises(BadRequest) as info:
            await api.send_message(1, too_long)
        return info.value

    error = run(_with_api(sandbox, go))
    assert error.is_too_long
    assert len(sandbox.sent) == 1 and utf16_len(sandbox.sent[0].plain_text) == 4096


def test_length_is_counted_in_utf16_units_not_code_points(sandbox):
    """2,049 math letters are 2,049 code points but 4,098 UTF-16 units: too long, as Telegram says."""

    async def go(api: BotAPI):
        with pytest.raises(BadRequest) as info:
            await api.send_message(1, "\U0001D400" * 2049)
        return info.value

    assert run(_with_api(sandbox, go)).is_too_long
    assert sandbox.sent == []


def test_wrong_token_is_unauthorized(sandbox):
    """A token the server does not know gives Unauthorized, and the message does not contain it."""
    other = "999:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
    with pytest.raises(Unauthorized) as info:
        run(_with_api(sandbox, lambda api: api.get_me(), token=other))
    assert other not in str(info.value)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_is_a_network_error():
    """A refused connection becomes NetworkError, not an httpx exception."""

    async def go():
        async with BotAPI(TOKEN, base_url=f"http://127.0.0.1:{_closed_port()}") as api:
            await api.get_me()

    with pytest.raises(NetworkError) as info:
        run(go())
    assert info.value.error_code == 0


def test_token_never_in_logs_errors_or_tracebacks(sandbox, caplog):
    """At DEBUG, across successes and every kind of failure, the token appears in no log record,
    no error message and no traceback."""
    caplog.set_level(logging.DEBUG)
    sandbox.fail_next("sendMessage", 500)
    sandbox.fail_next("getMe", 403, "Forbidden: whatever")
    errors: list[BaseException] = []

    async def go():
        async with BotAPI(TOKEN, base_url=sandbox.base_url) as api:
            await api.get_updates(timeout=0)
            for call in (lambda: api.send_message(1, "x"), api.get_me, lambda: api.send_message(1, "<x>")):
                try:
                    await call()
                except BotAPIError as e:
                    errors.append(e)
        async with BotAPI(TOKEN, base_url=f"http://127.0.0.1:{_closed_port()}") as api:
            try:
                await api.get_me()
            except BotAPIError as e:
                errors.append(e)

    run(go())
    assert len(errors) == 4
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in logged  # httpx did log the request line...
    assert "/bot***/" in logged  # ...with the placeholder
    texts = [logged] + ["".join(traceback.format_exception(e)) for e in errors] + [repr(e) for e in errors]
    for text in texts:
        assert TOKEN not in text
        assert TOKEN.split(":")[1] not in text


def test_long_poll_read_timeout_exceeds_poll_timeout():
    """getUpdates gets a read timeout above its long-poll seconds, ordinary calls keep the default."""
    seen: dict[str, dict] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.path.rsplit("/", 1)[1]] = request.extensions["timeout"]
        assert TOKEN in request.url.path  # the transport put the real token in
        return httpx.Response(200, json={"ok": True, "result": [] if "getUpdates" in request.url.path else {}})

    async def go():
        api = BotAPI(TOKEN, base_url="https://api.example", timeout=10, transport=httpx.MockTransport(handler))
        async with api:
            await api.get_updates(timeout=50)
            await api.call("getMe")

    run(go())
    assert seen["getUpdates"]["read"] > 50
    assert seen["getMe"]["read"] == 10


def test_non_json_proxy_error_is_a_server_error():
    """A proxy's HTML 502 page is a ServerError, not a crash on JSON decoding."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    async def go():
        async with BotAPI(TOKEN, transport=httpx.MockTransport(handler)) as api:
            await api.get_me()

    with pytest.raises(ServerError):
        run(go())


def test_error_payload_mapping_reads_retry_after_from_parameters():
    """Any answer with parameters.retry_after is a RetryAfter, whatever its code."""
    error = error_from_payload("sendMessage", {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}})
    assert isinstance(error, RetryAfter) and error.retry_after == 3
    other = error_from_payload("getMe", {"ok": False, "error_code": 404, "description": "Not Found"})
    assert type(other) is BotAPIError and other.error_code == 404


def test_malformed_token_is_refused_before_any_request():
    """A token with a slash or spaces would change the URL path, so the client refuses it."""
    for bad in ("", "12:ab/cd", "12:ab cd"):
        with pytest.raises(ValueError):
            BotAPI(bad)


# --- the sandbox's checks -------------------------------------------------------------------

def test_misspelt_method_is_a_recorded_violation(sandbox):
    """A method the spec does not have fails the call and is recorded for the test to see."""
    with pytest.raises(BadRequest):
        run(_with_api(sandbox, lambda api: api.call("sendMesage", {"chat_id": 1, "text": "x"})))
    assert sandbox.violations == ["unknown method 'sendMesage'"]


def test_misspelt_parameter_and_missing_required_are_violations(sandbox):
    """Unknown parameter names, missing required ones and wrong JSON types are all recorded."""

    async def go(api: BotAPI):
        for params in (
            {"chat_id": 1, "text": "x", "parse_mod": "HTML"},
            {"chat_id": 1},
            {"chat_id": True, "text": "x"},
            {"chat_id": 1, "text": "x", "link_preview_options": {"is_disable": True}},
        ):
            with pytest.raises(BadRequest):
                await api.call("sendMessage", params)

    run(_with_api(sandbox, go))
    violations = sandbox.violations
    assert "sendMessage: unknown parameter 'parse_mod'" in violations
    assert "sendMessage: required parameter 'text' missing" in violations
    assert any(v.startswith("sendMessage.chat_id:") for v in violations)
    assert "sendMessage.link_preview_options: unknown parameter 'is_disable'" in violations
    assert sandbox.sent == []


def test_method_names_are_checked_case_sensitively(sandbox):
    """'sendmessage' is not the spec's spelling: the violation suggests the right one."""
    with pytest.raises(BotAPIError):
        run(_with_api(sandbox, lambda api: api.call("sendmessage", {"chat_id": 1, "text": "x"})))
    assert sandbox.violations == ["unknown method 'sendmessage' (did you mean 'sendMessage'?)"]


def test_sandbox_works_without_a_spec():
    """With no spec file (as in `make demo`), requests are served and nothing is checked."""

    async def go(sb: Sandbox):
        async with BotAPI(TOKEN, base_url=sb.base_url) as api:
            return await api.send_message(5, "plain")

    with Sandbox() as sb:
        message = run(go(sb))
        assert message["text"] == "plain" and sb.violations == []


def test_get_updates_confirms_by_offset(sandbox):
    """Updates stay until an offset above their id confirms them, as in Telegram."""
    first = sandbox.send_user_message(7, "/start")
    second = sandbox.send_user_message(7, "/help")

    async def go(api: BotAPI):
        batch1 = await api.get_updates(timeout=0)
        again = await api.get_updates(timeout=0)
        batch2 = await api.get_updates(offset=first + 1, timeout=0)
        empty = await api.get_updates(offset=second + 1, timeout=0)
        return batch1, again, batch2, empty

    batch1, again, batch2, empty = run(_with_api(sandbox, go))
    assert [u["update_id"] for u in batch1] == [first, second]
    assert [u["update_id"] for u in again] == [first, second]
    assert [u["update_id"] for u in batch2] == [second]
    assert empty == [] and sandbox.pending_updates == 0


def test_long_poll_returns_when_an_update_arrives(sandbox):
    """A waiting getUpdates is answered as soon as a message is injected."""

    async def go(api: BotAPI):
        poll = asyncio.create_task(api.get_updates(timeout=30))
        await asyncio.sleep(0.05)
        sandbox.send_user_message(3, "/start")
        return await asyncio.wait_for(poll, timeout=10)

    updates = run(_with_api(sandbox, go))
    assert updates[0]["message"]["text"] == "/start"


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("<b>bold</b> <i>it</i> <a href=\"https://t.me/x/1\">link</a>", "bold it link"),
        ("<pre><code class=\"language-python\">x &lt; 1</code></pre>", "x < 1"),
        ("&quot;q&quot; &#8212; &#x1F600;", "\"q\" \u2014 \U0001F600"),
        ("<span class=\"tg-spoiler\">s</span><tg-spoiler>t</tg-spoiler>", "st"),
        ("<blockquote expandable>q</blockquote>", "q"),
    ],
)
def test_parse_html_accepts_telegram_markup(text, plain):
    """Telegram's own tags and entities parse to the visible text."""
    assert parse_html(text) == plain


@pytest.mark.parametrize(
    "text",
    ["<script>x</script>", "<b>open", "<b><i>x</b></i>", "a < b", "a > b", "x </b>", "&nbsp;", "AT&T", "<span>x</span>", "<b"],
)
def test_parse_html_rejects_what_telegram_rejects(text):
    """Unknown tags, unbalanced or crossed tags, bare < > & and unknown entities are errors."""
    with pytest.raises(HTMLParseError):
        parse_html(text)
