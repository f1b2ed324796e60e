"""The KPI payload of one period, as `salesops kpi --format json` prints it and
`/api/v1/kpis` returns it: one function, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from salesops.analytics.engine import Filters, KpiContext, compute
from salesops.analytics.periods import parse_period
from salesops.org.models import Organisation
from salesops.pipeline.models import Pipeline
from salesops.users.models import Team, User


def _get(model: Any, pk: int | None, what: str) -> Any:
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise ValidationError(_("There is no %(what)s with id %(id)s.") % {"what": what, "id": pk})
    return obj


def kpi_payload(
    *,
    viewer: User,
    period: str,
    team: int | None = None,
    owner: int | None = None,
    pipeline: int | None = None,
    kpis: list[str] | None = None,
) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """(payload, period, values) for `viewer`'s data scope; ValidationError on a bad
    period or an unknown team, owner or pipeline id."""
    org = Organisation.get()
    parsed = parse_period(period, fiscal_start_month=org.fiscal_year_start_month)
    filters = Filters(
        team=_get(Team, team, _("team")),
        owner=_get(User, owner, _("user")),
        pipeline=_get(Pipeline, pipeline, _("pipeline")),
    )
    values, errors = compute(KpiContext(viewer=viewer, period=parsed, filters=filters), kpis)
    payload: dict[str, Any] = {
        "period": {
            "label": str(parsed),
            "start": parsed.start.isoformat(),
            "end": parsed.last_day.isoformat(),
        },
        "currency": org.base_currency_id,
        "filters": filters.as_dict(),
        "kpis": values,
    }
    if errors:
        payload["errors"] = errors
    return payload, values, errors
