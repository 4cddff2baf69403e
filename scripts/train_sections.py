"""Train the built-in sections model: ``make train`` (or ``python scripts/train_sections.py``).

Reads the labelled posts ``datasets/sections/train.*.tsv`` (``label<TAB>text``) and the bilingual
lexicons ``datasets/sections/lexicon.tsv`` (``label<TAB>lang<TAB>words``), fits multinomial naive
Bayes over ``bot.stories.sections.features`` and writes ``bot/stories/sections_model.json``.
Deterministic: the same data gives the same file, byte for byte. The evaluation files
(``eval.*.tsv``) are never read here; ``bench/categories.py`` measures on them.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.normalise import normalise  # noqa: E402
from bot.stories.sections import LABELS, MODEL_PATH, NOT_NEWS, OTHER, SectionModel, features  # noqa: E402

DATA = ROOT / "datasets" / "sections"
# File labels → model labels.
LABEL_NAMES = {
    "society": "Society", "economy": "Economy", "technology": "Technology", "sports": "Sports",
    "entertainment": "Entertainment", "science": "Science", "other": OTHER, "notnews": NOT_NEWS,
}
ALPHA = 0.05  # additive smoothing: small, because the vocabulary is large and the data small
LEXICON_WEIGHT = 8  # a lexicon word counts as this many one-word posts of its label
DIGITS = 3  # weights are stored rounded: a smaller file, and the same bytes on every machine


def read_labelled(path: Path) -> list[tuple[str, str]]:
    """(model label, text) rows of a ``label<TAB>text`` file."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        label, sep, text = line.partition("\t")
        if not sep or label not in LABEL_NAMES:
            raise SystemExit(f"{path.name}:{number}: expected 'label<TAB>text' with a known label")
        rows.append((LABEL_NAMES[label], text))
    return rows


def read_lexicon(path: Path) -> list[tuple[str, str]]:
    """One (label, word) row per lexicon word; ``a-b`` is the two-word phrase "a b"."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            label, _lang, words = line.split("\t")
            rows.extend((LABEL_NAMES[label], w.replace("-", " ")) for w in words.split())
    return rows


def train(examples: list[tuple[str, list[str]]], *, version: str) -> SectionModel:
    """Naive Bayes over distinct features; a feature's weight is its log-likelihood ratio to
    an unseen feature, so unknown words add nothing and the sum needs no normalising."""
    index = {label: i for i, label in enumerate(LABELS)}
    counts: dict[str, list[float]] = {}
    totals = [0.0] * len(LABELS)
    docs = [0] * len(LABELS)
    for label, feats in examples:
        k = index[label]
        docs[k] += 1
        for f in set(feats):
            counts.setdefault(f, [0.0] * len(LABELS))[k] += 1
            totals[k] += 1
    vocabulary = len(counts)
    unseen = [math.log(ALPHA / (totals[k] + ALPHA * vocabulary)) for k in range(len(LABELS))]
    weights = {
        f: [round(math.log((c[k] + ALPHA) / (totals[k] + ALPHA * vocabulary)) - unseen[k], DIGITS)
            for k in range(len(LABELS))]
        for f, c in counts.items()
    }
    bias = [round(math.log(docs[k] / len(examples)), DIGITS) for k in range(len(LABELS))]
    return SectionModel(labels=LABELS, bias=bias, weights=weights, version=version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    train_files = sorted(args.data.glob("train.*.tsv"))
    if not train_files:
        raise SystemExit(f"no train.*.tsv files in {args.data}")
    labelled = [row for path in train_files for row in read_labelled(path)]
    lexicon = read_lexicon(args.data / "lexicon.tsv")
    examples = [(label, features(normalise(text))) for label, text in labelled]
    examples += [(label, features(normalise(word))) for label, word in lexicon] * LEXICON_WEIGHT
    digest = hashlib.sha256()
    for path in [*train_files, args.data / "lexicon.tsv"]:
        digest.update(path.read_bytes())
    model = train(examples, version=digest.hexdigest()[:12])
    args.out.write_text(model.to_json() + "\n", encoding="utf-8")
    print(
        f"trained on {len(labelled)} posts and {len(lexicon)} lexicon words: "
        f"{len(model.weights)} features, {args.out.stat().st_size / 1024:.0f} KiB -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
