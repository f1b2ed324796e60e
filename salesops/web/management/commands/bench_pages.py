"""`salesops bench_pages`: server time of the main pages on the current database.

Each page is requested through Django's test client (the whole middleware stack, no
network) as a rep and as an administrator; p50 and p95 are printed beside the budget
(p95 ≤ 100 ms) and beside the same client's time for the smallest page (/healthz), the
floor any page pays. Run it on the `1m` data set for the figures DESIGN.md asks for.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from salesops.crm.models import Customer, Deal, Lead
from salesops.users.models import User

BUDGET_MS = 100.0


def _timed(client: Client, url: str, n: int) -> tuple[list[float], int]:
    client.get(url)  # warm caches and the session
    times = []
    # Each request resets the query log; start from an empty one so the capture counts.
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    count = len(queries.captured_queries)
    for _i in range(n):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return times, count


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


class Command(BaseCommand):
    help = "Server time (p50/p95) and query count of the list, board and record pages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, default=30, help="requests per page")
        parser.add_argument("--rep", default="", help="username of the rep (default: the first)")

    def handle(self, *args: Any, **options: Any) -> None:
        # The test client calls itself "testserver"; let it in for this run only.
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            self._run(options)

    def _run(self, options: dict[str, Any]) -> None:
        n = options["requests"]
        rep = (
            User.objects.get(username=options["rep"])
            if options["rep"]
            else User.objects.filter(role__is_sales_rep=True, is_active=True).order_by("id").first()
        )
        admin = User.objects.filter(role__is_admin=True, is_active=True).order_by("id").first()
        people = [p for p in (rep, admin) if p is not None]
        if not people:
            self.stderr.write("No rep or administrator: seed a data set first (salesops seed).")
            return
        self.stdout.write(
            f"{'page':<34}{'user':<10}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}  budget"
        )
        floor_client = Client()
        floor, _q = _timed(floor_client, "/healthz", n)
        self.stdout.write(
            f"{'/healthz (floor)':<34}{'-':<10}{statistics.median(floor):9.1f}{_p95(floor):9.1f}{0:9d}"
        )
        for person in people:
            client = Client()
            client.force_login(person)
            deal = Deal.objects.visible_to(person).order_by("-id").first()
            customer = (
                Customer.objects.visible_to(person).exclude(owner=None).order_by("-id").first()
            )
            lead = Lead.objects.visible_to(person).order_by("-id").first()
            urls = [
                "/",
                "/leads/",
                "/customers/",
                "/customers/mine/",
                "/pool/",
                "/deals/",
                "/deals/?sort=-amount",
                "/deals/?status=open&sort=expected_close",
                "/followups/",
                "/tasks/",
                "/board/",
                "/search/?q=科技",
            ]
            if deal:
                urls.append(f"/deals/{deal.pk}/")
            if customer:
                urls.append(f"/customers/{customer.pk}/")
            if lead:
                urls.append(f"/leads/{lead.pk}/")
            for url in urls:
                times, queries = _timed(client, url, n)
                p95 = _p95(times)
                verdict = "ok" if p95 <= BUDGET_MS else "OVER"
                self.stdout.write(
                    f"{url[:33]:<34}{person.username[:9]:<10}{statistics.median(times):9.1f}"
                    f"{p95:9.1f}{queries:9d}  {verdict} (×{p95 / max(_p95(floor), 0.01):.0f} floor)"
                )
