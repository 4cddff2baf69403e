"""Reading accounts: which Telegram account reads which channel, and how each one is doing.

One account can join at most 500 channels and one long flood wait stops it, so channels are
spread over several logged-in accounts (``tgdigest login --account NAME``):

- each channel is read by one account (``channels.account``); a new channel goes to the
  usable account with the fewest channels, up to ``[collect] max_channels_per_account``;
- a channel is ``pinned`` to its account when the config names one (``account = "NAME"``) or
  when it is private (only the account that joined it can read it);
- an account in a flood wait or logged out is not *usable*: its due public channels are
  read by another account for the time being (the collector does that), and go back when it
  recovers, because ``channels.account`` never changes for a handover.

``AccountBook`` keeps that state for a collector: what it learned in this process (a session
Telegram revoked stays dead until the service restarts after ``tgdigest login``) plus the
flood waits stored in the ``accounts`` table, which it writes back after every pass for
``tgdigest accounts``. Errors: ``NoAccount`` (no account can take a channel now).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.config import DEFAULT_ACCOUNT
from bot.core.clock import from_iso, to_iso
from bot.errors import ChannelUnavailable

OK, FLOOD_WAIT, LOGGED_OUT = "ok", "flood_wait", "logged_out"


class NoAccount(ChannelUnavailable):
    """No reading account can take this channel now (all full, flooded or logged out)."""


@dataclass
class _State:
    flood_until: datetime | None = None
    dead: str | None = None  # why the session is unusable (until a restart after login)
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


class AccountBook:
    """The reading accounts of one collector: ``names`` are the connected ones (any other
    account is not usable: one whose session failed to connect is recorded by
    ``record_logged_out``)."""

    def __init__(self, db: Database, names: Sequence[str], *, max_channels: int) -> None:
        self.db = db
        self.names = tuple(names)
        self.max_channels = max_channels
        self._states: dict[str, _State] = {}
        self._load()

    def _state(self, name: str) -> _State:
        return self._states.setdefault(name, _State())

    def _load(self) -> None:
        for name, flood_until, last_success, last_error, last_error_at in self.db.execute(
            "SELECT name, flood_until, last_success_at, last_error, last_error_at FROM accounts"
        ).fetchall():
            state = self._state(name)
            state.flood_until = from_iso(flood_until)
            state.last_success_at = from_iso(last_success)
            state.last_error = state.last_error or last_error
            state.last_error_at = from_iso(last_error_at)

    # -- who can read --

    def usable(self, name: str | None, now: datetime) -> bool:
        if name is None or name not in self.names:
            return False
        state = self._states.get(name)
        if state is None:
            return True
        if state.dead is not None:
            return False
        return state.flood_until is None or state.flood_until <= now

    def alive(self, name: str | None) -> bool:
        """Connected with a session that works (it may be waiting out a flood wait)."""
        return name in self.names and self._states.get(name, _State()).dead is None

    def any_alive(self) -> bool:
        """Some connected account still has a session (flooded ones count: they recover)."""
        return any(self._states.get(n, _State()).dead is None for n in self.names)

    def why_not(self, name: str | None, now: datetime) -> str:
        if name is None:
            return "no reading account is assigned"
        state = self._states.get(name)
        if state is not None and state.dead is not None:
            return f"account {name} is logged out ({state.dead})"
        if state is not None and state.flood_until is not None and state.flood_until > now:
            return f"account {name} is in a flood wait until {to_iso(state.flood_until)}"
        if name not in self.names:
            return f"account {name} is not logged in: run `tgdigest login --account {name}`"
        return f"account {name} is available"

    def loads(self) -> dict[str, int]:
        """Active channels each account reads (its own, not handovers)."""
        rows = self.db.execute(
            "SELECT account, COUNT(*) FROM channels WHERE active = 1 AND account IS NOT NULL GROUP BY account"
        ).fetchall()
        return {name: count for name, count in rows}

    def choose(self, pinned: str | None, now: datetime) -> str:
        """The account a new channel goes to: the pinned one, else the usable one with the
        fewest channels below the cap. Raises NoAccount saying why there is none."""
        if pinned is not None:
            if pinned in self.names and self._states.get(pinned, _State()).dead is None:
                return pinned  # a flooded pinned account still owns it; it reads it when it can
            raise NoAccount(self.why_not(pinned, now))
        loads = self.loads()
        usable = [n for n in self.names if self.usable(n, now)]
        open_ = [n for n in usable if loads.get(n, 0) < self.max_channels]
        if open_:
            return min(open_, key=lambda n: (loads.get(n, 0), self.names.index(n)))
        if usable:
            raise NoAccount(
                f"every reading account already reads {self.max_channels} channels "
                f"([collect] max_channels_per_account): add one with `tgdigest login --account NAME`"
            )
        reasons = "; ".join(self.why_not(n, now) for n in self.names) or "no account is logged in"
        raise NoAccount(f"no reading account can take a new channel now ({reasons})")

    def stand_in(self, owner: str | None, now: datetime, load: Mapping[str, int]) -> str | None:
        """Another usable account to read a public channel of ``owner`` for now: the one
        with the least work queued in this pass (``load``); None if there is none."""
        others = [n for n in self.names if n != owner and self.usable(n, now)]
        if not others:
            return None
        return min(others, key=lambda n: (load.get(n, 0), self.names.index(n)))

    # -- what happened --

    def flooded(self, name: str, until: datetime, error: str, now: datetime) -> None:
        state = self._state(name)
        state.flood_until = max(until, state.flood_until) if state.flood_until else until
        state.last_error, state.last_error_at = error, now

    def logged_out(self, name: str, error: str, now: datetime) -> None:
        state = self._state(name)
        state.dead = error
        state.last_error, state.last_error_at = error, now

    def succeeded(self, name: str, now: datetime) -> None:
        self._state(name).last_success_at = now

    def save(self, now: datetime) -> None:
        """Write the connected accounts' state to the ``accounts`` table (one transaction);
        the rows of accounts that did not connect keep what ``record_logged_out`` wrote."""
        with self.db.atomic():
            for name in self.names:
                state = self._states.get(name, _State())
                if state.dead is not None:
                    status = LOGGED_OUT
                elif state.flood_until is not None and state.flood_until > now:
                    status = FLOOD_WAIT
                else:
                    status = OK
                self.db.execute(
                    "INSERT INTO accounts (name, state, flood_until, last_success_at, last_error, last_error_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET state = excluded.state, "
                    "flood_until = excluded.flood_until, "
                    "last_success_at = coalesce(excluded.last_success_at, accounts.last_success_at), "
                    "last_error = excluded.last_error, last_error_at = excluded.last_error_at",
                    [
                        name, status,
                        to_iso(state.flood_until) if status == FLOOD_WAIT and state.flood_until else None,
                        to_iso(state.last_success_at) if state.last_success_at else None,
                        state.last_error, to_iso(state.last_error_at) if state.last_error_at else None,
                    ],
                )


def record_logged_out(db: Database, name: str, error: str, now: datetime) -> None:
    """Mark an account logged out (``tgdigest logout``, or its session failed to connect)."""
    with db.atomic():
        db.execute(
            "INSERT INTO accounts (name, state, last_error, last_error_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET state = excluded.state, flood_until = NULL, "
            "last_error = excluded.last_error, last_error_at = excluded.last_error_at",
            [name, LOGGED_OUT, error, to_iso(now)],
        )


def list_accounts(
    db: Database, *, sessions: Mapping[str, str], configured: Iterable[str] = (), now: datetime
) -> list[dict[str, Any]]:
    """Every account we know of (a session, a channel, a config pin or a past pass), for
    ``tgdigest accounts``: name, session kind, state, flood end, channels, last success,
    last error, channels with errors. ``sessions`` maps account name → "file" | "string"."""
    rows = {
        r[0]: r
        for r in db.execute(
            "SELECT name, state, flood_until, last_success_at, last_error, last_error_at FROM accounts"
        ).fetchall()
    }
    channels: dict[str, tuple[int, int, int]] = {}
    for account, total, pinned, failing in db.execute(
        "SELECT account, COUNT(*), SUM(pinned), SUM(last_error IS NOT NULL) FROM channels "
        "WHERE active = 1 AND account IS NOT NULL GROUP BY account"
    ).fetchall():
        channels[account] = (total, pinned or 0, failing or 0)
    names = dict.fromkeys([*sessions, *channels, *configured, *rows])
    if not names:
        return []
    out = []
    for name in sorted(names, key=lambda n: (n != DEFAULT_ACCOUNT, n)):
        row = rows.get(name)
        state = row[1] if row else OK
        flood_until = from_iso(row[2]) if row else None
        if state == FLOOD_WAIT and (flood_until is None or flood_until <= now):
            state = OK  # the wait is over; the next pass uses the account again
        if name not in sessions and state != LOGGED_OUT:
            state = LOGGED_OUT if row or name in channels else "no_session"
        total, pinned, failing = channels.get(name, (0, 0, 0))
        out.append(
            {
                "name": name,
                "session": sessions.get(name),
                "state": state,
                "flood_until": to_iso(flood_until) if state == FLOOD_WAIT and flood_until else None,
                "channels": total,
                "pinned_channels": pinned,
                "channels_with_errors": failing,
                "last_success_at": row[3] if row else None,
                "last_error": row[4] if row else None,
                "last_error_at": row[5] if row else None,
            }
        )
    return out
