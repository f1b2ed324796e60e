"""Actuals for the targets grid: what each owner achieved in each month of a run of
months, for the metric of a target, in ONE grouped query per metric.

The values are the KPI engine's, month by month (`kpis.METRIC_ACTUALS` for a one-month
period): the same viewer scope and filters (`KpiContext`), money converted at the rate
of the event's date, deleted records left out, a deal counted by its current state.
Won deals are read like `kpis.won_rows` (the daily roll-up, else the raw rows) but
grouped by month where the currency allows; a test holds every value equal to the
engine's for the same owner and month.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Case, Count, DateField, Q, Sum

from salesops.activities.models import FollowUp
from salesops.analytics import rolled
from salesops.analytics.engine import KpiContext
from salesops.analytics.kpis import new_customer_deals
from salesops.analytics.models import DealDay
from salesops.analytics.periods import Period, add_months
from salesops.crm.models import Deal
from salesops.users.models import Target

#: {owner id: {month index: actual}}; owner None for records without an owner.
MonthlyActuals = dict[int | None, dict[int, Decimal]]


def monthly_actuals(
    ctx: KpiContext, metric: str, months: Period, *, owners: set[int] | None = None
) -> MonthlyActuals:
    """Per owner and month of `months` (whole months starting on a 1st): the actual for
    `metric`. Month index 0 is the month of `months.start`. `owners`: only these owners
    are needed (others may be missing from the result)."""
    first = months.start
    mine = Q() if owners is None else Q(owner_id__in=sorted(owners))

    def index(day: dt.date) -> int:
        return (day.year - first.year) * 12 + day.month - first.month

    out: MonthlyActuals = defaultdict(lambda: defaultdict(Decimal))
    if metric in (Target.Metric.BOOKINGS, Target.Metric.WON_DEALS):
        for owner, code, day, total, n in won_by_month(ctx, months, owners=owners):
            if metric == Target.Metric.BOOKINGS:
                out[owner][index(day)] += Decimal(total) * ctx.rates.rate_on(code, day)
            else:
                out[owner][index(day)] += n
    elif metric == Target.Metric.COLLECTIONS:
        rows = (
            ctx.payments()
            .filter(mine, received_on__gte=months.start, received_on__lt=months.end)
            .annotate(b=rolled.rate_segment(ctx, months, "received_on", also=month_starts(months)))
            .values_list("owner_id", "currency_id", "b")
            .annotate(s=Sum("amount"))
            .order_by()
        )
        for owner, code, day, total in rows:
            out[owner][index(day)] += Decimal(total) * ctx.rates.rate_on(code, day)
    elif metric == Target.Metric.NEW_CUSTOMERS:
        # A customer is new in the month of its first won deal, for that deal's owner.
        seen: set[int] = set()
        for customer, owner, day in new_customer_deals(ctx, months):
            if customer not in seen:
                seen.add(customer)
                out[owner][index(day)] += 1
    elif metric == Target.Metric.FOLLOWUPS:
        start, end = ctx.bounds(months)
        follow_rows = (
            FollowUp.objects.visible_to(ctx.viewer)
            .filter(ctx._owner_q("owner_id"))
            .filter(mine, occurred_at__gte=start, occurred_at__lt=end)
            .annotate(month=local_month(ctx, months))
            .values_list("owner_id", "month")
            .annotate(n=Count("*"))
            .order_by()
        )
        for owner, month, n in follow_rows:
            out[owner][index(_day(month))] += n
    else:
        raise ValueError(f"unknown metric {metric}")
    return out


def won_by_month(
    ctx: KpiContext, months: Period, *, owners: set[int] | None = None
) -> list[tuple[int | None, str, dt.date, Decimal, int]]:
    """Won deals closed in `months`: (owner, currency, day, Σ amount, count), grouped by
    stretches of days that lie in one month and have one exchange rate for their
    currency (`day` is the stretch's first day), so each sum converts at its own days'
    rate and falls in its own month. From the daily roll-up when the filters allow, as
    `kpis.won_rows` does; a year of 300 reps is then a few thousand rows, not 100,000."""
    starts = month_starts(months)
    mine = Q() if owners is None else Q(owner_id__in=sorted(owners))
    sc = rolled.scope(ctx, Deal)
    if sc is None:
        raw = (
            ctx.deals()
            .filter(
                mine, status=Deal.Status.WON, closed_on__gte=months.start, closed_on__lt=months.end
            )
            .annotate(b=rolled.rate_segment(ctx, months, "closed_on", also=starts))
            .values_list("owner_id", "currency_id", "b")
            .annotate(s=Sum("amount"), n=Count("*"))
            .order_by()
        )
        return [(o, c, _day(b), Decimal(s), n) for o, c, b, s, n in raw]
    rows = (
        DealDay.objects.filter(
            Q(status=Deal.Status.WON, day__gte=months.start, day__lt=months.end)
            & rolled._pipeline_q(ctx)
            & sc.owner_q()
            & mine
        )
        .annotate(b=rolled.rate_segment(ctx, months, "day", also=starts))
        .values_list("owner_id", "currency_id", "b")
        .annotate(s=Sum("cents"), n=Sum("n"))
        .order_by()
    )
    out = [(rolled._owner(o), c, _day(b), Decimal(s) / 100, n) for o, c, b, s, n in rows]
    if sc.extra_deals:
        extra = (
            rolled.extra_deals(ctx, sc)
            .filter(
                mine, status=Deal.Status.WON, closed_on__gte=months.start, closed_on__lt=months.end
            )
            .values_list("owner_id", "currency_id", "closed_on", "amount")
        )
        out += [(o, c, d, Decimal(a), 1) for o, c, d, a in extra if d is not None]
    return out


def local_month(ctx: KpiContext, months: Period) -> Case:
    """The first day of the month (in the organisation's time zone) of `occurred_at`."""
    starts = month_starts(months)
    buckets = [Period(day, add_months(day, 1)) for day in starts]
    return rolled.bucket_by_start(ctx, "occurred_at", buckets, starts, DateField())


def month_starts(months: Period) -> list[dt.date]:
    out = []
    day = months.start
    while day < months.end:
        out.append(day)
        day = add_months(day, 1)
    return out


def _day(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
