"""The whole service as a subprocess (`tgdigest run --no-fetch`) against the loopback Bot API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.devtools.sandbox import Sandbox

ROOT = Path(__file__).parent.parent.parent
TOKEN = "123456:e2e-token-abcdefghijklmnopqrstuvwxyz0123"
CHAT = 5150


def _env(sandbox: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TGDIGEST_", "TELEGRAM_"))}
    env.update({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BOT_API_URL": sandbox.base_url,
                "TGDIGEST_LOG_LEVEL": "DEBUG"})
    return env


def _tgdigest(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> list[str]:
    return [sys.executable, "-m", "bot", "--config", str(tmp_path / "c.toml"), "--db", str(tmp_path / "db.sqlite"), *args]


def _wait(sandbox: Sandbox, count: int, timeout: float = 20.0) -> list[str]:
    return [m.text for m in sandbox.wait_for_sent(count, chat_id=CHAT, timeout=timeout)]


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    assert time.monotonic() - started < 10, "graceful stop takes under 10 s"
    return proc.returncode, err


def _zone_where_it_is_morning() -> str:
    """A fixed-offset zone whose local time is 09:xx now: a digest due at 18:00 there is
    hours away, so the once-a-minute tick never sends a scheduled digest while a test runs
    (a new subscriber is due at once when today's time has passed)."""
    offset = (9 - time.gmtime().tm_hour) % 24
    if offset > 14:  # the zones run from UTC-12 to UTC+14
        offset -= 24
    return f"Etc/GMT{-offset:+d}"  # POSIX signs: "Etc/GMT-9" is UTC+9


@pytest.fixture
def prepared(tmp_path: Path, sample_export: Path) -> Path:
    (tmp_path / "c.toml").write_text(
        f"[digest]\nfirst_lookback_hours = 480\ndefault_time = \"18:00\"\n"
        f"default_timezone = \"{_zone_where_it_is_morning()}\"\n"
        "[[categories]]\nname = \"BRICS\"\nquery = \"BRICS\"\n"
    )
    # Recent posts: rebase the sample so its newest post is an hour old.
    from bot.devtools.demo import newest_stamp, rebase_export

    shift = int(time.time()) - 3600 - newest_stamp(sample_export)
    rebase_export(sample_export, tmp_path / "export.json", shift=shift)
    subprocess.run(_tgdigest(tmp_path, "import", str(tmp_path / "export.json"), "--channel", "@mfa_russia"),
                   check=True, capture_output=True, cwd=tmp_path)
    return tmp_path


def test_conversation_digest_restart_nothing_lost_nothing_twice(prepared: Path) -> None:
    """Subscribe, get a digest, SIGTERM, restart: no update re-handled, no digest resent."""
    with Sandbox(token=TOKEN, spec_path=ROOT / "tests" / "fixtures" / "bot-api-spec.json") as sandbox:
        proc = subprocess.Popen(_tgdigest(prepared, "run", "--no-fetch"), env=_env(sandbox), cwd=prepared,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            sandbox.send_user_message(CHAT, "/start")
            _wait(sandbox, 1)
            sandbox.send_user_message(CHAT, "/subscribe BRICS")
            replies = _wait(sandbox, 2)
            assert "BRICS" in replies[1]
            sandbox.send_user_message(CHAT, "/digest")
            replies = _wait(sandbox, 3)
            digest_parts = [r for r in replies[2:] if "digest" in r.lower()]
            assert digest_parts, replies[2:]
            assert "https://t.me/mfa_russia/" in "".join(replies[2:])
        finally:
            code, err = _stop(proc)
        assert code == 0, err
        assert TOKEN not in err and TOKEN.split(":")[1] not in err, "the token never reaches the logs"
        sent_before = len(sandbox.sent_to(CHAT))

        # Restart: the same updates are not handled again, the digest is not sent again.
        proc = subprocess.Popen(_tgdigest(prepared, "run", "--no-fetch"), env=_env(sandbox), cwd=prepared,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            sandbox.send_user_message(CHAT, "/digest")
            replies = _wait(sandbox, sent_before + 1)
            assert "nothing new" in replies[sent_before].lower()
            time.sleep(1.0)
            assert len(sandbox.sent_to(CHAT)) == sent_before + 1, "nothing else was sent after the restart"
        finally:
            code, err = _stop(proc)
        assert code == 0, err
        assert sandbox.violations == [], "every request matched the Bot API spec"


def test_second_run_on_the_same_data_directory_refuses(prepared: Path) -> None:
    """Single owner: a second `run` on the same data directory exits with a clear message."""
    with Sandbox(token=TOKEN) as sandbox:
        first = subprocess.Popen(_tgdigest(prepared, "run", "--no-fetch"), env=_env(sandbox), cwd=prepared,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            sandbox.send_user_message(CHAT, "/start")
            _wait(sandbox, 1)
            second = subprocess.run(_tgdigest(prepared, "run", "--no-fetch"), env=_env(sandbox), cwd=prepared,
                                    capture_output=True, text=True, timeout=30)
            assert second.returncode == 1
            assert "another tgdigest" in second.stderr.lower() and "Traceback" not in second.stderr
        finally:
            code, err = _stop(first)
        assert code == 0, err


def test_run_without_credentials_says_what_to_do(tmp_path: Path) -> None:
    """Without API credentials and without --no-fetch, run exits with a clear message."""
    (tmp_path / "c.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TGDIGEST_", "TELEGRAM_"))}
    env["TELEGRAM_BOT_TOKEN"] = TOKEN
    proc = subprocess.run(_tgdigest(tmp_path, "run"), env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1
    assert "TELEGRAM_API_ID" in proc.stderr and "--no-fetch" in proc.stderr
    assert "Traceback" not in proc.stderr
