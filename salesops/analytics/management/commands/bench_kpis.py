"""`salesops bench_kpis`: all KPIs of one quarter for the whole organisation, timed beside
hand-written SQL on the same database and DuckDB in memory (the limits)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from salesops.analytics import bench
from salesops.analytics.engine import KpiContext
from salesops.analytics.periods import parse_period, preset
from salesops.crm.models import Deal
from salesops.org.models import Organisation
from salesops.users.models import User

BUDGET_SECONDS = 0.5


class Command(BaseCommand):
    help = "Time all KPIs of a quarter for the whole organisation against SQL and DuckDB."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", default="", help="default: last quarter")
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--no-duckdb", action="store_true")
        parser.add_argument(
            "--no-raw-engine",
            action="store_true",
            help="skip timing the engine on the raw rows (without the roll-ups)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        org = Organisation.get()
        if opts["period"]:
            period = parse_period(opts["period"], fiscal_start_month=org.fiscal_year_start_month)
        else:
            period = preset("last_quarter", today=org.local_date())
        deals = Deal.all_objects.count()
        ctx = KpiContext(viewer=User(is_superuser=True, is_active=True), period=period)
        w = self.stdout.write
        w(f"KPIs of {period} on {connection.vendor} with {deals:,} deals")
        engine_s, values = bench.run_engine(period, opts["repeat"])
        w(
            f"  engine (all {len(values)} KPIs): {engine_s * 1000:8.1f} ms   budget {BUDGET_SECONDS * 1000:.0f} ms"
            f"   {'OK' if engine_s <= BUDGET_SECONDS else 'OVER BUDGET'}"
        )
        if not opts["no_raw_engine"]:
            raw_s, raw_values = bench.run_engine(period, min(opts["repeat"], 3), raw=True)
            w(
                f"  engine on raw rows (no roll-ups): {raw_s * 1000:8.1f} ms   "
                f"roll-ups {raw_s / engine_s:.1f}x faster   "
                f"{'same values' if raw_values == values else 'VALUES DIFFER'}"
            )
        sql_s, each = bench.run_sql(ctx, opts["repeat"])
        w(
            f"  hand-written SQL ({len(each)} queries): {sql_s * 1000:8.1f} ms   engine/SQL = {engine_s / sql_s:.2f}"
        )
        for name, seconds in sorted(each.items(), key=lambda kv: -kv[1]):
            w(f"      {name:<22} {seconds * 1000:8.1f} ms")
        if not opts["no_duckdb"]:
            db = bench.load_duckdb()
            duck_s = bench.run_duckdb(db, ctx, opts["repeat"])
            w(
                f"  DuckDB in memory: {duck_s * 1000:8.1f} ms   engine/DuckDB = {engine_s / duck_s:.2f}"
            )
        w(
            f"  bookings {values.get('bookings')}  won {values.get('won_deals')}  "
            f"win rate {values.get('win_rate')}"
        )
