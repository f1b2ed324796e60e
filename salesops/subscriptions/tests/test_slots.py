"""When subscriptions are due: weekly on a weekday, monthly on a day (31 = the last
day), at an hour of the organisation's time zone."""

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.subscriptions.slots import latest_slot, month_day, next_slot

SH = ZoneInfo("Asia/Shanghai")


def weekly(weekday, hour):
    return SimpleNamespace(cadence="weekly", weekday=weekday, hour=hour, day_of_month=1)


def monthly(day, hour):
    return SimpleNamespace(cadence="monthly", weekday=0, hour=hour, day_of_month=day)


def at(y, m, d, h=0, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=SH)


def test_a_weekly_slot_is_the_last_such_weekday_at_the_hour():
    monday_8 = weekly(0, 8)
    assert latest_slot(monday_8, at(2026, 3, 9, 8), SH) == at(2026, 3, 9, 8)
    assert latest_slot(monday_8, at(2026, 3, 9, 7, 59), SH) == at(2026, 3, 2, 8)
    assert latest_slot(monday_8, at(2026, 3, 12, 3), SH) == at(2026, 3, 9, 8)
    assert next_slot(monday_8, at(2026, 3, 9, 8), SH) == at(2026, 3, 16, 8)


def test_the_hour_is_the_organisations_not_utc():
    # 08:00 in Shanghai is 00:00 UTC: at 23:30 UTC on Sunday it is not Monday 08:00 yet.
    sunday_utc = dt.datetime(2026, 3, 8, 23, 30, tzinfo=dt.UTC)
    assert latest_slot(weekly(0, 8), sunday_utc, SH) == at(2026, 3, 2, 8)


def test_day_31_means_the_last_day_of_each_month():
    last = monthly(31, 9)
    assert month_day(2026, 2, 31) == dt.date(2026, 2, 28)
    assert month_day(2028, 2, 31) == dt.date(2028, 2, 29)
    assert month_day(2026, 4, 31) == dt.date(2026, 4, 30)
    assert latest_slot(last, at(2026, 3, 1, 12), SH) == at(2026, 2, 28, 9)
    assert latest_slot(last, at(2026, 4, 30, 8), SH) == at(2026, 3, 31, 9)
    assert next_slot(last, at(2026, 4, 1), SH) == at(2026, 4, 30, 9)
    assert latest_slot(monthly(1, 0), at(2026, 1, 1, 0), SH) == at(2026, 1, 1, 0)
    assert latest_slot(monthly(15, 0), at(2026, 1, 10), SH) == at(2025, 12, 15, 0)


subscriptions = st.one_of(
    st.builds(weekly, st.integers(0, 6), st.integers(0, 23)),
    st.builds(monthly, st.integers(1, 31), st.integers(0, 23)),
)
moments = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2030, 12, 31)).map(
    lambda d: d.replace(tzinfo=SH)
)


# A shared, busy machine: no deadline and no data-generation speed check (these are
# about the machine, not about the slots).
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subscriptions, moments)
def test_now_lies_between_the_latest_and_the_next_slot(sub, now):
    latest = latest_slot(sub, now, SH)
    following = next_slot(sub, now, SH)
    assert latest <= now < following
    # No slot in between: the slot after the latest one is the next one.
    assert next_slot(sub, latest, SH) == following
    assert latest.hour == following.hour == sub.hour
    if sub.cadence == "weekly":
        assert latest.weekday() == sub.weekday
        assert following - latest == dt.timedelta(days=7)
    else:
        assert latest.day == min(sub.day_of_month, month_day(latest.year, latest.month, 31).day)
