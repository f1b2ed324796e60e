"""Measuring the statistical forecast page at scale beside its limit (DESIGN.md: a
forecast page ≤ 1 s at 1M deals): the page as an administrator sees it, cold (the
history's aggregate and the time-series fits not cached yet) and warm, with its parts,
beside the same aggregates in hand-written SQL on the same database."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection

from salesops.analytics.engine import KpiContext
from salesops.analytics.periods import preset
from salesops.forecasting import statistical
from salesops.lib.cache import forget_all
from salesops.org.models import Organisation
from salesops.users.models import User

BUDGET_SECONDS = 1.0

HISTORY_SQL = {
    "sqlite": """select h.stage_id, h.left_at is null, d.status,
        cast(julianday(coalesce(d.closed_on, date('now'))) - julianday(date(h.entered_at)) as integer),
        count(*) from crm_stagehistory h join crm_deal d on d.id = h.deal_id
        join pipeline_stage s on s.id = h.stage_id
        where s.kind = 'open' and d.deleted_at is null group by 1, 2, 3, 4""",
    "postgresql": """select h.stage_id, h.left_at is null, d.status,
        coalesce(d.closed_on, current_date) - (h.entered_at at time zone 'UTC')::date,
        count(*) from crm_stagehistory h join crm_deal d on d.id = h.deal_id
        join pipeline_stage s on s.id = h.stage_id
        where s.kind = 'open' and d.deleted_at is null group by 1, 2, 3, 4""",
}
OPEN_SQL = """select stage_id, currency_id, count(*), sum(amount), sum(amount * amount)
    from crm_deal where deleted_at is null and status = 'open' group by stage_id, currency_id"""
MONTHLY_SQL = {
    "sqlite": """select currency_id, strftime('%Y-%m', closed_on), sum(amount) from crm_deal
        where deleted_at is null and status = 'won' and closed_on >= '{first}' group by 1, 2""",
    "postgresql": """select currency_id, date_trunc('month', closed_on), sum(amount) from crm_deal
        where deleted_at is null and status = 'won' and closed_on >= '{first}' group by 1, 2""",
}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def sql(query: str) -> float:
    with connection.cursor() as cur:
        t0 = time.perf_counter()
        cur.execute(query)
        cur.fetchall()
        return time.perf_counter() - t0


def run(write: Callable[[str], None], repeat: int = 5) -> None:
    from django.test import Client
    from django.test.utils import override_settings

    org = Organisation.get()
    admin = next(
        (u for u in User.objects.filter(is_active=True).order_by("id") if u.is_org_admin()), None
    )
    if admin is None:
        write("  statistical forecast: no administrator (seed a data set first)")
        return
    period = preset("this_quarter", today=org.local_date())
    today = org.local_date()
    ctx = KpiContext(viewer=admin, period=period, today=today)
    vendor = connection.vendor
    first = statistical.add_months(statistical.month_start(today), -statistical.HISTORY_MONTHS)
    forget_all()
    history_s, rows = timed(lambda: statistical.history_rows(today, ctx.tz))
    open_s, groups = timed(lambda: statistical.open_groups(ctx))
    write(
        f"  history aggregate: {history_s * 1000:8.1f} ms ({len(rows)} groups)   "
        f"raw SQL {sql(HISTORY_SQL[vendor]) * 1000:.1f} ms"
    )
    write(
        f"  open deals by cohort: {open_s * 1000:8.1f} ms ({len(groups)} groups)   "
        f"raw SQL {sql(OPEN_SQL) * 1000:.1f} ms"
    )
    monthly_s, _ = timed(
        lambda: statistical.monthly_bookings(ctx, first, statistical.month_start(today))
    )
    write(
        f"  monthly bookings, {statistical.HISTORY_MONTHS} months: {monthly_s * 1000:8.1f} ms   "
        f"raw SQL {sql(MONTHLY_SQL[vendor].format(first=first.isoformat())) * 1000:.1f} ms"
    )
    store_s, stored = timed(lambda: statistical.store_history(today, ctx.tz))
    write(f"  daily job, storing the history's cohorts: {store_s * 1000:8.1f} ms ({stored} rows)")
    from salesops.forecasting.models_stats import SeriesFit

    SeriesFit.objects.all().delete()
    forget_all()
    client = Client()
    client.force_login(admin)
    url = "/forecasts/statistical/?period=this_quarter"
    with override_settings(ALLOWED_HOSTS=["*"]):
        unfitted, response = timed(lambda: client.get(url))
        if response.status_code != 200:
            write(f"  statistical forecast page answered {response.status_code}")
            return
        forget_all()  # a fresh process: the fits are read from the table
        cold = timed(lambda: client.get(url))[0]
        warm = [timed(lambda: client.get(url))[0] for _ in range(repeat)]
        base = [timed(lambda: client.get("/login/"))[0] for _ in range(repeat)]
    median = statistics.median(warm)
    worst = max(cold, median)
    write(
        f"  statistical forecast page: first view in a fresh process {cold * 1000:.0f} ms, "
        f"then median {median * 1000:.0f} ms   budget {BUDGET_SECONDS * 1000:.0f} ms   "
        f"{'OK' if worst <= BUDGET_SECONDS else 'OVER BUDGET'}   "
        f"(a minimal page: {statistics.median(base) * 1000:.0f} ms)"
    )
    write(
        f"  the same page before its series were ever fitted (the daily job fits the "
        f"organisation's; a viewer's own series on its first view): {unfitted * 1000:.0f} ms"
    )
