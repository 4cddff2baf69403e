"""Soak test: the real `tgdigest run --no-fetch` against the loopback Bot API, under a hostile crowd.

    .venv/bin/python bench/soak.py                 # 10 minutes, 1,000 users (the acceptance run)
    .venv/bin/python bench/soak.py --minutes 1     # a quick look (CI)

What it does: imports a synthetic channel export (3,000 posts over the last day and a half),
starts `tgdigest run --no-fetch` as a subprocess against ``bot.devtools.sandbox.Sandbox`` (a
real HTTP server on 127.0.0.1 that checks every request against the Bot API spec), and lets
1,000 simulated users talk to it: /start, a /time that makes their daily digest due at one of
several moments spread over the run (so a scheduled digest round comes every few minutes), a
subscription, then random valid and invalid commands, plain text, stickers, captioned photos
and edited messages. Meanwhile the Bot API misbehaves: 2% of sendMessage calls answer 500,
getUpdates answers 500/502 now and then, 429s with retry_after arrive every ~45 s, 20 users
block the bot (half of them silently, so their digests meet a 403), and the API is
unreachable for 30 s (connections dropped) in the middle of the run.

It reports, and exits 1 unless every target holds:

- RSS of the service: peak, and growth from just after warm-up to the end (target <= 10%);
- unhandled exceptions (tracebacks) in the service's log (target 0);
- updates answered: every update the users sent got exactly one reply (0 lost, 0 doubled);
- digest parts: every part stored in the outbox went out exactly once (0 lost, 0 doubled),
  except those cancelled because the user blocked the bot (counted);
- a clean stop (SIGTERM, exit 0) and no Bot API spec violation.

The figures go in docs/benchmarks.md. The machine is shared, so timings vary; the targets
above do not depend on speed.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.devtools.sandbox import DROPPED, Sandbox  # noqa: E402

TOKEN = "7312345678:AAH0kX9pQ_soak-token-value-abcdefghijk"
SPEC = ROOT / "tests" / "fixtures" / "bot-api-spec.json"
FIRST_CHAT = 500_000
TOPICS = [
    "pipeline", "tariff", "summit", "drought", "election", "grain", "refinery", "ceasefire", "satellite",
    "vaccine", "currency", "harbour", "railway", "glacier", "uranium", "copper", "wildfire", "embassy",
    "telescope", "monsoon", "fishery", "bauxite", "lithium", "airline", "parliament",
]
FILLER = [
    "officials", "said", "the", "talks", "that", "began", "this", "week", "were", "constructive", "while",
    "analysts", "expected", "further", "details", "after", "meeting", "of", "regional", "committee", "in", "capital",
]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- setup ---------------------------------------------------------------------------------


def write_export(path: Path, *, posts: int, rng: random.Random) -> None:
    now = int(time.time())
    messages = []
    for i in range(1, posts + 1):
        topics = rng.sample(TOPICS, 2)
        words = rng.sample(FILLER, 12) + [str(rng.randrange(10**6))]
        text = f"{topics[0].capitalize()} update {i}: {' '.join(words)} on the {topics[1]} question."
        messages.append({"id": i, "type": "message", "date_unixtime": str(now - 36 * 3600 + i * 36 * 3600 // posts),
                         "text": text})
    path.write_text(json.dumps({"name": "Soak Wire", "type": "public_channel", "id": 424242, "messages": messages}))


def write_config(path: Path, *, tick_seconds: int) -> None:
    # Nobody's digest is due by default: the users' /time commands schedule them.
    far = (datetime.now(UTC) + timedelta(hours=12)).strftime("%H:%M")
    path.write_text(
        "[bot]\npoll_timeout = 10\n"
        f"[digest]\ndefault_time = \"{far}\"\nfirst_lookback_hours = 48\ntick_seconds = {tick_seconds}\n"
        "[service]\nheartbeat_seconds = 10\nhealth_max_age = 60\n"
    )


def tgdigest(workdir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bot", "--config", str(workdir / "c.toml"), "--db", str(workdir / "db.sqlite"), *args]


def clean_env(sandbox: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TGDIGEST_", "TELEGRAM_"))}
    env.update({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BOT_API_URL": sandbox.base_url, "TGDIGEST_LOG_LEVEL": "INFO"})
    return env


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# --- the crowd -----------------------------------------------------------------------------


@dataclass(order=True)
class Event:
    at: float
    seq: int
    action: str = field(compare=False)
    chat_id: int = field(compare=False, default=0)
    text: str = field(compare=False, default="")


def random_command(rng: random.Random) -> tuple[str, str]:
    """(kind, text): kind is "text", "sticker", "photo" or "edited"."""
    a, b = rng.sample(TOPICS, 2)
    choices: list[tuple[str, str]] = [
        ("text", "/help"), ("text", "/list"), ("text", f"/subscribe {a}"), ("text", f"/subscribe {a} OR {b}"),
        ("text", f"/subscribe {a} 🔥"), ("text", "/subscribe (oil"), ("text", "/subscribe 🔥🔥"),
        ("text", f"/subscribe zero\u200d{a}"), ("text", f"/search {a}"), ("text", "/search ((("),
        ("text", f"/unsubscribe {rng.randint(1, 4)}"), ("text", "/unsubscribe -1"), ("text", "/unsubscribe x"),
        ("text", "/tz UTC"), ("text", "/tz Mars/Base"), ("text", "/time 25:99"), ("text", "/weekly someday"),
        ("text", "/weekly off"), ("text", "/resume"), ("text", "/channels"), ("text", "/categories"),
        ("text", "hello there"), ("text", "/nosuchcommand"), ("text", "/start"), ("text", "/addchannel @x"),
        ("text", "/subscribe " + "x" * 300), ("text", "<b>hi</b> & bye"),
        ("sticker", ""), ("photo", "/help"), ("photo", ""), ("edited", "/list"),
    ]
    return rng.choice(choices)


def user_update(chat_id: int, kind: str, text: str, message_id: int) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Soak"}
    message: dict[str, Any] = {"message_id": message_id, "from": user, "date": int(time.time()),
                               "chat": {"id": chat_id, "type": "private", "first_name": "Soak"}}
    if kind == "sticker":
        message["sticker"] = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512,
                              "is_animated": False, "is_video": False}
    elif kind == "photo":
        message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 90, "height": 90}]
        if text:
            message["caption"] = text
    else:
        message["text"] = text
    if kind == "edited":
        message["edit_date"] = int(time.time())
        return {"edited_message": message}
    return {"message": message}


def plan(args: argparse.Namespace, start: float, rng: random.Random) -> tuple[list[Event], list[datetime], set[int]]:
    """Every user action, the digest moments, and the users who block the bot."""
    duration = args.minutes * 60
    end_commands = start + duration - min(45.0, duration * 0.2)
    users = list(range(FIRST_CHAT, FIRST_CHAT + args.users))
    blockers = set(users[: min(20, len(users) // 10)])
    setup_span = min(60.0, duration * 0.12)
    # Blockers say their three commands first and get their replies long before they block.
    block_at = start + setup_span + 30
    # Digest moments: whole minutes from after the blocks to 90% of the run, every few minutes.
    step = 2 if args.minutes >= 6 else 1
    earliest = max(start + duration * 0.25, block_at + 30)
    first = datetime.fromtimestamp(earliest, UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    moments = []
    moment = first
    while moment.timestamp() <= start + duration * 0.9 or not moments:
        moments.append(moment)
        moment += timedelta(minutes=step)
    events: list[Event] = []
    seq = 0

    def add(at: float, action: str, chat_id: int, text: str = "") -> None:
        nonlocal seq
        seq += 1
        events.append(Event(at, seq, action, chat_id, text))

    for i, chat_id in enumerate(users):
        t = start + rng.uniform(0, setup_span * (0.1 if chat_id in blockers else 1.0))
        add(t, "text", chat_id, "/start")
        add(t + 2, "text", chat_id, f"/time {moments[i % len(moments)]:%H:%M}")
        add(t + 4, "text", chat_id, f"/subscribe {rng.choice(TOPICS)}")
    random_total = max(0, int(args.rate * duration) - 3 * len(users))
    talkers = [u for u in users if u not in blockers]
    for _ in range(random_total):
        chat_id = rng.choice(talkers)
        at = rng.uniform(start + setup_span + 5, end_commands)
        kind, text = random_command(rng)
        add(at, kind, chat_id, text)
    for i, chat_id in enumerate(sorted(blockers)):
        add(block_at, "block-silent" if i % 2 else "block", chat_id)
    outage_at = start + duration * 0.45
    add(outage_at, "down", 0)
    add(outage_at + args.outage_seconds, "up", 0)
    t = start + 20
    while t < end_commands:
        add(t, "429", 0)
        add(t + 7, "getUpdates-5xx", 0)
        t += 45
    heapq.heapify(events)
    return events, moments, blockers


# --- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="tgdigest-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"working in {workdir}")
    write_config(workdir / "c.toml", tick_seconds=args.tick_seconds)
    write_export(workdir / "export.json", posts=args.posts, rng=rng)
    subprocess.run(tgdigest(workdir, "import", str(workdir / "export.json"), "--channel", "@soakwire"),
                   check=True, capture_output=True, cwd=workdir)

    sent_by_chat: Counter[int] = Counter()
    with Sandbox(token=TOKEN, spec_path=SPEC, error_rate=0.02, seed=args.seed) as sandbox:
        log_path = workdir / "service.log"
        with log_path.open("w") as log_file:
            service = subprocess.Popen(tgdigest(workdir, "run", "--no-fetch"), cwd=workdir, env=clean_env(sandbox),
                                       stdout=log_file, stderr=subprocess.STDOUT)
        start = time.time()
        events, moments, blockers = plan(args, start, rng)
        log(f"service pid {service.pid}; {len(events)} events; digest moments "
            f"{', '.join(f'{m:%H:%M}' for m in moments)} UTC; outage at +{args.minutes * 60 * 0.45:.0f} s")
        rss: list[tuple[float, int]] = []
        next_sample = 0.0
        message_id = 0
        end = start + args.minutes * 60
        while time.time() < end:
            now = time.time()
            while events and events[0].at <= now:
                event = heapq.heappop(events)
                if event.action in ("text", "sticker", "photo", "edited"):
                    message_id += 1
                    if event.action == "text":
                        sandbox.send_user_message(event.chat_id, event.text, first_name="Soak")
                    else:
                        sandbox.inject_update(user_update(event.chat_id, event.action, event.text, message_id))
                    sent_by_chat[event.chat_id] += 1
                elif event.action == "block":
                    sandbox.block(event.chat_id, notify=True)
                elif event.action == "block-silent":
                    sandbox.block(event.chat_id, notify=False)
                elif event.action == "down":
                    log("Bot API outage starts")
                    sandbox.go_down()
                elif event.action == "up":
                    log("Bot API outage ends")
                    sandbox.come_up()
                elif event.action == "429":
                    sandbox.fail_next("sendMessage", 429, retry_after=2, times=2)
                elif event.action == "getUpdates-5xx":
                    sandbox.fail_next("getUpdates", rng.choice([500, 502]))
            if now >= next_sample:
                value = rss_kib(service.pid)
                if value is not None:
                    rss.append((now - start, value))
                next_sample = now + 2.0
            if service.poll() is not None:
                log(f"the service exited early with {service.returncode}")
                break
            time.sleep(0.02)

        log("load over; waiting for the last replies and digest parts")
        # The last digest round must have come (and gone out) before the books are closed.
        last_round = moments[-1].timestamp() + 2 * args.tick_seconds + 5
        drained = wait_until_quiet(sandbox, workdir / "db.sqlite", not_before=last_round,
                                   timeout=max(0.0, last_round - time.time()) + args.drain_seconds)
        final_rss = rss_kib(service.pid)
        if final_rss is not None:
            rss.append((time.time() - start, final_rss))
        stop_started = time.monotonic()
        if service.poll() is None:
            service.send_signal(signal.SIGTERM)
        try:
            exit_code = service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
            exit_code = service.wait()
        stop_seconds = time.monotonic() - stop_started
        sent = sandbox.sent
        dropped = sum(1 for c in sandbox.calls if c.status == DROPPED)
        violations = sandbox.violations

    figures = analyse(workdir, sent, sent_by_chat, blockers)
    log_text = (workdir / "service.log").read_text(errors="replace")
    tracebacks = log_text.count("Traceback (most recent call last)")
    error_lines = [line for line in log_text.splitlines() if " ERROR " in line or line.startswith("ERROR")]
    # Warm-up: every kind of work done once (the first digest round built and delivered).
    warmup = max(args.minutes * 60 * 0.3, moments[0].timestamp() - start + 2 * args.tick_seconds + 60)
    baseline = [v for t, v in rss if warmup <= t <= warmup + 30] or [v for _, v in rss[-15:]]
    closing = [v for t, v in rss if t >= rss[-1][0] - 30]
    growth = statistics.median(closing) / statistics.median(baseline) - 1
    peak = max(v for _, v in rss)

    print(f"soak: {args.minutes:g} min, {args.users} users, {sum(sent_by_chat.values())} updates sent, "
          f"{len(sent)} messages accepted by the Bot API, {dropped} requests dropped in the {args.outage_seconds:g} s outage")
    print(f"  RSS: peak {peak / 1024:.1f} MiB, after warm-up (+{warmup:.0f} s) {statistics.median(baseline) / 1024:.1f} MiB, "
          f"final {statistics.median(closing) / 1024:.1f} MiB, growth {growth:+.1%} (target <= +10%)")
    print(f"  log: {tracebacks} unhandled exceptions (tracebacks), {len(error_lines)} ERROR lines (target 0 tracebacks)")
    print(f"  updates: {figures['updates']} sent, {figures['replies']} answered, {figures['updates_lost']} lost, "
          f"{figures['updates_doubled']} doubled")
    print(f"  digests: {figures['digests']} stored with {figures['parts']} parts; {figures['parts_ok']} delivered once, "
          f"{figures['parts_lost']} lost, {figures['parts_doubled']} doubled, {figures['parts_cancelled']} cancelled "
          f"(user blocked the bot: 403)")
    print(f"  stop: SIGTERM -> exit {exit_code} in {stop_seconds:.1f} s; quiet before stop: {drained}; "
          f"Bot API spec violations: {len(violations)}")
    for line in error_lines[:5]:
        print(f"  ERROR line: {line[:200]}")
    ok = (
        growth <= 0.10 and tracebacks == 0 and figures["updates_lost"] == 0 and figures["updates_doubled"] == 0
        and figures["parts_lost"] == 0 and figures["parts_doubled"] == 0 and exit_code == 0 and not violations
        and figures["parts"] > 0
    )
    print("  result: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def wait_until_quiet(sandbox: Sandbox, db_path: Path, *, not_before: float, timeout: float) -> bool:
    """Until ``not_before`` has passed, no digest part is pending and nothing was sent for 10 s
    (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    last_count, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(sandbox.sent)
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        with sqlite3.connect(db_path, timeout=30) as conn:
            pending = conn.execute(
                "SELECT count(*) FROM digest_parts p JOIN digests d ON d.id = p.digest_id "
                "WHERE p.sent_at IS NULL AND d.status = 'pending'"
            ).fetchone()[0]
        if pending == 0 and time.monotonic() - last_change >= 10 and time.time() >= not_before:
            return True
        time.sleep(1)
    return False


def analyse(workdir: Path, sent: list[Any], sent_by_chat: Counter[int], blockers: set[int]) -> Counter[str]:
    """Match what the Bot API accepted against the outbox and the updates sent."""
    with sqlite3.connect(workdir / "db.sqlite") as conn:
        parts = conn.execute(
            "SELECT d.chat_id, p.text, p.sent_at, d.status FROM digest_parts p JOIN digests d ON d.id = p.digest_id"
        ).fetchall()
        digests = conn.execute("SELECT count(*) FROM digests").fetchone()[0]
    received: dict[int, Counter[str]] = {}
    for message in sent:
        received.setdefault(message.chat_id, Counter())[message.text] += 1
    figures = Counter(digests=digests, parts=len(parts))
    for chat_id, text, sent_at, status in parts:
        times = received.get(chat_id, Counter()).pop(text, 0)
        if sent_at is not None and times == 1:
            figures["parts_ok"] += 1
        elif times > 1:
            figures["parts_doubled"] += 1
        elif sent_at is None and status in ("cancelled", "failed") and times == 0:
            figures["parts_cancelled"] += 1
        else:
            figures["parts_lost"] += 1  # stored but never accepted, or accepted but never marked
    # What is left per chat is the replies to commands: one per update sent.
    for chat_id, updates in sent_by_chat.items():
        replies = sum(received.get(chat_id, Counter()).values())
        figures["updates"] += updates
        figures["replies"] += replies
        figures["updates_lost"] += max(0, updates - replies)
        figures["updates_doubled"] += max(0, replies - updates)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the crowd talks (default 10)")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=8.0, help="updates per second on average (default 8)")
    parser.add_argument("--posts", type=int, default=3000, help="posts in the imported export")
    parser.add_argument("--outage-seconds", type=float, default=30.0)
    parser.add_argument("--tick-seconds", type=int, default=15, help="[digest] tick_seconds of the service")
    parser.add_argument("--drain-seconds", type=float, default=240.0, help="at most this long for the last sends")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", help="keep the database and the log here (default: a new temp directory)")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
