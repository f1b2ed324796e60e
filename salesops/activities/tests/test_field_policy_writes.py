"""Follow-up and task updates: the registry's editable fields less what the record hangs
on, its owner and its completion; a field hidden from the writer is refused."""

import pytest
from django.core.exceptions import ValidationError

from salesops.activities import page_services, update_services
from salesops.activities.models import FollowUp, Task
from salesops.activities.tests.factories import FollowUpFactory, TaskFactory
from salesops.crm.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(cast):
    customer = CustomerFactory(owner=cast.rep)
    followup = FollowUpFactory(owner=cast.rep, customer=customer, subject="Call", outcome="Told")
    task = TaskFactory(owner=cast.rep, customer=customer, title="Do", description="Secret plan")
    return followup, task


def test_a_hidden_follow_up_field_is_refused_and_nothing_changes(cast, records):
    followup, _task = records
    cast.rep.role.hidden_fields = {"followup": ["outcome"]}
    cast.rep.role.save()
    with pytest.raises(ValidationError, match="outcome"):
        update_services.update_followup(followup=followup, by=cast.rep, data={"outcome": "x"})
    assert FollowUp.objects.get(pk=followup.pk).outcome == "Told"
    update_services.update_followup(followup=followup, by=cast.rep, data={"subject": "Visit"})
    update_services.update_followup(followup=followup, by=cast.manager, data={"outcome": "y"})


@pytest.mark.parametrize("update", [update_services.update_task, page_services.update_task])
def test_a_hidden_task_field_is_refused_by_both_task_updates(cast, records, update):
    _followup, task = records
    cast.rep.role.hidden_fields = {"task": ["description"]}
    cast.rep.role.save()
    with pytest.raises(ValidationError, match="description"):
        update(task=task, by=cast.rep, data={"description": "x"})
    assert Task.objects.get(pk=task.pk).description == "Secret plan"


@pytest.mark.parametrize("field", ["owner", "customer", "deal", "done_at", "created_by", "id"])
def test_what_a_task_hangs_on_its_owner_and_completion_are_refused(cast, records, field):
    _followup, task = records
    with pytest.raises(ValidationError, match="cannot be changed"):
        update_services.update_task(task=task, by=cast.rep, data={field: None})


@pytest.mark.parametrize("field", ["owner", "customer", "lead", "contact", "deal", "version"])
def test_what_a_follow_up_hangs_on_and_its_owner_are_refused(cast, records, field):
    followup, _task = records
    with pytest.raises(ValidationError, match="cannot be changed"):
        update_services.update_followup(followup=followup, by=cast.rep, data={field: None})
