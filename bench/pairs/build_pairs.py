"""Build ``bench/pairs/dedupe_pairs.jsonl`` from the hand-written frames and retellings.

    python bench/pairs/build_pairs.py      # rewrites the .jsonl next to this script

One line per pair: ``a``, ``b`` (post texts), ``label`` (true: one story), ``kind``,
``lang``, ``date_a``/``date_b`` (ISO, when the posts were published) and ``split``
("dev" or "test", by frame, so a test pair's event never appears in dev; a frame may
fix its own with ``split="dev"``: the frames written to tune a rule are dev by design).
Deterministic: the same input files give the same output, byte for byte.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ROOT = HERE.parent.parent

import sample_retellings  # noqa: E402
import sample_retellings_dev  # noqa: E402
from frames_en import FRAMES as EN  # noqa: E402
from frames_ru import FRAMES as RU  # noqa: E402

START = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)


def _jitter(*parts: object) -> int:
    """A stable pseudo-random number from the pair's identity (no RNG state to keep in sync)."""
    return int(hashlib.blake2b(repr(parts).encode(), digest_size=4).hexdigest(), 16)


def _split(frame_id: str) -> str:
    return "test" if _jitter("split", frame_id) % 3 == 0 else "dev"


def frame_pairs(lang: str, number: int, frame: dict) -> list[dict]:
    frame_id = f"{lang}{number}"
    base = START + timedelta(days=number * 9 % 60, hours=number % 10)
    slots, tell = frame["slots"], frame["tell"]
    out = []

    def pair(a: str, b: str, label: bool, kind: str, hours: float) -> None:
        out.append({"a": a, "b": b, "label": label, "kind": kind, "lang": lang,
                    "date_a": base.isoformat(), "date_b": (base + timedelta(hours=hours)).isoformat(),
                    "split": frame.get("split") or _split(frame_id), "frame": frame_id})

    variants = [slots] + [{**slots, **alt} for alt in frame["alt"]]
    for v, values in enumerate(variants):
        texts = [t.format(**values) for t in tell]
        for (i, a), (j, b) in itertools.combinations(enumerate(texts), 2):
            kind = "rewrite: headline" if j == 1 or i == 1 else "rewrite: retold"
            pair(a, b, True, kind, 0.5 + _jitter(frame_id, v, i, j) % 8)
    for k, alt in enumerate(frame["alt"], start=1):
        values = {**slots, **alt}
        changed = "/".join(sorted(alt))
        date_changed = "d" in alt or "mon" in alt
        for i, j in itertools.product(range(len(tell)), repeat=2):
            if i == j and (i + k) % 2:
                continue  # half of the same-wording pairs: the template case is the easy one
            if not any("{" + slot + "}" in tell[i] and "{" + slot + "}" in tell[j] and alt[slot] != slots[slot]
                       for slot in alt):
                continue  # both texts must state a fact that changed, or nothing tells the events apart
            a, b = tell[i].format(**slots), tell[j].format(**values)
            hours = 24 * (1 + _jitter(frame_id, k, i, j) % 6) if date_changed else 1 + _jitter(frame_id, k, i, j) % 10
            pair(a, b, False, f"look-alike: other {changed}", hours)
    for f in frame["future"]:
        for i, t in enumerate(tell):
            pair(f.format(**slots), t.format(**slots), False, "look-alike: upcoming vs held", 24 + _jitter(frame_id, i) % 48)
    for o in frame["other"]:
        for i, t in enumerate(tell):
            pair(t.format(**slots), o.format(**slots), False, "look-alike: same names, other event", 24 * (1 + _jitter(frame_id, "o", i) % 5))
    return out


def sample_pairs(tables: object = sample_retellings, *, prefix: str = "sample", split: str | None = None) -> list[dict]:
    """Pairs of the sample channel's posts and their retellings in ``tables`` (a module with
    ``SAME`` and ``DIFFERENT``); ``split`` fixes the split (else by post, like the frames)."""
    SAME, DIFFERENT = tables.SAME, tables.DIFFERENT  # type: ignore[attr-defined]  # noqa: N806
    data = json.loads((ROOT / "tests" / "fixtures" / "sample_channel_export.json").read_text(encoding="utf-8"))
    posts = {}
    for m in data["messages"]:
        text = m["text"] if isinstance(m["text"], str) else "".join(
            p if isinstance(p, str) else p["text"] for p in m["text"])
        posts[m["id"]] = (datetime.fromtimestamp(int(m["date_unixtime"]), UTC), text)
    out = []
    for table, label, kind in ((SAME, True, "sample: retold by another channel"),
                               (DIFFERENT, False, "sample: same names, other event")):
        for mid, retellings in table.items():
            date, text = posts[mid]
            for hours, retold in retellings:
                out.append({"a": text, "b": retold, "label": label, "kind": kind, "lang": "en",
                            "date_a": date.isoformat(), "date_b": (date + timedelta(hours=hours)).isoformat(),
                            "split": split or _split(f"sample{mid}"), "frame": f"{prefix}{mid}"})
    # the two retellings of one post are one story too
    paired = getattr(tables, "PAIRED", SAME)  # posts whose first two retellings tell the same facts
    for mid, retellings in SAME.items():
        if len(retellings) < 2 or mid not in paired:
            continue
        date, _ = posts[mid]
        (h1, r1), (h2, r2) = retellings[:2]
        out.append({"a": r1, "b": r2, "label": True, "kind": "sample: two retellings", "lang": "en",
                    "date_a": (date + timedelta(hours=h1)).isoformat(),
                    "date_b": (date + timedelta(hours=h2)).isoformat(),
                    "split": split or _split(f"sample{mid}"), "frame": f"{prefix}{mid}"})
    return out


def main() -> None:
    pairs = []
    for lang, frames in (("en", EN), ("ru", RU)):
        for number, frame in enumerate(frames):
            pairs += frame_pairs(lang, number, frame)
    pairs += sample_pairs()
    pairs += sample_pairs(sample_retellings_dev, prefix="sampledev", split="dev")
    path = HERE / "dedupe_pairs.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for p in pairs:
            out.write(json.dumps(p, ensure_ascii=False) + "\n")
    same = sum(p["label"] for p in pairs)
    print(f"{path.name}: {len(pairs)} pairs, {same} same-story, {len(pairs) - same} different; "
          f"test split: {sum(p['split'] == 'test' for p in pairs)}")


if __name__ == "__main__":
    main()
