import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from salesops.activities.models import FollowUp
from salesops.activities.services import log_followup
from salesops.crm import services
from salesops.crm.models import (
    Contact,
    Contract,
    Customer,
    Deal,
    Lead,
    PaymentPlan,
    PoolEvent,
    PoolRule,
)
from salesops.crm.models.deals import StageHistory
from salesops.crm.tests.factories import CustomerFactory, LeadFactory, PipelineFactory
from salesops.lib.services import NotVisible
from salesops.org.models import Organisation


@pytest.fixture
def pipeline(db):
    p = PipelineFactory(name="New business", is_default=True)
    return p


def stage(pipeline, name):
    return pipeline.stages.get(name=name)


def snapshot(deal):
    """Everything a refused write must leave as it was."""
    row = Deal.all_objects.filter(pk=deal.pk).values().get()
    history = list(StageHistory.objects.filter(deal=deal).values().order_by("id"))
    return row, history


# -- leads --------------------------------------------------------------------


def test_converting_a_lead_makes_a_customer_contact_and_deal_owned_by_the_leads_owner(
    cast, pipeline
):
    lead = LeadFactory(owner=cast.rep, name="王伟", company="星辰科技", phone="13800138000")
    result = services.convert_lead(lead=lead, by=cast.rep, amount="5000", currency="USD")
    assert result.created
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED and lead.converted_at is not None
    assert lead.converted_customer == result.customer and result.customer.name == "星辰科技"
    assert result.customer.owner == cast.rep and result.customer.source_lead == lead
    assert result.contact.customer == result.customer and result.contact.mobile == "13800138000"
    assert result.deal.amount == Decimal("5000.00") and result.deal.currency_id == "USD"
    assert result.deal.stage == stage(pipeline, "Qualify") and result.deal.status == "open"
    assert StageHistory.objects.filter(deal=result.deal, left_at=None).count() == 1


def test_converting_a_lead_twice_converts_it_once(cast, pipeline):
    lead = LeadFactory(owner=cast.rep)
    first = services.convert_lead(lead=lead, by=cast.rep)
    second = services.convert_lead(lead=lead, by=cast.rep)
    assert not second.created
    assert second.deal == first.deal and second.customer == first.customer
    assert Customer.objects.count() == 1 and Deal.objects.count() == 1
    assert Contact.objects.count() == 1


def test_another_teams_rep_cannot_convert_a_lead_and_nothing_is_written(cast, pipeline):
    lead = LeadFactory(owner=cast.rep)
    with pytest.raises(NotVisible):
        services.convert_lead(lead=lead, by=cast.outsider)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW
    assert not Customer.objects.exists() and not Deal.objects.exists()


def test_a_lead_converted_into_a_pool_customer_is_refused(cast, pipeline):
    pooled = CustomerFactory(owner=None, owned_since=None, pool_entered_at=timezone.now())
    lead = LeadFactory(owner=cast.rep)
    with pytest.raises(ValidationError, match="public pool"):
        services.convert_lead(lead=lead, by=cast.rep, customer=pooled)
    assert not Contact.objects.exists()


def test_an_unknown_lead_field_is_refused(cast):
    with pytest.raises(ValidationError, match="owner_id"):
        services.create_lead(by=cast.rep, name="x", owner_id=cast.outsider.pk)


def test_a_rep_cannot_give_a_lead_to_someone_outside_their_scope(cast):
    with pytest.raises(ValidationError) as e:
        services.create_lead(by=cast.rep, name="x", owner=cast.outsider)
    assert "owner" in e.value.message_dict
    assert not Lead.objects.exists()


def test_a_bad_email_on_a_lead_says_which_field(cast):
    with pytest.raises(ValidationError) as e:
        services.create_lead(by=cast.rep, name="x", email="not-an-email")
    assert list(e.value.message_dict) == ["email"]


# -- deals --------------------------------------------------------------------


