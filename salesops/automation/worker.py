"""The background worker: django-tasks-db's `Worker` plus what it lacks for production.

* **Heartbeat.** A worker registers a `WorkerHeartbeat` row before it claims anything
  and refreshes it from a housekeeping thread every WORKER_HEARTBEAT_SECONDS, also
  while a long task runs in the main thread.
* **Recovery.** django-tasks-db claims a task by setting it RUNNING with the worker's
  id; a worker killed mid-task leaves it RUNNING forever. `recover_stale_tasks` finds
  RUNNING tasks that started more than WORKER_STALE_SECONDS ago and whose worker (the
  last id in `worker_ids`) has no heartbeat that recent. Each is put back to READY, or
  marked FAILED once WORKER_MAX_ATTEMPTS attempts were lost. The change is a conditional
  UPDATE on (id, RUNNING, started_at), so two workers recovering at once, or the task
  being claimed again in between, cannot double it.
* **Schedule.** The housekeeping thread also enqueues the daily jobs that are due,
  sends the task reminders that are due and wakes the notice mailer
  (`tasks.notices_round`).

Runs on start (before the first claim) and then from the thread; the `salesops worker`
command is the entry point.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from salesops.automation.models import TaskAttempts, WorkerHeartbeat
from salesops.automation.schedule import enqueue_due_jobs
from salesops.automation.tasks import notices_round

logger = logging.getLogger(__name__)

#: Heartbeat rows of workers gone this long are deleted.
FORGET_WORKERS_AFTER = dt.timedelta(days=1)


class WorkerLost(Exception):
    """Recorded as the error of a task whose worker vanished too many times."""


def beat(worker_id: str, *, now: dt.datetime | None = None) -> None:
    """Record that `worker_id` is alive."""
    now = now or timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(last_seen=now)
    if not updated:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=worker_id,
            defaults={"last_seen": now},
            create_defaults={
                "last_seen": now,
                "started_at": now,
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
            },
        )


def forget(worker_id: str) -> None:
    """Remove a worker's heartbeat on a clean exit. A task it still held (a forced exit
    mid-task) is then recovered as soon as it is older than the stale limit."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def _stale_limit() -> dt.timedelta:
    return dt.timedelta(seconds=settings.WORKER_STALE_SECONDS)


def recover_stale_tasks(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Re-queue or fail the RUNNING tasks whose worker is gone: (re-queued, failed)."""
    now = now or timezone.now()
    cutoff = now - _stale_limit()
    live = set(
        WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).values_list("worker_id", flat=True)
    )
    candidates = (
        DBTaskResult.objects.running()
        .filter(started_at__lt=cutoff)
        .values_list("id", "worker_ids", "started_at")
    )
    requeued = failed = 0
    for task_id, worker_ids, started_at in candidates:
        holder = worker_ids[-1] if worker_ids else ""
        if holder in live or started_at is None:
            continue
        outcome = _recover(task_id, holder=holder, started_at=started_at, now=now)
        if outcome == TaskResultStatus.READY:
            requeued += 1
        elif outcome == TaskResultStatus.FAILED:
            failed += 1
    WorkerHeartbeat.objects.filter(last_seen__lt=now - FORGET_WORKERS_AFTER).delete()
    return requeued, failed


def _recover(
    task_id: Any, *, holder: str, started_at: dt.datetime, now: dt.datetime
) -> TaskResultStatus | None:
    with transaction.atomic():
        row = TaskAttempts.objects.filter(task_result_id=task_id).first()
        attempts = (row.attempts if row else 0) + 1
        lost = [*(row.lost_worker_ids if row else []), holder]
        still_lost = DBTaskResult.objects.filter(
            pk=task_id, status=TaskResultStatus.RUNNING, started_at=started_at
        )
        if attempts >= settings.WORKER_MAX_ATTEMPTS:
            outcome = TaskResultStatus.FAILED
            error = (
                f"{WorkerLost.__module__}.{WorkerLost.__qualname__}: the worker running this "
                f"task stopped without finishing it {attempts} time(s) (workers: "
                f"{', '.join(lost)}); it is not retried again. Check the task for a crash, "
                "a memory limit or a hang, then enqueue it anew."
            )
            changed = still_lost.update(
                status=outcome,
                finished_at=now,
                return_value=None,
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=error,
            )
        else:
            outcome = TaskResultStatus.READY
            changed = still_lost.update(status=outcome, started_at=None, worker_ids=[])
        if not changed:
            return None
        TaskAttempts.objects.update_or_create(
            task_result_id=task_id, defaults={"attempts": attempts, "lost_worker_ids": lost}
        )
    log = logger.error if outcome == TaskResultStatus.FAILED else logger.warning
    log(
        "Task %s lost with worker %s (attempt %d): %s",
        task_id,
        holder or "?",
        attempts,
        "marked failed" if outcome == TaskResultStatus.FAILED else "re-queued",
    )
    return outcome


def housekeeping(worker_id: str, *, schedule: bool = True, recover: bool = True) -> None:
    """One round: heartbeat, recovery, due scheduled jobs. Each step fails on its own
    (e.g. a locked SQLite file) without stopping the others or the worker."""
    steps: list[tuple[str, Any]] = [("heartbeat", lambda: beat(worker_id))]
    if recover:
        steps.append(("recovery", recover_stale_tasks))
    if schedule:
        steps.append(("schedule", enqueue_due_jobs))
        steps.append(("notices", notices_round))
    for name, step in steps:
        try:
            step()
        except Exception:
            logger.exception("Worker %s: %s failed; trying again next round", worker_id, name)


class Housekeeper(threading.Thread):
    """Runs `housekeeping` every WORKER_HEARTBEAT_SECONDS beside the task loop."""

    def __init__(self, worker_id: str, *, schedule: bool) -> None:
        super().__init__(name=f"housekeeper-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.schedule = schedule
        self.stopping = threading.Event()

    def run(self) -> None:
        interval = max(1, settings.WORKER_HEARTBEAT_SECONDS)
        # Recovery is needed about once per stale period, not on every beat.
        every = max(1, settings.WORKER_STALE_SECONDS // (2 * interval))
        rounds = 0
        try:
            while not self.stopping.wait(interval):
                rounds += 1
                close_old_connections()
                housekeeping(self.worker_id, schedule=self.schedule, recover=rounds % every == 0)
        finally:
            connections.close_all()  # this thread's connections only

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


class SalesopsWorker(Worker):
    """django-tasks-db's worker with a heartbeat, crash recovery and the daily schedule."""

    def __init__(self, *, schedule: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schedule = schedule

    def run(self) -> None:
        # The heartbeat exists before the first claim, so no other worker can take a
        # task of ours for a lost one.
        housekeeping(self.worker_id, schedule=self.schedule)
        keeper = Housekeeper(self.worker_id, schedule=self.schedule)
        keeper.start()
        try:
            super().run()
        finally:
            keeper.stop()
            try:
                forget(self.worker_id)
            except Exception:
                logger.exception("Worker %s: could not remove its heartbeat", self.worker_id)
