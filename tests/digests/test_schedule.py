"""When a digest is due: daily, weekly, DST days in two zones, catch-up after downtime."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.digests.schedule import ScheduleError, due_date, format_local_hhmm, is_due


def simulate(
    start: datetime, hours: int, *, tz: str, at: str, step_minutes: int = 1, weekly_day: int | None = None,
    last: str | None = None,
) -> list[tuple[date, datetime]]:
    """Tick every ``step_minutes`` from ``start`` for ``hours``; return (local date, UTC instant) of each digest."""
    sent: list[tuple[date, datetime]] = []
    now = start
    end = start + timedelta(hours=hours)
    while now < end:
        due = due_date(now, digest_time=at, tz_name=tz, last_local_date=last, weekly_day=weekly_day)
        if due is not None:
            sent.append((due, now))
            last = due.isoformat()
        now += timedelta(minutes=step_minutes)
    return sent


def test_due_once_the_local_time_is_reached() -> None:
    """A 09:00 Europe/Berlin digest is not due at 08:59 local and is due at 09:00 local."""
    before = datetime(2024, 6, 3, 6, 59, tzinfo=UTC)  # 08:59 CEST
    after = datetime(2024, 6, 3, 7, 0, tzinfo=UTC)
    assert not is_due(before, digest_time="09:00", tz_name="Europe/Berlin", last_local_date="2024-06-02")
    assert is_due(after, digest_time="09:00", tz_name="Europe/Berlin", last_local_date="2024-06-02")


def test_not_due_again_the_same_local_date() -> None:
    """Once today's digest is recorded, later ticks that day are not due."""
    now = datetime(2024, 6, 3, 20, 0, tzinfo=UTC)
    assert not is_due(now, digest_time="09:00", tz_name="UTC", last_local_date="2024-06-03")


def test_local_date_not_utc_date_decides() -> None:
    """At 23:30 UTC it is already the next day in Tokyo, so Tokyo's digest for that date is due."""
    now = datetime(2024, 6, 3, 23, 30, tzinfo=UTC)  # 08:30 on 4 June in Tokyo
    assert is_due(now, digest_time="08:00", tz_name="Asia/Tokyo", last_local_date="2024-06-03")
    assert not is_due(now, digest_time="09:00", tz_name="Asia/Tokyo", last_local_date="2024-06-03")


@pytest.mark.parametrize(
    ("tz", "day"),
    [
        ("Europe/Berlin", datetime(2024, 3, 30, tzinfo=UTC)),  # spring forward 31 March 02:00 -> 03:00
        ("Europe/Berlin", datetime(2024, 10, 26, tzinfo=UTC)),  # fall back 27 October 03:00 -> 02:00
        ("America/New_York", datetime(2024, 3, 9, tzinfo=UTC)),  # spring forward 10 March 02:00 -> 03:00
        ("America/New_York", datetime(2024, 11, 2, tzinfo=UTC)),  # fall back 3 November 02:00 -> 01:00
    ],
)
@pytest.mark.parametrize("at", ["00:00", "01:30", "02:00", "02:30", "02:59", "03:00", "09:00", "23:59"])
def test_dst_days_one_digest_per_local_date(tz: str, day: datetime, at: str) -> None:
    """Ticking every two minutes over three days around a DST change sends exactly one digest per local date."""
    last = (day - timedelta(days=1)).date().isoformat()
    sent = simulate(day - timedelta(hours=12), 24 * 3, tz=tz, at=at, last=last, step_minutes=2)
    dates = [d for d, _ in sent]
    assert len(dates) == len(set(dates)), f"double digest: {sent}"
    first = dates[0]
    expected = [first + timedelta(days=i) for i in range(len(dates))]
    assert dates == expected, f"a day was skipped: {dates}"
    assert len(dates) >= 2


