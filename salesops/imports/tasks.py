"""Background tasks of imports (run by `salesops worker`)."""

from __future__ import annotations

from django.tasks import task


@task
def run_import_job(job_id: int) -> dict[str, int | str]:
    """Run or continue import job `job_id`; returns its status and counts."""
    from salesops.imports.jobs import run_job

    job = run_job(job_id)
    return {
        "status": job.status,
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
        "errors": job.error_count,
    }


@task
def run_export_job(job_id: int) -> dict[str, int | str | None]:
    """Write export job `job_id`'s file; returns its status and row count."""
    from salesops.imports.export_jobs import run

    job = run(job_id)
    return {"status": job.status, "rows": job.row_count}


@task
def purge_exports() -> int:
    """Remove the exports whose download period is over; how many."""
    from salesops.imports.export_jobs import purge

    return purge()
