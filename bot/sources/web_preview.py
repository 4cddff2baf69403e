"""The web-preview source: public channels read from ``{base_url}/s/<name>``, no account.

``parse_page`` is pure (HTML in, ``WebPage`` out) and strict: markup it does not understand
raises ``WebPreviewError`` rather than storing something wrong. ``WebPreviewSource`` adds the
HTTP side: polite spacing between requests, retries with backoff for 5xx, 429 and network
errors, and paging back with ``?before=<id>`` until the stored cursor.

What the preview cannot tell: a forward's channel id (only its username, which the caller's
``forward_lookup`` maps to an id for channels we know) and edit dates (changed text on pages
we fetch anyway reaches storage as an update).

Errors (``bot.errors``): ChannelUnavailable (no public preview: redirect or 404; the
username now names another channel), FloodWait (429 with a long Retry-After),
WebPreviewError (unreachable after retries, or markup not understood).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
from bs4 import BeautifulSoup
from bs4.element import Comment, NavigableString, Tag

from bot import __version__
from bot.core.clock import parse_instant
from bot.core.handles import Handle
from bot.core.models import Channel, Post
from bot.core.normalise import extract_hashtags
from bot.core.retry import backoff_delay, parse_retry_after, retrying
from bot.errors import ChannelUnavailable, FloodWait, WebPreviewError
from bot.sources import Page, ResolvedChannel

log = logging.getLogger(__name__)

MAX_CATCHUP_PAGES = 100  # ~2000 posts; beyond that a gap is logged rather than crawling on
MAX_RETRY_AFTER = 60  # seconds of 429 Retry-After we wait inline; longer becomes FloodWait
USER_AGENT = f"tgdigest/{__version__} (+https://github.com/; channel digest; polite)"

_POST_REF = re.compile(r"^(?P<name>[A-Za-z0-9_]+)/(?P<id>\d+)$")
_LINK_POST = re.compile(r"^https?://(?:www\.)?t\.me/(?:s/)?(?P<name>[A-Za-z0-9_]{4,32})/(?P<id>\d+)")
_SINGLE = re.compile(r"/(?P<id>\d+)\?single")
_VIEWS = re.compile(r"^(?P<num>\d+(?:[.,]\d+)?)(?P<unit>[KMB]?)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class WebPost:
    """One post as the preview shows it."""

    message_id: int
    date: datetime
    text: str
    links: tuple[str, ...] = ()
    views: int | None = None
    media_kind: str | None = None
    forward_username: str | None = None
    forward_message_id: int | None = None
    part_ids: tuple[int, ...] = ()  # further album parts shown inside this post


@dataclass(frozen=True, slots=True)
class WebPage:
    username: str | None
    title: str | None
    channel_id: int | None  # from the widget's data-view token; None if no post carries one
    posts: tuple[WebPost, ...]
    covered: tuple[int, ...]  # every message id on the page: posts, album parts, service messages
    before: int | None  # the "older posts" link, None at the start of the channel


# --- parsing (pure) -----------------------------------------------------------------------


def parse_views(text: str) -> int | None:
    """``"33.4K"`` → 33400; anything else → None."""
    match = _VIEWS.match(text.strip())
    if not match:
        return None
    number = float(match.group("num").replace(",", "."))
    scale = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}[match.group("unit").lower()]
    return int(round(number * scale))


def _view_channel_id(token: str) -> int | None:
    """The channel id inside a widget's ``data-view`` token (base64 JSON, ``c`` = -id)."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        value = int(raw["c"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    value = abs(value)
    text = str(value)
    # Bot API form -100<id>: keep the bare id, as everywhere in our database.
    if text.startswith("100") and len(text) >= 13:
        value = int(text[3:])
    return value or None


def _text_of(element: Tag) -> str:
    """Rendered text: source whitespace collapsed as a browser does, ``<br>`` as newline."""
    pieces: list[str] = []
    for node in element.descendants:
        if isinstance(node, Comment):
            continue
        if isinstance(node, NavigableString):
            pieces.append(re.sub(r"\s+", " ", str(node)))
        elif isinstance(node, Tag) and node.name == "br":
            pieces.append("\n")
    text = re.sub(r" *\n *", "\n", "".join(pieces))
    return re.sub(r" {2,}", " ", text).strip()


