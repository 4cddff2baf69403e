"""Train the built-in sections model: ``make train`` (or ``python scripts/train_sections.py``).

Reads from ``datasets/sections/``:

- the hand-written labelled posts ``train*.<lang>.tsv`` (``label<TAB>text``),
- the templates ``templates.tsv`` (``label<TAB>lang<TAB>text with {slot}s``) filled from the
  slot lists ``slots.tsv`` (``lang<TAB>slot<TAB>value | value | ...``): volume and entity
  names the hand-written posts cannot give, expanded here (seeded: always the same posts),
- the bilingual keyword lists ``lexicon*.tsv`` (``label<TAB>lang<TAB>words``),

fits multinomial naive Bayes (or, with ``--model perceptron``, an averaged perceptron:
the linear model it was compared with, and lost to on the dev split) over
``bot.stories.sections.features`` and writes ``bot/stories/sections_model.json``.
Deterministic: the same data gives the same file, byte for byte. ``--dev`` prints accuracy
on the dev split (``dev.*.tsv``, what the settings below were chosen on); the evaluation
files (``eval.*.tsv``) are never read here: ``bench/categories.py`` measures on them.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import re
import sys
from collections.abc import Sequence
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
DIGITS = 3  # weights are stored rounded: a smaller file, and the same bytes on every machine

# Naive Bayes settings.
ALPHA = 0.02  # additive smoothing: small, because the vocabulary is large and the data small (dev: 0.02 > 0.05 > 0.2)
LEXICON_WEIGHT = 8  # a lexicon word counts as this many one-word posts of its label

# Template expansion.
FILLS_PER_TEMPLATE = 8  # posts made from each template
JOINED_SHARE = 0.25  # share of generated posts made of two fills (longer, multi-sentence posts)
_SLOT = re.compile(r"\{(\w+)\}")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
FOOTER_SHARE = 0.3  # share of training posts given a channel's footer line
# What Telegram channels put before any post, news or not: the model should learn it means nothing.
DECORATIONS = {
    "en": ["⚡️", "🔴", "BREAKING:", "❗️", "Update:", "📰"],
    "ru": ["⚡️", "🔴", "СРОЧНО:", "❗️", "Главное:", "📰"],
}

# Averaged perceptron settings.
EPOCHS = 12
LEXICON_COPIES = 1  # each lexicon word is also one short training example of its label
GENERATED_EVERY = 1  # use every generated post


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


def _table(path: Path, columns: int) -> list[list[str]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != columns:
            raise SystemExit(f"{path.name}:{number}: expected {columns} tab-separated columns")
        rows.append(cells)
    return rows


def generated(data: Path) -> list[tuple[str, str]]:
    """(model label, text) posts made from ``templates.tsv`` and ``slots.tsv``: each template
    filled FILLS_PER_TEMPLATE times with seeded choices, some joined with a second template
    of the same label and language, some with a channel's decorations around them."""
    slots: dict[tuple[str, str], list[str]] = {}
    for lang, name, values in _table(data / "slots.tsv", 3):
        slots[(lang, name)] = [v.strip() for v in values.split(" | ")]
    templates = _table(data / "templates.tsv", 3)
    by_group: dict[tuple[str, str], list[str]] = {}
    for label, lang, text in templates:
        if label not in LABEL_NAMES:
            raise SystemExit(f"templates.tsv: unknown label {label!r}")
        for name in _SLOT.findall(text):
            if (lang, name) not in slots:
                raise SystemExit(f"templates.tsv: no slot {name!r} for {lang} in slots.tsv ({text[:40]}...)")
        by_group.setdefault((label, lang), []).append(text)

    def fill(rng: random.Random, lang: str, text: str) -> str:
        return _SLOT.sub(lambda m: rng.choice(slots[(lang, m.group(1))]), text)

    out = []
    for label, lang, text in templates:
        rng = random.Random(f"{label}\t{lang}\t{text}")  # str seeds are hashed with SHA-512: stable
        group = by_group[(label, lang)]
        for _ in range(FILLS_PER_TEMPLATE):
            post = fill(rng, lang, text)
            if rng.random() < JOINED_SHARE:
                post += " " + fill(rng, lang, rng.choice(group))
            if rng.random() < 0.15:
                post = rng.choice(DECORATIONS[lang]) + " " + post
            out.append((LABEL_NAMES[label], post))
    return out


