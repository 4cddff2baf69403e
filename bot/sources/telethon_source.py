"""The Telethon source: reads channels with a logged-in user account.

The only module that imports telethon, lazily inside functions: it is heavy and most
commands never need it. Telethon objects are converted to ``Post`` here and go no further.

Economy (Telegram flood-bans accounts that hammer it): a handle is resolved once and its
id + access hash kept by the caller, so a poll builds ``InputPeerChannel`` locally and costs
one history request per channel when nothing is new. Public channels are read without
joining; only invite links join (Telegram caps an account at 500 channels).

Errors are mapped once, in ``_map_error``, into ``bot.errors`` (see ``bot.sources``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.config import (
    DEFAULT_ACCOUNT,
    SESSION_ENV_PREFIX,
    TEST_DCS,
    TEST_PORT,
    Secrets,
    TelegramConfig,
    account_name_problem,
    read_public_key,
)
from bot.core.handles import Handle
from bot.core.models import Channel, Post
from bot.core.normalise import extract_hashtags
from bot.errors import ChannelUnavailable, FloodWait, SessionInvalid, SourceError, StaleAccess
from bot.sources import Page, ResolvedChannel

if TYPE_CHECKING:
    from telethon import TelegramClient
    from telethon.sessions import StringSession

log = logging.getLogger(__name__)

T = TypeVar("T")

SESSION_STEM, SESSION_SUFFIX = "tgdigest", ".session"
SESSION_NAME = SESSION_STEM + SESSION_SUFFIX  # the default account's (the name before accounts existed)
DEFAULT_DC = 2  # Telethon's default data centre
JOIN_CAP = 500  # channels one account can be a member of (Telegram's limit)
LOGIN_HINT = "run `tgdigest login` (or set TELEGRAM_SESSION)"
MAX_FLOOD_RETRIES = 3

NO_SUCH_USERNAME = "no channel has this username (renamed or deleted?)"
UNKNOWN_ID = "this account has never seen this channel id; add it by @username or invite link"

# Telegram's names for "this session is dead": retrying never helps, only a new login.
_DEAD_SESSION = (
    "AuthKeyUnregisteredError",
    "SessionRevokedError",
    "SessionExpiredError",
    "UserDeactivatedBanError",
    "UserDeactivatedError",
    "AuthKeyDuplicatedError",
)
_UNAVAILABLE = {
    "ChannelPrivateError": "the channel is private or we were removed from it",
    "ChannelPublicGroupNaError": "the channel is not available",
    "ChatForbiddenError": "the channel is not accessible to this account",
    "ChatAdminRequiredError": "the channel is not accessible to this account",
    "UsernameNotOccupiedError": NO_SUCH_USERNAME,
    "UsernameInvalidError": "the username is not valid",
    "InviteHashExpiredError": "the invite link has expired",
    "InviteHashInvalidError": "the invite link is not valid",
    "InviteHashEmptyError": "the invite link is not valid",
    "InviteRequestSentError": "the invite needs an admin's approval (request sent)",
    "ChannelsTooMuchError": f"this account is in too many channels (Telegram's cap is {JOIN_CAP})",
}
# A stored channel these answer for has an access hash from another account or session.
_STALE = {
    "PeerIdInvalidError": "the channel id is not known to this account",
    "ChannelInvalidError": "the channel id or access hash is invalid",
}
# Telethon's own errors for replies it cannot read (a server speaking another layer, a
# corrupted packet): the channel's error for this pass, never the whole pass's.
_UNDECODABLE = (
    "TypeNotFoundError",
    "InvalidBufferError",
    "InvalidChecksumError",
    "SecurityError",
    "BadMessageError",
)


def session_path(data_dir: Path, account: str = DEFAULT_ACCOUNT) -> Path:
    """Where ``tgdigest login`` keeps an account's session: next to the database,
    ``tgdigest.session`` for the default account, ``tgdigest-NAME.session`` for others."""
    if account == DEFAULT_ACCOUNT:
        return data_dir / SESSION_NAME
    return data_dir / f"{SESSION_STEM}-{account}{SESSION_SUFFIX}"


def session_env_name(account: str) -> str:
    return "TELEGRAM_SESSION" if account == DEFAULT_ACCOUNT else SESSION_ENV_PREFIX + account.upper()


def login_hint(account: str = DEFAULT_ACCOUNT) -> str:
    if account == DEFAULT_ACCOUNT:
        return LOGIN_HINT
    return f"run `tgdigest login --account {account}` (or set {session_env_name(account)})"


# --- conversion at the edge --------------------------------------------------------------


def media_kind(message: Any) -> str | None:
    """Our word for what a message carries besides text (None: text only)."""
    from telethon.tl import types

    media = message.media
    if media is None:
        return None
    if isinstance(media, types.MessageMediaPhoto):
        return "photo"
    if isinstance(media, types.MessageMediaDocument):
        document = media.document
        attributes = getattr(document, "attributes", None) or []
        for attr in attributes:
            if isinstance(attr, types.DocumentAttributeSticker):
                return "sticker"
        for attr in attributes:
            if isinstance(attr, types.DocumentAttributeAnimated):
                return "animation"
        for attr in attributes:
            if isinstance(attr, types.DocumentAttributeVideo):
                return "video_note" if attr.round_message else "video"
            if isinstance(attr, types.DocumentAttributeAudio):
                return "voice" if attr.voice else "audio"
        return "document"
    simple = {
        types.MessageMediaPoll: "poll",
        types.MessageMediaWebPage: "webpage",
        types.MessageMediaGeo: "location",
        types.MessageMediaGeoLive: "location",
        types.MessageMediaVenue: "location",
        types.MessageMediaContact: "contact",
        types.MessageMediaDice: "dice",
        types.MessageMediaGame: "game",
        types.MessageMediaInvoice: "invoice",
    }
    for cls, kind in simple.items():
        if isinstance(media, cls):
            return kind
    if isinstance(media, types.MessageMediaEmpty | types.MessageMediaUnsupported):
        return None
    return type(media).__name__.removeprefix("MessageMedia").lower() or None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def message_to_post(
    message: Any, *, channel_id: int, username: str | None, title: str | None
) -> Post | None:
    """One Telethon message as our Post; None for service messages (not posts)."""
    from telethon.tl import types

    if not isinstance(message, types.Message):
        return None
    text = message.message or ""
    tags: list[str] = list(extract_hashtags(text))
    links: list[str] = []
    for entity, inner in message.get_entities_text() if message.entities else ():
        if isinstance(entity, types.MessageEntityTextUrl):
            links.append(entity.url)
        elif isinstance(entity, types.MessageEntityUrl):
            links.append(inner)
        elif isinstance(entity, types.MessageEntityHashtag) and inner.startswith("#") and len(inner) > 1:
            tags.append(inner[1:].casefold())
    forward_channel = forward_post = None
    fwd = message.fwd_from
    if fwd is not None and isinstance(fwd.from_id, types.PeerChannel) and fwd.channel_post:
        forward_channel, forward_post = fwd.from_id.channel_id, fwd.channel_post
    return Post(
        channel_id=channel_id,
        message_id=message.id,
        date=_utc(message.date),  # type: ignore[arg-type]  # a Message always has a date
        text=text,
        channel_username=username,
        channel_title=title,
        edited_at=_utc(message.edit_date),
        hashtags=tuple(dict.fromkeys(tags)),
        links=tuple(dict.fromkeys(links)),
        media_kind=media_kind(message),
        grouped_id=message.grouped_id,
        forward_channel_id=forward_channel,
        forward_message_id=forward_post,
        views=message.views,
        forwards=message.forwards,
    )


def merge_album(parts: Sequence[Post]) -> Post:
    """An album's parts as ONE post: the part with text (else the lowest id) stands for it;
    links and hashtags of every part are kept."""
    ordered = sorted(parts, key=lambda p: p.message_id)
    lead = next((p for p in ordered if p.text.strip()), ordered[0])
    if len(ordered) == 1:
        return lead
    from dataclasses import replace

    views = [p.views for p in ordered if p.views is not None]
    edits = [p.edited_at for p in ordered if p.edited_at is not None]
    return replace(
        lead,
        hashtags=tuple(dict.fromkeys(t for p in [lead, *ordered] for t in p.hashtags)),
        links=tuple(dict.fromkeys(u for p in [lead, *ordered] for u in p.links)),
        views=max(views) if views else None,
        edited_at=max(edits) if edits else None,
    )


def messages_to_posts(
    messages: Iterable[Any], *, channel_id: int, username: str | None, title: str | None
) -> list[Post]:
    """Messages (any order) as posts in id order, album parts merged, service messages dropped."""
    singles: list[Post] = []
    albums: dict[int, list[Post]] = {}
    for message in messages:
        post = message_to_post(message, channel_id=channel_id, username=username, title=title)
        if post is None:
            continue
        if post.grouped_id is not None:
            albums.setdefault(post.grouped_id, []).append(post)
        else:
            singles.append(post)
    merged = singles + [merge_album(parts) for parts in albums.values()]
    return sorted(merged, key=lambda p: p.message_id)


# --- the source ---------------------------------------------------------------------------


class TelethonSource:
    """``ChannelSource`` over a connected Telethon client (or a fake with the same methods).

    ``sleep`` is injectable so flood-wait handling is testable without waiting.
    ``request_interval`` paces this account: at least that many seconds between the reads and
    lookups we start (each account has its own source, hence its own pace; the follow-up
    pages Telethon fetches inside one long read are not spaced).
    """

    name = "telethon"

    def __init__(
        self,
        client: Any,
        *,
        flood_sleep_threshold: int = 60,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        request_interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        account: str = DEFAULT_ACCOUNT,
    ) -> None:
        self.client = client
        self.account = account
        self.flood_sleep_threshold = flood_sleep_threshold
        self.sleep = sleep
        self.request_interval = request_interval
        self.clock = clock
        self._last_request: float | None = None

    async def _pace(self) -> None:
        if self.request_interval <= 0:
            return
        now = self.clock()
        if self._last_request is not None:
            wait = self._last_request + self.request_interval - now
            if wait > 0:
                await self.sleep(wait)
                now += wait
        self._last_request = now

    # -- resolution (once per handle, ever) --

    async def resolve(self, handle: Handle) -> ResolvedChannel:
        from telethon.tl import functions, types

        label = str(handle)
        if handle.kind == "invite":
            invite = await self._call(
                label, lambda: self.client(functions.messages.CheckChatInviteRequest(hash=handle.value))
            )
            joined = False
            if isinstance(invite, types.ChatInviteAlready | types.ChatInvitePeek):
                entity = invite.chat
            else:
                updates = await self._call(
                    label, lambda: self.client(functions.messages.ImportChatInviteRequest(hash=handle.value))
                )
                chats = [c for c in getattr(updates, "chats", []) if isinstance(c, types.Channel)]
                if not chats:
                    raise ChannelUnavailable(f"{label}: the invite did not lead to a channel")
                entity = chats[0]
                joined = True
                log.info("joined %s by invite (accounts can join at most %d channels)", entity.title, JOIN_CAP)
        elif handle.kind == "username":
            entity = await self._call(label, lambda: self.client.get_entity(handle.value))
        else:
            peer = types.PeerChannel(int(handle.value))
            entity = await self._call(label, lambda: self.client.get_entity(peer))
        if not isinstance(entity, types.Channel):
            raise ChannelUnavailable(f"{label}: this is a user or group chat, not a channel")
        return ResolvedChannel(
            id=entity.id,
            access_hash=entity.access_hash,
            username=(entity.username or None),
            title=entity.title,
            joined=joined if handle.kind == "invite" else False,
        )

    # -- reading --

    def _peer(self, channel: Channel) -> Any:
        from telethon.tl import types

        if channel.access_hash is None:
            raise ChannelUnavailable(f"{channel.display_name}: no access hash stored; remove and re-add the channel")
        return types.InputPeerChannel(channel_id=channel.id, access_hash=channel.access_hash)

    def _posts(self, channel: Channel, messages: Iterable[Any]) -> list[Post]:
        return messages_to_posts(messages, channel_id=channel.id, username=channel.username, title=channel.title)

    async def fetch_new(self, channel: Channel, *, backfill: int, page_size: int) -> AsyncIterator[Page]:
        peer = self._peer(channel)
        label = channel.display_name
        if channel.last_message_id <= 0:
            # First sight: only the newest `backfill` (Telegram returns newest first).
            newest: list[Any] = await self._call(
                label, lambda: _collect(self.client.iter_messages(peer, limit=max(backfill, 1)))
            )
            newest.sort(key=lambda m: m.id)
            if not newest:
                return
            top = newest[-1].id
            taken = newest[-backfill:] if backfill > 0 else []
            if not taken:
                yield Page(posts=(), cursor=top)
                return
            for start in range(0, len(taken), page_size):
                chunk = taken[start : start + page_size]
                last = start + page_size >= len(taken)
                yield Page(posts=tuple(self._posts(channel, chunk)), cursor=top if last else chunk[-1].id)
            return

        # Catch-up: strictly newer than the cursor, oldest first, Telethon pages by 100.
        # Telethon's reverse mode does not filter by min_id itself, and some servers ignore
        # it: without our own filter every pass would re-read the channel's first page.
        cursor = min_id = channel.last_message_id
        buffer: list[Any] = []
        retries = 0
        while True:
            try:
                await self._pace()
                async for message in self.client.iter_messages(peer, min_id=min_id, reverse=True):
                    if message.id <= cursor or message.id <= min_id:
                        continue
                    buffer.append(message)
                    min_id = message.id
                    if len(buffer) > page_size:
                        emit, buffer = _split_page(buffer, page_size)
                        if emit:
                            yield Page(posts=tuple(self._posts(channel, emit)), cursor=emit[-1].id)
                break
            except Exception as e:  # noqa: BLE001 - mapped below, re-raised typed
                retries = await self._after_error(label, e, retries)
        if buffer:
            yield Page(posts=tuple(self._posts(channel, buffer)), cursor=buffer[-1].id)

    async def refetch(self, channel: Channel, ids: Sequence[int]) -> list[Post]:
        if not ids:
            return []
        peer = self._peer(channel)
        messages = await self._call(
            channel.display_name, lambda: self.client.get_messages(peer, ids=list(ids))
        )
        return self._posts(channel, [m for m in messages if m is not None])

    # -- error handling, once --

    async def _call(self, label: str, make: Callable[[], Awaitable[T]]) -> T:
        retries = 0
        while True:
            try:
                await self._pace()
                return await make()
            except Exception as e:  # noqa: BLE001 - mapped below, re-raised typed
                retries = await self._after_error(label, e, retries)

    async def _after_error(self, label: str, error: Exception, retries: int) -> int:
        """Sleep through a short flood wait (return the retry count) or raise a typed error."""
        seconds = _flood_seconds(error)
        if seconds is not None and seconds <= self.flood_sleep_threshold and retries < MAX_FLOOD_RETRIES:
            log.info("%s: flood wait of %d s, sleeping", label, seconds)
            await self.sleep(seconds)
            return retries + 1
        mapped = _map_error(label, error, account=self.account)
        if mapped is error:
            raise error
        raise mapped from error


async def _collect(iterator: AsyncIterator[T]) -> list[T]:
    return [item async for item in iterator]


def _split_page(buffer: list[Any], page_size: int) -> tuple[list[Any], list[Any]]:
    """Cut ``page_size`` messages off the front, moving a trailing album's parts to the rest
    so an album split across Telegram's pages still becomes one post."""
    emit, rest = buffer[:page_size], buffer[page_size:]
    group = rest[0].grouped_id if rest else None
    while group is not None and emit and emit[-1].grouped_id == group:
        rest.insert(0, emit.pop())
    return emit, rest


