"""APScheduler wiring. The scheduler is only a trigger: the database is the source of truth, and every
feature re-arms its jobs from the database at start-up, so losing the in-memory job store loses nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

JobFunc = Callable[..., Awaitable[Any]]


class NexusScheduler:
    """Named one-shot jobs at UTC instants. Re-adding a name replaces the previous job."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            # A job that comes due while the loop was busy still runs once, late, rather than being dropped;
            # each feature decides in its own rules what "too late" means.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        if not self._scheduler.running:
            self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def schedule_at(self, name: str, when: datetime, func: JobFunc, *args: Any) -> None:
        if when.tzinfo is None:
            raise ValueError("schedule_at needs an aware datetime")
        self._scheduler.add_job(
            func, "date", run_date=when.astimezone(UTC), args=list(args), id=name, replace_existing=True
        )

    def cancel(self, name: str) -> None:
        if self._scheduler.get_job(name) is not None:
            self._scheduler.remove_job(name)

    def job_names(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())
