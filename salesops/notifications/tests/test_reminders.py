"""Task reminders: sent by the worker at `remind_at`, once, even when the worker is
killed half-way and started again, or two workers run the round at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesops.activities import page_services as task_pages
from salesops.activities import reminders
from salesops.activities.models import Task
from salesops.activities.tests.factories import TaskFactory
from salesops.automation import worker
from salesops.automation.tasks import notices_round, send_notification_emails
from salesops.notifications.models import Notification, Preference
from salesops.notifications.render import as_recipient

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def task(owner, minutes=-1, **values):
    return TaskFactory(
        owner=owner,
        remind_at=NOW + dt.timedelta(minutes=minutes),
        due_at=NOW + dt.timedelta(hours=2),
        **values,
    )


def test_a_due_reminder_is_sent_once_however_often_the_round_runs(cast):
    cast.rep.language = "en"
    cast.rep.save()
    t = task(cast.rep, title="Call Acme")
    later = task(cast.rep, minutes=30)
    assert reminders.send_due_reminders(now=NOW) == 1
    assert reminders.send_due_reminders(now=NOW) == 0
    assert reminders.send_due_reminders(now=NOW + dt.timedelta(minutes=5)) == 0
    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.object_id) == (cast.rep, "task_reminder", t.pk)
    assert as_recipient(note).startswith("Reminder: task “Call Acme” Due: ")
    t.refresh_from_db()
    assert t.reminded_at == NOW
    assert reminders.send_due_reminders(now=NOW + dt.timedelta(minutes=30)) == 1
    assert Notification.objects.filter(object_id=later.pk).count() == 1


def test_a_worker_killed_half_way_leaves_nothing_sent_twice_or_lost(cast):
    tasks = [task(cast.rep, minutes=-i) for i in range(1, 6)]
    # The first worker reminds two tasks and dies (limit stands for the kill).
    assert reminders.send_due_reminders(now=NOW, limit=2) == 2
    # Restarted (and a second worker at the same moment): the rest, once each.
    assert reminders.send_due_reminders(now=NOW + dt.timedelta(seconds=10)) == 3
    assert reminders.send_due_reminders(now=NOW + dt.timedelta(seconds=10)) == 0
    per_task = sorted(Notification.objects.values_list("object_id", flat=True))
    assert per_task == sorted(t.pk for t in tasks)


def test_a_reminder_already_taken_by_another_worker_is_not_sent_again(cast):
    t = task(cast.rep)
    stale = reminders.due(now=NOW)  # this worker read it...
    Task.objects.filter(pk=t.pk).update(reminded_at=NOW)  # ...another reminded it first
    Notification.objects.create(recipient=cast.rep, kind="task_reminder", key="other-worker")
    assert [x.pk for x in stale] == [t.pk]
    assert reminders.send_due_reminders(now=NOW) == 0
    assert Notification.objects.count() == 1


def test_done_deleted_and_unset_reminders_are_not_sent(cast):
    task(cast.rep, done_at=NOW - dt.timedelta(hours=1))
    task(cast.rep).soft_delete()
    TaskFactory(owner=cast.rep, remind_at=None)
    assert reminders.send_due_reminders(now=NOW) == 0


def test_moving_the_reminder_later_reminds_again_at_the_new_time(cast):
    t = task(cast.rep)
    assert reminders.send_due_reminders(now=NOW) == 1
    task_pages.update_task(task=t, by=cast.rep, data={"remind_at": NOW + dt.timedelta(minutes=20)})
    assert reminders.send_due_reminders(now=NOW + dt.timedelta(minutes=10)) == 0
    assert reminders.send_due_reminders(now=NOW + dt.timedelta(minutes=21)) == 1
    assert Notification.objects.filter(object_id=t.pk).count() == 2


def test_the_reminder_hides_the_due_time_from_a_role_that_hides_it(cast):
    cast.rep.language = "en"
    cast.rep.save()
    cast.rep.role.hidden_fields = {"task": ["due_at"]}
    cast.rep.role.save()
    task(cast.rep, title="Secret timing")
    reminders.send_due_reminders(now=NOW)
    assert as_recipient(Notification.objects.get()) == "Reminder: task “Secret timing”"


def test_the_workers_housekeeping_round_sends_reminders_and_wakes_the_mailer_once(cast):
    Preference.objects.create(user=cast.rep, kind="task_reminder", email="immediate")
    TaskFactory(owner=cast.rep, remind_at=timezone.now() - dt.timedelta(minutes=1))
    worker.housekeeping("test-worker")
    assert Notification.objects.filter(kind="task_reminder").count() == 1
    notices_round()
    worker.housekeeping("test-worker-2")  # another worker: nothing new, no second task
    mailers = DBTaskResult.objects.ready().filter(task_path=send_notification_emails.module_path)
    assert mailers.count() == 1
    assert Notification.objects.filter(kind="task_reminder").count() == 1
