"""The recorded statistical forecast and the KPIs forecast_accuracy / forecast_bias."""

import datetime as dt
from decimal import Decimal

import pytest

from salesops.analytics.engine import Filters, KpiContext, compute
from salesops.audit.models import AuditEntry
from salesops.crm.models import Deal
from salesops.forecasting.models_stats import StatForecast
from salesops.forecasting.stats_services import record_statistical_forecasts
from salesops.forecasting.tasks import periods_to_record
from salesops.users.models import User


def test_the_forecast_is_recorded_for_the_org_each_team_and_each_rep_once_a_day(cast, stat_history):
    _pipeline, period = stat_history
    today = period.start + dt.timedelta(days=5)
    rows = record_statistical_forecasts(period=period, made_on=today, by=cast.admin)
    by_subject = {r.subject: r for r in rows}
    assert by_subject["org"].expected == Decimal(700) + Decimal("0.4") * 9000
    assert by_subject[f"owner:{cast.rep.pk}"].expected == Decimal(700) + Decimal(400)
    assert by_subject[f"team:{cast.east.pk}"].expected == Decimal(700) + Decimal("0.4") * 4000
    assert by_subject[f"team:{cast.west.pk}"].expected == Decimal("0.4") * 5000
    assert AuditEntry.objects.filter(object_type__icontains="statforecast").count() == len(rows)
    assert record_statistical_forecasts(period=period, made_on=today) == []
    assert StatForecast.objects.count() == len(rows)


def test_forecasts_are_recorded_at_the_start_of_a_period_and_each_monday():
    assert [p.label for p in periods_to_record(dt.date(2026, 7, 1), 1)] == [
        "this_month",
        "this_quarter",
    ]
    assert [p.label for p in periods_to_record(dt.date(2026, 8, 1), 1)] == ["this_month"]
    monday = dt.date(2026, 8, 10)
    assert len(periods_to_record(monday, 1)) == 2
    assert periods_to_record(monday + dt.timedelta(days=1), 1) == []


def kpi(user, period, **filters):
    ctx = KpiContext(
        viewer=User.objects.get(pk=user.pk), period=period, filters=Filters(**filters),
        today=dt.date(2026, 8, 5),
    )  # fmt: skip
    values, _errors = compute(ctx, ["forecast_accuracy", "forecast_bias"])
    return values["forecast_accuracy"], values["forecast_bias"]


def test_accuracy_and_bias_use_the_forecast_as_it_stood_at_the_start(cast, closed_period):
    assert kpi(cast.admin, closed_period) == (pytest.approx(0.8), pytest.approx(-0.2))
    assert kpi(cast.admin, closed_period, owner=cast.rep) == (
        pytest.approx(0.75),
        pytest.approx(0.25),
    )
    assert kpi(cast.rep, closed_period, owner=cast.rep) == (
        pytest.approx(0.75),
        pytest.approx(0.25),
    )


def test_who_does_not_see_all_of_the_subject_gets_no_figure(cast, closed_period):
    assert kpi(cast.rep, closed_period) == (None, None)  # the organisation's forecast
    assert kpi(cast.outsider, closed_period, owner=cast.rep) == (None, None)
    assert kpi(cast.admin, closed_period, team=cast.west) == (None, None)  # none stored


def test_a_role_hiding_deal_amount_gets_neither_kpi(cast, closed_period):
    cast.admin.role.hidden_fields = {"deal": ["amount"]}
    cast.admin.role.save()
    assert kpi(cast.admin, closed_period) == (None, None)


def test_undefined_before_the_period_ends_and_when_nothing_was_booked(cast, closed_period):
    ctx = KpiContext(viewer=cast.admin, period=closed_period, today=dt.date(2026, 7, 20))
    assert compute(ctx, ["forecast_accuracy"])[0]["forecast_accuracy"] is None
    Deal.objects.update(amount=0)
    assert kpi(cast.admin, closed_period) == (None, None)


def test_the_daily_job_stores_cohorts_records_forecasts_and_fits_the_series(cast, stat_history):
    from salesops.forecasting.models_stats import HistoryCohort, SeriesFit
    from salesops.forecasting.tasks import record_forecasts

    record_forecasts.call()
    assert HistoryCohort.objects.exists()
    assert SeriesFit.objects.count() >= 1  # bookings (and collections) of the organisation


def test_a_fit_is_stored_once_and_read_back_by_any_process(db):
    from salesops.forecasting import statistical
    from salesops.forecasting.models_stats import SeriesFit
    from salesops.lib.cache import forget_all

    y = [float(10 + (i % 12)) for i in range(30)]
    today = dt.date(2026, 12, 7)
    first = statistical.fitted_series(y, 3, today)
    forget_all()  # another process: nothing in its memory
    SeriesFit.objects.update(values=[1.0, 2.0, 3.0])
    again = statistical.fitted_series(y, 3, today)
    assert again.values == [1.0, 2.0, 3.0]
    assert again.method == first.method
    assert SeriesFit.objects.count() == 1
    assert statistical.purge_fits(today + dt.timedelta(days=41)) == 1
