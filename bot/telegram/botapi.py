"""The Telegram Bot API client: the only module that talks HTTP for the bot (httpx).

The endpoint is data: ``BotAPI(token, base_url=...)`` works the same against
``https://api.telegram.org``, a local Bot API server or ``bot.devtools.sandbox``.

The token is part of every request path, so it is kept out of everything httpx can see:
the client builds URLs with a placeholder (``/bot***/sendMessage``) and a small transport
puts the real token in just before the bytes go out. httpx's own INFO log line, its
exceptions and our error messages therefore only ever show the placeholder.

Wire errors are mapped once, here::

    BotAPIError (bot.errors)       the Bot API answered with an error, or could not be reached
    ├── RetryAfter                 429: wait ``retry_after`` seconds before any further request
    ├── Forbidden                  403: the user blocked the bot, or the account is deactivated
    ├── BadRequest                 400: chat not found, can't parse entities, message too long, ...
    ├── Unauthorized               401: the token is wrong or was revoked
    ├── Conflict                   409: a webhook is set or another process is polling
    ├── ServerError                5xx, or a reply that is not the Bot API's JSON
    └── NetworkError               no answer: connect/read timeout, connection reset, DNS

Every error has ``method`` (the Bot API method), ``error_code`` (0 when there was no answer)
and ``description`` (Telegram's text).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bot.core.retry import parse_retry_after
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

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org"
_TOKEN_PLACEHOLDER = "***"
ALLOWED_UPDATES: tuple[str, ...] = ("message", "edited_message", "callback_query", "my_chat_member")


@dataclass(frozen=True, slots=True)
class BotCommand:
    command: str
    description: str


class _TokenTransport(httpx.AsyncBaseTransport):
    """Puts the real token into the path at the last moment, so httpx never holds it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, token: str) -> None:
        self._inner = inner
        self._needle = f"/bot{_TOKEN_PLACEHOLDER}/"
        self._real = f"/bot{token}/"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode("ascii")
        real = request.url.copy_with(raw_path=path.replace(self._needle, self._real, 1).encode("ascii"))
        # A new Request object: httpx logs and attaches the original, placeholder one.
        outgoing = httpx.Request(
            request.method, real, headers=request.headers, stream=request.stream,
            extensions=request.extensions,
        )
        return await self._inner.handle_async_request(outgoing)

    async def aclose(self) -> None:
        await self._inner.aclose()


