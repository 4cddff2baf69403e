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
    return value.replace(microsecond=0).isoformat()


def from_iso(value: str | None) -> datetime | None:
    """An instant back from its stored form; naive values are taken as UTC."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
