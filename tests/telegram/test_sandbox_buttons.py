"""The Bot API client's keyboard, edit and file methods against the sandbox, checked
against the official spec: what the subscriber controls are built on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.core.buttons import Button, callback, keyboard, to_markup
from bot.devtools.sandbox import Sandbox
from bot.errors import BadRequest
from bot.telegram.botapi import BotAPI

SPEC = Path(__file__).parent.parent / "fixtures" / "bot-api-spec.json"
TOKEN = "7312345678:AAH0kX9pQ_test-token-value-abcdefghijk"
CHAT = 555


@pytest.fixture
def sandbox():
    with Sandbox(token=TOKEN, spec_path=SPEC) as sb:
        yield sb
        assert sb.violations == []


def run(sandbox: Sandbox, fn):
    async def go():
        async with BotAPI(TOKEN, base_url=sandbox.base_url) as api:
            return await fn(api)

    return asyncio.run(go())


MARKUP = to_markup(keyboard([Button("◀", "pg:1:0"), Button("▶", "pg:1:2")], [Button("⚙ Settings", "set")]))


def test_a_keyboard_goes_out_and_a_press_comes_back_as_a_callback_query(sandbox):
    async def go(api: BotAPI):
        sent = await api.send_message(CHAT, "<b>Page 1</b>", reply_markup=MARKUP, disable_notification=True)
        message = sandbox.message(CHAT, sent["message_id"])
        update_id = sandbox.press(CHAT, message, "Settings")
        updates = await api.get_updates(offset=0, timeout=1)
        await api.answer_callback_query(updates[0]["callback_query"]["id"], text="Done.")
        return sent, updates, update_id

    sent, updates, update_id = run(sandbox, go)
    assert sent["reply_markup"] == MARKUP
    stored = sandbox.message(CHAT, sent["message_id"])
    assert stored is not None and stored.disable_notification and stored.buttons[2] == ("⚙ Settings", "set")
    press = updates[0]["callback_query"]
    assert updates[0]["update_id"] == update_id
    assert press["data"] == "set" and press["message"]["message_id"] == sent["message_id"]
    assert press["message"]["reply_markup"] == MARKUP and press["message"]["text"] == "Page 1"
    assert [(a.data, a.text) for a in sandbox.answers] == [("set", "Done.")]


def test_a_press_is_answered_once_only(sandbox):
    async def go(api: BotAPI):
        sandbox.send_callback_query(CHAT, "set")
        query_id = (await api.get_updates(offset=0, timeout=1))[0]["callback_query"]["id"]
        await api.answer_callback_query(query_id)
        with pytest.raises(BadRequest, match="query is too old"):
            await api.answer_callback_query(query_id)

    run(sandbox, go)


def test_edits_change_the_stored_message_and_refuse_a_no_op(sandbox):
    async def go(api: BotAPI):
        sent = await api.send_message(CHAT, "Page 1", reply_markup=MARKUP)
        await api.edit_message_text(CHAT, sent["message_id"], "Page <b>2</b>", reply_markup=MARKUP)
        with pytest.raises(BadRequest, match="not modified"):
            await api.edit_message_text(CHAT, sent["message_id"], "Page <b>2</b>", reply_markup=MARKUP)
        await api.edit_message_reply_markup(CHAT, sent["message_id"], reply_markup=None)
        with pytest.raises(BadRequest, match="message to edit not found"):
            await api.edit_message_text(CHAT, 999, "x")
        return sent

    sent = run(sandbox, go)
    now = sandbox.message(CHAT, sent["message_id"])
    assert now is not None and now.plain_text == "Page 2" and now.buttons == [] and now.edits == 2
    assert len(sandbox.sent_to(CHAT)) == 1  # edited in place, nothing new sent
    with pytest.raises(KeyError):
        sandbox.press(CHAT, now, "Settings")  # a button that is no longer there cannot be pressed


def test_callback_data_over_64_bytes_is_refused_like_telegram(sandbox):
    too_long = {"inline_keyboard": [[{"text": "x", "callback_data": "é" * 33}]]}  # 66 bytes

    async def go(api: BotAPI):
        with pytest.raises(BadRequest, match="BUTTON_DATA_INVALID"):
            await api.send_message(CHAT, "hi", reply_markup=too_long)
        many = {"inline_keyboard": [[{"text": str(i), "callback_data": str(i)}] for i in range(101)]}
        with pytest.raises(BadRequest, match="REPLY_MARKUP_TOO_LONG"):
            await api.send_message(CHAT, "hi", reply_markup=many)

    run(sandbox, go)
    with pytest.raises(ValueError):
        callback("tz", "x" * 70)


def test_documents_go_up_and_come_back_down(sandbox):
    content = json.dumps({"format": "tgdigest.subscriber", "version": 1}).encode()

    async def go(api: BotAPI):
        sent = await api.send_document(CHAT, "tgdigest-export.json", content, caption="Your <b>export</b>",
                                       reply_markup=MARKUP)
        sandbox.send_user_document(CHAT, "mine.json", b'{"a": 1}', reply_to=sandbox.message(CHAT, sent["message_id"]))
        update = (await api.get_updates(offset=0, timeout=1))[0]["message"]
        file = await api.get_file(update["document"]["file_id"])
        downloaded = await api.download_file(file["file_path"])
        replied = await api.get_file(update["reply_to_message"]["document"]["file_id"])
        again = await api.download_file(replied["file_path"])
        with pytest.raises(BadRequest, match="larger"):
            await api.download_file(replied["file_path"], max_bytes=10)
        with pytest.raises(BadRequest, match="invalid file_id"):
            await api.get_file("nope")
        return sent, downloaded, again

    sent, downloaded, again = run(sandbox, go)
    assert sent["document"]["file_name"] == "tgdigest-export.json" and sent["caption"] == "Your export"
    assert downloaded == b'{"a": 1}' and again == content
    multipart = sandbox.calls_of("sendDocument")[0]
    assert multipart.status == 200 and multipart.params["caption"] == "Your <b>export</b>"
    assert json.loads(multipart.params["reply_markup"]) == MARKUP  # JSON-serialised in a multipart form
    assert sandbox.message(CHAT, sent["message_id"]).buttons[2] == ("⚙ Settings", "set")  # type: ignore[union-attr]