def new_deal(cast, pipeline, owner=None, **kw):
    owner = owner or cast.rep
    customer = services.create_customer(by=owner, name=kw.pop("customer_name", "Acme"))
    return services.create_deal(
        by=owner,
        customer=customer,
        name="Deal",
        pipeline=pipeline,
        amount=kw.pop("amount", "1000"),
        **kw,
    )


def test_moving_a_deal_closes_the_old_history_row_and_opens_a_new_one(cast, pipeline):
    deal = new_deal(cast, pipeline)
    services.move_deal_stage(deal=deal, stage=stage(pipeline, "Propose"), by=cast.rep)
    rows = list(StageHistory.objects.filter(deal=deal).order_by("id"))
    assert [r.stage.name for r in rows] == ["Qualify", "Propose"]
    assert rows[0].left_at == rows[1].entered_at and rows[1].left_at is None
    assert rows[1].entered_by == cast.rep
    deal.refresh_from_db()
    assert deal.stage.name == "Propose" and deal.version == 2


def test_winning_sets_status_and_close_date_in_the_org_time_zone(cast, pipeline):
    deal = new_deal(cast, pipeline)
    services.mark_deal_won(deal=deal, by=cast.rep)
    deal.refresh_from_db()
    assert deal.status == Deal.Status.WON
    assert deal.closed_on == Organisation.get().local_date()
    assert deal.forecast_category == "closed"
    deal.customer.refresh_from_db()
    assert deal.customer.last_won_on == deal.closed_on
    assert deal.customer.lifecycle_stage == Customer.Lifecycle.CUSTOMER


def test_reopening_a_won_deal_clears_status_close_date_and_the_customers_last_win(cast, pipeline):
    deal = new_deal(cast, pipeline)
    services.move_deal_stage(deal=deal, stage=stage(pipeline, "Negotiate"), by=cast.rep)
    services.mark_deal_won(deal=deal, by=cast.rep)
    services.reopen_deal(deal=deal, by=cast.rep)
    deal.refresh_from_db()
    assert deal.status == Deal.Status.OPEN and deal.closed_on is None
    assert deal.stage.name == "Negotiate"
    deal.customer.refresh_from_db()
    assert deal.customer.last_won_on is None
    assert StageHistory.objects.filter(deal=deal).count() == 4


def test_losing_needs_a_reason_and_keeps_it(cast, pipeline):
    deal = new_deal(cast, pipeline)
    before = snapshot(deal)
    with pytest.raises(ValidationError) as e:
        services.mark_deal_lost(deal=deal, by=cast.rep, reason="")
    assert "lost_reason" in e.value.message_dict
    assert snapshot(deal) == before
    services.mark_deal_lost(deal=deal, by=cast.rep, reason="price", note="too dear")
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason, deal.lost_note) == ("lost", "price", "too dear")


def test_a_close_date_in_the_future_is_refused(cast, pipeline):
    deal = new_deal(cast, pipeline)
    with pytest.raises(ValidationError, match="future"):
        services.mark_deal_won(
            deal=deal, by=cast.rep, closed_on=Organisation.get().local_date() + dt.timedelta(days=1)
        )


def test_a_stage_of_another_pipeline_is_refused(cast, pipeline):
    deal = new_deal(cast, pipeline)
    other = PipelineFactory(name="Renewal")
    with pytest.raises(ValidationError) as e:
        services.move_deal_stage(deal=deal, stage=other.stages.first(), by=cast.rep)
    assert "stage" in e.value.message_dict


def test_another_teams_rep_cannot_move_a_deal_and_nothing_changes(cast, pipeline):
    deal = new_deal(cast, pipeline)
    before = snapshot(deal)
    with pytest.raises(NotVisible):
        services.move_deal_stage(deal=deal, stage=stage(pipeline, "Propose"), by=cast.outsider)
    assert snapshot(deal) == before


