"""Formula and roll-up fields on the pages, in lists, reports and the API: shown
read-only, never in edit forms, refused in writes, filterable and measurable; set up
by administrators only, with the error's position or the unknown name."""

from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.api.tests.conftest import ApiClient
from salesops.crm import services
from salesops.crm.tests.factories import CustomerFactory, PipelineFactory
from salesops.customization import admin_services as fields_admin
from salesops.customization.models import CustomField
from salesops.reports import services as reports

pytestmark = pytest.mark.django_db
T = CustomField.Type


@pytest.fixture
def world(cast):
    pipeline = PipelineFactory.create(name="Sales")
    fields_admin.create_custom_field(
        by=cast.admin,
        object_type="deal",
        key="weighted",
        label="Weighted",
        field_type=T.FORMULA,
        expression="amount * probability / 100",
        result_type="money",
    )
    fields_admin.create_custom_field(
        by=cast.admin,
        object_type="customer",
        key="won_total",
        label="Won amount",
        field_type=T.ROLLUP,
        rollup_object="deal",
        rollup_link="customer",
        rollup_aggregate="sum",
        rollup_field="amount",
        rollup_condition='status == "won"',
    )
    acme = CustomerFactory.create(owner=cast.rep, name="Acme")
    small = CustomerFactory.create(owner=cast.rep, name="Small")
    big = services.create_deal(
        by=cast.rep, customer=acme, name="Big", pipeline=pipeline, amount="5000", probability=40
    )
    tiny = services.create_deal(
        by=cast.rep, customer=small, name="Tiny", pipeline=pipeline, amount="90", probability=10
    )
    services.mark_deal_won(deal=big, by=cast.rep)
    services.mark_deal_won(deal=tiny, by=cast.rep)
    # Winning clears a deal's own probability: only the open deal has a weighted amount.
    open_deal = services.create_deal(
        by=cast.rep, customer=acme, name="Open", pipeline=pipeline, amount="1000", probability=45
    )
    return {"acme": acme, "small": small, "big": big, "tiny": tiny, "open": open_deal}


def test_a_formula_is_shown_read_only_on_the_record_page_and_left_out_of_the_edit_form(
    cast, signed_in, world
):
    client = signed_in(cast.rep)
    deal = world["open"]
    page = client.get(reverse("deal_detail", args=[deal.pk]))
    row = next(r for r in page.context["field_rows"] if r["name"] == "cf_weighted")
    assert row["editable"] is False
    assert "Weighted" in page.content.decode() and "450" in str(row["value"])
    edit = client.get(reverse("deal_edit", args=[deal.pk]))
    assert "cf_weighted" not in edit.content.decode()
    assert "cf_weighted" in {r["name"] for r in page.context["field_rows"]}


def test_a_roll_up_filters_a_list(cast, signed_in, world):
    client = signed_in(cast.rep)
    response = client.get(reverse("customer_list"), {"won_total_min": "1000"})
    assert [row["obj"].name for row in response.context["rows"]] == ["Acme"]
    response = client.get(reverse("customer_list"), {"won_total_max": "1000"})
    assert [row["obj"].name for row in response.context["rows"]] == ["Small"]


def test_a_formula_and_a_roll_up_measure_and_filter_a_report(cast, world):
    result = reports.run_definition(
        user=cast.rep,
        object_type="deal",
        definition={"measures": [{"agg": "sum", "field": "custom.weighted"}]},
    )
    assert result.values == [[Decimal("450.00")]]
    result = reports.run_definition(
        user=cast.rep,
        object_type="customer",
        definition={
            "filters": [{"field": "custom.won_total", "op": "gte", "value": "100"}],
            "measures": [{"agg": "count"}],
        },
    )
    assert result.values == [[1]]


def test_the_api_shows_computed_values_and_refuses_writing_them(cast, world):
    api = ApiClient(cast.rep)
    acme = world["acme"]
    got = api.get(f"/customers/{acme.pk}").json()
    assert got["custom"]["won_total"] == "5000.00"
    r = api.patch(f"/customers/{acme.pk}", {"custom": {"won_total": "1"}})
    assert r.status_code in (400, 422)
    assert "won_total" in r.content.decode()
    acme.refresh_from_db()
    assert acme.custom["won_total"] == "5000.00"


def test_the_api_cannot_create_a_formula_without_its_checks(cast):
    r = ApiClient(cast.admin).post(
        "/custom-fields",
        {"object_type": "deal", "key": "w", "label": "W", "field_type": "formula"},
    )
    assert r.status_code in (400, 422)
    assert not CustomField.objects.filter(key="w").exists()


def section():
    return reverse("settings_section", args=["custom-fields"])


def test_an_administrator_sets_up_a_formula_and_a_roll_up_on_the_settings_page(cast, signed_in):
    client = signed_in(cast.admin)
    response = client.post(
        section(),
        {
            "object_type": "deal",
            "key": "weighted",
            "label": "Weighted",
            "field_type": "formula",
            "expression": "amount * probability / 100",
            "result_type": "money",
        },
    )
    assert response.status_code == 302
    response = client.post(
        section(),
        {
            "object_type": "customer",
            "key": "deals_n",
            "label": "Deals",
            "field_type": "rollup",
            "rollup_object": "deal",
            "rollup_link": "customer",
            "rollup_aggregate": "count",
        },
    )
    assert response.status_code == 302
    rollup = CustomField.objects.get(key="deals_n")
    assert (rollup.result_type, rollup.rollup_aggregate) == ("number", "count")
    html = client.get(section()).content.decode()
    assert "amount * probability / 100" in html
    page = client.get(reverse("settings_item", args=["custom-fields", rollup.pk])).content
    assert b"rollup_link" in page and b"expression" not in page


def test_the_settings_page_refuses_a_broken_formula_or_roll_up_saying_where(cast, signed_in):
    client = signed_in(cast.admin)
    response = client.post(
        section(),
        {
            "object_type": "deal",
            "key": "weighted",
            "label": "Weighted",
            "field_type": "formula",
            "expression": "amount * * 2",
            "result_type": "number",
        },
    )
    assert response.status_code == 200
    assert "At character" in response.content.decode()
    response = client.post(
        section(),
        {
            "object_type": "customer",
            "key": "n",
            "label": "N",
            "field_type": "rollup",
            "rollup_object": "deal",
            "rollup_link": "buyer",
            "rollup_aggregate": "count",
        },
    )
    assert response.status_code == 200
    assert "“buyer”" in response.content.decode()
    assert not CustomField.objects.exists()


def test_nobody_but_an_administrator_sets_up_a_formula_on_the_page(cast, signed_in):
    for user in (cast.rep, cast.manager, cast.analyst):
        response = signed_in(user).post(
            section(),
            {
                "object_type": "deal",
                "key": "weighted",
                "label": "Weighted",
                "field_type": "formula",
                "expression": "amount",
                "result_type": "money",
            },
        )
        assert response.status_code == 403
    assert not CustomField.objects.exists()
