"""Writes of the collections app (each audited)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from salesops.audit import services as audit
from salesops.receivables.models import CollectionSettings


@transaction.atomic
def update_settings(
    *, by: Any, manager_after_days: int | str, remind_owner: bool = True
) -> CollectionSettings:
    """Change the reminders' settings (administrators)."""
    if by is None or not by.is_authenticated or not by.is_org_admin():
        raise PermissionDenied(_("Only an administrator may change the collections settings."))
    try:
        days = int(manager_after_days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 365:
        raise ValidationError(
            {"manager_after_days": _("Enter a whole number of days from 1 to 365.")}
        )
    row = CollectionSettings.objects.select_for_update().order_by("pk").first()
    if row is None:
        row = CollectionSettings()
    old = {"manager_after_days": row.manager_after_days, "remind_owner": row.remind_owner}
    row.manager_after_days = days
    row.remind_owner = bool(remind_owner)
    row.save()
    changes = {
        k: {"old": v, "new": getattr(row, k)} for k, v in old.items() if v != getattr(row, k)
    }
    audit.record(by=by, obj=row, action=audit.Action.UPDATED, changes=changes)
    return row
