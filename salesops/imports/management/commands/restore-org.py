"""`salesops restore-org FILE.zip`: load an export-org zip into an empty, migrated instance."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from salesops.imports.orgdump import DumpError, restore_org


class Command(BaseCommand):
    help = (
        "Restore a whole-organisation export into this instance, which must be empty "
        "(migrated, no users). All or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the .zip written by export-org")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.verbosity = int(opts["verbosity"])
        path = Path(opts["file"])
        started = time.perf_counter()
        try:
            with path.open("rb") as source:
                summary = restore_org(source, progress=self._progress)
        except FileNotFoundError as e:
            raise CommandError(_("There is no file %(file)s.") % {"file": path}) from e
        except DumpError as e:
            raise CommandError(str(e)) from e
        self.stdout.write(
            _("Restored %(rows)s rows of %(tables)s tables from %(file)s in %(seconds).1f s.")
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
