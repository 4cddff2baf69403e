"""What the bot answers: parse an update, run the command, return the replies.

This module never talks to Telegram. ``CommandHandler.handle_update(update)`` takes one Bot
API update (a dict) and returns the ``Reply`` objects to send; ``bot.telegram.updates`` does the
polling and sending. State lives in SQLite (``bot.storage.subscribers`` and the channel tables).

Rules every reply follows (the property tests check them):

- Telegram HTML: only its tags; every piece of user text is escaped (``<``, ``>``, ``&``).
- Each reply is at most 4,096 characters even before entity parsing; long lists are split
  into several messages between lines.
- Bad input (an invalid query, ``/time 25:99``, ``/unsubscribe 999``, an unknown zone ...)
  gets one line saying what is wrong and how to do it right, and changes nothing.

Collaborators are injected: ``stories`` (a ``StoryLookup``, e.g. ``bot.storage.store.Store``) for
``/subscribe``'s preview and ``/search``; ``digest_now`` (from the digest module) for ``/digest``;
``fetch_file`` (the Bot API's getFile and download) for ``/import``.

Button presses (``callback_query``) go to ``bot.telegram.buttons``; the screens they show are
in ``bot.telegram.screens``. Some commands put buttons under their reply (/start, /list,
/subscribe, /settings, /mutes) so that everything can be done by pressing them; a button that
needs text ("➕ Add subscription") asks for it, and the chat's next plain message is taken
as the answer (``subscribers.awaiting``).
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlite_utils import Database

from bot.collect.collector import ChannelListError, add_channel, list_channels, remove_channel
from bot.config import Config, QueryConfig, parse_hhmm
from bot.core.buttons import Keyboard
from bot.core.clock import utcnow
from bot.core.models import SECTIONS, Story, Subscriber
from bot.core.text import esc, esc_attr, shorten
from bot.digests.selection import apply_mutes
from bot.errors import BotAPIError, QueryError, TgdigestError
from bot.ops.health import collect_stats
from bot.query.parser import Query, parse_query
from bot.storage import subscriber_data
from bot.storage import subscribers as subs
from bot.telegram import screens
from bot.telegram.botapi import BotCommand
from bot.telegram.buttons import ButtonHandler
from bot.telegram.messages import (
    EDITED,
    NOT_TEXT,
    Command,
    Document,
    FileRef,
    Incoming,
    Reply,
    pack,
    parse_command,
    parse_update,
)
from bot.telegram.screens import canonical_timezone

log = logging.getLogger(__name__)

PREVIEW_DAYS = 7
SEARCH_LIMIT = 10

# Shown in Telegram's command menu (setMyCommands); admin commands stay out of it.
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

MENU: tuple[BotCommand, ...] = (
    BotCommand("subscribe", "Follow a topic: /subscribe QUERY"),
    BotCommand("list", "Your subscriptions and digest settings"),
    BotCommand("unsubscribe", "Stop one: /unsubscribe N, or /unsubscribe all"),
    BotCommand("search", "The 10 newest stories matching a query"),
    BotCommand("digest", "Send what is new now"),
    BotCommand("alert", "Get matching stories at once: /alert QUERY"),
    BotCommand("time", "Digest time: /time HH:MM"),
    BotCommand("tz", "Time zone: /tz Europe/Berlin"),
    BotCommand("weekly", "Weekly instead of daily: /weekly monday, or /weekly off"),
    BotCommand("pause", "Stop digests for now"),
    BotCommand("resume", "Start digests again"),
    BotCommand("settings", "Digest time, time zone, style, mutes: with buttons"),
    BotCommand("mutes", "Muted channels and hidden stories"),
    BotCommand("digest_style", "One paged message or full: /digest_style compact"),
    BotCommand("export", "Your subscriptions and settings as a file"),
    BotCommand("import", "Reply to an /export file to restore it"),
    BotCommand("nonnews", "Ads, promos, greetings in digests too: /nonnews on, or /nonnews off"),
    BotCommand("channels", "The channels I watch"),
    BotCommand("categories", "The categories of stories"),
    BotCommand("help", "Commands and the query language"),
)


class StoryLookup(Protocol):
    """Stories matching a query, newest first (``bot.storage.store.Store`` implements it)."""

    def search(self, query: Query, *, since: datetime | None = None, limit: int | None = None) -> list[Story]: ...


DigestNow = Callable[[int], "Awaitable[str | None] | str | None"]
FetchFile = Callable[[FileRef], Awaitable[bytes]]
IMPORT_MAX_BYTES = 256_000  # an export of 50 subscriptions and many mutes is a few kB


# --- the handler --------------------------------------------------------------------------

HELP = """<b>Commands</b>
/subscribe QUERY: follow a topic (e.g. <code>/subscribe BRICS OR "New Development Bank"</code>)
/alert QUERY: like /subscribe, but each matching story comes at once
/list: your subscriptions, numbered, and your digest settings
/unsubscribe N: remove subscription N from /list; <code>/unsubscribe all</code> removes all
/search QUERY: the 10 newest stories that match
/digest: send me what is new since the last digest
/time HH:MM: when the daily digest comes (e.g. <code>/time 07:30</code>)
/weekly DAY: one digest a week instead (e.g. <code>/weekly monday</code>; <code>/weekly off</code> for daily)
/tz ZONE: your time zone (e.g. <code>/tz Europe/Moscow</code>; default UTC)
/pause, /resume: stop and restart digests
/settings: all of the above with buttons; /mutes: muted channels and hidden stories
/digest_style compact: each digest as one message paged with ◀ ▶ (<code>full</code>: as before)
/export: your subscriptions and settings as a file; /import: reply with it to that file to restore them
/nonnews on: also get posts that are not news (ads, promos, guides, greetings); <code>/nonnews off</code> (default) leaves them out
/channels: the channels I watch; /categories: how stories are grouped

