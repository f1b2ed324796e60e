"""`salesops seed`: a deterministic demo organisation, or scale data for benchmarks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS
from django.utils import translation
from django.utils.translation import gettext as _

from salesops.demo.bulk import SeedError
from salesops.demo.config import PASSWORD
from salesops.demo.scales import SCALES
from salesops.demo.seeding import seed


class Command(BaseCommand):
    help = (
        "Fill the database with a demo organisation: people, teams, customers, deals and "
        "two-plus years of history. The same --seed on the same day gives the same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            choices=list(SCALES),
            default="demo",
            help="demo (15 reps, 4,000 deals), small (10,000 deals), 100k or 1m deals; "
            "tiny is for tests.",
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--locale",
            choices=["zh-hans", "en"],
            default="zh-hans",
            help="Language of names and settings (default zh-hans).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete all existing data first (not the migrations).",
        )
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help="Pretend today is this date (YYYY-MM-DD); default: today.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        translation.activate(options["locale"])
        out = self.stdout

        def progress(_key: str, count: int, seconds: float) -> None:
            out.write(
                _("  %(count)s deals written (%(seconds).0f s)")
                % {"count": f"{count:,}", "seconds": seconds}
            )

        if options["verbosity"] >= 1:
            out.write(
                _("Seeding the %(scale)s data set (seed %(seed)s, %(locale)s)…")
                % {"scale": options["scale"], "seed": options["seed"], "locale": options["locale"]}
            )
        try:
            result = seed(
                scale=options["scale"],
                seed=options["seed"],
                locale=options["locale"],
                reset=options["reset"],
                today=options["today"],
                using=options["database"],
                progress=progress if options["verbosity"] >= 1 else None,
            )
        except SeedError as e:
            raise CommandError(str(e)) from e
        if result.skipped:
            labels = {"users": _("users"), "customers": _("customers"), "leads": _("leads"),
                      "deals": _("deals")}  # fmt: skip
            found = ", ".join(
                _("%(what)s: %(count)s") % {"what": labels.get(k, k), "count": f"{n:,}"}
                for k, n in result.existing.items()
            )
            out.write(
                _(
                    "The database already has data (%(found)s); nothing was changed. "
                    "Run seed --reset to delete it and seed anew."
                )
                % {"found": found}
            )
            return
        if options["verbosity"] >= 1:
            out.write(_("Rows written:"))
            for key, n in sorted(result.counts.items(), key=lambda kv: -kv[1]):
                out.write(f"  {key:<18} {n:>12,}")
            out.write(
                _("Total: %(rows)s rows in %(seconds).1f s (history up to %(today)s).")
                % {
                    "rows": f"{sum(result.counts.values()):,}",
                    "seconds": result.seconds,
                    "today": result.today,
                }
            )
            if options["verbosity"] >= 2:
                for phase, seconds in sorted(result.timings.items(), key=lambda kv: -kv[1]):
                    out.write(f"  {phase:<28} {seconds:8.1f} s")
        out.write(_("Demo logins (password: %(password)s):") % {"password": PASSWORD})
        for username, role in result.logins:
            out.write(f"  {username:<10} {PASSWORD}  {role}")
