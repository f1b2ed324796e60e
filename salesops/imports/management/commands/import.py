"""`salesops import FILE --object customer --as-user USERNAME [--mapping NAME|FILE.json]
[--mode all-or-nothing|skip-errors] [--dedupe skip|update|create] [--dry-run]`

Runs the same job as the pages' import (as the given user, through the services),
in this process, or on the worker with --background. Errors go to FILE.errors.csv.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from salesops.imports import jobs
from salesops.imports.engine import DEDUPE, MODES, MappingProblem
from salesops.imports.fields import importable, importable_types
from salesops.imports.models import ImportMapping
from salesops.imports.reading import FileProblem
from salesops.users.models import User


class Command(BaseCommand):
    help = "Import a CSV or XLSX file of leads, customers, contacts, deals, follow-ups, products, payments or custom objects' records."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--object",
            required=True,
            help="lead, customer, contact, deal, followup, product, payment, or the key of "
            "a custom object (e.g. site_visit)",
        )
        parser.add_argument("--as-user", required=True, help="import as this username")
        parser.add_argument(
            "--mapping",
            default="",
            help="a saved mapping's name or a JSON file {header: field}; default: suggested",
        )
        parser.add_argument(
            "--save-mapping", default="", help="save the mapping used under this name"
        )
        parser.add_argument("--mode", choices=MODES, default="skip-errors")
        parser.add_argument("--dedupe", choices=DEDUPE, default="skip")
        parser.add_argument("--day-first", action="store_true", help="03/05/2024 is 3 May")
        parser.add_argument(
            "--dry-run", action="store_true", help="check everything, write nothing"
        )
        parser.add_argument("--background", action="store_true", help="run on the worker")
        parser.add_argument("--errors", default="", help="where to write the error file")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not importable(opts["object"]):
            choices = ", ".join(key for key, _label in importable_types())
            raise CommandError(f"Unknown object {opts['object']!r}; choose one of: {choices}.")
        user = User.objects.filter(username=opts["as_user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {opts['as_user']!r}.")
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        with translation.override(user.language):
            try:
                self._run(user, path, opts)
            except (FileProblem, MappingProblem) as e:
                raise CommandError(str(e)) from e
            except (PermissionDenied, ValidationError) as e:
                raise CommandError(" ".join(getattr(e, "messages", [str(e)]))) from e

    def _columns(self, path: Path, opts: dict[str, Any]) -> dict[str, str]:
        spec = opts["mapping"]
        if not spec:
            return jobs.suggest(jobs.headers_of(str(path), path.name), opts["object"])
        if spec.endswith(".json") and Path(spec).is_file():
            return dict(json.loads(Path(spec).read_text(encoding="utf-8")))
        saved = ImportMapping.objects.filter(object_type=opts["object"], name=spec).first()
        if saved is None:
            raise CommandError(f"No saved mapping {spec!r} for {opts['object']}.")
        return dict(saved.columns)

    def _run(self, user: User, path: Path, opts: dict[str, Any]) -> None:
        columns = self._columns(path, opts)
        self.stdout.write("Mapping: " + json.dumps(columns, ensure_ascii=False))
        if opts["save_mapping"]:
            jobs.save_mapping(
                name=opts["save_mapping"], object_type=opts["object"], columns=columns, by=user
            )
        if opts["dry_run"]:
            result = jobs.preview(
                user=user,
                object_type=opts["object"],
                path=str(path),
                filename=path.name,
                columns=columns,
                dedupe=opts["dedupe"],
                day_first=opts["day_first"],
                limit=None,
            )
            self.stdout.write(json.dumps(result.report.counts()))
            for line, p in result.errors:
                self.stdout.write(f"  line {line} [{p.column}] {p.value!r}: {p.reason}")
            return
        job = jobs.create_job(
            user=user,
            object_type=opts["object"],
            path=str(path),
            filename=path.name,
            columns=columns,
            mode=opts["mode"],
            dedupe=opts["dedupe"],
            day_first=opts["day_first"],
        )
        if opts["background"]:
            job = jobs.enqueue(job)
            self.stdout.write(f"Import job {job.pk} queued for the worker.")
            return
        job = jobs.run_job(job.pk)
        self.stdout.write(f"{job.get_status_display()}: {job.message}")
        if job.error_count:
            target = Path(opts["errors"] or f"{path}.errors.csv")
            with target.open("w", encoding="utf-8", newline="") as out:
                for chunk in jobs.error_csv(job):
                    out.write(chunk)
            self.stdout.write(f"Errors: {target}")
        if job.status != job.Status.SUCCEEDED:
            raise CommandError(job.message)
