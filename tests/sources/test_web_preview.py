"""The web-preview source: real saved t.me/s pages, parsed and served over loopback HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup
from fakes.clocks import Sleeps

from bot.collect.collector import Collector, add_channel, forward_lookup, list_channels
from bot.config import CollectConfig, Config, WebConfig
from bot.core.handles import parse_handle
from bot.core.models import Channel
from bot.errors import ChannelUnavailable, FloodWait, WebPreviewError
from bot.sources.web_preview import WebPreviewSource, parse_page, parse_views
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor

PAGES = Path(__file__).parent.parent / "fixtures" / "web-preview"
FULL = (PAGES / "full.html").read_text(encoding="utf-8")
CHANNEL_ID = 1084368520  # in the page's data-view tokens


def derive(html: str, keep: Callable[[int], bool], before: int | None) -> str:
    """A page of the same channel with only some of its posts (and its 'older' link moved)."""
    soup = BeautifulSoup(html, "html.parser")
    for wrap in soup.select("div.tgme_widget_message_wrap"):
        message = wrap.select_one("[data-post]")
        if not keep(int(str(message["data-post"]).split("/")[1])):
            wrap.decompose()
    more = soup.select_one("a.tme_messages_more")
    if before is None:
        more.parent.decompose()
    else:
        more["data-before"] = str(before)
        more["href"] = f"/s/topwar_official?before={before}"
    return str(soup)


# The channel as three pages: newest (the real page's newer half), older, and its start.
NEWEST = derive(FULL, lambda i: i >= 70998, 70998)
OLDER = derive(FULL, lambda i: i < 70998, 70989)
START = derive(FULL, lambda i: False, None)
ROUTES = {
    "/s/topwar_official": NEWEST,
    "/s/topwar_official?before=70998": OLDER,
    "/s/topwar_official?before=70989": START,
}


class Server:
    """A stdlib HTTP server on 127.0.0.1 serving ``routes`` (path?query → body or a list of
    (status, headers, body) answered in turn, the last one repeating)."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = dict(routes)
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                outer.hits.append(self.path)
                answer = outer.routes.get(self.path, (404, {}, "not found"))
                if isinstance(answer, list):
                    answer = answer.pop(0) if len(answer) > 1 else answer[0]
                if isinstance(answer, str):
                    answer = (200, {}, answer)
                status, headers, body = answer
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    with Server(ROUTES) as s:
        yield s



def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _with_source(base_url: str, body: Callable[[WebPreviewSource], Any], **kw: Any) -> Any:
    async with httpx.AsyncClient(timeout=5) as client:
        source = WebPreviewSource(
            client, base_url=base_url, request_interval=kw.pop("request_interval", 0.0),
            sleep=kw.pop("sleep", Sleeps()), **kw,
        )
        return await body(source)


def _channel(cursor: int = 0) -> Channel:
    return Channel(id=CHANNEL_ID, username="topwar_official", title="Военное обозрение", source="web",
                   last_message_id=cursor)


async def _pages(source: WebPreviewSource, channel: Channel, backfill: int = 50) -> list[Any]:
    return [page async for page in source.fetch_new(channel, backfill=backfill, page_size=100)]


# --- parsing the real pages ------------------------------------------------------------------


def test_full_page_parses_every_post_with_its_fields() -> None:
    """The saved 12-post page gives 12 posts with ids, UTC dates, views, media and forwards."""
    page = parse_page(FULL)
    assert page.channel_id == CHANNEL_ID
    assert page.username == "topwar_official"
    assert page.title == "Военное обозрение"
    assert page.before == 70989
    assert [p.message_id for p in page.posts] == [
        70989, 70990, 70992, 70995, 70996, 70997, 70998, 70999, 71000, 71006, 71007, 71008,
    ]
    first = page.posts[0]
    assert first.date == datetime(2023, 2, 28, 7, 47, 53, tzinfo=UTC)
    assert first.views == 37200
    assert first.media_kind == "photo"
    assert first.text.startswith("В Санкт-Петербурге в небо над городом подняли истребители")


def test_album_parts_are_one_post_and_covered_by_the_cursor() -> None:
    """An album shows as one post; its other parts' ids count as seen, not as posts."""
    page = parse_page(FULL)
    album = next(p for p in page.posts if p.message_id == 70992)
    assert album.part_ids == (70993, 70994)
    assert album.text.startswith("Сегодня ночью в Республике")
    assert 70993 not in [p.message_id for p in page.posts]
    assert {70993, 70994, 71001, 71005} <= set(page.covered)


def test_forward_origin_links_and_mentions() -> None:
    """A forward names its origin post; text links are links, @mentions are not."""
    post = next(p for p in parse_page(FULL).posts if p.message_id == 70996)
    assert (post.forward_username, post.forward_message_id) == ("yaremshooter", 1066)
    assert post.links == ("https://t.me/infantmilitario/93419",)
    assert post.media_kind == "webpage"
    assert post.text.endswith("@yaremshooter")


