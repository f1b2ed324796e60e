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
    """Record today's statistical forecasts that are due; how many rows were written."""
    from salesops.forecasting.stats_services import record_statistical_forecasts

    org = Organisation.get()
    today = org.local_date()
    written = 0
    for period in periods_to_record(today, org.fiscal_year_start_month):
        written += len(record_statistical_forecasts(period=period, made_on=today))
    return written
