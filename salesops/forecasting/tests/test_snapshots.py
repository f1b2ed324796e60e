"""The snapshot job (once per weekly day and per month end, at the set hour), the
snapshot's rows, the pipeline as of a day, and the waterfall query on crafted history
(`history.py`)."""

import datetime as dt
from decimal import Decimal

from salesops.automation.schedule import all_jobs
from salesops.crm import services
from salesops.crm.models import Deal
from salesops.crm.models.deals import StageHistory
from salesops.forecasting import snapshots, waterfall
from salesops.forecasting.models import PipelineSnapshot, SnapshotRow, SnapshotSettings
from salesops.forecasting.tests.history import FIRST, Q3, SECOND, TODAY
from salesops.org.models import ExchangeRate

D = dt.date
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def local(y, m, d, h, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def test_the_job_snapshots_on_the_weekly_day_and_each_month_end_once_after_the_hour(
    cast, history_org
):
    SnapshotSettings.objects.create(pk=1, weekday=4, hour=22)  # Fridays, 22:00
    assert {f"forecasting.snapshot.{h:02d}" for h in range(24)} <= {j.name for j in all_jobs()}
    take = snapshots.take_due_snapshot_now
    assert take(local(2026, 7, 9, 23)) is None  # a Thursday
    assert take(local(2026, 7, 10, 21, 59)) is None  # Friday, before the hour
    friday = take(local(2026, 7, 10, 22, 30))
    assert friday.taken_on == D(2026, 7, 10) and friday.weekly and not friday.month_end
    assert take(local(2026, 7, 10, 23)) is None  # once
    # 2026-07-10 22:30 in Shanghai is 14:30 UTC: the day is the organisation's
    assert take(dt.datetime(2026, 8, 31, 13, 59, tzinfo=dt.UTC)) is None  # 21:59 there
    monday = take(dt.datetime(2026, 8, 31, 14, 0, tzinfo=dt.UTC))
    assert monday.taken_on == D(2026, 8, 31)
    assert (monday.weekly, monday.month_end, monday.quarter_end) == (False, True, False)
    quarter = take(local(2026, 9, 30, 23))  # a Wednesday, the end of Q3
    assert (quarter.weekly, quarter.month_end, quarter.quarter_end) == (False, True, True)
    assert take(local(2026, 9, 30, 23, 30)) is None
    assert list(PipelineSnapshot.objects.values_list("taken_on", flat=True)) == [
        D(2026, 9, 30),
        D(2026, 8, 31),
        D(2026, 7, 10),
    ]


def test_a_fiscal_quarter_end_follows_the_fiscal_year(cast, history_org):
    history_org.fiscal_year_start_month = 4
    history_org.save()
    SnapshotSettings.objects.create(pk=1, weekday=0, hour=0)
    assert snapshots.take_due_snapshot_now(local(2026, 9, 30, 1)).quarter_end  # FY Q2 ends
    assert not snapshots.take_due_snapshot_now(local(2026, 10, 31, 1)).quarter_end


def test_the_snapshot_keeps_each_open_deal_in_the_base_currency_at_that_days_rate(history):
    snap = PipelineSnapshot.objects.get(taken_on=FIRST)
    d = history.deals
    rows = {r.deal_id: r for r in SnapshotRow.objects.filter(snapshot=snap)}
    assert set(rows) == {d[n].pk for n in "abcdefghz"}  # i was won: not open
    assert snap.deals == 9 and snap.base_currency == "CNY"
    assert rows[d["c"].pk].amount_base == Decimal("700.00")  # 100 USD × 7.0
    a = rows[d["a"].pk]
    assert (a.owner_id, a.team_id, a.stage_id) == (
        d["a"].owner_id,
        d["a"].owner.team_id,
        d["a"].stage_id,
    )
    assert a.category == "P" and a.expected_close == D(2026, 8, 1)
    later = SnapshotRow.objects.get(snapshot__taken_on=SECOND, deal_id=d["c"].pk)
    assert later.amount_base == Decimal("720.00")  # 100 USD × 7.2 from 2026-08-15


def test_a_second_snapshot_of_the_same_day_is_refused_and_writes_nothing(history):
    assert snapshots.take_snapshot(day=FIRST) is None
    assert SnapshotRow.objects.filter(snapshot__taken_on=FIRST).count() == 9


def test_the_waterfall_between_the_snapshots_adds_up_exactly_with_each_bar_its_deals(cast, history):
    d = history.deals
    r = waterfall.between(viewer=cast.rep, start=FIRST, end=SECOND, window=Q3, today=TODAY)
    w = r.waterfall
    ids = {k: sorted(w.bars[k].deal_ids) for k in waterfall.BARS}
    amounts = {k: w.bars[k].amount for k in waterfall.BARS}
    pk = {n: x.pk for n, x in d.items()}
    assert amounts == {
        "start": Decimal("16300.00"),
        "new": Decimal("1600.00"),
        "increased": Decimal("520.00"),
        "decreased": Decimal("-800.00"),
        "pulled_in": Decimal("800.00"),
        "pushed_out": Decimal("-3000.00"),
        "transferred": Decimal(0),
        "won": Decimal("-4000.00"),
        "lost": Decimal("-5000.00"),
        "deleted": Decimal("-600.00"),
        "end": Decimal("5820.00"),
    }
    assert ids["new"] == sorted([pk["i"], pk["j"]])
    assert ids["increased"] == sorted([pk["a"], pk["c"]])
    assert (ids["pulled_in"], ids["pushed_out"]) == ([pk["h"]], [pk["d"]])
    assert (ids["won"], ids["lost"], ids["deleted"]) == ([pk["e"]], [pk["f"]], [pk["g"]])
    assert w.check()
    assert (r.start.source, r.end.source) == ("snapshot", "snapshot")


def test_the_outsider_sees_none_of_easts_deals_and_the_manager_sees_them(cast, history):
    out = waterfall.between(viewer=cast.outsider, start=FIRST, end=SECOND, window=Q3, today=TODAY)
    z = history.deals["z"].pk
    assert out.waterfall.start == out.waterfall.end == Decimal("99999.00")
    assert all(d == z for k in waterfall.BARS for d in out.waterfall.bars[k].deal_ids)
    mgr = waterfall.between(viewer=cast.manager, start=FIRST, end=SECOND, window=Q3, today=TODAY)
    assert mgr.waterfall.end == Decimal("5820.00")


def test_a_deal_handed_to_another_team_leaves_the_viewers_waterfall_as_transferred(cast, history):
    a = history.deals["a"]
    SnapshotRow.objects.filter(snapshot__taken_on=SECOND, deal_id=a.pk).update(
        owner_id=cast.outsider.pk
    )
    r = waterfall.between(viewer=cast.rep, start=FIRST, end=SECOND, window=Q3, today=TODAY)
    assert r.waterfall.bars["transferred"].deal_ids == [a.pk]
    assert r.waterfall.bars["transferred"].amount == Decimal("-1000.00")
    assert r.waterfall.end == Decimal("4320.00") and r.waterfall.check()


def test_as_of_uses_the_nearest_snapshot_at_or_before_the_day(cast, history):
    between = snapshots.as_of(viewer=cast.rep, day=D(2026, 8, 1), today=TODAY)
    assert (between.source, between.effective_on) == ("snapshot", FIRST)
    assert history.deals["e"].pk in between.rows  # open then, won since
    live = snapshots.as_of(viewer=cast.rep, day=TODAY, today=TODAY)
    assert live.source == "live" and history.deals["e"].pk not in live.rows
    assert live.rows[history.deals["c"].pk].amount == Decimal("720.00")


def test_before_any_snapshot_the_pipeline_is_rebuilt_from_the_stage_history(cast, history_org):
    """Created 23:30 in Shanghai on 07-01 (15:30 UTC): open at the end of 07-01; won at
    00:30 there on 07-03 (16:30 UTC on 07-02): still open at the end of 07-02."""
    from salesops.crm.tests.factories import PipelineFactory

    pipeline = PipelineFactory(is_default=True)
    acme = services.create_customer(by=cast.rep, name="Acme")
    deal = services.create_deal(by=cast.rep, customer=acme, name="x", amount=100, currency="USD")
    created = dt.datetime(2026, 7, 1, 15, 30, tzinfo=dt.UTC)
    won_at = dt.datetime(2026, 7, 2, 16, 30, tzinfo=dt.UTC)
    Deal.objects.filter(pk=deal.pk).update(created_on=D(2026, 7, 1))
    StageHistory.objects.filter(deal=deal).update(entered_at=created, left_at=won_at)
    StageHistory.objects.create(deal=deal, stage=pipeline.won_stage(), entered_at=won_at)
    Deal.objects.filter(pk=deal.pk).update(
        status="won",
        closed_on=D(2026, 7, 3),
        stage=pipeline.won_stage(),
        forecast_category="closed",
    )
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 7, 2), rate=Decimal("7.1"))

    def rows(day, viewer=cast.rep):
        return snapshots.as_of(viewer=viewer, day=day, today=TODAY).rows

    assert rows(D(2026, 6, 30)) == {}
    first = rows(D(2026, 7, 1))[deal.pk]
    assert first.amount == Decimal("700.00") and first.stage_id == pipeline.first_stage().pk
    assert first.category == "pipeline"  # the stage's category, not today's "closed"
    assert rows(D(2026, 7, 2))[deal.pk].amount == Decimal("710.00")  # that day's rate
    assert rows(D(2026, 7, 3)) == {}
    assert rows(D(2026, 7, 1), viewer=cast.outsider) == {}
    assert snapshots.as_of(viewer=cast.rep, day=D(2026, 7, 1), today=TODAY).source == "history"


def test_without_an_exchange_rate_the_job_writes_nothing_and_says_why(cast, history_org, caplog):
    from salesops.crm.tests.factories import PipelineFactory

    PipelineFactory(is_default=True)
    acme = services.create_customer(by=cast.rep, name="Acme")
    services.create_deal(by=cast.rep, customer=acme, name="x", amount=10, currency="EUR")
    SnapshotSettings.objects.create(pk=1, weekday=4, hour=22)
    assert snapshots.take_due_snapshot_now(local(2026, 7, 10, 23)) is None
    assert not PipelineSnapshot.objects.exists() and not SnapshotRow.objects.exists()
    assert "no exchange rate for EUR" in caplog.text
