"""Import jobs: what the pages, the command line and the worker call.

The upload → mapping → preview → run pages need only these functions:

* `accept_upload(stream, filename, size)` keeps a readable file (`store_upload` any); `headers_of(path, filename)` reads
  the header row (a FileProblem says what is wrong with the file);
* `suggest(headers, object_type)` proposes a mapping; `targets(object_type)` lists
  what a column can map to (with `user`: less the fields hidden from them) and
  `check_columns(...)` refuses a mapping to anything else; `save_mapping(...)` /
  `ImportMapping` keep one for re-use;
* `preview(...)` does the whole import in a transaction that is rolled back: the
  counts of created, updated, skipped and failed rows, and the first errors;
* `create_job(...)` then `enqueue(job)` runs it on the worker; `progress(job)` is what
  an htmx progress bar polls; `request_cancel(job, by=...)` stops it;
* `error_csv(job)` is the downloadable error file (line, column, value, reason);
* `visible_jobs(user)` is a person's import history (an administrator's: everyone's).

Contact jobs that create or skip duplicates run on the bulk path (`bulk.py`: the same
rules and results, written with COPY / executemany in chunks of `BULK_CHUNK` rows);
every other job goes row by row through the services (`engine.py`).

A job survives its worker being killed: in skip-errors mode each chunk of rows is
committed together with the job's counts and `resume_after_line`, so the retried task
continues after the last committed chunk; in all-or-nothing mode the file is imported
in one transaction, which dies with the worker, so the retried task starts again from
the first row. Either way the import is never left half done.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesops.imports.bulk import run_bulk_import
from salesops.imports.engine import ALL_OR_NOTHING, Report, run_import
from salesops.imports.fields import spec_for, suggest_mapping
from salesops.imports.models import ImportJob, ImportMapping, ImportRowError
from salesops.imports.reading import FileProblem, count_rows, open_table
from salesops.imports.rows import Problem
from salesops.imports.values import neutralise
from salesops.lib.services import ensure_right
from salesops.users.admin_services import is_admin

#: Errors kept of an all-or-nothing import (the file is rejected as a whole anyway).
MAX_KEPT_ERRORS = 10_000
CHUNK = 500
#: Rows per chunk of the bulk path (25,000: ~2 CPU s less per million rows than 10,000
#: for ~35 MB more at peak), and per committed checkpoint (whole chunks).
BULK_CHUNK = 25_000
BULK_COMMIT = 50_000
#: Largest file the wizard and the API accept.
MAX_UPLOAD_BYTES = 200 * (1 << 20)


def files_dir() -> Path:
    path = Path(
        getattr(settings, "IMPORT_FILES_DIR", "") or settings.BASE_DIR.parent / "var" / "imports"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(stream: IO[bytes], filename: str) -> tuple[str, int]:
    """Copy an uploaded file where the worker can read it: (path, size in bytes)."""
    suffix = Path(filename).suffix.lower()[:10]
    path = files_dir() / f"{uuid.uuid4().hex}{suffix}"
    size = 0
    with path.open("wb") as out:
        while chunk := stream.read(1 << 20):
            out.write(chunk)
            size += len(chunk)
    return str(path), size


def accept_upload(stream: IO[bytes], filename: str, size: int | None = None) -> tuple[str, str]:
    """Keep an uploaded file if it is a table whose first row names its columns:
    (path, the name to read it by). FileProblem saying what is wrong otherwise (and
    the file is not kept)."""
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise FileProblem(
            _("The file is larger than %(mb)s MB; split it into smaller files.")
            % {"mb": MAX_UPLOAD_BYTES // (1 << 20)}
        )
    name = Path(filename or "import.csv").name
    path, _size = store_upload(stream, name)
    try:
        headers = headers_of(path, name)
        if not any(str(h).strip() for h in headers):
            raise FileProblem(_("The file's first row must name the columns; it is empty."))
    except FileProblem:
        os.unlink(path)
        raise
    return path, name


def forget_upload(path: str) -> None:
    """Delete a kept file that no job uses (an upload abandoned before its import)."""
    kept = Path(path)
    if kept.parent == files_dir() and not ImportJob.objects.filter(file_path=path).exists():
        kept.unlink(missing_ok=True)


def headers_of(path: str, filename: str) -> list[str]:
    with open(path, "rb") as f, open_table(f, filename) as table:
        return table.headers


def targets(object_type: str, *, user: Any = None) -> list[dict[str, Any]]:
    """What a column can be mapped to: key, label (in the active language), required.
    With `user`, the fields hidden from them are not offered."""
    return [
        {"key": t.key, "label": str(t.label), "required": t.required}
        for t in spec_for(object_type, user=user).targets
    ]


def suggest(headers: list[str], object_type: str, *, user: Any = None) -> dict[str, str]:
    return suggest_mapping(headers, spec_for(object_type, user=user))


def check_columns(
    *, user: Any, object_type: str, headers: list[str], columns: dict[str, str]
) -> dict[str, str]:
    """`columns` ({header: target key}, "" for a column left out) as an import may use
    it: only the file's headers, each target once, and only targets `user` may set (a
    hidden field is refused like an unknown one). ValidationError saying what to fix."""
    allowed = {t.key: t for t in spec_for(object_type, user=user).targets}
    problems: list[str] = []
    out: dict[str, str] = {}
    used: dict[str, str] = {}
    for header, key in columns.items():
        if not key:
            continue
        if header not in headers:
            problems.append(_("The file has no column “%(column)s”.") % {"column": header})
        elif key not in allowed:
            problems.append(
                _("There is no field “%(key)s” you may import into (column “%(column)s”).")
                % {"key": key, "column": header}
            )
        elif key in used:
            problems.append(
                _("The columns “%(first)s” and “%(second)s” both go to %(field)s; choose one.")
                % {"first": used[key], "second": header, "field": allowed[key].label}
            )
        else:
            used[key] = header
            out[header] = key
    missing = [t for t in allowed.values() if t.required and t.key not in used]
    if missing:
        problems.append(
            _("Choose a column for: %(fields)s.")
            % {"fields": ", ".join(str(t.label) for t in missing)}
        )
    if problems:
        raise ValidationError(problems)
    return out


def visible_jobs(user: Any) -> QuerySet[ImportJob]:
    """The imports `user` may see: their own; an administrator sees everyone's."""
    jobs = ImportJob.objects.select_related("created_by")
    return jobs if is_admin(user) else jobs.filter(created_by=user)


