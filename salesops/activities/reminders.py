"""Task reminders: at a task's `remind_at` its assignee is notified, once.

The worker calls `send_due_reminders` every housekeeping round (a few seconds apart).
Each due task is taken with a conditional UPDATE of `reminded_at` (still unset), in the
same transaction as its notice, whose key carries the reminder time: a worker killed
half-way leaves each task either reminded with its notice or neither, the next round
picks up the rest, and two workers never both remind. Moving `remind_at` later clears
`reminded_at` (`page_services.update_task`), so the new time is reminded again.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.activities.models import Task
from salesops.customization import policy
from salesops.notifications import kinds
from salesops.notifications import services as notifications
from salesops.org.models import Organisation

TASK_REMINDER = "task_reminder"
#: Tasks reminded per round; the next round (seconds later) takes the rest.
BATCH = 500


def _messages(notice: kinds.Notice) -> tuple[str, str]:
    if notice.name is None:
        return _("Reminder about a task you can no longer open."), ""
    title = _("Reminder: task “%(name)s”") % {"name": notice.name}
    due = notice.params.get("due_at")
    reader = notice.reader
    if not due or (reader is not None and "due_at" in policy.hidden_keys(reader, "task")):
        return title, ""
    moment = timezone.localtime(dt.datetime.fromisoformat(due), Organisation.get().tz)
    return title, _("Due: %(when)s") % {"when": formats.date_format(moment, "DATETIME_FORMAT")}


def register_kinds() -> None:
    kinds.register(kinds.Kind(TASK_REMINDER, gettext_lazy("Task reminders"), _messages))


def due(*, now: dt.datetime) -> list[Task]:
    """Open, live tasks whose reminder time has come and that were not reminded yet
    (the partial index `task_remind` holds exactly these)."""
    return list(
        Task.objects.filter(
            done_at__isnull=True, reminded_at__isnull=True, remind_at__lte=now
        ).only("id", "title", "owner_id", "remind_at", "due_at")[:BATCH]
    )


def send_due_reminders(*, now: dt.datetime | None = None, limit: int | None = None) -> int:
    """Remind the assignees of the due tasks; how many reminders this call sent.
    `limit` stops after that many (tests use it to stand for a worker killed half-way)."""
    now = now or timezone.now()
    sent = 0
    for task in due(now=now):
        if limit is not None and sent >= limit:
            break
        if task.owner_id is None or task.remind_at is None:
            continue
        with transaction.atomic():
            taken = Task.objects.filter(
                pk=task.pk, reminded_at__isnull=True, remind_at=task.remind_at
            ).update(reminded_at=now)
            if not taken:
                continue  # another worker reminded it, or the time moved meanwhile
            notifications.notify_many(
                [
                    notifications.outgoing(
                        task.owner_id,
                        TASK_REMINDER,
                        task,
                        key=f"task-reminder:{task.pk}:{task.remind_at.isoformat()}",
                        due_at=task.due_at.isoformat() if task.due_at else None,
                    )
                ]
            )
        sent += 1
    return sent
