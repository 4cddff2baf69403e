"""APScheduler helpers for the collection job.

The job runs on an ``AsyncIOScheduler`` with ``max_instances=1`` (a slow pass never overlaps
the next), ``coalesce=True`` (after a pause, one pass catches up, not a burst) and a real
``misfire_grace_time`` (APScheduler's default of 1 s silently skips late runs).
A ``SessionInvalid`` from the job (every reading account's session is dead) pauses it:
retrying every interval cannot help until someone runs ``tgdigest login``, and a crash loop
would only hammer Telegram.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.core.clock import utcnow
from bot.errors import SessionInvalid

if TYPE_CHECKING:
    from apscheduler.job import Job
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)

COLLECTION_JOB_ID = "collect"


def collection_interval(config: Config) -> float:
    """Minutes between passes: the shortest of the default and any channel's own interval."""
    intervals = [config.collect.interval] + [c.interval for c in config.channels if c.interval]
    return min(intervals)


def add_collection_job(
    scheduler: BaseScheduler,
    func: Callable[[], Awaitable[Any]],
    *,
    minutes: float,
    jitter: int,
    misfire_grace: int,
    on_session_invalid: Callable[[SessionInvalid], None] | None = None,
    job_id: str = COLLECTION_JOB_ID,
    run_now: bool = True,
) -> Job:
    """Schedule ``func`` every ``minutes`` (plus up to ``jitter`` s); returns the Job."""
    async def job() -> None:
        try:
            await func()
        except SessionInvalid as e:
            log.error("collection stopped: %s", e)
            scheduler.pause_job(job_id)
            if on_session_invalid is not None:
                on_session_invalid(e)

    extra: dict[str, Any] = {}
    if run_now:
        # (next_run_time=None would add the job paused, so it is only passed when wanted.)
        extra["next_run_time"] = utcnow()
    return scheduler.add_job(
        job,
        "interval",
        minutes=minutes,
        jitter=jitter or None,
        id=job_id,
        name="collect channels",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=misfire_grace,
        replace_existing=True,
        **extra,
    )