<b>Queries</b>
<code>word</code> a whole word, any case: <code>UN</code> does not match "unilateral"
<code>"a phrase"</code> these words in this order
<code>sanction*</code> words starting with "sanction"
<code>~sanction</code> any form of the word (sanctions, sanctioned)
<code>#tag</code> a hashtag; <code>@channel</code> only that channel's posts
<code>a b</code> both; <code>a OR b</code> either; <code>-word</code> not; ( ) group
Example: <code>(Iran OR Iraq) oil -"oil price"</code>

Limits: {max_subs} subscriptions, {max_len} characters per query."""


class CommandHandler:
    """Turns updates into replies (see module docstring). One per bot process."""

    def __init__(
        self,
        db: Database,
        config: Config,
        *,
        stories: StoryLookup | None = None,
        digest_now: DigestNow | None = None,
        now: Callable[[], datetime] = utcnow,
        bot_username: str | None = None,
        fetch_file: FetchFile | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.stories = stories
        self.digest_now = digest_now
        self.now = now
        self.bot_username = bot_username
        self.fetch_file = fetch_file
        self.buttons = ButtonHandler(self, now=now)

    # --- entry points ---

    async def handle_update(self, update: Any) -> list[Reply]:
        """The replies to one update (possibly none)."""
        incoming = parse_update(update)
        if incoming.chat_id is None:
            return []
        if incoming.kind == "member":
            self._member_changed(incoming)
            return []
        if incoming.kind == "callback":
            return await self.buttons.handle(incoming)
        if incoming.kind == "edited":
            # Running an edited command again would surprise (a second /subscribe); say so instead.
            return [Reply(incoming.chat_id, EDITED)] if incoming.chat_type == "private" else []
        if incoming.kind == "message" and incoming.document is not None and incoming.chat_type == "private":
            return await self._document(incoming.chat_id, incoming.document, caption=incoming.caption)
        if incoming.kind != "message":
            return []
        chat_id = incoming.chat_id
        # A photo (or video, voice...) captioned with a command runs the command.
        text = incoming.text if incoming.text is not None else incoming.caption
        if text is None:
            if incoming.chat_type == "private" and incoming.has_content:
                return [Reply(chat_id, NOT_TEXT)]
            return []
        if incoming.chat_type != "private":
            # In groups answer only commands addressed to this bot by name; never read along.
            command = parse_command(text)
            if command is None or not command.mention or not self.bot_username:
                return []
            if command.mention.lower() != self.bot_username.lower():
                return []
            return [Reply(chat_id, "I work in private chats only: open a chat with me and send /start.")]
        return await self.respond(
            chat_id, text, user_id=incoming.user_id,
            username=incoming.username, first_name=incoming.first_name, reply_document=incoming.reply_document,
        )

    async def handle_text(
        self, chat_id: int, text: str, *, user_id: int | None = None,
        username: str | None = None, first_name: str | None = None,
    ) -> list[str]:
        """The texts of the replies to ``text`` typed in the private chat ``chat_id``."""
        replies = await self.respond(chat_id, text, user_id=user_id, username=username, first_name=first_name)
        return [r.text for r in replies]

    async def respond(
        self, chat_id: int, text: str, *, user_id: int | None = None,
        username: str | None = None, first_name: str | None = None, reply_document: FileRef | None = None,
    ) -> list[Reply]:
        """The replies (with their buttons) to ``text`` typed in the private chat ``chat_id``."""
        command = parse_command(text)
        if command is None:
            if subs.awaiting(self.db, chat_id) == "subscribe":
                subs.set_awaiting(self.db, chat_id, None)
                return self._cmd_subscribe(chat_id, text.strip())
            return [Reply(chat_id, "I understand commands only: send /help to see them, or /subscribe QUERY to follow a topic.")]
        if command.mention and self.bot_username and command.mention.lower() != self.bot_username.lower():
            return []
        if subs.awaiting(self.db, chat_id) is not None:
            subs.set_awaiting(self.db, chat_id, None)  # any command ends a question a button asked
        return _as_replies(chat_id, await self._command(chat_id, command, user_id, username, first_name, reply_document))

    async def _command(
        self, chat_id: int, command: Command, user_id: int | None, username: str | None,
        first_name: str | None, reply_document: FileRef | None,
    ) -> list[str] | list[Reply]:
        user = user_id if user_id is not None else chat_id
        name = command.name
        args = command.args
        if name in ("addchannel", "removechannel", "stats"):
            if user not in self.config.bot.admins and chat_id not in self.config.bot.admins:
                return ["Not allowed."]
            admin_command: Callable[[str], list[str]] = getattr(self, f"_cmd_{name}")
            return admin_command(args)
        if name == "start":
            return self._cmd_start(chat_id, username, first_name)
        if name == "digest":
            return await self._cmd_digest(chat_id)
        if name == "import":
            return await self._cmd_import(chat_id, reply_document)
        handler: Callable[[int, str], list[str] | list[Reply]] | None = (
            getattr(self, f"_cmd_{name}", None) if name in _SIMPLE else None
        )
        if handler is None:
            return [f"I don't know /{esc(shorten(name, 40))}. Send /help for the list of commands."]
        result: list[str] | list[Reply] = handler(chat_id, args)
        return result

    # --- my_chat_member ---

    def _member_changed(self, incoming: Incoming) -> None:
        if incoming.chat_type != "private" or incoming.chat_id is None:
            return
        if incoming.member_status == "kicked":
            if subs.set_active(self.db, incoming.chat_id, False):
                log.info("chat %s blocked the bot: deactivated", incoming.chat_id)
        elif incoming.member_status == "member" and subs.set_active(self.db, incoming.chat_id, True):
            log.info("chat %s unblocked the bot: reactivated", incoming.chat_id)

    # --- helpers ---

    def _register(self, chat_id: int, username: str | None = None, first_name: str | None = None) -> Subscriber:
        subscriber, _ = subs.register(
            self.db, chat_id, username=username, first_name=first_name,
            default_time=self.config.digest.default_time,
            default_timezone=self.config.digest.default_timezone, now=self.now(),
        )
        return subscriber

    def _settings_line(self, chat_id: int) -> str:
        subscriber = subs.get_subscriber(self.db, chat_id)
        if subscriber is None:
            return "Send /start to set up your daily digest."
        return screens.when_line(subscriber)

    def _parse(self, text: str) -> Query:
        return parse_subscription(text, self.config.query)

    def _story_line(self, story: Story) -> str:
        post = story.representative.post
        first_line = next((line for line in post.text.splitlines() if line.strip()), "") or "(no text)"
        channel = f"@{post.channel_username}" if post.channel_username else (post.channel_title or str(post.channel_id))
        url = esc_attr(post.url)
        return (
            f"• <a href=\"{url}\">{esc(shorten(first_line, 120))}</a>"
            f" ({esc(shorten(channel, 40))}, {post.date.astimezone(UTC):%Y-%m-%d})"
        )

    # --- commands ---

    def _cmd_start(self, chat_id: int, username: str | None, first_name: str | None) -> list[Reply]:
        existing = subs.get_subscriber(self.db, chat_id)
        subscriber = self._register(chat_id, username, first_name)
        greeting = "<b>Welcome back!</b>" if existing is not None else "<b>Welcome to tgdigest!</b>"
        text = (
            f"{greeting}\n"
            "I watch Telegram channels and send you one digest a day with the stories that match "
            "your subscriptions, each story once however many channels told it.\n\n"
            "Subscribe with a query, for example:\n"
            "<code>/subscribe BRICS OR \"New Development Bank\"</code>\n"
            "<code>/subscribe sanction* -oil</code>\n"
            "<code>/subscribe #economy</code>\n\n"
            f"Your digest comes at {subscriber.digest_time} ({esc(subscriber.timezone)}); change it with "
            "/time and /tz. /help lists every command and the query language."
        )
        return [Reply(chat_id, text, buttons=screens.start_keyboard())]

    def _cmd_help(self, chat_id: int, args: str) -> list[str]:
        return [HELP.format(max_subs=self.config.bot.max_subscriptions, max_len=self.config.query.max_length)]

    def _cmd_subscribe(self, chat_id: int, args: str, *, urgent: bool = False) -> list[Reply]:
        """/subscribe and /alert; a new subscription gets buttons to change its delivery mode."""
        before = {s.id for s in subs.list_subscriptions(self.db, chat_id)}
        replies = _as_replies(chat_id, self._subscribe(chat_id, args, urgent=urgent))
        added = [s for s in subs.list_subscriptions(self.db, chat_id) if s.id not in before]
        if added and replies:
            replies[-1] = replace(replies[-1], buttons=screens.mode_keyboard(added[0]))
        return replies

    def _subscribe(self, chat_id: int, args: str, *, urgent: bool = False) -> list[str]:
        verb = "alert" if urgent else "subscribe"
        if not args:
            return [
                f"Usage: /{verb} QUERY, for example <code>/{verb} BRICS OR \"New Development Bank\"</code>. "
                "/help explains queries."
            ]
        try:
            query = self._parse(args)
        except QueryError as e:
            return [f"Not {'set' if urgent else 'subscribed'}: {esc(shorten(str(e), 300))}."]
        existing = subs.list_subscriptions(self.db, chat_id)
        canonical = query.describe()
        for number, subscription in enumerate(existing, 1):
            try:
                same = self._parse(subscription.query).describe() == canonical
            except QueryError:
                same = False  # stored under an older, stricter config: not a duplicate
            if same and subscription.urgent == urgent:
                return [f"You already have this {'alert' if urgent else 'subscription'} (#{number}); see /list."]
        limit = self.config.bot.max_subscriptions
        if len(existing) >= limit:
            return [f"You have {len(existing)} subscriptions, the most allowed: remove one with /unsubscribe N first."]
        self._register(chat_id)
        try:
            subs.add_subscription(self.db, chat_id, query.text.strip(), urgent=urgent, limit=limit, now=self.now())
        except subs.SubscriptionLimitError:
            return [f"You have {limit} subscriptions, the most allowed: remove one with /unsubscribe N first."]
        number = len(existing) + 1
        head = (
            f"Alert set (#{number}): <code>{esc(query.text.strip())}</code>. Each new matching story comes at once."
            if urgent else f"Subscribed (#{number}): <code>{esc(query.text.strip())}</code>."
        )
        lines = [head]
        lines.extend(self._preview(query))
        return pack(lines)

    def _preview(self, query: Query) -> list[str]:
        if self.stories is None:
            return []
        found = self.stories.search(query, since=self.now() - timedelta(days=PREVIEW_DAYS))
        if not found:
            return [
                f"No story matched in the last {PREVIEW_DAYS} days. If that surprises you, check the "
                "spelling or try a prefix such as <code>word*</code>."
            ]
        count = len(found)
        noun = "story" if count == 1 else "stories"
        lines = [f"In the last {PREVIEW_DAYS} days {count} {noun} matched. The newest:"]
        lines.extend(self._story_line(s) for s in found[:2])
        return lines

    def _cmd_alert(self, chat_id: int, args: str) -> list[Reply]:
        return self._cmd_subscribe(chat_id, args, urgent=True)

    def _cmd_unsubscribe(self, chat_id: int, args: str) -> list[str]:
        arg = args.strip()
        if not arg:
            return ["Usage: /unsubscribe N (the number from /list), or /unsubscribe all."]
        if arg.casefold() == "all":
            removed = subs.remove_all_subscriptions(self.db, chat_id)
            if not removed:
                return ["You have no subscriptions."]
            return [f"Removed all {removed} subscriptions." if removed > 1 else "Removed your subscription."]
        m = re.fullmatch(r"#?(-?[0-9]{1,6})", arg)
        if not m:
            return [f"“{esc(shorten(arg, 40))}” is not a number: use /unsubscribe N (from /list) or /unsubscribe all."]
        number = int(m.group(1))
        removed_one = subs.remove_subscription(self.db, chat_id, number) if number >= 1 else None
        if removed_one is None:
            count = len(subs.list_subscriptions(self.db, chat_id))
            have = "no subscriptions" if count == 0 else f"{count} (see /list)"
            return [f"There is no subscription #{number}; you have {have}."]
        return [f"Removed #{number}: <code>{esc(shorten(removed_one.query, 250))}</code>."]

    def _cmd_list(self, chat_id: int, args: str) -> list[Reply]:
        pages, buttons = self.list_screen(chat_id)
        replies = [Reply(chat_id, page) for page in pages]
        replies[-1] = replace(replies[-1], buttons=buttons)
        return replies

    def list_screen(self, chat_id: int, *, removing: bool = False) -> tuple[list[str], Keyboard]:
        """/list's messages and the buttons under the last: a mode button per subscription
        (or, ``removing``, a remove button), Add, Remove."""
        subscriptions = subs.list_subscriptions(self.db, chat_id)
        if not subscriptions:
            lines = ["You have no subscriptions yet. Add one: /subscribe QUERY (see /help)."]
        else:
            lines = ["<b>Your subscriptions</b>"]
            for number, s in enumerate(subscriptions, 1):
                mark = {"digest": "", "alert": " (alert)", "silent": " (silent alert)"}[s.mode]
                lines.append(f"{number}. <code>{esc(shorten(s.query, 250))}</code>{mark}")
        lines.append("")
        lines.append(self._settings_line(chat_id))
        return pack(lines), screens.list_keyboard(subscriptions, removing=removing)

    async def _cmd_digest(self, chat_id: int) -> list[str]:
        if self.digest_now is None:
            return [
                "Digests on demand are not available yet. " + self._settings_line(chat_id)
            ]
        if subs.get_subscriber(self.db, chat_id) is None:
            return ["Send /start first, then /subscribe QUERY."]
        result = self.digest_now(chat_id)
        if inspect.isawaitable(result):
            result = await result
        return [result] if result else []

    def _cmd_search(self, chat_id: int, args: str) -> list[str]:
        if not args:
            return ["Usage: /search QUERY, for example <code>/search sanction* -oil</code>."]
        try:
            query = self._parse(args)
        except QueryError as e:
            return [f"Cannot search: {esc(shorten(str(e), 300))}."]
        if self.stories is None:
            return ["Search is not available right now."]
        mutes = subs.mutes_of(self.db, chat_id)
        if mutes:
            # Muted channels and hidden stories stay out of /search too; look further to fill the page.
            found = apply_mutes(self.stories.search(query, limit=SEARCH_LIMIT * 5), mutes)[:SEARCH_LIMIT]
        else:
            found = self.stories.search(query, limit=SEARCH_LIMIT)
        shown = esc(shorten(query.text, 100))
        if not found:
            return [f"No stored story matches <code>{shown}</code>."]
        lines = [f"The {len(found)} newest {'story' if len(found) == 1 else 'stories'} matching <code>{shown}</code>:"]
        lines.extend(self._story_line(s) for s in found)
        return pack(lines)

    def _cmd_time(self, chat_id: int, args: str) -> list[str]:
        if not args:
            return ["Usage: /time HH:MM (24-hour), for example /time 07:30. " + self._settings_line(chat_id)]
        parsed = parse_hhmm(args) if len(args) <= 5 else None
        if parsed is None:
            return [f"“{esc(shorten(args, 40))}” is not a time of day: use HH:MM, 24-hour, e.g. /time 07:30."]
        hhmm = f"{parsed[0]:02d}:{parsed[1]:02d}"
        self._register(chat_id)
        subs.set_digest_time(self.db, chat_id, hhmm)
        return [f"Your daily digest now comes at {hhmm}. " + self._settings_line(chat_id)]

    def _cmd_tz(self, chat_id: int, args: str) -> list[str]:
        if not args:
            return ["Usage: /tz ZONE, an IANA name such as Europe/Berlin or America/New_York. " + self._settings_line(chat_id)]
        zone = canonical_timezone(args)
        if zone is None:
            return [
                f"“{esc(shorten(args, 40))}” is not a time zone I know: use an IANA name such as "
                "Europe/Berlin, Asia/Tokyo or America/New_York."
            ]
        self._register(chat_id)
        subs.set_timezone(self.db, chat_id, zone)
        return [f"Time zone set to {esc(zone)}. " + self._settings_line(chat_id)]

    def _cmd_weekly(self, chat_id: int, args: str) -> list[str]:
        word = args.strip().casefold()
        if not word:
            return ["Usage: /weekly DAY (e.g. /weekly monday) for one digest a week, /weekly off for daily. "
                    + self._settings_line(chat_id)]
        if word in ("off", "daily", "no", "none"):
            day = None
        else:
            matches = [i for i, name in enumerate(WEEKDAYS) if len(word) >= 2 and name.startswith(word)]
            if len(matches) != 1:
                return [f"“{esc(shorten(args, 40))}” is not a weekday: use monday … sunday (or mon, tue, …), "
                        "or /weekly off."]
            day = matches[0]
        self._register(chat_id)
        subs.set_weekly_day(self.db, chat_id, day)
        return [self._settings_line(chat_id)]

    def _cmd_pause(self, chat_id: int, args: str) -> list[str]:
        self._register(chat_id)
        subs.set_paused(self.db, chat_id, True)
        return ["Paused: no digests until you send /resume. Your subscriptions are kept."]

    def _cmd_resume(self, chat_id: int, args: str) -> list[str]:
        self._register(chat_id)
        subs.set_paused(self.db, chat_id, False)
        return ["Resumed. " + self._settings_line(chat_id)]

    def _cmd_nonnews(self, chat_id: int, args: str) -> list[str]:
        word = args.strip().casefold()
        if word not in ("on", "off"):
            return ["Usage: /nonnews on (digests and alerts also carry ads, promos, guides, greetings) "
                    "or /nonnews off (the default: news only)."]
        self._register(chat_id)
        subs.set_include_nonnews(self.db, chat_id, word == "on")
        if word == "on":
            return ["Non-news posts (ads, promos, guides, greetings) will be in your digests and alerts too."]
        return ["Only news from now on: ads, promos, guides and greetings are left out."]

    def _cmd_channels(self, chat_id: int, args: str) -> list[str]:
        # Admins also see which reading account reads each channel.
        channels = channel_names(self.db, accounts=chat_id in self.config.bot.admins)
        if not channels:
            return ["I am not watching any channel yet."]
        lines = [f"<b>Channels I watch</b> ({len(channels)})"]
        lines.extend(f"• {esc(shorten(c, 100))}" for c in channels)
        return pack(lines)

    def _cmd_categories(self, chat_id: int, args: str) -> list[str]:
        builtin = self.config.builtin_sections
        if not self.config.categories and not builtin:
            return ["No categories are configured: every story is shown under Other."]
        lines = ["<b>Categories</b>"]
        for category in self.config.categories:
            lines.append(f"• <b>{esc(shorten(category.name, 60))}</b>: <code>{esc(shorten(category.query, 200))}</code>")
        if builtin:
            lines.append("• " + ", ".join(f"<b>{name}</b>" for name in SECTIONS) + ": news sections, "
                         "each story in the one that fits it best (English and Russian)")
        lines.append("• <b>Other</b>: stories in no category")
        return pack(lines)

    def _cmd_settings(self, chat_id: int, args: str) -> list[Reply]:
        subscriber = self._register(chat_id)
        text, buttons = screens.settings_screen(subscriber, subs.list_mutes(self.db, chat_id))
        return [Reply(chat_id, text, buttons=buttons)]

    def _cmd_mutes(self, chat_id: int, args: str) -> list[Reply]:
        text, buttons = screens.mutes_screen(subs.list_mutes(self.db, chat_id))
        return [Reply(chat_id, text, buttons=buttons)]

    def _cmd_digest_style(self, chat_id: int, args: str) -> list[str]:
        word = args.strip().casefold()
        current = subscriber.digest_style if (subscriber := subs.get_subscriber(self.db, chat_id)) else "full"
        if word not in ("compact", "full"):
            head = "Usage: /digest_style compact (one message, paged with ◀ ▶) or /digest_style full (as many messages as needed)."
            if word:
                head = f"“{esc(shorten(args, 40))}” is not a style: use /digest_style compact or /digest_style full."
            return [f"{head} Now: {current}."]
        self._register(chat_id)
        subs.set_digest_style(self.db, chat_id, word)
        if word == "compact":
            return ["Each digest now comes as one message; page through it with ◀ ▶."]
        return ["Each digest now comes in full, in as many messages as it needs."]

    def _cmd_export(self, chat_id: int, args: str) -> list[Reply]:
        if subs.get_subscriber(self.db, chat_id) is None:
            return [Reply(chat_id, "Send /start first: there is nothing to export yet.")]
        return [self.export_reply(chat_id)]

    def export_reply(self, chat_id: int) -> Reply:
        """The chat's subscriptions and settings as a JSON file (see ``bot.storage.subscriber_data``)."""
        document = subscriber_data.subscriber_document(self.db, chat_id, now=self.now())
        content = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        count = len(document["subscriptions"])
        caption = (
            f"Your {count} {'subscription' if count == 1 else 'subscriptions'}, mutes and settings. "
            "To restore them, here or from another account, reply to this file with /import."
        )
        return Reply(chat_id, caption, document=Document("tgdigest-export.json", content))

    async def _cmd_import(self, chat_id: int, file: FileRef | None) -> list[str]:
        if subs.get_subscriber(self.db, chat_id) is None:
            return ["Send /start first, then /import."]
        if file is None:
            subs.set_awaiting(self.db, chat_id, "import")
            return ["Reply with /import to the file /export sent you, or send me that file now."]
        return await self._import(chat_id, file)

    async def _document(self, chat_id: int, file: FileRef, *, caption: str | None) -> list[Reply]:
        """A file sent to the bot: imported when /import asked for it (or is its caption)."""
        command = parse_command(caption or "")
        wanted = subs.awaiting(self.db, chat_id) == "import" or (command is not None and command.name == "import")
        if not wanted:
            return [Reply(chat_id, "To restore subscriptions from this file, reply to it with /import.")]
        subs.set_awaiting(self.db, chat_id, None)
        if subs.get_subscriber(self.db, chat_id) is None:
            return [Reply(chat_id, "Send /start first, then /import.")]
        return _as_replies(chat_id, await self._import(chat_id, file))

    async def _import(self, chat_id: int, file: FileRef) -> list[str]:
        if self.fetch_file is None:
            return ["Import is not available right now."]
        if file.file_size is not None and file.file_size > IMPORT_MAX_BYTES:
            return [f"Not imported: the file is larger than {IMPORT_MAX_BYTES // 1000} kB; an /export file is a few kB."]
        try:
            raw = await self.fetch_file(file)
        except BotAPIError as e:
            log.warning("chat %s: import file not downloaded: %s", chat_id, e)
            return ["Not imported: I could not download the file from Telegram; please send it again."]
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return ["Not imported: this file is not JSON. Reply with /import to the file /export sent you."]
        try:
            data = subscriber_data.parse_document(document, check_query=self._parse)
            report = subscriber_data.import_subscriber(
                self.db, chat_id, data, limit=self.config.bot.max_subscriptions, now=self.now()
            )
        except TgdigestError as e:
            return [f"Not imported: {esc(shorten(str(e), 300))}. Nothing was changed."]
        return [
            f"Imported: {report.added} {'subscription' if report.added == 1 else 'subscriptions'} added, "
            f"{report.changed_mode} with a new delivery mode, {report.unchanged} already there; "
            f"{report.mutes_added} mutes added; settings restored. See /list and /settings."
        ]

    # --- admin ---

    def _cmd_addchannel(self, args: str) -> list[str]:
        if not args:
            return ["Usage: /addchannel @name (or https://t.me/name, t.me/+invite, a channel id)."]
        try:
            handle, added = add_channel(self.db, args, origin="bot", now=self.now())
        except ChannelListError as e:
            return [f"Not added: {esc(shorten(str(e), 200))}."]
        if not added:
            return [f"{esc(handle)} is already watched."]
        return [f"Added {esc(handle)}: it is read from the next collection pass on."]

    def _cmd_removechannel(self, args: str) -> list[str]:
        if not args:
            return ["Usage: /removechannel @name (as /channels shows it)."]
        try:
            handle = remove_channel(self.db, args)
        except ChannelListError as e:
            return [f"Not removed: {esc(shorten(str(e), 200))}."]
        return [f"Removed {esc(handle)}; its stored posts stay until they expire."]

    def _cmd_stats(self, args: str) -> list[str]:
        return pack(stats_lines(collect_stats(self.db, now=self.now())))