def _flood_seconds(error: Exception) -> int | None:
    from telethon import errors

    if isinstance(error, errors.FloodWaitError | errors.FloodPremiumWaitError | errors.SlowModeWaitError):
        return int(error.seconds)
    return None


def _map_error(label: str, error: Exception, *, account: str = DEFAULT_ACCOUNT) -> Exception:
    """Telethon/Telegram error → our typed error (the one place this happens)."""
    from telethon import errors

    hint = login_hint(account)
    name = type(error).__name__
    seconds = _flood_seconds(error)
    if seconds is not None:
        return FloodWait(seconds, f"{label}: Telegram asks to wait {seconds} s (flood wait)")
    if name in _DEAD_SESSION:
        return SessionInvalid(f"the Telegram session is no longer valid ({name}): {hint}")
    if name in _STALE:
        return StaleAccess(f"{label}: {_STALE[name]}")
    if name in _UNAVAILABLE:
        return ChannelUnavailable(f"{label}: {_UNAVAILABLE[name]}")
    if isinstance(error, errors.UnauthorizedError):
        return SessionInvalid(f"Telegram refused the session ({name}): {hint}")
    if name in _UNDECODABLE:
        return SourceError(f"{label}: Telegram sent a reply this client cannot read ({name}); retried next pass")
    if isinstance(error, ValueError):
        # get_entity's way of saying "no such username / id not in this account's cache",
        # in Telethon's words; the user gets ours.
        text = str(error)
        if "as username" in text or "username" in text.casefold():
            return ChannelUnavailable(f"{label}: {NO_SUCH_USERNAME}")
        if "input entity" in text or "PeerChannel" in text:
            return ChannelUnavailable(f"{label}: {UNKNOWN_ID}")
        return ChannelUnavailable(f"{label}: Telegram has no such channel")
    if isinstance(error, errors.RPCError):
        return SourceError(f"{label}: Telegram error {name}: {error}")
    if isinstance(error, OSError | ConnectionError | asyncio.TimeoutError):
        return SourceError(f"{label}: network error: {error or name}")
    return error  # a bug, not Telegram: let it surface with its traceback


