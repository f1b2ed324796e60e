"""Bookkeeping of the background worker: who is alive, what was lost, what has run today.

The task queue itself is django-tasks-db's `DBTaskResult`; these tables sit beside it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """A running `salesops worker`: it refreshes `last_seen` every
    WORKER_HEARTBEAT_SECONDS. A task held by a worker whose row is older than
    WORKER_STALE_SECONDS (or missing) was lost with that worker."""

    worker_id = models.CharField(_("worker id"), max_length=64, unique=True)
    hostname = models.CharField(_("host"), max_length=255, blank=True)
    pid = models.PositiveIntegerField(_("process id"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-last_seen"]
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.worker_id} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"


class TaskAttempts(models.Model):
    """How many times a task was started by a worker that then vanished (killed,
    out of memory, machine lost). Past WORKER_MAX_ATTEMPTS the task is marked failed."""

    task_result = models.OneToOneField(
        "django_tasks_database.DBTaskResult",
        verbose_name=_("task"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    attempts = models.PositiveIntegerField(_("attempts lost with their worker"), default=0)
    lost_worker_ids = models.JSONField(_("workers that vanished"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("lost task attempts")
        verbose_name_plural = _("lost task attempts")

    def __str__(self) -> str:
        return f"{self.task_result_id}: {self.attempts}"


class ScheduleRun(models.Model):
    """One scheduled job enqueued for one business day. The unique key is what keeps
    several workers from enqueuing the same day twice: the second insert fails."""

    name = models.CharField(_("job"), max_length=100)
    due_on = models.DateField(_("for the day"))
    enqueued_at = models.DateTimeField(_("enqueued at"), default=timezone.now)
    task_result_id = models.CharField(_("task id"), max_length=64, blank=True)

    class Meta:
        ordering = ["-due_on", "name"]
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        constraints = [
            models.UniqueConstraint(fields=["name", "due_on"], name="schedule_run_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.due_on}"