def test_a_view_only_analyst_cannot_move_a_deal(cast, pipeline):
    deal = new_deal(cast, pipeline)
    before = snapshot(deal)
    with pytest.raises(PermissionDenied):
        services.move_deal_stage(deal=deal, stage=stage(pipeline, "Propose"), by=cast.analyst)
    assert snapshot(deal) == before


def test_a_negative_amount_is_refused(cast, pipeline):
    with pytest.raises(ValidationError) as e:
        new_deal(cast, pipeline, amount="-5")
    assert "amount" in e.value.message_dict
    assert not Deal.objects.exists()


def test_an_unknown_currency_is_refused(cast, pipeline):
    with pytest.raises(ValidationError) as e:
        new_deal(cast, pipeline, currency="XXX")
    assert "currency" in e.value.message_dict


# -- the public pool ---------------------------------------------------------------


def pooled_customer(**kw):
    return CustomerFactory(owner=None, owned_since=None, pool_entered_at=timezone.now(), **kw)


def test_claiming_takes_a_customer_and_its_contacts_from_the_pool(cast):
    customer = pooled_customer()
    contact = Contact.objects.create(customer=customer, name="Li")
    services.claim_customer(customer=customer, by=cast.rep)
    customer.refresh_from_db()
    contact.refresh_from_db()
    assert customer.owner == cast.rep and customer.pool_entered_at is None
    assert contact.owner == cast.rep
    assert PoolEvent.objects.get().kind == PoolEvent.Kind.CLAIMED


def test_claiming_at_the_cap_is_refused_with_the_numbers(cast):
    PoolRule.objects.create(name="default", max_customers_per_rep=1)
    services.create_customer(by=cast.rep, name="Mine")
    customer = pooled_customer()
    with pytest.raises(
        ValidationError, match="already holds 1 customers and the most allowed is 1"
    ):
        services.claim_customer(customer=customer, by=cast.rep)
    customer.refresh_from_db()
    assert customer.owner is None and not PoolEvent.objects.exists()


def test_creating_a_customer_over_the_cap_is_refused(cast):
    PoolRule.objects.create(name="default", max_customers_per_rep=1)
    services.create_customer(by=cast.rep, name="One")
    with pytest.raises(ValidationError):
        services.create_customer(by=cast.rep, name="Two")
    assert Customer.objects.count() == 1


def test_a_team_rule_overrides_the_organisation_rule(cast):
    PoolRule.objects.create(name="default", max_customers_per_rep=1)
    PoolRule.objects.create(name="East", team=cast.east, max_customers_per_rep=2)
    services.create_customer(by=cast.rep_east1, name="One")
    services.create_customer(by=cast.rep_east1, name="Two")  # East-1 inherits East's 2
    with pytest.raises(ValidationError):
        services.create_customer(by=cast.outsider, name="W1") and services.create_customer(
            by=cast.outsider, name="W2"
        )


def test_a_released_customer_cannot_be_claimed_back_during_the_block(cast):
    PoolRule.objects.create(name="default", reclaim_block_days=7)
    customer = services.create_customer(by=cast.rep, name="Mine")
    services.release_customer(customer=customer, by=cast.rep, reason="no budget")
    with pytest.raises(ValidationError, match="claim it again from"):
        services.claim_customer(customer=customer, by=cast.rep)
    services.claim_customer(customer=customer, by=cast.teammate)  # others may
    customer.refresh_from_db()
    assert customer.owner == cast.teammate


def test_claiming_a_customer_someone_owns_says_who(cast):
    customer = services.create_customer(by=cast.rep, name="Taken")
    customer.owner = cast.rep
    with pytest.raises((ValidationError, NotVisible)):
        services.claim_customer(customer=customer, by=cast.teammate)


def test_releasing_puts_the_customer_in_the_pool_for_everyone(cast):
    customer = services.create_customer(by=cast.rep, name="Mine")
    services.release_customer(customer=customer, by=cast.rep)
    assert Customer.objects.visible_to(cast.outsider).filter(pk=customer.pk).exists()
    event = PoolEvent.objects.get()
    assert (event.kind, event.user) == (PoolEvent.Kind.RELEASED, cast.rep)


