"""Writes on follow-ups and tasks (the only write path for them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.activities.models import FollowUp, Task
from salesops.audit import services as audit
from salesops.crm.models import Contact, Customer, Deal, Lead
from salesops.customization import computed, policy
from salesops.customization.services import clean_custom_values
from salesops.lib.services import ensure_can, ensure_right
from salesops.notifications import services as notifications
from salesops.users.models import User

#: A follow-up may be logged this far ahead of the server clock (clock skew), no more.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def _links(
    *,
    by: User,
    lead: Lead | None,
    customer: Customer | None,
    contact: Contact | None,
    deal: Deal | None,
) -> Customer | None:
    """Check the records a follow-up or task hangs on: visible to `by` and consistent.
    Returns the customer implied by the links."""
    for obj in (lead, customer, contact, deal):
        if obj is not None:
            ensure_can(by, obj, "view")
    implied = customer
    for obj in (contact, deal):
        if obj is None:
            continue
        if implied is None:
            implied = obj.customer
        elif obj.customer_id != implied.pk:
            raise ValidationError(
                _("The contact and the deal must belong to the same customer as the record.")
            )
    return implied


@transaction.atomic
def log_followup(
    *,
    by: User,
    kind: str,
    occurred_at: dt.datetime | None = None,
    lead: Lead | None = None,
    customer: Customer | None = None,
    contact: Contact | None = None,
    deal: Deal | None = None,
    subject: str = "",
    outcome: str = "",
    next_step: str = "",
    duration_minutes: int | None = None,
    custom: dict[str, Any] | None = None,
) -> FollowUp:
    """Record a call, visit, meeting, e-mail, message or note. It moves the customer's
    "last follow-up" forward (which keeps it out of the public pool) and a new lead to
    "contacted"."""
    ensure_right(by, "followup", "create")
    policy.refuse_hidden_writes(by, "followup", set(custom or {}))
    if not any((lead, customer, contact, deal)):
        raise ValidationError(_("Link the follow-up to a lead, a customer, a contact or a deal."))
    customer = _links(by=by, lead=lead, customer=customer, contact=contact, deal=deal)
    now = timezone.now()
    occurred_at = occurred_at or now
    if timezone.is_naive(occurred_at):
        raise ValidationError({"occurred_at": _("Give the time with its time zone.")})
    if occurred_at > now + FUTURE_TOLERANCE:
        raise ValidationError(
            {"occurred_at": _("A follow-up cannot be in the future; create a task for it instead.")}
        )
    followup = FollowUp(
        owner=by,
        kind=kind,
        occurred_at=occurred_at,
        lead=lead,
        customer=customer,
        contact=contact,
        deal=deal,
        subject=subject,
        outcome=outcome,
        next_step=next_step,
        duration_minutes=duration_minutes,
    )
    followup.custom = clean_custom_values(object_type="followup", values=custom)
    followup.full_clean(validate_unique=False, validate_constraints=False)
    followup.save()
    audit.record(by=by, obj=followup, action=audit.Action.CREATED)
    if customer is not None:
        # Only ever forward: a back-dated follow-up must not pull the date back.
        Customer.all_objects.filter(pk=customer.pk).filter(
            Q(last_followup_at__isnull=True) | Q(last_followup_at__lt=occurred_at)
        ).update(last_followup_at=occurred_at)
        computed.refresh(Customer, [customer.pk])
    if lead is not None and lead.status == Lead.Status.NEW and kind in FollowUp.TOUCHPOINT_KINDS:
        Lead.objects.filter(pk=lead.pk, status=Lead.Status.NEW).update(status=Lead.Status.CONTACTED)
        computed.refresh(Lead, [lead.pk])
    return followup


@transaction.atomic
def create_task(
    *,
    by: User,
    title: str,
    owner: User | None = None,
    due_at: dt.datetime | None = None,
    remind_at: dt.datetime | None = None,
    description: str = "",
    priority: str = Task.Priority.NORMAL,
    lead: Lead | None = None,
    customer: Customer | None = None,
    contact: Contact | None = None,
    deal: Deal | None = None,
    custom: dict[str, Any] | None = None,
) -> Task:
    ensure_right(by, "task", "create")
    owner = owner or by
    visible = by.visible_owner_ids()
    if visible is not None and owner.pk not in visible:
        raise ValidationError(
            {"owner": _("You may only assign tasks to yourself or people in your data scope.")}
        )
    if not owner.is_active:
        raise ValidationError(
            {"owner": _("%(name)s is deactivated; choose an active user.") % {"name": owner}}
        )
    customer = _links(by=by, lead=lead, customer=customer, contact=contact, deal=deal)
    if remind_at and due_at and remind_at > due_at:
        raise ValidationError({"remind_at": _("The reminder must come before the due time.")})
    task = Task(
        owner=owner,
        created_by=by,
        title=title,
        description=description,
        due_at=due_at,
        remind_at=remind_at,
        priority=priority,
        lead=lead,
        customer=customer,
        contact=contact,
        deal=deal,
    )
    task.custom = clean_custom_values(object_type="task", values=custom)
    task.full_clean(validate_unique=False, validate_constraints=False)
    task.save()
    audit.record(by=by, obj=task, action=audit.Action.CREATED)
    notifications.assigned(obj=task, to=owner, by=by)
    return task


@transaction.atomic
def complete_task(*, task: Task, by: User, done: bool = True) -> Task:
    ensure_can(by, task, "edit")
    was_done = Task.objects.filter(pk=task.pk).values_list("done_at", flat=True).first()
    Task.objects.filter(pk=task.pk).update(
        done_at=timezone.now() if done else None, version=F("version") + 1
    )
    computed.refresh(Task, [task.pk])
    task.refresh_from_db()
    if (was_done is None) == done:  # a real change, not done twice
        audit.record(
            by=by,
            obj=task,
            action=audit.Action.COMPLETED if done else audit.Action.REOPENED,
            changes={"done_at": {"old": audit.plain(was_done), "new": audit.plain(task.done_at)}},
        )
    return task
