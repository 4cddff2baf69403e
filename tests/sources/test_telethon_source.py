"""The Telethon source: real telethon Message objects converted at the edge, served by a fake
client that behaves like Telegram (paging, resolution, invites, errors)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from fakes.clocks import SkipTime, Sleeps
from fakes.fake_telegram import FakeTelegram, entity_for, photo, poll, video, voice
from telethon import errors
from telethon.tl import types

from bot.core.handles import parse_handle
from bot.core.models import Channel
from bot.errors import ChannelUnavailable, FloodWait, SessionInvalid
from bot.sources.telethon_source import TelethonSource, merge_album, message_to_post, messages_to_posts


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def _source(tg: FakeTelegram, **kw: Any) -> tuple[TelethonSource, Sleeps]:
    sleeps = Sleeps()
    return TelethonSource(tg, sleep=sleeps, flood_sleep_threshold=kw.get("threshold", 60)), sleeps


def _channel(tg: FakeTelegram, channel_id: int, cursor: int = 0) -> Channel:
    fc = tg.channels[channel_id]
    return Channel(id=fc.id, username=fc.username, title=fc.title, access_hash=fc.access_hash,
                   last_message_id=cursor)


async def _pages(source: TelethonSource, channel: Channel, backfill: int = 50, page_size: int = 100) -> list[Any]:
    return [p async for p in source.fetch_new(channel, backfill=backfill, page_size=page_size)]


# --- conversion ----------------------------------------------------------------------------


def test_text_entities_become_hashtags_and_links() -> None:
    """Hashtag entities and hashtags in the text are collected; TextUrl hrefs and Url texts are links."""
    text = "Rates cut #Economy see details and https://example.org/a #Fed"
    entities = [
        entity_for(text, "#Economy", types.MessageEntityHashtag),
        entity_for(text, "details", types.MessageEntityTextUrl, url="https://news.example/cut"),
        entity_for(text, "https://example.org/a", types.MessageEntityUrl),
    ]
    tg = FakeTelegram()
    tg.add_channel(10, username="econ")
    message = tg.post(10, text, entities=entities, views=1234, forwards=5)
    post = message_to_post(message, channel_id=10, username="econ", title="Econ")
    assert post is not None
    assert post.hashtags == ("economy", "fed")
    assert post.links == ("https://news.example/cut", "https://example.org/a")
    assert (post.views, post.forwards) == (1234, 5)
    assert post.url == f"https://t.me/econ/{message.id}"
    assert post.date.tzinfo is not None and post.date.utcoffset().total_seconds() == 0


def test_entity_offsets_count_utf16_units() -> None:
    """A link after an emoji (two UTF-16 units) is still cut at the right place."""
    text = "🔥 Breaking: read more"
    tg = FakeTelegram()
    tg.add_channel(10)
    message = tg.post(10, text, entities=[entity_for(text, "read more", types.MessageEntityUrl)])
    post = message_to_post(message, channel_id=10, username=None, title=None)
    assert post.links == ("read more",)
    assert post.url == f"https://t.me/c/10/{message.id}"


def test_forward_origin_and_edit_date() -> None:
    """A forward from a channel carries (channel id, post id); an edit carries its date."""
    tg = FakeTelegram()
    tg.add_channel(10)
    message = tg.post(10, "copied", forward=(777, 4242))
    tg.edit(10, message.id, "copied, fixed")
    post = message_to_post(message, channel_id=10, username=None, title=None)
    assert post.forward_origin == (777, 4242)
    assert post.text == "copied, fixed"
    assert post.edited_at is not None and post.edited_at > post.date


@pytest.mark.parametrize(
    ("media", "kind"),
    [(photo, "photo"), (video, "video"), (voice, "voice"), (poll, "poll"), (lambda: None, None)],
)
def test_media_kinds(media: Any, kind: str | None) -> None:
    """Media is named by kind (photo, video, voice, poll; None for plain text)."""
    tg = FakeTelegram()
    tg.add_channel(10)
    post = message_to_post(tg.post(10, "x", media=media()), channel_id=10, username=None, title=None)
    assert post.media_kind == kind


def test_album_parts_merge_into_the_part_with_text() -> None:
    """Album parts become one post: the captioned part's id and text, every part's hashtags."""
    tg = FakeTelegram()
    tg.add_channel(10)
    a = tg.post(10, "", media=photo(), grouped_id=99)
    b = tg.post(10, "Flood in the valley #weather", media=photo(), grouped_id=99)
    c = tg.post(10, "#photos", media=video(), grouped_id=99)
    d = tg.post(10, "after the album")
    posts = messages_to_posts([d, c, b, a], channel_id=10, username=None, title=None)
    assert [p.message_id for p in posts] == [b.id, d.id]
    assert posts[0].text == "Flood in the valley #weather"
    assert posts[0].hashtags == ("weather", "photos")
    assert posts[0].grouped_id == 99


def test_album_without_text_is_its_lowest_id() -> None:
    """An album with no caption is represented by its lowest id."""
    tg = FakeTelegram()
    tg.add_channel(10)
    parts = [tg.post(10, "", media=photo(), grouped_id=5) for _ in range(3)]
    posts = [message_to_post(m, channel_id=10, username=None, title=None) for m in parts]
    assert merge_album(posts[::-1]).message_id == parts[0].id


def test_service_messages_are_not_posts() -> None:
    """A pin or other service message is skipped by conversion."""
    tg = FakeTelegram()
    tg.add_channel(10)
    assert message_to_post(tg.service(10), channel_id=10, username=None, title=None) is None


# --- resolution ----------------------------------------------------------------------------


def test_resolve_username_once_gives_id_and_access_hash() -> None:
    """A username resolves to the channel's id and access hash with exactly one resolution."""
    tg = FakeTelegram()
    tg.add_channel(1234, username="newsroom", title="Newsroom")
    source, _ = _source(tg)
    resolved = run(source.resolve(parse_handle("https://t.me/newsroom")))
    assert (resolved.id, resolved.access_hash, resolved.username) == (1234, tg.channels[1234].access_hash, "newsroom")
    assert tg.requests["resolve"] == 1


