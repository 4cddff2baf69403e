"""Service-at-scale benchmark: the real ``tgdigest run --no-fetch`` sending one minute's digests.

    .venv/bin/python bench/scale.py                     # 2,000 subscribers x 5, 30,000 posts
    .venv/bin/python bench/scale.py --subscribers 10000 --subscriptions 10 --posts 100000

Builds a data directory: ``--posts`` posts over ``--days`` days (text drawn from
tests/fixtures/sample_channel_dump.txt, 20 channels, 15% of posts retold by another channel
so dedupe folds them into stories) through the real ingest path; ``--subscribers``
subscribers with ``--subscriptions`` subscriptions each, drawn like bench/match.py's (each
matches a few percent of the stories); every subscriber's daily digest is due at the same
minute and the previous one was sent a day before, so each digest covers the last day.

Then starts the service as a subprocess (``tgdigest run --no-fetch``) against the sandbox
Bot API in this process, which is as strict as Telegram: 30 messages in any sliding
1-second window (beyond: 429 with retry_after), 10-40 ms of random request latency. During
sending, a user sends /start and the wait for the answer is measured.

Prints: seconds from the due minute to the first digest message and to the last digest
stored, messages/s over the first minute of sending, the share of sends answered 429, the
service's peak RSS (VmHWM), and the /start wait; and whether each target is met. The
machine is shared with other work: CPU-bound figures (build times, the /start wait) are
pessimistic when it is busy.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from match import CHANNELS, load_vocabulary, make_query  # noqa: E402

from bot.config import Config  # noqa: E402
from bot.core.models import Post  # noqa: E402
from bot.devtools.sandbox import Sandbox  # noqa: E402
from bot.storage.db import open_db  # noqa: E402
from bot.storage.ingest import Ingestor  # noqa: E402

TOKEN = "123456:scale-bench"
PROBE_CHAT = 999_999_999  # the user who sends /start during the broadcast
SPEC = ROOT / "tests" / "fixtures" / "bot-api-spec.json"

TARGETS_SMALL = {"first": 30.0, "rate": 28.5, "share_429": 0.01, "rss": 300.0, "start": 5.0}
TARGETS_LARGE = {"stored": 60.0, "rss": 400.0}


def make_posts(rng: random.Random, count: int, days: float, end: datetime) -> list[Post]:
    raw_tokens, _, _, tags = load_vocabulary()
    posts: list[Post] = []
    for i in range(count):
        channel = rng.randrange(len(CHANNELS))
        date = end - timedelta(seconds=rng.uniform(60, days * 86400))
        if posts and rng.random() < 0.15:  # another channel retells a recent story
            told = posts[rng.randrange(max(0, len(posts) - 200), len(posts))]
            text = told.text
            date = max(told.date + timedelta(minutes=rng.randint(1, 30)), date) if told.date < end else date
            date = min(date, end - timedelta(seconds=30))
        else:
            size = rng.randint(20, 60)
            start = rng.randrange(0, len(raw_tokens) - size)
            text = " ".join(raw_tokens[start : start + size])
            if rng.random() < 0.3:
                text += " #" + rng.choice(tags)
        posts.append(
            Post(channel_id=1000 + channel, message_id=10 + i, date=date, text=text,
                 channel_username=CHANNELS[channel], channel_title=f"Channel {channel}")
        )
    posts.sort(key=lambda p: p.date)
    return posts


def prepare(data_dir: Path, args: argparse.Namespace, due: datetime) -> tuple[Path, float]:
    """The database and config; returns (config path, seconds it took)."""
    started = time.perf_counter()
    rng = random.Random(args.seed)
    db_path = data_dir / "tgdigest.sqlite"
    config_path = data_dir / "config.toml"
    config_path.write_text(
        "[digest]\ntick_seconds = 60\nfirst_lookback_hours = 24\n\n"
        "[[categories]]\nname = \"Politics\"\nquery = \"election OR parliament OR minister\"\n\n"
        "[[categories]]\nname = \"Economy\"\nquery = \"bank OR inflation OR market*\"\n",
        encoding="utf-8",
    )
    from bot.config import load_config

    config: Config = load_config(config_path)
    db = open_db(db_path)
    posts = make_posts(rng, args.posts, args.days, due)
    ingestor = Ingestor(db, config)
    ingestor.ensure_categories_current()
    for start in range(0, len(posts), 5000):
        ingestor.ingest(posts[start : start + 5000])
    _, stream, keywords, tags = load_vocabulary()
    yesterday = due - timedelta(days=1)
    created = (due - timedelta(days=30)).isoformat()
    with db.atomic():
        for chat in range(1, args.subscribers + 1):
            db.execute(
                "INSERT INTO subscribers (chat_id, active, paused, digest_time, timezone, created_at, "
                "last_digest_at, last_digest_local_date) VALUES (?, 1, 0, ?, 'UTC', ?, ?, ?)",
                [chat, due.strftime("%H:%M"), created, yesterday.isoformat(), yesterday.date().isoformat()],
            )
            for _ in range(args.subscriptions):
                db.execute(
                    "INSERT INTO subscriptions (chat_id, query, urgent, created_at) VALUES (?, ?, 0, ?)",
                    [chat, make_query(rng, stream, keywords, tags, selective=False), created],
                )
    db.close()
    return config_path, time.perf_counter() - started


def due_minute(lead_seconds: float) -> datetime:
    """The first whole minute at least ``lead_seconds`` from now (time to start the service)."""
    at = datetime.now(UTC) + timedelta(seconds=lead_seconds)
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def stored_count(db_path: Path, local_date: str) -> int:
    """Subscribers whose digest of ``local_date`` is built (stored, or found empty)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute(
            "SELECT count(*) FROM subscribers WHERE last_digest_local_date = ?", [local_date]
        ).fetchone()[0])
    except sqlite3.OperationalError:
        return -1
    finally:
        conn.close()


