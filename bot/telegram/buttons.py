"""What the bot does when a button is pressed (a ``callback_query``).

``ButtonHandler.handle(incoming)`` returns the replies to one press: always exactly one
``notice`` (the answer to the press, sent with ``answerCallbackQuery`` before anything else;
often empty), and usually an edit of the message the button is under, or a new message.
The callback data it reads are listed in ``bot.digests.keyboard`` (under digests) and
``bot.telegram.screens`` (everything else).

A button may be pressed long after it was sent: the digest may be gone or a month old, the
story deleted, the subscription removed. Each such press is answered with one line saying
so, and changes nothing. A press from a chat that blocked the bot and came back reactivates
it, as /start would.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlite_utils import Database

from bot.core.buttons import Button, Keyboard, callback, keyboard, label
from bot.core.models import Subscriber
from bot.digests.keyboard import digest_keyboard
from bot.digests.outbox import Outbox, StoredDigest
from bot.storage import subscribers as subs
from bot.storage.store import Store
from bot.telegram import screens
from bot.telegram.messages import Incoming, Reply, esc, shorten


class Commands(Protocol):
    """What presses share with the typed commands (``bot.telegram.commands.CommandHandler``)."""

    db: Database

    def list_screen(self, chat_id: int, *, removing: bool = False) -> tuple[list[str], Keyboard]: ...

    def export_reply(self, chat_id: int) -> Reply: ...

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(days=30)
STORIES_PER_PAGE = 20
STALE_DIGEST = "This digest is no longer stored, so its buttons do nothing now."
OLD_DIGEST = "This digest is more than 30 days old: its buttons no longer work. /settings has everything."
UNKNOWN = "This button no longer does anything. Send /start to see what I can do."


class ButtonHandler:
    """Answers button presses for the ``CommandHandler`` that owns it (its database, config
    and the command replies it shares, such as /list and /subscribe)."""

    def __init__(self, commands: Commands, *, now: Callable[[], datetime]) -> None:
        self.commands = commands
        self.db = commands.db
        self.now = now
        self.outbox = Outbox(commands.db)
        self.store = Store(commands.db)

    # --- entry point ---

    async def handle(self, incoming: Incoming) -> list[Reply]:
        chat_id = incoming.chat_id
        data = incoming.callback_data or ""
        if chat_id is None or incoming.chat_type != "private":
            return []
        subscriber = subs.get_subscriber(self.db, chat_id)
        if subscriber is None:
            return [self._notice(chat_id, "Send /start first: then these buttons work.")]
        if not subscriber.active:
            subs.set_active(self.db, chat_id, True)  # a press means the chat is back
            log.info("chat %s pressed a button after blocking the bot: reactivated", chat_id)
        try:
            replies = await self._dispatch(chat_id, data, incoming.message_id, subscriber)
        except _Stale as e:
            return [self._notice(chat_id, str(e))]
        if not any(r.notice for r in replies):
            replies.insert(0, self._notice(chat_id, ""))
        return replies

    async def _dispatch(self, chat_id: int, data: str, message_id: int | None, subscriber: Subscriber) -> list[Reply]:
        parts = data.split(":")
        head, args = parts[0], parts[1:]
        numbers = [int(a) for a in args if re.fullmatch(r"-?\d{1,18}", a)]
        if head == "noop":
            return []
        if head in ("pg", "mc", "hs", "pz", "rs") and numbers:
            return self._digest_button(chat_id, head, numbers, message_id, subscriber)
        if head == "mch" and numbers:
            return self._mute_channel(chat_id, numbers[0], message_id)
        if head == "hst" and numbers:
            return self._hide_story(chat_id, numbers[0], message_id)
        if head == "um" and len(args) == 2 and args[0] in ("c", "s") and numbers:
            return self._unmute(chat_id, "channel" if args[0] == "c" else "story", numbers[0], message_id)
        if head == "set":
            # Under a digest or /start: the settings come as a new message, the digest stays.
            return self._show(chat_id, None, *screens.settings_screen(subscriber, subs.list_mutes(self.db, chat_id)))
        if head == "st" and args:
            return self._setting(chat_id, args, message_id, subscriber)
        if head == "mutes":
            return self._show(chat_id, message_id, *screens.mutes_screen(subs.list_mutes(self.db, chat_id)))
        if head == "ls":
            return self._list(chat_id, message_id if args else None, removing=args == ["rm"])
        if head == "md" and numbers and len(args) == 2 and args[1] in screens.MODE_ICONS:
            return self._set_mode(chat_id, numbers[0], args[1], message_id)
        if head == "rm" and numbers:
            return self._remove(chat_id, numbers[0], message_id)
        if head == "add":
            subs.set_awaiting(self.db, chat_id, "subscribe")
            return [Reply(chat_id, "Send me the query to follow, for example <code>BRICS OR \"New Development Bank\"</code> "
                          "or <code>sanction* -oil</code>. /help explains queries.")]
        if head == "exp":
            return [self.commands.export_reply(chat_id)]
        if head == "imp":
            subs.set_awaiting(self.db, chat_id, "import")
            return [Reply(chat_id, "Send me the file /export gave you (tgdigest-export.json): I add its "
                          "subscriptions, mutes and settings to yours.")]
        if head == "x":
            return [Reply(chat_id, "Nothing changed.", edit_message_id=message_id)] if message_id else []
        return [self._notice(chat_id, UNKNOWN)]

    # --- helpers ---

    @staticmethod
    def _notice(chat_id: int, text: str) -> Reply:
        return Reply(chat_id, text, notice=True)

    @staticmethod
    def _show(chat_id: int, message_id: int | None, text: str, buttons: Keyboard, notice: str = "") -> list[Reply]:
        """The screen in place of the pressed message (or as a new one if it cannot be edited)."""
        replies = [Reply(chat_id, notice, notice=True)] if notice else []
        replies.append(Reply(chat_id, text, buttons=buttons, edit_message_id=message_id))
        return replies

    def _digest(self, chat_id: int, digest_id: int) -> StoredDigest:
        info = self.outbox.info(digest_id, chat_id=chat_id)
        if info is None:
            raise _Stale(STALE_DIGEST)
        if info.created_at is not None and self.now() - info.created_at > STALE_AFTER:
            raise _Stale(OLD_DIGEST)
        return info

    # --- under a digest ---

    def _digest_button(
        self, chat_id: int, head: str, numbers: list[int], message_id: int | None, subscriber: Subscriber
    ) -> list[Reply]:
        digest_id = numbers[0]
        page = numbers[1] if len(numbers) > 1 else 0
        info = self._digest(chat_id, digest_id)
        pages = info.pages if info.style == "compact" and info.kind == "digest" else 1
        if head == "pg":
            text = self.outbox.part_text(digest_id, page) if 0 <= page < pages else None
            if text is None:
                raise _Stale("That page is no longer stored.")
            markup = digest_keyboard(digest_id, page=page, pages=pages, paused=subscriber.paused)
            return [Reply(chat_id, text, buttons=markup, edit_message_id=message_id)] if message_id else [
                self._notice(chat_id, "Telegram no longer shows that message; /digest sends what is new.")
            ]
        if head in ("pz", "rs"):
            paused = head == "pz"
            subs.set_paused(self.db, chat_id, paused)
            notice = "Paused: no digests or alerts until you resume." if paused else "Resumed: digests come again."
            replies = [self._notice(chat_id, notice)]
            if message_id:
                markup = digest_keyboard(digest_id, page=page, pages=pages, paused=paused)
                replies.append(Reply(chat_id, "", buttons=markup, edit_message_id=message_id, keyboard_only=True))
            return replies
        if head == "mc":
            return self._channel_chooser(chat_id, digest_id)
        # "hs:<digest>" under the digest opens a chooser; "hs:<digest>:<page>" pages inside it.
        return self._story_chooser(chat_id, digest_id, page, message_id if len(numbers) > 1 else None)

    def _channel_chooser(self, chat_id: int, digest_id: int) -> list[Reply]:
        stories = self.store.stories(self.outbox.story_ids(digest_id))
        if not stories:
            raise _Stale("The stories of this digest are no longer stored.")
        muted = subs.mutes_of(self.db, chat_id).channels
        channels: dict[int, str] = {}
        for story in stories:
            for sp in story.posts:
                post = sp.post
                if post.channel_id not in muted:
                    channels.setdefault(post.channel_id, f"@{post.channel_username}" if post.channel_username
                                        else post.channel_title or str(post.channel_id))
        if not channels:
            raise _Stale("Every channel in this digest is muted already; /mutes lists them.")
        buttons = [Button(label(f"🔇 {name}", 32), callback("mch", cid)) for cid, name in list(channels.items())[:90]]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        text = "Which channel should I mute? Its posts stay out of your digests, alerts and /search."
        return [Reply(chat_id, text, buttons=keyboard(*rows, [Button("Cancel", "x")]))]

    def _story_chooser(self, chat_id: int, digest_id: int, page: int, message_id: int | None) -> list[Reply]:
        hidden = subs.mutes_of(self.db, chat_id).stories
        stories = [s for s in self.store.stories(self.outbox.story_ids(digest_id)) if s.id not in hidden]
        if not stories:
            raise _Stale("No story of this digest is left to hide.")
        pages = (len(stories) + STORIES_PER_PAGE - 1) // STORIES_PER_PAGE
        page = min(max(page, 0), pages - 1)
        shown = stories[page * STORIES_PER_PAGE : (page + 1) * STORIES_PER_PAGE]
        rows = [[Button(label(f"🙈 {_title(s.representative.post.text)}", 40), callback("hst", s.id))] for s in shown]
        nav = []
        if page > 0:
            nav.append(Button("◀", callback("hs", digest_id, page - 1)))
        if page + 1 < pages:
            nav.append(Button("▶", callback("hs", digest_id, page + 1)))
        text = "Which story should I hide? It stays out of your future digests and alerts, however it grows."
        return [Reply(chat_id, text, buttons=keyboard(*rows, nav, [Button("Cancel", "x")]), edit_message_id=message_id)]

    def _mute_channel(self, chat_id: int, channel_id: int, message_id: int | None) -> list[Reply]:
        row = self.db.execute("SELECT username, title FROM channels WHERE id = ?", [channel_id]).fetchone()
        if row is None:
            raise _Stale("That channel is no longer stored; nothing to mute.")
        name = f"@{row[0]}" if row[0] else row[1] or str(channel_id)
        subs.add_mute(self.db, chat_id, "channel", channel_id, name, now=self.now())
        text = f"Muted {esc(name)}: its posts stay out of your digests, alerts and /search. /mutes to undo."
        undo = keyboard([Button("↩ Undo", callback("um", "c", channel_id))])
        return [self._notice(chat_id, f"Muted {name}."), Reply(chat_id, text, buttons=undo, edit_message_id=message_id)]

    def _hide_story(self, chat_id: int, story_id: int, message_id: int | None) -> list[Reply]:
        story = self.store.story(story_id)
        if story is None:
            raise _Stale("That story is no longer stored; nothing to hide.")
        title = _title(story.representative.post.text)
        subs.add_mute(self.db, chat_id, "story", story_id, title, now=self.now())
        text = f"Hidden: “{esc(shorten(title, 80))}” stays out of your digests and alerts. /mutes to undo."
        undo = keyboard([Button("↩ Undo", callback("um", "s", story_id))])
        return [self._notice(chat_id, "Story hidden."), Reply(chat_id, text, buttons=undo, edit_message_id=message_id)]

    def _unmute(self, chat_id: int, kind: str, target: int, message_id: int | None) -> list[Reply]:
        removed = subs.remove_mute(self.db, chat_id, kind, target)
        if removed is None:
            raise _Stale("That is not muted (any more).")
        notice = f"Unmuted {shorten(removed.label, 60)}."
        return self._show(chat_id, message_id, *screens.mutes_screen(subs.list_mutes(self.db, chat_id)), notice=notice)

    # --- settings ---

    def _setting(self, chat_id: int, args: list[str], message_id: int | None, subscriber: Subscriber) -> list[Reply]:
        what, rest = args[0], args[1:]
        notice = ""
        if what == "t" and rest and re.fullmatch(r"[+-]\d{1,4}", rest[0]):
            hours, minutes = (int(x) for x in subscriber.digest_time.split(":"))
            total = (hours * 60 + minutes + int(rest[0])) % (24 * 60)
            hhmm = f"{total // 60:02d}:{total % 60:02d}"
            subs.set_digest_time(self.db, chat_id, hhmm)
            notice = f"Digest at {hhmm}."
        elif what == "home" and not rest:
            pass
        elif what == "z" and not rest:
            return self._show(chat_id, message_id, *screens.regions_screen(subscriber.timezone))
        elif what == "zr" and len(rest) == 2 and rest[1].isdigit():
            screen = screens.cities_screen(rest[0], int(rest[1]))
            if screen is None:
                raise _Stale(UNKNOWN)
            return self._show(chat_id, message_id, *screen)
        elif what == "zs" and rest:
            zone = screens.canonical_timezone(":".join(rest))
            if zone is None:
                raise _Stale("That time zone is not known here any more; choose another.")
            subs.set_timezone(self.db, chat_id, zone)
            notice = f"Time zone: {zone}."
        elif what == "w" and not rest:
            return self._show(chat_id, message_id, *screens.weekly_screen(subscriber))
        elif what == "wd" and rest and (rest[0] == "off" or rest[0] in "0123456"):
            day = None if rest[0] == "off" else int(rest[0])
            subs.set_weekly_day(self.db, chat_id, day)
            notice = "Daily digest." if day is None else f"Weekly digest on {screens.WEEKDAYS[day].capitalize()}s."
        elif what == "s" and rest and rest[0] in ("full", "compact"):
            subs.set_digest_style(self.db, chat_id, rest[0])
            notice = "One message per digest, paged with ◀ ▶." if rest[0] == "compact" else "Digests in full."
        elif what == "n" and rest and rest[0] in ("on", "off"):
            subs.set_include_nonnews(self.db, chat_id, rest[0] == "on")
            notice = "Non-news posts included." if rest[0] == "on" else "News only."
        elif what in ("p", "r") and not rest:
            subs.set_paused(self.db, chat_id, what == "p")
            notice = "Paused." if what == "p" else "Resumed."
        else:
            raise _Stale(UNKNOWN)
        fresh = subs.get_subscriber(self.db, chat_id)
        assert fresh is not None
        screen = screens.settings_screen(fresh, subs.list_mutes(self.db, chat_id))
        return self._show(chat_id, message_id, *screen, notice=notice)

    # --- subscriptions ---

    def _list(self, chat_id: int, message_id: int | None, *, removing: bool = False, notice: str = "") -> list[Reply]:
        pages, buttons = self.commands.list_screen(chat_id, removing=removing)
        replies = [self._notice(chat_id, notice)] if notice else []
        if len(pages) == 1:
            replies.append(Reply(chat_id, pages[0], buttons=buttons, edit_message_id=message_id))
        elif message_id:
            # A list of several messages: the one with the buttons keeps its text, only they change.
            replies.append(Reply(chat_id, "", buttons=buttons, edit_message_id=message_id, keyboard_only=True))
        else:
            replies.extend(Reply(chat_id, p) for p in pages[:-1])
            replies.append(Reply(chat_id, pages[-1], buttons=buttons))
        return replies

    def _set_mode(self, chat_id: int, subscription_id: int, mode: str, message_id: int | None) -> list[Reply]:
        changed = subs.set_subscription_mode(self.db, chat_id, subscription_id, mode)
        if changed is None:
            raise _Stale("That subscription was removed already; /list shows the ones you have.")
        notice = f"“{shorten(changed.query, 40)}” now comes {screens.MODE_WORDS[mode]}."
        return self._list(chat_id, message_id, notice=notice)

    def _remove(self, chat_id: int, subscription_id: int, message_id: int | None) -> list[Reply]:
        removed = subs.remove_subscription_by_id(self.db, chat_id, subscription_id)
        if removed is None:
            raise _Stale("That subscription was removed already.")
        left = subs.list_subscriptions(self.db, chat_id)
        return self._list(chat_id, message_id, removing=bool(left), notice=f"Removed “{shorten(removed.query, 40)}”.")


class _Stale(Exception):
    """A press that can do nothing any more; ``str(e)`` is the one line the user sees."""


def _title(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "") or "(no text)"
    return shorten(first, 120)

