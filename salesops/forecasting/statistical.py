"""The statistical forecast of a period (销售预测 · 统计): query functions feeding the pure
maths of `stats_maths` (pipeline-based) and `timeseries` (monthly series).

Pipeline-based: bookings so far in P (the `bookings` KPI) plus the money today's open
deals are expected to bring before P ends, each deal by the rate at which deals of its
stage and age bucket were won within that time in this organisation's history (the
stage history of every deal: rates, not money, so the history is the organisation's,
while the deals forecast are only those the viewer may see). An 80% interval comes from
simulating which deals are won.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Sum, Value, When
from django.utils import timezone

from salesops.analytics import kpis
from salesops.analytics.engine import KpiContext
from salesops.analytics.periods import Period, add_months
from salesops.crm.models import Deal
from salesops.crm.models.deals import StageHistory
from salesops.forecasting import stats_maths as sm
from salesops.forecasting import timeseries as ts
from salesops.forecasting.kpis_accuracy import READS
from salesops.forecasting.models_stats import HistoryCohort, SeriesFit
from salesops.lib.cache import TTLCache
from salesops.pipeline.models import Stage

#: What the pipeline-based forecast reads: a viewer from whom one is hidden gets no figure.

#: The history's cohorts change slowly: read once an hour per process (and per day).
_history_cache = TTLCache(3600)
#: Fitted time-series forecasts by the series they were fitted on.
_fit_cache = TTLCache(24 * 3600)


# -- queries ---------------------------------------------------------------------------------


def history_rows(today: dt.date, tz: dt.tzinfo) -> list[sm.HistRow]:
    """The organisation's stays in open stages, grouped by (stage, bucket of the stay's
    length, the deal's status, days from entering the stage to the close — or to today
    while open): one aggregate over the stage history, a few thousand rows. Deleted
    deals are left out. Dates are business dates in `tz` (on SQLite at its current UTC
    offset). Hand-written SQL: the ORM's time-zone date casts cost SQLite a Python call
    per row (25 s instead of 1.3 s at 100k deals)."""
    now = timezone.now()
    history, deal, stage = (
        StageHistory._meta.db_table,
        Deal._meta.db_table,
        Stage._meta.db_table,
    )
    params: dict[str, Any] = {"today": today, "open": Deal.Status.OPEN, "kind": Stage.Kind.OPEN}
    if connection.vendor == "postgresql":
        params |= {"tz": str(tz), "now": now}
        entered = "(h.entered_at at time zone %(tz)s)::date"
        left = "(coalesce(h.left_at, %(now)s) at time zone %(tz)s)::date"
        stay, to_today, to_close = (
            f"{left} - {entered}",
            f"%(today)s::date - {entered}",
            f"d.closed_on - {entered}",
        )
    else:
        offset = now.astimezone(tz).utcoffset() or dt.timedelta(0)
        params |= {
            "shift": f"{int(offset.total_seconds()):+d} seconds",
            "now": now.strftime("%Y-%m-%d %H:%M:%S"),
        }
        entered = "julianday(date(h.entered_at, %(shift)s))"
        left = "julianday(date(coalesce(h.left_at, %(now)s), %(shift)s))"
        stay = f"cast({left} - {entered} as integer)"
        to_today = f"cast(julianday(%(today)s) - {entered} as integer)"
        to_close = f"cast(julianday(d.closed_on) - {entered} as integer)"
    bucket = " ".join(
        f"when stay >= {low} then {b}" for b, low in reversed(list(enumerate(sm.AGE_BUCKETS))) if b
    )
    sql = f"""
        select stage_id, case {bucket} else 0 end, status, days, count(*) from (
            select h.stage_id, d.status, {stay} as stay,
                case when d.status = %(open)s then {to_today} else {to_close} end as days
            from {history} h
            join {deal} d on d.id = h.deal_id
            join {stage} s on s.id = h.stage_id
            where s.kind = %(kind)s and d.deleted_at is null
        ) stays
        group by 1, 2, 3, 4"""  # noqa: S608 (table names and numbers only; values are parameters)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return [sm.HistRow(s, b, st, d, n) for s, b, st, d, n in rows if d is not None]


def store_history(today: dt.date, tz: dt.tzinfo) -> int:
    """Replace the stored cohorts with today's (the daily job; a derived roll-up, like
    the KPI roll-ups, so no audit entry). Returns the number of rows."""
    rows = history_rows(today, tz)
    with transaction.atomic():
        with connection.cursor() as cur:  # all rows at once, without loading them
            cur.execute(f"delete from {HistoryCohort._meta.db_table}")  # noqa: S608
        HistoryCohort.objects.bulk_create(
            [
                HistoryCohort(
                    computed_on=today,
                    stage_id=r.stage,
                    bucket=r.bucket,
                    status=r.status,
                    days=r.days,
                    count=r.count,
                )
                for r in rows
            ],
            batch_size=2000,
        )
    _history_cache.clear()
    return len(rows)


#: Stored cohorts older than this are not used (the daily job has stopped): aggregate live.
STORED_HISTORY_DAYS = 7


def cached_history(ctx: KpiContext) -> list[sm.HistRow]:
    """The cohorts stored by the daily job when recent, else aggregated live; kept an
    hour per process either way."""
    today = ctx.today
    assert today is not None

    def load() -> list[sm.HistRow]:
        stored = HistoryCohort.objects.filter(
            computed_on__gte=today - dt.timedelta(days=STORED_HISTORY_DAYS),
            computed_on__lte=today,
        )
        rows = [
            sm.HistRow(h.stage_id, h.bucket, h.status, h.days, h.count)
            for h in stored.only("stage_id", "bucket", "status", "days", "count")
        ]
        return rows or history_rows(today, ctx.tz)

    return _history_cache.get(("history", today), load)


def open_groups(ctx: KpiContext) -> list[tuple[int, int, str, int, Decimal, Decimal]]:
    """The viewer's open deals (within the filters) grouped by (stage, age bucket of
    their time in the stage, currency): count, Σ amount, Σ amount²."""
    now = timezone.now()
    whens = [
        When(stage_entered_at__lte=now - dt.timedelta(days=low), then=Value(b))
        for b, low in reversed(list(enumerate(sm.AGE_BUCKETS)))
        if b
    ]
    return list(
        ctx.deals()
        .filter(status=Deal.Status.OPEN)
        .annotate(bucket=Case(*whens, default=Value(0), output_field=IntegerField()))
        .values_list("stage_id", "bucket", "currency_id")
        .annotate(n=Count("*"), s=Sum("amount"), s2=Sum(F("amount") * F("amount")))
        .order_by()
    )


# -- the pipeline-based forecast --------------------------------------------------------------


@dataclass(frozen=True)
class CohortLine:
    stage_id: int
    bucket: int
    deals: int
    amount: Decimal
    p: float | None
    pooled: bool
    expected: Decimal


@dataclass(frozen=True)
class PipelineForecast:
    period: Period
    booked: Decimal  # bookings so far in P
    expected: Decimal  # booked + expected from open deals
    low: Decimal
    high: Decimal
    open_deals: int
    without_history: int  # open deals whose cohort has no history (counted as 0)
    window: tuple[int, int]  # days from today: [start, end)
    lines: list[CohortLine] = field(default_factory=list)


def _money(v: float | Decimal) -> Decimal:
    return Decimal(str(round(float(v), 2)))


def pipeline_forecast(ctx: KpiContext) -> PipelineForecast:
    """The pipeline-based statistical forecast of ctx.period for ctx.viewer (raises
    `formulas.MissingRate` like the KPIs do). For a period already over it is the
    bookings; for one in the future, bookings are 0 and the window starts at P.start."""
    p, today = ctx.period, ctx.today
    assert today is not None
    booked = kpis.bookings(ctx, p) if p.start <= today else Decimal(0)
    start, end = max((p.start - today).days, 0), (p.end - today).days
    if end <= 0:
        return PipelineForecast(p, booked, booked, booked, booked, 0, 0, (0, 0))
    counts = sm.cohort_counts(cached_history(ctx), start=start, end=end)
    merged: dict[tuple[int, int], list] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for stage, bucket, code, n, s, s2 in open_groups(ctx):
        rate = ctx.rates.latest(code, today)
        m = merged[(stage, bucket)]
        m[0] += n
        m[1] += Decimal(s or 0) * rate
        m[2] += Decimal(s2 or 0) * rate * rate
    groups, lines, without = [], [], 0
    for (stage, bucket), (n, s, s2) in sorted(merged.items()):
        cohort = sm.cohort_for(counts, stage, bucket, sm.MIN_AT_RISK)
        if cohort.p is None:
            without += n
        else:
            groups.append(sm.Group(cohort.p, n, float(s), float(s2)))
        exp = _money(float(s) * (cohort.p or 0))
        lines.append(CohortLine(stage, bucket, n, s, cohort.p, cohort.pooled, exp))
    out = sm.interval(groups)
    return PipelineForecast(
        p,
        booked,
        booked + _money(out.expected),
        booked + _money(out.low),
        booked + _money(out.high),
        sum(line.deals for line in lines),
        without,
        (start, end),
        lines,
    )


# -- monthly series and the time-series forecast ----------------------------------------------

HISTORY_MONTHS = 48
HORIZON = 12


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def monthly_bookings(ctx: KpiContext, first: dt.date, end: dt.date) -> list[Decimal]:
    """Bookings of each month in [first, end) (first days of months), from the same
    facts as the `bookings` KPI."""
    months = _months(first, end)
    out = dict.fromkeys(months, Decimal(0))
    for _owner, code, day, s, _n in kpis.won_facts(ctx, Period(first, end), by_owner=False):
        out[month_start(day)] += Decimal(s) * ctx.rates.rate_on(code, day)
    return [out[m] for m in months]


def monthly_collections(ctx: KpiContext, first: dt.date, end: dt.date) -> list[Decimal]:
    """Collections (payments received, the `collections` KPI) of each month in [first, end)."""
    months = _months(first, end)
    out = dict.fromkeys(months, Decimal(0))
    rows = (
        ctx.payments()
        .filter(received_on__gte=first, received_on__lt=end)
        .values_list("currency_id", "received_on")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    for code, day, s in rows:
        out[month_start(day)] += Decimal(s or 0) * ctx.rates.rate_on(code, day)
    return [out[m] for m in months]


def _months(first: dt.date, end: dt.date) -> list[dt.date]:
    out, m = [], first
    while m < end:
        out.append(m)
        m = add_months(m, 1)
    return out


@dataclass(frozen=True)
class SeriesForecast:
    metric: str  # "bookings" | "collections"
    months: list[dt.date]  # history then forecast months
    actual: list[Decimal | None]  # per month of `months`, None in the forecast part
    forecast: list[Decimal | None]  # None in the history part
    method: str
    error: float | None  # the chosen method's rolling-origin backtest error, %
    history_months: int


def fitted_series(y: list[float], h: int, today: dt.date) -> ts.Fitted:
    """The time-series forecast of `y`: from this process's cache, else the stored fit
    of the same series (any process, any viewer), else fitted now and stored."""
    key = hashlib.sha256(repr((y, h, ts.METHODS)).encode()).hexdigest()

    def load() -> ts.Fitted:
        row = SeriesFit.objects.filter(key=key).first()
        if row is not None:
            if row.used_on != today:
                SeriesFit.objects.filter(pk=row.pk).update(used_on=today)
            return ts.Fitted(row.method, list(row.values), row.error, dict(row.cv))
        fitted = ts.fit_and_forecast(y, h)
        SeriesFit.objects.bulk_create(
            [
                SeriesFit(
                    key=key, method=fitted.method, values=fitted.values, error=fitted.error,
                    cv={k: (v if v is not None and v < float("inf") else None)
                        for k, v in fitted.cv.items()},
                    used_on=today,
                )
            ],
            ignore_conflicts=True,
        )  # fmt: skip
        return fitted

    return _fit_cache.get(key, load)


def purge_fits(today: dt.date, *, keep_days: int = 40) -> int:
    return SeriesFit.objects.filter(used_on__lt=today - dt.timedelta(days=keep_days)).delete()[0]


def series_forecast(ctx: KpiContext, metric: str) -> SeriesForecast:
    """The monthly `metric` of the last HISTORY_MONTHS complete months (from the first
    month with any) and the next HORIZON months forecast by the method the backtest
    chose; fitted once per series (cached by the values)."""
    today = ctx.today
    assert today is not None
    this_month = month_start(today)
    first = add_months(this_month, -HISTORY_MONTHS)
    read = monthly_bookings if metric == "bookings" else monthly_collections
    values = read(ctx, first, this_month)
    months = _months(first, this_month)
    while values and not values[0]:
        values, months = values[1:], months[1:]
    y = [float(v) for v in values]
    fitted = fitted_series(y, HORIZON, today)
    future = [add_months(this_month, i) for i in range(HORIZON)]
    return SeriesForecast(
        metric,
        months + future,
        [*values, *([None] * HORIZON)],
        [*([None] * len(values)), *(_money(max(v, 0.0)) for v in fitted.values)],
        fitted.method,
        fitted.error,
        len(values),
    )


def system_viewer() -> Any:
    """The instance itself, seeing the whole organisation (as `salesops kpi` does)."""
    from salesops.users.models import User

    return User(username="salesops-forecast", is_superuser=True, is_active=True)


def withheld(viewer: Any) -> bool:
    """Whether the viewer's role hides a field the statistical forecast reads."""
    from salesops.customization.policy import hidden_keys

    return any(key in hidden_keys(viewer, obj) for obj, key in READS)


def collections_withheld(viewer: Any) -> bool:
    return bool(kpis.withheld(viewer, ["collections"]))


__all__ = [
    "PipelineForecast",
    "SeriesForecast",
    "history_rows",
    "open_groups",
    "pipeline_forecast",
    "series_forecast",
    "withheld",
]