def parse_subscription(text: str, settings: QueryConfig) -> Query:
    """A subscriber's query under the configured limits: what /subscribe, /import and
    `tgdigest subscribers import` all accept. Raises QueryError."""
    # "<" and ">" mean nothing in the query language; markup pasted into a query is a mistake.
    if "<" in text or ">" in text:
        raise QueryError("a query is words, not HTML: remove the < and > characters")
    return parse_query(
        text,
        max_length=settings.max_length,
        max_terms=settings.max_terms,
        stemming=settings.stemming,
        language=settings.language,
    )


_SIMPLE = frozenset(
    {"help", "subscribe", "alert", "unsubscribe", "list", "search", "time", "tz", "weekly", "pause", "resume",
     "channels", "categories", "settings", "mutes", "digest_style", "export", "nonnews"}
)


def _as_replies(chat_id: int, result: list[str] | list[Reply]) -> list[Reply]:
    return [r if isinstance(r, Reply) else Reply(chat_id, r) for r in result]


# --- channel tables (bot side) --------------------------------------------------------------

def channel_names(db: Database, *, accounts: bool = False) -> list[str]:
    """Display names of the watched channels (the collector's one list, active ones only);
    with ``accounts`` (admins), each followed by the reading account that reads it."""
    names: list[str] = []
    for row in list_channels(db):
        if not row["active"]:
            continue
        shown = f"@{row['username']}" if row["username"] else (row["handle"] or str(row["id"]))
        name = f"{row['title']} ({shown})" if row["title"] else shown
        names.append(name + (f" — account {row['account']}" if accounts and row["account"] else ""))
    return names


