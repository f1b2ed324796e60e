"""Every KPI against values computed by hand (KPIS.md), on a small crafted data set.

Organisation: base CNY, Asia/Shanghai. Rates: USD 7.0 from 2026-01-01 and 7.2 from
2026-08-15; EUR 8.0 from 2026-01-01. Period: 2026-Q3 = [2026-07-01, 2026-10-01).
The arithmetic is written next to each assertion.
"""

import datetime as dt
from decimal import Decimal

import pytest

from salesops.activities.models import FollowUp
from salesops.analytics.engine import Filters, KpiContext, compute
from salesops.analytics.periods import parse_period
from salesops.crm.models import Contract, Customer, Deal, Lead, Payment
from salesops.crm.tests.factories import PipelineFactory
from salesops.org.models import ExchangeRate, Holiday
from salesops.users.models import Target

Q3 = parse_period("2026-Q3")
AFTER_Q3 = dt.date(2026, 10, 15)
D = dt.date
UTC = dt.UTC


def at(text):
    """An aware UTC datetime from 'YYYY-MM-DD HH:MM:SS'."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def org(cast):
    org = cast.org
    org.base_currency_id = "CNY"
    org.time_zone = "Asia/Shanghai"
    org.gross_margin = Decimal("0.5")
    org.save()
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 1, 1), rate=Decimal("7.0"))
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 8, 15), rate=Decimal("7.2"))
    ExchangeRate.objects.create(currency_id="EUR", effective_on=D(2026, 1, 1), rate=Decimal("8.0"))
    return org


@pytest.fixture
def pipeline(db):
    return PipelineFactory(name="New business", is_default=True)


def stage(pipeline, name):
    return pipeline.stages.get(name=name)


def customer(name, owner):
    return Customer.objects.create(name=name, owner=owner)


def deal(
    pipeline,
    owner,
    cust,
    amount,
    status="won",
    created=None,
    closed=None,
    currency="CNY",
    expected=None,
    probability=None,
    stage_name=None,
    deleted=False,
):
    stage_name = stage_name or {"won": "Won", "lost": "Lost", "open": "Negotiate"}[status]
    d = Deal.objects.create(
        name=f"{cust.name} {amount}",
        customer=cust,
        pipeline=pipeline,
        stage=stage(pipeline, stage_name),
        amount=Decimal(amount),
        currency_id=currency,
        status=status,
        created_on=created,
        closed_on=closed,
        expected_close=expected,
        probability=probability,
        owner=owner,
    )
    if deleted:
        d.soft_delete()
    return d


@pytest.fixture
def revenue(cast, org, pipeline):
    """Deals and payments for the revenue, customer and pipeline KPIs."""
    rep, out = cast.rep, cast.outsider
    c = {
        n: customer(n, out if n == "C3" else rep)
        for n in ("C1", "C2", "C3", "C4", "C5", "C6", "C7")
    }
    deal(pipeline, rep, c["C1"], "1000", created=D(2026, 6, 1), closed=D(2026, 7, 10))  # 39 days
    deal(
        pipeline, rep, c["C2"], "100", currency="USD", created=D(2026, 7, 1), closed=D(2026, 8, 20)
    )  # 720, 50 d
    deal(
        pipeline, out, c["C3"], "50", currency="EUR", created=D(2026, 5, 1), closed=D(2026, 9, 30)
    )  # 400, 152 d
    deal(pipeline, rep, c["C1"], "999", created=D(2026, 9, 1), closed=D(2026, 10, 1))  # Q4: outside
    deal(pipeline, rep, c["C4"], "500", status="lost", created=D(2026, 7, 5), closed=D(2026, 7, 20))
    deal(pipeline, rep, c["C5"], "2000", created=D(2025, 11, 1), closed=D(2025, 12, 1))  # 30 d
    deal(pipeline, rep, c["C5"], "300", created=D(2026, 7, 1), closed=D(2026, 8, 1))  # 31 d
    deal(pipeline, rep, c["C5"], "5000", created=D(2026, 7, 1), closed=D(2026, 8, 2), deleted=True)
    deal(pipeline, rep, c["C6"], "100", created=D(2025, 7, 1), closed=D(2025, 7, 15))
    deal(pipeline, rep, c["C7"], "50", created=D(2025, 4, 1), closed=D(2025, 5, 1))
    deal(pipeline, rep, c["C7"], "600", created=D(2026, 2, 1), closed=D(2026, 3, 1))  # 28 d
    # Reopened after being won: open again, so it counts as open pipeline only.
    deal(
        pipeline, rep, c["C1"], "777", status="open", created=D(2026, 6, 1), expected=D(2026, 9, 15)
    )
    deal(
        pipeline,
        cast.rep_east1,
        c["C2"],
        "100",
        status="open",
        currency="USD",
        created=D(2026, 6, 1),
        expected=D(2026, 8, 1),
        probability=50,
    )
    contract = Contract.objects.create(
        number="HT-1",
        title="x",
        customer=c["C1"],
        amount=Decimal("100000"),
        currency_id="CNY",
        owner=rep,
    )
    for day, amount, currency in [
        (D(2026, 7, 1), "100", "USD"),
        (D(2026, 9, 30), "200", "CNY"),
        (D(2026, 6, 30), "50", "CNY"),
    ]:
        Payment.objects.create(
            contract=contract,
            amount=Decimal(amount),
            currency_id=currency,
            received_on=day,
            owner=rep,
        )
    Payment.objects.create(
        contract=contract,
        amount=Decimal("999"),
        currency_id="CNY",
        received_on=D(2026, 8, 1),
        owner=rep,
    ).soft_delete()
    return c


def kpis(viewer, period=Q3, today=AFTER_Q3, **filters):
    values, errors = compute(
        KpiContext(viewer=viewer, period=period, filters=Filters(**filters), today=today)
    )
    assert errors == {}
    return values


def test_bookings_convert_each_deal_at_the_rate_of_its_close_date(cast, revenue):
    # 1000 + 100 USD × 7.2 (closed 08-20) + 50 EUR × 8.0 + 300; the deleted 5000 and the
    # deal closed 2026-10-01 are out.
    k = kpis(cast.admin)
    assert k["bookings"] == "2420.00"
    assert k["won_deals"] == 4
    assert k["avg_deal_size"] == "605.00"


def test_a_rep_counts_only_what_their_scope_shows(cast, revenue):
    k = kpis(cast.rep)
    assert k["bookings"] == "2020.00"  # without the outsider's 400
    assert k["won_deals"] == 3
    assert k["new_customers"] == 2  # C1, C2


def test_the_outsider_sees_only_their_own_deal(cast, revenue):
    k = kpis(cast.outsider)
    assert k["bookings"] == "400.00"
    assert k["collections"] == "0.00"


def test_collections_use_the_rate_of_the_received_date(cast, revenue):
    # 100 USD × 7.0 (07-01, before the 08-15 rate) + 200; 06-30 and the deleted 999 out.
    assert kpis(cast.admin)["collections"] == "900.00"


def test_new_customers_are_those_whose_first_win_is_in_the_period(cast, revenue):
    # C1, C2, C3; C5 had won in 2025-12.
    assert kpis(cast.admin)["new_customers"] == 3


def test_active_customers_and_churn(cast, revenue):
    k = kpis(cast.admin)
    # Active on 09-30: wins in (2025-09-30, 2026-09-30]: C1, C2, C3, C5, C7.
    assert k["active_customers"] == 5
    # A0 on 06-30: C5, C6 (2025-07-15), C7 (2026-03-01); A1 lacks C6: 1/3.
    assert k["churn_rate"] == pytest.approx(1 / 3)


def test_historical_clv(cast, revenue):
    # Bookings in [2025-10-01, 2026-10-01): 2000 + 600 + 2420 = 5020; active 5;
    # annual churn: A0 on 2025-09-30 = {C6, C7}, A1 = {C1, C2, C3, C5, C7} → 1/2 → lifetime 2;
    # 5020 / 5 × 0.5 × 2 = 1004.
    assert kpis(cast.admin)["clv_historical"] == "1004.00"


def test_sales_cycle_median_and_mean(cast, revenue):
    k = kpis(cast.admin)
    assert k["sales_cycle_median"] == 44.5  # 31, 39, 50, 152
    assert k["sales_cycle_mean"] == 68.0  # 272 / 4


def test_a_won_deal_without_its_creation_day_has_no_cycle(cast, revenue):
    """Left out of the cycle (as the roll-ups leave it out), never a crash."""
    won = Deal.objects.filter(status=Deal.Status.WON, closed_on__gte=Q3.start).order_by("pk")
    Deal.objects.filter(pk=won[0].pk).update(created_on=None)
    for viewer in (cast.admin, cast.manager):  # rolled up, and per owner
        k = kpis(viewer)
        assert k["sales_cycle_median"] is None or isinstance(k["sales_cycle_median"], float)
    k = kpis(cast.admin)
    assert k["sales_cycle_mean"] != 68.0  # one deal fewer in the cycle
    assert k["rep_performance"]


def test_win_rate_by_count_and_by_amount(cast, revenue):
    k = kpis(cast.admin)
    assert k["win_rate"] == 0.8  # 4 / (4 + 1)
    assert k["win_rate_by_amount"] == pytest.approx(2420 / 2920)


def test_open_and_weighted_pipeline_at_the_latest_rate(cast, revenue):
    k = kpis(cast.admin)
    # 777 + 100 USD × 7.2 = 1497; weighted 777 × 70% + 720 × 50% = 903.9.
    assert k["open_pipeline"] == "1497.00"
    assert k["weighted_pipeline"] == "903.90"


def test_pipeline_coverage_against_the_owners_target(cast, revenue):
    Target.objects.create(
        user=cast.rep,
        metric="bookings",
        period_kind="quarter",
        period_start=Q3.start,
        value=Decimal("5000"),
    )
    # On 09-01: rep's open deals expected in [09-01, 10-01) = 777; remainder 5000 − 2020.
    k = kpis(cast.admin, today=D(2026, 9, 1), owner=cast.rep)
    assert k["pipeline_coverage"] == pytest.approx(777 / 2980)
    assert kpis(cast.admin, today=D(2026, 9, 1))["pipeline_coverage"] is None  # no target


def test_sales_velocity_uses_the_365_days_before_today(cast, revenue):
    # Won in [2025-10-15, 2026-10-15): 2000, 600, 1000, 720, 400, 300, 999 (7, 6019);
    # lost 1 → win rate 7/8; cycles 30+28+39+50+152+31+30 = 360 → mean 360/7;
    # open deals 2: 2 × 7/8 × 6019/7 ÷ 360/7 = 29.259…
    assert kpis(cast.admin)["sales_velocity"] == "29.26"


def test_attainment_for_people_and_teams(cast, revenue):
    Target.objects.create(
        user=cast.rep,
        metric="bookings",
        period_kind="quarter",
        period_start=Q3.start,
        value=Decimal("5000"),
    )
    Target.objects.create(
        team=cast.east,
        metric="bookings",
        period_kind="quarter",
        period_start=Q3.start,
        value=Decimal("10000"),
    )
    Target.objects.create(
        user=cast.rep,
        metric="bookings",
        period_kind="month",
        period_start=Q3.start,
        value=Decimal("1"),
    )  # another period
    k = kpis(cast.admin)
    assert k["attainment"]["bookings"]["users"] == {str(cast.rep.pk): 0.404}  # 2020 / 5000
    assert k["attainment"]["bookings"]["teams"] == {str(cast.east.pk): 0.202}  # 2020 / 10000
    perf = k["rep_performance"]
    assert perf[str(cast.rep.pk)]["attainment"] == 0.404
    assert perf[str(cast.rep.pk)]["rank"] == 1
    assert perf[str(cast.rep.pk)]["bookings"] == "2020.00"
    assert perf[str(cast.outsider.pk)]["bookings"] == "400.00"
    assert perf[str(cast.outsider.pk)]["rank"] is None


def test_zero_denominators_are_null_never_zero(cast, org, pipeline):
    k = kpis(cast.admin)
    for key in (
        "avg_deal_size",
        "churn_rate",
        "clv_historical",
        "sales_cycle_median",
        "sales_cycle_mean",
        "win_rate",
        "lead_conversion_rate",
        "sales_velocity",
        "pipeline_coverage",
    ):
        assert k[key] is None, key
    assert k["bookings"] == "0.00"
    assert k["won_deals"] == 0


def test_a_missing_rate_makes_the_kpi_null_with_a_message(cast, org, pipeline):
    c = customer("X", cast.rep)
    deal(pipeline, cast.rep, c, "10", currency="GBP", created=D(2026, 7, 1), closed=D(2026, 7, 2))
    values, errors = compute(KpiContext(viewer=cast.admin, period=Q3, today=D(2026, 10, 15)))
    assert values["bookings"] is None
    assert "GBP" in errors["bookings"]


def test_fiscal_quarters_follow_the_fiscal_year_start(cast, org, pipeline):
    c = customer("X", cast.rep)
    deal(pipeline, cast.rep, c, "10", created=D(2026, 4, 1), closed=D(2026, 4, 30))
    deal(pipeline, cast.rep, c, "20", created=D(2026, 4, 1), closed=D(2026, 6, 30))
    fq1 = parse_period("FY2026-Q1", fiscal_start_month=4)  # April–June 2026
    assert (fq1.start, fq1.end) == (D(2026, 4, 1), D(2026, 7, 1))
    assert kpis(cast.admin, period=fq1)["bookings"] == "30.00"


def test_lead_conversion_counts_leads_created_in_the_period(cast, org):
    def lead(day, status, deleted=False):
        lead = Lead.objects.create(
            name="x",
            owner=cast.rep,
            status=status,
            created_on=day,
            converted_at=at("2026-09-01 00:00:00") if status == "converted" else None,
        )
        if deleted:
            lead.soft_delete()

    lead(D(2026, 7, 1), "converted")
    lead(D(2026, 8, 1), "new")
    lead(D(2026, 9, 30), "converted")
    lead(D(2026, 8, 2), "converted", deleted=True)
    lead(D(2026, 6, 30), "converted")
    assert kpis(cast.admin)["lead_conversion_rate"] == pytest.approx(2 / 3)
    assert kpis(cast.outsider)["lead_conversion_rate"] is None


def test_touchpoints_count_working_days_and_the_midnight_boundary(cast, org):
    # Q3 2026 has 66 weekdays; holidays 08-03 (Mon) and 09-25 (Fri), make-up workday
    # 09-27 (Sun): 66 − 2 + 1 = 65. Reps: rep, rep_east1, teammate, outsider = 4.
    Holiday.objects.create(day=D(2026, 8, 3))
    Holiday.objects.create(day=D(2026, 9, 25))
    Holiday.objects.create(day=D(2026, 9, 27), kind="workday")
    c = customer("X", cast.rep)

    def touch(owner, kind, when):
        FollowUp.objects.create(owner=owner, kind=kind, occurred_at=at(when), customer=c)

    touch(cast.rep, "call", "2026-06-30 16:00:00")  # 07-01 00:00 in Shanghai: in
    touch(cast.rep, "visit", "2026-08-01 03:00:00")
    touch(cast.rep, "meeting", "2026-09-30 15:59:59")  # 09-30 23:59:59: in
    touch(cast.rep, "note", "2026-08-01 03:00:00")  # a note is no touchpoint
    touch(cast.rep, "call", "2026-09-30 16:00:00")  # 10-01 00:00: out
    touch(cast.rep, "call", "2026-06-30 15:59:59")  # 06-30 23:59:59: out
    touch(cast.outsider, "email", "2026-07-15 03:00:00")
    touch(cast.outsider, "message", "2026-07-16 03:00:00")
    k = kpis(cast.admin)
    assert k["touchpoints_per_rep_day"] == pytest.approx(5 / (4 * 65))
    assert k["rep_performance"][str(cast.rep.pk)]["touchpoints_per_day"] == pytest.approx(3 / 65)
    # The outsider's scope has one rep (themself) and their 2 touchpoints.
    assert kpis(cast.outsider)["touchpoints_per_rep_day"] == pytest.approx(2 / 65)


def test_stage_conversion_follows_the_stage_history_written_by_the_services(cast, org, pipeline):
    from unittest import mock

    from salesops.crm import services

    def when(text):
        return mock.patch("django.utils.timezone.now", return_value=at(text))

    def new(owner, text):
        with when(text):
            c = services.create_customer(by=owner, name=f"C {text}")
            return services.create_deal(by=owner, customer=c, name="d", pipeline=pipeline)

    def move(d, name, text, by=None):
        with when(text):
            services.move_deal_stage(
                deal=d,
                stage=stage(pipeline, name),
                by=by or d.owner,
                lost_reason="price" if name == "Lost" else "",
            )

    x = new(cast.rep, "2026-07-02 01:00:00")  # Qualify → Propose → Lost
    move(x, "Propose", "2026-07-10 01:00:00")
    move(x, "Lost", "2026-07-20 01:00:00")
    y = new(cast.rep, "2026-07-05 01:00:00")  # Qualify → Won
    move(y, "Won", "2026-07-30 01:00:00")
    z = new(cast.rep, "2026-08-01 00:30:00")  # Qualify → Propose, still there
    move(z, "Propose", "2026-08-01 01:00:00")
    r = new(cast.rep, "2026-07-03 00:00:00")  # Qualify → Negotiate → Won, reopened
    move(r, "Negotiate", "2026-07-03 01:00:00")
    move(r, "Won", "2026-07-04 01:00:00")
    move(r, "Negotiate", "2026-07-05 01:00:00")
    new(cast.rep, "2026-08-05 01:00:00")  # Qualify, never moved
    early = new(cast.rep, "2026-06-01 01:00:00")  # entered Qualify before Q3
    move(early, "Propose", "2026-07-02 01:00:00")
    hidden = new(cast.outsider, "2026-08-01 01:00:00")  # the outsider's: Qualify → Propose
    move(hidden, "Propose", "2026-08-02 01:00:00")

    ids = {name: str(stage(pipeline, name).pk) for name in ("Qualify", "Propose", "Negotiate")}
    # rep: Qualify entered by x, y, z, r, the unmoved one (not `early`): 4 advanced of 5.
    # Propose: x (then lost), z (still), early (still): 0 of 3. Negotiate: r twice: 1 of 1.
    k = kpis(cast.rep, pipeline=pipeline)
    assert k["stage_conversion"] == {
        ids["Qualify"]: 0.8,
        ids["Propose"]: 0.0,
        ids["Negotiate"]: 1.0,
    }
    # The admin also sees the outsider's deal: Qualify 5 of 6, Propose 0 of 4.
    k = kpis(cast.admin)
    assert k["stage_conversion"][ids["Qualify"]] == pytest.approx(5 / 6)
    assert k["stage_conversion"][ids["Propose"]] == 0.0


def test_team_filter_includes_sub_teams(cast, revenue, pipeline):
    deal(pipeline, cast.rep_east1, revenue["C4"], "10", created=D(2026, 7, 1), closed=D(2026, 7, 2))
    assert kpis(cast.admin, team=cast.east)["bookings"] == "2030.00"  # rep 2020 + East-1 10
    assert kpis(cast.admin, team=cast.east1)["bookings"] == "10.00"
    assert kpis(cast.admin, team=cast.west)["bookings"] == "400.00"
