"""Single owner of a data directory: one ``tgdigest run`` per database and session.

``acquire_lock(data_dir)`` takes an exclusive ``flock`` on ``<data_dir>/tgdigest.lock`` and
writes the owner's pid into it. The kernel drops the lock when the process exits, however it
exits (crash, SIGKILL, container stop), so a stale file never blocks the next start; the pid
in it is only there to name the owner in the error.

Errors: ``bot.errors.LockedError`` when another process holds the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from bot.errors import LockedError

LOCK_NAME = "tgdigest.lock"


class Lock:
    """A held lock on a data directory; release it with ``release()`` or by leaving ``with``."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # Empty the file first so nobody reads a dead pid; the file itself stays (deleting it
        # would race with a process that opened it and is about to lock it).
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> Lock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()


def acquire_lock(data_dir: str | Path) -> Lock:
    """Lock ``data_dir`` for this process or raise LockedError naming the owner's pid."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    # O_CLOEXEC: child processes (none today) must not inherit, and so keep, the lock.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = _read_pid(fd)
        os.close(fd)
        who = f"pid {owner}" if owner else "pid unknown"
        raise LockedError(f"another tgdigest run ({who}) is using {data_dir}") from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return Lock(path, fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
