"""``tgdigest login`` / ``tgdigest logout``: the one interactive step (phone, code, 2FA password).

Each reading account has its own session in the data directory (the database's directory),
readable by its owner only (mode 0600): it is as good as the account itself.
``tgdigest.session`` is the ``default`` account's, ``tgdigest-NAME.session`` account NAME's.
With ``string_session=True`` nothing is written and the session comes back as a string for
``TELEGRAM_SESSION`` (``TELEGRAM_SESSION_<NAME>``) instead (containers, secret stores).
Telethon prints its sign-in banner to stdout; it goes to stderr here, so
``$(tgdigest login --string-session)`` captures the session string and nothing else.

Errors: ``LoginError`` (credentials missing, Telegram refused the phone, code or password,
Telegram unreachable or the connection cut).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import DEFAULT_ACCOUNT, Secrets, TelegramConfig
from bot.errors import TgdigestError
from bot.sources.telethon_source import apply_server, session_env_name, session_path


class LoginError(TgdigestError):
    """Logging in to Telegram failed; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: str  # who we are logged in as, for the confirmation line
    session_path: Path | None = None
    session_string: str | None = None  # only with string_session=True; a secret, never log it


def prepare_session_file(data_dir: Path, account: str = DEFAULT_ACCOUNT) -> Path:
    """Create (or tighten) the session file with mode 0600 before Telethon writes to it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = session_path(data_dir, account)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)  # an existing file keeps its old mode otherwise
    return path


async def login(
    secrets: Secrets,
    *,
    data_dir: Path,
    phone: Callable[[], str],
    code: Callable[[], str],
    password: Callable[[], str],
    string_session: bool = False,
    account: str = DEFAULT_ACCOUNT,
    telegram: TelegramConfig | None = None,
    client_factory: Callable[[Any], Any] | None = None,
    connection_retries: int = 5,
) -> LoginResult:
    """Log in interactively (the prompts are callables, so the CLI owns all I/O).
    ``client_factory(session)`` builds the client (tests pass a fake); default Telethon's.
    ``connection_retries``: how often Telethon reconnects before giving up."""
    from telethon import errors
    from telethon.sessions import StringSession

    if not secrets.has_telegram_api:
        raise LoginError(
            "set TELEGRAM_API_ID and TELEGRAM_API_HASH first (create them at https://my.telegram.org "
            "→ API development tools)"
        )
    path: Path | None = None
    if string_session:
        session: object = StringSession()
    else:
        path = prepare_session_file(data_dir, account)
        session = str(path)
    if client_factory is None:
        from telethon import TelegramClient

        client = TelegramClient(session, secrets.api_id, secrets.api_hash, connection_retries=connection_retries)
        apply_server(client, telegram or TelegramConfig())
    else:
        client = client_factory(session)
    server = (telegram or TelegramConfig()).server_address()
    where = f" at {server[0]}:{server[1]}" if server is not None else ""
    try:
        # Telethon prints "Signed in successfully as …" to stdout: keep stdout for the result.
        with contextlib.redirect_stdout(sys.stderr):
            await client.start(phone=phone, password=password, code_callback=code)
        me = await client.get_me()
        saved = StringSession.save(client.session) if string_session else None
    except errors.RPCError as e:
        raise LoginError(f"Telegram refused the login ({type(e).__name__}): {e}") from None
    except (OSError, ConnectionError) as e:
        raise LoginError(f"cannot reach Telegram{where}: {e} (check the network, proxy or firewall)") from None
    except EOFError:
        # asyncio.IncompleteReadError: the connection was cut mid-answer. It must not escape:
        # click reports an EOFError as a bare "Aborted!".
        raise LoginError(
            f"cannot reach Telegram{where}: the connection was closed before Telegram answered "
            "(check the network, proxy or firewall, then try again)"
        ) from None
    finally:
        await client.disconnect()
        if path is not None and path.exists():
            os.chmod(path, 0o600)
    if me is None:
        raise LoginError("login did not complete")
    name = " ".join(p for p in (me.first_name, me.last_name) if p) or str(me.id)
    if me.username:
        name += f" (@{me.username})"
    return LoginResult(user=name, session_path=path, session_string=saved)


@dataclass(frozen=True, slots=True)
class LogoutResult:
    removed: tuple[Path, ...]  # session files deleted
    env_name: str | None  # the variable still holding a string session, to unset by hand


def logout(secrets: Secrets, *, data_dir: Path, account: str = DEFAULT_ACCOUNT) -> LogoutResult:
    """Forget ``account``'s session file (and its SQLite journal). A string session lives in
    the environment: it is named so the operator can remove it. Raises LoginError if the
    account has no session at all."""
    path = session_path(data_dir, account)
    removed = []
    for candidate in (path, path.with_name(path.name + "-journal")):
        if candidate.exists():
            candidate.unlink()
            removed.append(candidate)
    env_name = session_env_name(account) if secrets.session_string(account) else None
    if not removed and env_name is None:
        raise LoginError(f"account {account} has no session (no {path.name} in {data_dir}, no {session_env_name(account)})")
    return LogoutResult(removed=tuple(removed), env_name=env_name)
