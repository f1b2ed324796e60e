"""Tasks lost with a dead worker are re-queued, or failed after too many attempts;
never left RUNNING."""

import datetime as dt

import pytest
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from salesops.automation import worker
from salesops.automation.models import ScheduleRun, TaskAttempts, WorkerHeartbeat
from salesops.automation.tests import sample_tasks

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 10, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.WORKER_HEARTBEAT_SECONDS = 10
    settings.WORKER_STALE_SECONDS = 60
    settings.WORKER_MAX_ATTEMPTS = 3


def running(worker_id="ghost", *, started=NOW - dt.timedelta(minutes=5)):
    """A task claimed by `worker_id` at `started`, as django-tasks-db's Worker leaves it."""
    result = sample_tasks.add.enqueue(1, 2)
    DBTaskResult.objects.filter(id=result.id).update(
        status=TaskResultStatus.RUNNING, worker_ids=[worker_id], started_at=started
    )
    return DBTaskResult.objects.get(id=result.id)


def test_a_task_of_a_worker_without_heartbeat_is_queued_again():
    task = running("ghost")
    assert worker.recover_stale_tasks(now=NOW) == (1, 0)
    task.refresh_from_db()
    assert task.status == TaskResultStatus.READY
    assert task.started_at is None
    assert task.worker_ids == []
    attempts = TaskAttempts.objects.get(task_result=task)
    assert (attempts.attempts, attempts.lost_worker_ids) == (1, ["ghost"])


def test_a_task_of_a_worker_whose_heartbeat_went_stale_is_queued_again():
    task = running("w1")
    worker.beat("w1", now=NOW - dt.timedelta(seconds=61))
    assert worker.recover_stale_tasks(now=NOW) == (1, 0)
    task.refresh_from_db()
    assert task.status == TaskResultStatus.READY


def test_a_long_task_of_a_live_worker_is_left_alone():
    task = running("w1", started=NOW - dt.timedelta(hours=3))
    worker.beat("w1", now=NOW - dt.timedelta(seconds=5))
    assert worker.recover_stale_tasks(now=NOW) == (0, 0)
    task.refresh_from_db()
    assert task.status == TaskResultStatus.RUNNING
    assert not TaskAttempts.objects.exists()


def test_a_task_started_moments_ago_is_left_alone_even_without_a_heartbeat():
    task = running("w1", started=NOW - dt.timedelta(seconds=30))
    assert worker.recover_stale_tasks(now=NOW) == (0, 0)
    task.refresh_from_db()
    assert task.status == TaskResultStatus.RUNNING


def test_a_task_lost_too_often_is_marked_failed_with_a_clear_error():
    task = running("third")
    TaskAttempts.objects.create(task_result=task, attempts=2, lost_worker_ids=["first", "second"])
    assert worker.recover_stale_tasks(now=NOW) == (0, 1)
    task.refresh_from_db()
    assert task.status == TaskResultStatus.FAILED
    assert task.finished_at == NOW
    assert task.exception_class_path == "salesops.automation.worker.WorkerLost"
    assert "stopped without finishing it 3 time(s)" in task.traceback
    assert "first, second, third" in task.traceback
    [error] = task.task_result.errors
    assert error.exception_class is worker.WorkerLost
    assert TaskAttempts.objects.get(task_result=task).attempts == 3


def test_two_workers_recovering_the_same_task_count_one_attempt():
    task = running("ghost")
    outcome = worker._recover(task.id, holder="ghost", started_at=task.started_at, now=NOW)
    assert outcome == TaskResultStatus.READY
    again = worker._recover(task.id, holder="ghost", started_at=task.started_at, now=NOW)
    assert again is None
    assert TaskAttempts.objects.get(task_result=task).attempts == 1


def test_finished_and_queued_tasks_are_not_touched():
    done = sample_tasks.add.enqueue(1, 1)
    DBTaskResult.objects.filter(id=done.id).update(
        status=TaskResultStatus.SUCCESSFUL,
        worker_ids=["ghost"],
        started_at=NOW - dt.timedelta(hours=1),
    )
    sample_tasks.add.enqueue(2, 2)
    assert worker.recover_stale_tasks(now=NOW) == (0, 0)
    assert DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL).count() == 1


def test_heartbeats_of_long_gone_workers_are_forgotten():
    worker.beat("old", now=NOW - dt.timedelta(days=2))
    worker.beat("recent", now=NOW - dt.timedelta(hours=2))
    worker.recover_stale_tasks(now=NOW)
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["recent"]


def test_a_heartbeat_records_the_worker_and_then_only_moves_last_seen():
    worker.beat("w1", now=NOW)
    worker.beat("w1", now=NOW + dt.timedelta(seconds=10))
    hb = WorkerHeartbeat.objects.get()
    assert (hb.worker_id, hb.started_at, hb.last_seen) == (
        "w1",
        NOW,
        NOW + dt.timedelta(seconds=10),
    )
    assert hb.pid


@pytest.mark.django_db(transaction=True)  # the Worker closes connections between tasks
def test_the_worker_in_batch_mode_recovers_runs_the_queue_and_signs_off():
    lost = running("ghost")
    queued = sample_tasks.add.enqueue(2, 3)
    w = worker.SalesopsWorker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="tester",
        excluded_queue_names=[],
    )
    w.run()
    lost.refresh_from_db()
    assert (lost.status, lost.return_value, lost.worker_ids) == (
        TaskResultStatus.SUCCESSFUL,
        3,
        ["tester"],
    )
    assert DBTaskResult.objects.get(id=queued.id).return_value == 5
    # The schedule ran too (every daily job, of today or yesterday), and they succeeded.
    from salesops.automation.schedule import all_jobs

    assert ScheduleRun.objects.count() == len(all_jobs())
    assert not DBTaskResult.objects.exclude(status=TaskResultStatus.SUCCESSFUL).exists()
    assert not WorkerHeartbeat.objects.exists()
