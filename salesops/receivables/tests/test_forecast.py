"""The cash forecast: pure maths exhaustively, then the stored forecast and its accuracy."""

import datetime as dt
from decimal import Decimal

import pytest

from salesops.receivables import forecast
from salesops.receivables import forecast_math as fm
from salesops.receivables.models import ForecastSnapshot
from salesops.receivables.tests.crafted import TODAY, D, build, contract, pay, plan

S = fm.Settled


def test_estimate_needs_enough_history():
    assert fm.estimate([S(1, 0), S(1, 3)]) is None
    p = fm.estimate([S(1, 0), S(1, 10), S(0.5, None), S(1, 10)])
    # share: (1 + 1 + 0.5 + 1) / 4 = 0.875; lateness of the three paid in full: 0 once,
    # 10 twice.
    assert p.share == pytest.approx(0.875)
    assert p.late == ((0, pytest.approx(1 / 3)), (10, pytest.approx(2 / 3)))


def test_early_payment_counts_as_on_time():
    p = fm.estimate([S(1, -5), S(1, 0), S(1, 2)])
    assert [d for d, _p in p.late] == [0, 2]


def test_choose_falls_back_customer_segment_organisation_default():
    seg = fm.Profile(0.5, ((0, 1.0),), "segment")
    assert fm.choose(None, seg, None) is seg
    assert fm.choose(None, None, None) is fm.DEFAULT


def test_expected_receipts_not_yet_due():
    p = fm.Profile(0.8, ((0, 0.5), (30, 0.5)))
    got = fm.expected_receipts(Decimal(1000), D(2027, 1, 1), D(2026, 12, 1), p)
    # T = 1 → P = 0.8; 400 on the due date, 400 thirty days later.
    assert got == [(D(2027, 1, 1), Decimal("400.0")), (D(2027, 1, 31), Decimal("400.0"))]


def test_expected_receipts_overdue_conditions_on_not_paid_yet():
    p = fm.Profile(0.8, ((0, 0.5), (30, 0.5)))
    # 10 days overdue: T = 0.5; P = 0.8·0.5 ÷ (1 − 0.8·0.5) = 0.4 ÷ 0.6 = 2/3.
    got = fm.expected_receipts(Decimal(900), D(2026, 11, 21), D(2026, 12, 1), p)
    assert len(got) == 1 and got[0][0] == D(2026, 12, 21)
    assert got[0][1] == pytest.approx(Decimal(600), abs=Decimal("0.01"))
    # Later than anyone ever paid: nothing expected.
    assert fm.expected_receipts(Decimal(900), D(2026, 9, 1), D(2026, 12, 1), p) == []


def test_bucket_weeks_and_months():
    today = D(2026, 12, 9)  # a Wednesday
    got = fm.bucket(
        [
            (D(2026, 12, 1), Decimal(10)),  # before today: this week and month
            (D(2026, 12, 14), Decimal(20)),
            (D(2027, 1, 3), Decimal(5)),  # Sunday: the week of Monday 2026-12-28
            (D(2027, 6, 1), Decimal(99)),  # beyond six months (Dec–May)
        ],
        today,
    )
    assert got[("week", D(2026, 12, 7))] == 10
    assert got[("week", D(2026, 12, 14))] == 20
    assert got[("week", D(2026, 12, 28))] == 5
    assert got[("month", D(2026, 12, 1))] == 30
    assert got[("month", D(2027, 1, 1))] == 5
    assert ("month", D(2027, 6, 1)) not in got
    assert got[("month", D(2027, 5, 1))] == 0
    assert sum(v for (k, _s), v in got.items() if k == "month") == 35


def test_settle_linked_then_fifo_in_the_order_received():
    plans = [(1, D(2026, 1, 1), 100), (2, D(2026, 2, 1), 100), (3, D(2026, 3, 1), 100)]
    pays = [
        (None, D(2026, 1, 5), 150),  # 100 to #1 (paid 01-05), 50 to #2
        (3, D(2026, 2, 10), 100),  # #3 in full on 02-10
        (None, D(2026, 2, 20), 30),  # 30 to #2 (80 of 100)
    ]
    assert fm.settle(plans, pays) == {
        1: (100, D(2026, 1, 5)),
        2: (80, None),
        3: (100, D(2026, 2, 10)),
    }


def test_accuracy():
    ape, bias = fm.accuracy([(Decimal(110), Decimal(100)), (Decimal(80), Decimal(100))])
    # errors +0.10 and −0.20: APE 0.15, bias −0.05
    assert ape == pytest.approx(0.15) and bias == pytest.approx(-0.05)
    assert fm.accuracy([(Decimal(5), Decimal(0))]) == (None, None)


