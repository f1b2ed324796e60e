"""`/forecast/statistical` and `/forecast/accuracy`: the caller's visible deals only, no
figures for a role hiding deal amounts; every response checked against the spec."""

import pytest

from salesops.forecasting.tests.data import make_closed_period, make_history


def period_text(p):
    return f"{p.start.isoformat()}..{p.last_day.isoformat()}"


@pytest.mark.parametrize(("who", "expected"), [("admin", "4300.00"), ("outsider", "2000.00")])
def test_the_statistical_forecast_is_over_the_callers_deals(cast, as_user, who, expected):
    _pipeline, period = make_history(cast)
    r = as_user(getattr(cast, who)).get("/forecast/statistical", {"period": period_text(period)})
    assert r.status_code == 200
    body = r.json()
    assert body["pipeline"]["expected"] == expected
    assert float(body["pipeline"]["low"]) <= float(expected) <= float(body["pipeline"]["high"])
    assert body["series"]["bookings"]["method"]
    assert len(body["series"]["bookings"]["forecast"]) == len(body["series"]["bookings"]["months"])


def test_a_role_hiding_deal_amount_gets_no_figures(cast, as_user):
    _pipeline, period = make_history(cast)
    cast.rep.role.hidden_fields = {"deal": ["amount"]}
    cast.rep.role.save()
    body = as_user(cast.rep).get("/forecast/statistical", {"period": period_text(period)}).json()
    assert body["withheld"] and body["pipeline"] is None and body["series"] == {}
    body = as_user(cast.rep).get("/forecast/accuracy", {"period": "2026-07"}).json()
    assert body["withheld"] and body["rows"] == []


def test_a_team_outside_the_scope_is_404_and_a_bad_period_422(cast, as_user):
    r = as_user(cast.outsider).get(
        "/forecast/statistical", {"period": "2026-07", "team": cast.east.pk}
    )
    assert r.status_code == 404
    r = as_user(cast.admin).get("/forecast/statistical", {"period": "soon"})
    assert r.status_code == 422
    assert "2026-Q3" in r.json()["detail"]


def test_accuracy_rows_are_those_the_caller_may_compare(cast, as_user):
    make_closed_period(cast)
    rows = as_user(cast.admin).get("/forecast/accuracy", {"period": "2026-07"}).json()["rows"]
    org = [r for r in rows if r["subject"] == "org"]
    assert [(r["made_on"], r["forecast"], r["actual"]) for r in org] == [
        ("2026-07-01", "800.00", "1000.00"),
        ("2026-07-13", "5000.00", "1000.00"),
    ]
    assert org[0]["accuracy"] == pytest.approx(0.8) and org[0]["bias"] == pytest.approx(-0.2)
    rows = as_user(cast.outsider).get("/forecast/accuracy", {"period": "2026-07"}).json()["rows"]
    assert rows == []
