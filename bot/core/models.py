"""The project's own data types. Adapters convert to these at the edge; nothing from
Telethon, httpx or sqlite travels further in.

All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


def channel_url(channel_id: int, message_id: int, username: str | None) -> str:
    """Permalink of a channel post: public by username, else the private ``/c/`` form."""
    if username:
        return f"https://t.me/{username}/{message_id}"
    return f"https://t.me/c/{channel_id}/{message_id}"


@dataclass(frozen=True, slots=True)
class Post:
    """One channel message as every source delivers it (export, Telethon, web preview).

    ``channel_id`` is the bare Telegram id (as in Desktop exports, without the -100 prefix).
    ``text`` is the original text for display; matching uses ``normalise.normalise(text)``.
    ``hashtags`` are stored casefolded without the ``#``.
    """

    channel_id: int
    message_id: int
    date: datetime
    text: str
    channel_username: str | None = None
    channel_title: str | None = None
    edited_at: datetime | None = None
    hashtags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    media_kind: str | None = None
    grouped_id: int | None = None
    forward_channel_id: int | None = None
    forward_message_id: int | None = None
    views: int | None = None
    forwards: int | None = None

    @property
    def key(self) -> tuple[int, int]:
        return (self.channel_id, self.message_id)

    @property
    def forward_origin(self) -> tuple[int, int] | None:
        if self.forward_channel_id is None or self.forward_message_id is None:
            return None
        return (self.forward_channel_id, self.forward_message_id)

    @property
    def url(self) -> str:
        return channel_url(self.channel_id, self.message_id, self.channel_username)


@dataclass(frozen=True, slots=True)
class Channel:
    """A monitored channel as stored: resolved once, polled by cursor."""

    id: int
    username: str | None = None
    title: str | None = None
    handle: str | None = None
    access_hash: int | None = None
    source: str = "telethon"
    last_message_id: int = 0
    last_poll_at: datetime | None = None
    last_error: str | None = None
    next_poll_at: datetime | None = None
    account: str | None = None  # the Telegram account that reads it (Telethon channels)
    pinned: bool = False  # never read by another account (private, or named in the config)

    @property
    def display_name(self) -> str:
        return self.title or (f"@{self.username}" if self.username else str(self.id))


# The built-in news sections (bot.stories.sections sorts posts into them), in display order.
SECTIONS = ("Society", "Economy", "Technology", "Sports", "Entertainment", "Science")


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A post as read back from storage, with what the pipeline attached to it."""

    post: Post
    story_id: int
    categories: tuple[str, ...] = ()
    lang: str | None = None  # ISO 639-1 code, "und" when undetermined; None: not yet detected
    news: bool = True  # False: advertising, promotion, how-to, listicle, greeting


@dataclass(frozen=True, slots=True)
class Story:
    """Posts telling the same news, the representative (earliest) first."""

    id: int
    posts: tuple[StoredPost, ...]
    categories: tuple[str, ...] = ()
    news: bool = True  # False when most of its posts are not news

    @property
    def representative(self) -> StoredPost:
        return self.posts[0]

    @property
    def first_date(self) -> datetime:
        return self.posts[0].post.date


DELIVERY_MODES = ("digest", "alert", "silent")


@dataclass(frozen=True, slots=True)
class Subscription:
    """``urgent``: sent at once instead of in the digest; ``silent``: and without a notification."""

    id: int
    chat_id: int
    query: str
    urgent: bool = False
    created_at: datetime | None = None
    silent: bool = False

    @property
    def mode(self) -> str:
        """The delivery mode: "digest" (default), "alert" (at once) or "silent" (at once, quietly)."""
        if not self.urgent:
            return "digest"
        return "silent" if self.silent else "alert"


@dataclass(frozen=True, slots=True)
class Subscriber:
    chat_id: int
    active: bool = True
    paused: bool = False
    digest_time: str = "09:00"
    timezone: str = "UTC"
    username: str | None = None
    last_digest_at: datetime | None = None
    subscriptions: tuple[Subscription, ...] = field(default=())
    include_nonnews: bool = False  # digests and alerts carry non-news posts too (/nonnews on)
    weekly_day: int | None = None  # None: daily; 0=Monday..6=Sunday: weekly
    digest_style: str = "full"  # "full": as many messages as needed; "compact": one, paged


@dataclass(frozen=True, slots=True)
class Mute:
    """Something a chat no longer wants to see: a channel (``target`` = channel id) or a story."""

    kind: str  # "channel" | "story"
    target: int
    label: str


@dataclass(frozen=True, slots=True)
class Mutes:
    """A chat's muted channel ids and story ids, as filters need them."""

    channels: frozenset[int] = frozenset()
    stories: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.channels or self.stories)
