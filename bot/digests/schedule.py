"""When is a subscriber's digest due? Pure functions of an instant and the subscriber's settings.

The rule, in the subscriber's own time zone: the most recent scheduled occurrence (today at
the digest time if the local wall clock has reached it, else yesterday's) is due when no digest
has been recorded for its local date yet. Once built, that local date is recorded
(``last_digest_local_date``). Comparing wall-clock times (not instants) makes DST days right:

* spring forward (02:00-03:00 does not exist): a 02:30 digest goes out at 03:00, the first
  local time that is >= 02:30, so it is not skipped;
* fall back (01:00-02:00 happens twice): the first 01:30 sends it and records the local date,
  so the repeated 01:30 finds that date's digest already done.

Catch-up after downtime falls out of the same rule: on start only the most recent missed
occurrence is due, so one digest goes out at once, and its window runs from the previous
digest, covering the whole gap. Days missed while down are not sent one by one. A tick that
lands just after midnight still sends a 23:59 digest (for the previous date).

A new subscriber (nothing recorded) gets a first digest only once today's time is reached.
Weekly digests (``weekly_day`` 0=Monday..6=Sunday) use the same rule with the most recent
occurrence of that weekday, so a weekly digest missed while down goes out on start.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

from bot.config import parse_hhmm
from bot.errors import TgdigestError


class ScheduleError(TgdigestError, ValueError):
    """A subscriber's digest time or time zone is not usable (stored data is corrupt)."""


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name``; ScheduleError if unknown."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name!r}") from None


def digest_clock(text: str) -> time:
    """``"09:00"`` → time(9, 0); ScheduleError if not HH:MM."""
    parsed = parse_hhmm(text)
    if parsed is None:
        raise ScheduleError(f"digest time {text!r} is not HH:MM")
    return time(*parsed)


def local_now(now: datetime, tz_name: str) -> datetime:
    """``now`` (aware) as wall-clock time in ``tz_name``."""
    if now.tzinfo is None:
        raise ScheduleError("now must be timezone-aware")
    return now.astimezone(zone(tz_name))


def local_date(now: datetime, tz_name: str) -> date:
    """The subscriber's calendar date at instant ``now``."""
    return local_now(now, tz_name).date()


def _latest_occurrence(local: datetime, at: time, weekly_day: int | None) -> date:
    """Local date of the most recent scheduled digest at or before ``local``."""
    today = local.date()
    reached = local.time().replace(tzinfo=None) >= at
    if weekly_day is None:
        return today if reached else today - timedelta(days=1)
    back = (today.weekday() - weekly_day) % 7
    if back == 0 and not reached:
        back = 7
    return today - timedelta(days=back)


def due_date(
    now: datetime,
    *,
    digest_time: str,
    tz_name: str,
    last_local_date: str | date | None,
    weekly_day: int | None = None,
) -> date | None:
    """The local date of the digest due at ``now`` (to record once it is built), or None."""
    local = local_now(now, tz_name)
    occurrence = _latest_occurrence(local, digest_clock(digest_time), weekly_day)
    if last_local_date is None:
        # A new subscriber: only today's occurrence counts, never a catch-up of an older one.
        return occurrence if occurrence == local.date() else None
    last = last_local_date if isinstance(last_local_date, date) else date.fromisoformat(last_local_date)
    return occurrence if occurrence > last else None


def is_due(
    now: datetime,
    *,
    digest_time: str,
    tz_name: str,
    last_local_date: str | date | None,
    weekly_day: int | None = None,
) -> bool:
    """True if a digest should be sent at ``now`` for a subscriber with these settings."""
    return (
        due_date(now, digest_time=digest_time, tz_name=tz_name, last_local_date=last_local_date,
                 weekly_day=weekly_day)
        is not None
    )


def format_local_hhmm(instant: datetime, tz_name: str) -> str:
    """``instant`` as the subscriber's local ``HH:MM`` (for "Nothing new since HH:MM.")."""
    return local_now(instant, tz_name).strftime("%H:%M")
