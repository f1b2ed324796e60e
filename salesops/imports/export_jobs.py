"""Exports made on the worker: large list exports and the organisation's backup.

`start(...)` records an `ExportJob` and enqueues `run_export_job`; the worker calls
`run(job_id)`, which asks the job kind's producer to write the file. Producers are
registered by kind: the backup here; list exports by the web app, which alone knows how
a list turns its filters into a query (`register`), so this module does not import it.

A job is claimed with a conditional update, so a retried task (a lost worker) writes the
file again from the start into a new name, never half a file. Only the person who
asked downloads the file (`file_for`), until it expires after EXPORT_KEEP_DAYS days;
`purge` (daily, on the worker) removes expired files and jobs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesops.imports.models import ExportJob
from salesops.lib.services import NotVisible

#: kind → producer(job, binary file) → rows written. Raises to fail the job.
Producer = Callable[[ExportJob, IO[bytes]], int]
_producers: dict[str, Producer] = {}


def register(kind: str, producer: Producer) -> None:
    _producers[kind] = producer


def files_dir() -> Path:
    path = Path(
        getattr(settings, "EXPORT_FILES_DIR", "") or settings.BASE_DIR.parent / "var" / "exports"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def start(
    *, user: Any, kind: str, title: str, file_name: str, fmt: str, params: dict[str, Any]
) -> ExportJob:
    """Record the job and put it on the worker's queue."""
    from salesops.imports.tasks import run_export_job

    job = ExportJob.objects.create(
        kind=kind,
        created_by=user,
        title=title[:200],
        file_name=file_name[:255],
        format=fmt,
        params=params,
    )
    result = run_export_job.enqueue(job.pk)
    ExportJob.objects.filter(pk=job.pk).update(task_id=str(result.id))
    job.refresh_from_db()
    return job


def run(job_id: int) -> ExportJob:
    """Write the job's file (again, after a lost worker). Idempotent once finished."""
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    claimed = ExportJob.objects.filter(
        pk=job.pk, status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]
    ).update(status=ExportJob.Status.RUNNING)
    if not claimed:
        return job
    user = job.created_by
    path = files_dir() / f"{uuid.uuid4().hex}.{job.format}"
    try:
        with translation.override(user.language), path.open("wb") as out:
            rows = _producers[job.kind](job, out)
    except Exception as e:
        path.unlink(missing_ok=True)
        with translation.override(user.language):
            if isinstance(e, PermissionDenied):
                message = str(e)
            else:
                message = _("The export stopped: %(error)s") % {"error": e}
        _finish(job, status=ExportJob.Status.FAILED, message=message)
        if isinstance(e, PermissionDenied):
            return job  # an answer, not a crash: nothing to retry
        raise
    now = timezone.now()
    _finish(
        job,
        status=ExportJob.Status.SUCCEEDED,
        row_count=rows,
        file_path=str(path),
        file_size=path.stat().st_size,
        expires_at=now + dt.timedelta(days=settings.EXPORT_KEEP_DAYS),
    )
    job.refresh_from_db()
    return job


def _finish(job: ExportJob, **values: Any) -> None:
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now(), **values)
    job.refresh_from_db()


def jobs_of(user: Any) -> Any:
    """The exports `user` asked for that are still kept, newest first."""
    return ExportJob.objects.filter(created_by=user).exclude(expires_at__lte=timezone.now())


def file_for(job_id: int, user: Any) -> tuple[ExportJob, Path]:
    """The finished file of a job of `user`'s; NotVisible for anyone else's job, one not
    finished, or one expired (the same answer, so nothing is learnt of others' jobs)."""
    job = jobs_of(user).filter(pk=job_id, status=ExportJob.Status.SUCCEEDED).first()
    if job is None or not job.file_path or not Path(job.file_path).exists():
        raise NotVisible(_("This export does not exist, is not ready or has expired."))
    return job, Path(job.file_path)


def purge(*, now: dt.datetime | None = None) -> int:
    """Delete expired exports and their files; how many."""
    now = now or timezone.now()
    expired = list(ExportJob.objects.filter(expires_at__lte=now))
    for job in expired:
        if job.file_path:
            Path(job.file_path).unlink(missing_ok=True)
    ExportJob.objects.filter(pk__in=[j.pk for j in expired]).delete()
    return len(expired)


def write_backup(job: ExportJob, out: IO[bytes]) -> int:
    """The whole organisation as `export-org` writes it; only for an administrator."""
    from salesops.imports.orgdump import export_org
    from salesops.users.admin_services import ensure_admin

    ensure_admin(job.created_by)
    return export_org(out).rows


def start_backup(*, user: Any) -> ExportJob:
    """Queue a backup of the organisation for administrator `user`."""
    from salesops.users.admin_services import ensure_admin

    ensure_admin(user)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return start(
        user=user,
        kind=ExportJob.Kind.BACKUP,
        title=str(_("Organisation backup")),
        file_name=f"salesops-backup-{stamp}.zip",
        fmt="zip",
        params={},
    )


register(ExportJob.Kind.BACKUP, write_backup)