def _media_kind(message: Tag) -> str | None:
    grouped = message.select_one(".tgme_widget_message_grouped_wrap")
    if grouped is not None:
        first = grouped.select_one(".grouped_media_wrap")
        if first is not None and "tgme_widget_message_video_player" in first.get_attribute_list("class"):
            return "video"
        return "photo"
    checks = (
        (".tgme_widget_message_photo_wrap", "photo"),
        (".tgme_widget_message_roundvideo_player", "video_note"),
        (".tgme_widget_message_video_player", "video"),
        (".tgme_widget_message_voice_player", "voice"),
        (".tgme_widget_message_voice", "voice"),
        (".tgme_widget_message_sticker_wrap", "sticker"),
        (".tgme_widget_message_poll", "poll"),
        (".tgme_widget_message_location_wrap", "location"),
        (".tgme_widget_message_document_wrap", "document"),
        (".tgme_widget_message_link_preview", "webpage"),
    )
    for selector, kind in checks:
        if message.select_one(selector) is not None:
            return kind
    return None


def _parse_message(message: Tag, where: str) -> tuple[WebPost | None, int, str]:
    """(post or None for a service message, its id, channel name)."""
    ref = _POST_REF.match(str(message.get("data-post", "")))
    if ref is None:
        raise WebPreviewError(f"{where}: a message has no readable data-post attribute (markup changed?)")
    message_id, name = int(ref.group("id")), ref.group("name")
    if "service_message" in message.get_attribute_list("class"):
        return None, message_id, name
    time_tag = message.select_one(".tgme_widget_message_date time[datetime]")
    if time_tag is None:
        raise WebPreviewError(f"{where}: post {message_id} has no date (markup changed?)")
    try:
        date = parse_instant(str(time_tag["datetime"]))
    except ValueError:
        raise WebPreviewError(f"{where}: post {message_id} has an unreadable date {time_tag['datetime']!r}") from None

    text, links = "", []
    for candidate in message.select(".js-message_text"):
        if candidate.find_parent(class_="tgme_widget_message_reply") is None:
            text = _text_of(candidate)
            for anchor in candidate.find_all("a", href=True):
                href, label = str(anchor["href"]), anchor.get_text().strip()
                # Mentions and hashtags render as links too; they are not links of the post.
                if href.startswith(("http://", "https://")) and not label.startswith(("@", "#")):
                    links.append(href)
            break

    fwd_name = fwd_id = None
    fwd = message.select_one("a.tgme_widget_message_forwarded_from_name[href]")
    if fwd is not None:
        link = _LINK_POST.match(str(fwd["href"]))
        if link:
            fwd_name, fwd_id = link.group("name").lower(), int(link.group("id"))

    views_tag = message.select_one(".tgme_widget_message_views")
    parts = sorted(
        {int(m.group("id")) for a in message.select(".tgme_widget_message_grouped_wrap a[href]")
         if (m := _SINGLE.search(str(a["href"])))} - {message_id}
    )
    post = WebPost(
        message_id=message_id,
        date=date,
        text=text,
        links=tuple(dict.fromkeys(links)),
        views=parse_views(views_tag.get_text()) if views_tag is not None else None,
        media_kind=_media_kind(message),
        forward_username=fwd_name,
        forward_message_id=fwd_id,
        part_ids=tuple(parts),
    )
    return post, message_id, name


