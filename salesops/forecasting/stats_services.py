"""Writes of the statistical forecast: recording it as it stands today, for the
organisation, each team and each rep, so its accuracy can be measured later."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from salesops.analytics.engine import Filters, KpiContext
from salesops.analytics.periods import Period
from salesops.audit import services as audit
from salesops.forecasting.models_stats import StatForecast
from salesops.forecasting.statistical import pipeline_forecast, system_viewer
from salesops.users.models import Team, User


@transaction.atomic
def record_statistical_forecasts(
    *, period: Period, made_on: dt.date, by: Any = None
) -> list[StatForecast]:
    """Record the pipeline-based forecast of `period` as it stands on `made_on` (today,
    the context's business date) for the organisation, every team and every active
    rep. A subject already recorded for that period and day is left as it was, so the
    daily job may run twice. Returns the rows written."""
    done = set(
        StatForecast.objects.filter(
            period_start=period.start, period_end=period.end, made_on=made_on
        ).values_list("subject", flat=True)
    )
    viewer = system_viewer()
    subjects: list[tuple[str, str, Filters, dict[str, Any]]] = [("org", "org", Filters(), {})]
    for team in Team.objects.all():
        subjects.append(("team", f"team:{team.pk}", Filters(team=team), {"team": team}))
    for rep in User.objects.filter(is_active=True, role__is_sales_rep=True):
        subjects.append(("owner", f"owner:{rep.pk}", Filters(owner=rep), {"owner": rep}))
    rows = []
    for scope, subject, filters, fks in subjects:
        if subject in done:
            continue
        ctx = KpiContext(viewer=viewer, period=period, filters=filters, today=made_on)
        out = pipeline_forecast(ctx)
        rows.append(
            StatForecast(
                period_start=period.start,
                period_end=period.end,
                made_on=made_on,
                scope=scope,
                subject=subject,
                currency=str(ctx.org.base_currency_id),
                booked=out.booked,
                expected=out.expected,
                low=out.low,
                high=out.high,
                **fks,
            )
        )
    created = StatForecast.objects.bulk_create(rows)
    audit.record_many(by=by, objs=created, action=audit.Action.CREATED)
    return created
