"""The pace of Python's cyclic garbage collector during bulk work.

Ingesting allocates a few dozen objects a post (prepared posts, index entries, rows) and
frees almost none of them in cycles, while the dedupe index only grows. At the default pace
(a young collection every 700 net allocations, an older one every 10 of those) the older
generations re-scan the whole index for nothing: a fifth of the writer's time over 100,000
posts. ``fewer_collections`` raises the thresholds while bulk work runs and puts the
process's own setting back when the last such job ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["fewer_collections"]

_lock = threading.Lock()
_floors: list[tuple[int, ...]] = []  # the wanted thresholds of the jobs running now
_saved: tuple[int, int, int] = (0, 0, 0)  # the setting before the first of them


def _apply() -> None:
    if not _saved[0]:  # 0: automatic collection is off, and stays off
        return
    gc.set_threshold(*(
        max([_saved[generation], *(floor[generation] for floor in _floors if len(floor) > generation)])
        for generation in range(3)
    ))


@contextmanager
def fewer_collections(*thresholds: int) -> Iterator[None]:
    """Run the collector at least as seldom as ``thresholds`` (per generation, as for
    ``gc.set_threshold``) for the duration. Jobs may nest or overlap (threads): each keeps
    the slowest pace any of them asked for, and the setting from before the first returns
    when the last ends, also when one fails."""
    global _saved
    floor = tuple(thresholds)
    with _lock:
        if not _floors:
            _saved = gc.get_threshold()
        _floors.append(floor)
        _apply()
    try:
        yield
    finally:
        with _lock:
            _floors.remove(floor)
            if _floors:
                _apply()
            else:
                gc.set_threshold(*_saved)
