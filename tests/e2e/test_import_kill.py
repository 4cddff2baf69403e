"""A SIGKILLed `tgdigest import` leaves no process behind, and importing again completes it exactly."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

MESSAGES = 60_000


def _session_members(session_id: int) -> list[int]:
    """Pids of every live process in a session (read from /proc: children reparented to PID 1 included)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the ")" that closes the command name: state ppid pgrp session ...
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session_id and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _stored(db_path: Path) -> tuple[int, int]:
    with sqlite3.connect(db_path, timeout=30) as conn:
        count, distinct = conn.execute("SELECT count(*), count(DISTINCT message_id) FROM posts").fetchone()
    return count, distinct


@pytest.fixture(scope="module")
def large_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "large.json"
    messages = [{"id": i, "type": "message", "date_unixtime": str(1_750_000_000 + 30 * i),
                 "text": f"Bulletin {i}: the delegation met counterparts on trade, energy and the grain corridor " * 2}
                for i in range(1, MESSAGES + 1)]
    path.write_text(json.dumps({"name": "big", "type": "public_channel", "id": 4242, "messages": messages}))
    assert path.stat().st_size > 8 << 20  # large enough for the worker process
    return path


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find orphaned processes")
@pytest.mark.parametrize("kill_after", [0.3, 1.5])
def test_sigkill_mid_import_leaves_no_process_and_reimport_completes(
    tmp_path: Path, large_export: Path, kill_after: float
) -> None:
    db_path = tmp_path / "db.sqlite"
    command = [sys.executable, "-m", "bot", "--db", str(db_path), "import", "--batch-size", "500", str(large_export)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TGDIGEST_", "TELEGRAM_"))}
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    session = proc.pid
    deadline = time.monotonic() + 30
    while len(_session_members(session)) < 2:  # the worker (and the resource tracker) started
        assert proc.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline, "no worker process appeared"
        time.sleep(0.05)
    time.sleep(kill_after)
    assert proc.poll() is None, "the import ended before it could be killed; make the export larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()  # type: ignore[union-attr]

    deadline = time.monotonic() + 5
    while _session_members(session) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _session_members(session) == [], "a process of the killed import outlived it by 5 s"

    stored_before, _ = _stored(db_path) if db_path.exists() else (0, 0)
    assert stored_before < MESSAGES
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert _stored(db_path) == (MESSAGES, MESSAGES)
