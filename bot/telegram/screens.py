"""The screens buttons lead to: settings, time zone picker, weekday picker, mutes, the
subscription list's buttons. Pure: state in, ``(text, Keyboard)`` out; ``bot.telegram.buttons``
stores the changes and sends the screens.

Callback data of these screens (``bot.telegram.buttons`` reads them)::

    set                     the settings, as a new message   st:home       the settings, in place
    st:t:<±minutes>         move the digest time
    st:z                    time zone: regions           st:zr:<region>:<page>  a region's cities
    st:zs:<zone>            set the time zone            st:w              daily/weekly picker
    st:wd:<0-6|off>         weekly on that day / daily   st:s:<full|compact>  digest style
    st:n:<on|off>           non-news posts included or not
    st:p / st:r             pause / resume               mutes             the mutes screen, in place
    um:<c|s>:<id>           unmute a channel / story     ls                the subscription list, new message
    ls:e                    the list, in place           ls:rm             the list's remove buttons
    md:<id>:<mode>          set a subscription's mode
    rm:<id>                 remove a subscription        add               ask for a query to follow
    exp / imp               export / import              x                 close a chooser
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from functools import lru_cache

from bot.config import valid_timezone
from bot.core.buttons import Button, Keyboard, callback, keyboard, label
from bot.core.models import Mute, Subscriber, Subscription
from bot.telegram.messages import esc, shorten

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MODE_ICONS = {"digest": "📰", "alert": "🔔", "silent": "🔕"}
NEXT_MODE = {"digest": "alert", "alert": "silent", "silent": "digest"}
MODE_WORDS = {
    "digest": "in your digest",
    "alert": "at once, as an alert",
    "silent": "at once, as a silent alert (no sound)",
}
TIME_STEPS = ((-60, "−1 h"), (-15, "−15 min"), (15, "+15 min"), (60, "+1 h"))
REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
CITIES_PER_PAGE = 30
MAX_LIST_BUTTONS = 98  # Telegram takes at most 100 buttons under a message


@lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def canonical_timezone(text: str) -> str | None:
    """The IANA name ``text`` means (case-insensitive), or None."""
    name = text.strip()
    if not name or len(name) > 64 or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        return None
    found = _zones_by_folded_name().get(name.casefold())
    if found:
        return found
    return name if name.upper() == "UTC" or valid_timezone(name) else None


def when_line(subscriber: Subscriber) -> str:
    """"Daily digest at 09:00 (UTC)." (and the pause), as /list and the settings show it."""
    day = subscriber.weekly_day
    when = "Daily digest" if day is None else f"Weekly digest on {WEEKDAYS[day].capitalize()}s"
    line = f"{when} at {subscriber.digest_time} ({esc(subscriber.timezone)})."
    if subscriber.paused:
        line += " Paused: send /resume to get digests again."
    if subscriber.include_nonnews:
        line += " Non-news posts included (/nonnews off to leave them out)."
    return line


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def settings_screen(subscriber: Subscriber, mutes: Sequence[Mute]) -> tuple[str, Keyboard]:
    channels = sum(1 for m in mutes if m.kind == "channel")
    stories = len(mutes) - channels
    style = (
        "compact: one message per digest, paged with ◀ ▶" if subscriber.digest_style == "compact"
        else "full: each digest in as many messages as it needs"
    )
    text = "\n".join([
        "<b>⚙ Settings</b>",
        when_line(subscriber),
        f"Style: {style}.",
        f"Muted: {_count(channels, 'channel', 'channels')}, {_count(stories, 'story', 'stories')}.",
        "Non-news posts (ads, promos, greetings): " + ("included." if subscriber.include_nonnews else "left out."),
        f"Subscriptions: {len(subscriber.subscriptions)}.",
        "",
        "Change them with the buttons (or type /time, /tz, /weekly, /digest_style as before).",
    ])
    weekly = "📅 Daily" if subscriber.weekly_day is None else f"📅 Weekly: {WEEKDAYS[subscriber.weekly_day].capitalize()}"
    other_style = "full" if subscriber.digest_style == "compact" else "compact"
    rows = keyboard(
        [Button(text_, callback("st", "t", f"{delta:+d}")) for delta, text_ in TIME_STEPS],
        [Button(label(f"🌍 Time zone: {subscriber.timezone}"), "st:z"), Button(weekly, "st:w")],
        [Button(f"📰 Style: {subscriber.digest_style} → {other_style}", callback("st", "s", other_style))],
        [
            Button("🗞 Non-news: included → leave out", "st:n:off") if subscriber.include_nonnews
            else Button("🗞 Non-news: left out → include", "st:n:on")
        ],
        [
            Button("▶ Resume", "st:r") if subscriber.paused else Button("⏸ Pause", "st:p"),
            Button(f"🔇 Mutes ({len(mutes)})", "mutes"),
        ],
        [Button("📋 Subscriptions", "ls"), Button("➕ Add subscription", "add")],
        [Button("⬇ Export", "exp"), Button("⬆ Import", "imp")],
    )
    return text, rows


@lru_cache(maxsize=1)
def zones_by_region() -> dict[str, tuple[str, ...]]:
    """IANA zones under each region ("Europe" → ("Europe/Amsterdam", ...)), sorted."""
    found: dict[str, list[str]] = {r: [] for r in REGIONS}
    for name in zoneinfo.available_timezones():
        region, _, rest = name.partition("/")
        if region in found and rest and len(callback("st", "zs", name).encode()) <= 64:
            found[region].append(name)
    return {r: tuple(sorted(z)) for r, z in found.items() if z}


def regions_screen(current: str) -> tuple[str, Keyboard]:
    regions = list(zones_by_region())
    buttons = [Button(r, callback("st", "zr", r, 0)) for r in regions]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    text = (
        f"<b>🌍 Time zone</b>: now {esc(current)}.\nChoose your region, then your city "
        "(or type /tz and a name, e.g. <code>/tz Europe/Berlin</code>)."
    )
    return text, keyboard(*rows, [Button("UTC", "st:zs:UTC"), Button("↩ Settings", "st:home")])


def cities_screen(region: str, page: int) -> tuple[str, Keyboard] | None:
    """A page of a region's zones; None for a region or page that does not exist."""
    zones = zones_by_region().get(region)
    pages = (len(zones) + CITIES_PER_PAGE - 1) // CITIES_PER_PAGE if zones else 0
    if not zones or not 0 <= page < pages:
        return None
    shown = zones[page * CITIES_PER_PAGE : (page + 1) * CITIES_PER_PAGE]
    buttons = [Button(label(z.split("/", 1)[1].replace("_", " "), 24), callback("st", "zs", z)) for z in shown]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    nav = []
    if page > 0:
        nav.append(Button("◀", callback("st", "zr", region, page - 1)))
    if page + 1 < pages:
        nav.append(Button("▶", callback("st", "zr", region, page + 1)))
    text = f"<b>🌍 {esc(region)}</b> ({page + 1}/{pages}): choose your city."
    return text, keyboard(*rows, nav, [Button("↩ Regions", "st:z"), Button("↩ Settings", "st:home")])


