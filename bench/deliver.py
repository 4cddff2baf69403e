"""Delivery benchmark: many digests through the real outbox and sender to a loopback Bot API.

    .venv/bin/python bench/deliver.py                 # 1,000 digests, ~2,000 messages, ~75 s
    .venv/bin/python bench/deliver.py --digests 100   # a quick look

Builds N subscribers whose digests are two messages each (real ingest, matching, rendering,
outbox), then delivers them with ``DigestService.deliver_pending`` through ``bot.telegram.sender.Sender``
and ``bot.telegram.botapi.BotAPI`` to ``bot.devtools.sandbox.Sandbox`` (in a process of its own,
as Telegram does not share the bot's CPU; it prints its URL, and on "report" what it accepted
and when, by its own clock), which is as strict as
Telegram: at most 30 messages accepted in any sliding 1-second window (beyond it a real 429
with retry_after), every request delayed by 10-40 ms of random latency (so evenly sent
messages arrive bunched), 5% of sendMessage calls answered 500, and, with ``--extra-429``,
a few more 429s injected during the run.

Prints: messages accepted per second as a share of the allowed rate (first to last accepted
message), messages lost (a part never accepted), duplicated (a part accepted twice), and
the 500s/429s seen. The sender runs at its configured pace (``[bot] global_rate``, default
29/s in any 1-second window); answers that failed (500s, 429s) do not count against the
limit, and the sender gives their slots back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import BotConfig, Config  # noqa: E402
from bot.core.models import Post  # noqa: E402
from bot.devtools.sandbox import Sandbox  # noqa: E402
from bot.digests.delivery import DigestService  # noqa: E402
from bot.storage.db import open_db  # noqa: E402
from bot.storage.ingest import Ingestor  # noqa: E402
from bot.telegram.botapi import BotAPI  # noqa: E402
from bot.telegram.sender import Sender  # noqa: E402

TOKEN = "123456:bench"
NOW = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)


class _NoSender:
    async def send(self, chat_id: int, text: str, **options: object) -> object:
        raise RuntimeError("building only")


def build(db_path: Path, digests: int, stories: int) -> tuple[int, float]:
    """Subscribers, stories and the stored digests; returns (messages queued, seconds)."""
    db = open_db(db_path)
    config = Config()
    with db.atomic():
        for chat in range(1, digests + 1):
            db.execute(
                "INSERT INTO subscribers (chat_id, active, paused, digest_time, timezone, created_at) "
                "VALUES (?, 1, 0, '09:00', 'UTC', ?)", [chat, (NOW - timedelta(days=2)).isoformat()],
            )
            db.execute(
                "INSERT INTO subscriptions (chat_id, query, urgent, created_at) VALUES (?, ?, 0, ?)",
                [chat, "election OR vote*", (NOW - timedelta(days=2)).isoformat()],
            )
    posts = [
        Post(channel_id=1 + i % 5, message_id=1000 + i, date=NOW - timedelta(minutes=20 * (i + 1)),
             text=f"Election update {i}: a long headline about the vote 🗳️\n"
                  + f"Paragraph {i} on the election campaign, polls and the votes counted so far. " * 4,
             channel_username=f"chan{1 + i % 5}", channel_title=f"Channel {1 + i % 5}")
        for i in range(stories)
    ]
    Ingestor(db, config).ingest(posts)
    started = time.perf_counter()
    report = DigestService(db, _NoSender(), config, now=lambda: NOW).build_due()
    seconds = time.perf_counter() - started
    queued = db.execute("SELECT count(*) FROM digest_parts").fetchone()[0]
    assert len(report.built) == digests, report
    db.close()
    return queued, seconds


def serve_sandbox(args: argparse.Namespace) -> None:
    """The child process: run the sandbox, print its URL, and on "report" (stdin) print what it
    accepted -- (chat, text, acceptance time) of every message -- and the sendMessage statuses."""
    sandbox = Sandbox(token=TOKEN, window_limit=int(args.rate), latency=args.latency, jitter=args.jitter,
                      error_rate=args.error_rate, seed=1)
    with sandbox:
        stop = threading.Event()

        def inject_429s() -> None:
            # Spread the extra 429s over the run: one each time another share is accepted.
            for k in range(1, args.extra_429 + 1):
                target = args.queued * k // (args.extra_429 + 1)
                while len(sandbox.sent) < target:
                    if stop.wait(0.05):
                        return
                sandbox.fail_next("sendMessage", 429, retry_after=1)

        threading.Thread(target=inject_429s, daemon=True).start()
        print(sandbox.base_url, flush=True)
        sys.stdin.readline()
        stop.set()
        statuses = Counter(c.status for c in sandbox.calls_of("sendMessage"))
        json.dump({"sent": [(m.chat_id, m.text, m.at) for m in sandbox.sent], "statuses": statuses}, sys.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--digests", type=int, default=1000, help="digests to deliver (default 1000)")
    parser.add_argument("--rate", type=float, default=30.0, help="messages/s the fake Bot API allows")
    parser.add_argument("--error-rate", type=float, default=0.05, help="share of sendMessage answered 500")
    parser.add_argument("--extra-429", type=int, default=0, help="429s injected during the run (default 0)")
    parser.add_argument("--pace", type=float, default=BotConfig().global_rate,
                        help="the sender's global_rate (default: the config default)")
    parser.add_argument("--latency", type=float, default=0.010, help="fixed request latency, s")
    parser.add_argument("--jitter", type=float, default=0.030, help="random extra latency, up to this, s")
    parser.add_argument("--stories", type=int, default=14, help="stories per digest (14 give two messages)")
    parser.add_argument("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--queued", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sandbox:
        serve_sandbox(args)
        return
    # Each retried 500 logs a warning; thousands of them would bury the figures.
    logging.basicConfig(level=logging.ERROR)

    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.sqlite"
        queued, build_seconds = build(db_path, args.digests, args.stories)
        print(f"built {args.digests} digests = {queued} messages in {build_seconds:.2f} s")
        # The sandbox runs in a process of its own (as Telegram runs on machines of its own),
        # so its HTTP threads do not take the sender's CPU (and GIL) in this one.
        sandbox = subprocess.Popen(
            [sys.executable, __file__, "--serve-sandbox", "--rate", str(args.rate), "--latency", str(args.latency),
             "--jitter", str(args.jitter), "--error-rate", str(args.error_rate),
             "--extra-429", str(args.extra_429), "--queued", str(queued)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert sandbox.stdin is not None and sandbox.stdout is not None
        base_url = sandbox.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            sys.exit(f"the sandbox did not start: {base_url!r}")

        async def deliver() -> tuple[float, object]:
            db = open_db(db_path)
            async with BotAPI(TOKEN, base_url=base_url) as api:
                bot_config = BotConfig(global_rate=args.pace, max_retries=8)
                sender = Sender.from_config(api, bot_config)
                service = DigestService(db, sender, Config(), now=lambda: NOW, concurrency=64)
                started = time.perf_counter()
                report = await service.deliver_pending()
                elapsed = time.perf_counter() - started
            db.close()
            return elapsed, report

        try:
            elapsed, report = asyncio.run(deliver())
            answer, _ = sandbox.communicate("report\n", timeout=60)
        finally:
            if sandbox.poll() is None:
                sandbox.kill()
        record = json.loads(answer)
        sent = [(chat, text, at) for chat, text, at in record["sent"]]
        statuses = Counter({int(k): v for k, v in record["statuses"].items()})

        db = open_db(db_path)
        expected = {(chat, text) for chat, text in db.execute(
            "SELECT d.chat_id, p.text FROM digest_parts p JOIN digests d ON d.id = p.digest_id")}
        db.close()
    counts = Counter((chat, text) for chat, text, _ in sent)
    lost = len(expected - set(counts))
    duplicated = sum(c - 1 for c in counts.values())
    accepted_at = sorted(at for _, _, at in sent)
    span = accepted_at[-1] - accepted_at[0] if len(sent) > 1 else float("nan")
    achieved = (len(sent) - 1) / span if len(sent) > 1 else 0.0
    print(f"delivered {len(sent)} messages to {args.digests} chats in {elapsed:.1f} s")
    print(f"achieved {achieved:.2f} msgs/s = {100 * achieved / args.rate:.1f}% of the allowed {args.rate:g}/s "
          f"(first to last accepted message, {span:.1f} s)")
    print(f"lost {lost}, duplicated {duplicated}")
    print(f"answers: {statuses.get(200, 0)} ok, {statuses.get(500, 0)} x 500, {statuses.get(429, 0)} x 429 "
          f"({args.extra_429} injected), sender paced at {args.pace:g}/s, "
          f"latency {1000 * args.latency:.0f}+U(0,{1000 * args.jitter:.0f}) ms")
    print(f"report: {report}")
    if lost or duplicated:
        sys.exit(1)


if __name__ == "__main__":
    main()
