"""The daily schedule: which task runs at which time of day (organisation's time zone).

Every worker calls `enqueue_due_jobs` often. For each job it works out the latest
occurrence that is already due (today if the time has passed, else yesterday) and
inserts a `ScheduleRun(name, day)` together with the task in one transaction. The unique
key on (name, day) makes the insert succeed for exactly one worker; the others skip.
A worker that was down at the due time therefore catches up once when it comes back,
and a worker down for a week runs each job once, not seven times.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from salesops.automation.models import ScheduleRun
from salesops.automation.tasks import reclaim_pool, warn_pool
from salesops.org.models import Organisation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    task: Any  # a django.tasks Task taking no arguments
    at: dt.time  # time of day in the organisation's time zone


#: Reclaim runs at night so that the morning's warnings already see the new state.
SCHEDULE: list[Job] = [
    Job("pool.reclaim", reclaim_pool, dt.time(0, 30)),
    Job("pool.warn", warn_pool, dt.time(8, 0)),
]


#: Jobs of higher layers (which automation may not import), added from their app's
#: `ready()` through `register`.
_registered: list[Job] = []


def register(job: Job) -> None:
    """Add a job of another app to the daily schedule (once per name)."""
    if all(j.name != job.name for j in (*SCHEDULE, *_registered)):
        _registered.append(job)


def all_jobs() -> list[Job]:
    return [*SCHEDULE, *_registered]


def latest_due_day(*, at: dt.time, local_now: dt.datetime) -> dt.date:
    """The business day of the most recent occurrence of `at` not after `local_now`."""
    today = local_now.date()
    return today if local_now.time() >= at else today - dt.timedelta(days=1)


def enqueue_due_jobs(
    *, now: dt.datetime | None = None, schedule: list[Job] | None = None
) -> list[str]:
    """Enqueue each job whose latest due occurrence has not been enqueued yet; the names
    of the jobs this call enqueued. Cheap when there is nothing to do: one query."""
    jobs = all_jobs() if schedule is None else schedule
    local_now = timezone.localtime(now or timezone.now(), Organisation.get().tz)
    due = {job.name: latest_due_day(at=job.at, local_now=local_now) for job in jobs}
    done = set(
        ScheduleRun.objects.filter(
            due_on__gte=min(due.values(), default=local_now.date())
        ).values_list("name", "due_on")
    )
    enqueued = []
    for job in jobs:
        day = due[job.name]
        if (job.name, day) in done:
            continue
        try:
            with transaction.atomic():
                run = ScheduleRun.objects.create(name=job.name, due_on=day)
                result = job.task.enqueue()
                run.task_result_id = str(result.id)
                run.save(update_fields=["task_result_id"])
        except IntegrityError:
            continue  # another worker got there first
        logger.info("Enqueued scheduled job %s for %s", job.name, day)
        enqueued.append(job.name)
    return enqueued
