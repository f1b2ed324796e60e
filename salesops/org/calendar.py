"""Working days: Monday–Friday, minus holidays, plus make-up working days (调休)."""

import datetime as dt
from collections.abc import Iterable


def working_days(
    start: dt.date,
    end: dt.date,
    *,
    holidays: Iterable[dt.date] = (),
    workdays: Iterable[dt.date] = (),
) -> int:
    """Working days in [start, end). Pure: the caller passes the calendar in."""
    off = set(holidays)
    on = set(workdays)
    count = 0
    day = start
    while day < end:
        weekday = day.weekday() < 5
        if (weekday and day not in off) or (not weekday and day in on):
            count += 1
        day += dt.timedelta(days=1)
    return count


def org_working_days(start: dt.date, end: dt.date) -> int:
    """Working days in [start, end) by the organisation's holiday calendar."""
    from salesops.org.models import Holiday

    rows = Holiday.objects.filter(day__gte=start, day__lt=end).values_list("day", "kind")
    holidays = [d for d, k in rows if k == Holiday.Kind.HOLIDAY]
    workdays = [d for d, k in rows if k == Holiday.Kind.WORKDAY]
    return working_days(start, end, holidays=holidays, workdays=workdays)
