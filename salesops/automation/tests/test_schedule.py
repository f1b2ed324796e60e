"""The daily schedule enqueues each job once per business day (Asia/Shanghai)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django_tasks_db.models import DBTaskResult

from salesops.automation.models import ScheduleRun
from salesops.automation.schedule import SCHEDULE, Job, enqueue_due_jobs
from salesops.automation.tests import sample_tasks

SH = ZoneInfo("Asia/Shanghai")
RECLAIM = "salesops.automation.tasks.reclaim_pool"
WARN = "salesops.automation.tasks.warn_pool"

pytestmark = pytest.mark.django_db


def at(d, h, mi=0):
    return dt.datetime(2025, 3, d, h, mi, tzinfo=SH)


def runs():
    return sorted(ScheduleRun.objects.values_list("name", "due_on"))


def test_the_schedule_reclaims_at_night_and_warns_in_the_morning():
    assert [(j.name, j.at) for j in SCHEDULE] == [
        ("pool.reclaim", dt.time(0, 30)),
        ("pool.warn", dt.time(8, 0)),
    ]


def test_each_job_is_enqueued_once_a_day():
    assert enqueue_due_jobs(schedule=SCHEDULE, now=at(10, 9)) == ["pool.reclaim", "pool.warn"]
    assert enqueue_due_jobs(schedule=SCHEDULE, now=at(10, 9)) == []
    assert enqueue_due_jobs(schedule=SCHEDULE, now=at(10, 23, 59)) == []
    assert runs() == [("pool.reclaim", dt.date(2025, 3, 10)), ("pool.warn", dt.date(2025, 3, 10))]
    assert sorted(DBTaskResult.objects.values_list("task_path", flat=True)) == [RECLAIM, WARN]
    run = ScheduleRun.objects.get(name="pool.reclaim")
    assert DBTaskResult.objects.get(id=run.task_result_id).task_path == RECLAIM


def test_each_job_runs_again_the_next_day_after_its_time():
    enqueue_due_jobs(schedule=SCHEDULE, now=at(10, 9))
    assert enqueue_due_jobs(schedule=SCHEDULE, now=at(11, 0, 29)) == []
    assert enqueue_due_jobs(schedule=SCHEDULE, now=at(11, 0, 30)) == ["pool.reclaim"]
    assert enqueue_due_jobs(schedule=SCHEDULE, now=at(11, 8)) == ["pool.warn"]
    assert DBTaskResult.objects.count() == 4


def test_a_worker_that_was_down_at_the_due_time_catches_up_once():
    ScheduleRun.objects.create(name="pool.reclaim", due_on=dt.date(2025, 3, 1))
    ScheduleRun.objects.create(name="pool.warn", due_on=dt.date(2025, 3, 1))
    # Back at 00:10 on the 10th: the latest occurrences due are those of the 9th.
    assert enqueue_due_jobs(schedule=SCHEDULE, now=at(10, 0, 10)) == ["pool.reclaim", "pool.warn"]
    assert enqueue_due_jobs(schedule=SCHEDULE, now=at(10, 0, 20)) == []
    assert ("pool.reclaim", dt.date(2025, 3, 9)) in runs()
    assert DBTaskResult.objects.count() == 2  # not one per missed day


def test_a_second_worker_inserting_the_same_day_skips_it():
    """Two workers racing: the unique (name, day) insert fails for the second, which
    enqueues nothing (here both jobs carry the same name, as two workers would)."""
    twice = [Job("same", sample_tasks.ping, dt.time(1)), Job("same", sample_tasks.ping, dt.time(1))]
    assert enqueue_due_jobs(now=at(10, 9), schedule=twice) == ["same"]
    assert DBTaskResult.objects.count() == 1
    assert ScheduleRun.objects.count() == 1


def test_other_apps_add_their_jobs_to_the_schedule():
    from salesops.automation.schedule import all_jobs

    names = [j.name for j in all_jobs()]
    assert names[:2] == ["pool.reclaim", "pool.warn"]
    assert "api.purge_idempotency" in names