class BotAPI:
    """An async Bot API client; use as ``async with BotAPI(token, base_url=url) as api``.

    ``timeout`` bounds ordinary calls; ``getUpdates`` gets ``timeout + its long-poll
    seconds`` as its read timeout so a quiet long poll is never taken for a dead line.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not token or "/" in token or any(ch.isspace() for ch in token):
            raise ValueError("bot token is empty or malformed (expected the value @BotFather gave)")
        self._token = token
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        inner = transport if transport is not None else httpx.AsyncHTTPTransport(retries=0)
        self._client = httpx.AsyncClient(
            transport=_TokenTransport(inner, token),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": "tgdigest"},
        )

    def __repr__(self) -> str:
        return f"BotAPI(base_url={self.base_url!r})"

    async def __aenter__(self) -> BotAPI:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def redact(self, text: str) -> str:
        """``text`` with the token replaced by ``***`` (for anything that might echo a URL)."""
        return text.replace(self._token, _TOKEN_PLACEHOLDER)

    async def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """Call ``method`` with JSON ``params`` (None values dropped); return ``result`` or raise."""
        body = {k: v for k, v in (params or {}).items() if v is not None}
        request_timeout = (
            httpx.Timeout(timeout, connect=min(self._timeout, 10.0)) if timeout is not None else None
        )
        extra: dict[str, Any] = {"timeout": request_timeout} if request_timeout is not None else {}
        response = await self._send(method, lambda url: self._client.post(url, json=body, **extra))
        return self._result(method, response)

    async def call_multipart(
        self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes, str]]
    ) -> Any:
        """Call ``method`` as ``multipart/form-data`` (uploads): objects in ``params`` go as JSON
        strings, as the Bot API reads them; ``files`` maps a field to (name, bytes, MIME type)."""
        fields = {
            k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in params.items() if v is not None
        }
        response = await self._send(method, lambda url: self._client.post(url, data=fields, files=files))
        return self._result(method, response)

    async def _send(self, method: str, post: Callable[[str], Awaitable[httpx.Response]]) -> httpx.Response:
        url = f"{self.base_url}/bot{_TOKEN_PLACEHOLDER}/{method}"
        try:
            return await post(url)
        except httpx.TimeoutException as e:
            raise NetworkError(f"timed out ({type(e).__name__})", method=method) from None
        except httpx.HTTPError as e:
            # ``from None``: the httpx exception holds the request; keep tracebacks minimal.
            raise NetworkError(self.redact(f"{type(e).__name__}: {e}"), method=method) from None

    def _result(self, method: str, response: httpx.Response) -> Any:
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict) or "ok" not in payload:
            text = f"HTTP {response.status_code}: not a Bot API answer"
            if response.status_code >= 500 or response.status_code == 0:
                raise ServerError(text, method=method, error_code=response.status_code)
            if response.status_code == 429:
                raise RetryAfter(text, retry_after=parse_retry_after(response.headers.get("Retry-After"), default=1.0), method=method)
            raise BotAPIError(text, method=method, error_code=response.status_code)
        if payload.get("ok") is True:
            return payload.get("result")
        raise error_from_payload(method, payload, http_status=response.status_code)

    # --- the methods the bot uses ------------------------------------------------------

    async def get_me(self) -> dict[str, Any]:
        me: dict[str, Any] = await self.call("getMe")
        return me

    async def get_updates(
        self,
        *,
        offset: int | None = None,
        timeout: int = 30,
        limit: int = 100,
        allowed_updates: Sequence[str] = ALLOWED_UPDATES,
    ) -> list[dict[str, Any]]:
        result = await self.call(
            "getUpdates",
            {"offset": offset, "timeout": timeout, "limit": limit, "allowed_updates": list(allowed_updates)},
            timeout=self._timeout + timeout,
        )
        if not isinstance(result, list):
            raise ServerError("getUpdates did not return a list", method="getUpdates")
        return result

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        disable_preview: bool = True,
        disable_notification: bool | None = None,
        reply_markup: dict[str, Any] | None = None,
        allow_paid_broadcast: bool = False,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": parse_mode}
        if disable_preview:
            params["link_preview_options"] = {"is_disabled": True}
        if disable_notification:
            params["disable_notification"] = True
        if allow_paid_broadcast:
            params["allow_paid_broadcast"] = True  # up to 1,000 msg/s, billed in Stars
        if reply_markup is not None:
            params["reply_markup"] = reply_markup
        return _message(await self.call("sendMessage", params), "sendMessage")

    async def edit_message_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        disable_preview: bool = True,
        reply_markup: dict[str, Any] | None = None,
    ) -> Any:
        """Replace a message's text (and its keyboard: without ``reply_markup`` it is removed)."""
        params: dict[str, Any] = {
            "chat_id": chat_id, "message_id": message_id, "text": text, "parse_mode": parse_mode,
            "reply_markup": reply_markup,
        }
        if disable_preview:
            params["link_preview_options"] = {"is_disabled": True}
        return await self.call("editMessageText", params)

    async def edit_message_reply_markup(
        self, chat_id: int, message_id: int, *, reply_markup: dict[str, Any] | None = None
    ) -> Any:
        """Replace a message's inline keyboard (None removes it)."""
        return await self.call(
            "editMessageReplyMarkup", {"chat_id": chat_id, "message_id": message_id, "reply_markup": reply_markup}
        )

    async def send_document(
        self,
        chat_id: int,
        filename: str,
        content: bytes,
        *,
        caption: str | None = None,
        parse_mode: str | None = "HTML",
        mime_type: str = "application/json",
        reply_markup: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Upload ``content`` as a file named ``filename`` (``sendDocument``, multipart)."""
        params: dict[str, Any] = {
            "chat_id": chat_id, "caption": caption, "parse_mode": parse_mode if caption else None,
            "reply_markup": reply_markup,
        }
        result = await self.call_multipart("sendDocument", params, {"document": (filename, content, mime_type)})
        return _message(result, "sendDocument")

    async def get_file(self, file_id: str) -> dict[str, Any]:
        """The ``File`` to download (``file_path``, ``file_size``)."""
        result = await self.call("getFile", {"file_id": file_id})
        if not isinstance(result, dict) or not isinstance(result.get("file_path"), str):
            raise ServerError("getFile did not return a File with a file_path", method="getFile")
        return result

    async def download_file(self, file_path: str, *, max_bytes: int = 1_000_000) -> bytes:
        """The bytes of a file from ``getFile`` (``/file/bot<token>/<file_path>``), at most ``max_bytes``."""
        url = f"{self.base_url}/file/bot{_TOKEN_PLACEHOLDER}/{file_path.lstrip('/')}"
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise BadRequest(f"file download answered HTTP {response.status_code}", method="getFile",
                                     error_code=response.status_code)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise BadRequest(f"file is larger than {max_bytes} bytes", method="getFile", error_code=400)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.TimeoutException as e:
            raise NetworkError(f"timed out ({type(e).__name__})", method="getFile") from None
        except httpx.HTTPError as e:
            raise NetworkError(self.redact(f"{type(e).__name__}: {e}"), method="getFile") from None

    async def delete_webhook(self, *, drop_pending_updates: bool = False) -> bool:
        return bool(await self.call("deleteWebhook", {"drop_pending_updates": drop_pending_updates}))

    async def set_my_commands(self, commands: Sequence[BotCommand]) -> bool:
        payload = [{"command": c.command, "description": c.description} for c in commands]
        return bool(await self.call("setMyCommands", {"commands": payload}))

    async def answer_callback_query(self, callback_query_id: str, *, text: str | None = None) -> bool:
        """Stop the button's spinner; ``text`` shows as a short notice (at most 200 characters)."""
        shown = text[:200] if text else None
        return bool(await self.call("answerCallbackQuery", {"callback_query_id": callback_query_id, "text": shown}))


def _message(result: Any, method: str) -> dict[str, Any]:
    if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
        raise ServerError(f"{method} did not return a Message", method=method)
    return result


def error_from_payload(method: str, payload: dict[str, Any], *, http_status: int = 0) -> BotAPIError:
    """Map a Bot API ``{"ok": false, ...}`` answer to the typed error (the one place that does)."""
    raw_code = payload.get("error_code", http_status)
    code = raw_code if isinstance(raw_code, int) else http_status
    description = str(payload.get("description") or f"error {code}")
    parameters = payload.get("parameters") if isinstance(payload.get("parameters"), dict) else {}
    retry_after = parameters.get("retry_after") if parameters else None
    if code == 429 or isinstance(retry_after, (int, float)):
        wait = retry_after if isinstance(retry_after, (int, float)) and retry_after >= 0 else 1
        return RetryAfter(description, retry_after=wait, method=method, error_code=code)
    if code == 403:
        return Forbidden(description, method=method, error_code=code)
    if code == 400:
        return BadRequest(description, method=method, error_code=code)
    if code == 401:
        return Unauthorized(description, method=method, error_code=code)
    if code == 409:
        return Conflict(description, method=method, error_code=code)
    if code >= 500:
        return ServerError(description, method=method, error_code=code)
    return BotAPIError(description, method=method, error_code=code)
