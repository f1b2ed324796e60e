"""Running the task queue to its end in this process (benchmarks and tests that need
the worker's work done now, as `salesops worker` would do it)."""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Worker


def drain_queue(worker_id: str) -> None:
    """Run django-tasks-db's worker in batch mode: every queued task, then return."""
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run()
