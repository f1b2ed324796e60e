"""Collections KPIs, registered with the KPI engine (imported from the app's `ready()`).

Definitions (docs/kpis.md, "Collections"); "as of" is the last day of P, or today when P
has not ended yet; the ageing page's rule decides what is still owed (decision 0021):

- overdue_receivables: Σ still owed at the end of the as-of day on instalments due
  before it (at least one day overdue), in the base currency at the as-of day's rate.
- dso (days sales outstanding): receivables ÷ billed × days, where receivables is Σ
  still owed at the end of the as-of day on instalments due on or before it, billed is
  Σ amount of the instalments due from P's start to the as-of day, and days counts the
  days from P's start to the as-of day inclusive. Undefined when nothing was billed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from salesops.analytics import kpis as analytics_kpis
from salesops.analytics.engine import Kind, KpiContext, kpi
from salesops.receivables import ageing as ag

#: The fields these figures read (a viewer from whom one is hidden gets no figure).
RECEIVABLES_READS = frozenset(
    {
        ("payment_plan", "amount"),
        ("payment_plan", "due_on"),
        ("payment", "amount"),
        ("payment", "received_on"),
    }
)
analytics_kpis.READS.update({"overdue_receivables": RECEIVABLES_READS, "dso": RECEIVABLES_READS})


def as_of(ctx: KpiContext) -> dt.date:
    last = ctx.period.end - dt.timedelta(days=1)
    today = ctx.today or ctx.org.local_date()
    return min(last, today)


def narrow(ctx: KpiContext) -> ag.Narrow:
    f = ctx.filters
    return ag.Narrow(
        owner_id=f.owner.pk if f.owner is not None else None,
        owner_ids=ctx.team_member_ids,
        region=f.region,
        industry=f.industry,
    )


def owed_rows(ctx: KpiContext, day: dt.date) -> list[Any]:
    return ctx.memo(f"receivables:{day}", lambda: ag.outstanding_rows(ctx.viewer, day, narrow(ctx)))


def overdue_at(ctx: KpiContext, day: dt.date) -> Decimal:
    total = Decimal(0)
    for _owner, code, due, cents, _cust, _id in owed_rows(ctx, day):
        if due < day:
            total += Decimal(cents) / 100 * ctx.rates.rate_on(code, day)
    return total


def receivables_at(ctx: KpiContext, day: dt.date) -> Decimal:
    total = Decimal(0)
    for _owner, code, due, cents, _cust, _id in owed_rows(ctx, day):
        if due <= day:
            total += Decimal(cents) / 100 * ctx.rates.rate_on(code, day)
    return total


def billed(ctx: KpiContext, start: dt.date, day: dt.date) -> Decimal:
    rows = (
        ag.visible_plans(ctx.viewer, narrow(ctx))
        .filter(due_on__gte=start, due_on__lte=day)
        .values_list("contract__currency_id")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    return sum(
        (Decimal(s) * ctx.rates.rate_on(str(code), day) for code, s in rows if s), Decimal(0)
    )


def dso_of(receivables: Decimal, billed: Decimal, days: int) -> float | None:
    """Days sales outstanding: receivables ÷ billed × days (None when nothing billed)."""
    if billed <= 0 or days <= 0:
        return None
    return float(receivables / billed * days)


@kpi("overdue_receivables", Kind.MONEY, _("Overdue receivables"), module="receivables")
def k_overdue_receivables(ctx: KpiContext) -> Decimal:
    """Σ still owed on instalments past due at the end of P (or today), base currency."""
    return overdue_at(ctx, as_of(ctx))


@kpi("dso", Kind.DAYS, _("Days sales outstanding"), module="receivables")
def k_dso(ctx: KpiContext) -> float | None:
    """Receivables at the end of P ÷ instalments due in P × days in P."""
    day = as_of(ctx)
    if day < ctx.period.start:
        return None
    days = (day - ctx.period.start).days + 1
    return dso_of(receivables_at(ctx, day), billed(ctx, ctx.period.start, day), days)
