"""Notices by e-mail through a real SMTP server on 127.0.0.1: at once or as a daily
digest, each mailed once, in the recipient's language, never naming a record they may
no longer see; an SMTP failure loses nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from salesops.activities import reminders
from salesops.activities.tests.factories import TaskFactory
from salesops.automation import schedule
from salesops.automation.models import ScheduleRun
from salesops.automation.tasks import send_notification_digests
from salesops.crm import services
from salesops.crm.tests.factories import CustomerFactory, DealFactory
from salesops.notifications import delivery
from salesops.notifications import services as notifications
from salesops.notifications.models import Notification, Preference

pytestmark = pytest.mark.django_db


def wants(user, email, kind="assigned", language="en"):
    user.language = language
    user.save()
    Preference.objects.create(user=user, kind=kind, email=email)


def test_an_immediate_notice_is_mailed_once_with_a_link_to_the_record(cast, smtp):
    wants(cast.rep, "immediate")
    customer = CustomerFactory(owner=cast.rep_east1, name="Acme Ltd")
    services.assign_customer(customer=customer, to=cast.rep, by=cast.manager)

    assert delivery.send_immediate() == 1
    assert delivery.send_immediate() == 0
    [mail] = smtp.received
    assert mail.to == [cast.rep.email]
    assert mail.subject == "Salesops: manager handed “Acme Ltd” to you."
    text = mail.part("text/plain")
    assert f"http://127.0.0.1:8000/customers/{customer.pk}/" in text
    assert "http://127.0.0.1:8000/notifications/settings/" in text
    note = Notification.objects.get()
    assert note.emailed_at is not None and note.read_at is None  # still unread in the app


def test_the_digest_gathers_each_persons_notices_in_one_mail(cast, smtp):
    wants(cast.rep, "digest")
    wants(cast.manager, "digest")
    for i in range(3):
        notifications.notify(
            cast.rep, "assigned", DealFactory(owner=cast.rep, name=f"D{i}"), key=f"k{i}", by="Boss"
        )
    notifications.notify(
        cast.manager, "assigned", DealFactory(owner=cast.manager, name="M"), key="m", by="Boss"
    )
    assert delivery.send_immediate() == 0  # digests wait for their time

    assert delivery.send_digests() == 2
    assert delivery.send_digests() == 0
    [rep_mail] = smtp.to(cast.rep.email)
    assert rep_mail.subject == "Salesops: 3 new notifications"
    body = rep_mail.part("text/plain")
    assert all(f"Boss handed “D{i}” to you." in body for i in range(3))
    assert "“M”" not in body
    [boss_mail] = smtp.to(cast.manager.email)
    assert boss_mail.subject == "Salesops: 1 new notification"


def test_the_digest_is_a_daily_job_of_the_schedule(cast, smtp):
    wants(cast.rep, "digest")
    notifications.notify(cast.rep, "assigned", DealFactory(owner=cast.rep), key="k", by="Boss")
    job = next(j for j in schedule.all_jobs() if j.name == "notifications.digest")
    assert job.task is send_notification_digests
    morning = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    assert "notifications.digest" in schedule.enqueue_due_jobs(now=morning)
    assert "notifications.digest" not in schedule.enqueue_due_jobs(now=morning)
    assert ScheduleRun.objects.filter(name="notifications.digest").count() == 1
    assert send_notification_digests.call() == 1
    assert len(smtp.received) == 1


def test_an_smtp_failure_keeps_the_notice_and_it_is_mailed_later_once(cast, smtp_down, settings):
    wants(cast.rep, "immediate")
    notifications.notify(cast.rep, "assigned", DealFactory(owner=cast.rep), key="k", by="Boss")
    assert delivery.send_immediate() == 0
    note = Notification.objects.get()
    assert (note.emailed_at, note.email_attempts) == (None, 1)
    # Soon after, the claim still holds: no storm of retries.
    assert delivery.send_immediate(now=timezone.now() + dt.timedelta(minutes=1)) == 0
    assert Notification.objects.get().email_attempts == 1


def test_after_a_failure_the_next_round_past_the_claim_mails_it_once(cast, smtp):
    wants(cast.rep, "immediate")
    notifications.notify(cast.rep, "assigned", DealFactory(owner=cast.rep), key="k", by="Boss")
    # A worker claimed it and died before mailing.
    Notification.objects.update(email_claimed_at=timezone.now(), email_attempts=1)
    assert delivery.send_immediate() == 0  # its claim still holds
    later = timezone.now() + delivery.STALE_CLAIM + dt.timedelta(seconds=1)
    assert delivery.send_immediate(now=later) == 1
    assert delivery.send_immediate(now=later) == 0
    assert len(smtp.received) == 1


def test_a_mail_never_names_a_record_the_recipient_can_no_longer_see(cast, smtp):
    wants(cast.rep, "immediate", kind="task_reminder")
    task = TaskFactory(
        owner=cast.rep, title="Visit Initech", remind_at=timezone.now() - dt.timedelta(minutes=1)
    )
    reminders.send_due_reminders()
    task.owner = cast.outsider  # handed away before the mail went out
    task.save()
    assert delivery.send_immediate() == 1
    [mail] = smtp.received
    assert "Initech" not in mail.subject + mail.part("text/plain")
    assert f"/tasks/{task.pk}/" not in mail.part("text/plain")
    assert mail.subject == "Salesops: Reminder about a task you can no longer open."


def test_a_mail_is_written_in_the_recipients_language(cast, smtp, settings):
    from pathlib import Path

    catalogue = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES" / "django.mo"
    if not catalogue.exists():
        pytest.skip("the zh-Hans catalogue is not compiled (make compiles it)")
    from salesops.crm import pool
    from salesops.crm.models import PoolRule

    PoolRule.objects.create(name="Org", reclaim_after_days_without_followup=30)
    wants(cast.rep, "immediate", kind="pool_reclaimed", language="zh-hans")
    CustomerFactory(
        owner=cast.rep, name="甲公司", owned_since=timezone.now() - dt.timedelta(days=60)
    )
    assert pool.reclaim_customers(now=timezone.now()) == 1
    assert delivery.send_immediate() == 1
    [mail] = smtp.received
    assert "甲公司" in mail.subject and "公海" in mail.subject
    assert "Hello" not in mail.part("text/plain")


def test_a_digest_that_fails_is_tried_again_soon_not_only_tomorrow(cast, smtp_down):
    from django_tasks_db.models import DBTaskResult

    wants(cast.rep, "digest")
    notifications.notify(cast.rep, "assigned", DealFactory(owner=cast.rep), key="k", by="Boss")
    assert send_notification_digests.call() == 0
    [retry] = DBTaskResult.objects.filter(task_path=send_notification_digests.module_path)
    assert retry.run_after > timezone.now() + delivery.STALE_CLAIM
    note = Notification.objects.get()
    assert (note.emailed_at, note.email_attempts) == (None, 1)
