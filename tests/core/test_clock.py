"""The one spelling of instants: parse_instant / from_iso / to_iso."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.clock import from_iso, parse_instant, to_iso, utcnow


def test_parse_instant_takes_naive_as_utc_and_converts_offsets() -> None:
    assert parse_instant("2025-07-01") == datetime(2025, 7, 1, tzinfo=UTC)
    assert parse_instant("2025-07-01T12:00") == datetime(2025, 7, 1, 12, tzinfo=UTC)
    moscow = parse_instant("2025-07-01T12:00+03:00")
    assert moscow == datetime(2025, 7, 1, 9, tzinfo=UTC) and moscow.utcoffset() == timedelta(0)
    with pytest.raises(ValueError):
        parse_instant("yesterday")


def test_stored_form_round_trips_at_second_precision() -> None:
    when = datetime(2025, 7, 1, 12, 30, 15, 999, tzinfo=timezone(timedelta(hours=2)))
    assert to_iso(when) == "2025-07-01T10:30:15+00:00"
    assert from_iso(to_iso(when)) == when.replace(microsecond=0)
    assert from_iso(None) is None and from_iso("") is None
    assert utcnow().tzinfo is UTC
