"""The daily purge of stored Idempotency-Key responses."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesops.api.models import IdempotencyRecord
from salesops.api.tasks import purge_idempotency
from salesops.automation.schedule import Job, enqueue_due_jobs

pytestmark = pytest.mark.django_db


def record(key, age_hours):
    return IdempotencyRecord.objects.create(
        principal="token:1",
        key=key,
        request_hash="x",
        status_code=201,
        created_at=timezone.now() - dt.timedelta(hours=age_hours),
    )


def test_it_deletes_responses_older_than_the_ttl_and_keeps_the_rest():
    record("old", 25)
    record("older", 24 * 30)
    record("fresh", 23)
    assert purge_idempotency.call() == 2
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


def test_the_ttl_follows_the_setting(settings):
    settings.IDEMPOTENCY_TTL_HOURS = 1
    record("two hours", 2)
    record("now", 0)
    assert purge_idempotency.call() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["now"]


def test_the_scheduler_can_enqueue_it_once_a_day():
    job = Job("api.purge_idempotency", purge_idempotency, dt.time(3, 0))
    now = timezone.now()
    assert enqueue_due_jobs(now=now, schedule=[job]) == ["api.purge_idempotency"]
    assert enqueue_due_jobs(now=now, schedule=[job]) == []
    assert list(DBTaskResult.objects.values_list("task_path", flat=True)) == [
        "salesops.api.tasks.purge_idempotency"
    ]
