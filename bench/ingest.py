"""Import throughput, the storage floor, memory and dedupe scaling, in one run.

    .venv/bin/python bench/ingest.py [--posts 100000] [--channels 50]

1. Generates N synthetic posts across C channels as Telegram Desktop exports (one file per
   channel) from the sample channel's sentences, with realistic repeats: reposts in other
   channels (emoji, credit line, read-more trailer), the channel's own body repeats, light
   rewrites, and later edits of 5% of the posts.
2. Imports them end to end in a child process through `bot.collect.importer.import_exports`, the
   pipeline of `tgdigest import FILE...` (export streaming, normalise and categorise in a
   reading worker process; dedupe and SQLite in the importing one; batches of 1,000), then
   applies the edits: posts/s, peak RSS (the largest of its processes) and the CPU seconds
   of all its processes (the figure other load on the machine does not move).
3. Inserts the same rows with a bare `sqlite-utils insert_all` into an empty table: the
   storage floor, and the ratio of the two.
4. Times the dedupe index alone on N and 2N posts: time(2N)/time(N) shows how it scales.
5. Per-stage breakdown, CPU µs per post on the first --stage-posts posts in one process
   (CPU time, so other load on the machine does not count): read (export streaming to
   ``Post``), normalise, fingerprint, language, categorise (custom categories), sections,
   the hand-off between processes (pack, pickle, unpickle, unpack), dedupe (the story
   index), store (the rest of the writer) and FTS (the full-text index's share of store,
   from rebuilding it). Every stage runs at the garbage collector's pace of the import
   (``bot.core.gcpace.fewer_collections`` at ``IMPORT_GC_THRESHOLDS``), as in the import's processes.
6. A --backfill-posts backfill (default 10,000) through the fake Telethon client
   (tests/fakes/fake_telegram.py): real ``telethon.tl.types.Message`` objects through
   ``TelethonSource`` and the ``Collector`` into the same write path.

Targets on a 2-core machine: ≥ 10,000 posts/s for 100k posts, ≤ 6x the bare insert
floor of the same run, peak RSS ≤ 300 MB, time(2N)/time(N) ≤ 2.2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "tests" / "fixtures" / "sample_channel_export.json"
EMOJI = ["⚡️", "🔴", "📌", "🇷🇺", "❗️", "🌐", "📍", ""]
NAMES = ["Lavrov", "Rubio", "Wang Yi", "Lula", "Modi", "Anwar", "Guterres", "Erdogan", "Ramaphosa"]
CATEGORIES = (("BRICS", "BRICS OR #BRICS"), ("Asia", 'ASEAN OR China OR "Kuala Lumpur"'),
              ("UN", 'UN OR "United Nations"'))
CITIES = ["Kuala Lumpur", "Beijing", "Rio de Janeiro", "Minsk", "Tianjin", "Geneva", "Cairo", "Jakarta"]


def sentences() -> list[str]:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    pool: list[str] = []
    for m in data["messages"]:
        text = m["text"] if isinstance(m["text"], str) else "".join(
            p if isinstance(p, str) else p["text"] for p in m["text"]
        )
        for s in re.split(r"(?<=[.!?])\s+|\n", text):
            s = s.strip()
            if 40 <= len(s) <= 400:
                pool.append(s)
    return sorted(set(pool))


def generate(n: int, channels: int, out: Path, seed: int = 7) -> tuple[list[Path], list[dict]]:
    """Write one export per channel; return the paths and the edits to apply afterwards."""
    rng = random.Random(seed)
    pool = sentences()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    per_channel: dict[int, list[dict]] = {c: [] for c in range(channels)}
    next_id = dict.fromkeys(range(channels), 1)
    originals: list[tuple[int, str, datetime]] = []
    edits: list[dict] = []
    when = start
    for i in range(n):
        when += timedelta(seconds=rng.randint(5, 60))
        channel = rng.randrange(channels)
        roll = rng.random()
        if originals and roll < 0.20:
            # A repost elsewhere: same news, decorated.
            _, text, _ = originals[rng.randrange(max(0, len(originals) - 300), len(originals))]
            text = f"{rng.choice(EMOJI)} {text}\n\nSource: @channel{rng.randrange(channels)}\nRead more ➡️ t.me/x"
        elif originals and roll < 0.30:
            # The channel's own body repeat: the text again without its title line.
            _, text, _ = originals[-1]
            text = text.split("\n", 1)[-1]
        elif originals and roll < 0.35:
            # A light rewrite: a few words swapped.
            _, text, _ = originals[rng.randrange(max(0, len(originals) - 300), len(originals))]
            words = text.split(" ")
            for _ in range(2):
                j = rng.randrange(len(words))
                words[j] = rng.choice(["said", "noted", "stressed", "today", "also"])
            text = " ".join(words)
        else:
            title = f"{rng.choice(EMOJI)} {rng.choice(NAMES)} in {rng.choice(CITIES)}, {when:%B %d} #{rng.choice(['BRICS', 'ASEAN', 'SCO', 'UN'])}"
            body = " ".join(rng.sample(pool, rng.randint(1, 3)))
            text = f"{title}\n{body} ({i})"
            originals.append((channel, text, when))
        mid = next_id[channel]
        next_id[channel] += 1
        per_channel[channel].append(
            {"id": mid, "type": "message", "date": when.strftime("%Y-%m-%dT%H:%M:%S"),
             "date_unixtime": str(int(when.timestamp())), "from": f"Channel {channel}",
             "from_id": f"channel{1000 + channel}", "text": text,
             "text_entities": [{"type": "plain", "text": text}]}
        )
        if rng.random() < 0.05:
            edits.append({"channel": channel, "id": mid, "date": when.isoformat(),
                          "text": text + "\n\nUPD: corrected figures.", "edited": (when + timedelta(minutes=30)).isoformat()})
    paths = []
    for channel, messages in per_channel.items():
        path = out / f"channel_{channel}.json"
        path.write_text(json.dumps({"name": f"Channel {channel}", "type": "public_channel",
                                    "id": 1000 + channel, "messages": messages}, ensure_ascii=False))
        paths.append(path)
    (out / "edits.json").write_text(json.dumps(edits))
    return paths, edits


def bench_config():  # noqa: ANN201  # bot.config is imported late, in the process that runs
    from bot.config import CategoryConfig, Config

    return Config(categories=tuple(CategoryConfig(name, query) for name, query in CATEGORIES))


def child_import(db_path: Path, paths: list[Path], edits_path: Path, workers: int | None) -> None:
    """Runs in a fresh process so its peak RSS is the import's own."""
    from bot.collect.importer import import_exports
    from bot.core.models import Post
    from bot.storage.db import open_db
    from bot.storage.ingest import Ingestor, IngestResult

    config = bench_config()
    db = open_db(db_path)
    ingestor = Ingestor(db, config)
    total = IngestResult()
    started = time.perf_counter()
    # The same pipeline as `tgdigest import FILE...` (a reading worker process for large inputs).
    for report in import_exports(paths, ingestor, workers=workers):
        if report.error or report.problems:
            raise SystemExit(f"unexpected problem in {report.path}: {report.error or report.problems[0]}")
        total.add(report.result)
    # the writer's share: the importing process's CPU up to here (the edits below prepare in-process)
    mine = resource.getrusage(resource.RUSAGE_SELF)
    writer_cpu = mine.ru_utime + mine.ru_stime
    imported_new = total.new
    edits = json.loads(edits_path.read_text())
    edited = [
        Post(channel_id=1000 + e["channel"], message_id=e["id"], date=datetime.fromisoformat(e["date"]),
             text=e["text"], edited_at=datetime.fromisoformat(e["edited"]))
        for e in edits
    ]
    for i in range(0, len(edited), 1000):
        total.add(ingestor.ingest(edited[i : i + 1000]))
    seconds = time.perf_counter() - started
    rss_mb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,  # the largest reading worker
    ) / 1024
    stories = db.execute("SELECT count(*) FROM stories").fetchone()[0]
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in used)  # all processes: steady on a busy machine
    workers_cpu = used[1].ru_utime + used[1].ru_stime
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "writer_cpu": writer_cpu, "imported_new": imported_new,
                      "workers_cpu": workers_cpu, "rss_mb": rss_mb, "new": total.new, "updated": total.updated,
                      "duplicate": total.duplicate, "stories": stories}))


