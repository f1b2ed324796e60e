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

from django.db.models import Case, Count, DateField, F, Q, Sum, When
from django.db.models.functions import TruncMonth

from salesops.activities.models import FollowUp
from salesops.analytics import rolled
from salesops.analytics.engine import KpiContext
from salesops.analytics.kpis import new_customer_deals
from salesops.analytics.models import DealDay
from salesops.analytics.periods import Period
from salesops.crm.models import Deal
from salesops.users.models import Target

#: {owner id: {month index: actual}}; owner None for records without an owner.
MonthlyActuals = dict[int | None, dict[int, Decimal]]


def monthly_actuals(ctx: KpiContext, metric: str, months: Period) -> MonthlyActuals:
    """Per owner and month of `months` (whole months starting on a 1st): the actual for
    `metric`. Month index 0 is the month of `months.start`."""
    first = months.start

    def index(day: dt.date) -> int:
        return (day.year - first.year) * 12 + day.month - first.month

    out: MonthlyActuals = defaultdict(lambda: defaultdict(Decimal))
    if metric in (Target.Metric.BOOKINGS, Target.Metric.WON_DEALS):
        for owner, code, day, total, n in won_by_month(ctx, months):
            if metric == Target.Metric.BOOKINGS:
                out[owner][index(day)] += Decimal(total) * ctx.rates.rate_on(code, day)
            else:
                out[owner][index(day)] += n
    elif metric == Target.Metric.COLLECTIONS:
        rows = (
            ctx.payments()
            .filter(received_on__gte=months.start, received_on__lt=months.end)
            .values_list("owner_id", "currency_id", "received_on")
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
            .filter(occurred_at__gte=start, occurred_at__lt=end)
            .annotate(month=TruncMonth("occurred_at", tzinfo=ctx.tz))
            .values_list("owner_id", "month")
            .annotate(n=Count("id"))
            .order_by()
        )
        for owner, month, n in follow_rows:
            day = month.date() if isinstance(month, dt.datetime) else month
            out[owner][index(day)] += n
    else:
        raise ValueError(f"unknown metric {metric}")
    return out


def won_by_month(
    ctx: KpiContext, months: Period
) -> list[tuple[int | None, str, dt.date, Decimal, int]]:
    """Won deals closed in `months`: (owner, currency, day, Σ amount, count), grouped by
    month for the base currency (its rate is always 1) and by day for the others (each
    converts at its own day's rate). From the daily roll-up when the filters allow, as
    `kpis.won_rows` does; a year of 300 reps is then a few thousand rows, not 100,000."""
    base = ctx.rates.base

    def bucket(field: str) -> Case:
        return Case(
            When(currency_id=base, then=TruncMonth(field, output_field=DateField())),
            default=F(field),
            output_field=DateField(),
        )

    sc = rolled.scope(ctx, Deal)
    if sc is None:
        raw = (
            ctx.deals()
            .filter(status=Deal.Status.WON, closed_on__gte=months.start, closed_on__lt=months.end)
            .annotate(b=bucket("closed_on"))
            .values_list("owner_id", "currency_id", "b")
            .annotate(s=Sum("amount"), n=Count("id"))
            .order_by()
        )
        return [(o, c, _day(b), Decimal(s), n) for o, c, b, s, n in raw]
    rows = (
        DealDay.objects.filter(
            Q(status=Deal.Status.WON, day__gte=months.start, day__lt=months.end)
            & rolled._pipeline_q(ctx)
            & sc.owner_q()
        )
        .annotate(b=bucket("day"))
        .values_list("owner_id", "currency_id", "b")
        .annotate(s=Sum("cents"), n=Sum("n"))
        .order_by()
    )
    out = [(rolled._owner(o), c, _day(b), Decimal(s) / 100, n) for o, c, b, s, n in rows]
    if sc.extra_deals:
        extra = (
            rolled.extra_deals(ctx, sc)
            .filter(status=Deal.Status.WON, closed_on__gte=months.start, closed_on__lt=months.end)
            .values_list("owner_id", "currency_id", "closed_on", "amount")
        )
        out += [(o, c, d, Decimal(a), 1) for o, c, d, a in extra if d is not None]
    return out


def _day(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