@pytest.fixture
def data(cast):
    return build(cast)


def test_forecast_stored_once_a_week_and_summed_per_visible_owner(data):
    c = data.cast
    assert forecast.take_snapshot(today=TODAY) > 0
    assert forecast.take_snapshot(today=TODAY + dt.timedelta(days=2)) == 0  # same week
    # History (due 60–730 days before 12-07, i.e. by 10-08): Alpha's A1 (paid in full
    # 50 days late), Beta's B1 (¼ paid), B2 and B3 (nothing). Alpha has 1 (< 3): its
    # segment Retail (4: share (1 + ¼ + 0 + 0) ÷ 4 = 0.3125, late 50 days); Beta has 3:
    # share 1/12, never paid in full (late taken as 0); Gamma (Energy, no history): the
    # organisation's (the same 4 as Retail).
    view = forecast.forecast_for(c.outsider, today=TODAY)
    # G1 2,000, 36 days overdue: lateness ≥ 36 → 50 (T = 1), P = 0.3125 → 625 on 12-21.
    assert dict(view.weeks)[D(2026, 12, 21)] == Decimal("625.00")
    assert sum(m[1] for m in view.months) == Decimal("625.00")
    admin = forecast.forecast_for(c.admin, today=TODAY)
    # A2 1,500 → 468.75 on 12-30; A3 4,000 → 1,250 on 2027-03-01; Beta: B1–B4 are
    # overdue beyond any lateness seen (0): nothing; B5 due today 500 USD × 7.2 × 1/12 =
    # 300 today; G1 625. Total 2,643.75.
    months = {m: e for m, e, _t in admin.months}
    assert sum(months.values()) == Decimal("2643.75")
    assert months[D(2027, 3, 1)] == Decimal(1250)
    assert months[D(2026, 12, 1)] == Decimal("1393.75")


def test_forecast_uses_the_customer_s_history(data):
    # Delta paid three past instalments, each 10 days late and in full.
    cust = data.alpha.__class__.objects.create(name="Delta", owner=data.cast.rep)
    k = contract("C-D", cust, 10_000)
    for due in (D(2026, 3, 1), D(2026, 4, 1), D(2026, 5, 1)):
        pay(k, 1000, due + dt.timedelta(days=10), plan(k, due, 1000))
    plan(k, D(2026, 12, 20), 1000)
    by_owner = forecast.forecast_by_owner(TODAY)
    rep = by_owner[data.cast.rep.pk]
    # Delta's own profile (3 in full, 10 days late): its 1,000 due 12-20 on 12-30 (week
    # of 12-28). The same week: A2's 1,500 × 0.3125 (Retail, see above) = 468.75.
    assert rep[("week", D(2026, 12, 28))] == Decimal("1468.75")


def test_accuracy_compares_with_collections(data):
    c = data.cast
    ForecastSnapshot.objects.create(
        made_on=D(2026, 10, 26), owner=c.rep, kind="month", period_start=D(2026, 11, 1),
        expected=Decimal(5000),
    )  # fmt: skip
    ForecastSnapshot.objects.create(
        made_on=D(2026, 10, 26), owner=c.outsider, kind="month", period_start=D(2026, 11, 1),
        expected=Decimal(700),
    )  # fmt: skip
    acc = forecast.accuracy_for(c.rep, today=TODAY)
    # The rep's November collections: 1,000 + 3,500 (CNY) = 4,500; forecast 5,000:
    # error (5,000 − 4,500) ÷ 4,500 = 0.111…
    assert [(r[1], r[3], r[4]) for r in acc.rows] == [
        (D(2026, 11, 1), Decimal(5000), Decimal(4500))
    ]
    assert acc.ape == pytest.approx(1 / 9) and acc.bias == pytest.approx(1 / 9)
    outsider = forecast.accuracy_for(c.outsider, today=TODAY)
    # The outsider sees only their own 700 forecast; they collected nothing: no error.
    assert [r[3] for r in outsider.rows] == [Decimal(700)] and outsider.ape is None


def test_the_page_shows_the_latest_stored_forecast_without_making_one(data):
    forecast.take_snapshot(today=TODAY - dt.timedelta(days=7))
    view = forecast.forecast_for(data.cast.admin, today=TODAY)
    assert view.made_on == D(2026, 11, 30)
    assert not ForecastSnapshot.objects.filter(made_on=D(2026, 12, 7)).exists()
