import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from salesops.analytics import formulas as fx
from salesops.analytics.periods import parse_period, preset

D = dt.date


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", D(2026, 1, 1), D(2027, 1, 1)),
        ("2026-Q3", D(2026, 7, 1), D(2026, 10, 1)),
        ("2026-q4", D(2026, 10, 1), D(2027, 1, 1)),
        ("2026-07", D(2026, 7, 1), D(2026, 8, 1)),
        ("2026-12", D(2026, 12, 1), D(2027, 1, 1)),
        ("2026-07-01..2026-09-30", D(2026, 7, 1), D(2026, 10, 1)),
        ("2026-07-01..2026-07-01", D(2026, 7, 1), D(2026, 7, 2)),
    ],
)
def test_calendar_periods(text, start, end):
    p = parse_period(text)
    assert (p.start, p.end) == (start, end)


def test_fiscal_periods_are_named_by_the_year_they_start_in():
    assert (
        parse_period("FY2026", fiscal_start_month=4).start,
        parse_period("FY2026", fiscal_start_month=4).end,
    ) == (D(2026, 4, 1), D(2027, 4, 1))
    q4 = parse_period("FY2026-Q4", fiscal_start_month=4)
    assert (q4.start, q4.end) == (D(2027, 1, 1), D(2027, 4, 1))
    assert parse_period("FY2026-Q1").start == D(2026, 1, 1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-13",
        "2026-Q5",
        "26",
        "2026-09-30..2026-07-01",
        "FY",
        "2026-02-30..2026-03-01",
        "drop table",
    ],
)
def test_bad_periods_say_which_forms_exist(text):
    with pytest.raises(ValidationError) as e:
        parse_period(text)
    assert "2026-Q3" in str(e.value) or "ends before" in str(e.value)


def test_presets_and_comparisons():
    today = D(2026, 11, 27)  # a Friday
    assert preset("this_week", today=today).start == D(2026, 11, 23)
    assert preset("last_month", today=today).start == D(2026, 10, 1)
    q = preset("this_quarter", today=today)
    assert (q.start, q.end) == (D(2026, 10, 1), D(2027, 1, 1))
    assert (q.previous().start, q.previous().end) == (D(2026, 7, 1), D(2026, 10, 1))
    assert q.year_before().start == D(2025, 10, 1)
    assert preset("this_fiscal_year", today=today, fiscal_start_month=12).start == D(2025, 12, 1)
    with pytest.raises(ValidationError):
        preset("someday", today=today)


def test_median_of_a_histogram():
    assert fx.median_of_histogram({}) is None
    assert fx.median_of_histogram({5: 1}) == 5
    assert fx.median_of_histogram({1: 1, 3: 1}) == 2
    assert fx.median_of_histogram({1: 2, 10: 1}) == 1
    assert fx.median_of_histogram({1: 1, 2: 1, 3: 1, 100: 1}) == 2.5


def test_clv_caps_lifetime_at_ten_years():
    from decimal import Decimal

    assert fx.clv_historical(
        bookings_365=Decimal(100), active_customers=1, gross_margin=Decimal(1), annual_churn=0.0
    ) == Decimal(1000)
    assert fx.clv_historical(
        bookings_365=Decimal(100), active_customers=1, gross_margin=Decimal(1), annual_churn=0.05
    ) == Decimal(1000)
    assert (
        fx.clv_historical(
            bookings_365=Decimal(100), active_customers=0, gross_margin=Decimal(1), annual_churn=0.5
        )
        is None
    )
