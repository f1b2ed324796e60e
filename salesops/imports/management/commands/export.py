"""`salesops export --object customer --as-user USERNAME --format csv|xlsx [--output PATH]`"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from salesops.imports.exporting import export_table, write_csv, write_xlsx
from salesops.imports.fields import importable, importable_types
from salesops.users.models import User


class Command(BaseCommand):
    help = "Export every record of a kind that the user may see, as CSV or XLSX."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--object",
            required=True,
            help="lead, customer, contact, deal, followup, product, payment, or the key of "
            "a custom object (e.g. site_visit)",
        )
        parser.add_argument("--as-user", required=True)
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--output", default="", help="file to write (default: stdout for CSV)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not importable(opts["object"]):
            choices = ", ".join(key for key, _label in importable_types())
            raise CommandError(f"Unknown object {opts['object']!r}; choose one of: {choices}.")
        user = User.objects.filter(username=opts["as_user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {opts['as_user']!r}.")
        try:
            headers, rows = export_table(opts["object"], user=user)
        except PermissionDenied as e:
            raise CommandError(str(e)) from e
        output = opts["output"]
        if opts["format"] == "xlsx":
            if not output:
                raise CommandError("Give --output for an XLSX export.")
            with Path(output).open("wb") as f:
                n = write_xlsx(headers, rows, f)
        elif output:
            with Path(output).open("w", encoding="utf-8", newline="") as t:
                n = write_csv(headers, rows, t)
        else:
            n = write_csv(headers, rows, self.stdout)  # type: ignore[arg-type]
        print(f"{n} rows exported.", file=sys.stderr)