def test_invite_link_joins_once() -> None:
    """A private channel's invite link is checked, joined, and then readable."""
    tg = FakeTelegram()
    tg.add_channel(55, title="Private", invite_hash="AbCdEfGhIjK", private=True)
    tg.post(55, "secret")
    source, _ = _source(tg)
    resolved = run(source.resolve(parse_handle("https://t.me/+AbCdEfGhIjK")))
    assert resolved.joined and resolved.id == 55
    assert (tg.requests["check_invite"], tg.requests["join"]) == (1, 1)
    pages = run(_pages(source, _channel(tg, 55)))
    assert [p.text for p in pages[0].posts] == ["secret"]
    # resolving again does not join again
    assert not run(source.resolve(parse_handle("https://t.me/+AbCdEfGhIjK"))).joined
    assert tg.requests["join"] == 1


def test_unknown_username_and_expired_invite_are_unavailable() -> None:
    """A username nobody holds or an expired invite is ChannelUnavailable, saying why."""
    tg = FakeTelegram()
    source, _ = _source(tg)
    with pytest.raises(ChannelUnavailable, match="no channel has this username"):
        run(source.resolve(parse_handle("@gone_channel")))
    with pytest.raises(ChannelUnavailable, match="invite link has expired"):
        run(source.resolve(parse_handle("t.me/+ZZZZZZZZZZ")))


def test_join_cap_is_reported() -> None:
    """Joining past Telegram's 500-channel cap is a clear per-channel error."""
    tg = FakeTelegram()
    tg.joined = set(range(100000, 100500))
    tg.add_channel(56, invite_hash="CapCapCapCap", private=True)
    source, _ = _source(tg)
    with pytest.raises(ChannelUnavailable, match="cap is 500"):
        run(source.resolve(parse_handle("t.me/+CapCapCapCap")))


# --- reading -------------------------------------------------------------------------------


def test_first_sight_takes_the_newest_backfill_oldest_first() -> None:
    """First sight returns only the newest `backfill` posts, oldest first, in one request."""
    tg = FakeTelegram()
    tg.add_channel(10)
    tg.posts(10, 80)
    source, _ = _source(tg)
    pages = run(_pages(source, _channel(tg, 10), backfill=50))
    ids = [p.message_id for page in pages for p in page.posts]
    assert ids == list(range(31, 81))
    assert pages[-1].cursor == 80
    assert tg.requests["history"] == 1


def test_backfill_zero_starts_from_now() -> None:
    """backfill = 0 stores nothing old but moves the cursor to the newest id."""
    tg = FakeTelegram()
    tg.add_channel(10)
    tg.posts(10, 5)
    source, _ = _source(tg)
    (page,) = run(_pages(source, _channel(tg, 10), backfill=0))
    assert page.posts == () and page.cursor == 5


