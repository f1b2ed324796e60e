"""`salesops export-org FILE.zip`: the whole organisation in one zip (see imports/orgdump.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from salesops.imports.orgdump import export_org


class Command(BaseCommand):
    help = "Export the whole organisation (settings, users, teams and every record) to a zip."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the .zip to write (an existing file is refused)")
        parser.add_argument("--force", action="store_true", help="overwrite an existing file")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.verbosity = int(opts["verbosity"])
        path = Path(opts["file"])
        if path.exists() and not opts["force"]:
            raise CommandError(
                _("%(file)s already exists; choose another name or add --force.") % {"file": path}
            )
        started = time.perf_counter()
        partial = path.with_name(path.name + ".partial")
        try:
            with partial.open("wb") as out:
                summary = export_org(out, progress=self._progress)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(path)
        self.stdout.write(
            _("Exported %(rows)s rows of %(tables)s tables to %(file)s in %(seconds).1f s.")
            % {
                "rows": f"{summary.rows:,}",
                "tables": len(summary.tables),
                "file": path,
                "seconds": time.perf_counter() - started,
            }
        )

    def _progress(self, label: str, rows: int) -> None:
        if self.verbosity >= 2:
            self.stdout.write(f"  {label:<32} {rows:>12,}")
