"""`salesops bench_kpis`: all KPIs of one quarter for the whole organisation, timed beside
hand-written SQL on the same database and DuckDB in memory (the limits)."""

from __future__ import annotations

import statistics
import time
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
DASHBOARD_BUDGET_SECONDS = 1.0


class Command(BaseCommand):
    help = "Time all KPIs of a quarter for the whole organisation against SQL and DuckDB."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", default="", help="default: last quarter")
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--no-duckdb", action="store_true")
        parser.add_argument(
            "--no-dashboard", action="store_true", help="skip timing the dashboard page"
        )
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

        if not opts["no_dashboard"]:
            self.dashboard(opts["repeat"])

    def dashboard(self, repeat: int) -> None:
        """The dashboards as an administrator sees them (the organisation's, a region's
        and one rep's): the page (tiles for the period, the previous one and a year
        before) and the chart data it loads, through the whole middleware stack; a full
        view is the two together."""
        from django.test import Client
        from django.test.utils import override_settings

        from salesops.users.models import Team

        admin = User.objects.filter(role__is_admin=True, is_active=True).order_by("id").first()
        if admin is None:
            self.stdout.write("  dashboard: no administrator (seed a data set first)")
            return
        region = next((t for t in Team.objects.order_by("path") if t.path.count(".") == 2), None)
        rep = User.objects.filter(role__is_sales_rep=True, is_active=True).order_by("id").first()
        views = [("organisation", "/dashboards/", "/dashboards/data.json")]
        if region is not None:
            views.append(
                (
                    f"team {region.name}",
                    f"/dashboards/team/{region.pk}/",
                    f"/dashboards/data.json?team={region.pk}",
                )
            )
        if rep is not None:
            views.append(
                (
                    f"rep {rep.username}",
                    f"/dashboards/rep/{rep.pk}/",
                    f"/dashboards/data.json?owner={rep.pk}",
                )
            )
        client = Client()
        client.force_login(admin)
        with override_settings(ALLOWED_HOSTS=["*"]):
            for label, page_url, data_url in views:
                totals: list[float] = []
                parts: dict[str, list[float]] = {"page": [], "charts": []}
                for i in range(repeat + 1):
                    took = []
                    for url in (page_url, data_url):
                        t0 = time.perf_counter()
                        response = client.get(url)
                        took.append(time.perf_counter() - t0)
                        if response.status_code != 200:
                            self.stdout.write(f"  dashboard: {url} answered {response.status_code}")
                            return
                    if i == 0:
                        continue  # the first view warms the process (templates, catalogues)
                    parts["page"].append(took[0])
                    parts["charts"].append(took[1])
                    totals.append(sum(took))
                total = statistics.median(totals)
                self.stdout.write(
                    f"  dashboard, {label} (median of {len(totals)}): {total * 1000:8.1f} ms = "
                    f"page {statistics.median(parts['page']) * 1000:.0f} ms + chart data "
                    f"{statistics.median(parts['charts']) * 1000:.0f} ms   budget "
                    f"{DASHBOARD_BUDGET_SECONDS * 1000:.0f} ms   "
                    f"{'OK' if total <= DASHBOARD_BUDGET_SECONDS else 'OVER BUDGET'}"
                )