def test_line_breaks_survive_and_source_indentation_does_not() -> None:
    """<br> becomes a newline; the saved file's indentation collapses to single spaces."""
    post = parse_page((PAGES / "message_text.html").read_text(encoding="utf-8")).posts[0]
    assert post.text.startswith("Неопознанный летающий объект замечен в 160 – 200 км от Петербурга\n\nПо данным")
    assert "  " not in post.text
    assert post.views == 33400


def test_single_forwarded_widget() -> None:
    """The saved forwarded-photo widget gives its forward origin and photo kind."""
    page = parse_page((PAGES / "message_media_forwarded_from.html").read_text(encoding="utf-8"))
    (post,) = page.posts
    assert (post.message_id, post.media_kind) == (22358, "photo")
    assert (post.forward_username, post.forward_message_id) == ("dimsmirnov175", 44604)
    assert post.views == 214400


def test_views_counter_forms() -> None:
    """Abbreviated view counters expand to integers."""
    assert [parse_views(v) for v in ("987", "33.4K", "1.2M", "n/a")] == [987, 33400, 1200000, None]


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><h1>Welcome to nginx</h1></body></html>",
        "\x00\x01garbage<<<>>>",
        FULL.replace("data-post=", "data-postx="),
        FULL.replace('datetime="2023-02-28T07:47:53+00:00"', 'datetime="yesterday"'),
    ],
)
def test_broken_or_changed_markup_raises_a_clear_error(html: str) -> None:
    """Markup we do not understand is an error naming the page, never a silent empty result."""
    with pytest.raises(WebPreviewError, match="t.me/s page"):
        parse_page(html)


# --- over loopback HTTP ----------------------------------------------------------------------


def test_first_sight_takes_only_the_newest_backfill(server: Server) -> None:
    """On first sight only the newest `backfill` posts are returned; the cursor covers the page."""
    pages = run(_with_source(server.base_url, lambda s: _pages(s, _channel(), backfill=3)))
    (page,) = pages
    assert [p.message_id for p in page.posts] == [71006, 71007, 71008]
    assert page.cursor == 71008
    assert page.posts[0].url == "https://t.me/topwar_official/71006"
    assert server.hits == ["/s/topwar_official"]


def test_pages_back_with_before_until_the_cursor(server: Server) -> None:
    """With a cursor below the newest page, older pages are fetched with ?before= until it."""
    pages = run(_with_source(server.base_url, lambda s: _pages(s, _channel(cursor=70990))))
    ids = [p.message_id for page in pages for p in page.posts]
    assert ids == [70992, 70995, 70996, 70997, 70998, 70999, 71000, 71006, 71007, 71008]
    assert pages[-1].cursor == 71008
    assert server.hits == ["/s/topwar_official", "/s/topwar_official?before=70998"]
    # already-stored posts seen on the way come back for edit detection, not as new posts
    assert [p.message_id for p in pages[-1].refreshed] == [70989, 70990]


def test_nothing_new_costs_one_request(server: Server) -> None:
    """A channel polled at its newest id fetches one page and returns no new posts."""
    pages = run(_with_source(server.base_url, lambda s: _pages(s, _channel(cursor=71008))))
    assert all(not page.posts for page in pages)
    assert server.hits == ["/s/topwar_official"]


def test_server_errors_are_retried_with_backoff() -> None:
    """Two 500s then the page: retried, with growing backoff, and parsed."""
    routes = {"/s/topwar_official": [(500, {}, "oops"), (500, {}, "oops"), (200, {}, NEWEST)]}
    sleeps = Sleeps()
    with Server(routes) as s:
        pages = run(_with_source(s.base_url, lambda src: _pages(src, _channel(cursor=70998)), sleep=sleeps, backoff=1.0))
    assert [p.message_id for p in pages[0].posts] == [70999, 71000, 71006, 71007, 71008]
    assert sleeps.calls == [1.0, 2.0]


def test_persistent_server_error_is_a_web_preview_error() -> None:
    """A page that keeps failing ends in WebPreviewError after max_retries."""
    with Server({"/s/topwar_official": [(500, {}, "oops")]}) as s:
        with pytest.raises(WebPreviewError, match="HTTP 500 after 3 attempts"):
            run(_with_source(s.base_url, lambda src: _pages(src, _channel(cursor=1)), max_retries=2))
        assert len(s.hits) == 3


def test_429_short_is_waited_long_is_a_flood_wait() -> None:
    """429 with a short Retry-After is slept through; a long one becomes FloodWait."""
    sleeps = Sleeps()
    with Server({"/s/topwar_official": [(429, {"Retry-After": "7"}, ""), (200, {}, NEWEST)]}) as s:
        pages = run(_with_source(s.base_url, lambda src: _pages(src, _channel(cursor=71007)), sleep=sleeps))
    assert [p.message_id for p in pages[0].posts] == [71008]
    assert 7 in sleeps.calls
    with Server({"/s/topwar_official": [(429, {"Retry-After": "3600"}, "")]}) as s, pytest.raises(FloodWait) as info:
        run(_with_source(s.base_url, lambda src: _pages(src, _channel(cursor=1))))
    assert info.value.seconds == 3600


