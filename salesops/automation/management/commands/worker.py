"""`salesops worker`: run background tasks (use this rather than `db_worker`).

Takes every option of django-tasks-db's `db_worker` (--interval, --batch, --queue-name,
--max-tasks, --worker-id, ...) and adds a heartbeat, recovery of tasks lost with a dead
worker and the daily schedule (see `salesops.automation.worker`).
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from salesops.automation.worker import SalesopsWorker


class Command(DBWorkerCommand):
    help = (
        "Run the background worker: tasks from the database queue, a heartbeat, recovery "
        "of tasks whose worker died, and the daily schedule."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--no-schedule",
            action="store_false",
            dest="schedule",
            help="Do not enqueue the daily scheduled jobs from this worker.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        reload = options["reload"] and not options["batch"]
        worker = SalesopsWorker(
            schedule=options.get("schedule", True),
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # only in the child that runs the worker
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
