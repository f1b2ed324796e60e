"""Follow-ups, tasks, quotes, contracts, set-up and the nightly pool job write the
audit log too; the bulk import writes one entry per job, not one per row."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from salesops.activities import page_services, update_services
from salesops.activities import services as activities
from salesops.audit import services as audit
from salesops.audit.models import AuditEntry
from salesops.crm import commerce_services as commerce
from salesops.crm import pool
from salesops.crm import services as crm
from salesops.crm.models import PoolRule
from salesops.crm.tests.factories import CustomerFactory
from salesops.customization import admin_services as fields_admin
from salesops.lib.services import NotVisible
from salesops.lib.updates import Conflict


def entries(obj):
    return list(AuditEntry.objects.of(obj))


@pytest.fixture
def customer(cast):
    return crm.create_customer(by=cast.rep, name="Acme")


def test_logging_and_editing_a_followup_is_recorded(cast, customer):
    followup = activities.log_followup(by=cast.rep, kind="call", customer=customer, subject="Hi")
    update_services.update_followup(
        followup=followup, by=cast.rep, data={"subject": "Hello", "kind": "visit"}, version=1
    )
    edited, created = entries(followup)
    assert created.action == AuditEntry.Action.CREATED
    assert edited.changes == {
        "kind": {"old": "call", "new": "visit"},
        "subject": {"old": "Hi", "new": "Hello"},
    }


def test_a_moved_followup_time_is_recorded_in_utc(cast, customer):
    followup = activities.log_followup(by=cast.rep, kind="call", customer=customer)
    earlier = followup.occurred_at - dt.timedelta(days=2)
    update_services.update_followup(followup=followup, by=cast.rep, data={"occurred_at": earlier})
    change = entries(followup)[0].changes["occurred_at"]
    assert dt.datetime.fromisoformat(change["new"]) == earlier
    assert dt.datetime.fromisoformat(change["new"]).utcoffset() == dt.timedelta(0)


def test_refused_followup_edits_leave_no_entry(cast, customer):
    followup = activities.log_followup(by=cast.rep, kind="call", customer=customer)
    before = AuditEntry.objects.count()
    with pytest.raises(NotVisible):
        update_services.update_followup(followup=followup, by=cast.outsider, data={"subject": "x"})
    with pytest.raises(Conflict):
        update_services.update_followup(
            followup=followup, by=cast.rep, data={"subject": "x"}, version=7
        )
    with pytest.raises(ValidationError):
        update_services.update_followup(
            followup=followup,
            by=cast.rep,
            data={"occurred_at": timezone.now() + dt.timedelta(days=3)},
        )
    assert AuditEntry.objects.count() == before


def test_tasks_created_edited_reassigned_and_completed_are_recorded(cast, customer):
    task = activities.create_task(by=cast.rep, title="Send the quote", customer=customer)
    update_services.update_task(task=task, by=cast.rep, data={"priority": "high"})
    page_services.assign_task(task=task, to=cast.teammate, by=cast.manager)
    activities.complete_task(task=task, by=cast.manager)
    activities.complete_task(task=task, by=cast.manager)  # done twice: one entry
    actions = [e.action for e in entries(task)]
    assert actions == ["completed", "owner_changed", "updated", "created"]
    done, moved, edited = entries(task)[:3]
    assert edited.changes == {"priority": {"old": "normal", "new": "high"}}
    assert moved.changes["owner"]["new"] == {"id": cast.teammate.pk, "label": str(cast.teammate)}
    assert done.changes["done_at"]["old"] is None
    assert done.changes["done_at"]["new"] is not None


def test_quotes_contracts_and_plans_are_recorded(cast, customer):
    contract = commerce.create_contract(
        by=cast.rep, customer=customer, title="Support", amount="5000"
    )
    commerce.update_contract(contract=contract, by=cast.rep, data={"amount": "6000"})
    plan = commerce.create_payment_plan(
        by=cast.rep, contract=contract, due_on=dt.date(2030, 1, 1), amount="1000"
    )
    quote = commerce.create_quote(by=cast.rep, customer=customer)
    commerce.update_quote(quote=quote, by=cast.rep, data={"notes": "Net 30"})
    assert entries(contract)[0].changes["amount"] == {
        "old": {"amount": "5000.00", "currency": "CNY"},
        "new": {"amount": "6000.00", "currency": "CNY"},
    }
    assert entries(plan)[0].action == AuditEntry.Action.CREATED
    assert entries(quote)[0].changes == {"notes": {"old": "", "new": "Net 30"}}


def test_set_up_changes_are_recorded(cast):
    field = fields_admin.create_custom_field(
        by=cast.admin, object_type="deal", key="budget", label="Budget", field_type="text"
    )
    fields_admin.update_custom_field(field=field, by=cast.admin, data={"label": "Budget (CNY)"})
    assert [e.action for e in entries(field)] == ["updated", "created"]
    assert entries(field)[0].changes == {"label": {"old": "Budget", "new": "Budget (CNY)"}}


def test_the_nightly_pool_job_records_each_reclaim_as_the_system(cast):
    PoolRule.objects.create(name="Org rule", reclaim_after_days_without_followup=30)
    long_ago = timezone.now() - dt.timedelta(days=90)
    stale = CustomerFactory(owner=cast.rep, owned_since=long_ago, last_followup_at=long_ago)
    assert pool.reclaim_customers(now=timezone.now()) == 1
    (entry,) = entries(stale)
    assert (entry.action, entry.actor, entry.source) == ("reclaimed", None, "system")
    assert entry.changes == {
        "owner": {"old": {"id": cast.rep.pk, "label": str(cast.rep)}, "new": None}
    }


def test_an_import_job_is_one_entry_with_its_counts(cast):
    entry = audit.record_import(by=cast.rep, object_type="contact", created=1200, job_id=9)
    assert entry is not None
    assert (entry.object_type, entry.object_id, entry.action) == ("crm.contact", None, "imported")
    assert entry.changes == {"created": 1200, "updated": 0, "count": 1200, "job_id": 9}
    assert entry.source == "import"
    assert audit.record_import(by=cast.rep, object_type="contact", created=0) is None
    assert (
        audit.record_import(by=cast.rep, object_type="contact", created=5, rolled_back=True) is None
    )


def test_an_interface_can_say_where_a_change_came_from(cast, customer):
    with audit.source("api"):
        crm.update_record(obj=customer, by=cast.rep, data={"phone": "+8613800000000"})
    assert entries(customer)[0].source == "api"
    assert entries(customer)[1].source == ""


def _bulk_contacts(user, rows, **options):
    import io

    from salesops.imports.bulk import run_bulk_import
    from salesops.imports.fields import spec_for, suggest_mapping
    from salesops.imports.reading import open_table
    from salesops.imports.tests import corpus

    data = corpus.csv_bytes([["客户名称", "姓名", "邮箱"], *rows])
    with open_table(io.BytesIO(data), "contacts.csv") as table:
        columns = suggest_mapping(table.headers, spec_for("contact"))
        return run_bulk_import(table, user=user, columns=columns, chunk_size=2, **options)


def test_the_bulk_contacts_import_writes_one_entry_not_one_per_row(cast, customer):
    before = AuditEntry.objects.count()
    rows = [["Acme", f"Person {i}", f"p{i}@example.com"] for i in range(5)]
    report = _bulk_contacts(cast.rep, rows, mode="skip-errors")
    assert report.created == 5
    (entry,) = AuditEntry.objects.filter(action="imported")
    assert (entry.object_type, entry.actor, entry.changes["count"]) == ("crm.contact", cast.rep, 5)
    assert AuditEntry.objects.count() == before + 1


def test_a_bulk_import_that_commits_nothing_writes_no_entry(cast, customer):
    rows = [["Acme", "Good", "good@example.com"], ["Acme", "Bad", "oops"]]
    report = _bulk_contacts(cast.rep, rows, mode="all-or-nothing")
    assert report.rolled_back
    assert not AuditEntry.objects.filter(action="imported").exists()