def test_catch_up_pages_oldest_first_strictly_after_the_cursor() -> None:
    """250 posts after the cursor arrive in pages, oldest first, none at or below the cursor."""
    tg = FakeTelegram()
    tg.add_channel(10)
    tg.posts(10, 260)
    source, _ = _source(tg)
    pages = run(_pages(source, _channel(tg, 10, cursor=10)))
    ids = [p.message_id for page in pages for p in page.posts]
    assert ids == list(range(11, 261))
    assert [len(p.posts) for p in pages] == [100, 100, 50]
    assert [p.cursor for p in pages] == [110, 210, 260]
    assert tg.requests["history"] == 4  # three pages and the empty one that ends the iteration


def test_album_split_across_pages_stays_one_post() -> None:
    """An album whose parts straddle a page boundary is still merged into one post."""
    tg = FakeTelegram()
    tg.add_channel(10)
    tg.posts(10, 4)
    tg.post(10, "", media=photo(), grouped_id=7)
    tg.post(10, "album caption", media=photo(), grouped_id=7)
    tg.post(10, "", media=photo(), grouped_id=7)
    tg.post(10, "after")
    source, _ = _source(tg)
    pages = run(_pages(source, _channel(tg, 10, cursor=0 + 1), page_size=5))
    texts = [p.text for page in pages for p in page.posts]
    assert texts.count("album caption") == 1
    assert sum(1 for page in pages for p in page.posts if p.grouped_id == 7) == 1
    assert pages[-1].cursor == 8


def test_service_messages_move_the_cursor() -> None:
    """A trailing service message is covered by the cursor though it is not a post."""
    tg = FakeTelegram()
    tg.add_channel(10)
    tg.posts(10, 2)
    tg.service(10)
    source, _ = _source(tg)
    (page,) = run(_pages(source, _channel(tg, 10, cursor=1)))
    assert [p.message_id for p in page.posts] == [2]
    assert page.cursor == 3


def test_short_flood_wait_is_slept_and_retried() -> None:
    """A flood wait under the threshold is slept through and the read resumes where it stopped."""
    tg = FakeTelegram()
    tg.add_channel(10)
    tg.posts(10, 3)
    tg.fail_next("history", errors.FloodWaitError(request=None, capture=12))
    source, sleeps = _source(tg)
    pages = run(_pages(source, _channel(tg, 10, cursor=0 + 1)))
    assert [p.message_id for page in pages for p in page.posts] == [2, 3]
    assert sleeps.calls == [12]


def test_long_flood_wait_raises_typed() -> None:
    """A flood wait over the threshold is raised as FloodWait with its seconds, not slept."""
    tg = FakeTelegram()
    tg.add_channel(10)
    tg.fail_next("history", errors.FloodWaitError(request=None, capture=3600))
    source, sleeps = _source(tg)
    with pytest.raises(FloodWait) as info:
        run(_pages(source, _channel(tg, 10, cursor=1)))
    assert info.value.seconds == 3600 and sleeps.calls == []


@pytest.mark.parametrize(
    "error", [errors.AuthKeyUnregisteredError, errors.SessionRevokedError, errors.UserDeactivatedBanError]
)
def test_dead_session_says_run_login(error: type[Exception]) -> None:
    """A revoked or dead session is SessionInvalid telling the user to run `tgdigest login`."""
    tg = FakeTelegram()
    tg.add_channel(10)
    tg.dead_session = error(request=None)
    source, _ = _source(tg)
    with pytest.raises(SessionInvalid, match="tgdigest login"):
        run(_pages(source, _channel(tg, 10, cursor=1)))


def test_refetch_returns_current_text_and_skips_deleted() -> None:
    """Re-reading ids returns edited text; deleted ids are simply absent."""
    tg = FakeTelegram()
    tg.add_channel(10)
    tg.posts(10, 3)
    tg.edit(10, 2, "edited text")
    del tg.channels[10].messages[3]
    source, _ = _source(tg)
    posts = run(source.refetch(_channel(tg, 10, cursor=3), [1, 2, 3]))
    assert [(p.message_id, p.text) for p in posts] == [(1, "post 0 in channel 10"), (2, "edited text")]
    assert posts[1].edited_at == tg.channels[10].messages[2].edit_date.astimezone(UTC)
    assert tg.requests["by_ids"] == 1


def test_wrong_access_hash_is_unavailable() -> None:
    """A stored access hash Telegram no longer accepts is a per-channel error."""
    tg = FakeTelegram()
    tg.add_channel(10)
    source, _ = _source(tg)
    stale = Channel(id=10, access_hash=1, last_message_id=1)
    with pytest.raises(ChannelUnavailable, match="access hash is invalid"):
        run(_pages(source, stale))