def sample_rows(path: str, filename: str, n: int = 5) -> list[list[Any]]:
    """The first `n` rows of the file as read (for the preview)."""
    with open(path, "rb") as f, open_table(f, filename) as table:
        return [row.cells for row in islice(table.rows, n)]


def save_mapping(
    *, name: str, object_type: str, columns: dict[str, str], by: Any, options: dict | None = None
) -> ImportMapping:
    mapping, _created = ImportMapping.objects.update_or_create(
        object_type=object_type,
        name=name,
        defaults={"columns": columns, "options": options or {}, "created_by": by},
    )
    return mapping


@dataclass
class Preview:
    headers: list[str]
    columns: dict[str, str]
    report: Report
    errors: list[tuple[int, Problem]] = field(default_factory=list)


def preview(
    *,
    user: Any,
    object_type: str,
    path: str,
    filename: str,
    columns: dict[str, str] | None = None,
    dedupe: str = "skip",
    day_first: bool = False,
    limit: int | None = 1000,
    first_errors: int = 20,
) -> Preview:
    """A dry run of the first `limit` rows (None: all), rolled back."""
    ensure_right(user, object_type, "create")
    with open(path, "rb") as f, open_table(f, filename) as table:
        columns = columns if columns is not None else suggest(table.headers, object_type)
        report = run_import(
            table,
            user=user,
            object_type=object_type,
            columns=columns,
            dedupe=dedupe,
            day_first=day_first,
            dry_run=True,
            limit=limit,
            keep_errors=first_errors,
        )
        return Preview(table.headers, columns, report, report.errors)


def create_job(
    *,
    user: Any,
    object_type: str,
    path: str,
    filename: str,
    columns: dict[str, str],
    mode: str = ImportJob.Mode.SKIP_ERRORS,
    dedupe: str = ImportJob.Dedupe.SKIP,
    day_first: bool = False,
) -> ImportJob:
    ensure_right(user, object_type, "create")
    return ImportJob.objects.create(
        object_type=object_type,
        created_by=user,
        file_name=filename[:255],
        file_path=path,
        file_size=os.path.getsize(path),
        columns=columns,
        options={"day_first": day_first},
        mode=mode,
        dedupe=dedupe,
    )