def bare_insert(db_path: Path, source_db: Path) -> tuple[int, float]:
    """The storage floor: the same post rows through a bare insert_all."""
    import sqlite_utils

    rows = list(sqlite_utils.Database(source_db).query(
        "SELECT channel_id, message_id, date, edited_at, text, text_norm, content_hash, hashtags, links, "
        "media_kind, story_id, categories, updated_at FROM posts"
    ))
    db = sqlite_utils.Database(db_path)
    started = time.perf_counter()
    db["posts"].insert_all(rows, pk=("channel_id", "message_id"), batch_size=1000)
    return len(rows), time.perf_counter() - started


def dedupe_time(paths: list[Path], n: int) -> float:
    from bot.core.models import Post
    from bot.core.normalise import normalise
    from bot.sources.export import read_export
    from bot.stories.dedupe import DedupeItem, StoryIndex

    posts: list[Post] = []
    for path in paths:
        posts.extend(p for p in read_export(path) if isinstance(p, Post))
    posts.sort(key=lambda p: p.date)
    items = [DedupeItem(key=p.key, date=p.date, text_norm=normalise(p.text), text=p.text) for p in posts[:n]]
    index = StoryIndex()
    started = time.perf_counter()
    next_story = 1
    for item in items:
        story = index.find(item)
        if story is None:
            story, next_story = next_story, next_story + 1
        index.add(item, story)
    return time.perf_counter() - started


