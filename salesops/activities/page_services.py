"""Writes on tasks the pages need beyond `services`: changing a task and handing it to
someone else. Same contract as `services`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from salesops.activities.models import Task
from salesops.audit import services as audit
from salesops.crm.services import writable
from salesops.customization import policy
from salesops.lib.services import NotVisible, ensure_can
from salesops.lib.updates import apply, check_fields, check_version
from salesops.notifications import services as notifications
from salesops.users.models import User


def _lock(task: Task) -> Task:
    try:
        return Task.objects.select_for_update().get(pk=task.pk)
    except Task.DoesNotExist:
        raise NotVisible(_("This record does not exist or you may not see it.")) from None


def _check_assignee(by: User, owner: User) -> None:
    visible = by.visible_owner_ids()
    if visible is not None and owner.pk not in visible:
        raise ValidationError(
            {"owner": _("You may only assign tasks to yourself or people in your data scope.")}
        )
    if not owner.is_active:
        raise ValidationError(
            {"owner": _("%(name)s is deactivated; choose an active user.") % {"name": owner}}
        )


@transaction.atomic
def update_task(
    *,
    task: Task,
    by: User,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    version: int | None = None,
) -> Task:
    """Change a task's title, description, due and reminder times, priority or custom
    fields."""
    from salesops.customization.services import clean_custom_values

    ensure_can(by, task, "edit")
    task = _lock(task)
    check_version(task, version)
    policy.refuse_hidden_writes(by, "task", set(data))
    check_fields(data, writable(by, "task"))
    shot = audit.snapshot(task, data, custom=custom is not None)
    reminder = task.remind_at
    apply(task, data)
    if task.remind_at != reminder:
        task.reminded_at = None  # a new reminder time is reminded again
    if custom is not None:
        task.custom = clean_custom_values(object_type="task", values=custom, existing=task.custom)
    if task.remind_at and task.due_at and task.remind_at > task.due_at:
        raise ValidationError({"remind_at": _("The reminder must come before the due time.")})
    task.full_clean(validate_unique=False)
    task.version += 1
    task.save()
    audit.record(by=by, obj=task, action=audit.Action.UPDATED, changes=shot.changes(task))
    return task


@transaction.atomic
def assign_task(*, task: Task, to: User, by: User) -> Task:
    ensure_can(by, task, "edit")
    _check_assignee(by, to)
    task = _lock(task)
    if task.owner_id != to.pk:
        shot = audit.snapshot(task, ["owner"])
        task.owner = to
        task.version += 1
        task.save(update_fields=["owner", "version", "updated_at"])
        audit.record(by=by, obj=task, action=audit.Action.OWNER_CHANGED, changes=shot.changes(task))
        notifications.assigned(obj=task, to=to, by=by)
    return task
