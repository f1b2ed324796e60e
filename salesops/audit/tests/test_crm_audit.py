"""Every change made through the crm services is in the audit log: who, when, what,
and for updates the old and new values; a refused or rolled-back change leaves nothing."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from salesops.audit.models import AppendOnly, AuditEntry
from salesops.crm import services
from salesops.crm.models import Customer
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization import admin_services as fields_admin
from salesops.lib.services import NotVisible
from salesops.lib.updates import Conflict


@pytest.fixture
def deal(cast):
    PipelineFactory(is_default=True)
    customer = services.create_customer(by=cast.rep, name="Acme")
    return services.create_deal(by=cast.rep, customer=customer, name="Big one", amount="10000")


def entries(obj):
    return list(AuditEntry.objects.of(obj))


def test_creating_a_record_writes_a_created_entry_by_its_author(cast, deal):
    (created,) = entries(deal)
    assert created.action == AuditEntry.Action.CREATED
    assert created.actor == cast.rep
    assert created.actor_name == str(cast.rep)
    assert (created.object_type, created.object_id, created.object_label) == (
        "crm.deal",
        deal.pk,
        "Big one",
    )
    assert created.at.tzinfo is not None


def test_an_update_records_old_and_new_values_with_money_in_its_currency(cast, deal):
    services.update_record(
        obj=deal, by=cast.rep, data={"amount": "12000", "name": "Bigger one"}, version=1
    )
    latest = entries(deal)[0]
    assert latest.action == AuditEntry.Action.UPDATED
    assert latest.changes == {
        "amount": {
            "old": {"amount": "10000.00", "currency": "CNY"},
            "new": {"amount": "12000.00", "currency": "CNY"},
        },
        "name": {"old": "Big one", "new": "Bigger one"},
    }


def test_a_currency_change_shows_on_the_amount_too(cast, deal):
    services.update_record(obj=deal, by=cast.rep, data={"currency": "USD"})
    changes = entries(deal)[0].changes
    assert changes["currency"] == {
        "old": {"id": "CNY", "label": "CNY"},
        "new": {"id": "USD", "label": "USD"},
    }
    assert changes["amount"]["old"] == {"amount": "10000.00", "currency": "CNY"}
    assert changes["amount"]["new"] == {"amount": "10000.00", "currency": "USD"}


def test_a_foreign_key_keeps_the_label_it_had_at_the_time(cast, deal):
    first = services.create_contact(by=cast.rep, customer=deal.customer, name="Ann")
    services.update_record(obj=deal, by=cast.rep, data={"contact": first})
    services.update_record(obj=first, by=cast.rep, data={"name": "Ann Renamed"})
    change = entries(deal)[0].changes["contact"]
    assert change == {"old": None, "new": {"id": first.pk, "label": "Ann"}}


def test_custom_field_values_are_recorded_by_their_key(cast, deal):
    fields_admin.create_custom_field(
        by=cast.admin, object_type="deal", key="region_code", label="Region code", field_type="text"
    )
    services.update_record(obj=deal, by=cast.rep, data={}, custom={"region_code": "E1"})
    services.update_record(obj=deal, by=cast.rep, data={}, custom={"region_code": "E2"})
    changes = [e.changes for e in entries(deal)[:2]]
    assert changes == [
        {"custom.region_code": {"old": "E1", "new": "E2"}},
        {"custom.region_code": {"old": None, "new": "E1"}},
    ]


def test_an_update_that_changes_nothing_writes_nothing(cast, deal):
    services.update_record(obj=deal, by=cast.rep, data={"name": "Big one"})
    assert [e.action for e in entries(deal)] == [AuditEntry.Action.CREATED]


def test_refused_and_stale_updates_leave_no_entry(cast, deal):
    before = AuditEntry.objects.count()
    with pytest.raises(NotVisible):
        services.update_record(obj=deal, by=cast.outsider, data={"name": "Mine"})
    with pytest.raises(Conflict):
        services.update_record(obj=deal, by=cast.rep, data={"name": "Stale"}, version=99)
    with pytest.raises(ValidationError, match="negative"):
        services.update_record(obj=deal, by=cast.rep, data={"amount": "-5"})
    assert AuditEntry.objects.count() == before


def test_a_rolled_back_change_leaves_no_entry(cast, deal):
    before = AuditEntry.objects.count()

    def change_then_fail():
        with transaction.atomic():
            services.update_record(obj=deal, by=cast.rep, data={"name": "Gone"})
            raise RuntimeError

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert AuditEntry.objects.count() == before


def test_won_lost_and_reopened_are_recorded_with_their_facts(cast, deal):
    services.mark_deal_won(deal=deal, by=cast.rep)
    services.reopen_deal(deal=deal, by=cast.manager)
    won, reopened = entries(deal)[1], entries(deal)[0]
    assert won.action == AuditEntry.Action.WON
    assert won.changes["status"] == {"old": "open", "new": "won"}
    assert won.changes["closed_on"]["old"] is None
    assert dt.date.fromisoformat(won.changes["closed_on"]["new"])
    assert (reopened.action, reopened.actor) == (AuditEntry.Action.REOPENED, cast.manager)


def test_a_plain_stage_move_is_left_to_the_stage_history(cast, deal):
    stage = deal.pipeline.stages.get(name="Propose")
    services.move_deal_stage(deal=deal, stage=stage, by=cast.rep)
    assert [e.action for e in entries(deal)] == [AuditEntry.Action.CREATED]


def test_owner_changes_through_the_pool_are_recorded(cast):
    customer = services.create_customer(by=cast.rep, name="Pooled")
    services.release_customer(customer=customer, by=cast.rep)
    services.claim_customer(customer=Customer.objects.get(pk=customer.pk), by=cast.teammate)
    services.assign_customer(
        customer=Customer.objects.get(pk=customer.pk), to=cast.rep, by=cast.manager
    )
    assign, claim, release = entries(customer)[:3]
    assert release.action == AuditEntry.Action.RELEASED
    assert release.changes["owner"] == {
        "old": {"id": cast.rep.pk, "label": str(cast.rep)},
        "new": None,
    }
    assert (claim.action, claim.actor) == (AuditEntry.Action.CLAIMED, cast.teammate)
    assert claim.changes["owner"]["new"]["id"] == cast.teammate.pk
    assert (assign.action, assign.actor) == (AuditEntry.Action.OWNER_CHANGED, cast.manager)
    assert assign.changes["owner"]["old"]["id"] == cast.teammate.pk


def test_delete_and_restore_are_recorded(cast, deal):
    services.delete_record(obj=deal, by=cast.rep)
    services.restore_record(obj=deal, by=cast.rep)
    customer = deal.customer
    services.delete_record(obj=customer, by=cast.rep)
    services.restore_record(obj=customer, by=cast.rep)
    assert [e.action for e in entries(deal)[:2]] == ["restored", "deleted"]
    assert [e.action for e in entries(customer)[:2]] == ["restored", "deleted"]


def test_converting_a_lead_records_the_lead_and_what_it_became(cast):
    PipelineFactory(is_default=True)
    lead = services.create_lead(by=cast.rep, name="Li", company="Li Ltd")
    result = services.convert_lead(lead=lead, by=cast.rep)
    converted = entries(lead)[0]
    assert converted.changes["status"]["new"] == "converted"
    assert converted.changes["converted_deal"]["new"]["id"] == result.deal.pk
    for obj in (result.customer, result.contact, result.deal):
        assert entries(obj)[-1].action == AuditEntry.Action.CREATED


def test_the_log_cannot_be_changed_or_deleted(cast, deal):
    entry = entries(deal)[0]
    entry.object_label = "forged"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(object_label="forged")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).delete()