def stage_breakdown(paths: list[Path], n: int) -> dict[str, float]:
    """CPU µs per post of each stage, on the first ``n`` posts (date order) of the exports."""
    from bot.collect.importer import _pack, _unpack
    from bot.core.language import detect_language, snowball_language
    from bot.core.models import Post
    from bot.core.normalise import normalise_pieces
    from bot.core.pieces import split_pieces
    from bot.sources.export import read_export
    from bot.storage.db import open_db
    from bot.storage.ingest import Ingestor, Prepared, prepare
    from bot.stories.categorise import Categoriser
    from bot.stories.dedupe import DedupeItem, StoryIndex, fingerprints

    config = bench_config()
    categoriser = Categoriser.from_config(config)
    clock = time.process_time
    started = clock()
    posts: list[Post] = []
    for path in paths:
        posts.extend(p for p in read_export(path) if isinstance(p, Post))
    read = (clock() - started) / len(posts)
    posts = sorted(posts, key=lambda p: (p.date, p.key))[:n]
    n = len(posts)
    us: dict[str, float] = {"read": read * 1e6}

    def timed(name: str, work):  # noqa: ANN001, ANN202
        begun = clock()
        out = [work(x) for x in posts]
        us[name] = (clock() - begun) / n * 1e6
        return out

    # as prepare: the raw text cut into lines and sentences (normalised and read once each)
    split = timed("normalise", lambda p: (pieces := split_pieces(p.text), normalise_pieces(pieces)))
    by_post = {id(p): norm for p, (_, norm) in zip(posts, split, strict=True)}
    pieces_of = {id(p): pieces for p, (pieces, _) in zip(posts, split, strict=True)}
    # as prepare_batch: entities from the raw text's pieces, batches of 1,000 a step at a time
    begun = clock()
    for i in range(0, n, 1000):
        batch = posts[i : i + 1000]
        fingerprints([by_post[id(p)] for p in batch], [p.text for p in batch], [pieces_of[id(p)] for p in batch])
    us["fingerprint"] = (clock() - begun) / n * 1e6
    langs = dict(zip(map(id, posts), timed("language", lambda p: detect_language(p.text)), strict=True))
    timed("categorise", lambda p: categoriser.categories_of(
        by_post[id(p)], p.hashtags, p.channel_username, language=snowball_language(langs[id(p)])))
    timed("sections", lambda p: categoriser.verdict(by_post[id(p)]))
    prepared: list[Prepared] = [prepare(p, categoriser) for p in posts]
    begun = clock()
    for i in range(0, n, 1000):
        _unpack(pickle.loads(pickle.dumps(_pack(prepared[i : i + 1000]), pickle.HIGHEST_PROTOCOL)))
    us["hand-off"] = (clock() - begun) / n * 1e6
    index = StoryIndex(window=timedelta(days=config.dedupe.window_days), similarity=config.dedupe.similarity)
    begun = clock()
    for story, item in enumerate(prepared):
        dedupe_item = DedupeItem(key=item.post.key, date=item.post.date, text_norm=item.text_norm,
                                 forward_origin=item.post.forward_origin, fingerprint=item.fingerprint)
        index.add(dedupe_item, index.find(dedupe_item) or story + 1)
    us["dedupe"] = (clock() - begun) / n * 1e6
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "stages.sqlite")
        ingestor = Ingestor(db, config)
        begun = clock()
        for i in range(0, n, 1000):
            ingestor.ingest_prepared(prepared[i : i + 1000])
        writer = (clock() - begun) / n * 1e6
        begun = clock()
        with db.atomic():
            db.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")
        us["FTS"] = (clock() - begun) / n * 1e6
        db.close()
    us["store"] = writer - us["dedupe"] - us["FTS"]
    us["worker"] = sum(us[k] for k in ("read", "normalise", "fingerprint", "language", "categorise", "sections"))
    us["writer"] = writer
    return us


