"""Changing a follow-up or a task: only allow-listed fields, with an optimistic version
check (the follow-up and task counterpart of `salesops.crm.services.update_record`).

What may be changed is the registry's editable fields less what is set elsewhere
(`crm.services.writable`): what a record hangs on (lead, customer, contact, deal), its
owner, its version, ids and timestamps cannot be changed here, nor a field hidden from
the person; anything else sent is refused with a message naming the fields, and
nothing is written. A task is completed with
`complete_task`, not by setting `done_at`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.activities.models import FollowUp, Task
from salesops.activities.services import FUTURE_TOLERANCE
from salesops.audit import services as audit
from salesops.crm.models import Customer
from salesops.crm.services import writable
from salesops.customization import computed, policy
from salesops.customization.services import clean_custom_values
from salesops.lib.services import NotVisible, ensure_can
from salesops.lib.updates import apply, check_fields, check_version
from salesops.users.models import User


def _lock(model: Any, obj: Any) -> Any:
    found = model.objects.select_for_update().filter(pk=obj.pk).first()
    if found is None:
        raise NotVisible(_("This record does not exist or you may not see it."))
    return found


def _save(obj: Any) -> None:
    obj.full_clean(validate_unique=False, validate_constraints=False)
    obj.version += 1
    obj.save()


@transaction.atomic
def update_followup(
    *,
    followup: FollowUp,
    by: User,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    version: int | None = None,
) -> FollowUp:
    """Change the allowed fields of a follow-up. `version`, when given, must be the
    version the client read (else Conflict). `occurred_at` may not move into the future;
    the customer's last follow-up stays the latest of its follow-ups."""
    ensure_can(by, followup, "edit")
    followup = _lock(FollowUp, followup)
    check_version(followup, version)
    policy.refuse_hidden_writes(by, "followup", set(data) | set(custom or {}))
    check_fields(data, writable(by, "followup"))
    before = followup.occurred_at
    shot = audit.snapshot(followup, data, custom=custom is not None)
    if "occurred_at" in data:
        moment = data["occurred_at"]
        if not isinstance(moment, dt.datetime) or timezone.is_naive(moment):
            raise ValidationError({"occurred_at": _("Give the time with its time zone.")})
        if moment > timezone.now() + FUTURE_TOLERANCE:
            raise ValidationError(
                {
                    "occurred_at": _(
                        "A follow-up cannot be in the future; create a task for it instead."
                    )
                }
            )
    apply(followup, data)
    if custom is not None:
        followup.custom = clean_custom_values(
            object_type="followup", values=custom, existing=followup.custom
        )
    _save(followup)
    audit.record(by=by, obj=followup, action=audit.Action.UPDATED, changes=shot.changes(followup))
    if followup.customer_id is not None and followup.occurred_at != before:
        _keep_last_followup(followup.customer_id, before=before, now=followup.occurred_at)
    return followup


def _keep_last_followup(customer_id: int, *, before: dt.datetime, now: dt.datetime) -> None:
    """Keep `Customer.last_followup_at` = the latest of the customer's follow-ups, in one
    conditional statement each (safe beside concurrent `log_followup` calls)."""
    customers = Customer.all_objects.filter(pk=customer_id)
    if now > before:
        customers.filter(Q(last_followup_at__isnull=True) | Q(last_followup_at__lt=now)).update(
            last_followup_at=now
        )
        computed.refresh(Customer, [customer_id])
        return
    # Moved back: only if this follow-up was the latest does the date fall, to the
    # latest of the others (or this one, if it is still the latest).
    latest = (
        FollowUp.objects.filter(customer=OuterRef("pk"))
        .values("customer")
        .annotate(latest=Max("occurred_at"))
        .values("latest")
    )
    customers.filter(last_followup_at=before).update(last_followup_at=Subquery(latest))
    computed.refresh(Customer, [customer_id])


@transaction.atomic
def update_task(*, task: Task, by: User, data: dict[str, Any], version: int | None = None) -> Task:
    """Change the allowed fields of a task (title, description, due and reminder times,
    priority). `version`, when given, must be the version the client read."""
    ensure_can(by, task, "edit")
    task = _lock(Task, task)
    check_version(task, version)
    policy.refuse_hidden_writes(by, "task", set(data))
    check_fields(data, writable(by, "task"))
    for name in ("due_at", "remind_at"):
        moment = data.get(name)
        if isinstance(moment, dt.datetime) and timezone.is_naive(moment):
            raise ValidationError({name: _("Give the time with its time zone.")})
    reminder = task.remind_at
    shot = audit.snapshot(task, data)
    apply(task, data)
    if task.remind_at and task.due_at and task.remind_at > task.due_at:
        raise ValidationError({"remind_at": _("The reminder must come before the due time.")})
    if task.remind_at != reminder:
        task.reminded_at = None  # a moved reminder is sent again at its new time
    _save(task)
    audit.record(by=by, obj=task, action=audit.Action.UPDATED, changes=shot.changes(task))
    return task
