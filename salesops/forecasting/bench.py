"""Measuring the forecast page's figures at scale beside their limit (DESIGN.md: a
forecast page ≤ 1 s at 1M deals).

Timed in the same run on the same data:
- `page.build` for the organisation as an administrator (the forecast KPIs, bookings,
  target, the per-owner rows, submissions and roll-up) — what the page and the API run;
- the same for the busiest team, as an administrator;
- the limit: the two aggregates the figures need, in hand-written SQL (open deals in
  the forecast by owner, category and currency; won deals by owner, currency and day).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import Count

from salesops.forecasting import page
from salesops.forecasting.queries import ForecastPeriod, current_periods
from salesops.org.models import Organisation
from salesops.users.models import Team, User

SQL = [
    """select owner_id, forecast_category, currency_id, sum(amount) from crm_deal
    where deleted_at is null and status = 'open' and expected_close >= '{start}'
    and expected_close < '{end}' and forecast_category in ('commit', 'best_case', 'pipeline')
    group by owner_id, forecast_category, currency_id""",
    """select owner_id, currency_id, closed_on, sum(amount) from crm_deal
    where deleted_at is null and status = 'won' and closed_on >= '{start}'
    and closed_on < '{end}' group by owner_id, currency_id, closed_on""",
]


def timed(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def busiest_quarter() -> ForecastPeriod:
    """The fiscal quarter with the most deals expected to close (the seeded data sets
    spread them over years)."""
    import datetime as dt

    from salesops.crm.models import Deal

    first = Organisation.get().fiscal_year_start_month
    row = (
        Deal.objects.exclude(expected_close=None)
        .values("expected_close__year", "expected_close__month")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if row is None:
        return current_periods(Organisation.get().local_date())[1]
    month = dt.date(row["expected_close__year"], row["expected_close__month"], 1)
    offset = (month.month - first) % 3
    start_month = (month.month - 1 - offset) % 12 + 1
    year = month.year if start_month <= month.month else month.year - 1
    return ForecastPeriod("quarter", dt.date(year, start_month, 1))


def run(repeat: int = 5) -> list[tuple[str, float, float]]:
    """[(what, seconds, limit seconds)]."""
    fp = busiest_quarter()
    viewer = User(username="bench", is_superuser=True, is_active=True)
    viewer.pk = 0
    p = {"start": fp.start.isoformat(), "end": fp.end.isoformat()}

    def sql() -> None:
        with connection.cursor() as cur:
            for q in SQL:
                cur.execute(q.format(**p))
                cur.fetchall()

    limit = timed(sql, repeat)
    out = [
        ("organisation", timed(lambda: page.build(viewer, page.Scope("org"), fp), repeat), limit)
    ]
    team = Team.objects.annotate(n=Count("members")).order_by("-n").first()
    if team is not None:
        scope = page.Scope("team", team=team)
        out.append((f"team {team}", timed(lambda: page.build(viewer, scope, fp), repeat), limit))
    return out