def stats_lines(stats: Mapping[str, Any]) -> list[str]:
    """The /stats report from ``bot.ops.health.collect_stats`` (what `tgdigest stats` shows)."""
    lines = [
        "<b>Stats</b>",
        f"Subscribers: {stats['subscribers_active']} active, {stats['subscribers_paused']} paused, "
        f"{stats['subscribers_blocked']} blocked the bot",
        f"Subscriptions: {stats['subscriptions']} ({stats['subscriptions_urgent']} alerts)",
        f"Posts: {stats['posts']}, stories: {stats['stories']}",
        f"Send errors: {stats['send_errors_24h']} in 24 h, {stats['send_errors_total']} in all",
        "",
        "<b>Last poll per channel</b>",
    ]
    active = [c for c in stats["channel_lag"] if c["active"]]
    # Most recently polled first, never-polled last.
    rows = sorted((c for c in active if c["last_poll_at"]), key=lambda c: c["last_poll_at"], reverse=True)
    rows += [c for c in active if not c["last_poll_at"]]
    if not rows:
        lines.append("no channels yet")
    for c in rows[:60]:
        username, title, channel_id, last_poll_at, last_error, account = (
            c["username"], c["title"], c["id"], c["last_poll_at"], c["last_error"], c.get("account")
        )
        name = f"@{username}" if username else (title or str(channel_id))
        when = (last_poll_at or "never")[:16].replace("T", " ")
        error = f" — {esc(shorten(last_error, 80))}" if last_error else ""
        by = f" [{esc(account)}]" if account else ""
        lines.append(f"• {esc(shorten(name, 40))}{by}: {esc(when)}{error}")
    if len(rows) > 60:
        lines.append(f"… and {len(rows) - 60} more")
    return lines
