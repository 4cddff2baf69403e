"""Built-in sections: accuracy on the held-out evaluation set, and the cost per post.

    .venv/bin/python bench/categories.py [--data datasets/sections]

For each language's ``eval.<lang>.tsv`` (labelled posts the training script never reads):
accuracy over the eight labels (six sections, Other, not news), per-label precision and
recall, the confusion matrix, how often the language detector names the file's language,
and accuracy again with a channel's footer line ("Subscribe | Send us news", a link; from
``eval-footers.tsv``, which training never reads) under each post. Then the time per post of what ``prepare`` adds to an import: language
detection plus classification (best of five runs over every evaluation post).

Target: accuracy ≥ 0.85 in each language; ≤ 50 µs per post.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.language import detect_language  # noqa: E402
from bot.core.models import Post  # noqa: E402
from bot.core.normalise import normalise  # noqa: E402
from bot.sources.export import read_export  # noqa: E402
from bot.stories.sections import LABELS, NOT_NEWS, section_model  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from train_sections import read_labelled  # noqa: E402

SHORT = {"Society": "soc", "Economy": "eco", "Technology": "tech", "Sports": "sport",
         "Entertainment": "ent", "Science": "sci", "Other": "other", "not news": "notnews"}


def with_footers(lang: str, rows: list[tuple[str, str]], footers_file: Path) -> None:
    """Accuracy and news hidden when a channel's footer line (held out from training) is
    under each post: channels sign news and ads alike, and the model must not mind."""
    if not footers_file.exists():
        return
    footers = [line.split("\t", 1)[1] for line in footers_file.read_text(encoding="utf-8").splitlines()
               if line.startswith(lang + "\t")]
    if not footers:
        return
    model = section_model()
    correct = hidden = 0
    for i, (truth, text) in enumerate(rows):
        label = model.label(normalise(f"{text}\n\n{footers[i % len(footers)]}"))
        correct += label == truth
        hidden += label == NOT_NEWS and truth != NOT_NEWS
    news = sum(truth != NOT_NEWS for truth, _ in rows)
    print(f"with a channel footer under each post ({len(footers)} held-out lines, in turn): "
          f"accuracy {correct / len(rows):.3f}, news called not news {hidden}/{news}")


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
    hidden = sum(confusion[(t, NOT_NEWS)] for t in LABELS if t != NOT_NEWS)
    print(f"news called not news: {hidden}/{len(rows) - sum(confusion[(NOT_NEWS, p)] for p in LABELS)}")
    print("confusion (rows: truth, columns: predicted)")
    print(" " * 9 + "".join(f"{SHORT[p]:>8}" for p in LABELS))
    for t in LABELS:
        print(f"{SHORT[t]:<9}" + "".join(f"{confusion[(t, p)]:>8}" for p in LABELS))
    return accuracy


def _best_of_five(run: Callable[[], None], *, before: Callable[[], None] = lambda: None) -> float:
    best = float("inf")
    for _ in range(5):
        before()
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def cost_per_post(texts: list[str]) -> tuple[float, float, float]:
    """CPU µs per post (process time: the machine is shared, wall time is noise):
    (language + classification of raw text, classification alone, classification alone
    with empty caches: every chunk and word met for the first time)."""
    model = section_model()
    normalised = [normalise(t) for t in texts]

    def both() -> None:
        for raw, norm in zip(texts, normalised, strict=True):
            detect_language(raw)
            model.classify(norm)

    def classify() -> None:
        for norm in normalised:
            model.classify(norm)

    classify()  # warm the caches as a long import does
    per_post = 1e6 / len(texts)
    return (
        _best_of_five(both) * per_post,
        _best_of_five(classify) * per_post,
        _best_of_five(classify, before=model.forget) * per_post,
    )


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
        with_footers(path.name.split(".")[1], rows, args.data / "eval-footers.tsv")
    both, classify, cold = cost_per_post(texts)
    print(f"\nCPU per post, evaluation posts ({len(texts)}, {sum(map(len, texts)) // len(texts)} chars on average, "
          f"best of 5): language + section {both:.1f} µs (section alone {classify:.1f} µs, "
          f"{cold:.1f} µs with empty caches); target ≤ 50 µs")
    sample = ROOT / "tests" / "fixtures" / "sample_channel_export.json"
    long_posts = [p.text for p in read_export(sample) if isinstance(p, Post) and p.text]
    both, classify, cold = cost_per_post(long_posts)
    print(f"CPU per post, the sample channel's {len(long_posts)} long posts ({sum(map(len, long_posts)) // len(long_posts)} "
          f"chars on average): language + section {both:.1f} µs (section alone {classify:.1f} µs, "
          f"{cold:.1f} µs with empty caches)")


if __name__ == "__main__":
    main()
