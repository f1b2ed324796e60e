"""PATCH on follow-ups and tasks: allowed fields, ETag/If-Match, refused fields and
other teams' records change nothing."""

import datetime as dt

import pytest
from django.utils import timezone

from salesops.activities import services as activities
from salesops.activities.models import FollowUp, Task
from salesops.crm import services as crm
from salesops.crm.models import Customer


@pytest.fixture
def customer(cast):
    return crm.create_customer(by=cast.rep, name="Acme")


@pytest.fixture
def followup(cast, customer):
    when = timezone.now() - dt.timedelta(days=2)
    return activities.log_followup(by=cast.rep, kind="call", customer=customer, occurred_at=when)


@pytest.fixture
def task(cast, customer):
    return activities.create_task(by=cast.rep, title="Call back", customer=customer)


def test_patch_changes_a_followup_and_answers_the_new_etag(cast, as_user, followup, customer):
    api = as_user(cast.rep)
    etag = api.get(f"/followups/{followup.pk}")["ETag"]
    assert etag == '"1"'
    moment = (timezone.now() - dt.timedelta(hours=1)).replace(microsecond=0)
    r = api.patch(
        f"/followups/{followup.pk}",
        {"subject": "Went well", "kind": "visit", "occurred_at": moment.isoformat()},
        **{"If-Match": etag},
    )
    assert r.status_code == 200, r.content
    assert r["ETag"] == '"2"'
    assert (r.json()["subject"], r.json()["kind"]) == ("Went well", "visit")
    assert Customer.objects.get(pk=customer.pk).last_followup_at == moment


def test_patch_changes_a_task(cast, as_user, task):
    api = as_user(cast.rep)
    due = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)
    r = api.patch(
        f"/tasks/{task.pk}",
        {"title": "Visit", "priority": "high", "due_at": due.isoformat()},
        **{"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.content
    assert r["ETag"] == '"2"'
    task.refresh_from_db()
    assert (task.title, task.priority, task.due_at) == ("Visit", "high", due)


@pytest.mark.parametrize("field", ["owner", "customer", "deal", "done_at", "version", "id"])
def test_patch_refuses_what_may_not_be_set_on_a_task_and_changes_nothing(
    cast, as_user, task, field
):
    before = Task.objects.values().get(pk=task.pk)
    r = as_user(cast.rep).patch(f"/tasks/{task.pk}", {"title": "New", field: 1})
    assert r.status_code == 422
    assert field in r.json()["errors"]
    assert Task.objects.values().get(pk=task.pk) == before


@pytest.mark.parametrize("field", ["owner", "customer", "lead", "contact", "deal", "created_at"])
def test_patch_refuses_links_and_owner_of_a_followup_and_changes_nothing(
    cast, as_user, followup, field
):
    before = FollowUp.objects.values().get(pk=followup.pk)
    r = as_user(cast.rep).patch(f"/followups/{followup.pk}", {"subject": "New", field: 1})
    assert r.status_code == 422
    assert field in r.json()["errors"]
    assert FollowUp.objects.values().get(pk=followup.pk) == before


def test_a_followup_moved_into_the_future_is_a_422(cast, as_user, followup):
    later = (timezone.now() + dt.timedelta(days=1)).isoformat()
    r = as_user(cast.rep).patch(f"/followups/{followup.pk}", {"occurred_at": later})
    assert r.status_code == 422
    assert "occurred_at" in r.json()["errors"]
    assert FollowUp.objects.get(pk=followup.pk).version == 1


def test_a_stale_if_match_is_412_and_the_first_write_stays(cast, as_user, followup, task):
    api = as_user(cast.rep)
    for path, field in [(f"/followups/{followup.pk}", "subject"), (f"/tasks/{task.pk}", "title")]:
        assert api.patch(path, {field: "First"}, **{"If-Match": '"1"'}).status_code == 200
        r = api.patch(path, {field: "Second"}, **{"If-Match": '"1"'})
        assert r.status_code == 412
        assert r["ETag"] == '"2"'
        assert api.get(path).json()[field] == "First"


def test_another_teams_rep_gets_404_and_nothing_changes(cast, as_user, followup, task):
    before = (
        FollowUp.objects.values().get(pk=followup.pk),
        Task.objects.values().get(pk=task.pk),
    )
    api = as_user(cast.outsider)
    assert api.patch(f"/followups/{followup.pk}", {"subject": "Mine"}).status_code == 404
    assert api.patch(f"/tasks/{task.pk}", {"title": "Mine"}).status_code == 404
    r = api.patch(
        "/tasks/bulk", {"items": [{"id": task.pk, "changes": {"title": "Mine"}}], "atomic": False}
    )
    assert r.json()["results"][0]["status"] == 404
    after = (
        FollowUp.objects.values().get(pk=followup.pk),
        Task.objects.values().get(pk=task.pk),
    )
    assert after == before


def test_a_read_only_token_cannot_patch(cast, as_user, task):
    r = as_user(cast.rep, scope="read").patch(f"/tasks/{task.pk}", {"title": "x"})
    assert r.status_code == 403
    assert Task.objects.get(pk=task.pk).title == "Call back"


def test_bulk_update_of_followups_is_all_or_nothing(cast, as_user, followup, customer):
    other = activities.log_followup(by=cast.rep, kind="note", customer=customer)
    r = as_user(cast.rep).patch(
        "/followups/bulk",
        {
            "items": [
                {"id": followup.pk, "changes": {"subject": "A"}},
                {"id": other.pk, "changes": {"kind": "telepathy"}},
            ]
        },
    )
    assert r.status_code == 422
    assert "items.1.changes.kind" in r.json()["errors"]
    assert FollowUp.objects.get(pk=followup.pk).version == 1
