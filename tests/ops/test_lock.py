"""The data-directory lock: one owner at a time, across real processes, released on any exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import LockedError
from bot.ops.lock import LOCK_NAME, acquire_lock

HOLDER = """
import sys
from bot.ops.lock import acquire_lock
lock = acquire_lock(sys.argv[1])
print("locked", flush=True)
sys.stdin.readline()  # hold until the test says so (or kills us)
"""

TAKER = """
import sys
from bot.errors import LockedError
from bot.ops.lock import acquire_lock
try:
    acquire_lock(sys.argv[1])
except LockedError as e:
    print(e)
    sys.exit(3)
print("got it")
"""


def python(code: str, data_dir: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_second_process_is_refused_while_the_lock_is_held(tmp_path):
    """Another process cannot take a held lock and is told the owner's pid and directory."""
    with acquire_lock(tmp_path) as lock:
        assert lock.held
        taker = python(TAKER, tmp_path)
        out, _ = taker.communicate(timeout=30)
    assert taker.returncode == 3
    assert out.strip() == f"another tgdigest run (pid {os.getpid()}) is using {tmp_path}"


def test_lock_is_free_after_the_with_block(tmp_path):
    """Leaving the with block releases the lock, so another process gets it."""
    with acquire_lock(tmp_path):
        pass
    taker = python(TAKER, tmp_path)
    out, _ = taker.communicate(timeout=30)
    assert (taker.returncode, out.strip()) == (0, "got it")


def test_killed_owner_releases_the_lock(tmp_path):
    """A holder killed with SIGKILL leaves no lock behind: the kernel drops it."""
    holder = python(HOLDER, tmp_path)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=rf"\(pid {holder.pid}\)"):
            acquire_lock(tmp_path)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdin.close()
        holder.stdout.close()
    assert (tmp_path / LOCK_NAME).exists()  # the stale file does not matter
    with acquire_lock(tmp_path) as lock:
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
        assert lock.held


def test_same_process_cannot_lock_twice(tmp_path):
    """A second acquire in the same process is refused too (two runs in one process are a bug)."""
    with acquire_lock(tmp_path), pytest.raises(LockedError):
        acquire_lock(tmp_path)


def test_release_is_idempotent_and_creates_missing_directory(tmp_path):
    """The data directory is created if missing, and releasing twice is harmless."""
    lock = acquire_lock(tmp_path / "new" / "data")
    assert (tmp_path / "new" / "data" / LOCK_NAME).exists()
    lock.release()
    lock.release()
    assert not lock.held
    assert (tmp_path / "new" / "data" / LOCK_NAME).read_text() == ""
