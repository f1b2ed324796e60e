"""The forecast by category (KPIS.md "Forecast"), registered with the KPI engine.

Over deals with `expected_close` in P (the viewer's scope and the filters, as every KPI):
- commit = Σ open amount in category commit + bookings so far (won, closed in P);
- best case = commit + Σ open amount in category best case;
- pipeline = best case + Σ open amount in category pipeline.

Bookings are the `bookings` KPI's own (each deal at the rate of its close date); open
amounts are at the latest rate, like `open_pipeline`. `forecast_deals` is the same set
as rows, for the drill-down. Imported from `ForecastingConfig.ready()`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from salesops.analytics import kpis as base
from salesops.analytics.engine import Kind, KpiContext, kpi
from salesops.analytics.periods import Period
from salesops.crm.models import Deal
from salesops.pipeline.models import ForecastCategory as Cat

#: The forecast figures and the open categories each adds to the bookings so far.
FIGURES: dict[str, tuple[str, ...]] = {
    "closed": (),
    "commit": (Cat.COMMIT,),
    "best_case": (Cat.COMMIT, Cat.BEST_CASE),
    "pipeline": (Cat.COMMIT, Cat.BEST_CASE, Cat.PIPELINE),
}
KPI_IDS = ("forecast_commit", "forecast_best_case", "forecast_pipeline")

_READS = base._WON | base._OPEN | {("deal", "forecast_category")}
base.READS.update(dict.fromkeys(KPI_IDS, _READS))


@dataclass(frozen=True)
class Figures:
    """In the base currency: bookings so far, commit, best case and pipeline."""

    closed: Decimal
    commit: Decimal
    best_case: Decimal
    pipeline: Decimal

    def get(self, figure: str) -> Decimal:
        return Decimal(getattr(self, figure))


def combine(closed: Decimal, open_by_category: dict[str, Decimal]) -> Figures:
    """The definitions as arithmetic, on numbers already in the base currency."""
    commit = closed + open_by_category.get(Cat.COMMIT, Decimal(0))
    best = commit + open_by_category.get(Cat.BEST_CASE, Decimal(0))
    return Figures(closed, commit, best, best + open_by_category.get(Cat.PIPELINE, Decimal(0)))


def _open_q(p: Period, categories: tuple[str, ...]) -> Q:
    return Q(
        status=Deal.Status.OPEN,
        expected_close__gte=p.start,
        expected_close__lt=p.end,
        forecast_category__in=categories,
    )


def _won_q(p: Period) -> Q:
    return Q(status=Deal.Status.WON, closed_on__gte=p.start, closed_on__lt=p.end)


def open_rows(ctx: KpiContext, p: Period, *, by_owner: bool) -> list[tuple[Any, ...]]:
    """(owner or None, category, currency, Σ amount) of the open deals in the forecast:
    one grouped query (index `deal_open_forecast`)."""
    columns = ["owner_id"] if by_owner else []
    return ctx.memo(
        f"forecast_open:{p.start}:{p.end}:{by_owner}",
        lambda: [
            (row[0] if by_owner else None, *row[-3:])
            for row in ctx.deals()
            .filter(_open_q(p, FIGURES["pipeline"]))
            .values_list(*columns, "forecast_category", "currency_id")
            .annotate(s=Sum("amount"))
            .order_by()
        ],
    )


def figures(
    ctx: KpiContext, p: Period | None = None, *, by_owner: bool = False
) -> dict[int | None, Figures]:
    """{owner: Figures} (by_owner) or {None: Figures} for everything in scope."""
    p = p or ctx.period
    today = ctx.today or ctx.org.local_date()
    opened: dict[int | None, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for owner, category, code, total in open_rows(ctx, p, by_owner=by_owner):
        if total:
            opened[owner][category] += Decimal(total) * ctx.rates.latest(code, today)
    closed = base.bookings_by_owner(ctx, p, by_owner=by_owner)
    owners = set(opened) | {o for o, v in closed.items() if v}
    if not by_owner:
        owners.add(None)
    return {o: combine(closed.get(o, Decimal(0)), opened.get(o, {})) for o in owners}


def totals(ctx: KpiContext) -> Figures:
    return ctx.memo("forecast_totals", lambda: figures(ctx)[None])


def forecast_deals(ctx: KpiContext, figure: str) -> QuerySet[Deal]:
    """The deals behind a figure (closed, commit, best case, pipeline): the drill-down."""
    if figure not in FIGURES:
        raise ValueError(figure)
    p = ctx.period
    q = _won_q(p)
    if FIGURES[figure]:
        q |= _open_q(p, FIGURES[figure])
    return ctx.deals().filter(q)


@kpi("forecast_commit", Kind.MONEY, _("Forecast: commit"), module="forecasting")
def k_forecast_commit(ctx: KpiContext) -> Decimal:
    """Σ open amount in category commit + bookings so far, expected to close in P."""
    return totals(ctx).commit


@kpi("forecast_best_case", Kind.MONEY, _("Forecast: best case"), module="forecasting")
def k_forecast_best_case(ctx: KpiContext) -> Decimal:
    """Commit + Σ open amount in category best case."""
    return totals(ctx).best_case


@kpi("forecast_pipeline", Kind.MONEY, _("Forecast: pipeline"), module="forecasting")
def k_forecast_pipeline(ctx: KpiContext) -> Decimal:
    """Best case + Σ open amount in category pipeline."""
    return totals(ctx).pipeline