def enqueue(job: ImportJob) -> ImportJob:
    """Run the job on the worker."""
    from salesops.imports.tasks import run_import_job

    result = run_import_job.enqueue(job.pk)
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.QUEUED, task_id=str(result.id)
    )
    job.refresh_from_db()
    return job


# -- running --------------------------------------------------------------------------------


def _sidecar(job: ImportJob, name: str) -> Path:
    return Path(f"{job.file_path}.{name}")


def _write_progress_file(job: ImportJob, processed: int) -> None:
    """All-or-nothing progress: the counts in the database are inside the import's
    own transaction, invisible until it ends, so the bar reads this file."""
    path = _sidecar(job, "progress")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"processed": processed}))
    tmp.replace(path)


def uses_bulk_path(job: ImportJob) -> bool:
    """Contacts that are created or skipped go through the bulk path (same rules and
    results as the row path, many times faster); updates need the service per row."""
    return job.object_type == "contact" and job.dedupe != ImportJob.Dedupe.UPDATE


def run_job(job_id: int) -> ImportJob:
    """Run (or, after a lost worker, continue) an import job. Idempotent once finished."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.finished:
        return job
    claimed = ImportJob.objects.filter(
        pk=job.pk,
        status__in=[ImportJob.Status.PENDING, ImportJob.Status.QUEUED, ImportJob.Status.RUNNING],
    ).update(
        status=ImportJob.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
    )
    if not claimed:
        job.refresh_from_db()
        return job
    job.refresh_from_db()
    user = job.created_by
    all_or_nothing = job.mode == ALL_OR_NOTHING
    if all_or_nothing or job.resume_after_line == 0:
        # A fresh start: nothing of an earlier attempt was committed.
        ImportRowError.objects.filter(job=job).delete()
        ImportJob.objects.filter(pk=job.pk).update(
            processed_rows=0,
            created_count=0,
            updated_count=0,
            skipped_count=0,
            error_count=0,
            resume_after_line=0,
        )
        job.refresh_from_db()
    base = {
        "processed_rows": job.processed_rows,
        "created_count": job.created_count,
        "updated_count": job.updated_count,
        "skipped_count": job.skipped_count,
        "error_count": job.error_count,
    }

    def checkpoint(report: Report, chunk_errors: list[tuple[int, Problem]]) -> None:
        if all_or_nothing:
            _write_progress_file(job, report.processed)
            return
        ImportJob.objects.filter(pk=job.pk).update(
            processed_rows=base["processed_rows"] + report.processed,
            created_count=base["created_count"] + report.created,
            updated_count=base["updated_count"] + report.updated,
            skipped_count=base["skipped_count"] + report.skipped,
            error_count=base["error_count"] + report.failed,
            resume_after_line=report.last_line,
        )
        _save_errors(job, chunk_errors)

    def should_cancel() -> bool:
        # The file, because on SQLite nobody else can write the flag while an
        # all-or-nothing import holds the write lock.
        if _sidecar(job, "cancel").exists():
            return True
        return ImportJob.objects.filter(pk=job.pk, cancel_requested=True).exists()

    try:
        if job.total_rows is None:
            with open(job.file_path, "rb") as f:
                total = count_rows(f, job.file_name)
            ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
        options: dict[str, Any] = {
            "user": user,
            "columns": job.columns,
            "mode": job.mode,
            "dedupe": job.dedupe,
            "day_first": bool(job.options.get("day_first")),
            "resume_after_line": job.resume_after_line,
            "checkpoint": checkpoint,
            "should_cancel": should_cancel,
            "keep_errors": MAX_KEPT_ERRORS if all_or_nothing else 0,
        }
        with open(job.file_path, "rb") as f, open_table(f, job.file_name) as table:
            if uses_bulk_path(job):
                report = run_bulk_import(
                    table, chunk_size=BULK_CHUNK, commit_rows=BULK_COMMIT, **options
                )
            else:
                report = run_import(table, object_type=job.object_type, chunk_size=CHUNK, **options)
    except Exception as e:
        with translation.override(user.language):
            message = _("The import stopped: %(error)s") % {"error": e}
        _finish(job, ImportJob.Status.FAILED, message)
        raise
    _sidecar(job, "progress").unlink(missing_ok=True)
    with translation.override(user.language):
        return _conclude(job, report, all_or_nothing)


def _save_errors(job: ImportJob, errors: list[tuple[int, Problem]]) -> None:
    ImportRowError.objects.bulk_create(
        [
            ImportRowError(
                job=job, line=line, column=p.column[:255], value=p.value, reason=p.reason
            )
            for line, p in errors
        ],
        batch_size=500,
    )


def _conclude(job: ImportJob, report: Report, all_or_nothing: bool) -> ImportJob:
    if all_or_nothing:
        _save_errors(job, report.errors)
        committed = not report.rolled_back
        ImportJob.objects.filter(pk=job.pk).update(
            processed_rows=report.processed,
            created_count=report.created if committed else 0,
            updated_count=report.updated if committed else 0,
            skipped_count=report.skipped if committed else 0,
            error_count=report.failed,
            resume_after_line=report.last_line if committed else 0,
        )
    job.refresh_from_db()
    if report.cancelled:
        status = ImportJob.Status.CANCELLED
        message = (
            _("Cancelled: nothing was imported.")
            if all_or_nothing
            else _("Cancelled after %(n)s rows; the rows before that were imported.")
            % {"n": job.processed_rows}
        )
    elif all_or_nothing and report.failed:
        status = ImportJob.Status.FAILED
        message = _(
            "%(n)s rows have errors, so nothing was imported. Fix them (see the error file) and import the file again."
        ) % {"n": report.failed}
    else:
        status = ImportJob.Status.SUCCEEDED
        message = _(
            "%(created)s created, %(updated)s updated, %(skipped)s duplicates skipped, %(failed)s rows with errors."
        ) % {
            "created": job.created_count,
            "updated": job.updated_count,
            "skipped": job.skipped_count,
            "failed": job.error_count,
        }
    return _finish(job, status, message)


def _finish(job: ImportJob, status: str, message: str) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(
        status=status, message=message, finished_at=timezone.now()
    )
    _sidecar(job, "cancel").unlink(missing_ok=True)
    job.refresh_from_db()
    return job


@transaction.atomic
def request_cancel(job: ImportJob, *, by: Any) -> ImportJob:
    """Stop a job: at once if it has not started, else after the chunk being imported."""
    if by.pk != job.created_by_id and not is_admin(by):
        raise PermissionDenied(_("Only the person who started an import can cancel it."))
    if job.finished:
        return job
    _sidecar(job, "cancel").touch()
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    not_started = ImportJob.objects.filter(
        pk=job.pk, status__in=[ImportJob.Status.PENDING, ImportJob.Status.QUEUED]
    )
    if not_started.update(
        status=ImportJob.Status.CANCELLED,
        finished_at=timezone.now(),
        message=_("Cancelled before it started: nothing was imported."),
    ):
        _sidecar(job, "cancel").unlink(missing_ok=True)
    job.refresh_from_db()
    return job


def progress(job: ImportJob) -> dict[str, Any]:
    """What a progress bar shows: status, percent done, counts and the message."""
    job.refresh_from_db()
    processed = job.processed_rows
    path = _sidecar(job, "progress")
    if job.status == ImportJob.Status.RUNNING and path.exists():
        with contextlib.suppress(ValueError, KeyError, OSError):
            processed = json.loads(path.read_text())["processed"]
    total = job.total_rows or 0
    end = job.finished_at if job.finished else timezone.now()
    seconds = (end - job.started_at).total_seconds() if job.started_at and end else 0.0
    return {
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "finished": job.finished,
        "processed": processed,
        "total": job.total_rows,
        "percent": min(100, round(100 * processed / total))
        if total
        else (100 if job.finished else 0),
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
        "errors": job.error_count,
        #: Rows per second since the (last) start.
        "rate": round(processed / seconds) if seconds > 0 and processed else 0,
        "message": job.message,
        "has_error_file": job.row_errors.exists(),
    }


def error_csv(job: ImportJob, *, language: str | None = None) -> Iterator[str]:
    """The error file, line by line: a CSV with a BOM (Excel opens UTF-8 correctly),
    headers in the user's language, cells neutralised against formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    with translation.override(language or job.created_by.language):
        writer.writerow([_("line"), _("column"), _("value"), _("reason")])
    yield "\ufeff" + flush()
    rows = job.row_errors.order_by("line", "id").values_list("line", "column", "value", "reason")
    for line, column, value, reason in rows.iterator(chunk_size=2000):
        writer.writerow([line, neutralise(column), neutralise(value), neutralise(reason)])
        yield flush()
