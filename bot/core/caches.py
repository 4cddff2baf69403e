"""Per-process caches that empty themselves when full.

The import's stages remember what they derive per distinct piece of text (a line's names, a
chunk's section weights, an entity's keys): news repeats itself within hours, so a cache
that is simply emptied when it reaches its bound keeps the repeats that matter at a
fraction of an LRU's cost a hit (a plain dict lookup, nothing to reorder).
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(cache: dict[K, V], key: K, value: V, limit: int) -> V:
    """Store ``key -> value`` in ``cache``, emptying it first when it holds ``limit`` entries;
    returns ``value``."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value
