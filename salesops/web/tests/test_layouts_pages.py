"""Record pages and forms follow the layout: its sections and their fields in order,
headings in the reader's language, a pipeline's layout for its deals, sections limited
to roles left off (and out of the forms) for everyone else, the rest under "Other
fields". The field policy still decides what anyone sees. The settings page edits
layouts for administrators only."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesops.crm.models import Customer
from salesops.crm.tests.factories import DealFactory, PipelineFactory
from salesops.customization import admin_services as fields_admin
from salesops.customization.models import CustomField, Layout
from salesops.users.models import Role

PHONE = "13812345678"


def section(key, fields, *, en, zh="", roles=()):
    return {
        "key": key,
        "title_zh": zh or en,
        "title_en": en,
        "fields": list(fields),
        "roles": list(roles),
    }


def save(world, object_type, sections, **kwargs):
    return fields_admin.save_layout(
        by=world.cast.admin, object_type=object_type, sections=sections, **kwargs
    )


def in_order(html, *needles):
    positions = [html.index(n) for n in needles]
    return positions == sorted(positions)


def get(client, name, *args, query=""):
    response = client.get(reverse(name, args=args) + query)
    assert response.status_code == 200, name
    return response.content.decode()


@pytest.fixture
def customer_layout(world):
    save(
        world,
        "customer",
        [
            section("reach", ["phone", "email"], en="How to reach", zh="联系方式"),
            section("company", ["name", "industry"], en="The company", zh="公司"),
        ],
    )
    return world


def test_a_layout_orders_the_record_page(customer_layout, signed_in):
    client = signed_in(customer_layout.cast.rep)
    html = get(client, "customer_detail", customer_layout.east.customer.pk)
    assert in_order(
        html,
        "How to reach",
        'id="f-phone"',
        'id="f-email"',
        "The company",
        'id="f-name"',
        'id="f-industry"',
        "Other fields",
        'id="f-address"',  # placed nowhere
    )


def test_a_layout_orders_the_edit_and_create_forms(customer_layout, signed_in):
    client = signed_in(customer_layout.cast.rep)
    for html in (
        get(client, "customer_edit", customer_layout.east.customer.pk),
        get(client, "customer_new"),
    ):
        assert in_order(
            html,
            "<legend>How to reach</legend>",
            'name="phone"',
            'name="email"',
            "<legend>The company</legend>",
            'name="name"',
            'name="industry"',
            "<legend>Other fields</legend>",
            'name="address"',
        )


def test_section_headings_are_in_the_readers_language(customer_layout, signed_in):
    client = signed_in(customer_layout.cast.rep, "zh-hans")
    html = get(client, "customer_detail", customer_layout.east.customer.pk)
    assert "联系方式" in html and "How to reach" not in html
    assert "<legend>公司</legend>" in get(client, "customer_edit", customer_layout.east.customer.pk)


def test_without_a_layout_the_page_and_forms_are_as_before(world, signed_in):
    client = signed_in(world.cast.rep)
    html = get(client, "customer_detail", world.east.customer.pk)
    assert "<h2>Details</h2>" in html and "Other fields" not in html
    assert "<legend>" not in get(client, "customer_edit", world.east.customer.pk)


def test_a_field_created_after_the_layout_appears_under_other_fields(customer_layout, signed_in):
    CustomField.objects.create(object_type="customer", key="tier", label="Tier", field_type="text")
    client = signed_in(customer_layout.cast.rep)
    customer = customer_layout.east.customer
    assert in_order(get(client, "customer_detail", customer.pk), "Other fields", 'id="f-cf_tier"')
    assert in_order(
        get(client, "customer_edit", customer.pk), "<legend>Other fields</legend>", 'name="cf_tier"'
    )


def test_a_pipeline_layout_wins_for_its_deals(world, signed_in):
    projects = PipelineFactory(name="Projects")
    save(world, "deal", [section("deal_main", ["name", "amount"], en="About the deal")])
    save(
        world,
        "deal",
        [section("project", ["amount", "name"], en="About the project")],
        pipeline=projects,
    )
    project_deal = DealFactory(
        owner=world.cast.rep, customer=world.east.customer, pipeline=projects
    )
    client = signed_in(world.cast.rep)
    html = get(client, "deal_detail", project_deal.pk)
    assert "About the project" in html and "About the deal" not in html
    assert in_order(html, 'id="f-amount"', 'id="f-name"')
    html = get(client, "deal_detail", world.east.deal.pk)  # the default pipeline's
    assert "About the deal" in html and "About the project" not in html
    assert in_order(html, 'id="f-name"', 'id="f-amount"')
    assert "<legend>About the project</legend>" in get(client, "deal_edit", project_deal.pk)
    new_project = get(client, "deal_new", query=f"?pipeline={projects.pk}")
    assert "<legend>About the project</legend>" in new_project
    assert "<legend>About the deal</legend>" in get(client, "deal_new")


@pytest.fixture
def managers_only(world):
    """Customers' phone and e-mail are in a section shown to managers only; East's
    customer has a phone number."""
    managers = Role.objects.get(name="Manager")
    save(
        world,
        "customer",
        [
            section("main", ["name"], en="Main"),
            section("private", ["phone", "email"], en="Managers only", roles=[managers.pk]),
        ],
    )
    Customer.objects.filter(pk=world.east.customer.pk).update(phone=PHONE)
    return world


def test_a_section_limited_to_a_role_is_not_shown_to_others(managers_only, signed_in):
    customer = managers_only.east.customer
    rep = signed_in(managers_only.cast.rep)
    html = get(rep, "customer_detail", customer.pk)
    assert "Managers only" not in html and PHONE not in html and 'id="f-phone"' not in html
    assert 'id="f-name"' in html
    for form in (get(rep, "customer_edit", customer.pk), get(rep, "customer_new")):
        assert 'name="phone"' not in form and 'name="email"' not in form
        assert 'name="name"' in form
    manager = signed_in(managers_only.cast.manager)
    html = get(manager, "customer_detail", customer.pk)
    assert "Managers only" in html and PHONE in html
    assert 'name="phone"' in get(manager, "customer_edit", customer.pk)


def test_a_post_naming_a_field_of_a_section_not_shown_does_not_change_it(managers_only, signed_in):
    customer = Customer.objects.get(pk=managers_only.east.customer.pk)
    client = signed_in(managers_only.cast.rep)
    response = client.post(
        reverse("customer_edit", args=[customer.pk]),
        {
            "name": "Renamed",
            "lifecycle_stage": customer.lifecycle_stage,
            "phone": "13000000000",
            "version": customer.version,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    customer.refresh_from_db()
    assert customer.name == "Renamed" and customer.phone == PHONE
    url = reverse("customer_field", args=[customer.pk, "phone"])
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404
    response = client.post(url, {"phone": "1", "version": customer.version})
    assert response.status_code == 404
    customer.refresh_from_db()
    assert customer.phone == PHONE


def test_a_field_hidden_by_the_policy_stays_hidden_when_a_layout_places_it(world, signed_in):
    Role.objects.filter(name="Rep").update(hidden_fields={"customer": ["phone"]})
    Customer.objects.filter(pk=world.east.customer.pk).update(phone=PHONE)
    save(world, "customer", [section("reach", ["phone", "email"], en="How to reach")])
    rep = signed_in(world.cast.rep)
    html = get(rep, "customer_detail", world.east.customer.pk)
    assert PHONE not in html and 'id="f-phone"' not in html and 'id="f-email"' in html
    form = get(rep, "customer_edit", world.east.customer.pk)
    assert 'name="phone"' not in form and 'name="email"' in form
    assert PHONE in get(signed_in(world.cast.admin), "customer_detail", world.east.customer.pk)


def test_a_layout_costs_the_record_page_no_more_queries(world, signed_in):
    client = signed_in(world.cast.rep)
    url = reverse("deal_detail", args=[world.east.deal.pk])

    def count():
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    before = count()
    save(
        world,
        "deal",
        [
            section(f"s{i}", [key], en=f"Section {i}")
            for i, key in enumerate(["name", "amount", "customer", "expected_close", "source"])
        ],
    )
    assert count() == before


# -- the settings page ---------------------------------------------------------------------------


def post(client, url, data):
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


def stored(object_type, pipeline=None):
    return Layout.objects.get(object_type=object_type, pipeline=pipeline).sections


def test_the_settings_page_edits_a_layout_for_an_administrator(world, signed_in):
    client = signed_in(world.cast.admin)
    assert reverse("settings_layouts") in get(client, "settings")
    index = get(client, "settings_layouts")
    assert reverse("settings_layout", args=["customer"]) in index
    assert reverse("settings_layout_pipeline", args=[world.pipeline.pk]) in index
    url = reverse("settings_layout", args=["customer"])
    assert 'name="place_phone"' in get(client, "settings_layout", "customer")

    post(client, url, {"action": "section_add", "title_zh": "联系方式", "title_en": "Reach"})
    details, reach = stored("customer")
    assert details["key"] == "details" and "phone" in details["fields"]
    assert reach["title_zh"] == "联系方式" and reach["fields"] == []

    places = {f"place_{k}": "details" for k in details["fields"]}
    post(client, url, {"action": "fields", **places, "place_phone": reach["key"], "place_email": reach["key"]})  # fmt: skip
    assert stored("customer")[1]["fields"] == ["phone", "email"]
    post(client, url, {"action": "fields", "move": "up:email"})
    assert stored("customer")[1]["fields"] == ["email", "phone"]

    manager = Role.objects.get(name="Manager")
    post(client, url, {"action": "section_save", "section": reach["key"], "title_zh": "联系", "title_en": "Contact", "roles": [manager.pk]})  # fmt: skip
    assert stored("customer")[1] | {"fields": None} == {
        "key": reach["key"],
        "title_zh": "联系",
        "title_en": "Contact",
        "fields": None,
        "roles": [manager.pk],
    }
    post(client, url, {"action": "section_up", "section": reach["key"]})
    assert [s["key"] for s in stored("customer")] == [reach["key"], "details"]
    assert "Contact" in get(client, "settings_layout", "customer")

    post(client, url, {"action": "section_remove", "section": reach["key"]})
    assert [s["key"] for s in stored("customer")] == ["details"]
    post(client, url, {"action": "reset"})
    assert not Layout.objects.filter(object_type="customer").exists()


def test_a_pipelines_layout_is_edited_on_its_own_page(world, signed_in):
    client = signed_in(world.cast.admin)
    save(world, "deal", [section("main", ["name"], en="Main")])
    html = get(client, "settings_layout_pipeline", world.pipeline.pk)
    assert "its deals use the deals' layout" in html
    url = reverse("settings_layout_pipeline", args=[world.pipeline.pk])
    post(client, url, {"action": "section_add", "title_en": "Project"})
    assert [s["key"] for s in stored("deal", world.pipeline)] == ["main", "section_2"]
    assert [s["key"] for s in stored("deal")] == ["main"]  # the deals' own is untouched


def test_a_bad_change_on_the_settings_page_is_refused_with_the_key_named(world, signed_in):
    client = signed_in(world.cast.admin)
    url = reverse("settings_layout", args=["lead"])
    notes = post(client, url, {"action": "fields", "place_nonsense": "details"})
    assert any("nonsense" in n for n in notes), notes
    notes = post(client, url, {"action": "section_add", "title_zh": "", "title_en": ""})
    assert any("section_2" in n and "title" in n for n in notes), notes
    assert not Layout.objects.exists()
    assert client.get(reverse("settings_layout", args=["target"])).status_code == 404


def test_the_settings_page_is_refused_to_anyone_but_an_administrator(world, signed_in):
    for user in (world.cast.rep, world.cast.manager, world.cast.analyst):
        client = signed_in(user)
        assert client.get(reverse("settings_layouts")).status_code == 403
        url = reverse("settings_layout", args=["customer"])
        assert client.get(url).status_code == 403
        response = client.post(url, {"action": "section_add", "title_en": "Mine"})
        assert response.status_code == 403
        pipeline_url = reverse("settings_layout_pipeline", args=[world.pipeline.pk])
        assert client.post(pipeline_url, {"action": "section_add", "title_en": "Mine"}).status_code == 403  # fmt: skip
    assert not Layout.objects.exists()