# -- follow-ups ------------------------------------------------------------------


def test_a_follow_up_moves_last_follow_up_forward_only(cast, pipeline):
    customer = services.create_customer(by=cast.rep, name="Acme")
    now = timezone.now()
    log_followup(by=cast.rep, kind="call", customer=customer, occurred_at=now)
    log_followup(
        by=cast.rep, kind="visit", customer=customer, occurred_at=now - dt.timedelta(days=3)
    )
    customer.refresh_from_db()
    assert customer.last_followup_at == now
    assert FollowUp.objects.count() == 2


def test_a_follow_up_on_a_deal_counts_for_its_customer(cast, pipeline):
    deal = new_deal(cast, pipeline)
    f = log_followup(by=cast.rep, kind="meeting", deal=deal)
    assert f.customer == deal.customer
    deal.customer.refresh_from_db()
    assert deal.customer.last_followup_at == f.occurred_at


def test_a_follow_up_in_the_future_is_refused(cast):
    customer = services.create_customer(by=cast.rep, name="Acme")
    with pytest.raises(ValidationError, match="future"):
        log_followup(
            by=cast.rep,
            kind="call",
            customer=customer,
            occurred_at=timezone.now() + dt.timedelta(days=1),
        )
    assert not FollowUp.objects.exists()


def test_a_follow_up_on_another_teams_customer_is_refused(cast):
    customer = services.create_customer(by=cast.rep, name="Acme")
    with pytest.raises(NotVisible):
        log_followup(by=cast.outsider, kind="call", customer=customer)
    assert not FollowUp.objects.exists()


def test_a_call_moves_a_new_lead_to_contacted(cast):
    lead = LeadFactory(owner=cast.rep)
    log_followup(by=cast.rep, kind="call", lead=lead)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONTACTED


def test_an_unknown_follow_up_kind_is_refused(cast):
    customer = services.create_customer(by=cast.rep, name="Acme")
    with pytest.raises(ValidationError) as e:
        log_followup(by=cast.rep, kind="telepathy", customer=customer)
    assert "kind" in e.value.message_dict


# -- payments -----------------------------------------------------------------------


@pytest.fixture
def contract(cast):
    customer = services.create_customer(by=cast.rep, name="Acme")
    return Contract.objects.create(
        number="HT-1",
        title="Licence",
        customer=customer,
        amount=Decimal("1000"),
        currency_id="CNY",
        owner=cast.rep,
    )


def test_a_payment_against_an_instalment_counts_toward_it(cast, contract):
    plan = PaymentPlan.objects.create(
        contract=contract, due_on=dt.date(2026, 1, 1), amount=Decimal("600"), owner=cast.rep
    )
    today = Organisation.get().local_date()
    p = services.record_payment(by=cast.rep, plan=plan, amount="600", received_on=today)
    assert p.contract == contract and p.currency_id == "CNY" and p.owner == cast.rep
    assert services.received_on_plan(plan) == Decimal("600")


def test_paying_more_than_an_instalment_is_refused(cast, contract):
    plan = PaymentPlan.objects.create(
        contract=contract, due_on=dt.date(2026, 1, 1), amount=Decimal("600"), owner=cast.rep
    )
    today = Organisation.get().local_date()
    with pytest.raises(ValidationError, match=r"600\.00 outstanding"):
        services.record_payment(by=cast.rep, plan=plan, amount="600.01", received_on=today)


def test_paying_more_than_the_contract_is_refused(cast, contract):
    today = Organisation.get().local_date()
    services.record_payment(by=cast.rep, contract=contract, amount="900", received_on=today)
    with pytest.raises(ValidationError, match=r"At most 100\.00 is outstanding"):
        services.record_payment(by=cast.rep, contract=contract, amount="101", received_on=today)


