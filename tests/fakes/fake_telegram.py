"""A fake Telegram behind the few Telethon client methods ``TelethonSource`` calls.

It serves REAL ``telethon.tl.types`` objects built offline and raises REAL telethon errors,
and behaves like Telegram where it matters to us:
- ``iter_messages`` pages by 100 like Telethon's ``_MessagesIter`` over ``GetHistoryRequest``:
  one history request per page; in ``reverse`` mode it stops only on an empty page (so
  "nothing new" costs exactly one request); ``min_id`` is exclusive.
- ``get_entity("name")`` is a username resolution (the expensive call), counted as
  ``resolve``; an ``InputPeerChannel`` needs the right access hash (else ChannelInvalid).
- a private channel answers ChannelPrivateError until joined by invite.
- errors can be queued per request kind (and channel) to fire once: FloodWaitError, ...
``requests`` counts every request by kind: history, by_ids, resolve, get_entity,
check_invite, join.

Several reading accounts: ``tg.account("b")`` is a second client on the SAME server (it sees
the same channels and posts) with what is per account on Telegram: its own access hashes
(a hash from one account is CHANNEL_INVALID on another), its own joined channels, request
counts, queued errors, flood state (``flood_seconds``) and session (``dead_session``).
``latency`` (seconds) makes every request take that long, for benchmarks; ``ignores_min_id``
plays a server that answers a reverse history read from the start whatever ``min_id`` says.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telethon import errors
from telethon.tl import functions, types

from bot.core.text import utf16_len

T0 = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)
_ids = itertools.count(1)


def photo() -> types.MessageMediaPhoto:
    return types.MessageMediaPhoto(
        photo=types.Photo(id=next(_ids), access_hash=1, file_reference=b"", date=T0, sizes=[], dc_id=2)
    )


def document(*attributes: Any, mime: str = "application/pdf") -> types.MessageMediaDocument:
    return types.MessageMediaDocument(
        document=types.Document(
            id=next(_ids), access_hash=1, file_reference=b"", date=T0, mime_type=mime, size=1000,
            dc_id=2, attributes=list(attributes),
        )
    )


def video() -> types.MessageMediaDocument:
    return document(types.DocumentAttributeVideo(duration=5.0, w=640, h=360), mime="video/mp4")


def voice() -> types.MessageMediaDocument:
    return document(types.DocumentAttributeAudio(duration=3, voice=True), mime="audio/ogg")


def poll() -> types.MessageMediaPoll:
    question = types.TextWithEntities(text="Which?", entities=[])
    answers = [types.PollAnswer(text=types.TextWithEntities(text=t, entities=[]), option=t.encode()) for t in "ab"]
    return types.MessageMediaPoll(
        poll=types.Poll(id=next(_ids), question=question, answers=answers, hash=0),
        results=types.PollResults(),
    )


def entity_for(text: str, part: str, cls: Any, **kw: Any) -> Any:
    """An entity covering the first occurrence of ``part`` (offsets in UTF-16 units, like Telegram)."""
    start = text.index(part)
    return cls(offset=utf16_len(text[:start]), length=utf16_len(part), **kw)


@dataclass
class FakeChannel:
    id: int
    title: str
    username: str | None = None
    access_hash: int = 0
    invite_hash: str | None = None
    private: bool = False  # needs joining (by invite) before it can be read
    banned: bool = False  # every read answers ChannelPrivateError, as for a ban or a kick
    messages: dict[int, types.Message | types.MessageService] = field(default_factory=dict)
    next_id: int = 1

    def entity(self, access_hash: int | None = None) -> types.Channel:
        return types.Channel(
            id=self.id, title=self.title, photo=types.ChatPhotoEmpty(), date=T0, broadcast=True,
            access_hash=self.access_hash if access_hash is None else access_hash, username=self.username,
        )


class FakeTelegram:
    """The fake client. Build channels with ``add_channel`` and ``post``; hand it to
    ``TelethonSource`` as the client."""

    def __init__(
        self,
        *,
        server: FakeTelegram | None = None,
        name: str = "default",
        latency: float = 0.0,
        ignores_min_id: bool = False,
    ) -> None:
        self.name = name
        # Accounts on one server share its channels; everything else is per account.
        self.channels: dict[int, FakeChannel] = server.channels if server is not None else {}
        self.requests: Counter[str] = Counter()
        self.requests_by_channel: Counter[tuple[str, int]] = Counter()
        self.joined: set[int] = set()
        self.dead_session: Exception | None = None
        self.flood_seconds: int | None = None  # while set, every request answers FLOOD_WAIT
        self.latency = latency
        self.ignores_min_id = ignores_min_id
        self.in_flight = 0  # requests waiting on the server (counted on the server object)
        self.max_in_flight = 0
        self._server = server if server is not None else self
        self._queued: dict[tuple[str, int | None], list[Exception]] = {}
        self._salt = 0 if name == "default" else int.from_bytes(hashlib.sha1(name.encode()).digest()[:3], "big") + 1
        self.now = T0

    def account(self, name: str, **kw: Any) -> FakeTelegram:
        """Another logged-in account on the same server."""
        return FakeTelegram(server=self, name=name, **{"latency": self.latency, **kw})

    def access_hash(self, channel_id: int) -> int:
        """The access hash THIS account gets for a channel (Telegram's are per account)."""
        return self.channels[channel_id].access_hash + self._salt

    # -- building the world --

    def add_channel(
        self,
        channel_id: int,
        *,
        username: str | None = None,
        title: str | None = None,
        invite_hash: str | None = None,
        private: bool = False,
    ) -> FakeChannel:
        channel = FakeChannel(
            id=channel_id, title=title or f"Channel {channel_id}", username=username,
            access_hash=channel_id * 7919 + 13, invite_hash=invite_hash, private=private,
        )
        self.channels[channel_id] = channel
        return channel

    def post(
        self,
        channel_id: int,
        text: str = "",
        *,
        entities: Sequence[Any] = (),
        media: Any = None,
        grouped_id: int | None = None,
        forward: tuple[int, int] | None = None,
        views: int | None = 100,
        forwards: int | None = 1,
        date: datetime | None = None,
    ) -> types.Message:
        channel = self.channels[channel_id]
        self.now += timedelta(minutes=1)
        fwd = None
        if forward is not None:
            fwd = types.MessageFwdHeader(
                date=self.now - timedelta(hours=1), from_id=types.PeerChannel(forward[0]), channel_post=forward[1]
            )
        message = types.Message(
            id=channel.next_id, peer_id=types.PeerChannel(channel_id), date=date or self.now, message=text,
            post=True, entities=list(entities) or None, media=media, grouped_id=grouped_id, fwd_from=fwd,
            views=views, forwards=forwards,
        )
        channel.messages[message.id] = message
        channel.next_id += 1
        return message

    def service(self, channel_id: int) -> types.MessageService:
        """A service message (e.g. a pin): takes an id, is not a post."""
        channel = self.channels[channel_id]
        self.now += timedelta(minutes=1)
        message = types.MessageService(
            id=channel.next_id, peer_id=types.PeerChannel(channel_id), date=self.now,
            action=types.MessageActionPinMessage(),
        )
        channel.messages[message.id] = message
        channel.next_id += 1
        return message

    def posts(self, channel_id: int, count: int, prefix: str = "post") -> list[types.Message]:
        return [self.post(channel_id, f"{prefix} {i} in channel {channel_id}") for i in range(count)]

    def edit(self, channel_id: int, message_id: int, text: str) -> None:
        message = self.channels[channel_id].messages[message_id]
        self.now += timedelta(minutes=1)
        message.message = text
        message.edit_date = self.now

    def fail_next(self, kind: str, error: Exception, *, channel_id: int | None = None) -> None:
        """Make the next ``kind`` request (for ``channel_id``, or any) raise ``error`` once."""
        self._queued.setdefault((kind, channel_id), []).append(error)

    # -- request plumbing --

    async def _request(self, kind: str, channel_id: int | None = None) -> None:
        self.requests[kind] += 1
        if channel_id is not None:
            self.requests_by_channel[(kind, channel_id)] += 1
        if self.latency:
            server = self._server
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                await asyncio.sleep(self.latency)
            finally:
                server.in_flight -= 1
        if self.dead_session is not None:
            raise self.dead_session
        if self.flood_seconds is not None:
            raise errors.FloodWaitError(request=None, capture=self.flood_seconds)
        for key in ((kind, channel_id), (kind, None)):
            queue = self._queued.get(key)
            if queue:
                raise queue.pop(0)

    def _readable(self, peer: Any) -> FakeChannel:
        if not isinstance(peer, types.InputPeerChannel):
            raise TypeError(f"the source must pass an InputPeerChannel, got {type(peer).__name__}")
        channel = self.channels.get(peer.channel_id)
        if channel is None or self.access_hash(channel.id) != peer.access_hash:
            raise errors.ChannelInvalidError(request=None)
        if channel.banned or (channel.private and channel.id not in self.joined):
            raise errors.ChannelPrivateError(request=None)
        return channel

    # -- the Telethon client surface --

    async def get_input_entity(self, entity: Any) -> Any:
        if isinstance(entity, types.InputPeerChannel):
            return entity  # Telethon returns input peers as they are: no request
        resolved = await self.get_entity(entity)
        return types.InputPeerChannel(channel_id=resolved.id, access_hash=resolved.access_hash)

    async def get_entity(self, entity: Any) -> Any:
        if isinstance(entity, str):
            await self._request("resolve")
            name = entity.lstrip("@").lower()
            for channel in self.channels.values():
                if channel.username and channel.username.lower() == name:
                    return channel.entity(self.access_hash(channel.id))
            # What Telethon's get_entity raises when ResolveUsername says USERNAME_NOT_OCCUPIED
            raise ValueError(f'No user has "{name}" as username')
        if isinstance(entity, types.PeerChannel):
            await self._request("get_entity", entity.channel_id)
            channel = self.channels.get(entity.channel_id)
            if channel is None or (channel.private and channel.id not in self.joined):
                # Telethon's words when the id is not in the session's entity cache
                raise ValueError(f"Could not find the input entity for PeerChannel(channel_id={entity.channel_id})")
            return channel.entity(self.access_hash(channel.id))
        raise TypeError(f"unexpected entity {entity!r}")

    async def iter_messages(
        self,
        entity: Any,
        limit: int | None = None,
        *,
        min_id: int = 0,
        reverse: bool = False,
    ) -> AsyncIterator[Any]:
        peer = await self.get_input_entity(entity)
        left = float("inf") if limit is None else limit
        last = (0 if self.ignores_min_id else min_id) if reverse else None
        while left > 0:
            await self._request("history", peer.channel_id)
            channel = self._readable(peer)
            ids = sorted(channel.messages)
            size = int(min(100, left))
            if reverse:
                batch = [i for i in ids if i > last][:size]
            else:
                batch = [i for i in reversed(ids) if (last is None or i < last) and i > min_id][:size]
            if not batch:
                return
            for message_id in batch:
                yield channel.messages[message_id]
                last = message_id
                left -= 1
            if not reverse and len(batch) < size:
                return

    async def get_messages(self, entity: Any, *, ids: Sequence[int]) -> list[Any]:
        peer = await self.get_input_entity(entity)
        out: list[Any] = []
        for start in range(0, len(ids), 100):
            await self._request("by_ids", peer.channel_id)
            channel = self._readable(peer)
            out.extend(channel.messages.get(i) for i in ids[start : start + 100])
        return out

    async def __call__(self, request: Any) -> Any:
        if isinstance(request, functions.messages.CheckChatInviteRequest):
            await self._request("check_invite")
            channel = self._by_invite(request.hash)
            if channel.id in self.joined:
                return types.ChatInviteAlready(chat=channel.entity(self.access_hash(channel.id)))
            return types.ChatInvite(
                title=channel.title, photo=types.PhotoEmpty(id=0), participants_count=10, color=0,
                channel=True, broadcast=True,
            )
        if isinstance(request, functions.messages.ImportChatInviteRequest):
            await self._request("join")
            channel = self._by_invite(request.hash)
            if len(self.joined) >= 500:
                raise errors.ChannelsTooMuchError(request=None)
            self.joined.add(channel.id)
            return types.Updates(
                updates=[], users=[], chats=[channel.entity(self.access_hash(channel.id))], date=T0, seq=0
            )
        raise TypeError(f"the fake does not serve {type(request).__name__}")

    def _by_invite(self, invite_hash: str) -> FakeChannel:
        for channel in self.channels.values():
            if channel.invite_hash == invite_hash:
                return channel
        raise errors.InviteHashExpiredError(request=None)
