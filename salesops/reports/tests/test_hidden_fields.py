"""Hidden fields in reports: a role hiding deal amount, customer phone and e-mail,
contact mobile and a custom field can neither filter, group nor measure by them (and
the fields are not offered); the administrator, who hides nothing, can. The fields
come from the metadata registry, custom and derived ones included."""

from decimal import Decimal

import pytest

from salesops.crm.tests.factories import ContactFactory, CustomerFactory, DealFactory
from salesops.customization import registry
from salesops.customization.models import CustomField
from salesops.customization.services import forget_definitions
from salesops.reports import services
from salesops.reports.catalogue import fields_for, objects

HIDDEN = {
    "deal": ["amount", "zq_secret"],
    "customer": ["phone", "email"],
    "contact": ["mobile"],
}


@pytest.fixture
def hiding(cast):
    forget_definitions()
    CustomField.objects.create(
        object_type="deal", key="zq_secret", label="Secret", field_type="text"
    )
    cast.manager.role.hidden_fields = HIDDEN
    cast.manager.role.save()
    customer = CustomerFactory(owner=cast.rep, phone="13977553311", email="zq@example.org")
    ContactFactory(owner=cast.rep, customer=customer, mobile="13866442200")
    DealFactory(
        owner=cast.rep, customer=customer, amount=Decimal("9753.47"), custom={"zq_secret": "Zq"}
    )
    yield cast
    forget_definitions()


def definitions(key):
    return [
        ({"filters": [{"field": key, "op": "empty", "value": ""}]}, "f0_field"),
        ({"filters": [{"field": key, "op": "eq", "value": "1"}]}, "f0_field"),
        ({"group_by": [{"field": key}]}, "g0_field"),
        ({"measures": [{"agg": "sum", "field": key}]}, "m0_field"),
    ]


CASES = [(t, key) for t, keys in HIDDEN.items() for key in keys] + [
    ("deal", "custom.zq_secret"),  # the key reports saved before the registry
]


@pytest.mark.parametrize(("object_type", "key"), CASES)
def test_it_refuses_to_filter_group_or_measure_by_a_hidden_field(hiding, object_type, key):
    for definition, where in definitions(key):
        result = services.run_definition(
            user=hiding.manager, object_type=object_type, definition=definition
        )
        assert where in result.errors, definition
        assert result.rows == [] and result.values == []
        # Refused as an unknown field would be: nothing says it exists.
        unknown = services.run_definition(
            user=hiding.manager,
            object_type=object_type,
            definition={k: [{**v[0], "field": "zq_nothing"}] for k, v in definition.items()},
        )
        assert unknown.errors[where] == result.errors[where].replace(
            key.removeprefix("custom."), "zq_nothing"
        )


@pytest.mark.parametrize(("object_type", "key"), CASES)
def test_the_administrator_may_filter_by_the_same_fields(hiding, object_type, key):
    definition = {"filters": [{"field": key, "op": "empty", "value": ""}]}
    result = services.run_definition(
        user=hiding.admin, object_type=object_type, definition=definition
    )
    assert not result.errors and result.values == [[0]]


def test_hidden_fields_are_not_offered_to_the_role(hiding):
    for object_type, keys in HIDDEN.items():
        assert not set(keys) & set(fields_for(object_type, hiding.manager))
        assert set(keys) <= set(fields_for(object_type, hiding.admin))


def test_a_derived_field_hides_with_the_field_it_reads(cast):
    cast.manager.role.hidden_fields = {"customer": ["industry"], "deal": ["customer"]}
    cast.manager.role.save()
    offered = fields_for("deal", cast.manager)
    assert "customer.industry" not in offered and "customer.region" not in offered
    assert {"customer.industry", "customer.region"} <= set(fields_for("deal", cast.admin))
    result = services.run_definition(
        user=cast.manager,
        object_type="deal",
        definition={"group_by": [{"field": "customer.region"}]},
    )
    assert "g0_field" in result.errors


def test_the_admin_sums_the_amount_the_role_may_not(hiding):
    definition = {"measures": [{"agg": "sum", "field": "amount"}]}
    result = services.run_definition(user=hiding.admin, object_type="deal", definition=definition)
    assert result.values == [[Decimal("9753.47")]]


def test_every_registered_object_with_a_list_page_is_a_report_object(db):
    offered = set(objects())
    for spec in registry.objects():
        if spec.list_url and spec.model.object_type == spec.key:
            assert spec.key in offered
    assert {"lead", "customer", "contact", "deal", "followup", "payment"} <= offered


def test_choices_from_a_picklist_are_labelled_and_matched_by_label(cast):
    from salesops.crm.tests.factories import LeadFactory
    from salesops.customization.models import Picklist, PicklistOption

    picklist, _new = Picklist.objects.get_or_create(
        key="lead_source", defaults={"name": "Lead source"}
    )
    PicklistOption.objects.update_or_create(
        picklist=picklist, value="zq_fair", defaults={"label": "Trade fair Zq", "order": 99}
    )
    forget_definitions()
    LeadFactory(owner=cast.rep, source="zq_fair")
    result = services.run_definition(
        user=cast.admin,
        object_type="lead",
        definition={
            "filters": [{"field": "source", "op": "eq", "value": "trade fair zq"}],
            "group_by": [{"field": "source"}],
        },
    )
    assert not result.errors
    assert result.values[0] == ["Trade fair Zq", 1]
    forget_definitions()


@pytest.mark.parametrize(
    ("op", "value"), [("empty", ""), ("eq", "abc"), ("in", "abc, x"), ("contains", "b")]
)
def test_custom_text_and_choice_fields_filter_with_every_operator(cast, op, value):
    forget_definitions()
    CustomField.objects.create(object_type="deal", key="note", label="Note", field_type="text")
    CustomField.objects.create(
        object_type="deal",
        key="seg",
        label="Segment",
        field_type="select",
        options=[{"value": "a", "label": "A"}],
    )
    DealFactory(owner=cast.rep, custom={"note": "abc", "seg": "a"})
    DealFactory(owner=cast.rep, custom={})
    for key, raw in (("note", value), ("seg", "A" if value else "")):
        definition = {
            "filters": [
                {
                    "field": key,
                    "op": "eq" if op == "contains" and key == "seg" else op,
                    "value": raw,
                }
            ]
        }
        result = services.run_definition(user=cast.admin, object_type="deal", definition=definition)
        assert result.values == [[1]], (key, result.error)
    forget_definitions()
