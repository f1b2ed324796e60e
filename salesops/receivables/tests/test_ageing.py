"""Ageing on the crafted data (crafted.py states every figure)."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest

from salesops.receivables import ageing as ag
from salesops.receivables.tests.crafted import TODAY, D, build, pay


@pytest.fixture
def data(cast):
    return build(cast)


def cells(row):
    return {k: (c.count, c.amount) for k, c in row.cells.items() if c.count}


def test_buckets_per_customer_in_base_currency(data):
    a = ag.ageing(data.cast.admin, group="customer", today=TODAY)
    by = {r.name: r for r in a.rows}
    assert set(by) == {"Alpha", "Beta", "Gamma"}
    assert cells(by["Alpha"]) == {
        "d1_30": (1, Decimal(1500)),
        "not_due": (1, Decimal(4000)),
    }
    assert cells(by["Beta"]) == {
        "d90_plus": (1, Decimal("10800.0")),
        "d61_90": (1, Decimal("7200.0")),
        "d31_60": (1, Decimal("7200.0")),
        "d1_30": (1, Decimal("3600.0")),
        "not_due": (1, Decimal("3600.0")),
    }
    assert cells(by["Gamma"]) == {"d31_60": (1, Decimal(2000))}
    # Beta owes the most overdue (28,800), then Gamma (2,000), then Alpha (1,500).
    assert [r.name for r in a.rows] == ["Beta", "Gamma", "Alpha"]
    assert a.totals.total.amount == Decimal(1500 + 4000 + 32400 + 2000)
    assert a.totals.overdue.count == 6


def test_bucket_of_boundaries():
    assert [ag.bucket_of(d) for d in (-3, 0, 1, 30, 31, 60, 61, 90, 91)] == [
        "not_due", "not_due", "d1_30", "d1_30", "d31_60", "d31_60", "d61_90", "d61_90",
        "d90_plus",
    ]  # fmt: skip


def test_fifo_and_linked_payments_per_instalment(data):
    lines = {ln.plan.pk: ln for ln in ag.instalments(data.cast.admin, today=TODAY)}
    p = data.plans
    assert p["A1"].pk not in lines  # paid by the unlinked 3,500 (FIFO)
    assert p["A4"].pk not in lines  # deleted
    assert lines[p["A2"].pk].outstanding == Decimal(1500)
    assert lines[p["A2"].pk].days_overdue == 27
    assert lines[p["B1"].pk].outstanding == Decimal(1500)
    assert lines[p["B1"].pk].outstanding_base == Decimal("10800.0")
    assert lines[p["B5"].pk].bucket == "not_due"
    assert lines[p["B4"].pk].bucket == "d1_30"
    assert lines[p["B3"].pk].bucket == "d61_90"
    assert lines[p["B2"].pk].bucket == "d31_60"
    # Oldest due first.
    assert [ln.plan.due_on for ln in lines.values()] == sorted(
        ln.plan.due_on for ln in lines.values()
    )


def test_partial_payment_moves_fifo_to_next(data):
    # 1,700 more unlinked on Alpha: A2's 1,500 paid, A3 gets 200.
    pay(data.contracts["A"], 1700, D(2026, 12, 1))
    lines = {ln.plan.pk: ln for ln in ag.instalments(data.cast.admin, today=TODAY)}
    assert data.plans["A2"].pk not in lines
    assert lines[data.plans["A3"].pk].outstanding == Decimal(3800)


def test_payment_on_a_deleted_instalment_goes_to_the_pool(data):
    from django.utils import timezone

    c = data.contracts["A"]
    a4 = data.plans["A4"]
    a4.deleted_at = None
    a4.save()
    pay(c, 1000, D(2026, 11, 25), a4)
    a4.deleted_at = timezone.now()
    a4.save()
    # A4's 1,000 is now unlinked money: A2's 1,500 → 500.
    lines = {ln.plan.pk: ln for ln in ag.instalments(data.cast.admin, today=TODAY)}
    assert lines[data.plans["A2"].pk].outstanding == Decimal(500)


def test_deleted_contract_does_not_count(data):
    from django.utils import timezone

    c = data.contracts["G"]
    c.deleted_at = timezone.now()
    c.save()
    a = ag.ageing(data.cast.admin, today=TODAY)
    assert "Gamma" not in {r.name for r in a.rows}


def test_today_is_the_org_time_zone_s(data):
    # 2026-12-06 17:00 UTC is already 2026-12-07 01:00 in Shanghai: B4 (due 12-06) is
    # one day overdue, B5 (due 12-07) not due.
    moment = dt.datetime(2026, 12, 6, 17, 0, tzinfo=dt.UTC)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        lines = {ln.plan.pk: ln for ln in ag.instalments(data.cast.admin)}
    assert lines[data.plans["B4"].pk].days_overdue == 1
    assert lines[data.plans["B5"].pk].bucket == "not_due"
    # At 15:00 UTC it is still 12-06 23:00 there: B4 is due today, not overdue.
    moment = dt.datetime(2026, 12, 6, 15, 0, tzinfo=dt.UTC)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        lines = {ln.plan.pk: ln for ln in ag.instalments(data.cast.admin)}
    assert lines[data.plans["B4"].pk].bucket == "not_due"


def test_payments_after_the_day_asked_do_not_count(data):
    lines = {ln.plan.pk: ln for ln in ag.instalments(data.cast.admin, today=D(2026, 11, 15))}
    # On 11-15 the unlinked 3,500 (11-20) had not come: A1 owed whole, A2 owes 2,000.
    assert lines[data.plans["A1"].pk].outstanding == Decimal(3000)
    assert lines[data.plans["A2"].pk].outstanding == Decimal(2000)


def test_per_rep_and_team(data):
    c = data.cast
    reps = {r.key: r for r in ag.ageing(c.admin, group="rep", today=TODAY).rows}
    assert reps[c.rep.pk].total.amount == Decimal(5500 + 32400)
    assert reps[c.outsider.pk].total.amount == Decimal(2000)
    teams = {r.key: r for r in ag.ageing(c.admin, group="team", today=TODAY).rows}
    assert teams[c.east.pk].total.count == 7
    assert teams[c.west.pk].total.count == 1
    # The drill to East lists the rep's seven; East-1's row (rep_east1) is its own.
    from salesops.receivables.tests.crafted import contract, plan

    cust = data.alpha.__class__.objects.create(name="Epsilon", owner=c.rep_east1)
    plan(contract("C-E", cust, 100), D(2026, 12, 1), 100)
    lines = ag.instalments(c.admin, today=TODAY, narrow=ag.narrow_for("team", c.east.pk))
    assert len(lines) == 7
    teams = {r.key: r for r in ag.ageing(c.admin, group="team", today=TODAY).rows}
    assert teams[c.east.pk].total.count == 7 and teams[c.east1.pk].total.count == 1


def test_row_permissions(data):
    c = data.cast
    outsider = {r.name for r in ag.ageing(c.outsider, today=TODAY).rows}
    assert outsider == {"Gamma"}
    assert {r.name for r in ag.ageing(c.rep, today=TODAY).rows} == {"Alpha", "Beta"}
    assert {r.name for r in ag.ageing(c.manager, today=TODAY).rows} == {"Alpha", "Beta"}
    assert {r.name for r in ag.ageing(c.rep_east1, today=TODAY).rows} == set()
    assert ag.instalments(c.outsider, today=TODAY, narrow=ag.Narrow(customer_id=data.beta.pk)) == []


def test_bucket_filter(data):
    lines = ag.instalments(data.cast.admin, today=TODAY, bucket="d31_60")
    assert sorted(ln.plan.pk for ln in lines) == sorted([data.plans["B2"].pk, data.plans["G1"].pk])
