"""Measuring the KPI engine at scale beside its limits (DESIGN.md, performance budgets).

Three ways to get the numbers of one quarter for the whole organisation, timed in the
same run on the same data:
- the engine (what the product runs: ORM, `visible_to`, currency conversion);
- one hand-written SQL query per KPI on the same database (the database's own limit);
- the same SQL in DuckDB in memory, over copies of the needed columns (a columnar limit;
  loading the copies is not timed).
"""

from __future__ import annotations

import csv
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection

from salesops.analytics.engine import KpiContext, compute
from salesops.analytics.periods import Period
from salesops.users.models import User

#: Hand-written SQL per KPI, with {start}, {end} (dates), {start_ts}, {end_ts} (UTC
#: timestamps of the period's bounds in the org time zone), {active0}, {active1} (the
#: activity windows' bounds) and {diff} (date difference in days for this dialect).
SQL: dict[str, str] = {
    "bookings": """select currency_id, closed_on, sum(amount) from crm_deal
        where deleted_at is null and status = 'won' and closed_on >= '{start}' and closed_on < '{end}'
        group by currency_id, closed_on""",
    "collections": """select currency_id, received_on, sum(amount) from crm_payment
        where deleted_at is null and received_on >= '{start}' and received_on < '{end}'
        group by currency_id, received_on""",
    "win_rate": """select status, count(*) from crm_deal where deleted_at is null
        and status in ('won', 'lost') and closed_on >= '{start}' and closed_on < '{end}'
        group by status""",
    "sales_cycle": """select {diff}, count(*) from crm_deal where deleted_at is null
        and status = 'won' and closed_on >= '{start}' and closed_on < '{end}' group by 1""",
    "new_customers": """select count(distinct d.customer_id) from crm_deal d
        where d.deleted_at is null and d.status = 'won' and d.closed_on >= '{start}'
        and d.closed_on < '{end}' and not exists (select 1 from crm_deal e
          where e.customer_id = d.customer_id and e.deleted_at is null and e.status = 'won'
          and e.closed_on < '{start}')""",
    "active_customers": """select count(distinct customer_id) from crm_deal
        where deleted_at is null and status = 'won' and closed_on > '{active1_from}'
        and closed_on <= '{active1}'""",
    "churn_rate": """select count(*) from (select distinct customer_id from crm_deal
        where deleted_at is null and status = 'won' and closed_on > '{active0_from}'
        and closed_on <= '{active0}') a0 where customer_id not in (select customer_id
        from crm_deal where deleted_at is null and status = 'won'
        and closed_on > '{active1_from}' and closed_on <= '{active1}')""",
    "lead_conversion_rate": """select count(*), sum(case when status = 'converted' then 1 else 0 end)
        from crm_lead where deleted_at is null and created_on >= '{start}' and created_on < '{end}'""",
    "touchpoints": """select count(*) from activities_followup where deleted_at is null
        and kind in ('call', 'visit', 'meeting', 'email', 'message')
        and occurred_at >= '{start_ts}' and occurred_at < '{end_ts}'""",
    "open_pipeline": """select d.currency_id, sum(d.amount),
        sum(d.amount * coalesce(d.probability, s.probability)) from crm_deal d
        join pipeline_stage s on s.id = d.stage_id where d.deleted_at is null
        and d.status = 'open' and d.expected_close >= '{start}' and d.expected_close < '{end}'
        group by d.currency_id""",
    "stage_conversion": """select h.stage_id, count(distinct h.deal_id),
        count(distinct case when h.advanced then h.deal_id end) from crm_stagehistory h
        join pipeline_stage s on s.id = h.stage_id join crm_deal d on d.id = h.deal_id
        where d.deleted_at is null and s.kind = 'open' and h.entered_at >= '{start_ts}'
        and h.entered_at < '{end_ts}' group by h.stage_id""",
}

DIFF = {
    "sqlite": "cast(julianday(closed_on) - julianday(created_on) as integer)",
    "postgresql": "closed_on - created_on",
    "duckdb": "closed_on - created_on",
}

