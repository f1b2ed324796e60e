"""Stage gating and the custom-field definitions through the API: a move into a stage
whose required fields are empty is a 422 naming them; stages carry their required
fields; custom fields are created and changed through the customisation services
(a built-in key is refused, a default is applied to new records)."""

import datetime as dt

import pytest

from salesops.crm import services
from salesops.crm.models import Deal
from salesops.crm.models.deals import StageHistory
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization import admin_services as fields_admin
from salesops.customization.models import CustomField

MESSAGE = "Fill in Expected close date and Budget before moving to Negotiate."


@pytest.fixture
def pipeline(cast):
    pipeline = PipelineFactory.create(is_default=True)
    fields_admin.create_custom_field(
        by=cast.admin, object_type="deal", key="budget", label="Budget", field_type="money"
    )
    negotiate = pipeline.stages.get(name="Negotiate")
    negotiate.required_fields = ["expected_close", "budget"]
    negotiate.save()
    return pipeline


@pytest.fixture
def deal(cast, pipeline):
    customer = services.create_customer(by=cast.rep, name="Acme")
    return services.create_deal(by=cast.rep, customer=customer, name="Big deal")


def test_a_gated_move_is_a_422_naming_the_fields_and_changes_nothing(cast, as_user, pipeline, deal):
    negotiate = pipeline.stages.get(name="Negotiate")
    r = as_user(cast.rep).post(f"/deals/{deal.pk}/move-stage", {"stage": negotiate.pk})
    assert r.status_code == 422
    assert r.json()["detail"] == MESSAGE
    assert r.json()["errors"] == {"stage": [MESSAGE]}
    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualify"
    assert StageHistory.objects.filter(deal=deal).count() == 1


def test_the_move_goes_through_once_the_fields_are_filled_in(cast, as_user, pipeline, deal):
    api = as_user(cast.rep)
    negotiate = pipeline.stages.get(name="Negotiate")
    r = api.patch(
        f"/deals/{deal.pk}", {"expected_close": "2030-01-15", "custom": {"budget": "5000"}}
    )
    assert r.status_code == 200, r.content
    r = api.post(f"/deals/{deal.pk}/move-stage", {"stage": negotiate.pk})
    assert r.status_code == 200, r.content
    assert r.json()["stage"] == negotiate.pk


def test_creating_a_deal_in_a_gated_stage_is_a_422(cast, as_user, pipeline, deal):
    negotiate = pipeline.stages.get(name="Negotiate")
    body = {"name": "New", "customer": deal.customer_id, "stage": negotiate.pk}
    r = as_user(cast.rep).post("/deals", body)
    assert r.status_code == 422
    assert r.json()["detail"] == (
        "Fill in Expected close date and Budget to create the deal in Negotiate."
    )
    assert not Deal.objects.filter(name="New").exists()
    body |= {"expected_close": str(dt.date(2030, 1, 1)), "custom": {"budget": "1"}}
    assert as_user(cast.rep).post("/deals", body).status_code == 201


def test_stages_show_and_take_their_required_fields_from_administrators_only(
    cast, as_user, pipeline
):
    propose = pipeline.stages.get(name="Propose")
    admin, rep = as_user(cast.admin), as_user(cast.rep)
    assert rep.get(f"/stages/{propose.pk}").json()["required_fields"] == []
    assert rep.patch(f"/stages/{propose.pk}", {"required_fields": ["budget"]}).status_code == 403
    r = admin.patch(f"/stages/{propose.pk}", {"required_fields": ["amount", "budget"]})
    assert r.status_code == 200, r.content
    assert r.json()["required_fields"] == ["amount", "budget"]
    r = admin.patch(f"/stages/{propose.pk}", {"required_fields": ["status"]})
    assert r.status_code == 422
    assert "“status”" in r.json()["detail"]
    stages = rep.get(f"/pipelines/{pipeline.pk}").json()["stages"]
    assert {s["name"]: s["required_fields"] for s in stages}["Negotiate"] == [
        "expected_close",
        "budget",
    ]
    r = admin.post(
        "/stages", {"pipeline": pipeline.pk, "name": "Review", "required_fields": ["source"]}
    )
    assert r.status_code == 201, r.content
    assert r.json()["required_fields"] == ["source"]


# -- custom fields --------------------------------------------------------------------------


def test_a_custom_field_with_a_built_in_key_is_refused(cast, as_user):
    body = {"object_type": "deal", "key": "amount", "label": "Amount 2", "field_type": "number"}
    r = as_user(cast.admin).post("/custom-fields", body)
    assert r.status_code == 422
    assert r.json()["errors"]["key"] == [
        "“amount” is the name of a built-in field of this kind of record; choose another key."
    ]
    assert not CustomField.objects.exists()


def test_a_custom_fields_default_is_set_through_the_api_and_applied(cast, as_user, pipeline):
    admin = as_user(cast.admin)
    body = {
        "object_type": "customer",
        "key": "tier",
        "label": "Tier",
        "field_type": "select",
        "options": [{"value": "a", "label": "Gold"}, {"value": "b", "label": "Silver"}],
        "default": "b",
    }
    r = admin.post("/custom-fields", body)
    assert r.status_code == 201, r.content
    assert r.json()["default"] == "b"
    customer = as_user(cast.rep).post("/customers", {"name": "Beta"})
    assert customer.status_code == 201, customer.content
    assert customer.json()["custom"] == {"tier": "b"}
    field_id = r.json()["id"]
    r = admin.patch(f"/custom-fields/{field_id}", {"default": "z"})
    assert r.status_code == 422 and "default" in r.json()["errors"]
    r = admin.patch(f"/custom-fields/{field_id}", {"default": "a"})
    assert r.status_code == 200 and r.json()["default"] == "a"
    r = admin.patch(f"/custom-fields/{field_id}", {"key": "other"})
    assert r.status_code == 422
    assert (
        as_user(cast.rep).patch(f"/custom-fields/{field_id}", {"default": "b"}).status_code == 403
    )
    assert CustomField.objects.get(pk=field_id).default == "a"


def test_the_openapi_input_schemas_document_the_default(as_user):
    from salesops.api.tests.conftest import spec

    schemas = spec()["components"]["schemas"]
    assert "default" in schemas["CustomFieldCreate"]["properties"]
    assert "default" in schemas["CustomFieldUpdate"]["properties"]
    assert "required_fields" in schemas["StageUpdate"]["properties"]
