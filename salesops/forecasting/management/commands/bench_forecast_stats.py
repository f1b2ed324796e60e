"""`salesops bench_forecast_stats`: the statistical forecast page at scale beside raw SQL."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from salesops.crm.models import Deal
from salesops.forecasting import bench_stats as bench


class Command(BaseCommand):
    help = "Time the statistical forecast page (budget 1 s) beside the same aggregates in SQL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=5)

    def handle(self, *args: Any, **opts: Any) -> None:
        self.stdout.write(
            f"Statistical forecast on {connection.vendor} with {Deal.all_objects.count():,} deals"
        )
        bench.run(self.stdout.write, opts["repeat"])
