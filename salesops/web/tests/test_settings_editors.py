"""The settings pages' editors: custom fields (with options), picklists, currencies,
price lists, stages and the roles' hidden fields. Administrators use them; anyone else
is refused (403), whatever they post."""

from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.crm.models import PriceList
from salesops.crm.tests.factories import PipelineFactory, ProductFactory
from salesops.customization import admin_services as fields_admin
from salesops.customization import policy, registry
from salesops.customization.models import CustomField, Picklist
from salesops.org.models import Currency
from salesops.users.models import Role, User

T = CustomField.Type
SECTIONS = ["custom-fields", "picklists", "currencies", "price-lists", "roles"]


def section(key):
    return reverse("settings_section", args=[key])


def item(key, pk):
    return reverse("settings_item", args=[key, pk])


@pytest.fixture
def tier(cast):
    return fields_admin.create_custom_field(
        by=cast.admin,
        object_type="customer",
        key="tier",
        label="Tier",
        field_type=T.SELECT,
        options=[{"value": "a", "label": "Gold"}, {"value": "b", "label": "Silver"}],
    )


def test_every_editor_opens_for_an_administrator(cast, signed_in, tier):
    client = signed_in(cast.admin)
    for key in SECTIONS:
        assert client.get(section(key)).status_code == 200, key
    html = client.get(item("custom-fields", tier.pk)).content.decode()
    assert "Gold" in html and "Add an option" in html


def test_every_editor_refuses_anyone_else(cast, signed_in, tier):
    picklist = Picklist.objects.create(key="regions", name="Regions")
    for user in (cast.rep, cast.manager, cast.analyst):
        client = signed_in(user)
        for key in SECTIONS:
            assert client.get(section(key)).status_code == 403, key
        assert client.post(section("custom-fields"), {"row": tier.pk, "action": "retire"}).status_code == 403  # fmt: skip
        assert client.post(item("custom-fields", tier.pk), {"action": "option_add", "value": "z"}).status_code == 403  # fmt: skip
        assert client.post(item("picklists", picklist.pk), {"action": "option_add", "value": "z"}).status_code == 403  # fmt: skip
        response = client.post(item("roles", user.role_id), {"name": "Taken", "data_scope": "all"})
        assert response.status_code == 403
    tier.refresh_from_db()
    assert tier.active and tier.option_values() == ["a", "b"]
    assert not picklist.options.exists()
    assert Role.objects.filter(name="Taken").count() == 0


def test_an_administrator_creates_a_field_with_a_default_from_the_page(cast, signed_in):
    client = signed_in(cast.admin)
    response = client.post(
        section("custom-fields"),
        {
            "object_type": "task",
            "key": "effort",
            "label": "Effort",
            "field_type": T.SELECT,
            "options": "s=Small\nl=Large",
            "default": "s",
            "help_text": "How big",
        },
    )
    assert response.status_code == 302
    field = CustomField.objects.get(object_type="task", key="effort")
    assert field.default == "s" and field.help_text == "How big"
    assert registry.get("task").field("effort").default == "s"


def test_the_page_refuses_a_built_in_key_with_a_message(cast, signed_in):
    client = signed_in(cast.admin)
    response = client.post(
        section("custom-fields"),
        {"object_type": "deal", "key": "amount", "label": "Amount", "field_type": T.NUMBER},
    )
    assert response.status_code == 200
    assert "built-in field" in response.content.decode()
    assert not CustomField.objects.exists()


def test_retire_and_restore_from_the_list_keep_the_values(cast, signed_in, tier):
    from salesops.crm import services as crm

    customer = crm.create_customer(by=cast.rep, name="Acme", custom={"tier": "a"})
    client = signed_in(cast.admin)
    client.post(section("custom-fields"), {"row": tier.pk, "action": "retire"})
    assert not CustomField.objects.get(pk=tier.pk).active
    assert registry.get("customer").field("tier") is None
    html = client.get(section("custom-fields")).content.decode()
    assert "Restore" in html
    client.post(section("custom-fields"), {"row": tier.pk, "action": "restore"})
    assert CustomField.objects.get(pk=tier.pk).active
    customer.refresh_from_db()
    assert customer.custom == {"tier": "a"}


def test_the_options_editor_relabels_adds_and_deactivates(cast, signed_in, tier):
    client = signed_in(cast.admin)
    url = item("custom-fields", tier.pk)
    back = {"back": "item"}
    response = client.post(url, {**back, "action": "option_add", "value": "c", "label": "Bronze"})
    assert response["Location"] == url
    client.post(url, {**back, "action": "option_label", "value": "a", "label": "Platinum"})
    client.post(url, {**back, "action": "option_off", "value": "b"})
    client.post(url, {**back, "action": "option_up", "value": "c"})
    tier.refresh_from_db()
    assert [(o["value"], o["label"], o["active"]) for o in tier.all_options()] == [
        ("a", "Platinum", True),
        ("c", "Bronze", True),
        ("b", "Silver", False),
    ]


