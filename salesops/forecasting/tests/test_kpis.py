"""The forecast KPIs on the crafted data set (figures worked out in conftest.py)."""

from decimal import Decimal

import pytest

from salesops.analytics.engine import Filters, KpiContext, compute
from salesops.forecasting import kpis as fk
from salesops.forecasting.rollup import Numbers, TeamNode, gap, team_number
from salesops.users.models import Role

IDS = ["bookings", "forecast_commit", "forecast_best_case", "forecast_pipeline"]


def values(viewer, q3, **filters):
    out, errors = compute(
        KpiContext(viewer=viewer, period=q3.period, filters=Filters(**filters)), IDS
    )
    return out, errors


@pytest.mark.django_db
def test_rep_figures_by_hand(cast, data, q3):
    out, _e = values(cast.rep, q3, owner=cast.rep)
    assert out == {
        "bookings": "1700.00",
        "forecast_commit": "3700.00",
        "forecast_best_case": "6700.00",
        "forecast_pipeline": "7420.00",
    }


@pytest.mark.django_db
def test_team_and_organisation_figures(cast, data, q3):
    east, _e = values(cast.manager, q3, team=cast.east)
    assert east == {
        "bookings": "2200.00",
        "forecast_commit": "5200.00",
        "forecast_best_case": "8200.00",
        "forecast_pipeline": "8920.00",
    }
    org, _e = values(cast.admin, q3)
    assert org == {
        "bookings": "12200.00",
        "forecast_commit": "35200.00",
        "forecast_best_case": "38200.00",
        "forecast_pipeline": "38920.00",
    }


@pytest.mark.django_db
def test_outsider_sees_none_of_east(cast, data, q3):
    out, _e = values(cast.outsider, q3)
    # Only their own: 10000 won + 20000 commit.
    assert out["forecast_commit"] == "30000.00"
    assert out["forecast_pipeline"] == "30000.00"
    out, _e = values(cast.outsider, q3, team=cast.east)
    assert out["forecast_pipeline"] == "0.00"


@pytest.mark.django_db
def test_hidden_amount_withholds_the_forecast(cast, data, q3):
    Role.objects.filter(name="Rep").update(hidden_fields={"deal": ["amount"]})
    cast.rep.refresh_from_db()
    out, errors = values(cast.rep, q3, owner=cast.rep)
    assert out == dict.fromkeys(IDS)
    assert set(errors) == set(IDS)


@pytest.mark.django_db
def test_drill_down_is_exactly_the_deals_behind_each_figure(cast, data, q3):
    ctx = KpiContext(viewer=cast.rep, period=q3.period, filters=Filters(owner=cast.rep))
    names = {k: v.pk for k, v in data.items()}

    def ids(figure):
        return set(fk.forecast_deals(ctx, figure).values_list("pk", flat=True))

    won = {names["r_won1"], names["r_won2"]}
    assert ids("closed") == won
    assert ids("commit") == won | {names["r_commit"]}
    assert ids("best_case") == won | {names["r_commit"], names["r_best"]}
    assert ids("pipeline") == won | {names["r_commit"], names["r_best"], names["r_pipe"]}


@pytest.mark.django_db
def test_per_owner_figures_add_up_to_the_total(cast, data, q3):
    ctx = KpiContext(viewer=cast.admin, period=q3.period)
    per = fk.figures(ctx, by_owner=True)
    assert per[cast.rep.pk] == fk.Figures(
        Decimal(1700), Decimal(3700), Decimal(6700), Decimal(7420)
    )
    total = fk.totals(ctx)
    assert sum((f.pipeline for f in per.values()), Decimal(0)) == total.pipeline
    assert sum((f.closed for f in per.values()), Decimal(0)) == total.closed


def test_rollup_prefers_the_managers_call_else_adds_up():
    n = Numbers
    teams = {
        1: TeamNode(1, manager_id=10, member_ids=[10, 11], child_ids=[2]),
        2: TeamNode(2, manager_id=None, member_ids=[12], child_ids=[]),
        3: TeamNode(3, manager_id=None, member_ids=[], child_ids=[]),
    }
    numbers = {11: n(Decimal(100), Decimal(150)), 12: n(Decimal(10), Decimal(20))}
    assert team_number(2, teams, numbers) == n(Decimal(10), Decimal(20))
    assert team_number(1, teams, numbers) == n(Decimal(110), Decimal(170))
    assert team_number(3, teams, numbers) is None
    numbers[10] = n(Decimal(90), Decimal(95))
    assert team_number(1, teams, numbers) == n(Decimal(90), Decimal(95))
    assert gap(Decimal(500), Decimal(120)) == Decimal(380)
    assert gap(None, Decimal(1)) is None
    assert gap(Decimal(1), None) is None