def test_redirect_means_no_public_preview() -> None:
    """t.me redirects /s/<name> away when a channel has no public preview: ChannelUnavailable."""
    redirect = {"/s/topwar_official": (302, {"Location": "/topwar_official"}, "")}
    with Server(redirect) as s, pytest.raises(ChannelUnavailable, match="no public web preview"):
        run(_with_source(s.base_url, lambda src: _pages(src, _channel(cursor=1))))


def test_requests_are_spaced_politely() -> None:
    """Consecutive requests wait out request_interval (by a fake clock; nothing really sleeps)."""
    now = [100.0]
    sleeps = Sleeps()
    with Server(ROUTES) as s:
        run(_with_source(
            s.base_url, lambda src: _pages(src, _channel(cursor=70990)),
            sleep=sleeps, request_interval=2.0, clock=lambda: now[0],
        ))
    assert sleeps.calls == [2.0]  # the second page waited the full interval


def test_resolve_reads_the_channel_id_from_the_page(server: Server) -> None:
    """Resolving @name for the web source costs one page and yields the channel's real id."""
    resolved = run(_with_source(server.base_url, lambda s: s.resolve(parse_handle("@topwar_official"))))
    assert (resolved.id, resolved.username, resolved.title) == (CHANNEL_ID, "topwar_official", "Военное обозрение")


def _web_config(base_url: str) -> Config:
    return Config(
        collect=CollectConfig(backfill=50),
        web=WebConfig(base_url=base_url, request_interval=0.0),
    )


async def _collect(db: Any, config: Config, base_url: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(timeout=5) as client:
        source = WebPreviewSource(client, base_url=base_url, request_interval=0.0, sleep=Sleeps(),
                                  forward_lookup=forward_lookup(db))
        collector = Collector(db, config, Ingestor(db, config), {"web": source}, default_source="web")
        return await collector.run_once(**kw)


def test_collector_stores_web_posts_once(tmp_path: Path, server: Server) -> None:
    """Through the real ingest path: first pass stores the page's posts, the second adds none."""
    db = open_db(tmp_path / "t.sqlite")
    config = _web_config(server.base_url)
    add_channel(db, "https://t.me/topwar_official", origin="config", source="web")
    first = run(_collect(db, config, server.base_url))
    assert first.new == 12
    second = run(_collect(db, config, server.base_url, force=True))
    assert second.new == 0
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 12
    (row,) = list_channels(db)
    assert (row["id"], row["last_message_id"], row["last_error"]) == (CHANNEL_ID, 71008, None)


def test_garbage_page_is_recorded_and_stores_nothing(tmp_path: Path) -> None:
    """A page whose markup changed is an error on the channel; no post and no cursor move."""
    db = open_db(tmp_path / "t.sqlite")
    routes = {"/s/topwar_official": [(200, {}, NEWEST), (200, {}, "<html><p>new design</p></html>")]}
    with Server(routes) as s:
        config = _web_config(s.base_url)
        add_channel(db, "@topwar_official", source="web")
        # first answer: resolution (reads the id); second: the poll, which finds garbage
        report = run(_collect(db, config, s.base_url))
    resolution, result = report.channels
    assert resolution.resolved and resolution.channel_id == CHANNEL_ID
    assert result.error is not None and "no channel history" in result.error
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 0
    assert db.execute("SELECT last_message_id, last_error FROM channels").fetchone()[0] == 0


def test_cli_fetch_and_channels_over_loopback(tmp_path: Path, server: Server) -> None:
    """`tgdigest fetch` collects a web channel and `tgdigest channels --format json` shows it."""
    import json
    import os
    import subprocess
    import sys

    config = tmp_path / "config.toml"
    config.write_text(
        f'[web]\nbase_url = "{server.base_url}"\nrequest_interval = 0.0\n\n'
        '[[channels]]\nhandle = "https://t.me/topwar_official"\nsource = "web"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    base = [sys.executable, "-m", "bot", "--config", str(config), "--db", str(tmp_path / "data" / "t.sqlite")]
    fetched = subprocess.run([*base, "fetch"], capture_output=True, text=True, env=env, timeout=60)
    assert fetched.returncode == 0, fetched.stderr
    assert "12 new" in fetched.stdout
    listed = subprocess.run([*base, "channels", "--format", "json"], capture_output=True, text=True, env=env, timeout=60)
    (row,) = json.loads(listed.stdout)
    assert (row["id"], row["username"], row["last_message_id"]) == (CHANNEL_ID, "topwar_official", 71008)
    assert row["last_poll_at"] is not None and row["last_error"] is None
