"""Forecast-accuracy maths by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.forecasting import accuracy as acc


def test_the_kpi_formulas_by_hand():
    assert acc.accuracy(90, 100) == pytest.approx(0.9)
    assert acc.accuracy(110, 100) == pytest.approx(0.9)
    assert acc.accuracy(300, 100) == pytest.approx(-1.0)  # off by twice the actual
    assert acc.bias(110, 100) == pytest.approx(0.1)
    assert acc.bias(Decimal("80"), Decimal("100")) == pytest.approx(-0.2)
    assert acc.abs_pct_error(80, 100) == pytest.approx(0.2)


def test_a_zero_actual_is_undefined_never_zero():
    assert acc.accuracy(5, 0) is None
    assert acc.bias(5, 0) is None
    assert acc.abs_pct_error(0, 0) is None


@given(st.floats(0, 1e9), st.floats(1e-3, 1e9))
def test_accuracy_is_one_minus_the_absolute_error_and_bias_bounds_it(f, a):
    assert acc.accuracy(f, a) == pytest.approx(1 - acc.abs_pct_error(f, a))
    assert abs(acc.bias(f, a)) == pytest.approx(acc.abs_pct_error(f, a))


def test_a_summary_by_hand():
    s = acc.summarise([(90, 100), (130, 100), (10, 0)])
    assert s.n == 3
    assert s.mape == pytest.approx((0.1 + 0.3) / 2)  # the zero actual is left out
    assert s.mean_bias == pytest.approx((-0.1 + 0.3) / 2)
    assert s.wape == pytest.approx((10 + 30 + 10) / 200)
    assert s.accuracy == pytest.approx(0.8)
    empty = acc.summarise([])
    assert (empty.n, empty.mape, empty.mean_bias, empty.wape) == (0, None, None, None)


def test_tables_by_subject_by_week_and_the_ranking():
    w1, w2 = dt.date(2026, 7, 1), dt.date(2026, 7, 8)
    rows = acc.rows_from(
        [
            {"subject": "ann", "made": w2, "forecast": 100, "actual": 100},
            {"subject": "ann", "made": w1, "forecast": 80, "actual": 100},
            {"subject": "bob", "made": w1, "forecast": 95, "actual": 100},
            {"subject": "bob", "made": w2, "forecast": 99, "actual": 100},
            {"subject": "cy", "made": w1, "forecast": 5, "actual": 0},
        ]
    )
    subjects = acc.by_subject(rows)
    assert subjects["ann"].mape == pytest.approx(0.1)
    assert subjects["bob"].mean_bias == pytest.approx(-0.03)
    weeks = acc.by_made(rows)
    assert list(weeks) == [w1, w2]
    assert weeks[w1].mape == pytest.approx((0.2 + 0.05) / 2)
    assert weeks[w2].mape == pytest.approx(0.005)
    assert acc.first_made(rows)["ann"].forecast == 80
    assert [r.subject for r in acc.ranking(rows)] == ["bob", "ann", "cy"]