def with_footers(data: Path, rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``rows`` with a channel's footer line (``footers.tsv``: "Subscribe | @chan", "Source:
    ...", a link) added to FOOTER_SHARE of them, seeded by the text, on every label alike.
    Channels sign news and ads the same way; without this the model took a news post with a
    "Subscribe" footer for a promotion (on the dev split, nearly half of them)."""
    slots: dict[str, list[str]] = {}
    for lang, name, values in _table(data / "slots.tsv", 3):
        if name == "handle":
            slots[lang] = [v.strip() for v in values.split(" | ")]
    footers: dict[str, list[str]] = {}
    for lang, line in _table(data / "footers.tsv", 2):
        footers.setdefault(lang, []).append(line)
    out = []
    for label, text in rows:
        rng = random.Random(text)
        if rng.random() < FOOTER_SHARE:
            lang = "ru" if _CYRILLIC.search(text) else "en"
            footer = rng.choice(footers[lang]).replace("{handle}", rng.choice(slots[lang]))
            text = f"{text}\n\n{footer}"
        out.append((label, text))
    return out


def train_nb(examples: Sequence[tuple[str, list[str]]], *, version: str) -> SectionModel:
    """Multinomial naive Bayes; a feature's weight is its log-likelihood ratio to an unseen
    feature, so unknown words add nothing and the sum needs no normalising."""
    index = {label: i for i, label in enumerate(LABELS)}
    counts: dict[str, list[float]] = {}
    totals = [0.0] * len(LABELS)
    docs = [0] * len(LABELS)
    for label, feats in examples:
        k = index[label]
        docs[k] += 1
        for f in feats:
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


def train_perceptron(examples: Sequence[tuple[str, list[str]]], *, version: str) -> SectionModel:
    """Averaged multiclass perceptron: on each mistake the true label's weights of the post's
    features go up and the predicted label's go down; the model is the average of the weights
    over all steps (stable and far less prone to overfitting than the last weights). The
    order of examples is shuffled by a seeded generator each epoch: deterministic."""
    n = len(LABELS)
    index = {label: i for i, label in enumerate(LABELS)}
    weights: dict[str, list[float]] = {}
    totals: dict[str, list[float]] = {}  # sum over steps, kept lazily with `stamps`
    stamps: dict[str, list[int]] = {}
    bias, bias_total, bias_stamp = [0.0] * n, [0.0] * n, [0] * n
    step = 0
    rng = random.Random(20261130)
    order = list(range(len(examples)))

    def bump(f: str, k: int, delta: float) -> None:
        w = weights.setdefault(f, [0.0] * n)
        t = totals.setdefault(f, [0.0] * n)
        s = stamps.setdefault(f, [0] * n)
        t[k] += (step - s[k]) * w[k]
        s[k] = step
        w[k] += delta

    for _ in range(EPOCHS):
        rng.shuffle(order)
        for i in order:
            label, feats = examples[i]
            truth = index[label]
            scores = bias[:]
            for f in feats:
                w = weights.get(f)
                if w is not None:
                    for k in range(n):
                        scores[k] += w[k]
            guess = max(range(n), key=scores.__getitem__)
            step += 1
            if guess != truth:
                for f in feats:
                    bump(f, truth, 1.0)
                    bump(f, guess, -1.0)
                for k, delta in ((truth, 1.0), (guess, -1.0)):
                    bias_total[k] += (step - bias_stamp[k]) * bias[k]
                    bias_stamp[k] = step
                    bias[k] += delta
    averaged = {}
    for f, w in weights.items():
        t, s = totals[f], stamps[f]
        avg = [round((t[k] + (step - s[k]) * w[k]) / step, DIGITS) for k in range(n)]
        if any(avg):
            averaged[f] = avg
    avg_bias = [round((bias_total[k] + (step - bias_stamp[k]) * bias[k]) / step, DIGITS) for k in range(n)]
    return SectionModel(labels=LABELS, bias=avg_bias, weights=averaged, version=version)


def accuracy(model: SectionModel, rows: Sequence[tuple[str, str]]) -> float:
    return sum(model.label(normalise(text)) == label for label, text in rows) / len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--model", choices=("nb", "perceptron"), default="nb")
    parser.add_argument("--dev", action="store_true", help="print accuracy on dev.*.tsv (for tuning)")
    args = parser.parse_args(argv)
    train_files = sorted(args.data.glob("train*.tsv"))
    if not train_files:
        raise SystemExit(f"no train*.tsv files in {args.data}")
    labelled = [row for path in train_files for row in read_labelled(path)]
    made = generated(args.data)
    lexicon_files = sorted(args.data.glob("lexicon*.tsv"))
    lexicon = [row for path in lexicon_files for row in read_lexicon(path)]
    examples = [(label, features(normalise(text))) for label, text in with_footers(args.data, labelled + made)]
    if args.model == "nb":
        examples += [(label, features(normalise(word))) for label, word in lexicon] * LEXICON_WEIGHT
    else:
        examples += [(label, features(normalise(word))) for label, word in lexicon] * LEXICON_COPIES
    digest = hashlib.sha256()
    for path in [*train_files, *lexicon_files, *(args.data / n for n in ("templates.tsv", "slots.tsv", "footers.tsv"))]:
        digest.update(path.read_bytes())
    digest.update(args.model.encode())
    trainer = train_nb if args.model == "nb" else train_perceptron
    model = trainer(examples, version=digest.hexdigest()[:12])
    args.out.write_text(model.to_json() + "\n", encoding="utf-8")
    print(
        f"{args.model}: trained on {len(labelled)} hand-written posts, {len(made)} from templates and "
        f"{len(lexicon)} lexicon words: {len(model.weights)} features, "
        f"{args.out.stat().st_size / 1024:.0f} KiB -> {args.out}"
    )
    if args.dev:
        for path in sorted(args.data.glob("dev.*.tsv")):
            print(f"dev {path.name}: accuracy {accuracy(model, read_labelled(path)):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
