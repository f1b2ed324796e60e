"""Administrators' changes to the analytics set-up: the dashboards' layout."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from salesops.analytics.dashboard import check_layout
from salesops.analytics.models import DashboardLayout
from salesops.audit import services as audit
from salesops.users.admin_services import ensure_admin


@transaction.atomic
def save_dashboard_layout(*, by: Any, tiles: list[str], charts: list[str]) -> DashboardLayout:
    """Set which KPI tiles and charts the dashboards show, in order. Administrators
    only; ValidationError for an unknown or repeated id, or nothing to show; audited."""
    ensure_admin(by)
    chosen = check_layout(list(tiles), list(charts))
    row = DashboardLayout.objects.select_for_update().filter(pk=1).first()
    if row is None:
        row = DashboardLayout.objects.create(
            pk=1, tiles=list(chosen.tiles), charts=list(chosen.charts)
        )
        audit.record(
            by=by,
            obj=row,
            action=audit.Action.CREATED,
            changes=audit.values(row, ["tiles", "charts"]),
        )
        return row
    shot = audit.snapshot(row, ["tiles", "charts"])
    row.tiles, row.charts = list(chosen.tiles), list(chosen.charts)
    row.save()
    audit.record(by=by, obj=row, action=audit.Action.UPDATED, changes=shot.changes(row))
    return row
