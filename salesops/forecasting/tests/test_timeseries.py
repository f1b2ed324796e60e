"""The time-series forecast: error maths by hand, the backtest's choice made without the
holdout, and `salesops forecast backtest` on public monthly series."""

import csv
import io
import json
import math
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from salesops.forecasting import timeseries as ts

FIXTURES = Path(__file__).parent / "fixtures"


def series(name):
    with open(FIXTURES / f"{name}.csv") as f:
        return [float(r["value"]) for r in csv.DictReader(f)]


def run(path, horizon=12):
    out = io.StringIO()
    call_command(
        "forecast", "backtest", "--series", str(path), "--horizon", str(horizon), stdout=out
    )
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def air_passengers():
    """The command's output on AirPassengers (fitted once for the tests that read it)."""
    return run(FIXTURES / "airpassengers.csv")


def test_errors_by_hand():
    assert ts.mape([100, 200], [110, 150]) == pytest.approx((10 + 25) / 2)
    assert ts.smape([100, 200], [110, 150]) == pytest.approx(100 * (20 / 210 + 100 / 350) / 2)
    assert ts.mape([0, 100], [5, 90]) == pytest.approx(10)  # the zero actual is left out
    assert ts.mape([0, 0], [1, 1]) is None
    assert ts.smape([0, 10], [0, 0]) == pytest.approx(100)  # 0/0 counts 0, then 2·10/10
    assert ts.score([0, 10], [0, 0]) == pytest.approx(100)  # sMAPE where an actual is 0


def test_seasonal_naive_repeats_the_last_season():
    y = list(range(1, 25))
    assert ts.forecast("seasonal_naive", y, 14) == [
        13,
        14,
        15,
        16,
        17,
        18,
        19,
        20,
        21,
        22,
        23,
        24,
        13,
        14,
    ]


def test_a_method_without_enough_points_gives_nothing_and_is_not_chosen():
    y = [float(v) for v in range(10, 30)]  # 20 months: too short for seasonal models
    assert ts.forecast("holt_winters", y, 3) is None
    cv = ts.rolling_origin(y, 3, folds=2)
    assert cv["holt_winters"] is None
    assert ts.choose(cv) == "seasonal_naive"


def test_the_choice_is_the_lowest_score_ties_to_the_earlier_method():
    assert ts.choose({"theta": 3.0, "holt_winters": 3.0, "sarima_log": 4.0}) == "holt_winters"
    assert ts.choose({"theta": None, "sarima_log": math.inf}) == "seasonal_naive"


def test_the_command_prints_each_method_and_the_chosen_one(air_passengers):
    out = air_passengers
    assert set(out["methods"]) == set(ts.METHODS)
    for errors in out["methods"].values():
        assert set(errors) == {"mape", "smape"}
        assert isinstance(errors["mape"], float)
    assert out["chosen"] in ts.METHODS


def test_on_air_passengers_the_chosen_method_is_as_good_as_holt_winters(air_passengers):
    out = air_passengers
    chosen = out["methods"][out["chosen"]]["mape"]
    assert chosen <= out["methods"]["holt_winters"]["mape"] + 0.5
    assert chosen < out["methods"]["seasonal_naive"]["mape"]


def test_the_choice_is_made_without_the_holdout(air_passengers, tmp_path):
    y = series("airpassengers")
    changed = y[:-12] + [v * 3 + 50 for v in y[-12:]]
    path = tmp_path / "changed.csv"
    path.write_text(
        "month,value\n"
        + "".join(f"{2000 + i // 12}-{i % 12 + 1:02d},{v}\n" for i, v in enumerate(changed))
    )
    before, after = air_passengers, run(path)
    assert after["chosen"] == before["chosen"]
    assert after["cv"] == before["cv"]
    assert after["methods"] != before["methods"]  # the holdout error did change


def test_a_bad_series_is_refused_with_what_to_fix(tmp_path):
    cases = {
        "date,amount\n2020-01,1\n": "columns “month” and “value”",
        "month,value\n2020-1,1\n": "Line 2: the month “2020-1” is not like 2026-07",
        "month,value\n2020-01,1\n2020-02,x\n": "Line 3: the value “x” is not a number",
        "month,value\n2020-01,1\n2020-03,2\n": "Line 3: 2020-03 does not follow",
    }
    for text, message in cases.items():
        with pytest.raises(ValidationError, match=message):
            ts.read_series(io.StringIO(text))
    path = tmp_path / "short.csv"
    path.write_text("month,value\n2020-01,1\n2020-02,2\n")
    with pytest.raises(CommandError, match="needs more than the horizon"):
        run(path, horizon=12)
    with pytest.raises(CommandError, match="Cannot read"):
        run(tmp_path / "missing.csv")


def test_fit_and_forecast_gives_the_horizon_and_the_backtest_error():
    fitted = ts.fit_and_forecast(series("co2")[-60:], 12)
    assert len(fitted.values) == 12
    assert fitted.error == pytest.approx(fitted.cv[fitted.method])
    assert ts.fit_and_forecast([], 3).values == [0.0, 0.0, 0.0]
