"""kill -9 in the middle of a delivery, then restart: no part lost, at most the one in flight repeated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.core.models import Post
from bot.devtools.sandbox import Sandbox
from bot.digests.delivery import DigestService
from bot.storage import subscribers
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor

TOKEN = "123456:crash-test"
NOW = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent.parent

# The delivering process: what `tgdigest run` does on start (resume the outbox), one chat at a
# time so that exactly one part can be in flight when it is killed.
DRIVER = """
import asyncio, sys
from bot.telegram.botapi import BotAPI
from bot.config import Config
from bot.storage.db import open_db
from bot.digests.delivery import DigestService
from bot.telegram.sender import Sender

async def main(db_path, base_url):
    db = open_db(db_path)
    async with BotAPI(sys.argv[3], base_url=base_url) as api:
        sender = Sender(api, global_rate=25, per_chat_rate=25)
        service = DigestService(db, sender, Config(), concurrency=1)
        report = await service.deliver_pending()
    print(report.parts_sent, flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


class _NoSender:
    async def send(self, chat_id: int, text: str, **options: Any) -> Any:
        raise AssertionError("building must not send")


def _prepare(db_path: Path, chats: list[int]) -> None:
    db = open_db(db_path)
    for chat in chats:
        subscribers.register(db, chat, now=NOW - timedelta(days=2))
        subscribers.add_subscription(db, chat, "election")
    posts = [
        Post(channel_id=1, message_id=i, date=NOW - timedelta(minutes=700 - i),
             text=f"Election item {i} 🗳️\n" + f"Подробности {i} 😀 " * 40,
             channel_username="chan1", channel_title="Channel 1")
        for i in range(60)
    ]
    Ingestor(db, Config()).ingest(posts)
    built = DigestService(db, _NoSender(), Config(), now=lambda: NOW).build_due()
    assert len(built.built) == len(chats)
    db.close()


def _start(db_path: Path, base_url: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(db_path), base_url, TOKEN],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )


def test_kill_9_mid_delivery_then_restart_loses_nothing_and_repeats_at_most_the_part_in_flight(
    tmp_path: Path,
) -> None:
    """Three SIGKILLs at different points of a 3-chat multi-part delivery, then a clean run: every
    part arrives, in order per chat, and each kill repeats at most one part."""
    db_path = tmp_path / "tg.sqlite"
    chats = [301, 302, 303]
    _prepare(db_path, chats)
    kills = 0
    with Sandbox(token=TOKEN, spec_path=ROOT / "tests" / "fixtures" / "bot-api-spec.json") as sandbox:
        for step in (1, 3, 4):
            before = len(sandbox.sent)
            proc = _start(db_path, sandbox.base_url)
            try:
                sandbox.wait_for_sent(before + step, timeout=30)
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
            assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
            kills += 1
        proc = _start(db_path, sandbox.base_url)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        sent = sandbox.sent
        assert sandbox.violations == []

    db = open_db(db_path)
    parts = db.execute(
        "SELECT d.chat_id, p.seq, p.text, p.sent_at FROM digest_parts p JOIN digests d ON d.id = p.digest_id "
        "ORDER BY d.chat_id, p.seq"
    ).fetchall()
    assert len(parts) >= 2 * len(chats)
    counts = Counter((m.chat_id, m.text) for m in sent)
    # Nothing lost: every part reached Telegram and is marked sent.
    assert all(counts[(chat, text)] >= 1 for chat, _, text, _ in parts)
    assert all(sent_at is not None for *_, sent_at in parts)
    # Nothing else was sent, and each kill repeated at most the one part in flight.
    assert set(counts) == {(chat, text) for chat, _, text, _ in parts}
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates <= kills
    assert max(counts.values()) <= 2
    # Order per chat: first arrivals follow the parts' order.
    for chat in chats:
        arrived = list(dict.fromkeys(m.text for m in sent if m.chat_id == chat))
        assert arrived == [text for c, _, text, _ in parts if c == chat]
    assert db.execute("SELECT count(*) FROM deliveries WHERE delivered_at IS NULL").fetchone()[0] == 0
    assert {r[0] for r in db.execute("SELECT status FROM digests")} == {"sent"}
    db.close()