def parse_page(html: str, *, where: str = "t.me/s page") -> WebPage:
    """Parse a ``t.me/s/<name>`` page (or a saved single-post widget); strict about markup."""
    soup = BeautifulSoup(html, "html.parser")
    history = soup.select_one("section.tgme_channel_history")
    messages = soup.select("div.tgme_widget_message")
    if any(not m.get("data-post") for m in messages):
        raise WebPreviewError(f"{where}: a message has no data-post attribute (markup changed?)")
    if history is None and not messages:
        raise WebPreviewError(f"{where}: no channel history on the page (not a t.me/s preview, or its markup changed)")
    posts: list[WebPost] = []
    covered: set[int] = set()
    channel_id: int | None = None
    names: set[str] = set()
    for message in messages:
        post, message_id, name = _parse_message(message, where)
        names.add(name.lower())
        covered.add(message_id)
        if channel_id is None and message.get("data-view"):
            channel_id = _view_channel_id(str(message["data-view"]))
        if post is not None:
            covered.update(post.part_ids)
            posts.append(post)
    before_tag = soup.select_one("a.tme_messages_more[data-before]")
    before = None
    if before_tag is not None:
        try:
            before = int(str(before_tag["data-before"]))
        except ValueError:
            raise WebPreviewError(f"{where}: unreadable 'older posts' link (markup changed?)") from None
    username_tag = soup.select_one(".tgme_channel_info_header_username")
    username = username_tag.get_text().strip().lstrip("@").lower() if username_tag else None
    if not username and len(names) == 1:
        username = next(iter(names))
    title_tag = soup.select_one(".tgme_channel_info_header_title") or soup.select_one(
        ".tgme_widget_message_owner_name"
    )
    title = title_tag.get_text().strip() if title_tag else None
    return WebPage(
        username=username or None,
        title=title or None,
        channel_id=channel_id,
        posts=tuple(sorted(posts, key=lambda p: p.message_id)),
        covered=tuple(sorted(covered)),
        before=before,
    )


def web_post_to_post(
    post: WebPost,
    *,
    channel_id: int,
    username: str | None,
    title: str | None,
    forward_lookup: Callable[[str], int | None] | None = None,
) -> Post:
    fwd_channel = None
    if post.forward_username and forward_lookup is not None:
        fwd_channel = forward_lookup(post.forward_username)
    return Post(
        channel_id=channel_id,
        message_id=post.message_id,
        date=post.date,
        text=post.text,
        channel_username=username,
        channel_title=title,
        hashtags=extract_hashtags(post.text),
        links=post.links,
        media_kind=post.media_kind,
        forward_channel_id=fwd_channel,
        forward_message_id=post.forward_message_id if fwd_channel is not None else None,
        views=post.views,
    )


# --- the source ---------------------------------------------------------------------------


class _Transient(Exception):
    """A failure worth another attempt (network, 5xx, a short 429); its text says which."""