# --- the real client ----------------------------------------------------------------------


def apply_server(client: TelegramClient, telegram: TelegramConfig) -> None:
    """Point a client at the configured server before it connects: ``[telegram] server``
    (+ ``dc_id``, default 2), or Telegram's test DCs; and trust ``public_key_file``.
    A session already saved for that address keeps its auth key (Telethon keeps one per
    session); with the defaults nothing changes."""
    from telethon.crypto import rsa

    if telegram.public_key_file:
        # Telethon only talks to servers whose RSA key it knows (its list has Telegram's).
        rsa.add_key(read_public_key(Path(telegram.public_key_file)).decode("ascii"), old=False)
    address = telegram.server_address()
    if address is not None:
        dc_id = telegram.dc_id or DEFAULT_DC
        host, port = address
    elif telegram.test_servers:
        dc_id = telegram.dc_id or DEFAULT_DC
        host, port = TEST_DCS[dc_id], TEST_PORT
    else:
        return
    session = client.session
    if (session.dc_id, session.server_address, session.port) != (dc_id, host, port):
        session.set_dc(dc_id, host, port)
        session.save()


def _make_client(
    secrets: Secrets, session: StringSession | str, telegram: TelegramConfig | None = None
) -> TelegramClient:
    from telethon import TelegramClient

    if not secrets.has_telegram_api:
        raise SessionInvalid(
            "TELEGRAM_API_ID and TELEGRAM_API_HASH are not set (get them at https://my.telegram.org), "
            "or use source = \"web\" for public channels"
        )
    client = TelegramClient(session, secrets.api_id, secrets.api_hash)
    # We handle every flood wait ourselves (sleep short ones, schedule long ones).
    client.flood_sleep_threshold = 0
    apply_server(client, telegram or TelegramConfig())
    return client


