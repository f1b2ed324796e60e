"""Measuring the pipeline snapshots at scale (`salesops bench_snapshots`), each figure beside
a same-run baseline in hand-written SQL on the same database:

- a snapshot of every open deal (budget 60 s at 1M deals) beside a plain copy of the
  same open deals' columns (`CREATE TABLE … AS SELECT`, no conversion): the database's
  floor for writing that many rows;
- the table's size per snapshot and per year (52 weekly + the month ends not on the
  weekly day);
- the waterfall over a quarter for an administrator (two snapshots, the deals that left
  or joined, their fates) beside one SQL query joining the two snapshots' rows and
  summing the moves.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from django.db import connection

from salesops.analytics.periods import Period
from salesops.forecasting import waterfall
from salesops.forecasting.models_snapshots import PipelineSnapshot, SnapshotRow
from salesops.forecasting.snapshots import reasons_for, take_snapshot


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def baseline_copy() -> float:
    """A plain copy of the open deals' snapshot columns into a scratch table."""
    with connection.cursor() as c:
        c.execute("DROP TABLE IF EXISTS bench_snapshot_copy")
        seconds, _v = timed(
            lambda: c.execute(
                "CREATE TABLE bench_snapshot_copy AS SELECT id, owner_id, stage_id, "
                "forecast_category, expected_close, amount FROM crm_deal "
                "WHERE status = 'open' AND deleted_at IS NULL"
            )
        )
        c.execute("DROP TABLE bench_snapshot_copy")
    return seconds


def table_bytes() -> int | None:
    """The snapshot rows' table with its indexes, in bytes (None: not measurable here)."""
    table = SnapshotRow._meta.db_table
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("SELECT pg_total_relation_size(%s)", [table])
            return int(c.fetchone()[0])
        try:
            c.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name = %s OR name IN "
                "(SELECT name FROM sqlite_master WHERE tbl_name = %s)",
                [table, table],
            )
        except Exception:  # SQLite without dbstat: the database's used pages
            c.execute("PRAGMA page_count")
            pages = c.fetchone()[0]
            c.execute("PRAGMA freelist_count")
            pages -= c.fetchone()[0]
            c.execute("PRAGMA page_size")
            return int(pages * c.fetchone()[0])
        row = c.fetchone()
        return int(row[0]) if row and row[0] is not None else None


def snapshots_per_year(weekday: int = 4, year: int = 2026) -> int:
    day, n = dt.date(year, 1, 1), 0
    while day.year == year:
        n += bool(reasons_for(day, weekday=weekday, fiscal_start_month=1))
        day += dt.timedelta(days=1)
    return n


WATERFALL_SQL = """
    SELECT CASE WHEN a.deal_id IS NULL THEN 'joined' WHEN b.deal_id IS NULL THEN 'left'
                WHEN b.amount_base > a.amount_base THEN 'increased'
                WHEN b.amount_base < a.amount_base THEN 'decreased' ELSE 'same' END,
           COUNT(*), SUM(COALESCE(b.amount_base, 0) - COALESCE(a.amount_base, 0))
    FROM (SELECT deal_id, amount_base FROM forecasting_snapshotrow WHERE snapshot_id = %s
          AND expected_close >= %s AND expected_close < %s) a
    FULL OUTER JOIN (SELECT deal_id, amount_base FROM forecasting_snapshotrow
          WHERE snapshot_id = %s AND expected_close >= %s AND expected_close < %s) b
      ON a.deal_id = b.deal_id
    GROUP BY 1
"""


def baseline_waterfall(a: PipelineSnapshot, b: PipelineSnapshot, window: Period) -> float:
    with connection.cursor() as c:
        params: list[Any] = [a.pk, window.start, window.end, b.pk, window.start, window.end]
        seconds, _v = timed(lambda: (c.execute(WATERFALL_SQL, params), c.fetchall()))
    return seconds


def run(*, admin: Any, today: dt.date, keep: bool, out: Callable[[str], None]) -> None:
    """Take two snapshots (a quarter apart, before today), time them and the waterfall
    between them, print each beside its baseline; remove the snapshots unless `keep`."""
    first, second = today - dt.timedelta(days=91), today - dt.timedelta(days=1)
    window = Period(first, first + dt.timedelta(days=91))
    made = []
    before = table_bytes()
    for day in (first, second):
        existing = PipelineSnapshot.objects.filter(taken_on=day).first()
        if existing is not None:
            out(f"snapshot of {day}: exists ({existing.deals} deals), not retaken")
            continue
        seconds, snap = timed(lambda d=day: take_snapshot(day=d))  # type: ignore[misc]
        made.append(snap)
        floor = baseline_copy()
        out(
            f"snapshot of {day}: {snap.deals:,} open deals in {seconds:.2f} s "
            f"(budget 60 s; plain copy of the same rows {floor:.2f} s)"
        )
    after = table_bytes()
    per_year = snapshots_per_year()
    if made and before is not None and after is not None:
        per_snapshot = (after - before) / len(made)
        rows = sum(s.deals for s in made) / len(made)
        out(
            f"table size: {per_snapshot / 1e6:.1f} MB per snapshot "
            f"({per_snapshot / max(rows, 1):.0f} bytes per row with its index); "
            f"{per_year} snapshots a year ≈ {per_snapshot * per_year / 1e9:.2f} GB a year"
        )
    else:
        out("table size: not measurable on this database")
    a = PipelineSnapshot.objects.get(taken_on=first)
    b = PipelineSnapshot.objects.get(taken_on=second)
    runs = []
    for _i in range(3):
        seconds, result = timed(
            lambda: waterfall.between(
                viewer=admin, start=first, end=second, window=window, today=today
            )
        )
        runs.append(seconds)
    floor = min(baseline_waterfall(a, b, window) for _i in range(3))
    out(
        f"waterfall over a quarter ({len(result.waterfall.bars['start'].deal_ids):,} → "
        f"{len(result.waterfall.bars['end'].deal_ids):,} deals): best of 3 {min(runs):.2f} s "
        f"(one SQL join of the two snapshots {floor:.2f} s); adds up: {result.waterfall.check()}"
    )
    if not keep:
        for snap in made:
            snap.delete()