def stage_breakdown_as_imported(paths: list[Path], n: int) -> dict[str, float]:
    """``stage_breakdown`` at the garbage collector's pace of an import (its processes run so)."""
    from bot.collect.importer import IMPORT_GC_THRESHOLDS
    from bot.core.gcpace import fewer_collections

    with fewer_collections(*IMPORT_GC_THRESHOLDS):
        return stage_breakdown(paths, n)


def telethon_backfill(paths: list[Path], n: int, channels: int = 10) -> tuple[int, float]:
    """Back-fill ``n`` posts from ``channels`` fake Telegram channels through the collector."""
    from bot.collect.collector import Collector, add_channel
    from bot.config import CollectConfig
    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.sources.telethon_source import TelethonSource
    from bot.storage.db import open_db
    from bot.storage.ingest import Ingestor

    sys.path.insert(0, str(ROOT / "tests"))  # the fakes are imported as tests import them
    from fakes.fake_telegram import FakeTelegram

    texts: list[str] = []
    for path in paths:
        texts.extend(p.text for p in read_export(path) if isinstance(p, Post))
        if len(texts) >= n:
            break
    tg = FakeTelegram()
    per_channel = n // channels
    config = bench_config()
    config = type(config)(categories=config.categories,
                          collect=CollectConfig(backfill=per_channel, jitter=0, page_size=100))
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "backfill.sqlite")
        for c in range(channels):
            tg.add_channel(5000 + c, username=f"bench{c}")
            add_channel(db, f"@bench{c}", origin="config")
        for i, text in enumerate(texts[: per_channel * channels]):
            tg.post(5000 + i % channels, text)
        collector = Collector(db, config, Ingestor(db, config), {"telethon": TelethonSource(tg)},
                              clock=lambda: tg.now + timedelta(hours=1))
        started = time.perf_counter()
        asyncio.run(collector.run_once(force=True))
        seconds = time.perf_counter() - started
        stored = db.execute("SELECT count(*) FROM posts").fetchone()[0]
        db.close()
    return stored, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description="tgdigest ingest benchmark")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--workers", type=int, default=None, help="reading workers (default: the importer's)")
    parser.add_argument("--stage-posts", type=int, default=20_000, help="posts in the per-stage breakdown")
    parser.add_argument("--backfill-posts", type=int, default=10_000)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        db_path, edits_path, *paths = args.child
        child_import(Path(db_path), [Path(p) for p in paths], Path(edits_path), args.workers)
        return

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"generating {args.posts:,} posts across {args.channels} channels …", flush=True)
        paths, edits = generate(args.posts, args.channels, work)
        db_path = work / "bench.sqlite"
        proc = subprocess.run(
            [sys.executable, __file__, *(["--workers", str(args.workers)] if args.workers else []),
             "--child", str(db_path), str(work / "edits.json"), *map(str, paths)],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise SystemExit(f"the import failed:\n{proc.stderr}")
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        imported = child["new"] + child["updated"]
        rate = imported / child["seconds"]
        rows, bare_seconds = bare_insert(work / "bare.sqlite", db_path)
        bare_rate = rows / bare_seconds
        half = args.posts // 2
        t_n = dedupe_time(paths, half)
        t_2n = dedupe_time(paths, args.posts)
        stages = stage_breakdown_as_imported(paths, args.stage_posts)
        backfilled, backfill_seconds = telethon_backfill(paths, args.backfill_posts)

    print(f"end-to-end import: {imported:,} posts ({child['new']:,} new + {child['updated']:,} edits) "
          f"in {child['seconds']:.2f} s = {rate:,.0f} posts/s  (target ≥ 10,000)")
    print(f"  CPU over all its processes: {child['cpu_seconds']:.1f} s = {child['cpu_seconds'] / imported * 1e6:.0f} µs/post "
          "(the load-independent figure on a shared machine)")
    print(f"  of it: importing process (writer) {child['writer_cpu']:.1f} s = "
          f"{child['writer_cpu'] / child['imported_new'] * 1e6:.0f} µs/post over the {child['imported_new']:,} new posts; "
          f"reading workers {child['workers_cpu']:.1f} s")
    print(f"  folded: {child['duplicate']:,} duplicates into {child['stories']:,} stories")
    print(f"bare sqlite-utils insert_all: {rows:,} rows in {bare_seconds:.2f} s = {bare_rate:,.0f} rows/s")
    print(f"  import is {bare_rate / rate:.1f}x slower than the storage floor (target ≤ 6x)")
    print(f"peak RSS (largest import process): {child['rss_mb']:.0f} MB  (target ≤ 300 MB)")
    print(f"dedupe alone: N={half:,}: {t_n:.2f} s, 2N={args.posts:,}: {t_2n:.2f} s, "
          f"ratio {t_2n / t_n:.2f}  (target ≤ 2.2)")
    print(f"per-stage CPU µs/post (first {min(args.stage_posts, args.posts):,} posts, one process):")
    print("  worker: " + ", ".join(f"{k} {stages[k]:.1f}" for k in
                                   ("read", "normalise", "fingerprint", "language", "categorise", "sections"))
          + f" = {stages['worker']:.1f}")
    print(f"  hand-off: {stages['hand-off']:.1f}")
    print(f"  writer: dedupe {stages['dedupe']:.1f}, store {stages['store']:.1f}, FTS {stages['FTS']:.1f} "
          f"= {stages['writer']:.1f}")
    print(f"telethon backfill (fake client): {backfilled:,} posts in {backfill_seconds:.2f} s = "
          f"{backfilled / backfill_seconds:,.0f} posts/s")


if __name__ == "__main__":
    main()
