"""CPU time of the ingest loop alone, in-process: steadier than wall clock on a shared machine.

    .venv/bin/python bench/ingest_cpu.py [--posts 30000]

Generates the synthetic channels of ``bench/ingest.py``, reads them, then times
``Ingestor.ingest`` in batches of 1,000 (normalise, dedupe, categorise and the SQLite writes,
all in this process) with ``time.process_time``. To compare two trees, run each tree's copy
of this script, interleaved, and compare the CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description="CPU time of the ingest loop")
    parser.add_argument("--posts", type=int, default=30_000)
    args = parser.parse_args()

    import ingest as bench  # bench/ingest.py: the generator

    from bot.config import CategoryConfig, Config
    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.storage.db import open_db
    from bot.storage.ingest import Ingestor

    with tempfile.TemporaryDirectory() as tmp:
        paths, _ = bench.generate(args.posts, 50, Path(tmp))
        posts = [p for path in paths for p in read_export(path) if isinstance(p, Post)]
        config = Config(categories=(CategoryConfig("BRICS", "BRICS OR #BRICS"),
                                    CategoryConfig("Asia", 'ASEAN OR China OR "Kuala Lumpur"'),
                                    CategoryConfig("UN", 'UN OR "United Nations"')))
        db = open_db(Path(tmp) / "t.sqlite")
        ingestor = Ingestor(db, config)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for start in range(0, len(posts), 1000):
            ingestor.ingest(posts[start : start + 1000])
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        stories = db.execute("SELECT count(*) FROM stories").fetchone()[0]
        db.close()
    print(json.dumps({"posts": len(posts), "stories": stories, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
                      "posts_per_cpu_s": round(len(posts) / cpu)}))


if __name__ == "__main__":
    main()
