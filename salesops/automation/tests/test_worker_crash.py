"""Background work survives crashes (RELIABILITY.md): a worker killed with SIGKILL in
the middle of a task; the next worker re-queues the task and finishes it, or marks it
failed once it has been lost too often. Never left RUNNING.

Real `salesops worker` processes run against the test database: PostgreSQL's test
database, the SQLite test file (SQLITE_TEST_PATH), or, for the default in-memory SQLite
test database, a file copy that is copied back afterwards.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from salesops.automation.models import TaskAttempts
from salesops.automation.tests import sample_tasks

STALE_SECONDS = 2


class SharedDatabase:
    """The test database as a worker subprocess sees it."""

    def __init__(self, tmp_path: Path, **settings: str) -> None:
        self.copy: Path | None = None
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "salesops.settings", **settings}
        name = connection.settings_dict["NAME"]
        if connection.vendor == "postgresql":
            url = urlsplit(os.environ["DATABASE_URL"])
            env["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{name}"))
        elif connection.vendor == "sqlite":
            env["DATABASE_URL"] = ""  # not the .env file's, if it has one
            if cast(Any, connection).is_in_memory_db():
                self.copy = tmp_path / "worker-test.sqlite3"
                env["SQLITE_PATH"] = str(self.copy)
            else:
                env["SQLITE_PATH"] = str(name)
        else:
            pytest.skip(f"no worker subprocess test for {connection.vendor}")
        self.env = env

    def push(self) -> None:
        if self.copy is not None:
            connection.ensure_connection()
            target = sqlite3.connect(self.copy)
            connection.connection.backup(target)
            target.close()

    def pull(self) -> None:
        if self.copy is not None:
            source = sqlite3.connect(self.copy)
            source.backup(connection.connection)
            source.close()


def worker_command(worker_id: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "salesops",
        "worker",
        "--worker-id",
        worker_id,
        "--interval",
        "0.1",
        "--no-startup-delay",
        "--no-reload",
        "--skip-checks",  # the system checks have their own tests
        *extra,
    ]


@contextmanager
def started(cmd: list[str], env: dict, log: Path):
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


def wait_for(condition, *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()}")
        time.sleep(0.05)


def kill_worker_mid_task(tmp_path: Path, db: SharedDatabase, marker: Path, result_id) -> None:
    log = tmp_path / "doomed.log"
    with started(worker_command("doomed"), db.env, log) as proc:
        wait_for(marker.exists, timeout=60, what="the task to start", log=log)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    db.pull()
    lost = DBTaskResult.objects.get(id=result_id)
    assert (lost.status, lost.worker_ids) == (TaskResultStatus.RUNNING, ["doomed"])
    time.sleep(STALE_SECONDS + 0.5)  # its heartbeat goes stale


def rescue(tmp_path: Path, db: SharedDatabase) -> None:
    done = subprocess.run(
        worker_command("rescuer", "--batch"),
        env=db.env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    db.pull()


def limits(max_attempts: int) -> dict[str, str]:
    return {
        "WORKER_HEARTBEAT_SECONDS": "1",
        "WORKER_STALE_SECONDS": str(STALE_SECONDS),
        "WORKER_MAX_ATTEMPTS": str(max_attempts),
    }


@pytest.mark.django_db(transaction=True)
def test_a_task_whose_worker_is_killed_is_run_again_by_the_next_worker(tmp_path):
    marker = tmp_path / "napping"
    result = sample_tasks.nap_once.enqueue(str(marker))
    db = SharedDatabase(tmp_path, **limits(max_attempts=3))
    db.push()

    kill_worker_mid_task(tmp_path, db, marker, result.id)
    rescue(tmp_path, db)

    task = DBTaskResult.objects.get(id=result.id)
    assert task.status == TaskResultStatus.SUCCESSFUL
    assert task.return_value == "rested"
    assert task.worker_ids == ["rescuer"]
    attempts = TaskAttempts.objects.get(task_result_id=result.id)
    assert (attempts.attempts, attempts.lost_worker_ids) == (1, ["doomed"])
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).exists()


@pytest.mark.django_db(transaction=True)
def test_a_task_lost_with_its_worker_too_often_is_marked_failed(tmp_path):
    marker = tmp_path / "napping"
    result = sample_tasks.nap_once.enqueue(str(marker))
    db = SharedDatabase(tmp_path, **limits(max_attempts=1))
    db.push()

    kill_worker_mid_task(tmp_path, db, marker, result.id)
    rescue(tmp_path, db)

    task = DBTaskResult.objects.get(id=result.id)
    assert task.status == TaskResultStatus.FAILED
    assert task.exception_class_path == "salesops.automation.worker.WorkerLost"
    assert "doomed" in task.traceback
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).exists()
