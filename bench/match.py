"""Benchmark: match 10,000 subscribers x 10 subscriptions against 5,000 new stories.

Run:  .venv/bin/python bench/match.py [--subscribers N] [--stories N] [--seed N]

Vocabulary and post text come from tests/fixtures/sample_channel_dump.txt (real channel
posts): each post is a window of consecutive words of that text, so phrases occur as they
do in real posts. Subscriptions mix words, phrases, prefixes, exclusions, hashtags,
channels, OR and stemmed words drawn from the same text. The naive loop (every
subscription against every story) runs on a 1% sample of subscribers and is scaled x100;
its result must be identical to the index's on that sample. Seeded: figures are repeatable
up to machine noise.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.normalise import normalise, words  # noqa: E402
from bot.query.matcher import SubscriptionIndex, naive_match  # noqa: E402
from bot.query.parser import MatchDoc, Query, parse_query  # noqa: E402

DUMP = ROOT / "tests" / "fixtures" / "sample_channel_dump.txt"
TARGET_SECONDS = 2.0
TARGET_SPEEDUP = 50.0
CHANNELS = [f"channel_{i}" for i in range(20)]
# Words nobody subscribes to; keeps the draw close to what people actually follow.
_STOPWORD_TEXT = (
    "the and of to in a an for on with that this is are was were be been by as at from it its "
    "their they we our us he his she her you your i not but or also has have had will would "
    "which who what there these those such all any more most other than into over about only "
    "very well both each between within while after before during said says same"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split(" "))


def load_vocabulary() -> tuple[list[str], list[str], list[str], list[str]]:
    """Raw text tokens, normalised word stream, keywords and hashtags of the sample dump."""
    text = DUMP.read_text(encoding="utf-8")
    raw_tokens = text.split()
    stream = words(normalise(text))
    keywords = sorted({w for w in stream if len(w) >= 4 and w not in STOPWORDS and not w.isdigit()})
    tags = sorted({t.lstrip("#").casefold() for t in raw_tokens if t.startswith("#") and len(t) > 2})
    tags = [t.strip(".,;:") for t in tags if t.strip(".,;:").isalnum()]
    return raw_tokens, stream, keywords, tags


def make_stories(
    rng: random.Random, count: int, raw_tokens: list[str], tags: list[str]
) -> list[tuple[int, list[MatchDoc]]]:
    stories = []
    for story_id in range(count):
        docs = []
        for _ in range(rng.randint(1, 3)):
            size = rng.randint(20, 60)
            start = rng.randrange(0, len(raw_tokens) - size)
            text = " ".join(raw_tokens[start : start + size])
            extra = ("#" + rng.choice(tags),) if rng.random() < 0.3 else ()
            docs.append(MatchDoc.from_text(text, hashtags=extra, channel=rng.choice(CHANNELS)))
        stories.append((story_id, docs))
    return stories


def make_query(
    rng: random.Random, stream: list[str], keywords: list[str], tags: list[str], *, selective: bool
) -> str:
    kw = rng.choice
    if selective:  # every query needs two things at once, as specific subscriptions do
        base = make_query(rng, stream, keywords, tags, selective=False)
        extra = kw(keywords) if rng.random() < 0.8 else "#" + kw(tags)
        return f"({base}) {extra}" if " OR " in base else f"{base} {extra}"
    roll = rng.random()
    if roll < 0.30:
        return kw(keywords)
    if roll < 0.45:
        return f"{kw(keywords)} {kw(keywords)}"
    if roll < 0.60:  # a phrase as it occurs in the text, starting at a keyword
        while True:
            i = rng.randrange(0, len(stream) - 3)
            if stream[i] in STOPWORDS or len(stream[i]) < 4:
                continue
            return '"' + " ".join(stream[i : i + rng.randint(2, 3)]) + '"'
    if roll < 0.70:
        w = kw(keywords)
        return w[: max(4, len(w) - 3)] + "*"
    if roll < 0.80:
        return f"{kw(keywords)} -{kw(keywords)}"
    if roll < 0.88:
        return f"#{kw(tags)}" if rng.random() < 0.5 else f"#{kw(tags)} {kw(keywords)}"
    if roll < 0.94:
        return f"{kw(keywords)} OR {kw(keywords)}"
    if roll < 0.97:
        return f"~{kw(keywords)}"
    return f"{kw(keywords)} @{kw(CHANNELS)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--per-subscriber", type=int, default=10)
    parser.add_argument("--stories", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=20250706)
    parser.add_argument(
        "--selective",
        action="store_true",
        help="AND one more keyword or hashtag to every query (fewer matches per subscriber)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)

    raw_tokens, stream, keywords, tags = load_vocabulary()
    t0 = time.perf_counter()
    stories = make_stories(rng, args.stories, raw_tokens, tags)
    t_docs = time.perf_counter() - t0
    posts = sum(len(docs) for _, docs in stories)

    subs: list[tuple[int, int, Query]] = []
    for chat in range(args.subscribers):
        for k in range(args.per_subscriber):
            text = make_query(rng, stream, keywords, tags, selective=args.selective)
            subs.append((chat * args.per_subscriber + k, chat, parse_query(text)))

    w0, c0 = time.perf_counter(), time.process_time()
    index = SubscriptionIndex(subs)
    w1, c1 = time.perf_counter(), time.process_time()
    by_chat = index.match(stories)  # what the digests need: story ids per chat
    w2, c2 = time.perf_counter(), time.process_time()
    t_build, t_match = c1 - c0, c2 - c1
    wall_build, wall_match = w1 - w0, w2 - w1
    by_subscription = index.match_subscriptions(stories)  # untimed: for the comparison

    sample_chats = set(rng.sample(range(args.subscribers), max(1, args.subscribers // 100)))
    sample = [s for s in subs if s[1] in sample_chats]
    scale = args.subscribers / len(sample_chats)
    c0 = time.process_time()
    naive = naive_match(sample, stories)
    t_naive_sample = time.process_time() - c0
    t_naive = t_naive_sample * scale

    sample_ids = {s[0] for s in sample}
    same = {k: v for k, v in by_subscription.items() if k in sample_ids} == naive.by_subscription and {
        k: v for k, v in by_chat.items() if k in sample_chats
    } == naive.by_chat

    pairs = sum(len(v) for v in by_chat.values())
    total = t_build + t_match
    speedup = t_naive / total if total else float("inf")
    print(f"vocabulary: {len(keywords)} keywords, {len(tags)} hashtags from {DUMP.name}")
    print(f"stories: {len(stories)} ({posts} posts), MatchDocs built in {t_docs:.2f} s (not counted below)")
    print(f"subscriptions: {len(subs)} ({args.subscribers} subscribers x {args.per_subscriber}), "
          f"{index.distinct_queries} distinct queries")
    print(f"matches: {pairs} (chat, story) pairs for {len(by_chat)} chats, "
          f"{pairs / max(1, len(by_chat)):.0f} stories per subscriber on average")
    print("times are CPU seconds of this process (wall clock in brackets; it grows when other")
    print("processes share the machine)")
    print(f"index build:   {t_build:8.3f} s  [{wall_build:.3f} s]")
    print(f"match:         {t_match:8.3f} s  [{wall_match:.3f} s]  (all digests: story ids per chat)")
    print(f"build + match: {total:8.3f} s  [{wall_build + wall_match:.3f} s]")
    print(f"naive loop:    {t_naive:8.3f} s  (SCALED x{scale:.0f} from {len(sample)} subscriptions of "
          f"{len(sample_chats)} subscribers, measured {t_naive_sample:.3f} s)")
    print(f"speed-up:      {speedup:8.1f}x")
    print(f"identical to naive on the sample: {'yes' if same else 'NO'}")
    ok_time = total <= TARGET_SECONDS
    ok_speed = speedup >= TARGET_SPEEDUP
    print(f"target build + match <= {TARGET_SECONDS:.0f} s: {'met' if ok_time else 'MISSED'}; "
          f"speed-up >= {TARGET_SPEEDUP:.0f}x: {'met' if ok_speed else 'MISSED'}")
    if not same:
        sys.exit("results differ from the naive loop")


if __name__ == "__main__":
    main()
