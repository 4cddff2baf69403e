"""The self-emptying caches of bot.core.caches."""

from __future__ import annotations

from bot.core.caches import remember


def test_remember_stores_and_returns_the_value() -> None:
    cache: dict[str, int] = {}
    assert remember(cache, "a", 1, 3) == 1
    assert remember(cache, "b", 2, 3) == 2
    assert cache == {"a": 1, "b": 2}


def test_remember_empties_a_full_cache_before_storing() -> None:
    cache = {"a": 1, "b": 2, "c": 3}
    assert remember(cache, "d", 4, 3) == 4
    assert cache == {"d": 4}  # emptied at the bound, then the new entry kept
    remember(cache, "d", 5, 3)
    assert cache == {"d": 5}
