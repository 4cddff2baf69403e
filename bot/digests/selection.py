"""Which stories go into a subscriber's digest, and under which heading. Pure functions.

The window: a digest covers the stories *first published* (the date of a story's earliest
post) from the previous digest up to now; a first digest looks back ``first_lookback``.
The window opens ``late_grace`` before the previous digest, so a story posted minutes
before a digest but collected minutes after it is not lost; the deliveries table (one row
per chat and story) keeps that overlap from ever repeating a story. Anything published
before the window -- an import, a backfill, a newly added channel -- never counts, however
late it arrives.

Sections: a story tagged with several categories is listed once, under the first of them
in config order; stories with no configured category go to "Other", always last.

When a digest would list more than ``max_stories``, the ones told by the most channels are
kept (newest first among equals) and the rest are only counted in the header.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.models import Story

OTHER = "Other"
DEFAULT_LATE_GRACE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Window:
    """Stories whose first post date is in ``[start, end)``; ``since`` is what users see."""

    start: datetime
    end: datetime
    since: datetime


@dataclass(frozen=True, slots=True)
class Selection:
    """The stories a digest lists (oldest first) and how many more matched but were left out."""

    stories: tuple[Story, ...]
    omitted: int = 0

    def __bool__(self) -> bool:
        return bool(self.stories)

    @property
    def story_ids(self) -> tuple[int, ...]:
        return tuple(s.id for s in self.stories)


def digest_window(
    *,
    now: datetime,
    last_digest_at: datetime | None,
    first_lookback: timedelta,
    late_grace: timedelta = DEFAULT_LATE_GRACE,
) -> Window:
    """The window of the digest built at ``now`` after a previous one at ``last_digest_at``."""
    if last_digest_at is None or last_digest_at > now:
        since = now - first_lookback
        return Window(start=since, end=now, since=since)
    return Window(start=last_digest_at - late_grace, end=now, since=last_digest_at)


def channel_count(story: Story) -> int:
    """How many distinct channels told the story."""
    return len({sp.post.channel_id for sp in story.posts})


def select_stories(
    candidates: Sequence[Story],
    *,
    matched: Collection[int],
    already: Collection[int],
    window: Window,
    max_stories: int | None = None,
    include_nonnews: bool = False,
) -> Selection:
    """Matched stories first published inside ``window`` that the chat has not been given.

    ``already`` holds the story ids the chat has a delivery row for (sent, or waiting in
    an outbox), by digest or by alert. Stories that are not news (advertising, promotions,
    greetings...) are left out unless the chat asked for them (``include_nonnews``).
    """
    seen: set[int] = set()
    chosen: list[Story] = []
    for story in candidates:
        if story.id in seen or story.id not in matched or story.id in already or not story.posts:
            continue
        if not story.news and not include_nonnews:
            continue
        if not window.start <= story.first_date < window.end:
            continue
        seen.add(story.id)
        chosen.append(story)
    omitted = 0
    if max_stories is not None and len(chosen) > max_stories:
        ranked = sorted(chosen, key=lambda s: (channel_count(s), s.first_date, s.id), reverse=True)
        keep = {s.id for s in ranked[: max(max_stories, 0)]}
        omitted = len(chosen) - len(keep)
        chosen = [s for s in chosen if s.id in keep]
    chosen.sort(key=lambda s: (s.first_date, s.id))
    return Selection(stories=tuple(chosen), omitted=omitted)


def story_categories(story: Story) -> tuple[str, ...]:
    """The story's categories; falls back to the union of its posts' categories."""
    if story.categories:
        return story.categories
    return tuple(dict.fromkeys(c for sp in story.posts for c in sp.categories))


def section_of(story: Story, category_order: Sequence[str]) -> str:
    """The one section a story is listed under: its first category in config order, else Other."""
    mine = {c.casefold() for c in story_categories(story)}
    for name in category_order:
        if name.casefold() in mine:
            return name
    return OTHER


def group_sections(stories: Sequence[Story], category_order: Sequence[str]) -> list[tuple[str, list[Story]]]:
    """Non-empty sections in config order, "Other" last; stories keep their order inside."""
    buckets: dict[str, list[Story]] = {name: [] for name in category_order}
    buckets.setdefault(OTHER, [])
    for story in stories:
        buckets[section_of(story, category_order)].append(story)
    ordered = [name for name in category_order if name != OTHER] + [OTHER]
    return [(name, buckets[name]) for name in ordered if buckets[name]]
