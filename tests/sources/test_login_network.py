"""`tgdigest login` when Telegram cannot be reached or cuts the connection: one clear error, never "Aborted!"."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Secrets, TelegramConfig
from bot.sources.login import LoginError, login

SECRETS = Secrets(api_id=12345, api_hash="0123456789abcdef0123456789abcdef")


@pytest.fixture(params=["cut after the first bytes", "closed at once"])
def cutting_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    """A TCP server on 127.0.0.1 standing in for Telegram's data centre: it drops every connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    reads_first = request.param.startswith("cut")

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if reads_first:
                conn.recv(64)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[:2]
    listener.close()


def _never() -> str:
    raise AssertionError("must not prompt before Telegram answered")


def test_connection_cut_is_a_login_error_not_an_abort(tmp_path: Path, cutting_server: tuple[str, int]) -> None:
    """Telethon's IncompleteReadError (an EOFError, which click reports as "Aborted!") becomes one LoginError line."""
    with pytest.raises(LoginError) as err:
        asyncio.run(login(SECRETS, data_dir=tmp_path, phone=_never, code=_never, password=_never,
                          telegram=TelegramConfig(server=f"{cutting_server[0]}:{cutting_server[1]}"), connection_retries=1))
    message = str(err.value)
    assert message.startswith("cannot reach Telegram") and "\n" not in message
    assert f"{cutting_server[0]}:{cutting_server[1]}" in message


def test_nothing_listening_is_a_login_error(tmp_path: Path) -> None:
    """A refused connection (no network yet, firewall) is the same one clear line."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    address = probe.getsockname()[:2]
    probe.close()  # nothing listens there now
    with pytest.raises(LoginError, match="cannot reach Telegram"):
        asyncio.run(login(SECRETS, data_dir=tmp_path, phone=_never, code=_never, password=_never,
                          telegram=TelegramConfig(server=f"{address[0]}:{address[1]}"), connection_retries=1))
