"""The pipeline-based statistical forecast over the database: the organisation's history
gives the rates, the viewer's visible deals the money."""

import datetime as dt
from decimal import Decimal

import pytest

from salesops.analytics.engine import KpiContext
from salesops.analytics.periods import Period
from salesops.forecasting import statistical
from salesops.forecasting.stats_maths import OPEN, WON


def forecast(user, period):
    return statistical.pipeline_forecast(KpiContext(viewer=user, period=period))


def test_the_history_is_grouped_by_stage_stay_and_outcome(stat_history):
    pipeline, period = stat_history
    qualify = pipeline.stages.get(name="Qualify").pk
    rows = statistical.history_rows(period.start + dt.timedelta(days=5), dt.UTC)
    mine = sorted((r.bucket, r.status, r.days, r.count) for r in rows if r.stage == qualify)
    assert mine == [(0, "lost", 10, 6), (0, WON, 10, 4)]
    assert all(r.status != OPEN for r in rows)


@pytest.mark.parametrize(
    ("who", "booked", "open_money"),
    [
        ("admin", 700, 9000),
        ("manager", 700, 4000),  # East and East-1
        ("rep", 700, 1000),  # own deals only
        ("outsider", 0, 5000),  # none of East's deals
    ],
)
def test_expected_bookings_are_booked_plus_the_cohort_rate_of_visible_open_money(
    cast, stat_history, who, booked, open_money
):
    _pipeline, period = stat_history
    out = forecast(getattr(cast, who), period)
    assert out.booked == Decimal(booked)
    assert out.expected == Decimal(booked) + Decimal(open_money) * Decimal("0.4")
    assert out.low <= out.expected <= out.high
    assert out.low >= out.booked
    assert out.window == (0, 30)
    [line] = out.lines
    assert (line.p, line.pooled, line.amount) == (0.4, False, Decimal(open_money))


def test_the_outsiders_forecast_does_not_move_with_easts_deals(cast, stat_history):
    _pipeline, period = stat_history
    before = forecast(cast.outsider, period)
    from salesops.crm.models import Deal

    Deal.objects.filter(owner=cast.rep).update(amount=Decimal(999_999))
    after = forecast(cast.outsider, period)
    assert (before.expected, before.low, before.high) == (after.expected, after.low, after.high)


def test_a_period_already_over_is_its_bookings(cast, stat_history):
    _pipeline, period = stat_history
    today = period.start + dt.timedelta(days=5)
    past = Period(today - dt.timedelta(days=10), today - dt.timedelta(days=1))
    out = forecast(cast.admin, past)
    assert out.booked == out.expected == out.low == out.high == Decimal(700)


def test_a_stage_without_history_counts_nothing_and_says_so(cast, stat_history):
    pipeline, period = stat_history
    from salesops.crm.models import Deal

    Deal.objects.filter(owner=cast.outsider).update(stage=pipeline.stages.get(name="Propose"))
    out = forecast(cast.outsider, period)
    # Propose has no stays of its own: its age bucket over all stages (Qualify's) is used
    [line] = out.lines
    assert line.pooled and line.p == 0.4
    assert out.without_history == 0


def test_a_role_hiding_deal_amount_gets_no_figure(cast):
    assert not statistical.withheld(cast.rep)
    cast.rep.role.hidden_fields = {"deal": ["amount"]}
    cast.rep.role.save()
    rep = type(cast.rep).objects.get(pk=cast.rep.pk)
    assert statistical.withheld(rep)


def test_the_daily_job_stores_the_history_and_the_page_reads_it(cast, stat_history):
    from salesops.forecasting.models_stats import HistoryCohort
    from salesops.lib.cache import forget_all

    _pipeline, period = stat_history
    today = period.start + dt.timedelta(days=5)
    live = statistical.history_rows(today, dt.UTC)
    assert statistical.store_history(today, dt.UTC) == len(live)
    ctx = KpiContext(viewer=cast.admin, period=period, today=today)
    assert sorted(statistical.cached_history(ctx), key=repr) == sorted(live, key=repr)
    # what the page reads is the stored table: changing it changes the forecast
    HistoryCohort.objects.filter(status=WON).update(count=0)
    forget_all()
    assert forecast(cast.admin, period).expected == Decimal(700)
