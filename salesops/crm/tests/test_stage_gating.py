"""Stage gating: the fields a stage requires before a deal may enter it, enforced by
the deal services on every path that puts a deal into a stage; and the stages'
order, changed by administrators only."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from salesops.audit.models import AuditEntry
from salesops.crm import commerce_services as commerce
from salesops.crm import services as crm
from salesops.crm.models import Customer, Deal, Lead
from salesops.crm.models.deals import StageHistory
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization import admin_services as fields_admin
from salesops.pipeline import requirements


@pytest.fixture
def pipeline(cast):
    return PipelineFactory.create(is_default=True)


def stage(pipeline, name):
    return pipeline.stages.get(name=name)


@pytest.fixture
def budget(cast):
    return fields_admin.create_custom_field(
        by=cast.admin, object_type="deal", key="budget", label="Budget", field_type="money"
    )


@pytest.fixture
def customer(cast):
    return crm.create_customer(by=cast.rep, name="Acme")


@pytest.fixture
def deal(cast, pipeline, customer):
    return crm.create_deal(by=cast.rep, customer=customer, name="Big deal", pipeline=pipeline)


def require(stage_obj, *keys):
    stage_obj.required_fields = list(keys)
    stage_obj.full_clean(validate_unique=False, validate_constraints=False)
    stage_obj.save()


def message(error):
    return " ".join(error.value.messages)


def test_a_move_is_refused_naming_the_missing_fields_and_leaves_the_deal_as_it_was(
    cast, pipeline, deal, budget
):
    negotiate = stage(pipeline, "Negotiate")
    require(negotiate, "expected_close", "budget")
    history = list(StageHistory.objects.filter(deal=deal).values_list("stage", "left_at"))
    with pytest.raises(ValidationError) as refused:
        crm.move_deal_stage(deal=deal, stage=negotiate, by=cast.rep)
    assert message(refused) == "Fill in Expected close date and Budget before moving to Negotiate."
    assert refused.value.message_dict.keys() == {"stage"}
    deal.refresh_from_db()
    assert (deal.stage.name, deal.version) == ("Qualify", 1)
    assert list(StageHistory.objects.filter(deal=deal).values_list("stage", "left_at")) == history


def test_the_move_goes_through_once_the_fields_are_filled_in(cast, pipeline, deal, budget):
    negotiate = stage(pipeline, "Negotiate")
    require(negotiate, "expected_close", "budget")
    crm.update_record(
        obj=deal,
        by=cast.rep,
        data={"expected_close": dt.date(2030, 1, 15)},
        custom={"budget": "5000"},
    )
    moved = crm.move_deal_stage(deal=deal, stage=negotiate, by=cast.rep)
    assert moved.stage == negotiate
    assert StageHistory.objects.filter(deal=deal, stage=negotiate, left_at=None).exists()


def test_only_the_missing_fields_are_named(cast, pipeline, deal, budget):
    negotiate = stage(pipeline, "Negotiate")
    require(negotiate, "expected_close", "budget", "source")
    crm.update_record(obj=deal, by=cast.rep, data={"expected_close": dt.date(2030, 1, 15)})
    with pytest.raises(ValidationError) as refused:
        crm.move_deal_stage(deal=deal, stage=negotiate, by=cast.rep)
    assert message(refused) == "Fill in Budget and Source before moving to Negotiate."


def test_three_missing_fields_are_listed_with_commas(cast, pipeline, deal, budget):
    negotiate = stage(pipeline, "Negotiate")
    require(negotiate, "contact", "budget", "source")
    with pytest.raises(ValidationError) as refused:
        crm.move_deal_stage(deal=deal, stage=negotiate, by=cast.rep)
    assert message(refused) == "Fill in Contact, Budget and Source before moving to Negotiate."


def test_the_message_is_in_the_writers_language(cast, pipeline, deal):
    require(stage(pipeline, "Propose"), "expected_close", "source")
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        crm.move_deal_stage(deal=deal, stage=stage(pipeline, "Propose"), by=cast.rep)
    text = message(refused)
    assert "Propose" in text and "Expected close date" not in text and "Source" not in text


def test_a_zero_amount_is_not_filled_in(cast, pipeline, deal):
    require(stage(pipeline, "Propose"), "amount")
    assert deal.amount == Decimal(0)
    with pytest.raises(ValidationError, match="Fill in Amount"):
        crm.move_deal_stage(deal=deal, stage=stage(pipeline, "Propose"), by=cast.rep)
    crm.update_record(obj=deal, by=cast.rep, data={"amount": "100"})
    assert crm.move_deal_stage(deal=deal, stage=stage(pipeline, "Propose"), by=cast.rep)


def test_won_and_lost_stages_may_require_fields_too(cast, pipeline, deal, budget):
    require(pipeline.won_stage(), "budget")
    require(pipeline.lost_stage(), "source")
    with pytest.raises(ValidationError, match=r"Fill in Budget before moving to Won\."):
        crm.mark_deal_won(deal=deal, by=cast.rep)
    with pytest.raises(ValidationError, match=r"Fill in Source before moving to Lost\."):
        crm.mark_deal_lost(deal=deal, by=cast.rep, reason="price")
    assert Deal.objects.get(pk=deal.pk).status == Deal.Status.OPEN
    crm.update_record(obj=deal, by=cast.rep, data={}, custom={"budget": "1"})
    assert crm.mark_deal_won(deal=deal, by=cast.rep).status == Deal.Status.WON


def test_reopening_into_a_gated_stage_is_refused_too(cast, pipeline, deal):
    crm.mark_deal_won(deal=deal, by=cast.rep)
    require(stage(pipeline, "Qualify"), "source")
    with pytest.raises(ValidationError, match=r"Fill in Source before moving to Qualify\."):
        crm.reopen_deal(deal=deal, by=cast.rep)
    assert Deal.objects.get(pk=deal.pk).status == Deal.Status.WON


def test_a_required_custom_select_gates_the_move(cast, pipeline, deal):
    fields_admin.create_custom_field(
        by=cast.admin,
        object_type="deal",
        key="tier",
        label="Tier",
        field_type="select",
        options=[{"value": "a", "label": "A"}],
    )
    require(stage(pipeline, "Propose"), "tier")
    with pytest.raises(ValidationError, match=r"Fill in Tier before moving to Propose\."):
        crm.move_deal_stage(deal=deal, stage=stage(pipeline, "Propose"), by=cast.rep)
    crm.update_record(obj=deal, by=cast.rep, data={}, custom={"tier": "a"})
    assert crm.move_deal_stage(deal=deal, stage=stage(pipeline, "Propose"), by=cast.rep)


def test_a_retired_custom_field_is_no_longer_asked_for(cast, pipeline, deal, budget):
    require(stage(pipeline, "Propose"), "budget")
    fields_admin.update_custom_field(field=budget, by=cast.admin, data={"active": False})
    assert crm.move_deal_stage(deal=deal, stage=stage(pipeline, "Propose"), by=cast.rep)


def test_a_deal_created_in_a_later_stage_needs_its_fields(cast, pipeline, customer, budget):
    negotiate = stage(pipeline, "Negotiate")
    require(negotiate, "expected_close", "budget")
    with pytest.raises(ValidationError) as refused:
        crm.create_deal(by=cast.rep, customer=customer, name="D", stage=negotiate)
    assert (
        message(refused)
        == "Fill in Expected close date and Budget to create the deal in Negotiate."
    )
    assert not Deal.objects.exists()
    deal = crm.create_deal(
        by=cast.rep,
        customer=customer,
        name="D",
        stage=negotiate,
        expected_close=dt.date(2030, 1, 1),
        custom={"budget": "10"},
    )
    assert deal.stage == negotiate


def test_a_custom_fields_default_fills_it_in_for_a_new_deal(cast, pipeline, customer):
    fields_admin.create_custom_field(
        by=cast.admin,
        object_type="deal",
        key="channel",
        label="Channel",
        field_type="text",
        default="direct",
    )
    require(stage(pipeline, "Propose"), "channel")
    deal = crm.create_deal(
        by=cast.rep, customer=customer, name="D", stage=stage(pipeline, "Propose")
    )
    assert deal.custom == {"channel": "direct"}


def test_a_new_deal_may_start_in_the_first_stage_without_them(cast, pipeline, customer):
    require(stage(pipeline, "Qualify"), "source", "expected_close")
    deal = crm.create_deal(by=cast.rep, customer=customer, name="D")
    assert deal.stage.name == "Qualify"
    lead = crm.create_lead(by=cast.rep, name="Ann", company="Beta")
    converted = crm.convert_lead(lead=lead, by=cast.rep)
    assert converted.deal is not None and converted.deal.stage.name == "Qualify"
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.CONVERTED
    assert Customer.objects.filter(name="Beta").exists()


def test_the_general_update_still_cannot_change_the_stage(cast, pipeline, deal):
    require(stage(pipeline, "Propose"), "source")
    with pytest.raises(ValidationError):
        crm.update_record(obj=deal, by=cast.rep, data={"stage": stage(pipeline, "Propose")})
    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualify"


# -- the stage's list of required fields -------------------------------------------------


def test_a_stage_requires_only_fields_a_person_fills_in(cast, pipeline, budget):
    keys = [f.key for f in requirements.requirable_fields()]
    assert {"contact", "amount", "expected_close", "probability", "source", "budget"} <= set(keys)
    assert not {"name", "customer", "pipeline", "stage", "owner", "status"} & set(keys)
    assert not {"lost_reason", "closed_on", "customer.industry", "created_at"} & set(keys)
    propose = stage(pipeline, "Propose")
    for key in ("status", "stage", "customer.industry", "nonsense", "owner"):
        with pytest.raises(ValidationError) as refused:
            commerce.update_stage(stage=propose, by=cast.admin, data={"required_fields": [key]})
        assert f"“{key}”" in message(refused)
    propose.refresh_from_db()
    assert propose.required_fields == []
    commerce.update_stage(
        stage=propose, by=cast.admin, data={"required_fields": ["budget", "amount", "budget"]}
    )
    propose.refresh_from_db()
    assert propose.required_fields == ["budget", "amount"]
    entry = AuditEntry.objects.filter(object_type="pipeline.stage", object_id=propose.pk).first()
    assert entry is not None and "required_fields" in entry.changes


def test_only_an_administrator_sets_a_stages_required_fields(cast, pipeline):
    with pytest.raises(PermissionDenied):
        commerce.update_stage(
            stage=stage(pipeline, "Propose"), by=cast.manager, data={"required_fields": ["source"]}
        )
    assert stage(pipeline, "Propose").required_fields == []


def test_a_new_pipelines_stages_may_require_fields(cast):
    pipeline = commerce.create_pipeline(
        by=cast.admin,
        name="Renewals",
        stages=[
            {"name": "Open"},
            {"name": "Quote", "required_fields": ["amount"]},
            {"name": "Won", "kind": "won"},
            {"name": "Lost", "kind": "lost"},
        ],
    )
    assert stage(pipeline, "Quote").required_fields == ["amount"]
    with pytest.raises(ValidationError) as refused:
        commerce.add_stage(pipeline=pipeline, by=cast.admin, name="X", required_fields=["name"])
    assert "“name”" in message(refused)
    assert not pipeline.stages.filter(name="X").exists()


# -- the stages' order ------------------------------------------------------------------------


def names(pipeline):
    return list(pipeline.stages.order_by("order").values_list("name", flat=True))


def test_an_administrator_moves_a_stage_up_and_down_and_it_is_audited(cast, pipeline):
    commerce.move_stage(stage=stage(pipeline, "Negotiate"), by=cast.admin, step=-1)
    assert names(pipeline) == ["Qualify", "Negotiate", "Propose", "Won", "Lost"]
    commerce.move_stage(stage=stage(pipeline, "Qualify"), by=cast.admin, step=1)
    assert names(pipeline) == ["Negotiate", "Qualify", "Propose", "Won", "Lost"]
    assert list(pipeline.stages.order_by("order").values_list("order", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
    ]
    commerce.move_stage(stage=stage(pipeline, "Lost"), by=cast.admin, step=-1)
    assert names(pipeline) == ["Negotiate", "Qualify", "Propose", "Lost", "Won"]
    entry = AuditEntry.objects.filter(
        object_type="pipeline.stage", object_id=stage(pipeline, "Qualify").pk
    ).first()
    assert entry.changes == {"order": {"old": 1, "new": 2}}


def test_open_stages_stay_before_won_and_lost(cast, pipeline):
    for name, step in (("Negotiate", 1), ("Won", -1), ("Qualify", -1), ("Lost", 1)):
        with pytest.raises(ValidationError):
            commerce.move_stage(stage=stage(pipeline, name), by=cast.admin, step=step)
    assert names(pipeline) == ["Qualify", "Propose", "Negotiate", "Won", "Lost"]


def test_a_new_deal_starts_in_whichever_open_stage_is_now_first(cast, pipeline, customer):
    commerce.move_stage(stage=stage(pipeline, "Propose"), by=cast.admin, step=-1)
    deal = crm.create_deal(by=cast.rep, customer=customer, name="D")
    assert deal.stage.name == "Propose"


def test_only_an_administrator_reorders_stages(cast, pipeline):
    for user in (cast.manager, cast.rep):
        with pytest.raises(PermissionDenied):
            commerce.move_stage(stage=stage(pipeline, "Propose"), by=user, step=-1)
    assert names(pipeline) == ["Qualify", "Propose", "Negotiate", "Won", "Lost"]
    assert not AuditEntry.objects.filter(object_type="pipeline.stage").exists()
