"""The daily job of the statistical forecast."""

from __future__ import annotations

import datetime as dt

from django.tasks import task

from salesops.analytics.periods import Period, preset
from salesops.org.models import Organisation


def periods_to_record(today: dt.date, fiscal_start_month: int) -> list[Period]:
    """This month and this (calendar) quarter, on their first day and on each Monday: the
    forecast that stood at the start of a period, and one per week of it."""
    out = []
    for name in ("this_month", "this_quarter"):
        p = preset(name, today=today, fiscal_start_month=fiscal_start_month)
        if today == p.start or today.weekday() == 0:
            out.append(p)
    return out


@task
def record_forecasts() -> int:
    """Store today's stage-history cohorts, then record the statistical forecasts that
    are due; how many forecasts were written."""
    from salesops.analytics.engine import KpiContext
    from salesops.forecasting.statistical import (
        purge_fits,
        series_forecast,
        store_history,
        system_viewer,
    )
    from salesops.forecasting.stats_services import record_statistical_forecasts

    org = Organisation.get()
    today = org.local_date()
    store_history(today, org.tz)
    purge_fits(today)
    written = 0
    for period in periods_to_record(today, org.fiscal_year_start_month):
        written += len(record_statistical_forecasts(period=period, made_on=today))
    # Fit the organisation's monthly series now, not on the first page view of the day.
    ctx = KpiContext(viewer=system_viewer(), period=preset("this_month", today=today), today=today)
    for metric in ("bookings", "collections"):
        series_forecast(ctx, metric)
    return written
