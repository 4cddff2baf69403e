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

Importance: within each section stories are listed most important first. The score is
``10 × channels + posts (at most 9) + engagement`` where channels is how many distinct
channels told the story (the strongest signal), posts how many posts it has, and engagement
a fraction below 1 that grows with the views and forwards the source reported (0 when it
gave none); among equal scores the story with the newest post comes first. A digest of more
than ``TOP_AFTER`` stories opens with up to ``TOP_COUNT`` "Top stories": the highest scored stories across categories
(those told by the most channels, since channels weigh most); they are not repeated below.

When a digest would list more than ``max_stories``, the most important are kept and the rest
are only counted in the header.

Linked stories (two stored stories a later post showed to be one): a story linked to one the
chat already has is not new (``already`` holds both); linked stories selected together are
shown as one, under the earliest, with the posts of both (``fold_linked``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.models import Mutes, Story

OTHER = "Other"
TOP = "Top stories"
TOP_COUNT = 3
TOP_AFTER = 10  # a digest with more stories than this opens with the top stories
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


@dataclass(frozen=True, slots=True)
class Importance:
    """What ranks a story in a digest; ``score`` sums it up (see the module doc)."""

    channels: int
    posts: int
    views: int
    forwards: int
    latest: datetime

    @property
    def score(self) -> float:
        engagement = min(math.log10(1 + self.views + 10 * self.forwards) / 10, 0.99)
        return round(10 * self.channels + min(self.posts, 9) + engagement, 3)


def importance(story: Story) -> Importance:
    posts = [sp.post for sp in story.posts]
    return Importance(
        channels=channel_count(story),
        posts=len(posts),
        views=sum(p.views or 0 for p in posts),
        forwards=sum(p.forwards or 0 for p in posts),
        latest=max(p.date for p in posts),
    )


RankKey = tuple[float, datetime, int]


def importance_key(story: Story) -> RankKey:
    """What ``by_importance`` sorts on (descending): score, newest latest post, higher id."""
    found = importance(story)
    return (found.score, found.latest, story.id)


def by_importance(stories: Sequence[Story], *, key: Callable[[Story], RankKey] = importance_key) -> list[Story]:
    """Most important first; newest latest post, then the higher id, among equal scores.
    ``key``: ``importance_key``, or a cached copy of it when many digests rank the same stories."""
    return sorted(stories, key=key, reverse=True)


def fold_linked(stories: Sequence[Story], groups: Mapping[int, Collection[int]]) -> list[Story]:
    """Stories of one linked group shown as one: the earliest (by first post, then id) with the
    posts and categories of all, the others dropped. ``groups``: story id → its linked group."""
    keeper: dict[int, Story] = {}
    for story in sorted(stories, key=lambda s: (s.first_date, s.id)):
        group = groups.get(story.id, ())
        first = next((keeper[m] for m in sorted(group) if m in keeper), None) if group else None
        keeper[story.id] = first if first is not None else story
    folded: dict[int, Story] = {}
    for story in stories:
        head = keeper[story.id]
        if head is story:
            folded.setdefault(story.id, story)
            continue
        base = folded.get(head.id, head)
        posts = tuple(sorted((*base.posts, *story.posts), key=lambda sp: (sp.post.date, sp.post.key)))
        folded[head.id] = replace(
            base, posts=posts, categories=tuple(dict.fromkeys((*base.categories, *story.categories)))
        )
    return [folded[s.id] for s in stories if s.id in folded]


def arrange(
    stories: Sequence[Story],
    category_order: Sequence[str],
    *,
    top_count: int = TOP_COUNT,
    top_after: int = TOP_AFTER,
) -> list[tuple[str, list[Story]]]:
    """The digest's sections in display order: "Top stories" first when the digest has more
    than ``top_after`` stories (each listed there only), then the categories, each most
    important first."""
    ranked = by_importance(stories)
    top: list[Story] = []
    if len(ranked) > top_after:
        top = ranked[:top_count]
    chosen = {s.id for s in top}
    sections = group_sections([s for s in ranked if s.id not in chosen], category_order)
    return ([(TOP, top)] if top else []) + sections


def select_stories(
    candidates: Sequence[Story],
    *,
    matched: Collection[int],
    already: Collection[int],
    window: Window,
    max_stories: int | None = None,
    include_nonnews: bool = False,
    rank: Callable[[Story], RankKey] = importance_key,
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
        ranked = by_importance(chosen, key=rank)
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


def apply_mutes(stories: Sequence[Story], mutes: Mutes) -> list[Story]:
    """``stories`` as a chat that muted things sees them: muted stories left out, posts of
    muted channels taken out of the rest, and a story only muted channels told left out.

    A story another channel also told still comes, told by that channel (its post becomes
    the representative), so muting a noisy channel never hides news from the others."""
    if not mutes:
        return list(stories)
    kept: list[Story] = []
    for story in stories:
        if story.id in mutes.stories:
            continue
        posts = tuple(sp for sp in story.posts if sp.post.channel_id not in mutes.channels)
        if not posts:
            continue
        kept.append(story if len(posts) == len(story.posts) else replace(story, posts=posts))
    return kept