def weekly_screen(subscriber: Subscriber) -> tuple[str, Keyboard]:
    days = [Button(d[:3].capitalize(), callback("st", "wd", i)) for i, d in enumerate(WEEKDAYS)]
    text = "<b>📅 Daily or weekly?</b>\n" + when_line(subscriber) + "\nA weekly digest comes on the day you choose."
    return text, keyboard([Button("Daily", "st:wd:off")], days[:4], days[4:], [Button("↩ Settings", "st:home")])


def mutes_screen(mutes: Sequence[Mute]) -> tuple[str, Keyboard]:
    if not mutes:
        return (
            "Nothing is muted. The 🔇 Mute channel and 🙈 Hide story buttons under each digest mute "
            "a channel or hide a story.",
            keyboard([Button("↩ Settings", "st:home")]),
        )
    lines = ["<b>Muted</b> (left out of your digests, alerts and /search)"]
    buttons = []
    for mute in mutes[:MAX_LIST_BUTTONS]:
        what = "channel" if mute.kind == "channel" else "story"
        lines.append(f"• {what}: {esc(shorten(mute.label, 80))}")
        buttons.append([Button(label(f"🔊 Unmute {mute.label}", 40), callback("um", mute.kind[0], mute.target))])
    if len(mutes) > MAX_LIST_BUTTONS:
        lines.append(f"… and {len(mutes) - MAX_LIST_BUTTONS} more")
    return "\n".join(lines), keyboard(*buttons, [Button("↩ Settings", "st:home")])


def list_keyboard(subscriptions: Sequence[Subscription], *, removing: bool = False) -> Keyboard:
    """Under /list: one button per subscription that moves it to the next delivery mode (or,
    ``removing``, removes it), then Add and Remove/Done."""
    rows = []
    for number, s in enumerate(subscriptions[:MAX_LIST_BUTTONS], 1):
        if removing:
            rows.append([Button(label(f"✖ {number}. {s.query}", 40), callback("rm", s.id))])
        else:
            text = label(f"{number}. {s.query}", 28) + f" · {MODE_ICONS[s.mode]} {s.mode}"
            rows.append([Button(text, callback("md", s.id, NEXT_MODE[s.mode]))])
    last = [Button("↩ Done", "ls:e")] if removing else [Button("➕ Add", "add")]
    if subscriptions and not removing:
        last.append(Button("✖ Remove…", "ls:rm"))
    return keyboard(*rows, last)


def mode_keyboard(subscription: Subscription) -> Keyboard:
    """Under a new subscription: its other two delivery modes."""
    return keyboard([
        Button(f"{MODE_ICONS[m]} {'Alert' if m == 'alert' else 'Silent alert' if m == 'silent' else 'In the digest'}",
               callback("md", subscription.id, m))
        for m in ("digest", "alert", "silent") if m != subscription.mode
    ])


def start_keyboard() -> Keyboard:
    return keyboard([Button("➕ Add subscription", "add"), Button("📋 Subscriptions", "ls")], [Button("⚙ Settings", "set")])
