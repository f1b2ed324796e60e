"""`salesops bench_receivables`: the ageing page and its query, timed beside the same
rule in hand-written SQL and a plain sum of the instalments (the limits)."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from salesops.crm.models import Payment, PaymentPlan
from salesops.org.models import Organisation
from salesops.receivables import ageing as ag
from salesops.receivables import bench
from salesops.users.models import User

BUDGET_SECONDS = 1.0


class Command(BaseCommand):
    help = "Time the receivables ageing page against hand-written SQL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=5)

    def handle(self, *args: Any, **opts: Any) -> None:
        repeat = opts["repeat"]
        w = self.stdout.write
        today = Organisation.get().local_date()
        plans, payments = PaymentPlan.all_objects.count(), Payment.all_objects.count()
        w(
            f"Receivables ageing on {connection.vendor}: {plans:,} instalments, {payments:,} payments"
        )
        viewer = User(username="bench", is_superuser=True, is_active=True)
        fn_s, table = bench.timed(lambda: ag.ageing(viewer, group="customer", limit=100), repeat)
        w(
            f"  ageing() per customer, whole organisation: {fn_s * 1000:8.1f} ms   ({table.count:,} rows, the first 100 named)"
        )
        params = {
            "today": today,
            **{f"d{n}": today - dt.timedelta(days=n) for n in (0, 30, 60, 90)},
        }
        rule_s, n = bench.run_sql(bench.RULE_SQL, params, repeat)
        w(
            f"  the same rule in hand-written SQL:          {rule_s * 1000:8.1f} ms   ({n:,} groups)   ageing()/SQL = {fn_s / rule_s:.2f}"
        )
        floor_s, n = bench.run_sql(bench.FLOOR_SQL, {}, repeat)
        w(f"  floor: Σ instalments per customer (no payments matched): {floor_s * 1000:8.1f} ms")
        self.pages(repeat)

    def pages(self, repeat: int) -> None:
        from django.test import Client
        from django.test.utils import override_settings

        admin = User.objects.filter(role__is_admin=True, is_active=True).order_by("id").first()
        rep = User.objects.filter(role__is_sales_rep=True, is_active=True).order_by("id").first()
        for label, user in (("administrator", admin), ("a rep", rep)):
            if user is None:
                continue
            client = Client()
            client.force_login(user)
            times = []
            with override_settings(ALLOWED_HOSTS=["*"]):
                for i in range(repeat + 1):
                    t0 = time.perf_counter()
                    response = client.get("/receivables/")
                    took = time.perf_counter() - t0
                    if response.status_code != 200:
                        self.stdout.write(f"  page: answered {response.status_code}")
                        return
                    if i:
                        times.append(took)
            median = statistics.median(times)
            self.stdout.write(
                f"  ageing page, {label} (median of {len(times)}): {median * 1000:8.1f} ms   "
                f"budget {BUDGET_SECONDS * 1000:.0f} ms   {'OK' if median <= BUDGET_SECONDS else 'OVER BUDGET'}"
            )