def wall_of(monotonic_at: float, anchor: tuple[float, float]) -> float:
    """A time.monotonic() stamp as Unix time (via one paired reading)."""
    mono, wall = anchor
    return wall + (monotonic_at - mono)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=5)
    parser.add_argument("--posts", type=int, default=30_000)
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=20251130)
    parser.add_argument("--send-seconds", type=float, default=60.0, help="how long to watch sending")
    parser.add_argument("--keep", type=Path, help="build the data directory here and keep it")
    args = parser.parse_args()
    large = args.subscribers > 2000 or args.posts > 30_000
    targets = TARGETS_LARGE if large else TARGETS_SMALL

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.keep or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        # Preparing takes a while; the due minute is chosen after it, so pick dates now and
        # shift nothing: posts end a minute before whatever minute ends up due.
        due = due_minute(lead_seconds=60 + args.posts / 1500)
        config_path, prep_seconds = prepare(data_dir, args, due)
        print(f"prepared {args.posts} posts, {args.subscribers} subscribers x {args.subscriptions} "
              f"subscriptions in {prep_seconds:.0f} s; digests due at {due:%H:%M} UTC")
        if datetime.now(UTC) > due - timedelta(seconds=15):
            sys.exit("preparing took longer than planned; run again (the due minute has passed)")
        db_path = data_dir / "tgdigest.sqlite"
        sandbox = Sandbox(token=TOKEN, spec_path=SPEC, window_limit=30, latency=0.010, jitter=0.030, seed=2)
        with sandbox:
            env = dict(os.environ, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BOT_API_URL=sandbox.base_url,
                       TGDIGEST_DB=str(db_path), TGDIGEST_CONFIG=str(config_path))
            env.pop("TELEGRAM_API_ID", None)
            log_path = data_dir / "service.log"
            with log_path.open("w") as log_file:
                service = subprocess.Popen(
                    [str(ROOT / ".venv" / "bin" / "tgdigest"), "run", "--no-fetch"],
                    env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=data_dir,
                )
                try:
                    results = watch(sandbox, service, db_path, due, args)
                finally:
                    rss = peak_rss_mb(service.pid)
                    service.send_signal(signal.SIGTERM)
                    try:
                        service.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        service.kill()
            violations = sandbox.violations
        results["rss"] = rss
        report(results, targets, args, violations, log_path)