class WebPreviewSource:
    """``ChannelSource`` over the public web preview. ``client`` is an ``httpx.AsyncClient``
    (its transport decides where requests go); ``sleep``/``clock`` are injectable for tests."""

    name = "web"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str = "https://t.me",
        request_interval: float = 2.0,
        max_retries: int = 3,
        backoff: float = 1.0,
        forward_lookup: Callable[[str], int | None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.request_interval = request_interval
        self.max_retries = max_retries
        self.backoff = backoff
        self.forward_lookup = forward_lookup
        self.sleep = sleep
        self.clock = clock
        self._last_request: float | None = None
        self.requests = 0

    async def _polite_wait(self) -> None:
        if self._last_request is not None:
            wait = self._last_request + self.request_interval - self.clock()
            if wait > 0:
                await self.sleep(wait)
        self._last_request = self.clock()

    async def fetch_page(self, name: str, *, before: int | None = None) -> WebPage:
        """GET and parse one page, with spacing, retries and backoff."""
        url = f"{self.base_url}/s/{name}"
        params = {"before": str(before)} if before else None
        where = f"{url}?before={before}" if before else url

        async def attempt() -> WebPage:
            await self._polite_wait()
            self.requests += 1
            try:
                response = await self.client.get(
                    url, params=params, headers={"User-Agent": USER_AGENT}, follow_redirects=False
                )
            except httpx.TransportError as e:
                raise _Transient(f"network error: {e or type(e).__name__}") from None
            status = response.status_code
            if status == 200:
                return parse_page(response.text, where=where)
            if 300 <= status < 400 or status == 404:
                raise ChannelUnavailable(f"@{name}: no public web preview (private, renamed, or preview disabled)")
            if status == 429:
                retry_after = max(1, int(parse_retry_after(response.headers.get("Retry-After"), default=5)))
                if retry_after > MAX_RETRY_AFTER:
                    raise FloodWait(retry_after, f"@{name}: t.me asks to wait {retry_after} s (HTTP 429)")
                await self.sleep(retry_after)
                raise _Transient("HTTP 429 Too Many Requests")
            if status >= 500:
                raise _Transient(f"HTTP {status}")
            raise WebPreviewError(f"{where}: unexpected HTTP {status}")

        attempts = self.max_retries + 1
        try:
            return await retrying(
                attempt, attempts=attempts, retry_on=(_Transient,),
                delay=lambda _error, failures: backoff_delay(failures, base=self.backoff), pause=self.sleep,
            )
        except _Transient as e:
            raise WebPreviewError(f"{where}: {e} after {attempts} attempts") from None

    async def resolve(self, handle: Handle) -> ResolvedChannel:
        if handle.kind != "username":
            raise ChannelUnavailable(f"{handle}: the web preview only reads public @name channels")
        page = await self.fetch_page(handle.value)
        if page.channel_id is None:
            raise WebPreviewError(
                f"@{handle.value}: the preview page carries no channel id (no posts yet, or markup changed)"
            )
        return ResolvedChannel(id=page.channel_id, username=page.username or handle.value, title=page.title)

    def _to_post(self, channel: Channel, post: WebPost) -> Post:
        return web_post_to_post(
            post, channel_id=channel.id, username=channel.username, title=channel.title,
            forward_lookup=self.forward_lookup,
        )

    async def fetch_new(self, channel: Channel, *, backfill: int, page_size: int) -> AsyncIterator[Page]:
        name = channel.username
        if not name:
            raise ChannelUnavailable(f"{channel.display_name}: the web preview needs a public @username")
        cursor = channel.last_message_id
        fresh: dict[int, WebPost] = {}
        refreshed: dict[int, WebPost] = {}
        covered_top = cursor
        before: int | None = None
        for _ in range(MAX_CATCHUP_PAGES):
            page = await self.fetch_page(name, before=before)
            if page.channel_id is not None and page.channel_id != channel.id:
                raise ChannelUnavailable(
                    f"@{name} now belongs to another channel (id {page.channel_id}, we follow {channel.id})"
                )
            if not page.covered:
                break
            for post in page.posts:
                (fresh if post.message_id > cursor else refreshed)[post.message_id] = post
            covered_top = max(covered_top, page.covered[-1])
            lowest = page.covered[0]
            if cursor and lowest <= cursor + 1:
                break
            if not cursor and len(fresh) >= backfill:
                break
            if page.before is None or page.before >= (before or page.before + 1):
                break
            before = page.before
        else:
            log.warning(
                "@%s: more than %d pages behind; older posts since id %d are skipped",
                name, MAX_CATCHUP_PAGES, cursor,
            )
        ordered = [fresh[i] for i in sorted(fresh)]
        if not cursor:
            ordered = ordered[-backfill:] if backfill > 0 else []
        old = tuple(self._to_post(channel, refreshed[i]) for i in sorted(refreshed))
        if covered_top <= cursor:
            if old:
                yield Page(posts=(), cursor=cursor, refreshed=old)
            return
        if not ordered:
            yield Page(posts=(), cursor=covered_top, refreshed=old)
            return
        for start in range(0, len(ordered), page_size):
            chunk = ordered[start : start + page_size]
            last = start + page_size >= len(ordered)
            top = covered_top if last else max(p for p in (chunk[-1].message_id, *chunk[-1].part_ids))
            yield Page(
                posts=tuple(self._to_post(channel, p) for p in chunk),
                cursor=top,
                refreshed=old if last else (),
            )

    async def refetch(self, channel: Channel, ids: Sequence[int]) -> list[Post]:
        # The preview has no by-id lookup; edits arrive through Page.refreshed instead.
        return []


def make_client(*, timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The HTTP client the web source uses (a transport may be given for tests)."""
    return httpx.AsyncClient(timeout=timeout, transport=transport)