def test_a_payment_dated_in_the_future_or_zero_is_refused(cast, contract):
    today = Organisation.get().local_date()
    with pytest.raises(ValidationError):
        services.record_payment(
            by=cast.rep, contract=contract, amount="1", received_on=today + dt.timedelta(days=1)
        )
    with pytest.raises(ValidationError):
        services.record_payment(by=cast.rep, contract=contract, amount="0", received_on=today)


def test_another_teams_rep_cannot_record_a_payment(cast, contract):
    with pytest.raises(NotVisible):
        services.record_payment(
            by=cast.outsider,
            contract=contract,
            amount="1",
            received_on=Organisation.get().local_date(),
        )


# -- delete and restore ------------------------------------------------------------------


def test_a_deleted_customer_and_its_records_are_hidden_and_restored_identically(cast, pipeline):
    deal = new_deal(cast, pipeline)
    customer = deal.customer
    contact = Contact.objects.create(customer=customer, name="Li", owner=cast.rep)
    log_followup(by=cast.rep, kind="call", customer=customer)
    already_gone = Contact.objects.create(customer=customer, name="Old", owner=cast.rep)
    services.delete_record(obj=already_gone, by=cast.rep)

    def state():
        return [
            list(m.all_objects.filter(customer=customer).values("id", "deleted_at"))
            for m in (Contact, Deal, FollowUp)
        ]

    services.delete_customer(customer=customer, by=cast.rep)
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not Deal.objects.filter(pk=deal.pk).exists()
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not FollowUp.objects.exists()
    services.restore_customer(customer=customer, by=cast.rep)
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert set(Contact.objects.values_list("id", flat=True)) == {contact.pk}
    assert Deal.objects.filter(pk=deal.pk).exists() and FollowUp.objects.count() == 1
    assert state()[0][0]["deleted_at"] is None


def test_another_teams_rep_cannot_delete_a_customer(cast):
    customer = services.create_customer(by=cast.rep, name="Acme")
    with pytest.raises(NotVisible):
        services.delete_customer(customer=customer, by=cast.outsider)
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_custom_field_values_are_validated_on_the_service_path(cast, pipeline):
    from salesops.customization.models import CustomField

    CustomField.objects.create(
        object_type="deal",
        key="competitor",
        label="Competitor",
        field_type="select",
        options=[{"value": "x"}],
    )
    customer = services.create_customer(by=cast.rep, name="Acme")
    with pytest.raises(ValidationError) as e:
        services.create_deal(by=cast.rep, customer=customer, name="D", custom={"competitor": "y"})
    assert "custom.competitor" in e.value.message_dict
    assert not Deal.objects.exists()
    deal = services.create_deal(
        by=cast.rep, customer=customer, name="D", custom={"competitor": "x"}
    )
    assert deal.custom == {"competitor": "x"}


def test_a_contact_belongs_to_its_customers_owner(cast):
    customer = services.create_customer(by=cast.rep, name="Acme")
    contact = services.create_contact(
        by=cast.rep, customer=customer, name="Li", email="li@example.com"
    )
    assert contact.owner == cast.rep
    with pytest.raises(NotVisible):
        services.create_contact(by=cast.outsider, customer=customer, name="Spy")
    with pytest.raises(ValidationError):
        services.create_contact(by=cast.rep, customer=customer, name="x", owner=cast.outsider)


def test_products_need_the_right_and_a_unique_sku(cast):
    with pytest.raises(PermissionDenied):
        services.create_product(by=cast.analyst, name="P", price="1")
    p = services.create_product(by=cast.admin, name="P", price="9.999", sku="SKU-1", currency="usd")
    assert (p.price, p.currency_id) == (Decimal("10.00"), "USD")
    with pytest.raises(ValidationError) as e:
        services.create_product(by=cast.admin, name="Q", price="1", sku="SKU-1")
    assert "sku" in e.value.message_dict
