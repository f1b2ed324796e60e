"""Background tasks (`django.tasks`, run by `salesops worker`).

Each task is a thin wrapper around a domain function, so the same code runs from the
worker, a test or a shell."""

from __future__ import annotations

import datetime as dt

from django.tasks import task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesops.activities import reminders
from salesops.crm import pool
from salesops.notifications import delivery
from salesops.notifications.models import Email


@task
def reclaim_pool() -> int:
    """Return customers due today to the public pool; how many moved."""
    return pool.reclaim_customers(now=timezone.now())


@task
def warn_pool() -> int:
    """Warn owners of customers that return to the pool soon; how many warnings."""
    return pool.warn_customers(now=timezone.now())


@task
def purge_recycle_bin() -> int:
    """Delete for good the records deleted longer ago than the recycle bin keeps them."""
    from salesops.automation import recycle

    return recycle.purge(now=timezone.now())


@task
def send_notification_emails() -> int:
    """E-mail the notices their recipients want at once; how many went out."""
    return delivery.send_immediate(now=timezone.now())


@task
def send_notification_digests() -> int:
    """E-mail each person's daily digest of notices; how many digests went out."""
    sent = delivery.send_digests(now=timezone.now())
    if delivery.unsent(email=Email.DIGEST).exists():
        # Some are left (a digest is capped, or the SMTP server failed): try again once
        # the claims have expired, not only tomorrow (each try counts an attempt, so
        # this stops after delivery.MAX_ATTEMPTS).
        retry_at = timezone.now() + delivery.STALE_CLAIM + dt.timedelta(minutes=1)
        send_notification_digests.using(run_after=retry_at).enqueue()
    return sent


def notices_round(*, now: dt.datetime | None = None) -> None:
    """What every worker does each housekeeping round (seconds apart): send the task
    reminders that are due, and wake the mailer when notices wait to be mailed at once.
    Cheap when there is nothing to do: two indexed look-ups."""
    now = now or timezone.now()
    reminders.send_due_reminders(now=now)
    if not delivery.waiting(email=Email.IMMEDIATE, now=now).exists():
        return
    path = send_notification_emails.module_path
    if not DBTaskResult.objects.ready().filter(task_path=path).exists():
        send_notification_emails.enqueue()
