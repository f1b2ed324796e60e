"""`salesops bench_snapshots`: a pipeline snapshot of the data set (budget 60 s at 1M
deals), the snapshot table's size per year and the waterfall over a quarter, each beside
a hand-written SQL baseline (`forecasting.bench_snapshots`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from salesops.forecasting import bench_snapshots as bench
from salesops.org.models import Organisation
from salesops.users.models import User


class Command(BaseCommand):
    help = "Time a pipeline snapshot and the waterfall over a quarter against SQL baselines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--keep", action="store_true", help="keep the two snapshots taken")

    def handle(self, *args: Any, **opts: Any) -> None:
        admin = User.objects.filter(is_active=True, role__is_admin=True).order_by("pk").first()
        if admin is None:
            self.stderr.write("No active administrator: seed the data set first.")
            return
        bench.run(
            admin=admin,
            today=Organisation.get().local_date(),
            keep=opts["keep"],
            out=self.stdout.write,
        )
