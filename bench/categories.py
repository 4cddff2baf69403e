"""Built-in sections: accuracy on the held-out evaluation set, and the cost per post.

    .venv/bin/python bench/categories.py [--data datasets/sections]

For each language's ``eval.<lang>.tsv`` (labelled posts the training script never reads):
accuracy over the eight labels (six sections, Other, not news), per-label precision and
recall, the confusion matrix, and how often the language detector names the file's
language. Then the time per post of what ``prepare`` adds to an import: language
detection plus classification (best of five runs over every evaluation post).

Target: accuracy ≥ 0.85 in each language; ≤ 50 µs per post.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.language import detect_language  # noqa: E402
from bot.core.models import Post  # noqa: E402
from bot.core.normalise import normalise  # noqa: E402
from bot.sources.export import read_export  # noqa: E402
from bot.stories.sections import LABELS, section_model  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from train_sections import read_labelled  # noqa: E402

SHORT = {"Society": "soc", "Economy": "eco", "Technology": "tech", "Sports": "sport",
         "Entertainment": "ent", "Science": "sci", "Other": "other", "not news": "notnews"}


def report(lang: str, rows: list[tuple[str, str]]) -> float:
    model = section_model()
    confusion = {(t, p): 0 for t in LABELS for p in LABELS}
    detected = 0
    for truth, text in rows:
        confusion[(truth, model.label(normalise(text)))] += 1
        detected += detect_language(text) == lang
    correct = sum(confusion[(label, label)] for label in LABELS)
    accuracy = correct / len(rows)
    print(f"\n== {lang}: {len(rows)} posts, accuracy {accuracy:.3f} "
          f"(target ≥ 0.85), language detected as {lang!r}: {detected}/{len(rows)}")
    print(f"{'label':<14}{'precision':>10}{'recall':>8}{'n':>5}")
    for label in LABELS:
        predicted = sum(confusion[(t, label)] for t in LABELS)
        actual = sum(confusion[(label, p)] for p in LABELS)
        precision = confusion[(label, label)] / predicted if predicted else 0.0
        recall = confusion[(label, label)] / actual if actual else 0.0
        print(f"{label:<14}{precision:>10.2f}{recall:>8.2f}{actual:>5}")
    print("confusion (rows: truth, columns: predicted)")
    print(" " * 9 + "".join(f"{SHORT[p]:>8}" for p in LABELS))
    for t in LABELS:
        print(f"{SHORT[t]:<9}" + "".join(f"{confusion[(t, p)]:>8}" for p in LABELS))
    return accuracy


def cost_per_post(texts: list[str]) -> tuple[float, float]:
    """CPU µs per post (process time: the machine is shared, wall time is noise):
    (language + classification of raw text, classification alone)."""
    model = section_model()
    normalised = [normalise(t) for t in texts]
    for t in normalised:  # warm the stem cache as a long import does
        model.classify(t)
    best_all = best_classify = float("inf")
    for _ in range(5):
        start = time.process_time()
        for raw, norm in zip(texts, normalised, strict=True):
            detect_language(raw)
            model.classify(norm)
        best_all = min(best_all, time.process_time() - start)
        start = time.process_time()
        for norm in normalised:
            model.classify(norm)
        best_classify = min(best_classify, time.process_time() - start)
    return best_all / len(texts) * 1e6, best_classify / len(texts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description="built-in sections benchmark")
    parser.add_argument("--data", type=Path, default=ROOT / "datasets" / "sections")
    args = parser.parse_args()
    files = sorted(args.data.glob("eval.*.tsv"))
    if not files:
        raise SystemExit(f"no eval.*.tsv files in {args.data}")
    model = section_model()
    print(f"model {model.version}: {len(model.weights):,} features, "
          f"{(ROOT / 'bot' / 'stories' / 'sections_model.json').stat().st_size / 1024:.0f} KiB")
    texts: list[str] = []
    for path in files:
        rows = read_labelled(path)
        texts.extend(text for _, text in rows)
        report(path.name.split(".")[1], rows)
    both, classify = cost_per_post(texts)
    print(f"\nCPU per post, evaluation posts ({len(texts)}, {sum(map(len, texts)) // len(texts)} chars on average, "
          f"best of 5): language + section {both:.1f} µs (section alone {classify:.1f} µs); target ≤ 50 µs")
    sample = ROOT / "tests" / "fixtures" / "sample_channel_export.json"
    long_posts = [p.text for p in read_export(sample) if isinstance(p, Post) and p.text]
    both, classify = cost_per_post(long_posts * 20)
    print(f"CPU per post, the sample channel's long posts ({sum(map(len, long_posts)) // len(long_posts)} chars "
          f"on average): language + section {both:.1f} µs (section alone {classify:.1f} µs)")


if __name__ == "__main__":
    main()
