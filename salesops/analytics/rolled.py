"""Reading the roll-ups (`analytics.models`) with the same results as the raw queries.

The viewer's data scope and the owner and team filters are a set of owners, which the
owner-keyed roll-ups can apply; the pipeline filter is a key too. Deals a viewer sees
only as a collaborator (owned by someone outside that set) are few and are read from the
raw rows. Filters the roll-ups cannot express (region, industry, product) make
`scope()` return None and the KPI reads the raw rows as before.

Follow-ups are rolled up per UTC day and stage entries per UTC hour, so a period in
the organisation's time zone is its whole UTC days (hours) from the roll-up plus at
most two partial days (hours: none in a zone whose offset is whole hours) counted from
the raw rows: exact in any time zone, even after the organisation changes its zone.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Count, DateField, Exists, OuterRef, Q, QuerySet, Sum, Value, When

from salesops.activities.models import FollowUp
from salesops.analytics.models import (
    CustomerSpell,
    DealDay,
    FollowUpDay,
    OrgDealDay,
    OrgStageEntryHour,
    StageReentry,
)
from salesops.analytics.periods import Period
from salesops.crm.models import Deal
from salesops.crm.models.deals import StageHistory
from salesops.lib.models import visibility

if TYPE_CHECKING:
    from salesops.analytics.engine import KpiContext

CENTS = Decimal(100)


@dataclass(frozen=True)
class Scope:
    """Whose rows a roll-up read covers: `owners` None means every owner (the
    organisation-wide tables serve); `extra_deals` are deals visible beyond the owners
    (collaborations), read raw."""

    owners: frozenset[int] | None
    extra_deals: tuple[int, ...] = field(default=())

    def owner_q(self, field_name: str = "owner_id") -> Q:
        if self.owners is None:
            return Q()
        return Q(**{f"{field_name}__in": sorted(self.owners)})


def scope(ctx: KpiContext, model: Any) -> Scope | None:
    """The roll-up scope of `model` (Deal or FollowUp) for this context, or None when the
    filters need the raw rows."""
    f = ctx.filters
    if f.region or f.industry or f.product_id is not None:
        return None
    rule = visibility(model, ctx.viewer)
    if rule is False:
        return Scope(frozenset())
    owners: set[int] | None = None
    visible = ctx.viewer.visible_owner_ids()
    if visible is not None:
        owners = set(visible)
    if f.owner is not None:
        owners = {f.owner.pk} if owners is None else owners & {f.owner.pk}
    if ctx.team_member_ids is not None:
        owners = set(ctx.team_member_ids) if owners is None else owners & ctx.team_member_ids
    extra: tuple[int, ...] = ()
    if model is Deal and visible is not None:
        extra = tuple(getattr(ctx.viewer, "_collaborator_deal_ids", None) or ())
    return Scope(None if owners is None else frozenset(owners), extra)


def _pipeline_q(ctx: KpiContext) -> Q:
    p = ctx.filters.pipeline
    return Q(pipeline_id=p.pk) if p is not None else Q()


def _owner(value: int) -> int | None:
    return None if value == 0 else value


def extra_deals(ctx: KpiContext, sc: Scope) -> QuerySet[Deal]:
    """The collaboration deals not already counted under an owner in scope."""
    qs = ctx.deals().filter(pk__in=list(sc.extra_deals))
    if sc.owners is not None:
        qs = qs.exclude(owner_id__in=sorted(sc.owners))
    return qs


# -- closed deals ------------------------------------------------------------------------------


def bucket_by_start(
    ctx: KpiContext, field: str, buckets: list[Period], values: list[Any], output_field: Any
) -> Case:
    """values[i] for a timestamp `field` in buckets[i] (consecutive periods in the
    organisation's time zone), by comparisons with each bucket's first instant: no date
    function per row, which SQLite would run in Python. Rows before the first bucket
    get values[0] (the callers filter to the buckets' span)."""
    whens = [
        When(**{f"{field}__gte": ctx.bounds(b)[0]}, then=Value(v))
        for b, v in reversed(list(zip(buckets, values, strict=True)))
    ]
    return Case(*whens, default=Value(values[0]), output_field=output_field)


def rate_segment(
    ctx: KpiContext, p: Period, day_field: str = "day", also: Iterable[dt.date] = ()
) -> Case:
    """The first day of the stretch of p in which a row's currency has one exchange rate:
    grouping by it instead of the day keeps every amount convertible at its own day's
    rate, in far fewer rows. `also`: more days that start a stretch in every currency
    (month starts, to group by month too). Plain comparisons, no date functions, so
    SQLite needs no Python function per row."""
    rates = ctx.rates
    extra = sorted({d for d in also if p.start < d < p.end})
    whens = []
    for code in rates.currencies():
        if code == rates.base:
            continue
        starts = set(extra) | set(rates.changes(code, p.start, p.end))
        for day in sorted(starts, reverse=True):
            whens.append(When(currency_id=code, **{f"{day_field}__gte": day}, then=Value(day)))
    # the base currency, and any currency without rates: the extra stretches only
    for day in reversed(extra):
        whens.append(When(**{f"{day_field}__gte": day}, then=Value(day)))
    return Case(*whens, default=Value(p.start), output_field=DateField())


def closed_rows(
    ctx: KpiContext,
    sc: Scope,
    p: Period,
    statuses: list[str],
    *,
    by_owner: bool,
    by_rate: bool = False,
) -> list[tuple[int | None, str, str, dt.date, Decimal, int, int, int]]:
    """(owner or None, status, currency, day, Σ amount, count, Σ cycle days, deals with a
    cycle) of closed deals in p, grouped by day and currency (and owner when asked).
    `by_rate`: grouped by `rate_segment` instead of the day, which then names the first
    day of the segment."""
    cond = Q(status__in=statuses, day__gte=p.start, day__lt=p.end) & _pipeline_q(ctx)
    cols = ["status", "currency_id", "day"]
    if sc.owners is None and not by_owner:
        qs: QuerySet[Any] = OrgDealDay.objects.filter(cond)
    else:
        qs = DealDay.objects.filter(cond & sc.owner_q())
        if by_owner:
            cols = ["owner_id", *cols]
    if by_rate:
        qs = qs.annotate(segment=rate_segment(ctx, p))
        cols[-1] = "segment"
    rows = (
        qs.values_list(*cols)
        .annotate(s=Sum("cents"), n=Sum("n"), c=Sum("cycle_days"), cn=Sum("cycle_n"))
        .order_by()
    )
    out = []
    for row in rows:
        owner = _owner(row[0]) if by_owner else None
        status, code, day, cents, n, cycle, cycle_n = row[-7:]
        out.append((owner, status, code, day, Decimal(cents) / CENTS, n, cycle, cycle_n))
    if sc.extra_deals:
        from salesops.analytics.kpis import DaysBetween

        raw = (
            extra_deals(ctx, sc)
            .filter(status__in=statuses, closed_on__gte=p.start, closed_on__lt=p.end)
            .annotate(days=DaysBetween("created_on", "closed_on"))
            .values_list("owner_id", "status", "currency_id", "closed_on", "amount", "days")
        )
        for owner, status, code, closed_on, amount, days in raw:
            day = closed_on
            if by_rate and day is not None:
                starts = [c for c in ctx.rates.changes(code, p.start, p.end) if c <= day]
                day = starts[-1] if starts else p.start
            out.append(
                (
                    owner if by_owner else None,
                    status,
                    code,
                    day,
                    Decimal(amount),
                    1,
                    days or 0,
                    0 if days is None else 1,
                )
            )
    return out


# -- follow-ups ----------------------------------------------------------------------------------


def _utc_days(ctx: KpiContext, p: Period) -> tuple[dt.datetime, dt.date, dt.date, dt.datetime]:
    """The period's bounds in UTC and the whole UTC days inside them [first, last)."""
    start, end = (b.astimezone(dt.UTC) for b in ctx.bounds(p))
    first = start.date()
    if start.time() != dt.time.min:
        first += dt.timedelta(days=1)
    last = end.date()
    return start, first, last, end


def _edges(ctx: KpiContext, p: Period) -> tuple[Q, list[tuple[dt.datetime, dt.datetime]]]:
    """(condition on the roll-up's day, ranges of raw timestamps) that together cover the
    period exactly once. Each range is queried on its own so it reads the time index."""
    start, first, last, end = _utc_days(ctx, p)
    if first >= last:
        return Q(pk__in=[]), [(start, end)]
    first_ts = dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC)
    last_ts = dt.datetime.combine(last, dt.time.min, tzinfo=dt.UTC)
    ranges = [(a, b) for a, b in ((start, first_ts), (last_ts, end)) if a < b]
    return Q(day__gte=first, day__lt=last), ranges


def _hour_edges(ctx: KpiContext, p: Period) -> tuple[Q, list[tuple[dt.datetime, dt.datetime]]]:
    """As `_edges` for a roll-up by UTC hour: in a time zone whose offset is whole hours
    the period is whole hours and no raw range is left."""
    start, end = (b.astimezone(dt.UTC) for b in ctx.bounds(p))
    first = start.replace(minute=0, second=0, microsecond=0)
    if first < start:
        first += dt.timedelta(hours=1)
    last = end.replace(minute=0, second=0, microsecond=0)
    if first >= last:
        return Q(pk__in=[]), [(start, end)]
    ranges = [(a, b) for a, b in ((start, first), (last, end)) if a < b]
    return Q(hour__gte=first, hour__lt=last), ranges


def followups_by_owner(ctx: KpiContext, sc: Scope, p: Period, *, touch: bool) -> Counter:
    """Follow-ups (all, or the touchpoints) with occurred_at in p, per owner."""
    days, ranges = _edges(ctx, p)
    column = "touch" if touch else "total"
    out: Counter = Counter()
    rolled = (
        FollowUpDay.objects.filter(days & sc.owner_q())
        .values_list("owner_id")
        .annotate(n=Sum(column))
        .order_by()
    )
    for owner, n in rolled:
        out[_owner(owner)] += n
    for a, b in ranges:
        qs = FollowUp.objects.visible_to(ctx.viewer).filter(occurred_at__gte=a, occurred_at__lt=b)
        if touch:
            qs = qs.touchpoints()
        if sc.owners is not None:
            qs = qs.filter(sc.owner_q())
        for owner, n in qs.values_list("owner_id").annotate(n=Count("*")).order_by():
            out[owner] += n
    return +out


# -- the funnel ----------------------------------------------------------------------------------


def stage_entries(ctx: KpiContext, stage_ids: Iterable[int]) -> dict[int, list[int]]:
    """{stage: [deals that entered it in P, of which advanced later]} over the given
    stages, each deal counted once per stage, for a viewer who sees every deal (the
    roll-up is organisation-wide)."""
    stages = list(stage_ids)
    hours, ranges = _hour_edges(ctx, ctx.period)
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rolled = (
        OrgStageEntryHour.objects.filter(hours & Q(stage_id__in=stages) & _pipeline_q(ctx))
        .values_list("stage_id")
        .annotate(e=Sum("entered"), a=Sum("advanced"))
        .order_by()
    )
    for stage, entered, advanced in rolled:
        out[stage][0] += entered
        out[stage][1] += advanced
    # stays on the partial days at the ends, from the raw history
    start, end = ctx.bounds()
    period_rows = StageHistory.objects.filter(
        ctx.deal_q("deal__"), stage_id__in=stages, entered_at__gte=start, entered_at__lt=end
    )
    for edge_start, edge_end in ranges:
        rows = (
            period_rows.filter(entered_at__gte=edge_start, entered_at__lt=edge_end)
            .values_list("stage_id")
            .annotate(e=Count("id"), a=Count("id", filter=Q(advanced=True)))
            .order_by()
        )
        for stage, entered, advanced in rows:
            out[stage][0] += entered
            out[stage][1] += advanced
    # a deal that entered a stage more than once in P counts once
    pairs = StageReentry.objects.filter(stage_id__in=stages).values_list("deal_id", "stage_id")
    repeated: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    deal_ids = sorted({d for d, _s in pairs})
    for i in range(0, len(deal_ids), 500):
        chunk = deal_ids[i : i + 500]
        for deal, stage, adv in period_rows.filter(deal_id__in=chunk).values_list(
            "deal_id", "stage_id", "advanced"
        ):
            counts = repeated[(deal, stage)]
            counts[0] += 1
            counts[1] += int(adv)
    for (_deal, stage), (times, advanced_times) in repeated.items():
        if times > 1:
            out[stage][0] -= times - 1
            out[stage][1] -= advanced_times - min(advanced_times, 1)
    return out


# -- customers: activity spells ------------------------------------------------------------------


def spells_serve(ctx: KpiContext) -> bool:
    """Whether the spells (organisation-wide, every won deal) answer for this context:
    the viewer sees every deal and no filter narrows them."""
    sc = scope(ctx, Deal)
    return (
        sc is not None and sc.owners is None and not sc.extra_deals and ctx.filters.pipeline is None
    )


def _holds(day: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}start_day__lte": day, f"{prefix}end_day__gt": day})


def active_on(days: list[dt.date]) -> dict[dt.date, int]:
    """{day: customers active on it}: the spells holding each day (one per customer).
    One count per day reads one range of the (start, end) index, which is cheaper than
    one pass counting every day."""
    return {d: CustomerSpell.objects.filter(_holds(d)).count() for d in days}


def lapsed(befores: list[dt.date], after: dt.date) -> dict[dt.date, int]:
    """{day0: customers active on day0 but not on `after`} for each day0 < after: a spell
    holding day0 that ends by `after`, of a customer with no spell holding `after`."""
    if not befores:
        return {}
    later = CustomerSpell.objects.filter(_holds(after), customer_id=OuterRef("customer_id"))
    counts = (
        CustomerSpell.objects.filter(
            start_day__lte=max(befores), end_day__gt=min(befores), end_day__lte=after
        )
        .filter(~Exists(later))
        .aggregate(**{f"a{i}": Count("start_day", filter=_holds(d)) for i, d in enumerate(befores)})
    )
    return {d: counts[f"a{i}"] for i, d in enumerate(befores)}


def new_customer_ids(p: Period) -> QuerySet[CustomerSpell, Any]:
    """Customers whose first won deal closed in p, as a values queryset."""
    return CustomerSpell.objects.filter(
        first=True, start_day__gte=p.start, start_day__lt=p.end
    ).values("customer_id")


# -- money by exchange-rate segment --------------------------------------------------------------


def cents_by_owner(ctx: KpiContext, p: Period, qs: QuerySet[Any]) -> dict:
    """{owner: Σ amount in the base currency} of the rows of `qs` in p (values of
    (owner, currency, day, Σ cents) grouped by day), converting each
    currency at the rate of each day. The rows are read without the ORM's converters and
    added up in integer cents per rate segment first (days of one rate), so the
    conversion runs a few times per owner instead of once per row; the result is the
    same as converting day by day."""
    from django.db import connection

    sql, params = qs.query.sql_with_params()
    rates = ctx.rates
    segment_of: dict[tuple[str, Any], dt.date] = {}
    totals: dict[tuple[Any, str, dt.date], int] = defaultdict(int)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        for owner, code, day, cents in cur.fetchall():
            key = (code, day)
            seg = segment_of.get(key)
            if seg is None:
                date = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
                starts = [c for c in rates.changes(code, p.start, p.end) if c <= date]
                seg = segment_of[key] = starts[-1] if starts else p.start
            totals[(owner, code, seg)] += cents
    out: dict[Any, Decimal] = defaultdict(Decimal)
    for (owner, code, seg), cents in totals.items():
        out[owner] += Decimal(cents) / CENTS * rates.rate_on(code, seg)
    return out
