"""Digest and alert messages in Telegram HTML, split into parts Telegram accepts. Pure.

Only Telegram's own tags are written (``<b>``, ``<u>``, ``<a href>``); every piece of post
text and channel name goes through ``html.escape`` (``quote=False`` in text, ``quote=True``
inside ``href``), so a post can never inject markup.

A message may hold 4,096 characters as Telegram counts them: UTF-16 code units of the text
left after entity parsing (tags gone, ``&amp;`` etc. turned back into one character). An
emoji outside the BMP counts 2. Messages are split only between stories, never inside a
story or a tag; a section heading is repeated ("… (cont.)") at the top of a part that
continues it. A single story that would not fit alone has its snippet shortened until it does.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.core.models import StoredPost, Story
from bot.core.text import esc, esc_attr, telegram_length, utf16_len

TELEGRAM_LIMIT = 4096
TITLE_MAX = 150  # characters of the title line before it is cut at a word
ALSO_IN_MAX = 3
_SEP = "\n\n"
_SPACE = re.compile(r"\s+")

Spans = Sequence[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Part:
    """One message: its HTML text and the stories it carries (marked delivered when it is sent)."""

    text: str
    story_ids: tuple[int, ...]


# --- pieces of a story ------------------------------------------------------------------

def _is_decoration(ch: str) -> bool:
    code = ord(ch)
    return (
        unicodedata.category(ch) in ("So", "Sk", "Cs", "Co", "Cf", "Zs", "Cc")
        or ch.isspace()
        or 0xFE00 <= code <= 0xFE0F
        or code in (0x200D, 0x20E3)
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F
    )


def trim_decorations(text: str) -> tuple[int, int]:
    """Bounds of ``text`` without emoji, symbols and spaces at either end."""
    start, end = 0, len(text)
    while start < end and _is_decoration(text[start]):
        start += 1
    while end > start and _is_decoration(text[end - 1]):
        end -= 1
    return start, end


def _cut_at_word(text: str, start: int, limit: int) -> int:
    """An end offset ≤ start+limit, at a space when one is reasonably close."""
    hard = start + limit
    if hard >= len(text):
        return len(text)
    space = text.rfind(" ", start, hard + 1)
    if space == -1:
        space = max(text.rfind("\n", start, hard + 1), -1)
    return space if space > start + limit * 0.6 else hard


def title_bounds(text: str, *, max_chars: int = TITLE_MAX) -> tuple[int, int, bool]:
    """``(start, end, cut)`` of the title: the first non-empty line, emoji-trimmed, capped."""
    offset = 0
    for line in text.split("\n"):
        s, e = trim_decorations(line)
        if s < e:
            start, end = offset + s, offset + e
            if end - start > max_chars:
                return start, _cut_at_word(text, start, max_chars), True
            return start, end, False
        offset += len(line) + 1
    return len(text), len(text), False


def _marked(text: str, start: int, end: int, spans: Spans) -> str:
    """``text[start:end]`` escaped, whitespace folded, with the spans inside it in ``<b>``."""
    out: list[str] = []
    pos = start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e or s < pos:
            continue
        out.append(esc(_SPACE.sub(" ", text[pos:s])))
        out.append("<b>" + esc(_SPACE.sub(" ", text[s:e])) + "</b>")
        pos = e
    out.append(esc(_SPACE.sub(" ", text[pos:end])))
    return "".join(out)


def snippet_html(text: str, spans: Spans, *, body_start: int, length: int) -> str:
    """About ``length`` characters of ``text`` from ``body_start``, matches in bold.

    When the first match lies beyond the usual cut, the snippet starts shortly before it
    (with a leading "…") so the reader sees why the story matched."""
    if length <= 0:
        return ""
    start = body_start
    while start < len(text) and text[start].isspace():
        start += 1
    if start >= len(text):
        return ""
    lead = ""
    first = next((s for s, e in spans if s >= start), None)
    if first is not None and first >= start + int(length * 0.7):
        back = text.rfind(" ", start, max(start, first - length // 4))
        start = back + 1 if back > start else max(start, first - length // 4)
        lead = "…"
    end = _cut_at_word(text, start, length)
    # Never end inside a highlighted term.
    for s, e in spans:
        if s < end < e:
            end = s if s > start else e
    body = _marked(text, start, end, spans).strip()
    if not body:
        return ""
    tail = "…" if end < len(text.rstrip()) else ""
    return lead + body + tail


def channel_name(sp: StoredPost) -> str:
    p = sp.post
    return p.channel_title or (f"@{p.channel_username}" if p.channel_username else str(p.channel_id))


def also_in_html(story: Story, *, limit: int = ALSO_IN_MAX) -> str:
    """"also in A, B, C +N": the other channels that told the story, each linked to its post."""
    rep_channel = story.representative.post.channel_id
    others = []
    seen = {rep_channel}
    for sp in story.posts[1:]:
        if sp.post.channel_id in seen:
            continue
        seen.add(sp.post.channel_id)
        others.append(sp)
    if not others:
        return ""
    links = ", ".join(
        f'<a href="{esc_attr(sp.post.url)}">{esc(channel_name(sp))}</a>' for sp in others[:limit]
    )
    more = f" +{len(others) - limit}" if len(others) > limit else ""
    return f" · also in {links}{more}"


def story_html(story: Story, *, spans: Spans = (), snippet_length: int = 250, title_max: int = TITLE_MAX) -> str:
    """One story: bold title line, snippet with matches in bold, "told by N channels" when
    more than one told it, link, "also in"."""
    rep = story.representative
    text = rep.post.text or ""
    t_start, t_end, cut = title_bounds(text, max_chars=title_max)
    if t_start < t_end:
        title = esc(_SPACE.sub(" ", text[t_start:t_end])) + ("…" if cut else "")
    else:
        title = esc(f"[{rep.post.media_kind}]" if rep.post.media_kind else "(no text)")
    snippet = snippet_html(text, spans, body_start=t_end, length=snippet_length)
    link = f'<a href="{esc_attr(rep.post.url)}">{esc(channel_name(rep))}</a>'
    lines = [f"<b>{title}</b>"]
    if snippet:
        lines.append(snippet)
    channels = len({sp.post.channel_id for sp in story.posts})
    told = f"told by {channels} channels: " if channels > 1 else ""
    lines.append(told + link + also_in_html(story))
    return "\n".join(lines)


def fitting_story_html(story: Story, *, spans: Spans, snippet_length: int, room: int) -> str:
    """``story_html`` shortened (snippet first, then title) until it fits in ``room`` units."""
    length = snippet_length
    while True:
        block = story_html(story, spans=spans, snippet_length=length)
        if telegram_length(block) <= room or length == 0:
            break
        length = length // 2 if length > 20 else 0
    title_max = TITLE_MAX
    while telegram_length(block) > room and title_max > 10:
        title_max //= 2
        block = story_html(story, spans=spans, snippet_length=0, title_max=title_max)
    return block


# --- whole messages ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Block:
    html: str
    length: int
    story_id: int | None = None


def _block(text: str, story_id: int | None = None) -> _Block:
    return _Block(text, telegram_length(text), story_id)


@functools.lru_cache(maxsize=1024)
def _heading_block(name: str, continued: bool) -> _Block:
    return _block(f"<b><u>{esc(name)}</u></b>" + (" (cont.)" if continued else ""))


# Keyed by the story's posts, not only its id: a story folded with a linked one, or trimmed
# by a chat's mutes, keeps its id but lists other posts ("told by", "also in").
BlockCache = dict[tuple[int, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...], int], "_Block"]


@functools.lru_cache(maxsize=4096)
def _story_block(story: Story, spans: tuple[tuple[int, int], ...], snippet_length: int) -> _Block:
    # Digests of many chats list the same stories with the same highlights: render once.
    return _block(story_html(story, spans=spans, snippet_length=snippet_length), story.id)


def _pack(
    header: _Block | None,
    sections: Sequence[tuple[str | None, Sequence[Story]]],
    *,
    highlights: Mapping[int, Spans],
    snippet_length: int,
    limit: int,
    blocks: BlockCache | None = None,
) -> list[Part]:
    sep = utf16_len(_SEP)
    parts: list[Part] = []
    cur: list[_Block] = []
    cur_len = 0

    def flush() -> None:
        nonlocal cur, cur_len
        if cur:
            parts.append(
                Part(_SEP.join(b.html for b in cur), tuple(b.story_id for b in cur if b.story_id is not None))
            )
        cur, cur_len = [], 0

    def add(blocks: list[_Block]) -> None:
        nonlocal cur_len
        for b in blocks:
            cur_len += b.length + (sep if cur else 0)
            cur.append(b)

    def size(blocks: list[_Block]) -> int:
        return sum(b.length for b in blocks) + sep * (len(blocks) - 1 + (1 if cur else 0))

    if header is not None:
        add([header])
    for name, stories in sections:
        for i, story in enumerate(stories):
            first_in_section = i == 0
            heading = [_heading_block(name, False)] if name is not None and first_in_section else []
            cont = [_heading_block(name, True)] if name is not None else []
            spans = tuple(highlights.get(story.id, ()))
            if blocks is None:
                block = _story_block(story, spans, snippet_length)
            else:
                posts = tuple((sp.post.channel_id, sp.post.message_id) for sp in story.posts)
                key = (story.id, posts, spans, snippet_length)
                block = blocks.get(key) or blocks.setdefault(key, _story_block.__wrapped__(story, spans, snippet_length))
            # A story too long for a part of its own is shortened to fit one: with the
            # header when no story is placed yet (so the header never goes out alone).
            lead = heading if first_in_section else cont
            if not any(b.story_id is not None for b in cur) and cur:
                room = limit - cur_len - sep - sum(b.length + sep for b in lead)
            else:
                room = limit - sum(b.length + sep for b in lead)
            if block.length > room:
                block = _block(
                    fitting_story_html(story, spans=spans, snippet_length=snippet_length, room=room),
                    story.id,
                )
            if cur and cur_len + size(heading + [block]) > limit:
                flush()
                heading = lead
            add(heading + [block])
    flush()
    return parts


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def render_digest(
    sections: Sequence[tuple[str, Sequence[Story]]],
    *,
    local_date: date,
    highlights: Mapping[int, Spans] | None = None,
    snippet_length: int = 250,
    omitted: int = 0,
    limit: int = TELEGRAM_LIMIT,
    blocks: BlockCache | None = None,
) -> list[Part]:
    """The digest's messages: header with date and counts, then the sections in the given order.

    ``highlights`` maps a story id to the spans of its representative post's text to bold.
    ``blocks``: rendered stories to reuse, keyed by story and its posts (many digests of one tick list
    the same stories; the caller owns it, so an edited story is never served stale).
    """
    stories = [s for _, group in sections for s in group]
    channels = {sp.post.channel_id for s in stories for sp in s.posts}
    counts = f"{_plural(len(stories), 'story', 'stories')} from {_plural(len(channels), 'channel', 'channels')}"
    if omitted:
        counts += f" (+{omitted} more not shown)"
    header = _block(f"<b>📰 Your digest · {local_date:%a %d %b %Y}</b>\n{esc(counts)}")
    return _pack(
        header,
        list(sections),
        highlights=highlights or {},
        snippet_length=snippet_length,
        limit=limit,
        blocks=blocks,
    )


def render_alert(
    stories: Sequence[Story],
    *,
    highlights: Mapping[int, Spans] | None = None,
    snippet_length: int = 160,
    limit: int = TELEGRAM_LIMIT,
) -> list[Part]:
    """Instant-alert messages: one short message for one story, batched when several arrive."""
    header = _block(
        "🔔 <b>Alert</b>" + (f" · {len(stories)} new stories" if len(stories) > 1 else "")
    )
    return _pack(
        header,
        [(None, list(stories))],
        highlights=highlights or {},
        snippet_length=snippet_length,
        limit=limit,
    )