def session_for(secrets: Secrets, data_dir: Path, account: str = DEFAULT_ACCOUNT) -> StringSession | str:
    """The session of ``account``: its string session from the environment if set
    (``TELEGRAM_SESSION`` for the default account, ``TELEGRAM_SESSION_<NAME>`` for others),
    else its file in the data directory."""
    from telethon.sessions import StringSession

    text = secrets.session_string(account)
    if text:
        try:
            return StringSession(text)
        except ValueError:
            raise SessionInvalid(
                f"{session_env_name(account)} is not a valid session string: {login_hint(account)}"
            ) from None
    path = session_path(data_dir, account)
    if not path.exists():
        raise SessionInvalid(f"no Telegram session for account {account} in {data_dir}: {login_hint(account)}")
    return str(path)


def known_sessions(secrets: Secrets, data_dir: Path) -> dict[str, str]:
    """Every account that has a session: name → "string" (environment) or "file"."""
    found: dict[str, str] = {}
    if session_path(data_dir).exists():
        found[DEFAULT_ACCOUNT] = "file"
    if data_dir.is_dir():
        for path in sorted(data_dir.glob(f"{SESSION_STEM}-*{SESSION_SUFFIX}")):
            name = path.name[len(SESSION_STEM) + 1 : -len(SESSION_SUFFIX)]
            if account_name_problem(name) is None:
                found[name] = "file"
    for name in secrets.session_accounts():
        found[name] = "string"
    return dict(sorted(found.items(), key=lambda item: (item[0] != DEFAULT_ACCOUNT, item[0])))


async def connect(
    secrets: Secrets, data_dir: Path, *, account: str = DEFAULT_ACCOUNT, telegram: TelegramConfig | None = None
) -> TelegramClient:
    """A connected, authorised client for ``account``; never prompts. Raises SessionInvalid
    if it is not logged in."""
    client = _make_client(secrets, session_for(secrets, data_dir, account), telegram)
    try:
        await client.connect()
        authorised = await client.is_user_authorized()
    except Exception as e:
        await client.disconnect()
        mapped = _map_error(f"account {account}", e, account=account)
        if mapped is e:
            raise
        raise mapped from e
    if not authorised:
        await client.disconnect()
        raise SessionInvalid(f"the Telegram session of account {account} is not logged in: {login_hint(account)}")
    return client
