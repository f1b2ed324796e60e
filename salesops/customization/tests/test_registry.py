"""The metadata registry knows every object type once, custom fields included, and
the field policy hides what a role hides."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from salesops.crm.models import Deal
from salesops.customization import policy, registry
from salesops.customization.models import CustomField


def test_every_main_model_is_an_object_type():
    keys = {o.key for o in registry.objects(custom=False)}
    assert {
        "lead",
        "customer",
        "contact",
        "deal",
        "followup",
        "task",
        "product",
        "quote",
        "contract",
        "payment",
        "payment_plan",
        "target",
    } <= keys
    assert registry.for_model(Deal).key == "deal"


def test_fields_come_from_the_model_with_its_labels_in_both_languages():
    amount = registry.get("deal").field("amount")
    assert amount.type == registry.MONEY
    assert amount.sortable and amount.list_default and amount.card
    with translation.override("zh-hans"):
        assert amount.title == "金额"
    with translation.override("en"):
        assert amount.title == "Amount"
    stage = registry.get("deal").field("stage")
    assert (stage.type, stage.ref, stage.path, stage.required) == ("ref", "stage", "stage_id", True)
    status = registry.get("deal").field("status")
    assert not status.editable
    assert ("won", "Won") in [(v, str(label)) for v, label in status.choices]


@pytest.mark.django_db
def test_bookkeeping_columns_are_not_fields():
    keys = registry.get("customer").keys()
    assert "deleted_at" not in keys and "version" not in keys and "custom" not in keys
    assert registry.get("customer").field("created_at").editable is False


def test_import_aliases_are_declared_once_on_the_field():
    assert "手机" in registry.get("contact").field("mobile").aliases
    assert "负责人" in registry.get("deal").field("owner").aliases


@pytest.mark.django_db
def test_custom_fields_join_the_object_at_once_and_leave_when_retired():
    d = CustomField.objects.create(
        object_type="deal",
        key="budget",
        label="Budget",
        field_type=CustomField.Type.MONEY,
        required=True,
    )
    f = registry.get("deal").field("budget")
    assert f is not None and f.is_custom and f.type == registry.MONEY
    assert f.path == "custom__budget" and f.required
    d.active = False
    d.save()
    assert registry.get("deal").field("budget") is None


@pytest.mark.django_db
def test_a_hidden_field_is_absent_and_refused_as_an_unknown_one(cast):
    CustomField.objects.create(
        object_type="deal", key="budget", label="Budget", field_type=CustomField.Type.MONEY
    )
    cast.rep.role.hidden_fields = {"deal": ["amount", "budget"], "customer": ["industry"]}
    cast.rep.role.save()
    rep = type(cast.rep).objects.get(pk=cast.rep.pk)
    keys = policy.visible_keys(rep, "deal")
    assert "amount" not in keys and "budget" not in keys and "name" in keys
    # Read through the customer: hidden with the customer's industry.
    assert "customer.industry" in policy.hidden_keys(rep, "deal")
    assert "customer.region" not in policy.hidden_keys(rep, "deal")
    for key in ("amount", "budget", "no_such_field"):
        with pytest.raises(ValidationError) as refused:
            policy.field_for(rep, "deal", key, use="sort")
        assert "you may use here" in str(refused.value)
    assert "amount" not in {f.key for f in policy.editable_fields(rep, "deal")}
    assert policy.field_for(cast.admin, "deal", "amount", use="sort").key == "amount"


@pytest.mark.django_db
def test_search_never_looks_in_a_hidden_field(cast):
    cast.rep.role.hidden_fields = {"contact": ["mobile", "phone"]}
    cast.rep.role.save()
    rep = type(cast.rep).objects.get(pk=cast.rep.pk)
    assert "mobile" not in policy.searchable_paths(rep, "contact")
    assert "mobile" in policy.searchable_paths(cast.admin, "contact")


def test_a_field_that_is_not_sortable_is_refused_for_sorting():
    with pytest.raises(ValidationError):
        policy.field_for(None, "deal", "source", use="sort")


@pytest.mark.django_db
def test_a_computed_field_made_of_a_hidden_field_is_hidden_too(cast):
    from salesops.customization import admin_services

    admin_services.create_custom_field(
        by=cast.admin,
        object_type="deal",
        key="weighted",
        label="Weighted",
        field_type="formula",
        expression="amount * probability / 100",
        result_type="money",
    )
    admin_services.create_custom_field(
        by=cast.admin,
        object_type="customer",
        key="won_amount",
        label="Won amount",
        field_type="rollup",
        result_type="money",
        rollup_object="deal",
        rollup_link="customer",
        rollup_aggregate="sum",
        rollup_field="amount",
    )
    cast.rep.role.hidden_fields = {"deal": ["amount"]}
    cast.rep.role.save()
    rep = type(cast.rep).objects.get(pk=cast.rep.pk)
    assert "weighted" in policy.hidden_keys(rep, "deal")
    assert "won_amount" in policy.hidden_keys(rep, "customer")
    assert "weighted" not in policy.hidden_keys(cast.admin, "deal")
