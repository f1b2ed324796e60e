"""Sending due subscriptions: what the background worker's tick runs.

`send_due` does two things, each safe to run from several workers at once:

1. For every active subscription, the latest slot at or before now (not before
   `schedule_from`) gets a `SubscriptionRun` row. The unique (subscription, slot) key
   lets exactly one insert succeed, so a slot is sent once however many workers or
   ticks see it; a worker down for weeks catches up the latest slot once, not each
   missed one.
2. Runs that are waiting, due for a retry, or left `sending` by a worker that died are
   claimed with a conditional UPDATE (status and attempt count unchanged since read) and
   delivered. Each recipient gets an e-mail computed as them; the run records who has
   theirs, so a retry after an SMTP failure mails only the rest. After
   SUBSCRIPTION_SEND_ATTEMPTS failed attempts the run is failed and the error shown on
   the subscription.

A crash between the SMTP server accepting a message and the run recording it can send
that one message again: delivery is at least once per recipient, never per worker.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesops.org.models import Organisation
from salesops.subscriptions import content
from salesops.subscriptions.models import Subscription, SubscriptionRun
from salesops.subscriptions.services import content_problem
from salesops.subscriptions.slots import latest_slot

logger = logging.getLogger(__name__)

Status = SubscriptionRun.Status

#: A run still `sending` after this long lost its worker; it is claimed again.
STALE_SENDING = dt.timedelta(minutes=30)


def create_due_runs(*, now: dt.datetime) -> list[SubscriptionRun]:
    """Insert the run of each active subscription's latest due slot not yet inserted."""
    tz = Organisation.get().tz
    created = []
    for sub in Subscription.objects.active().only(
        "id", "cadence", "weekday", "day_of_month", "hour", "schedule_from"
    ):
        slot = latest_slot(sub, now, tz)
        if slot < sub.schedule_from:
            continue
        if SubscriptionRun.objects.filter(subscription_id=sub.pk, slot=slot).exists():
            continue
        try:
            with transaction.atomic():
                created.append(SubscriptionRun.objects.create(subscription_id=sub.pk, slot=slot))
        except IntegrityError:
            continue  # another worker inserted this slot first
    return created


def claim(run: SubscriptionRun, *, now: dt.datetime) -> bool:
    """Take `run` for this worker; False if someone else changed it since it was read."""
    taken = SubscriptionRun.objects.filter(
        pk=run.pk, status=run.status, attempts=run.attempts
    ).update(status=Status.SENDING, attempts=F("attempts") + 1, claimed_at=now)
    if taken:
        run.refresh_from_db()
    return bool(taken)


def runs_to_work(*, now: dt.datetime) -> list[SubscriptionRun]:
    waiting = Q(status=Status.PENDING)
    retry = Q(status=Status.RETRY, next_attempt_at__lte=now)
    lost = Q(status=Status.SENDING, claimed_at__lt=now - STALE_SENDING)
    return list(SubscriptionRun.objects.filter(waiting | retry | lost).order_by("slot", "id"))


def send_due(*, now: dt.datetime | None = None) -> int:
    """Create the due runs and deliver every run that needs it; how many were sent."""
    now = now or timezone.now()
    create_due_runs(now=now)
    sent = 0
    for run in runs_to_work(now=now):
        if claim(run, now=now):
            sent += deliver(run, now=now) == Status.SENT
    return sent


def deliver(run: SubscriptionRun, *, now: dt.datetime) -> str:
    """Send a claimed run to its recipients still without their e-mail; its new status."""
    sub = Subscription.objects.select_related("team", "rep", "report", "owner").get(
        pk=run.subscription_id
    )
    if not sub.is_active:
        return _finish(run, sub, Status.CANCELLED, now=now)
    day = timezone.localtime(run.slot, Organisation.get().tz).date()
    recipients = list(sub.recipients.select_related("role").order_by("pk"))
    error = ""
    connection = mail.mailers.default
    try:
        for person in recipients:
            if person.pk in run.delivered or person.pk in run.skipped:
                continue
            problem = content_problem(sub, person)
            if problem is not None:
                # Their access changed after they were added: they get nothing.
                run.skipped = [*run.skipped, person.pk]
                with translation.override(sub.owner.language):
                    run.notes = " ".join(filter(None, [run.notes, str(problem)]))
                run.save(update_fields=["skipped", "notes"])
                continue
            body = content.build(sub, person, day)
            try:
                connection.send_messages([content.message(body, person)])
            except Exception as e:  # SMTP refusals, connection errors, timeouts
                error = f"{type(e).__name__}: {e}"
                logger.warning("Subscription %s: sending to %s failed: %s", sub.pk, person, error)
                break
            run.delivered = [*run.delivered, person.pk]
            run.save(update_fields=["delivered"])
    finally:
        connection.close()
    if not error:
        run.error = ""
        return _finish(run, sub, Status.SENT, now=now)
    with translation.override(sub.owner.language):
        message = _("Sending failed (attempt %(n)s of %(max)s): %(error)s") % {
            "n": run.attempts,
            "max": settings.SUBSCRIPTION_SEND_ATTEMPTS,
            "error": error,
        }
    if run.attempts >= settings.SUBSCRIPTION_SEND_ATTEMPTS:
        run.error = message
        return _finish(run, sub, Status.FAILED, now=now)
    run.status = Status.RETRY
    run.error = message
    run.next_attempt_at = now + dt.timedelta(
        minutes=settings.SUBSCRIPTION_RETRY_MINUTES * run.attempts
    )
    run.save(update_fields=["status", "error", "next_attempt_at"])
    Subscription.objects.filter(pk=sub.pk).update(last_run_at=now, last_error=_last_error(run))
    _schedule_retry(run.next_attempt_at)
    return Status.RETRY


def _finish(run: SubscriptionRun, sub: Subscription, status: str, *, now: dt.datetime) -> str:
    run.status = status
    run.finished_at = now
    run.next_attempt_at = None
    run.save(update_fields=["status", "finished_at", "next_attempt_at", "error"])
    changes: dict[str, Any] = {"last_run_at": now, "last_error": _last_error(run)}
    if status == Status.SENT and run.delivered:
        changes["last_sent_at"] = now
    Subscription.objects.filter(pk=sub.pk).update(**changes)
    return status


def _schedule_retry(when: dt.datetime) -> None:
    """Wake a worker at the retry time rather than waiting for the next hourly tick."""
    from salesops.subscriptions.tasks import send_subscriptions

    try:
        send_subscriptions.using(run_after=when).enqueue()
    except Exception:  # the next tick retries anyway
        logger.exception("Could not enqueue the subscription retry for %s", when)


def _last_error(run: SubscriptionRun) -> str:
    """What the subscription shows: the sending error, then who was left out."""
    return " ".join(filter(None, [run.error, run.notes]))