def test_spring_forward_sends_a_missing_time_at_the_first_later_minute() -> None:
    """On the Berlin spring-forward day a 02:30 digest goes out at 03:00 local (01:00 UTC), not skipped."""
    sent = simulate(datetime(2024, 3, 30, 22, 0, tzinfo=UTC), 6, tz="Europe/Berlin", at="02:30", last="2024-03-30")
    assert sent == [(date(2024, 3, 31), datetime(2024, 3, 31, 1, 0, tzinfo=UTC))]


def test_fall_back_sends_an_ambiguous_time_only_the_first_time() -> None:
    """On the New York fall-back day, 01:30 happens twice; only the first sends."""
    sent = simulate(datetime(2024, 11, 3, 4, 0, tzinfo=UTC), 4, tz="America/New_York", at="01:30", last="2024-11-02")
    assert sent == [(date(2024, 11, 3), datetime(2024, 11, 3, 5, 30, tzinfo=UTC))]  # 01:30 EDT


def test_catch_up_after_downtime_is_one_digest() -> None:
    """Back after three days down, past the digest time: one digest is due at once, then none until tomorrow."""
    now = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
    sent = simulate(now, 20, tz="UTC", at="09:00", last="2024-06-07")
    assert sent == [(date(2024, 6, 10), now)]


def test_catch_up_before_todays_time_sends_on_start_then_today_on_time() -> None:
    """Back at 07:00 after missing days: one catch-up digest on start (for yesterday), then today's at 09:00."""
    start = datetime(2024, 6, 10, 7, 0, tzinfo=UTC)
    sent = simulate(start, 12, tz="UTC", at="09:00", last="2024-06-07")
    assert sent == [
        (date(2024, 6, 9), start),
        (date(2024, 6, 10), datetime(2024, 6, 10, 9, 0, tzinfo=UTC)),
    ]


def test_a_tick_just_after_midnight_still_sends_a_23_59_digest() -> None:
    """Ticks at 23:58 and 00:00 (a coarse or late tick) do not skip the 23:59 digest."""
    sent = simulate(datetime(2024, 6, 9, 23, 58, tzinfo=UTC), 1, tz="UTC", at="23:59", step_minutes=2,
                    last="2024-06-08")
    assert sent == [(date(2024, 6, 9), datetime(2024, 6, 10, 0, 0, tzinfo=UTC))]


def test_weekly_only_on_its_day() -> None:
    """A Monday weekly digest is due on Monday after its time and not on the other days."""
    sent = simulate(datetime(2024, 6, 1, tzinfo=UTC), 24 * 14, tz="UTC", at="09:00", step_minutes=15,
                    weekly_day=0, last="2024-05-27")
    assert [d for d, _ in sent] == [date(2024, 6, 3), date(2024, 6, 10)]


def test_weekly_missed_while_down_is_sent_on_start() -> None:
    """A Monday digest missed because the service was down goes out on Wednesday's start, once."""
    start = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)
    sent = simulate(start, 24 * 3, tz="UTC", at="09:00", step_minutes=15, weekly_day=0, last="2024-05-27")
    assert sent == [(date(2024, 6, 3), start)]


def test_new_subscriber_is_not_sent_last_weeks_weekly() -> None:
    """A new weekly subscriber joining on Wednesday waits for Monday."""
    now = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)
    assert not is_due(now, digest_time="09:00", tz_name="UTC", last_local_date=None, weekly_day=0)


def test_bad_settings_raise_schedule_error() -> None:
    """An unknown zone or a malformed time raises ScheduleError with the value in the message."""
    now = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)
    with pytest.raises(ScheduleError, match="Mars/Olympus"):
        is_due(now, digest_time="09:00", tz_name="Mars/Olympus", last_local_date=None)
    with pytest.raises(ScheduleError, match="25:00"):
        is_due(now, digest_time="25:00", tz_name="UTC", last_local_date=None)


def test_format_local_hhmm_uses_the_subscribers_zone() -> None:
    """12:00 UTC is shown as 08:00 to a New York subscriber in summer."""
    assert format_local_hhmm(datetime(2024, 6, 5, 12, 0, tzinfo=UTC), "America/New_York") == "08:00"
