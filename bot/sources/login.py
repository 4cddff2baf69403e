"""``tgdigest login``: the one interactive step (phone, code, 2FA password).

The session is kept in the data directory (the database's directory) as
``tgdigest.session``, readable by its owner only (mode 0600): it is as good as the account
itself. With ``string_session=True`` nothing is written and the session comes back as a
string for ``TELEGRAM_SESSION`` instead (handy for containers and secret stores).

Errors: ``LoginError`` (credentials missing, Telegram refused the phone, code or password,
Telegram unreachable or the connection cut).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.config import Secrets
from bot.errors import TgdigestError
from bot.sources.telethon_source import session_path


class LoginError(TgdigestError):
    """Logging in to Telegram failed; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: str  # who we are logged in as, for the confirmation line
    session_path: Path | None = None
    session_string: str | None = None  # only with string_session=True; a secret, never log it


def _session_at(session: object, server: tuple[str, int]) -> object:
    """The session (a StringSession or a session file path) pointed at ``server``."""
    from telethon.sessions import Session, SQLiteSession

    chosen = session if isinstance(session, Session) else SQLiteSession(str(session))
    chosen.set_dc(2, server[0], server[1])
    return chosen


def prepare_session_file(data_dir: Path) -> Path:
    """Create (or tighten) the session file with mode 0600 before Telethon writes to it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = session_path(data_dir)
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
    server: tuple[str, int] | None = None,
    connection_retries: int = 5,
) -> LoginResult:
    """Log in interactively (the prompts are callables, so the CLI owns all I/O).

    ``server`` (host, port) replaces Telegram's default data centre (test servers, a local
    stand-in); ``connection_retries`` is how often Telethon reconnects before giving up.
    """
    from telethon import TelegramClient, errors
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
        path = prepare_session_file(data_dir)
        session = str(path)
    if server is not None:
        session = _session_at(session, server)
    client = TelegramClient(session, secrets.api_id, secrets.api_hash, connection_retries=connection_retries)
    where = f" at {server[0]}:{server[1]}" if server is not None else ""
    try:
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
