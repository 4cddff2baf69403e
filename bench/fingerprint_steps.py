"""The reading worker's fingerprint, step by step: CPU µs a post over the bench's posts.

    .venv/bin/python bench/fingerprint_steps.py [--posts 100000] [--repeats 3] [--tree TREE]

Generates ``bench/ingest.py``'s exports, reads and normalises their posts, then times each
step ``fingerprints`` takes over a batch (names from the raw text's pieces, the index keys
of the canonical text, the name keys, the canonical form and its digest) over all posts
in batches of 1,000, every cache of those steps emptied first, garbage collector at the
import's pace. Prints the best of ``--repeats`` for each step and their sum. Names and keys
are remembered per piece, sentence or name, so the figures depend on the number of posts:
measure at the import's size. ``--tree``: time another checkout of this repository's code
(e.g. a worktree of main) instead; run both back to back to compare.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BATCH = 1000


def _texts(posts: int) -> list[str]:
    import ingest as bench

    from bot.core.models import Post
    from bot.sources.export import read_export

    with tempfile.TemporaryDirectory() as tmp:
        paths, _ = bench.generate(posts, 50, Path(tmp))
        return [p.text for path in paths for p in read_export(path) if isinstance(p, Post)]


def _forget() -> None:
    """Every cache the steps fill, emptied: each repeat starts as a fresh worker does."""
    from bot.stories import dedupe, similarity

    for cache in (similarity._PIECE_NAMES, similarity._WORD_EFFECTS, dedupe._NAME_CRCS):
        cache.clear()
    for cached in (similarity._name_parts, similarity.entities_of, dedupe._text_keys, dedupe._name_keys, dedupe._head):
        cached.cache_clear()
    getattr(dedupe, "_ENTITY_ORDER", {}).clear()  # (not in older trees)


def _cpu_per_post(step: Callable[[object], object], inputs: Sequence[object]) -> float:
    start = time.process_time()
    for i in range(0, len(inputs), BATCH):
        [step(x) for x in inputs[i : i + BATCH]]
    return (time.process_time() - start) / len(inputs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tree", type=Path, help="another checkout whose code is timed")
    args = parser.parse_args()
    if args.tree is not None:  # before anything of bot is imported
        sys.path[:0] = [str(args.tree.resolve()), str(args.tree.resolve() / "bench")]

    from bot.collect.importer import IMPORT_GC_THRESHOLDS
    from bot.core.normalise import normalise_pieces
    from bot.core.pieces import split_pieces
    from bot.stories import dedupe, similarity

    texts = _texts(args.posts)
    pieces = [split_pieces(t) for t in texts]
    norms = [normalise_pieces(p) for p in pieces]
    gc.set_threshold(*IMPORT_GC_THRESHOLDS)
    best: dict[str, float] = {}
    for _ in range(args.repeats):
        _forget()
        names = [similarity.entities_of_pieces(p) for p in pieces]  # the name keys' inputs
        canons = [dedupe._head(n)[0] for n in norms]  # the text keys' inputs
        _forget()
        figures = {
            "names": _cpu_per_post(similarity.entities_of_pieces, pieces),
            "text keys": _cpu_per_post(dedupe._text_keys, canons),
            "name keys": _cpu_per_post(dedupe._name_keys, names),
            "canonical + digest": _cpu_per_post(dedupe._head, norms),
        }
        for step, figure in figures.items():
            best[step] = min(best.get(step, figure), figure)
    print(f"{Path(similarity.__file__).parents[2].name}: {len(texts):,} posts, CPU µs a post, best of {args.repeats}: " + ", ".join(f"{k} {v:.2f}" for k, v in best.items()) + f"; sum {sum(best.values()):.2f}")


if __name__ == "__main__":
    main()
