"""The worker's purge keeps the recycle bin's promise: a deleted record stays restorable
for the organisation's retention, then is removed for good with an audit entry."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from salesops.activities.models import FollowUp
from salesops.activities.tests.factories import FollowUpFactory
from salesops.audit.models import AuditEntry
from salesops.automation import recycle
from salesops.automation.schedule import all_jobs, enqueue_due_jobs
from salesops.automation.tasks import purge_recycle_bin
from salesops.crm import services as crm
from salesops.crm.models import Contact, Customer, Deal, Lead, Product
from salesops.crm.models.deals import DealLine
from salesops.crm.tests.factories import (
    ContactFactory,
    CustomerFactory,
    DealFactory,
    LeadFactory,
    ProductFactory,
)
from salesops.org.models import Organisation

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)


def days_ago(n):
    return NOW - dt.timedelta(days=n)


def backdate(model, pk, days):
    """Pretend the record was deleted `days` before NOW."""
    model.all_objects.filter(pk=pk).update(deleted_at=days_ago(days))


def purged_entries():
    return AuditEntry.objects.filter(action=AuditEntry.Action.PURGED)


def test_records_past_the_retention_go_and_younger_ones_stay(cast):
    old = LeadFactory.create(owner=cast.rep, name="Old lead")
    young = LeadFactory.create(owner=cast.rep, name="Young lead")
    alive = LeadFactory.create(owner=cast.rep, name="Alive lead")
    for lead in (old, young):
        crm.delete_record(obj=lead, by=cast.rep)
    backdate(Lead, old.pk, 31)
    backdate(Lead, young.pk, 29)

    assert recycle.purge(now=NOW) == 1
    assert not Lead.all_objects.filter(pk=old.pk).exists()
    assert Lead.all_objects.filter(pk=young.pk).exists()
    assert Lead.objects.filter(pk=alive.pk).exists()
    entry = purged_entries().get()
    assert (entry.object_type, entry.object_id, entry.object_label) == (
        "crm.lead",
        old.pk,
        "Old lead",
    )
    assert entry.actor is None and entry.source == "system"
    # Nothing more to do on a second run.
    assert recycle.purge(now=NOW) == 0


def test_the_retention_is_the_organisations(cast):
    org = Organisation.get()
    org.recycle_retention_days = 7
    org.save()
    lead = LeadFactory.create(owner=cast.rep)
    crm.delete_record(obj=lead, by=cast.rep)
    backdate(Lead, lead.pk, 8)
    assert recycle.purge(now=NOW) == 1
    assert recycle.purge_on(days_ago(8)) == days_ago(1)


def test_a_customer_goes_with_everything_deleted_with_it(cast):
    customer = CustomerFactory.create(owner=cast.rep)
    contact = ContactFactory.create(customer=customer)
    deal = DealFactory.create(owner=cast.rep, customer=customer)
    followup = FollowUpFactory.create(owner=cast.rep, customer=customer)
    crm.delete_customer(customer=customer, by=cast.rep)
    stamp = days_ago(40)
    for model in (Customer, Contact, Deal, FollowUp):
        model.all_objects.filter(deleted_at__isnull=False).update(deleted_at=stamp)

    assert recycle.purge(now=NOW) == 4
    assert not Customer.all_objects.filter(pk=customer.pk).exists()
    for model, pk in ((Contact, contact.pk), (Deal, deal.pk), (FollowUp, followup.pk)):
        assert not model.all_objects.filter(pk=pk).exists()
    assert purged_entries().count() == 4


def test_a_record_a_live_one_still_refers_to_stays_restorable(cast):
    product = ProductFactory.create(name="Old widget")
    deal = DealFactory.create(owner=cast.rep)
    DealLine.objects.create(deal=deal, product=product, unit_price=Decimal(5))
    crm.delete_record(obj=product, by=cast.admin)
    backdate(Product, product.pk, 60)

    assert recycle.purge(now=NOW) == 0
    assert Product.all_objects.filter(pk=product.pk).exists()
    assert not purged_entries().exists()


def test_the_worker_runs_the_purge_daily(cast):
    assert "recycle.purge" in [j.name for j in all_jobs()]
    lead = LeadFactory.create(owner=cast.rep)
    crm.delete_record(obj=lead, by=cast.rep)
    # The task purges against the current time.
    Lead.all_objects.filter(pk=lead.pk).update(deleted_at=timezone.now() - dt.timedelta(days=31))
    assert purge_recycle_bin.call() == 1
    assert "recycle.purge" in enqueue_due_jobs(now=NOW)


@pytest.mark.parametrize("days", [29, 30])
def test_nothing_is_purged_within_the_promise(cast, days):
    lead = LeadFactory.create(owner=cast.rep)
    crm.delete_record(obj=lead, by=cast.rep)
    # Deleted exactly `days` before, to the second: still within the promised 30 days.
    Lead.all_objects.filter(pk=lead.pk).update(deleted_at=days_ago(days) + dt.timedelta(seconds=1))
    assert recycle.purge(now=NOW) == 0
