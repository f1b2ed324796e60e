"""`salesops bench_forecast`: the forecast page's figures at scale, beside the same
aggregates in hand-written SQL (budget: a forecast page ≤ 1 s)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

BUDGET_S = 1.0


class Command(BaseCommand):
    help = "Time the forecast page's figures (organisation and busiest team) beside raw SQL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=5)

    def handle(self, *args: Any, **options: Any) -> None:
        from salesops.forecasting.bench import busiest_quarter, run

        self.stdout.write(f"period {busiest_quarter().label}")
        for what, seconds, limit in run(options["repeat"]):
            verdict = "ok" if seconds <= BUDGET_S else "OVER BUDGET"
            ratio = seconds / limit if limit else float("inf")
            self.stdout.write(
                f"forecast {what}: {seconds * 1000:.0f} ms (budget {BUDGET_S * 1000:.0f} ms, "
                f"{verdict}); raw SQL of its aggregates {limit * 1000:.0f} ms; ratio {ratio:.1f}×"
            )