def test_fields_move_up_and_down_from_the_list(cast, signed_in, tier):
    other = fields_admin.create_custom_field(
        by=cast.admin, object_type="customer", key="score", label="Score", field_type=T.NUMBER
    )
    client = signed_in(cast.admin)
    client.post(section("custom-fields"), {"row": other.pk, "action": "up"})
    keys = [f.key for f in registry.get("customer").fields() if f.is_custom]
    assert keys == ["score", "tier"]


def test_picklist_editor(cast, signed_in):
    client = signed_in(cast.admin)
    client.post(section("picklists"), {"key": "regions", "name": "Regions"})
    picklist = Picklist.objects.get(key="regions")
    url = item("picklists", picklist.pk)
    client.post(url, {"back": "item", "action": "option_add", "value": "north", "label": "North"})
    client.post(url, {"back": "item", "action": "option_add", "value": "south"})
    north = picklist.options.get(value="north")
    client.post(url, {"back": "item", "action": "option_label", "option": north.pk, "label": "北"})
    client.post(url, {"back": "item", "action": "option_off", "option": north.pk})
    client.post(url, {"key": "areas", "name": "Areas"})
    picklist.refresh_from_db()
    assert picklist.key == "regions" and picklist.name == "Areas"
    rows = list(picklist.options.order_by("order").values_list("value", "label", "active"))
    assert rows == [("north", "北", False), ("south", "south", True)]
    assert "北" in client.get(url).content.decode()


def test_currency_editor(cast, signed_in):
    client = signed_in(cast.admin)
    client.post(section("currencies"), {"code": "XTS", "name": "Test units", "symbol": "T"})
    assert Currency.objects.get(code="XTS").active
    client.post(section("currencies"), {"row": "XTS", "action": "retire"})
    assert not Currency.objects.get(code="XTS").active


def test_price_list_editor_sets_prices_per_product(cast, signed_in):
    chair, desk = ProductFactory.create(name="Chair"), ProductFactory.create(name="Desk")
    client = signed_in(cast.admin)
    client.post(section("price-lists"), {"name": "Partners", "currency": "CNY"})
    price_list = PriceList.objects.get(name="Partners")
    url = item("price-lists", price_list.pk)
    client.post(url, {"back": "item", "action": "items", "product": chair.pk, "price": "90"})
    client.post(url, {"back": "item", "action": "items", "product": desk.pk, "price": "200"})
    prices = dict(price_list.items.values_list("product__name", "price"))
    assert prices == {"Chair": Decimal("90.00"), "Desk": Decimal("200.00")}
    chair_item = price_list.items.get(product=chair)
    client.post(url, {"back": "item", "action": "items", f"remove_{chair_item.pk}": "1"})
    assert list(price_list.items.values_list("product__name", flat=True)) == ["Desk"]
    client.post(section("price-lists"), {"row": price_list.pk, "action": "retire"})
    assert not PriceList.objects.get(pk=price_list.pk).active


def test_stage_forecast_category_and_position_are_set_on_the_pipeline_page(cast, signed_in):
    pipeline = PipelineFactory.create()
    first = pipeline.stages.order_by("order").first()
    client = signed_in(cast.admin)
    url = reverse("settings_pipeline", args=[pipeline.pk])
    client.post(
        url,
        {
            "rename": first.pk,
            "name": first.name,
            "probability": "20",
            "forecast_category": "commit",
        },
    )
    first.refresh_from_db()
    assert first.forecast_category == "commit" and first.probability == 20
    client.post(
        url,
        {
            "stage": "1",
            "name": "Qualify",
            "probability": "5",
            "forecast_category": "omitted",
            "position": "1",
        },
    )
    top = pipeline.stages.order_by("order").first()
    assert top.name == "Qualify" and top.forecast_category == "omitted"
    assert client.get(url).status_code == 200
    assert signed_in(cast.rep).post(url, {"rename": first.pk, "name": "X"}).status_code == 403


def test_the_role_page_saves_hidden_fields_and_the_policy_then_hides_them(cast, signed_in):
    fields_admin.create_custom_field(
        by=cast.admin, object_type="deal", key="margin", label="Margin", field_type=T.NUMBER
    )
    role = cast.rep.role
    client = signed_in(cast.admin)
    html = client.get(item("roles", role.pk)).content.decode()
    assert 'name="hidden_deal" value="margin"' in html and 'value="amount"' in html
    response = client.post(
        item("roles", role.pk),
        {
            "name": role.name,
            "data_scope": role.data_scope,
            "is_sales_rep": "on",
            "rights_deal": ["view", "edit"],
            "hidden_deal": ["amount", "margin"],
            "hidden_customer": ["phone"],
        },
    )
    assert response.status_code == 302
    role.refresh_from_db()
    assert role.hidden_fields == {"deal": ["amount", "margin"], "customer": ["phone"]}
    assert role.rights == {"deal": ["view", "edit"]}
    rep = User.objects.select_related("role").get(pk=cast.rep.pk)
    assert {"amount", "margin"} <= policy.hidden_keys(rep, "deal")
    assert "phone" not in policy.visible_keys(rep, "customer")
    assert "amount" in policy.visible_keys(cast.admin, "deal")


def test_the_role_page_labels_fields_in_the_readers_language(cast, signed_in):
    role = cast.rep.role
    html = signed_in(cast.admin, language="zh-hans").get(item("roles", role.pk)).content.decode()
    assert "金额" in html