def watch(sandbox: Sandbox, service: subprocess.Popen[bytes], db_path: Path, due: datetime,
          args: argparse.Namespace) -> dict[str, Any]:
    anchor = (time.monotonic(), time.time())
    due_ts = due.timestamp()
    local_date = due.date().isoformat()
    first_ts: float | None = None
    stored_ts: float | None = None
    start_wait = float("nan")
    probe_at: float | None = None
    deadline = due_ts + 600
    while time.time() < deadline:
        if service.poll() is not None:
            sys.exit(f"the service exited with {service.returncode}; see its log")
        now = time.time()
        digest_msgs = [m for m in sandbox.sent if m.chat_id != PROBE_CHAT]
        if first_ts is None and digest_msgs:
            first_ts = wall_of(digest_msgs[0].at, anchor)
        if stored_ts is None and now > due_ts and stored_count(db_path, local_date) >= args.subscribers:
            stored_ts = now
        if first_ts is not None and probe_at is None and now >= first_ts + 10:
            probe_at = time.monotonic()
            sandbox.send_user_message(PROBE_CHAT, "/start")
        if probe_at is not None and start_wait != start_wait:
            answers = sandbox.sent_to(PROBE_CHAT)
            if answers:
                start_wait = answers[0].at - probe_at
        if first_ts is not None and stored_ts is not None and now >= first_ts + args.send_seconds \
                and start_wait == start_wait:
            break
        time.sleep(0.2)
    if first_ts is None:
        sys.exit("no digest was sent within 10 minutes of the due minute")
    watched = min(60.0, time.time() - first_ts)  # the first minute, or as much as was watched
    window_end = first_ts + watched
    sent = [m for m in sandbox.sent if m.chat_id != PROBE_CHAT]
    in_minute = [m for m in sent if wall_of(m.at, anchor) < window_end]
    per_10s = Counter(int((wall_of(m.at, anchor) - first_ts) // 10) for m in in_minute
                      if wall_of(m.at, anchor) < first_ts + watched // 10 * 10)
    statuses = Counter(c.status for c in sandbox.calls_of("sendMessage"))
    answered = sum(statuses.values())
    return {
        "first": first_ts - due_ts,
        "stored": (stored_ts - due_ts) if stored_ts else float("nan"),
        "rate": len(in_minute) / watched,
        "watched": watched,
        "share_429": statuses.get(429, 0) / answered if answered else 0.0,
        "start": start_wait,
        "messages": float(len(sent)),
        "sends": float(answered),
        "n429": float(statuses.get(429, 0)),
        "digests": float(_count(db_path, "SELECT count(*) FROM digests WHERE kind = 'digest'")),
        "parts": float(_count(db_path, "SELECT count(*) FROM digest_parts")),
        "per_10s": " ".join(str(per_10s.get(k, 0)) for k in range(int(watched // 10))),
    }


def _count(db_path: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def report(r: dict[str, Any], targets: dict[str, float], args: argparse.Namespace, violations: list[str],
           log_path: Path) -> None:
    def mark(key: str, ok: bool) -> str:
        return "" if key not in targets else ("  [met]" if ok else "  [MISSED]")

    print(f"digests stored: {r['digests']:.0f} ({r['parts']:.0f} messages), "
          f"{r['messages']:.0f} sent while watched ({r['sends']:.0f} requests)")
    print(f"first digest message: {r['first']:6.1f} s after the due minute"
          + mark("first", r["first"] <= targets.get("first", 0)) + (" (target <= 30 s)" if "first" in targets else ""))
    print(f"last digest stored:   {r['stored']:6.1f} s after the due minute"
          + mark("stored", r["stored"] <= targets.get("stored", 0)) + (" (target <= 60 s)" if "stored" in targets else ""))
    print(f"sending, first {r['watched']:.0f} s: {r['rate']:.2f} msg/s = {100 * r['rate'] / 30:.1f}% of 30/s"
          + mark("rate", r["rate"] >= targets.get("rate", 0)) + (" (target >= 28.5)" if "rate" in targets else ""))
    print(f"  messages per 10 s of that minute: {r['per_10s']}")
    print(f"answered 429: {r['n429']:.0f} of {r['sends']:.0f} sends = {100 * r['share_429']:.2f}%"
          + mark("share_429", r["share_429"] <= targets.get("share_429", 0)) + (" (target <= 1%)" if "share_429" in targets else ""))
    print(f"service peak RSS: {r['rss']:.0f} MB" + mark("rss", r["rss"] <= targets["rss"])
          + f" (target <= {targets['rss']:.0f} MB)")
    print(f"/start answered after {r['start']:.2f} s during sending"
          + mark("start", r["start"] <= targets.get("start", 0)) + (" (target <= 5 s)" if "start" in targets else ""))
    if violations:
        print(f"Bot API spec violations: {violations[:3]}")
    print(f"(service log: {log_path} -- kept only with --keep)")


if __name__ == "__main__":
    main()
