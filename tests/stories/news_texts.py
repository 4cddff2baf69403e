"""Real-shaped news texts for the equivalence tests: the labelled pairs (bench/pairs, every
author; each pair's two texts next to each other, so retellings and look-alikes meet as
candidates), then the posts of the bundled exports (reposts, repeats)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.models import Post
from bot.sources.export import read_export

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PAIRS = sorted((ROOT / "bench" / "pairs").glob("*.jsonl"))
EXPORTS = ("sample_channel_export.json", "repost_channel_export.json", "mixed_channel_export.json")


def pair_and_export_texts() -> list[str]:
    """Every labelled pair's texts, pair by pair, then every exported post's text (empty ones too)."""
    texts: list[str] = []
    for path in PAIRS:
        for line in path.read_text(encoding="utf-8").splitlines():
            pair = json.loads(line)
            texts += [pair["a"], pair["b"]]
    for name in EXPORTS:
        texts += [p.text for p in read_export(FIXTURES / name) if isinstance(p, Post)]
    return texts
