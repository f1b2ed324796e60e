"""Merging duplicate customers, contacts and leads (crm.merge_services)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from salesops.activities.models import FollowUp
from salesops.activities.tests.factories import FollowUpFactory, TaskFactory
from salesops.analytics.engine import KpiContext, compute
from salesops.analytics.periods import parse_period
from salesops.audit.models import AuditEntry
from salesops.crm import merge_services
from salesops.crm.merge_services import child_links, merge_records
from salesops.crm.models import Contact, Customer, Deal, Lead
from salesops.crm.tests.factories import (
    ContactFactory,
    CustomerFactory,
    DealFactory,
    LeadFactory,
    PipelineFactory,
)
from salesops.crm.tests.more_factories import (
    ContractFactory,
    PaymentFactory,
    PaymentPlanFactory,
    PoolEventFactory,
    QuoteFactory,
    TagFactory,
)
from salesops.lib.services import NotVisible
from salesops.objects import services as objects
from salesops.objects.tests.helpers import define_site_visit, hide


@pytest.fixture
def pipeline(db):
    return PipelineFactory(name="New business", is_default=True)


def children_of(model, pk):
    """{(child model, fk name): ids of the rows pointing at record `pk`}, all links."""
    return {
        (fk.model._meta.label, fk.name): set(
            fk.model._base_manager.filter(**{fk.name: pk}).values_list("pk", flat=True)
        )
        for fk in child_links(model)
    }


def full_customer(cast, pipeline, name, **fields):
    """A customer of the rep with one record of every kind that can point at a customer."""
    c = CustomerFactory(owner=cast.rep, name=name, **fields)
    contact = ContactFactory(customer=c, is_primary=True)
    DealFactory(customer=c, contact=contact, owner=cast.rep, pipeline=pipeline)
    FollowUpFactory(customer=c, contact=contact, owner=cast.rep)
    TaskFactory(customer=c, contact=contact, owner=cast.rep)
    QuoteFactory(customer=c, owner=cast.rep)
    contract = ContractFactory(customer=c, owner=cast.rep)
    PaymentPlanFactory(contract=contract, owner=cast.rep)
    PaymentFactory(contract=contract, owner=cast.rep)
    PoolEventFactory(customer=c, user=cast.rep)
    LeadFactory(owner=cast.rep, converted_customer=c)
    c.tags.add(TagFactory())
    objects.create_record(
        by=cast.admin, object_type="site_visit", data={"title": f"Visit {name}", "customer": c.pk}
    )
    return c


def test_a_merge_moves_every_record_that_points_at_the_loser(cast, pipeline):
    define_site_visit(cast)
    winner = full_customer(cast, pipeline, "Acme")
    loser = full_customer(cast, pipeline, "ACME Co., Ltd.")
    older = CustomerFactory(owner=cast.rep, name="Acme old")
    older.merged_into = loser
    older.save()
    before_w, before_l = children_of(Customer, winner.pk), children_of(Customer, loser.pk)
    # Every kind of link the model graph has is exercised by the data above, so a
    # foreign key added to any app later makes this test build a row for it.
    assert all(before_l[link] for link in before_l), [k for k, v in before_l.items() if not v]

    merge_records(by=cast.rep, object_type="customer", winner_id=winner.pk, loser_ids=[loser.pk])

    after_w, after_l = children_of(Customer, winner.pk), children_of(Customer, loser.pk)
    assert after_l == {link: set() for link in before_l}
    for link, ids in after_w.items():
        if link == ("crm.Customer_tags", "customer"):
            assert len(ids) == 2  # the union of the tags
        elif link == ("crm.Customer", "merged_into"):
            # What was merged into the loser before, and the loser itself.
            assert ids == before_l[link] | {loser.pk}
        else:
            assert ids == before_w[link] | before_l[link], link
    # Payments and plans hang on the contracts, which moved with them.
    assert set(Customer.objects.get(pk=winner.pk).contracts.values_list("pk", flat=True)) == (
        before_w[("crm.Contract", "customer")] | before_l[("crm.Contract", "customer")]
    )
    # The contacts follow the winner; it keeps one primary contact (its own).
    assert Contact.objects.filter(customer=winner, is_primary=True).count() == 1


def test_the_loser_is_soft_deleted_with_a_pointer_and_one_audit_entry_is_written(cast):
    winner = CustomerFactory(owner=cast.rep, name="Acme", phone="13800138000")
    loser = CustomerFactory(owner=cast.rep, name="ACME Ltd", phone="", email="a@acme.cn")
    entries = AuditEntry.objects.count()
    merged = merge_records(
        by=cast.rep,
        object_type="customer",
        winner_id=winner.pk,
        loser_ids=[loser.pk],
        choices={"email": loser.pk, "name": winner.pk},
    )
    assert AuditEntry.objects.count() == entries + 1
    entry = AuditEntry.objects.latest("id")
    assert entry.action == AuditEntry.Action.MERGED and entry.object_id == winner.pk
    assert entry.changes["merged_from"] == [{"id": loser.pk, "label": "ACME Ltd"}]
    assert entry.changes["email"] == {"old": "", "new": "a@acme.cn"}
    assert "name" not in entry.changes
    gone = Customer.all_objects.get(pk=loser.pk)
    assert gone.deleted_at is not None and gone.merged_into_id == winner.pk
    assert not Customer.objects.filter(pk=loser.pk).exists()
    winner.refresh_from_db()
    assert (winner.name, winner.phone, winner.email) == ("Acme", "13800138000", "a@acme.cn")
    assert merged.winner.pk == winner.pk and winner.version == 2
    # The stored keys follow the chosen values.
    assert winner.dup_email == "a@acme.cn" and winner.dup_phone == "+8613800138000"


def test_three_records_merge_at_once(cast):
    a, b, c = (CustomerFactory(owner=cast.rep, name=n) for n in ("A", "B", "C"))
    ContactFactory(customer=c)
    merge_records(by=cast.rep, object_type="customer", winner_id=a.pk, loser_ids=[b.pk, c.pk])
    assert Customer.all_objects.filter(merged_into=a).count() == 2
    assert Contact.objects.filter(customer=a).count() == 1


def test_a_contact_merge_moves_its_deals_and_activities(cast, pipeline):
    customer = CustomerFactory(owner=cast.rep)
    keep = ContactFactory(customer=customer, name="Wang Wei", mobile="")
    dup = ContactFactory(customer=customer, name="王伟", mobile="138 0013 8000")
    deal = DealFactory(customer=customer, contact=dup, owner=cast.rep, pipeline=pipeline)
    merge_records(
        by=cast.rep,
        object_type="contact",
        winner_id=keep.pk,
        loser_ids=[dup.pk],
        choices={"mobile": dup.pk},
    )
    deal.refresh_from_db()
    keep.refresh_from_db()
    assert deal.contact_id == keep.pk and keep.mobile == "138 0013 8000"
    assert keep.dup_mobile == "+8613800138000"


def test_contacts_of_different_customers_are_not_merged(cast):
    a = ContactFactory(customer=CustomerFactory(owner=cast.rep))
    b = ContactFactory(customer=CustomerFactory(owner=cast.rep))
    with pytest.raises(ValidationError, match="same customer"):
        merge_records(by=cast.rep, object_type="contact", winner_id=a.pk, loser_ids=[b.pk])


def test_leads_merge_and_a_converted_lead_must_be_the_one_kept(cast):
    a = LeadFactory(owner=cast.rep, company="Acme")
    b = LeadFactory(owner=cast.rep, company="ACME Inc", phone="13900139000")
    FollowUp.objects.create(
        lead=b, owner=cast.rep, kind=FollowUp.Kind.CALL, subject="hi", occurred_at=b.created_at
    )
    converted = LeadFactory(owner=cast.rep, status=Lead.Status.CONVERTED, converted_at=b.created_at)
    with pytest.raises(ValidationError, match="converted"):
        merge_records(by=cast.rep, object_type="lead", winner_id=a.pk, loser_ids=[converted.pk])
    merge_records(
        by=cast.rep, object_type="lead", winner_id=a.pk, loser_ids=[b.pk], choices={"phone": b.pk}
    )
    a.refresh_from_db()
    assert a.phone == "13900139000" and FollowUp.objects.filter(lead=a).count() == 1


def test_the_winner_needs_edit_and_the_losers_delete_and_all_must_be_visible(cast):
    mine = CustomerFactory(owner=cast.rep)
    also_mine = CustomerFactory(owner=cast.rep)
    theirs = CustomerFactory(owner=cast.outsider)
    with pytest.raises(NotVisible):
        merge_records(by=cast.rep, object_type="customer", winner_id=mine.pk, loser_ids=[theirs.pk])
    with pytest.raises(NotVisible):
        merge_records(by=cast.rep, object_type="customer", winner_id=theirs.pk, loser_ids=[mine.pk])
    # The analyst sees everything but may change nothing.
    with pytest.raises(PermissionDenied):
        merge_records(
            by=cast.analyst, object_type="customer", winner_id=mine.pk, loser_ids=[also_mine.pk]
        )
    # A role that may edit but not delete customers cannot remove the loser.
    role = cast.rep.role
    role.rights = {**role.rights, "customer": ["view", "create", "edit"]}
    role.save()
    cast.rep.refresh_from_db()
    with pytest.raises(PermissionDenied):
        merge_records(
            by=cast.rep, object_type="customer", winner_id=mine.pk, loser_ids=[also_mine.pk]
        )
    # Nothing was written by any refusal.
    assert Customer.objects.filter(pk__in=[mine.pk, also_mine.pk, theirs.pk]).count() == 3
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.MERGED).exists()


def test_a_hidden_field_cannot_be_chosen_and_keeps_the_winners_value(cast):
    hide(cast.rep.role, "customer", "phone", users=(cast.rep,))
    a = CustomerFactory(owner=cast.rep, phone="111")
    b = CustomerFactory(owner=cast.rep, phone="222")
    assert "phone" not in {f.key for f in merge_services.mergeable_fields(cast.rep, "customer")}
    with pytest.raises(ValidationError):
        merge_records(
            by=cast.rep,
            object_type="customer",
            winner_id=a.pk,
            loser_ids=[b.pk],
            choices={"phone": b.pk},
        )
    merge_records(by=cast.rep, object_type="customer", winner_id=a.pk, loser_ids=[b.pk])
    a.refresh_from_db()
    assert a.phone == "111"


def test_fields_set_elsewhere_cannot_be_chosen(cast):
    a = CustomerFactory(owner=cast.rep)
    b = CustomerFactory(owner=cast.rep)
    for key in ("owner", "last_won_on", "tags", "nonsense"):
        with pytest.raises(ValidationError):
            merge_records(
                by=cast.rep,
                object_type="customer",
                winner_id=a.pk,
                loser_ids=[b.pk],
                choices={key: b.pk},
            )


Y2026 = parse_period("2026")
QUARTERS = [parse_period(f"2026-Q{q}") for q in (1, 2, 3, 4)]
#: KPIs that count customers: two records of one company were two customers before a
#: merge and are one after it, so these may change (and must, where both counted).
CUSTOMER_COUNTS = {"new_customers", "active_customers", "churn_rate", "clv_historical"}


def all_kpis(viewer, period):
    values, errors = compute(KpiContext(viewer=viewer, period=period, today=dt.date(2026, 12, 31)))
    assert errors == {}
    return values


def won(pipeline, customer, owner, amount, closed_on):
    stage = pipeline.stages.get(kind="won")
    d = DealFactory(
        customer=customer,
        owner=owner,
        pipeline=pipeline,
        stage=stage,
        status=Deal.Status.WON,
        amount=Decimal(amount),
        created_on=closed_on - dt.timedelta(days=20),
        closed_on=closed_on,
    )
    return d


def test_kpis_are_unchanged_by_a_merge_and_the_customer_counts_once(cast, pipeline):
    winner = CustomerFactory(owner=cast.rep, name="Acme")
    loser = CustomerFactory(owner=cast.rep_east1, name="Acme Ltd")
    won(pipeline, winner, cast.rep, "1000", dt.date(2026, 5, 10))
    won(pipeline, loser, cast.rep_east1, "700", dt.date(2026, 8, 3))
    won(pipeline, loser, cast.rep_east1, "300", dt.date(2026, 3, 3))
    plain = CustomerFactory(owner=cast.rep, name="Other")
    won(pipeline, plain, cast.rep, "50", dt.date(2026, 8, 9))
    periods = [Y2026, *QUARTERS]
    before = {p: all_kpis(cast.admin, p) for p in periods}

    merge_records(by=cast.admin, object_type="customer", winner_id=winner.pk, loser_ids=[loser.pk])

    after = {p: all_kpis(cast.admin, p) for p in periods}
    for p in periods:
        same = {k: v for k, v in before[p].items() if k not in CUSTOMER_COUNTS}
        assert {k: after[p][k] for k in same} == same, p
    # Acme is new once, when its first deal was won (Q1, by the loser's record); it no
    # longer counts as new again in Q2.
    q1, q2, q3, _q4 = QUARTERS
    assert (before[q1]["new_customers"], after[q1]["new_customers"]) == (1, 1)
    assert (before[q2]["new_customers"], after[q2]["new_customers"]) == (1, 0)
    assert (before[q3]["new_customers"], after[q3]["new_customers"]) == (1, 1)
    assert (before[Y2026]["new_customers"], after[Y2026]["new_customers"]) == (3, 2)
    winner.refresh_from_db()
    assert winner.last_won_on == dt.date(2026, 8, 3)
    assert winner.lifecycle_stage == Customer.Lifecycle.REPEAT


def test_a_duplicate_without_deals_changes_no_kpi(cast, pipeline):
    winner = CustomerFactory(owner=cast.rep, name="Acme")
    loser = CustomerFactory(owner=cast.rep, name="Acme Ltd")
    won(pipeline, winner, cast.rep, "1000", dt.date(2026, 5, 10))
    DealFactory(customer=loser, owner=cast.rep, pipeline=pipeline, amount=Decimal(400))
    before = {p: all_kpis(cast.admin, p) for p in [Y2026, *QUARTERS]}
    merge_records(by=cast.admin, object_type="customer", winner_id=winner.pk, loser_ids=[loser.pk])
    assert {p: all_kpis(cast.admin, p) for p in [Y2026, *QUARTERS]} == before


def test_a_merged_record_cannot_be_restored(cast):
    from salesops.crm.services import restore_record

    a = CustomerFactory(owner=cast.rep)
    b = CustomerFactory(owner=cast.rep)
    lead_a, lead_b = LeadFactory(owner=cast.rep), LeadFactory(owner=cast.rep)
    merge_records(by=cast.rep, object_type="customer", winner_id=a.pk, loser_ids=[b.pk])
    merge_records(by=cast.rep, object_type="lead", winner_id=lead_a.pk, loser_ids=[lead_b.pk])
    for obj in (Customer.all_objects.get(pk=b.pk), Lead.all_objects.get(pk=lead_b.pk)):
        with pytest.raises(ValidationError, match="merged into another"):
            restore_record(obj=obj, by=cast.rep)
    assert not Customer.objects.filter(pk=b.pk).exists()
