"""Collection benchmark: how a pass scales with reading accounts.

    .venv/bin/python bench/collect.py                        # 1,000 channels on 1, 2, 3 accounts, ~70 s
    .venv/bin/python bench/collect.py --channels 300 --accounts 1 3
    .venv/bin/python bench/collect.py --new 1                # every channel has one new post

The Telegram side is the test suite's fake (``tests/fakes/fake_telegram.py``): real Telethon
types and errors, one fake server with K accounts on it, every request taking ``--latency``
seconds (default 20 ms, a near Telegram DC). Everything else is the product: one
``TelethonSource`` per account paced at ``--pace`` seconds between requests (``[collect]
request_interval``), the ``Collector`` with its concurrent account lanes, the real
``Ingestor`` and a real SQLite file.

For each K it resolves the channels once (not timed; new channels spread over the accounts),
then times one scheduled pass in which each channel has ``--new`` new posts (default 0:
nothing new) and prints: wall time, history requests (total and per account), all requests,
channels read twice or not at all (both must be 0), and the speed-up over one account.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fakes.fake_telegram import T0, FakeTelegram  # noqa: E402

from bot.collect.collector import Collector, add_channel  # noqa: E402
from bot.config import CollectConfig, Config  # noqa: E402
from bot.sources.telethon_source import TelethonSource  # noqa: E402
from bot.storage.db import open_db  # noqa: E402
from bot.storage.ingest import Ingestor  # noqa: E402

NAMES = ("default", "second", "third", "fourth", "fifth")


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(days=3)

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def one_setup(db_dir: Path, *, channels: int, accounts: int, latency: float, pace: float, new: int) -> dict:
    db = open_db(db_dir / f"collect-{accounts}.sqlite")
    # Posts older than the edit window, so the timed pass is the history reads alone.
    config = Config(collect=CollectConfig(backfill=5, jitter=0, edit_window_hours=24,
                                          request_interval=pace,
                                          # one account must be able to hold them all, for the comparison
                                          max_channels_per_account=max(channels, 1)))
    server = FakeTelegram()
    clients = {name: (server if name == "default" else server.account(name)) for name in NAMES[:accounts]}
    for cid in range(10_000, 10_000 + channels):
        server.add_channel(cid, username=f"bench{cid}")
        server.posts(cid, 2)
        add_channel(db, f"@bench{cid}", origin="config")
    clock = Clock()
    # Setup unpaced and without latency; only the timed pass pays them.
    sources = {f"telethon:{name}": TelethonSource(client, request_interval=0.0, account=name)
               for name, client in clients.items()}
    collector = Collector(db, config, Ingestor(db, config), sources, clock=clock)
    asyncio.run(collector.run_once(force=True))  # resolve once + first sight (not timed)

    for client in clients.values():
        client.requests.clear()
        client.requests_by_channel.clear()
        client.latency = latency
    for source in sources.values():
        source.request_interval = pace
    server.now = clock.now
    for cid in range(10_000, 10_000 + channels):
        if new:
            server.posts(cid, new, prefix="fresh")
    clock.now += timedelta(minutes=config.collect.interval)
    started = time.perf_counter()
    report = asyncio.run(collector.run_once())
    seconds = time.perf_counter() - started

    per_channel: Counter[int] = Counter()
    for client in clients.values():
        for (kind, cid), n in client.requests_by_channel.items():
            if kind == "history":
                per_channel[cid] += n
    # Reverse mode stops on an empty page: nothing new is one request, n new posts one more per 100.
    expected_history = new // 100 + 1 + (1 if new % 100 else 0)
    return {
        "accounts": accounts,
        "seconds": seconds,
        "history": sum(c.requests["history"] for c in clients.values()),
        "per_account": [clients[n].requests["history"] for n in clients],
        "requests": sum(sum(c.requests.values()) for c in clients.values()),
        "new": report.new,
        "errors": len(report.errors),
        "twice": sum(1 for n in per_channel.values() if n > expected_history),
        "missed": channels - len(per_channel),
        "concurrent": server.max_in_flight,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--accounts", type=int, nargs="+", default=[1, 2, 3], choices=range(1, len(NAMES) + 1))
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per fake request (default 0.02)")
    parser.add_argument("--pace", type=float, default=0.025,
                        help="[collect] request_interval per account, seconds (default 0.025)")
    parser.add_argument("--new", type=int, default=0, help="new posts per channel in the timed pass")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    print(f"collect bench: {args.channels} channels, {args.latency * 1000:.0f} ms per request, "
          f"pace {args.pace * 1000:.0f} ms per account, {args.new} new posts per channel")
    print(f"{'accounts':>8} {'wall s':>8} {'history':>8} {'per account':>20} {'requests':>9} "
          f"{'new':>6} {'twice':>6} {'missed':>6} {'speed-up':>9}")
    base: float | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.accounts:
            r = one_setup(Path(tmp), channels=args.channels, accounts=k, latency=args.latency,
                          pace=args.pace, new=args.new)
            base = base or r["seconds"]  # the first row (one account by default) is the baseline
            speedup = base / r["seconds"]
            print(f"{k:>8} {r['seconds']:>8.2f} {r['history']:>8} {'/'.join(map(str, r['per_account'])):>20} "
                  f"{r['requests']:>9} {r['new']:>6} {r['twice']:>6} {r['missed']:>6} {speedup:>8.2f}x")
            if r["errors"]:
                print(f"  {r['errors']} channel errors!")
    print("target: history requests = channels (one per channel with nothing new), twice = missed = 0, "
          "wall time about 1/K of one account's")


if __name__ == "__main__":
    main()