#: Columns copied into DuckDB, per table.
TABLES = {
    "crm_deal": [
        "id",
        "customer_id",
        "owner_id",
        "status",
        "amount",
        "currency_id",
        "created_on",
        "closed_on",
        "expected_close",
        "probability",
        "stage_id",
        "deleted_at",
    ],
    "crm_payment": ["id", "amount", "currency_id", "received_on", "deleted_at"],
    "crm_lead": ["id", "status", "created_on", "deleted_at"],
    "activities_followup": ["id", "kind", "occurred_at", "owner_id", "deleted_at"],
    "crm_stagehistory": ["id", "deal_id", "stage_id", "entered_at", "advanced"],
    "pipeline_stage": ["id", "kind", "order", "probability"],
}


def params(ctx: KpiContext, dialect: str) -> dict[str, str]:
    import datetime as dt

    p = ctx.period
    start_ts, end_ts = (b.astimezone(dt.UTC) for b in p.bounds(ctx.tz))
    window = dt.timedelta(days=ctx.org.activity_window_days)
    day0, day1 = p.start - dt.timedelta(days=1), p.end - dt.timedelta(days=1)
    fmt = "%Y-%m-%d %H:%M:%S" + ("+00" if dialect == "postgresql" else "")
    return {
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "start_ts": start_ts.strftime(fmt),
        "end_ts": end_ts.strftime(fmt),
        "active0": day0.isoformat(),
        "active0_from": (day0 - window).isoformat(),
        "active1": day1.isoformat(),
        "active1_from": (day1 - window).isoformat(),
        "diff": DIFF[dialect],
    }


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds over `repeat` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def run_engine(period: Period, repeat: int, *, raw: bool = False) -> tuple[float, dict[str, Any]]:
    """The engine as the product runs it; `raw` reads the raw rows instead of the
    roll-ups (the engine before them, for comparison)."""
    from unittest import mock

    from salesops.analytics import rolled

    viewer = User(username="bench", is_superuser=True, is_active=True)

    def once() -> dict[str, Any]:
        values, _errors = compute(KpiContext(viewer=viewer, period=period))
        return values

    if raw:
        with mock.patch.object(rolled, "scope", return_value=None):
            return timed(once, repeat)
    return timed(once, repeat)


def run_sql(ctx: KpiContext, repeat: int) -> tuple[float, dict[str, float]]:
    p = params(ctx, connection.vendor)
    each: dict[str, float] = {}

    def once() -> None:
        with connection.cursor() as cur:
            for name, sql in SQL.items():
                t0 = time.perf_counter()
                cur.execute(sql.format(**p))
                cur.fetchall()
                each[name] = time.perf_counter() - t0

    seconds, _ = timed(once, repeat)
    return seconds, dict(each)


def load_duckdb() -> Any:
    """Copy the columns the KPIs read into an in-memory DuckDB (through CSV files)."""
    import duckdb

    db = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp, connection.cursor() as cur:
        for table, columns in TABLES.items():
            path = Path(tmp) / f"{table}.csv"
            quoted = ", ".join(f'"{c}"' for c in columns)
            cur.execute(f"select {quoted} from {table}")  # noqa: S608 (fixed names)
            with path.open("w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(columns)
                while rows := cur.fetchmany(100_000):
                    writer.writerows(rows)
            # A column that is empty in a small data set would be read as text.
            types = {c: "DOUBLE" for c in columns if c in ("probability", "amount", "rate")}
            db.execute(
                f"create table {table} as select * from read_csv_auto('{path}', header=true, "  # noqa: S608
                f"types={types!r})"
            )
    return db


def run_duckdb(db: Any, ctx: KpiContext, repeat: int) -> float:
    p = params(ctx, "duckdb")

    def once() -> None:
        for sql in SQL.values():
            db.execute(sql.format(**p)).fetchall()

    seconds, _ = timed(once, repeat)
    return seconds