def test_dates_are_aware_utc() -> None:
    """Dates come out timezone-aware in UTC even if Telegram's are naive."""
    tg = FakeTelegram()
    tg.add_channel(10)
    message = tg.post(10, "x", date=datetime(2025, 1, 1, 12, 0))
    assert message_to_post(message, channel_id=10, username=None, title=None).date == datetime(
        2025, 1, 1, 12, 0, tzinfo=UTC
    )


# --- session handling (no network) ---------------------------------------------------------


def test_session_file_is_private(tmp_path: Any) -> None:
    """`tgdigest login` prepares the session file with mode 0600, tightening an existing one."""
    import stat

    from bot.sources.login import prepare_session_file

    data = tmp_path / "data"
    path = prepare_session_file(data)
    assert path == data / "tgdigest.session"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    prepare_session_file(data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_no_session_means_run_login(tmp_path: Any) -> None:
    """Without a session file or TELEGRAM_SESSION the service refuses with the login hint."""
    from bot.config import Secrets
    from bot.sources.telethon_source import session_for

    with pytest.raises(SessionInvalid, match="tgdigest login"):
        session_for(Secrets(api_id=1, api_hash="x"), tmp_path)
    with pytest.raises(SessionInvalid, match="TELEGRAM_SESSION is not a valid session string"):
        session_for(Secrets(api_id=1, api_hash="x", session="not-a-session"), tmp_path)


def test_login_without_credentials_says_where_to_get_them(tmp_path: Any) -> None:
    """`tgdigest login` without TELEGRAM_API_ID/HASH points to my.telegram.org and writes nothing."""
    from bot.config import Secrets
    from bot.sources.login import LoginError, login

    def never() -> str:
        raise AssertionError("must not prompt")

    with pytest.raises(LoginError, match="my.telegram.org"):
        run(login(Secrets(), data_dir=tmp_path / "d", phone=never, code=never, password=never))
    assert not (tmp_path / "d").exists()


# --- what real servers send (issue 12) -----------------------------------------------------


def test_catch_up_filters_by_the_cursor_when_the_server_ignores_min_id() -> None:
    """A server that ignores min_id answers from the first message; the source still yields
    only messages above the cursor (Telethon's reverse mode does not filter by itself)."""
    tg = FakeTelegram(ignores_min_id=True)
    tg.add_channel(10)
    tg.posts(10, 30)
    source, _ = _source(tg)
    pages = run(_pages(source, _channel(tg, 10, cursor=28)))
    assert [p.message_id for page in pages for p in page.posts] == [29, 30]
    assert pages[-1].cursor == 30
    assert run(_pages(source, _channel(tg, 10, cursor=30))) == []


def test_undecodable_reply_is_a_source_error_not_a_crash() -> None:
    """Telethon's TypeNotFoundError (a reply it cannot decode) becomes this channel's SourceError."""
    from bot.errors import SourceError

    tg = FakeTelegram()
    tg.add_channel(10, username="odd_one")
    tg.fail_next("resolve", errors.TypeNotFoundError(0x1CB5C415, b"\x00" * 8))
    source, _ = _source(tg)
    with pytest.raises(SourceError, match="cannot read \\(TypeNotFoundError\\)"):
        run(source.resolve(parse_handle("@odd_one")))


@pytest.mark.parametrize("error", [errors.PeerIdInvalidError, errors.ChannelInvalidError])
def test_peer_id_and_channel_invalid_are_stale_access(error: type[Exception]) -> None:
    """PEER_ID_INVALID / CHANNEL_INVALID on a stored channel say: this hash is not ours."""
    from bot.errors import StaleAccess

    tg = FakeTelegram()
    tg.add_channel(10)
    tg.posts(10, 2)
    tg.fail_next("history", error(request=None))
    source, _ = _source(tg)
    with pytest.raises(StaleAccess):
        run(_pages(source, _channel(tg, 10, cursor=1)))


def test_unknown_username_in_our_words() -> None:
    """Telethon's 'No user has "x" as username' reaches the user as our sentence."""
    tg = FakeTelegram()
    source, _ = _source(tg)
    with pytest.raises(ChannelUnavailable) as info:
        run(source.resolve(parse_handle("@nobody_at_all")))
    assert "No user has" not in str(info.value)
    assert str(info.value) == "@nobody_at_all: no channel has this username (renamed or deleted?)"


def test_each_source_paces_its_own_requests() -> None:
    """request_interval spaces the requests one account starts; another account is not slowed."""
    tg = FakeTelegram()
    for cid in (10, 20, 30):
        tg.add_channel(cid)
    time = SkipTime()
    source = TelethonSource(tg, sleep=time.sleep, request_interval=2.0, clock=time.clock)
    for cid in (10, 20, 30):
        run(_pages(source, _channel(tg, cid, cursor=1)))
    assert len(time.sleeps) == 2 and all(1.5 < s <= 2.0 for s in time.sleeps)
    other_time = SkipTime()
    b = tg.account("b")
    other = TelethonSource(b, sleep=other_time.sleep, request_interval=2.0, clock=other_time.clock)
    run(_pages(other, Channel(id=10, access_hash=b.access_hash(10), last_message_id=1)))
    assert other_time.sleeps == []


class FakeLoginClient:
    """What `login` drives: Telethon's start() (which prompts through the callbacks and then
    prints its banner to stdout, as Telethon does), get_me(), session, disconnect()."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.answers: list[str] = []

    async def start(self, *, phone: Any, password: Any, code_callback: Any) -> None:
        self.answers = [phone(), code_callback()]
        print("Signed in successfully as Reader; remember to not break the ToS or you will risk an account ban!")

    async def get_me(self) -> types.User:
        return types.User(id=42, first_name="Reader", username="reader_bot_account")

    async def disconnect(self) -> None:
        return None


def test_string_session_login_keeps_stdout_clean(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """`tgdigest login --string-session`: Telethon's banner goes to stderr, so stdout (here:
    nothing, the CLI prints only the string) can be captured with $(...)."""
    from telethon.sessions import StringSession

    from bot.config import Secrets
    from bot.sources.login import login

    made: list[FakeLoginClient] = []

    def factory(session: Any) -> FakeLoginClient:
        made.append(FakeLoginClient(session))
        return made[-1]

    result = run(login(Secrets(api_id=1, api_hash="x"), data_dir=tmp_path / "d", phone=lambda: "+15550100",
                       code=lambda: "12345", password=lambda: "", string_session=True, account="second",
                       client_factory=factory))
    out, err = capsys.readouterr()
    assert out == ""
    assert "Signed in successfully" in err
    assert made[0].answers == ["+15550100", "12345"]
    assert isinstance(made[0].session, StringSession) and result.session_string is not None
    assert result.user == "Reader (@reader_bot_account)"
    assert not (tmp_path / "d").exists()  # a string session writes no file


def test_each_account_has_its_own_private_session_file(tmp_path: Any) -> None:
    """`login --account NAME` writes tgdigest-NAME.session (0600); the default keeps its old name."""
    import stat

    from bot.config import Secrets
    from bot.sources.login import login
    from bot.sources.telethon_source import known_sessions, session_path

    result = run(login(Secrets(api_id=1, api_hash="x"), data_dir=tmp_path, phone=lambda: "+1", code=lambda: "1",
                       password=lambda: "", account="second", client_factory=FakeLoginClient))
    assert result.session_path == tmp_path / "tgdigest-second.session" == session_path(tmp_path, "second")
    assert stat.S_IMODE(result.session_path.stat().st_mode) == 0o600
    assert session_path(tmp_path) == tmp_path / "tgdigest.session"
    assert known_sessions(Secrets(session="abc"), tmp_path) == {"default": "string", "second": "file"}
    with pytest.raises(SessionInvalid, match="tgdigest login --account third"):
        from bot.sources.telethon_source import session_for

        session_for(Secrets(api_id=1, api_hash="x"), tmp_path, "third")


def test_server_settings_reach_the_telethon_client(tmp_path: Any) -> None:
    """[telegram] server/dc_id point a real TelegramClient's session at that address, test
    servers at Telegram's test DC, and public_key_file joins Telethon's known server keys.
    Nothing connects."""
    import rsa
    from telethon import TelegramClient
    from telethon.crypto import rsa as telethon_rsa
    from telethon.sessions import StringSession

    from bot.config import TelegramConfig
    from bot.sources.telethon_source import apply_server

    public, _ = rsa.newkeys(512)
    key = tmp_path / "server.pem"
    key.write_bytes(public.save_pkcs1())
    client = TelegramClient(StringSession(), 1, "x")
    apply_server(client, TelegramConfig(server="127.0.0.1:4430", dc_id=3, public_key_file=str(key)))
    assert (client.session.dc_id, client.session.server_address, client.session.port) == (3, "127.0.0.1", 4430)
    assert telethon_rsa._server_keys[telethon_rsa._compute_fingerprint(public)][0] == public
    test_client = TelegramClient(StringSession(), 1, "x")
    apply_server(test_client, TelegramConfig(test_servers=True))
    assert (test_client.session.dc_id, test_client.session.server_address, test_client.session.port) == (
        2, "149.154.167.40", 443,
    )
    untouched = TelegramClient(StringSession(), 1, "x")
    apply_server(untouched, TelegramConfig())
    assert untouched.session.server_address is None
