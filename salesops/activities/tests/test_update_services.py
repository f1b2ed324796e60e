import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from salesops.activities import services
from salesops.activities.models import FollowUp, Task
from salesops.activities.update_services import update_followup, update_task
from salesops.crm import services as crm
from salesops.crm.models import Customer
from salesops.lib.services import NotVisible
from salesops.lib.updates import Conflict


@pytest.fixture
def customer(cast):
    return crm.create_customer(by=cast.rep, name="Acme")


@pytest.fixture
def followup(cast, customer):
    when = timezone.now() - dt.timedelta(days=3)
    return services.log_followup(by=cast.rep, kind="call", customer=customer, occurred_at=when)


@pytest.fixture
def task(cast, customer):
    return services.create_task(
        by=cast.rep, title="Call back", customer=customer, due_at=timezone.now()
    )


def row(obj):
    return type(obj).all_objects.filter(pk=obj.pk).values().get()


def last_followup(customer):
    return Customer.all_objects.get(pk=customer.pk).last_followup_at


def test_allowed_followup_fields_change_and_the_version_moves(cast, followup):
    update_followup(
        followup=followup,
        by=cast.rep,
        data={"kind": "visit", "subject": "Went there", "outcome": "Good", "duration_minutes": 45},
        version=1,
    )
    followup.refresh_from_db()
    assert (followup.kind, followup.subject, followup.outcome, followup.duration_minutes) == (
        "visit",
        "Went there",
        "Good",
        45,
    )
    assert followup.version == 2


@pytest.mark.parametrize(
    "field",
    [
        "owner",
        "customer",
        "deal",
        "contact",
        "lead",
        "version",
        "deleted_at",
        "id",
        "created_at",
        "custom",
    ],
)
def test_protected_followup_fields_are_refused_and_nothing_changes(cast, followup, field):
    before = row(followup)
    with pytest.raises(ValidationError, match=field):
        update_followup(followup=followup, by=cast.rep, data={"subject": "x", field: 1})
    assert row(followup) == before


def test_a_followup_cannot_move_into_the_future(cast, followup, customer):
    before, last = row(followup), last_followup(customer)
    later = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as e:
        update_followup(followup=followup, by=cast.rep, data={"occurred_at": later})
    assert "occurred_at" in e.value.message_dict
    assert row(followup) == before
    assert last_followup(customer) == last


def test_moving_a_followup_forward_moves_the_customers_last_followup(cast, followup, customer):
    older = timezone.now() - dt.timedelta(days=10)
    services.log_followup(by=cast.rep, kind="note", customer=customer, occurred_at=older)
    assert last_followup(customer) == followup.occurred_at
    newer = timezone.now() - dt.timedelta(hours=1)
    update_followup(followup=followup, by=cast.rep, data={"occurred_at": newer})
    assert last_followup(customer) == newer


def test_moving_the_latest_followup_back_keeps_the_latest_of_the_others(cast, followup, customer):
    other = timezone.now() - dt.timedelta(days=5)
    services.log_followup(by=cast.rep, kind="note", customer=customer, occurred_at=other)
    update_followup(
        followup=followup, by=cast.rep, data={"occurred_at": other - dt.timedelta(days=1)}
    )
    assert last_followup(customer) == other
    assert last_followup(customer) == max(
        FollowUp.objects.filter(customer=customer).values_list("occurred_at", flat=True)
    )


def test_a_naive_time_is_refused(cast, followup):
    with pytest.raises(ValidationError):
        update_followup(
            followup=followup, by=cast.rep, data={"occurred_at": dt.datetime(2025, 1, 1, 9)}
        )


def test_a_stale_followup_version_is_a_conflict_and_nothing_changes(cast, followup):
    update_followup(followup=followup, by=cast.rep, data={"subject": "first"}, version=1)
    before = row(followup)
    with pytest.raises(Conflict) as e:
        update_followup(followup=followup, by=cast.rep, data={"subject": "second"}, version=1)
    assert e.value.current_version == 2
    assert row(followup) == before


def test_another_teams_rep_cannot_update_a_followup(cast, followup, customer):
    before, last = row(followup), last_followup(customer)
    with pytest.raises(NotVisible):
        update_followup(
            followup=followup,
            by=cast.outsider,
            data={"occurred_at": timezone.now(), "subject": "mine"},
        )
    assert row(followup) == before
    assert last_followup(customer) == last


def test_allowed_task_fields_change_and_the_version_moves(cast, task):
    due = timezone.now() + dt.timedelta(days=2)
    update_task(
        task=task,
        by=cast.rep,
        data={
            "title": "Visit",
            "description": "Bring the contract",
            "due_at": due,
            "remind_at": due - dt.timedelta(hours=1),
            "priority": Task.Priority.HIGH,
        },
        version=1,
    )
    task.refresh_from_db()
    assert (task.title, task.description, task.due_at, task.priority, task.version) == (
        "Visit",
        "Bring the contract",
        due,
        "high",
        2,
    )


@pytest.mark.parametrize(
    "field",
    [
        "owner",
        "created_by",
        "done_at",
        "reminded_at",
        "customer",
        "deal",
        "contact",
        "lead",
        "version",
        "deleted_at",
        "id",
        "created_at",
    ],
)
def test_protected_task_fields_are_refused_and_nothing_changes(cast, task, field):
    before = row(task)
    with pytest.raises(ValidationError, match=field):
        update_task(task=task, by=cast.rep, data={"title": "x", field: 1})
    assert row(task) == before


def test_a_reminder_after_the_due_time_is_refused(cast, task):
    before = row(task)
    with pytest.raises(ValidationError) as e:
        update_task(task=task, by=cast.rep, data={"remind_at": task.due_at + dt.timedelta(hours=1)})
    assert "remind_at" in e.value.message_dict
    assert row(task) == before


def test_a_bad_priority_names_its_field(cast, task):
    with pytest.raises(ValidationError) as e:
        update_task(task=task, by=cast.rep, data={"priority": "urgent"})
    assert "priority" in e.value.message_dict


def test_a_moved_reminder_is_sent_again(cast, task):
    Task.objects.filter(pk=task.pk).update(
        remind_at=task.due_at - dt.timedelta(hours=2), reminded_at=timezone.now()
    )
    task.refresh_from_db()
    update_task(task=task, by=cast.rep, data={"remind_at": task.due_at - dt.timedelta(hours=1)})
    task.refresh_from_db()
    assert task.reminded_at is None


def test_a_stale_task_version_is_a_conflict_and_nothing_changes(cast, task):
    update_task(task=task, by=cast.rep, data={"title": "first"}, version=1)
    before = row(task)
    with pytest.raises(Conflict):
        update_task(task=task, by=cast.rep, data={"title": "second"}, version=1)
    assert row(task) == before


def test_another_teams_rep_cannot_update_a_task(cast, task):
    before = row(task)
    with pytest.raises(NotVisible):
        update_task(task=task, by=cast.outsider, data={"title": "mine"})
    assert row(task) == before


def test_a_role_without_the_edit_right_cannot_update(cast, followup, task):
    from django.core.exceptions import PermissionDenied

    before = (row(followup), row(task))
    with pytest.raises(PermissionDenied):
        update_followup(followup=followup, by=cast.analyst, data={"subject": "x"})
    with pytest.raises(PermissionDenied):
        update_task(task=task, by=cast.analyst, data={"title": "x"})
    assert (row(followup), row(task)) == before
