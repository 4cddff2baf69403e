"""Turn the scraped sample channel text into Telegram Desktop export JSON (current format).

The scrape (``tests/fixtures/sample_channel_dump.txt``, from ../shared/seeds) shows every
post twice, the way the channel publishes it: the full post (title line and body), then the
body again as a second message. Noise lines ("Media is too big", "VIEW IN TELEGRAM") mark
a video; lines like "👍1" are reaction counters. This script rebuilds the messages:

    python scripts/seed_to_export.py tests/fixtures/sample_channel_dump.txt OUT.json

It also writes the demo's second channel (``--repost OUT2.json``): a news aggregator that
reposts some of the first channel's posts with its own emoji, credit line and "read more"
trailer, forwards one, and posts news of its own. Dates are synthetic (July 2025, in the
scrape's order) because the scrape carries none.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

MAIN_CHANNEL = {"name": "MFA Russia (sample)", "id": 1113692283, "username": "mfa_russia"}
REPOST_CHANNEL = {"name": "World Desk Digest (demo)", "id": 1999000111, "username": "worlddesk_demo"}

_REACTION = re.compile(r"^\W{1,3}\d+$")
_HASHTAG = re.compile(r"#\w+")


def parse_dump(text: str) -> list[dict]:
    """Split the scrape into posts: ``{"title", "body", "video", "reactions"}`` dicts."""
    lines = [line.rstrip() for line in text.splitlines()]
    posts: list[dict] = []
    i = 0
    video = False
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line in ("Media is too big", "VIEW IN TELEGRAM"):
            video = True
            i += 1
            continue
        if _REACTION.match(line) and posts:
            posts[-1]["reactions"].append(line)
            i += 1
            continue
        # A post is a title line, n body lines, then the same n lines again.
        best = 0
        for n in range(1, (len(lines) - i) // 2 + 1):
            if lines[i + 1 : i + 1 + n] == lines[i + 1 + n : i + 1 + 2 * n]:
                best = n
        if best:
            posts.append(
                {"title": line, "body": lines[i + 1 : i + 1 + best], "video": video, "reactions": []}
            )
            i += 1 + 2 * best
        else:
            posts.append({"title": line, "body": [], "video": video, "reactions": []})
            i += 1
        video = False
    return posts


def _text_parts(text: str) -> list:
    """Desktop export ``text``: plain strings mixed with hashtag and text_link entities."""
    parts: list = []
    pos = 0
    for m in re.finditer(r"#\w+|Read in full|Full text of the Declaration", text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        token = m.group(0)
        if token.startswith("#"):
            parts.append({"type": "hashtag", "text": token})
        else:
            parts.append({"type": "text_link", "text": token, "href": "https://mid.ru/en/"})
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return parts if any(isinstance(p, dict) for p in parts) else [text]


def _entities(parts: list) -> list[dict]:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append({"type": "plain", "text": p})
        else:
            out.append(p)
    return out


def _message(mid: int, when: datetime, text: str, channel: dict, **extra) -> dict:
    parts = _text_parts(text)
    msg = {
        "id": mid,
        "type": "message",
        "date": when.strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(int(when.timestamp())),
        "from": channel["name"],
        "from_id": f"channel{channel['id']}",
        "text": parts[0] if len(parts) == 1 and isinstance(parts[0], str) else parts,
        "text_entities": _entities(parts),
    }
    msg.update(extra)
    return msg


def build_main_export(posts: list[dict]) -> dict:
    start = datetime(2025, 6, 28, 9, 0, tzinfo=UTC)
    messages = [
        {
            "id": 1,
            "type": "service",
            "date": "2025-06-28T08:00:00",
            "date_unixtime": str(int((start - timedelta(hours=1)).timestamp())),
            "actor": MAIN_CHANNEL["name"],
            "actor_id": f"channel{MAIN_CHANNEL['id']}",
            "action": "pin_message",
            "message_id": 2,
            "text": "",
        }
    ]
    mid = 2
    for n, post in enumerate(posts):
        when = start + timedelta(days=n * 17 // 12, hours=(n * 5) % 9)
        full = "\n".join([post["title"], *post["body"]])
        extra: dict = {}
        if post["video"]:
            extra.update({"file": "(File exceeds maximum size. Change data exporting settings to download.)",
                          "media_type": "video_file", "mime_type": "video/mp4"})
        if post["reactions"]:
            emoji, count = post["reactions"][0][:-1], post["reactions"][0][-1]
            extra["reactions"] = [{"type": "emoji", "count": int(count), "emoji": emoji}]
        messages.append(_message(mid, when, full, MAIN_CHANNEL, **extra))
        mid += 1
        if post["body"]:
            # The channel's habit: the body again, a minute later, as its own message.
            messages.append(_message(mid, when + timedelta(minutes=1), "\n".join(post["body"]), MAIN_CHANNEL))
            mid += 1
    return {"name": MAIN_CHANNEL["name"], "type": "public_channel", "id": MAIN_CHANNEL["id"], "messages": messages}


def build_repost_export(main: dict) -> dict:
    """A second channel that retells some of the first channel's posts, plus its own news."""
    originals = [m for m in main["messages"] if m["type"] == "message"]
    full_posts = [m for m in originals if len(_plain(m).splitlines()) > 1][::2]
    messages: list[dict] = []
    mid = 500
    for n, orig in enumerate(full_posts[:5]):
        when = datetime.fromtimestamp(int(orig["date_unixtime"]), UTC) + timedelta(hours=2)
        text = _plain(orig)
        title, _, body = text.partition("\n")
        if n == 1:
            # A plain forward: the origin is known, the text is the original's.
            messages.append(_message(mid, when, text, REPOST_CHANNEL,
                                     forwarded_from=main["name"]))
        else:
            title = re.sub(r"^\W+", "", title)
            text = f"⚡️ {title}\n{body}\n\nSource: @{MAIN_CHANNEL['username']}\nRead more ➡️ t.me/{MAIN_CHANNEL['username']}"
            messages.append(_message(mid, when, text, REPOST_CHANNEL))
        mid += 1
    own = [
        ("BRICS New Development Bank approves financing for three infrastructure projects in Brazil and India, "
         "the bank's press service said on Monday. #BRICS"),
        ("Flights between Moscow and Kuala Lumpur resume on 3 March, the airline said. #ASEAN"),
        ("Flights between Moscow and Kuala Lumpur resume on 5 March, the airline said. #ASEAN"),
        ("Oil prices rose on Tuesday after OPEC+ signalled it would keep output steady through the summer."),
        ("EU foreign ministers discussed a new package of sanctions at their meeting in Brussels on Tuesday."),
    ]
    base = datetime(2025, 7, 14, 7, 30, tzinfo=UTC)
    for n, text in enumerate(own):
        messages.append(_message(mid, base + timedelta(hours=3 * n), text, REPOST_CHANNEL))
        mid += 1
    messages.sort(key=lambda m: int(m["date_unixtime"]))
    for new_id, m in enumerate(messages, start=500):
        m["id"] = new_id
    return {"name": REPOST_CHANNEL["name"], "type": "public_channel", "id": REPOST_CHANNEL["id"], "messages": messages}


def _plain(msg: dict) -> str:
    text = msg["text"]
    return text if isinstance(text, str) else "".join(p if isinstance(p, str) else p["text"] for p in text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--repost", type=Path, help="also write the second (reposting) channel here")
    args = parser.parse_args()
    export = build_main_export(parse_dump(args.dump.read_text(encoding="utf-8")))
    args.out.write_text(json.dumps(export, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: {sum(m['type'] == 'message' for m in export['messages'])} messages")
    if args.repost:
        repost = build_repost_export(export)
        args.repost.write_text(json.dumps(repost, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{args.repost}: {len(repost['messages'])} messages")


if __name__ == "__main__":
    main()
