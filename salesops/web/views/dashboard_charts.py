"""The dashboards' chart data as JSON, drawn by static/web/dashboard.js with ECharts.

Each chart is {title, type, ...series}; every point carries the URL of the records it
counts (the drill-down list with the same query). Computed as the viewer, through the
KPI context, so the data scope applies exactly as on the tiles.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, Sum
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _

from salesops.activities.models import FollowUp
from salesops.analytics import engine, rolled
from salesops.analytics import kpis as k
from salesops.analytics.dashboard import CHARTS, layout
from salesops.analytics.periods import Period, add_months
from salesops.org.calendar import org_working_days
from salesops.pipeline.models import Stage
from salesops.users.models import Target, Team, User
from salesops.web.auth import me
from salesops.web.views.dashboards import Scope, drill_url, read_period, scope_from_params

#: Sales-cycle buckets in days: (first, last) both included; None: no upper end.
CYCLE_BUCKETS: list[tuple[int, int | None]] = [
    (0, 7),
    (8, 14),
    (15, 30),
    (31, 60),
    (61, 90),
    (91, 180),
    (181, None),
]


def months_of(period: Period, *, at_least: int = 6, forward: bool = False) -> list[Period]:
    """Whole months overlapping `period`; at least `at_least` of them, extended back (or
    forward) from the period."""
    first = period.start.replace(day=1)
    months = []
    day = first
    while day < period.end:
        months.append(Period(day, add_months(day, 1), day.strftime("%Y-%m")))
        day = add_months(day, 1)
    while len(months) < at_least:
        if forward:
            day = months[-1].end
            months.append(Period(day, add_months(day, 1), day.strftime("%Y-%m")))
        else:
            day = add_months(months[0].start, -1)
            months.insert(0, Period(day, add_months(day, 1), day.strftime("%Y-%m")))
    return months


def month_key(day: dt.date) -> str:
    return day.strftime("%Y-%m")


#: The figures (`kpis.READS` ids) each chart draws: a chart whose figures are all
#: withheld from the viewer draws nothing but a note; the trend drops a withheld series.
CHART_FIGURES: dict[str, tuple[str, ...]] = {
    "trend": ("bookings", "collections"),
    "funnel": ("stage_conversion",),
    "win_rate": ("win_rate",),
    "cycle": ("sales_cycle_median",),
    "leaderboard": ("bookings",),
    "gauges": (),  # attainment leaves out the targets of withheld metrics
    "pipeline_stage": ("open_pipeline",),
    "pipeline_month": ("open_pipeline",),
    "heatmap": ("touchpoints_per_rep_day",),
}
assert set(CHART_FIGURES) == set(CHARTS)


def withheld_chart(name: str) -> dict[str, Any]:
    """A chart with no data, saying why (drawn as an empty chart with its message)."""
    return {
        "type": "bars",
        "title": str(CHARTS[name]),
        "withheld": True,
        "empty": str(k.WITHHELD_NOTE),
        "labels": [],
        "series": [],
    }


def trend(
    ctx: engine.KpiContext, scope: Scope, period: Period, hidden: set[str] | frozenset = frozenset()
) -> dict[str, Any]:
    """Bookings and collections per month (at the event date's rate); a series withheld
    from the viewer is left out."""
    months = months_of(period)
    span = Period(months[0].start, months[-1].end)
    booked: dict[str, Decimal] = defaultdict(Decimal)
    if "bookings" not in hidden:
        for _o, code, day, s, _n in k.won_rows(ctx, span):
            booked[month_key(day)] += Decimal(s) * ctx.rates.rate_on(code, day)
    collected: dict[str, Decimal] = defaultdict(Decimal)
    # grouped by stretches of one month and one exchange rate: a few rows, not one a day
    stretch = rolled.rate_segment(ctx, span, "received_on", also=[m.start for m in months])
    rows = (
        ctx.payments()
        .filter(received_on__gte=span.start, received_on__lt=span.end)
        .annotate(b=stretch)
        .values_list("currency_id", "b")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    for code, day, s in rows if "collections" not in hidden else []:
        collected[month_key(day)] += Decimal(s) * ctx.rates.rate_on(code, day)
    labels = [str(m) for m in months]
    return {
        "type": "bars",
        "title": str(CHARTS["trend"]),
        "money": True,
        "labels": labels,
        "series": [
            {
                "name": name,
                "points": [
                    {"value": float(sums[m.label]), "url": drill_url(scope, m, drill)}
                    for m in months
                ],
            }
            for figure, name, sums, drill in (
                ("bookings", _("Bookings"), booked, "won"),
                ("collections", _("Collections"), collected, "payments"),
            )
            if figure not in hidden
        ],
    }


def open_stages(ctx: engine.KpiContext) -> list[Any]:
    stages = Stage.objects.filter(kind=Stage.Kind.OPEN).select_related("pipeline")
    if ctx.filters.pipeline is not None:
        stages = stages.filter(pipeline_id=ctx.filters.pipeline.pk)
    return list(stages.order_by("pipeline__id", "order", "id"))


def stage_name(stage: Any, several: bool) -> str:
    return f"{stage.pipeline.name} · {stage.name}" if several else stage.name


def funnel(ctx: engine.KpiContext, scope: Scope, values: dict[str, Any]) -> dict[str, Any]:
    """Stage conversion (KPI `stage_conversion`) per open stage, in pipeline order."""
    stages = open_stages(ctx)
    several = len({s.pipeline_id for s in stages}) > 1
    rates = values.get("stage_conversion") or {}
    return {
        "type": "hbars",
        "title": str(CHARTS["funnel"]),
        "percent": True,
        "labels": [stage_name(s, several) for s in stages],
        "series": [
            {
                "name": _("Stage conversion"),
                "points": [
                    {
                        "value": rates.get(str(s.pk)),
                        "url": drill_url(scope, ctx.period, "entered", stage=s.pk),
                    }
                    for s in stages
                ],
            }
        ],
    }


def win_rate(ctx: engine.KpiContext, scope: Scope, period: Period) -> dict[str, Any]:
    """Win rate (won ÷ won + lost, by count) per month."""
    months = months_of(period)
    span = Period(months[0].start, months[-1].end)
    counts: dict[str, Counter] = defaultdict(Counter)
    facts = k.closed_facts(ctx, span, by_owner=False)  # the daily roll-up when it serves
    if facts is not None:
        rows = [(day, status, n) for _o, status, _c, day, _s, n, _cy, _cn in facts]
    else:
        rows = list(
            ctx.deals()
            .filter(status__in=[k.WON, k.LOST], closed_on__gte=span.start, closed_on__lt=span.end)
            .values_list("closed_on", "status")
            .annotate(n=Count("*"))
            .order_by()
        )
    for day, status, n in rows:
        counts[month_key(day)][status] += n
    points = []
    for m in months:
        c = counts[m.label]
        closed = c[k.WON] + c[k.LOST]
        points.append(
            {
                "value": c[k.WON] / closed if closed else None,
                "url": drill_url(scope, m, "closed"),
            }
        )
    return {
        "type": "line",
        "title": str(CHARTS["win_rate"]),
        "percent": True,
        "labels": [str(m) for m in months],
        "series": [{"name": _("Win rate"), "points": points}],
    }


def cycle(ctx: engine.KpiContext, scope: Scope, period: Period) -> dict[str, Any]:
    """How many deals won in P took how many days, in buckets."""
    histogram = k.cycle_histograms(ctx, period, by_owner=False).get(None, Counter())
    labels, points = [], []
    for first, last in CYCLE_BUCKETS:
        n = sum(
            c for days, c in histogram.items() if days >= first and (last is None or days <= last)
        )
        labels.append(f"{first}–{last}" if last is not None else f"{first}+")
        extra: dict[str, Any] = {"cycle_min": first}
        if last is not None:
            extra["cycle_max"] = last
        points.append({"value": n, "url": drill_url(scope, period, "won", **extra)})
    return {
        "type": "bars",
        "title": str(CHARTS["cycle"]),
        "labels": labels,
        "series": [{"name": _("Won deals"), "points": points}],
    }


def names_of(ids: list[int]) -> dict[int, str]:
    return {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}


def leaderboard(scope: Scope, period: Period, values: dict[str, Any]) -> dict[str, Any]:
    """Reps in scope by bookings (KPI `rep_performance`), the top 15."""
    reps = values.get("rep_performance") or {}
    rows = sorted(reps.items(), key=lambda kv: -Decimal(kv[1]["bookings"] or 0))[:15]
    names = names_of([int(key) for key, _v in rows])
    rows.reverse()  # ECharts draws horizontal bars bottom-up
    return {
        "type": "hbars",
        "title": str(CHARTS["leaderboard"]),
        "money": True,
        "labels": [names.get(int(key), key) for key, _v in rows],
        "series": [
            {
                "name": _("Bookings"),
                "points": [
                    {
                        "value": float(v["bookings"] or 0),
                        "url": drill_url(scope.of_rep(int(key)), period, "won"),
                    }
                    for key, v in rows
                ],
            }
        ],
    }


def gauges(scope: Scope, period: Period, values: dict[str, Any]) -> dict[str, Any]:
    """Attainment of the targets set for exactly P: the scope's own, or (for the
    organisation, or a team without one) those of the people and teams in it."""
    attainment = values.get("attainment") or {}
    labels = dict(Target.Metric.choices)
    items: list[tuple[str, float, str]] = []
    team_names = dict(Team.objects.values_list("id", "name"))
    user_ids = {int(u) for m in attainment.values() for u in m.get("users", {})}
    user_names = names_of(sorted(user_ids))
    for metric, by in attainment.items():
        own = None
        if scope.rep is not None:
            own = by.get("users", {}).get(str(scope.rep.pk))
        elif scope.team is not None:
            own = by.get("teams", {}).get(str(scope.team.pk))
        if own is not None:
            items.append((str(labels.get(metric, metric)), own, drill_url(scope, period, "won")))
            continue
        if scope.rep is None:
            for tid, rate in by.get("teams", {}).items():
                if rate is not None:
                    name = f"{team_names.get(int(tid), tid)} · {labels.get(metric, metric)}"
                    items.append((name, rate, drill_url(scope, period, "won")))
            for uid, rate in by.get("users", {}).items():
                if rate is not None:
                    name = f"{user_names.get(int(uid), uid)} · {labels.get(metric, metric)}"
                    rep = scope.of_rep(int(uid))
                    items.append((name, rate, drill_url(rep, period, "won")))
    return {
        "type": "gauges",
        "title": str(CHARTS["gauges"]),
        "empty": _("No target is set for exactly this period."),
        "items": [{"name": n, "value": v, "url": u} for n, v, u in items[:6]],
    }


def pipeline_by_stage(ctx: engine.KpiContext, scope: Scope) -> dict[str, Any]:
    """Open deals expected to close in P, by stage, at the latest rate."""
    p = ctx.period
    today = ctx.today or ctx.org.local_date()
    sums: dict[int, Decimal] = defaultdict(Decimal)
    rows = (
        ctx.deals()
        .filter(status=k.OPEN, expected_close__gte=p.start, expected_close__lt=p.end)
        .values_list("stage_id", "currency_id")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    for stage_id, code, s in rows:
        if s:
            sums[stage_id] += Decimal(s) * ctx.rates.latest(code, today)
    stages = [s for s in open_stages(ctx) if s.pk in sums]
    several = len({s.pipeline_id for s in stages}) > 1
    return {
        "type": "bars",
        "title": str(CHARTS["pipeline_stage"]),
        "money": True,
        "labels": [stage_name(s, several) for s in stages],
        "series": [
            {
                "name": _("Open pipeline"),
                "points": [
                    {"value": float(sums[s.pk]), "url": drill_url(scope, p, "open", stage=s.pk)}
                    for s in stages
                ],
            }
        ],
    }


def pipeline_by_month(ctx: engine.KpiContext, scope: Scope, period: Period) -> dict[str, Any]:
    """Open deals by expected-close month, from P's first month on."""
    months = months_of(period, forward=True)
    span = Period(months[0].start, months[-1].end)
    today = ctx.today or ctx.org.local_date()
    sums: dict[str, Decimal] = defaultdict(Decimal)
    rows = (
        ctx.deals()
        .filter(status=k.OPEN, expected_close__gte=span.start, expected_close__lt=span.end)
        .values_list("expected_close", "currency_id")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    for day, code, s in rows:
        if s:
            sums[month_key(day)] += Decimal(s) * ctx.rates.latest(code, today)
    return {
        "type": "bars",
        "title": str(CHARTS["pipeline_month"]),
        "money": True,
        "labels": [str(m) for m in months],
        "series": [
            {
                "name": _("Open pipeline"),
                "points": [
                    {"value": float(sums[m.label]), "url": drill_url(scope, m, "open")}
                    for m in months
                ],
            }
        ],
    }


def heatmap(ctx: engine.KpiContext, scope: Scope, period: Period) -> dict[str, Any]:
    """Touchpoints per rep per day: one cell per rep and day (months when P is longer
    than 62 days: the month's touchpoints ÷ its working days)."""
    start, end = ctx.bounds(period)
    names = names_of(list(ctx.reps))
    reps = sorted(ctx.reps, key=lambda r: names.get(r, ""))[:40]
    by_day = period.days <= 62
    if by_day:
        buckets = [
            Period(period.start + dt.timedelta(days=i), period.start + dt.timedelta(days=i + 1))
            for i in range(period.days)
        ]
        labels = [b.start.isoformat()[5:] for b in buckets]
    else:
        buckets = [
            Period(max(m.start, period.start), min(m.end, period.end))
            for m in months_of(period, at_least=1)
        ]
        labels = [b.start.strftime("%Y-%m") for b in buckets]
    bucket_of = rolled.bucket_by_start(
        ctx, "occurred_at", buckets, list(range(len(buckets))), IntegerField()
    )
    rows = (
        FollowUp.objects.visible_to(ctx.viewer)
        .filter(
            kind__in=FollowUp.TOUCHPOINT_KINDS,
            occurred_at__gte=start,
            occurred_at__lt=end,
            owner_id__in=reps,  # only the rows the chart shows
        )
        .annotate(b=bucket_of)
        .values_list("owner_id", "b")
        .annotate(n=Count("*"))
        .order_by()
    )
    days = [1 if by_day else max(org_working_days(b.start, b.end), 1) for b in buckets]
    counts: Counter = Counter()
    for owner, i, n in rows:
        counts[(owner, i)] += n
    cells = []
    for y, rep in enumerate(reps):
        for x, bucket in enumerate(buckets):
            n = counts[(rep, x)]
            if not n:
                continue
            value = n if by_day else round(n / days[x], 2)
            url = drill_url(scope.of_rep(rep), bucket, "touchpoints")
            cells.append({"x": x, "y": y, "value": value, "url": url})
    return {
        "type": "heatmap",
        "title": str(CHARTS["heatmap"]),
        "xlabels": labels,
        "ylabels": [names.get(r, str(r)) for r in reps],
        "cells": cells,
    }


@login_required
def chart_data(request: HttpRequest) -> JsonResponse:
    viewer: Any = me(request)
    org: Any = request.org  # type: ignore[attr-defined]
    scope = scope_from_params(viewer, request.GET)
    try:
        period, _preset, _text = read_period(request.GET, org, org.local_date())
    except ValidationError as e:
        return JsonResponse({"error": " ".join(e.messages)}, status=400)
    ctx = engine.KpiContext(viewer=viewer, period=period, filters=scope.filters())
    shown = layout().charts
    needs = {"funnel": "stage_conversion", "leaderboard": "rep_performance", "gauges": "attainment"}
    values, _errors = engine.compute(ctx, [needs[c] for c in shown if c in needs])
    hidden = k.withheld(viewer, {f for c in shown for f in CHART_FIGURES[c]})
    make: dict[str, Callable[[], dict[str, Any]]] = {
        "trend": lambda: trend(ctx, scope, period, hidden),
        "funnel": lambda: funnel(ctx, scope, values),
        "win_rate": lambda: win_rate(ctx, scope, period),
        "cycle": lambda: cycle(ctx, scope, period),
        "leaderboard": lambda: leaderboard(scope, period, values),
        "gauges": lambda: gauges(scope, period, values),
        "pipeline_stage": lambda: pipeline_by_stage(ctx, scope),
        "pipeline_month": lambda: pipeline_by_month(ctx, scope, period),
        "heatmap": lambda: heatmap(ctx, scope, period),
    }
    # only the charts of the organisation's layout, in its order
    charts = {
        name: withheld_chart(name)
        if CHART_FIGURES[name] and set(CHART_FIGURES[name]) <= hidden
        else make[name]()
        for name in shown
    }
    return JsonResponse({"currency": org.base_currency_id, "charts": charts})
