"""Channel sources: where live posts come from, behind one small interface.

Two sources implement ``ChannelSource``: ``telethon_source.TelethonSource`` (a logged-in user
account, MTProto) and ``web_preview.WebPreviewSource`` (the public ``t.me/s/<name>`` pages,
no account). Both return our own ``Post`` and map their wire errors once, into
``bot.errors``:

    SourceError            a fetch failed for another reason (network, unexpected RPC error)
    ├── ChannelUnavailable private, banned, renamed, invalid, or the join cap is reached
    │   └── StaleAccess    the stored access hash is not this account's (re-resolve or re-join)
    ├── FloodWait          Telegram asks to wait ``seconds`` (longer than we sleep inline)
    ├── SessionInvalid     the account's session is gone: run ``tgdigest login [--account NAME]``
    └── WebPreviewError    a t.me/s page is unreachable or its markup is not understood

Anything else a source raises is turned into its channel's ``SourceError`` by the collector.
Each reading account has its own ``TelethonSource`` (its own client, pace and access hashes).

Cursor semantics are shared: a channel's cursor is the highest message id already stored
(album parts and service messages included); sources return only messages above it,
oldest first, in pages that the collector stores one transaction at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.handles import Handle
from bot.core.models import Channel, Post


@dataclass(frozen=True, slots=True)
class ResolvedChannel:
    """What the one resolution of a handle tells us; stored so it never happens again."""

    id: int
    access_hash: int | None = None
    username: str | None = None
    title: str | None = None
    joined: bool = False  # True when resolution joined a private channel by invite


@dataclass(frozen=True, slots=True)
class Page:
    """Posts newer than the cursor, oldest first, and the cursor once they are stored.

    ``cursor`` may exceed every post id: album parts merged into one post and service
    messages are covered but not posts. ``refreshed`` holds already-stored posts the source
    saw anyway (the web preview's first page), so edits reach storage at no extra cost.
    """

    posts: tuple[Post, ...]
    cursor: int
    refreshed: tuple[Post, ...] = ()


class ChannelSource(Protocol):
    """What the collector needs from a source."""

    name: str

    async def resolve(self, handle: Handle) -> ResolvedChannel:
        """Look the handle up once (joins a private channel by invite); raise SourceError."""
        ...

    def fetch_new(self, channel: Channel, *, backfill: int, page_size: int) -> AsyncIterator[Page]:
        """Pages of posts above ``channel.last_message_id``; on first sight (cursor 0) only
        the newest ``backfill`` posts."""
        ...

    async def refetch(self, channel: Channel, ids: Sequence[int]) -> list[Post]:
        """Current state of stored posts ``ids`` (edits); missing or deleted ones left out."""
        ...
