"""`/forecasts` in the API on the forecasting tests' crafted data set: the figures by
hand, submissions and overrides, who sees what; every answer fits the spec."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from salesops.forecasting import services as svc
from salesops.forecasting.models import Submission
from salesops.forecasting.tests.conftest import data, deals, org, pipeline, q3  # noqa: F401
from salesops.users.models import Role

pytestmark = pytest.mark.django_db


def test_rep_submits_manager_overrides_admin_sees_both(cast, as_user, data):  # noqa: F811
    rep = as_user(cast.rep)
    r = rep.post(
        "/forecasts/submissions",
        {"period": "FY2026-Q3", "commit": "3000", "best_case": "5000", "note": "steady"},
    )
    assert r.status_code == 201, r.content
    own = r.json()
    assert (own["commit"], own["best_case"], own["kind"]) == ("3000.00", "5000.00", "own")
    manager = as_user(cast.manager)
    r = manager.post(
        "/forecasts/overrides",
        {
            "period": "FY2026-Q3",
            "person": cast.rep.pk,
            "commit": "2500",
            "best_case": "4000",
            "note": "Acme slips",
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["original"] == own["id"]
    body = as_user(cast.admin).get("/forecasts", {"period": "FY2026-Q3"}).json()
    assert body["scope"] == "org"
    assert body["figures"] == {
        "bookings": "12200.00",
        "forecast_commit": "35200.00",
        "forecast_best_case": "38200.00",
        "forecast_pipeline": "38920.00",
    }
    row = next(p for p in body["people"] if p["person"] == cast.rep.pk)
    assert row["own"]["commit"] == "3000.00" and row["override"]["commit"] == "2500.00"
    assert row["effective"]["id"] == row["override"]["id"]
    assert row["deals"]["pipeline"] == "7420.00"
    history = rep.get("/forecasts/submissions", {"period": "FY2026-Q3"}).json()
    assert [h["kind"] for h in history] == ["override", "own"]


def test_team_forecast_and_roll_up(cast, as_user, data, q3):  # noqa: F811
    svc.submit_forecast(by=cast.rep_east1, period=q3, commit="100", best_case="200")
    body = as_user(cast.manager).get("/forecasts", {"period": "FY2026-Q3"}).json()
    assert body["scope"] == "team"
    assert body["figures"]["forecast_commit"] == "5200.00"
    assert body["teams"] == [
        {
            "team": cast.east1.pk,
            "name": "East-1",
            "number": {"commit": "100.00", "best_case": "200.00"},
        }
    ]
    assert body["number"] == {"commit": "100.00", "best_case": "200.00"}


def test_outsider_gets_404s_and_cannot_override(cast, as_user, data, q3):  # noqa: F811
    svc.submit_forecast(by=cast.rep, period=q3, commit="1", best_case="2")
    out = as_user(cast.outsider)
    for params in ({"person": cast.rep.pk}, {"team": cast.east.pk}, {"org": True}):
        assert out.get("/forecasts", {"period": "FY2026-Q3", **params}).status_code == 404
    assert (
        out.get(
            "/forecasts/submissions", {"period": "FY2026-Q3", "person": cast.rep.pk}
        ).status_code
        == 404
    )
    r = out.post(
        "/forecasts/overrides",
        {
            "period": "FY2026-Q3",
            "person": cast.rep.pk,
            "commit": "1",
            "best_case": "1",
            "note": "x",
        },
    )
    assert r.status_code == 404
    assert Submission.objects.count() == 1


def test_hidden_amount_nulls_every_figure(cast, as_user, data, q3):  # noqa: F811
    svc.submit_forecast(by=cast.rep, period=q3, commit="1234", best_case="2345")
    Role.objects.filter(name="Rep").update(hidden_fields={"deal": ["amount"]})
    body = as_user(cast.rep).get("/forecasts", {"period": "FY2026-Q3"}).json()
    assert set(body["figures"].values()) == {None}
    assert body["target"] is None and body["number"] is None
    assert body["people"][0]["own"]["commit"] is None and body["people"][0]["deals"] is None


def test_refusals_are_clear(cast, as_user, org, q3):  # noqa: F811
    api = as_user(cast.rep)
    r = api.post("/forecasts/submissions", {"period": "2026", "commit": "1", "best_case": "2"})
    assert r.status_code == 422 and "per month or per fiscal quarter" in r.content.decode()
    svc.set_deadline(by=cast.admin, period=q3, locks_at=timezone.now() - dt.timedelta(hours=1))
    r = api.post("/forecasts/submissions", {"period": "FY2026-Q3", "commit": "1", "best_case": "2"})
    assert r.status_code == 422 and "closed at" in r.content.decode()
    read_only = as_user(cast.rep, scope="read")
    r = read_only.post(
        "/forecasts/submissions", {"period": "2026-07", "commit": "1", "best_case": "2"}
    )
    assert r.status_code == 403
