"""The KPIs of KPIS.md whose data lives in the CRM, registered with the engine.

Each function states its definition in its docstring, computes from query functions on
the context (always through `visible_to`), and leaves the arithmetic to `formulas`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Round
from django.utils.translation import gettext_lazy as _

from salesops.activities.models import FollowUp
from salesops.analytics import formulas as fx
from salesops.analytics import rolled
from salesops.analytics.engine import Filters, Kind, KpiContext, kpi
from salesops.analytics.periods import Period
from salesops.crm.models import Deal, Lead
from salesops.crm.models.deals import StageHistory
from salesops.customization.policy import hidden_keys
from salesops.pipeline.models import Stage
from salesops.users.models import Target, Team, User

WON, LOST, OPEN = Deal.Status.WON, Deal.Status.LOST, Deal.Status.OPEN


# -- which fields a KPI reads ------------------------------------------------------------------

_WON = frozenset({("deal", "status"), ("deal", "closed_on")})
_AMOUNT = frozenset({("deal", "amount"), ("deal", "currency")})
_OPEN = frozenset({("deal", "status"), ("deal", "expected_close")}) | _AMOUNT
_PAID = frozenset({("payment", "amount"), ("payment", "currency"), ("payment", "received_on")})

#: The fields (object type, key) a figure depends on: a viewer from whom one is hidden
#: gets no such figure (ADR 0012: "never a result that depends on it"). KPI ids, and
#: target metrics (attainment and the targets grid are figures per metric).
READS: dict[str, frozenset[tuple[str, str]]] = {
    "bookings": _WON | _AMOUNT,
    "collections": _PAID,
    "won_deals": _WON,
    "avg_deal_size": _WON | _AMOUNT,
    "new_customers": _WON,
    "active_customers": _WON,
    "churn_rate": _WON,
    "clv_historical": _WON | _AMOUNT,
    "sales_cycle_median": _WON | {("deal", "created_on")},
    "sales_cycle_mean": _WON | {("deal", "created_on")},
    "win_rate": _WON,
    "win_rate_by_amount": _WON | _AMOUNT,
    "lead_conversion_rate": frozenset({("lead", "status"), ("lead", "created_on")}),
    "stage_conversion": frozenset({("deal", "stage")}),
    "touchpoints_per_rep_day": frozenset({("followup", "kind"), ("followup", "occurred_at")}),
    "open_pipeline": _OPEN,
    "weighted_pipeline": _OPEN | {("deal", "probability"), ("deal", "stage")},
    "pipeline_coverage": _WON | _OPEN,
    "sales_velocity": _WON | _AMOUNT | {("deal", "created_on")},
    # per target metric (`attainment`, `rep_performance`, targets grid)
    Target.Metric.BOOKINGS: _WON | _AMOUNT,
    Target.Metric.COLLECTIONS: _PAID,
    Target.Metric.WON_DEALS: _WON,
    Target.Metric.NEW_CUSTOMERS: _WON,
    Target.Metric.FOLLOWUPS: frozenset({("followup", "occurred_at")}),
}
#: Parts of `rep_performance`'s rows, by the figure they are.
REP_PARTS = {
    "bookings": "bookings",
    "collections": "collections",
    "won_deals": "won_deals",
    "win_rate": "win_rate",
    "avg_deal_size": "avg_deal_size",
    "sales_cycle_median": "sales_cycle_median",
    "sales_cycle_mean": "sales_cycle_mean",
    "touchpoints_per_day": "touchpoints_per_rep_day",
    "attainment": Target.Metric.BOOKINGS,
}


def withheld(viewer: Any, ids: Any) -> set[str]:
    """Of these KPI ids (or target metrics), those that read a field hidden from
    `viewer`: surfaces show "—" (`WITHHELD_NOTE`) instead of the figure."""
    out = set()
    for kpi_id in ids:
        if any(key in hidden_keys(viewer, obj) for obj, key in READS.get(kpi_id, ())):
            out.add(kpi_id)
    return out


#: What a surface says in place of a withheld figure.
WITHHELD_NOTE = _("hidden for your role")


# -- shared facts --------------------------------------------------------------------------


class DaysBetween(Func):
    """Whole days from `start` to `end` (end − start), in the database."""

    output_field = IntegerField()

    def __init__(self, start: Any, end: Any) -> None:
        super().__init__(end, start)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra
        )


def closed_facts(
    ctx: KpiContext, p: Period, *, by_owner: bool
) -> list[tuple[int | None, str, str, dt.date, Decimal, int, int, int]] | None:
    """Closed deals in p from the roll-ups: (owner or None, status, currency, day,
    Σ amount, count, Σ cycle days, deals with a cycle); None when the filters need the
    raw rows. Per owner, rows are grouped by exchange-rate segment rather than by day
    (the day is then the segment's first day), which is all money conversion needs."""
    sc = rolled.scope(ctx, Deal)
    if sc is None:
        return None
    return ctx.memo(
        f"closed_facts:{p.start}:{p.end}:{by_owner}",
        lambda: rolled.closed_rows(ctx, sc, p, [WON, LOST], by_owner=by_owner, by_rate=by_owner),
    )


def won_rows(
    ctx: KpiContext, p: Period, *, by_owner: bool = False
) -> list[tuple[int | None, str, dt.date, Decimal, int]]:
    """Won deals closed in p, grouped: (owner or None, currency, closed_on, Σ amount, count).
    Grouping by owner only when asked keeps the organisation totals to a few hundred rows."""

    def load() -> list:
        sc = rolled.scope(ctx, Deal)
        if sc is not None:
            facts = (
                rolled.closed_rows(ctx, sc, p, [WON], by_owner=True)
                if by_owner
                else closed_facts(ctx, p, by_owner=False) or []
            )
            return [(o, c, d, s, n) for o, st, c, d, s, n, _cy, _cn in facts if st == WON]
        qs = ctx.deals().filter(status=WON, closed_on__gte=p.start, closed_on__lt=p.end)
        if by_owner:
            rows = qs.values_list("owner_id", "currency_id", "closed_on")
        else:
            rows = qs.annotate(o=Value(None, output_field=IntegerField())).values_list(
                "o", "currency_id", "closed_on"
            )
        return list(rows.annotate(s=Sum("amount"), n=Count("*")).order_by())

    return ctx.memo(f"won:{p.start}:{p.end}:{by_owner}", load)


def won_facts(ctx: KpiContext, p: Period, *, by_owner: bool) -> list:
    """(owner, currency, day, Σ amount, count) of won deals in p, for sums only: from the
    rate-segment roll-up when it serves, else `won_rows`."""
    facts = closed_facts(ctx, p, by_owner=by_owner)
    if facts is None:
        return won_rows(ctx, p, by_owner=by_owner)
    return [(o, c, d, s, n) for o, st, c, d, s, n, _cy, _cn in facts if st == WON]


def bookings_by_owner(
    ctx: KpiContext, p: Period, *, by_owner: bool = True
) -> dict[int | None, Decimal]:
    def load() -> dict:
        out: dict[int | None, Decimal] = defaultdict(Decimal)
        for owner, code, day, s, _n in won_facts(ctx, p, by_owner=by_owner):
            out[owner] += Decimal(s) * ctx.rates.rate_on(code, day)
        return out

    return ctx.memo(f"bookings_by_owner:{p.start}:{p.end}:{by_owner}", load)


def bookings(ctx: KpiContext, p: Period) -> Decimal:
    return sum(bookings_by_owner(ctx, p, by_owner=False).values(), Decimal(0))


def won_by_owner(ctx: KpiContext, p: Period, *, by_owner: bool = True) -> Counter:
    out: Counter = Counter()
    for owner, _c, _d, _s, n in won_facts(ctx, p, by_owner=by_owner):
        out[owner] += n
    return out


def won_count(ctx: KpiContext, p: Period) -> int:
    return sum(won_by_owner(ctx, p, by_owner=False).values())


def cycle_histograms(
    ctx: KpiContext, p: Period, *, by_owner: bool = True
) -> dict[int | None, Counter]:
    """Per owner (or None for all): {days from created_on to closed_on: how many won
    deals} over p."""

    def load() -> dict:
        out: dict[int | None, Counter] = defaultdict(Counter)
        if not by_owner and ctx.per_owner():
            # the sum of the owners' histograms: one scan serves both uses
            for hist in cycle_histograms(ctx, p, by_owner=True).values():
                out[None].update(hist)
            return out
        qs = (
            ctx.deals()
            # a deal without its creation day has no cycle (as in the roll-ups)
            .filter(status=WON, closed_on__gte=p.start, closed_on__lt=p.end)
            .exclude(created_on=None)
            .annotate(days=DaysBetween("created_on", "closed_on"))
        )
        if by_owner:
            grouped = qs.values_list("owner_id", "days")
        else:
            grouped = qs.annotate(o=Value(None, output_field=IntegerField())).values_list(
                "o", "days"
            )
        # COUNT(*), not COUNT(id): the KPI index covers the query without the table
        rows = grouped.annotate(n=Count("*")).order_by()
        for owner, days, n in rows:
            out[owner][days] += n
        return out

    return ctx.memo(f"cycles:{p.start}:{p.end}:{by_owner}", load)


def closed_counts(
    ctx: KpiContext, p: Period, *, by_owner: bool = True
) -> dict[int | None, Counter]:
    """Per owner (or None for all): {status: count} of deals closed (won or lost) in p."""

    def load() -> dict:
        out: dict[int | None, Counter] = defaultdict(Counter)
        facts = closed_facts(ctx, p, by_owner=by_owner)
        if facts is not None:
            for owner, status, _c, _d, _s, n, _cy, _cn in facts:
                out[owner][status] += n
            return out
        rows = (
            ctx.deals()
            .filter(status__in=[WON, LOST], closed_on__gte=p.start, closed_on__lt=p.end)
            .values_list("owner_id", "status")
            .annotate(n=Count("*"))
            .order_by()
        )
        for owner, status, n in rows:
            out[owner][status] += n
        return out

    return ctx.memo(f"closed:{p.start}:{p.end}:{by_owner}", load)


def collections_by_owner(ctx: KpiContext, p: Period) -> dict[int | None, Decimal]:
    def load() -> dict:
        # grouped in the order of the KPI index (received_on, owner, currency)
        qs = (
            ctx.payments()
            .filter(received_on__gte=p.start, received_on__lt=p.end)
            .values_list("received_on", "owner_id", "currency_id")
            .annotate(c=Sum(Cast(Round(F("amount") * 100), BigIntegerField())))
            .values_list("owner_id", "currency_id", "received_on", "c")
            .order_by()
        )
        return rolled.cents_by_owner(ctx, p, qs)

    return ctx.memo(f"collections:{p.start}:{p.end}", load)


def collections_total(ctx: KpiContext, p: Period) -> Decimal:
    """Σ collections in p: from the per-owner sums when those are needed anyway, else
    grouped by day and currency only (a few hundred rows, not one per owner and day)."""
    if ctx.per_owner():
        return sum(collections_by_owner(ctx, p).values(), Decimal(0))
    qs = (
        ctx.payments()
        .filter(received_on__gte=p.start, received_on__lt=p.end)
        .values_list("received_on", "currency_id")
        .annotate(c=Sum(Cast(Round(F("amount") * 100), BigIntegerField())))
        .annotate(o=Value(None, output_field=IntegerField()))
        .values_list("o", "currency_id", "received_on", "c")
        .order_by()
    )
    return sum(rolled.cents_by_owner(ctx, p, qs).values(), Decimal(0))


def touchpoints_by_owner(ctx: KpiContext, p: Period) -> Counter:
    def load() -> Counter:
        reps = set(ctx.reps)
        sc = rolled.scope(ctx, FollowUp)
        if sc is not None:
            counts = rolled.followups_by_owner(ctx, sc, p, touch=True)
            return Counter({owner: n for owner, n in counts.items() if owner in reps})
        start, end = ctx.bounds(p)
        rows = (
            FollowUp.objects.visible_to(ctx.viewer)
            .filter(
                kind__in=FollowUp.TOUCHPOINT_KINDS,
                occurred_at__gte=start,
                occurred_at__lt=end,
            )
            .values_list("owner_id")
            .annotate(n=Count("*"))
            .order_by()
        )
        # Reps are picked here rather than in SQL: an IN list of every rep would steer
        # the planner off the (occurred_at, kind, owner) index.
        return Counter({owner: n for owner, n in rows if owner in reps})

    return ctx.memo(f"touch:{p.start}:{p.end}", load)


def active_customers(ctx: KpiContext, day: dt.date) -> Any:
    """Customers with a won deal closed in (day − W, day], as a values queryset."""
    window = ctx.org.activity_window_days
    return (
        ctx.deals()
        .filter(
            status=WON,
            closed_on__gt=day - dt.timedelta(days=window),
            closed_on__lte=day,
        )
        .values("customer_id")
        .distinct()
    )


def activity_days(ctx: KpiContext) -> tuple[dt.date, dt.date, dt.date]:
    """The days the customer KPIs of this context ask about: the last day of P, the day
    before P, and the day before the 365 days that end with P (CLV's annual churn)."""
    p = ctx.period
    return p.last_day, p.start - dt.timedelta(days=1), p.end - dt.timedelta(days=366)


def customer_activity(ctx: KpiContext) -> dict[Any, int]:
    """In one grouped scan of the won deals: {day: active customers on it} for the days
    of `activity_days`, and {(day0, day1): customers active on day0 but not on day1}
    for the churn pairs (day0, last day of P)."""

    def load() -> dict[Any, int]:
        last, *before = activity_days(ctx)
        if rolled.spells_serve(ctx):
            out: dict[Any, int] = dict(rolled.active_on([last, *before]))
            for d, n in rolled.lapsed(before, last).items():
                out[(d, last)] = n
            return out
        window = dt.timedelta(days=ctx.org.activity_window_days)
        days = [last, *before]
        qs = ctx.deals().filter(
            status=WON, closed_on__gt=min(days) - window, closed_on__lte=max(days)
        )
        flags = {
            f"a{i}": Max(
                Case(
                    When(closed_on__gt=d - window, closed_on__lte=d, then=Value(1)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            )
            for i, d in enumerate(days)
        }
        inner = qs.values("customer_id").annotate(**flags).order_by()
        sql, params = inner.query.sql_with_params()
        sums = [f"SUM(a{i})" for i in range(len(days))]
        sums += [f"SUM(a{i} * (1 - a0))" for i in range(1, len(days))]
        with connection.cursor() as cur:
            cur.execute(f"SELECT {', '.join(sums)} FROM ({sql}) t", params)  # noqa: S608
            row = [int(v or 0) for v in cur.fetchone()]
        out = {d: row[i] for i, d in enumerate(days)}
        for i, d in enumerate(before):
            out[(d, last)] = row[len(days) + i]
        return out

    return ctx.memo("customer_activity", load)


def active_count(ctx: KpiContext, day: dt.date) -> int:
    facts = customer_activity(ctx)
    if day in facts:
        return facts[day]
    return int(active_customers(ctx, day).count())


def churn(ctx: KpiContext, p: Period) -> float | None:
    """|A0 \\ A1| ÷ |A0|, A0 active on p.start − 1 day, A1 active on p.end − 1 day."""
    day0 = p.start - dt.timedelta(days=1)
    day1 = p.end - dt.timedelta(days=1)
    facts = customer_activity(ctx)
    if (day0, day1) in facts:
        return fx.ratio(facts[(day0, day1)], facts[day0])
    a0 = active_customers(ctx, day0)
    lost = a0.exclude(customer_id__in=active_customers(ctx, day1)).count()
    return fx.ratio(lost, a0.count())


def new_customer_deals(ctx: KpiContext, p: Period) -> list[tuple[int, int | None, dt.date]]:
    """(customer, owner, closed_on) of the won deals in p (within the viewer's scope and
    the filters) that are their customer's FIRST won deal in the whole organisation,
    whoever owns it (earliest closed_on, then lowest id). A customer first won by team
    B and won again by team A is new for B only: the teams' figures add up to the
    organisation's, and a target's attainment does not depend on the view."""

    def load() -> list:
        base = ctx.deals().filter(status=WON)
        before = Deal.objects.filter(status=WON, customer_id=OuterRef("customer_id")).filter(
            Q(closed_on__lt=OuterRef("closed_on"))
            | Q(closed_on=OuterRef("closed_on"), id__lt=OuterRef("id"))
        )
        if rolled.spells_serve(ctx):
            return list(
                base.filter(
                    closed_on__gte=p.start,
                    closed_on__lt=p.end,
                    customer_id__in=rolled.new_customer_ids(p),
                )
                .filter(~Exists(before))
                .order_by("closed_on", "id")
                .values_list("customer_id", "owner_id", "closed_on")
            )
        return list(
            base.filter(closed_on__gte=p.start, closed_on__lt=p.end)
            .filter(~Exists(before))
            .order_by("closed_on", "id")
            .values_list("customer_id", "owner_id", "closed_on")
        )

    return ctx.memo(f"new:{p.start}:{p.end}", load)


def new_customers_by_owner(ctx: KpiContext, p: Period) -> Counter:
    """Each new customer counts for the owner of its first won deal in p."""
    first: dict[int, int | None] = {}
    for customer, owner, _day in new_customer_deals(ctx, p):
        first.setdefault(customer, owner)
    return Counter(first.values())


def last_365(ctx: KpiContext) -> Period:
    today = ctx.today or ctx.org.local_date()
    return Period(today - dt.timedelta(days=365), today)


def mean_cycle(ctx: KpiContext, p: Period) -> float | None:
    facts = closed_facts(ctx, p, by_owner=False)
    if facts is not None:
        days = sum(cy for _o, st, _c, _d, _s, _n, cy, _cn in facts if st == WON)
        n = sum(cn for _o, st, _c, _d, _s, _n, _cy, cn in facts if st == WON)
        return days / n if n else None
    total: Counter = Counter()
    for hist in cycle_histograms(ctx, p, by_owner=False).values():
        total.update(hist)
    return fx.mean_of_histogram(total)


def win_rate_of(ctx: KpiContext, p: Period, owner: Any = "all") -> float | None:
    counts: Counter = Counter()
    for o, c in closed_counts(ctx, p, by_owner=owner != "all").items():
        if owner == "all" or o == owner:
            counts.update(c)
    return fx.ratio(counts[WON], counts[WON] + counts[LOST])


# -- revenue and customers -----------------------------------------------------------------


@kpi("bookings", Kind.MONEY, _("Bookings"))
def k_bookings(ctx: KpiContext) -> Decimal:
    """Σ amount of deals won with closed_on in P, at the rate of the close date."""
    return bookings(ctx, ctx.period)


@kpi("collections", Kind.MONEY, _("Collections"))
def k_collections(ctx: KpiContext) -> Decimal:
    """Σ payments received with received_on in P, at the rate of the received date."""
    return collections_total(ctx, ctx.period)


@kpi("won_deals", Kind.COUNT, _("Won deals"))
def k_won_deals(ctx: KpiContext) -> int:
    return won_count(ctx, ctx.period)


@kpi("avg_deal_size", Kind.MONEY, _("Average deal size"))
def k_avg_deal_size(ctx: KpiContext) -> Decimal | None:
    return fx.divide_money(bookings(ctx, ctx.period), k_won_deals(ctx))


@kpi("new_customers", Kind.COUNT, _("New customers"))
def k_new_customers(ctx: KpiContext) -> int:
    """Customers whose first won deal in the organisation (earliest closed_on) is in P,
    counted where that deal falls (`new_customer_deals`)."""
    if rolled.spells_serve(ctx):
        return int(rolled.new_customer_ids(ctx.period).count())
    return len({c for c, _o, _d in new_customer_deals(ctx, ctx.period)})


@kpi("active_customers", Kind.COUNT, _("Active customers"))
def k_active_customers(ctx: KpiContext) -> int:
    """Active on the last day of P: a won deal closed in (d − W, d]."""
    return active_count(ctx, ctx.period.last_day)


@kpi("churn_rate", Kind.RATE, _("Churn rate"))
def k_churn_rate(ctx: KpiContext) -> float | None:
    return churn(ctx, ctx.period)


@kpi("clv_historical", Kind.MONEY, _("Historical customer lifetime value"))
def k_clv_historical(ctx: KpiContext) -> Decimal | None:
    year = Period(ctx.period.end - dt.timedelta(days=365), ctx.period.end)
    return fx.clv_historical(
        bookings_365=bookings(ctx, year),
        active_customers=active_count(ctx, ctx.period.last_day),
        gross_margin=ctx.org.gross_margin,
        annual_churn=churn(ctx, year),
    )


# -- process ---------------------------------------------------------------------------------


@kpi("sales_cycle_median", Kind.DAYS, _("Sales cycle (median days)"))
def k_sales_cycle_median(ctx: KpiContext) -> float | None:
    total: Counter = Counter()
    for hist in cycle_histograms(ctx, ctx.period, by_owner=False).values():
        total.update(hist)
    return fx.one_decimal(fx.median_of_histogram(total))


@kpi("sales_cycle_mean", Kind.DAYS, _("Sales cycle (mean days)"))
def k_sales_cycle_mean(ctx: KpiContext) -> float | None:
    return fx.one_decimal(mean_cycle(ctx, ctx.period))


@kpi("win_rate", Kind.RATE, _("Win rate"))
def k_win_rate(ctx: KpiContext) -> float | None:
    """won ÷ (won + lost) over deals closed in P, by count."""
    return win_rate_of(ctx, ctx.period)


@kpi("win_rate_by_amount", Kind.RATE, _("Win rate by amount"))
def k_win_rate_by_amount(ctx: KpiContext) -> float | None:
    """The variant: won amount ÷ (won + lost amount), in the base currency."""
    p = ctx.period
    won = bookings(ctx, p)
    facts = closed_facts(ctx, p, by_owner=False)
    if facts is not None:
        lost = ctx.to_base((c, d, s) for _o, st, c, d, s, _n, _cy, _cn in facts if st == LOST)
        return fx.ratio(won, won + lost)
    lost_rows = (
        ctx.deals()
        .filter(status=LOST, closed_on__gte=p.start, closed_on__lt=p.end)
        .values_list("currency_id", "closed_on")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    lost = ctx.to_base(lost_rows)
    return fx.ratio(won, won + lost)


@kpi("lead_conversion_rate", Kind.RATE, _("Lead conversion rate"))
def k_lead_conversion_rate(ctx: KpiContext) -> float | None:
    """Of leads created in P, the share whose status is now converted."""
    p = ctx.period
    row = (
        ctx.leads()
        .filter(created_on__gte=p.start, created_on__lt=p.end)
        .aggregate(n=Count("id"), c=Count("id", filter=Q(status=Lead.Status.CONVERTED)))
    )
    return fx.ratio(row["c"], row["n"])


@kpi("stage_conversion", Kind.OBJECT, _("Stage conversion"))
def k_stage_conversion(ctx: KpiContext) -> dict[str, float | None]:
    """Per open stage s: of the deals that entered s in P (stage history), the share
    that later reached a later stage (not the lost one) or won. Keyed by stage id.
    `advanced` on each stay is kept by `move_deal_stage`."""
    stages = Stage.objects.filter(kind=Stage.Kind.OPEN)
    if ctx.filters.pipeline is not None:
        stages = stages.filter(pipeline_id=ctx.filters.pipeline.pk)
    stage_ids = list(stages.values_list("id", flat=True))
    out: dict[str, float | None] = {str(s): None for s in stage_ids}
    sc = rolled.scope(ctx, Deal)
    if sc is not None and sc.owners is None:
        for stage, (entered, advanced) in rolled.stage_entries(ctx, stage_ids).items():
            if entered:
                out[str(stage)] = fx.ratio(advanced, entered)
        return out
    start, end = ctx.bounds()
    rows = (
        # the viewer's deals as a subquery, not a join: the planners then read each
        # deal's stays by (deal, entered_at) instead of every stay in P (a rep: 10x)
        StageHistory.objects.filter(deal_id__in=ctx.deals().values("id"))
        .filter(entered_at__gte=start, entered_at__lt=end, stage_id__in=stage_ids)
        .values("stage_id")
        .annotate(
            entered=Count("deal_id", distinct=True),
            advanced_n=Count("deal_id", distinct=True, filter=Q(advanced=True)),
        )
        .order_by("stage_id")
    )
    for row in rows:
        out[str(row["stage_id"])] = fx.ratio(row["advanced_n"], row["entered"])
    return out


@kpi("touchpoints_per_rep_day", Kind.NUMBER, _("Touchpoints per rep per day"))
def k_touchpoints(ctx: KpiContext) -> float | None:
    """Touchpoint follow-ups in P by reps in scope ÷ (reps in scope × working days)."""
    count = sum(touchpoints_by_owner(ctx, ctx.period).values())
    return fx.ratio(count, len(ctx.reps) * ctx.working_days)


def open_pipeline_rows(ctx: KpiContext, start: dt.date, end: dt.date) -> list:
    return list(
        ctx.deals()
        .filter(status=OPEN, expected_close__gte=start, expected_close__lt=end)
        .values_list("currency_id")
        .annotate(
            s=Sum("amount"),
            w=Sum(F("amount") * Coalesce("probability", "stage__probability")),
        )
        .order_by()
    )


def latest_value(ctx: KpiContext, rows: list, column: int) -> Decimal:
    today = ctx.today or ctx.org.local_date()
    total = Decimal(0)
    for row in rows:
        if row[column]:
            total += Decimal(row[column]) * ctx.rates.latest(row[0], today)
    return total


@kpi("open_pipeline", Kind.MONEY, _("Open pipeline"))
def k_open_pipeline(ctx: KpiContext) -> Decimal:
    """Σ amount of open deals expected to close in P, at the latest rate."""
    rows = ctx.memo("open", lambda: open_pipeline_rows(ctx, ctx.period.start, ctx.period.end))
    return latest_value(ctx, rows, 1)


@kpi("weighted_pipeline", Kind.MONEY, _("Weighted pipeline"))
def k_weighted_pipeline(ctx: KpiContext) -> Decimal:
    """Σ amount × probability (the deal's, else its stage's) of those deals."""
    rows = ctx.memo("open", lambda: open_pipeline_rows(ctx, ctx.period.start, ctx.period.end))
    return latest_value(ctx, rows, 2) / 100


def target_for(
    ctx: KpiContext, metric: str, p: Period, *, user: Any = None, team: Any = None
) -> Decimal | None:
    """The target of a person or team for exactly p; else the sum of their targets of
    the longest kind (quarters before months) that lie inside p; None when none."""
    qs = Target.objects.filter(metric=metric, period_start__gte=p.start, period_start__lt=p.end)
    qs = qs.filter(user=user) if user is not None else qs.filter(team=team)
    by_kind: dict[str, list[Decimal]] = defaultdict(list)
    for t in qs:
        period = period_of(t.period_kind, t.period_start)
        if period == p:
            return Decimal(t.value)
        if period.end <= p.end:
            by_kind[t.period_kind].append(Decimal(t.value))
    for kind in ("year", "quarter", "month"):
        if by_kind.get(kind):
            return sum(by_kind[kind], Decimal(0))
    return None


def period_of(kind: str, start: dt.date) -> Period:
    from salesops.analytics.periods import add_months

    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    return Period(start, add_months(start, months))


@kpi("pipeline_coverage", Kind.RATE, _("Pipeline coverage"))
def k_pipeline_coverage(ctx: KpiContext) -> float | None:
    """Open pipeline expected in [max(today, P.start), P.end) ÷ (bookings target of the
    filter's person or team − bookings so far in P). Undefined without such a target or
    when nothing remains."""
    f = ctx.filters
    if f.owner is not None:
        target = target_for(ctx, Target.Metric.BOOKINGS, ctx.period, user=f.owner)
    elif f.team is not None:
        target = target_for(ctx, Target.Metric.BOOKINGS, ctx.period, team=f.team)
    else:
        return None
    if target is None:
        return None
    remainder = target - bookings(ctx, ctx.period)
    if remainder <= 0:
        return None
    today = ctx.today or ctx.org.local_date()
    start = max(today, ctx.period.start)
    if start >= ctx.period.end:
        return fx.ratio(0, remainder)
    rows = open_pipeline_rows(ctx, start, ctx.period.end)
    return fx.ratio(latest_value(ctx, rows, 1), remainder)


@kpi("sales_velocity", Kind.MONEY, _("Sales velocity (per day)"))
def k_sales_velocity(ctx: KpiContext) -> Decimal | None:
    """(open deals × win rate × average deal size) ÷ mean sales cycle, with the rate,
    size and cycle of the 365 days before today."""
    year = last_365(ctx)
    won = won_count(ctx, year)
    return fx.sales_velocity(
        open_deals=ctx.deals().filter(status=OPEN).count(),
        win_rate=win_rate_of(ctx, year),
        avg_deal_size=fx.divide_money(bookings(ctx, year), won),
        mean_cycle=mean_cycle(ctx, year),
    )


# -- people --------------------------------------------------------------------------------


METRIC_ACTUALS: dict[str, Callable[[KpiContext, Period], Mapping[Any, Any]]] = {
    Target.Metric.BOOKINGS: lambda ctx, p: bookings_by_owner(ctx, p),
    Target.Metric.COLLECTIONS: lambda ctx, p: collections_by_owner(ctx, p),
    Target.Metric.WON_DEALS: lambda ctx, p: won_by_owner(ctx, p),
    Target.Metric.NEW_CUSTOMERS: lambda ctx, p: new_customers_by_owner(ctx, p),
    Target.Metric.FOLLOWUPS: lambda ctx, p: followups_by_owner(ctx, p),
}


def followups_by_owner(ctx: KpiContext, p: Period) -> Counter:
    return ctx.memo(f"followups:{p.start}:{p.end}", lambda: _followups_by_owner(ctx, p))


def _followups_by_owner(ctx: KpiContext, p: Period) -> Counter:
    sc = rolled.scope(ctx, FollowUp)
    if sc is not None:
        return rolled.followups_by_owner(ctx, sc, p, touch=False)
    start, end = ctx.bounds(p)
    rows = (
        FollowUp.objects.visible_to(ctx.viewer)
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .values_list("owner_id")
        .annotate(n=Count("*"))
        .order_by()
    )
    return Counter(dict(rows))


def team_members(team_ids: list[int]) -> dict[int, set[int]]:
    """For each team: the ids of users in it or its sub-teams."""
    teams = list(Team.objects.values_list("id", "path"))
    memberships: dict[int, set[int]] = defaultdict(set)
    for uid, tid in User.objects.exclude(team=None).values_list("id", "team_id"):
        memberships[tid].add(uid)
    for uid, tid in User.extra_teams.through.objects.values_list("user_id", "team_id"):
        memberships[tid].add(uid)
    paths = dict(teams)
    out: dict[int, set[int]] = {}
    for tid in team_ids:
        prefix = paths[tid]
        out[tid] = set().union(*(memberships[t] for t, path in teams if path.startswith(prefix)))
    return out


def attainment_values(ctx: KpiContext) -> dict[str, dict[str, dict[str, float | None]]]:
    """{metric: {"users": {id: rate}, "teams": {id: rate}}} for the targets set for
    exactly P (visible to the viewer, within the filters). Team actuals add up the
    members of the team and its sub-teams."""
    return {
        metric: {bucket: {k: a.rate for k, a in row.items()} for bucket, row in buckets.items()}
        for metric, buckets in target_actuals(ctx).items()
    }


@dataclass(frozen=True)
class Attained:
    """A target's actual (money in the base currency, or a count), value and rate."""

    actual: Decimal
    value: Decimal
    rate: float | None


def target_actuals(ctx: KpiContext) -> dict[str, dict[str, dict[str, Attained]]]:
    """{metric: {"users" | "teams": {id: Attained}}}: what `attainment` is made of, for
    a page to show the actual beside the rate (never worked back from a rounded rate).

    The filters choose which targets are shown; the actuals themselves are the
    targets' own (the viewer's scope, no filter), so that the same target reads the
    same in every view: the organisation's, a parent team's, its own."""
    return ctx.memo("attainment", lambda: _target_actuals(ctx))


def _unfiltered(ctx: KpiContext) -> KpiContext:
    if ctx.filters == Filters():
        return ctx
    return ctx.memo(
        "unfiltered",
        lambda: KpiContext(viewer=ctx.viewer, period=ctx.period, today=ctx.today),
    )


def _target_actuals(ctx: KpiContext) -> dict[str, dict[str, dict[str, Attained]]]:
    p = ctx.period
    targets = Target.objects.visible_to(ctx.viewer).filter(period_start=p.start)
    if ctx.filters.owner is not None:
        targets = targets.filter(user=ctx.filters.owner)
    elif ctx.filters.team is not None:
        targets = targets.filter(
            Q(team__path__startswith=ctx.filters.team.path)
            | Q(user_id__in=ctx.team_member_ids or [])
        )
    hidden = withheld(ctx.viewer, Target.Metric.values)
    rows = [
        t
        for t in targets
        if period_of(t.period_kind, t.period_start) == p and t.metric not in hidden
    ]
    members = team_members([t.team_id for t in rows if t.team_id])
    out: dict[str, dict[str, dict[str, Attained]]] = {}
    own = _unfiltered(ctx)
    if own is not ctx:
        own.wanted = {"attainment"}
    for t in rows:
        actuals = METRIC_ACTUALS[t.metric](own, p)
        if t.user_id:
            actual = actuals.get(t.user_id, 0)
            bucket, key = "users", str(t.user_id)
        else:
            actual = sum((actuals.get(u, 0) for u in members[t.team_id]), Decimal(0))
            bucket, key = "teams", str(t.team_id)
        out.setdefault(t.metric, {"users": {}, "teams": {}})[bucket][key] = Attained(
            Decimal(actual), t.value, fx.ratio(actual, t.value)
        )
    return out


@kpi("attainment", Kind.OBJECT, _("Target attainment"))
def k_attainment(ctx: KpiContext) -> dict:
    return attainment_values(ctx)


@kpi("rep_performance", Kind.OBJECT, _("Rep performance"))
def k_rep_performance(ctx: KpiContext) -> dict[str, dict[str, Any]]:
    """Per rep in scope: bookings, collections, won deals, win rate, average deal size,
    sales cycle, touchpoints per day, bookings attainment, and rank by attainment."""
    p = ctx.period
    books = bookings_by_owner(ctx, p)
    colls = collections_by_owner(ctx, p)
    wins = won_by_owner(ctx, p)
    cycles = cycle_histograms(ctx, p)
    touches = touchpoints_by_owner(ctx, p)
    attained = attainment_values(ctx).get(Target.Metric.BOOKINGS, {}).get("users", {})
    out: dict[str, dict[str, Any]] = {}
    for rep in ctx.reps:
        b = books.get(rep, Decimal(0))
        out[str(rep)] = {
            "bookings": fx.money_text(b),
            "collections": fx.money_text(colls.get(rep, Decimal(0))),
            "won_deals": wins.get(rep, 0),
            "win_rate": win_rate_of(ctx, p, owner=rep),
            "avg_deal_size": fx.money_text(fx.divide_money(b, wins.get(rep, 0))),
            "sales_cycle_median": fx.one_decimal(fx.median_of_histogram(cycles.get(rep, {}))),
            "sales_cycle_mean": fx.one_decimal(fx.mean_of_histogram(cycles.get(rep, {}))),
            "touchpoints_per_day": fx.ratio(touches.get(rep, 0), ctx.working_days),
            "attainment": attained.get(str(rep)),
            "rank": None,
        }
    ranked = sorted((v["attainment"], k) for k, v in out.items() if v["attainment"] is not None)
    ranked.sort(key=lambda r: -r[0])
    rank = 0
    previous = None
    for i, (value, key) in enumerate(ranked, start=1):
        if value != previous:
            rank = i
            previous = value
        out[key]["rank"] = rank
    hidden = withheld(ctx.viewer, set(REP_PARTS.values()))
    for row in out.values():
        for part, figure in REP_PARTS.items():
            if figure in hidden:
                row[part] = None
    return out
