"""Button benchmark: how fast a press is answered and its screen updated, under load.

    .venv/bin/python bench/buttons.py                  # 100 users x 20 presses, about 40 s
    .venv/bin/python bench/buttons.py --users 20       # a quick look

Runs the real service (``tgdigest run --no-fetch``, in its own process as in production: bot
loop, handler, sender, digest delivery, a real SQLite file) against the loopback Bot API
(``bot.devtools.sandbox``, in this process, standing in for Telegram). Each user has a compact
digest (delivered by the service at start) and a /settings message. Then every user presses
buttons as fast as the bot answers, all users at once: the settings time steps (each edits
the settings message), the ◀ ▶ of their digest (each edits the digest), and Mute channel
(a new message, through the sender's 1 message/s per chat).

Prints, over all presses: the time from the press being queued to ``answerCallbackQuery``
(Telegram shows a spinner until then; the issue asks for under a second) and to the screen
being updated (the edit or the new message accepted), as median, p95 and max; and whether
the target (every press answered within 1 s) was met. It exits 1 if a press went unanswered.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import (  # noqa: E402
    Config,  # noqa: E402
)
from bot.core.models import Post  # noqa: E402
from bot.devtools.sandbox import Sandbox  # noqa: E402
from bot.digests.delivery import DigestService, NoSender  # noqa: E402
from bot.storage import subscribers as subs  # noqa: E402
from bot.storage.db import open_db  # noqa: E402
from bot.storage.ingest import Ingestor  # noqa: E402

TOKEN = "123456:bench-buttons"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(users: int, presses: int, db_path: Path) -> int:
    config = Config()
    db = open_db(db_path)
    now = datetime.now(UTC)
    Ingestor(db, config).ingest([
        Post(channel_id=1 + i % 3, message_id=i + 1, date=now - timedelta(minutes=20 * (i + 1)),
             text=f"Oil story {i}\n" + "More on the oil market today. " * 20, channel_username=f"wire{i % 3}")
        for i in range(40)
    ])
    for chat in range(1, users + 1):
        subs.register(db, chat)
        subs.add_subscription(db, chat, "oil")
        subs.set_digest_style(db, chat, "compact")
    builder = DigestService(db, NoSender(), config)
    for chat in range(1, users + 1):
        builder.build_now(chat)  # stored in the outbox; the service sends them at start
    db.close()
    config_path = db_path.parent / "bench.toml"
    config_path.write_text("# defaults: 30 messages/s overall, 1 per second per chat\n")
    with Sandbox(token=TOKEN) as sandbox:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BOT_API_URL": sandbox.base_url,
               "TGDIGEST_LOG_LEVEL": "WARNING"}
        service = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config_path), "--db", str(db_path), "run", "--no-fetch"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        started = time.monotonic()
        for chat in range(1, users + 1):
            sandbox.send_user_message(chat, "/settings")
        while any(len(sandbox.sent_to(c)) < 2 for c in range(1, users + 1)):
            if service.poll() is not None or time.monotonic() - started > 120:
                raise SystemExit(f"the service did not start: {service.stderr.read() if service.stderr else ''}")
            await asyncio.sleep(0.05)
        print(f"setup: {users} users, each a compact digest and a settings message "
              f"({time.monotonic() - started:.1f} s, the sender paces 1 message/s per chat)")

        answer_delays: list[float] = []
        update_delays: list[float] = []

        async def user(chat: int) -> None:
            settings, digest = sandbox.sent_to(chat)[:2]
            if "Settings" not in settings.plain_text:
                settings, digest = digest, settings
            for i in range(presses):
                kind = i % 4
                target = settings if kind < 2 else digest
                current = sandbox.message(chat, target.message_id)
                assert current is not None
                if kind == 0:
                    label = "+15 min"
                elif kind == 1:
                    label = "−15 min"
                elif kind == 2:
                    label = "▶" if any(text == "▶" for text, _ in current.buttons) else "◀"
                else:
                    label = "Mute channel"
                before_sent = len(sandbox.sent_to(chat))
                queued = time.monotonic()
                update_id = sandbox.press(chat, current, label)
                answer = await sandbox.wait_answer(update_id, timeout=30)
                answer_delays.append(answer.delay)
                while True:
                    now_msg = sandbox.message(chat, target.message_id)
                    if (now_msg is not None and now_msg.edits > current.edits) or len(sandbox.sent_to(chat)) > before_sent:
                        break
                    await asyncio.sleep(0.01)
                update_delays.append(time.monotonic() - queued)

        started = time.monotonic()
        try:
            await asyncio.gather(*(user(c) for c in range(1, users + 1)))
        except TimeoutError:
            service.send_signal(signal.SIGTERM)
            _, err = service.communicate(timeout=30)
            failed = [(c.method, c.status) for c in sandbox.calls if c.status != 200][:10]
            raise SystemExit(f"a press was not answered; failed calls {failed}; service log:\n{err[-3000:]}") from None
        elapsed = time.monotonic() - started
        unanswered = sandbox.unanswered
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
    total = len(answer_delays)
    print(f"{total} presses by {users} users at once in {elapsed:.1f} s ({total / elapsed:.0f} presses/s handled)")
    for name, values in (("press → answerCallbackQuery", answer_delays), ("press → screen updated", update_delays)):
        print(f"{name}: median {statistics.median(values) * 1000:.0f} ms, p95 {pct(values, 0.95) * 1000:.0f} ms, "
              f"max {max(values) * 1000:.0f} ms")
    worst = max(answer_delays)
    print(f"target: every press answered within 1 s: {'met' if worst < 1.0 else 'MISSED'} (worst {worst:.2f} s); "
          f"unanswered: {len(unanswered)}")
    return 1 if unanswered else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--presses", type=int, default=20, help="presses per user")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(asyncio.run(run(args.users, args.presses, Path(tmp) / "bench.sqlite")))


if __name__ == "__main__":
    main()
