"""Administrators' change to the pipeline snapshots: when the weekly one is taken."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from salesops.audit import services as audit
from salesops.forecasting.models_snapshots import SnapshotSettings
from salesops.users.admin_services import ensure_admin


@transaction.atomic
def save_snapshot_settings(*, by: Any, weekday: int, hour: int) -> SnapshotSettings:
    """Set the weekday (0 Monday … 6 Sunday) and hour (0–23, organisation's time zone) of
    the weekly pipeline snapshot. Administrators only; ValidationError out of range;
    audited."""
    ensure_admin(by)
    errors = {}
    if not 0 <= weekday <= 6:
        errors["weekday"] = _("Choose a day of the week.")
    if not 0 <= hour <= 23:
        errors["hour"] = _("Give the hour as a whole number from 0 to 23.")
    if errors:
        raise ValidationError(errors)
    row = SnapshotSettings.objects.select_for_update().filter(pk=1).first()
    if row is None:
        row = SnapshotSettings.objects.create(pk=1, weekday=weekday, hour=hour)
        audit.record(
            by=by,
            obj=row,
            action=audit.Action.CREATED,
            changes=audit.values(row, ["weekday", "hour"]),
        )
        return row
    shot = audit.snapshot(row, ["weekday", "hour"])
    row.weekday, row.hour = weekday, hour
    row.save()
    audit.record(by=by, obj=row, action=audit.Action.UPDATED, changes=shot.changes(row))
    return row
