"""Layouts cover custom objects (自定义对象) as they cover built-in ones: an object's
layout groups and orders its record page, edit form and new-record form; a section
limited to a role is neither shown nor in the forms of anyone else; the settings pages
list the custom objects and edit their layouts, for administrators only."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from salesops.crm.tests.factories import CustomerFactory
from salesops.customization import admin_services as fields_admin
from salesops.customization import layouts
from salesops.customization.models import CustomField, Layout
from salesops.objects import services
from salesops.users.models import Role, User

T = CustomField.Type
SECRET = "PLUGH-secret-note"


def section(key, fields, *, en, zh="", roles=()):
    return {
        "key": key,
        "title_zh": zh or en,
        "title_en": en,
        "fields": list(fields),
        "roles": list(roles),
    }


def in_order(html, *needles):
    positions = [html.index(n) for n in needles]
    return positions == sorted(positions)


def get(client, name, *args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200, name
    return response.content.decode()


@pytest.fixture
def visit(cast):
    """A site visit object linked to customers, with a score and a note; the rep's
    visit to their customer, with a note."""
    services.define_object(
        by=cast.admin,
        key="site_visit",
        label="Site visit",
        plural="Site visits",
        title_label="Subject",
        links=["customer"],
    )
    add = fields_admin.create_custom_field
    add(by=cast.admin, object_type="site_visit", key="score", label="Score", field_type=T.NUMBER)
    add(by=cast.admin, object_type="site_visit", key="note", label="Note", field_type=T.TEXT)
    customer = CustomerFactory(owner=cast.rep, name="East customer")
    return services.create_record(
        by=User.objects.get(pk=cast.rep.pk),
        object_type="site_visit",
        data={"title": "First visit", "customer": customer.pk},
        custom={"score": 7, "note": SECRET},
    )


def save(cast, sections):
    return fields_admin.save_layout(by=cast.admin, object_type="site_visit", sections=sections)


def test_custom_objects_have_layouts(visit):
    assert "site_visit" in {s.key for s in layouts.layout_types()}
    assert {"title", "customer", "score", "note"} <= {
        f.key for f in layouts.placeable("site_visit")
    }


def test_a_layout_on_a_custom_object_orders_its_record_page_and_forms(cast, visit, signed_in):
    save(
        cast,
        [
            section("numbers", ["score", "customer"], en="The numbers", zh="数字"),
            section("about", ["title"], en="About the visit", zh="拜访"),
        ],
    )
    client = signed_in(cast.rep)
    html = get(client, "object_record", "site_visit", visit.pk)
    assert in_order(
        html,
        "The numbers",
        'id="f-cf_score"',
        'id="f-customer"',
        "About the visit",
        'id="f-title"',
        "Other fields",
        'id="f-cf_note"',  # placed nowhere
    )
    for form in (
        get(client, "object_edit", "site_visit", visit.pk),
        get(client, "object_new", "site_visit"),
    ):
        assert in_order(
            form,
            "<legend>The numbers</legend>",
            'name="cf_score"',
            'name="customer"',
            "<legend>About the visit</legend>",
            'name="title"',
            "<legend>Other fields</legend>",
            'name="cf_note"',
        )
    assert "拜访" in get(signed_in(cast.rep, "zh-hans"), "object_record", "site_visit", visit.pk)


@pytest.fixture
def managers_only(cast, visit):
    """The visit's note is in a section shown to managers only."""
    managers = Role.objects.get(name="Manager")
    save(
        cast,
        [
            section("main", ["title", "customer", "score"], en="Main"),
            section("private", ["note"], en="Managers only", roles=[managers.pk]),
        ],
    )
    return visit


def test_a_role_limited_section_of_a_custom_object_is_not_shown_to_others(
    cast, managers_only, signed_in
):
    visit = managers_only
    rep = signed_in(cast.rep)
    html = get(rep, "object_record", "site_visit", visit.pk)
    assert "Managers only" not in html and SECRET not in html and 'id="f-cf_note"' not in html
    assert 'id="f-cf_score"' in html
    for form in (
        get(rep, "object_edit", "site_visit", visit.pk),
        get(rep, "object_new", "site_visit"),
    ):
        assert 'name="cf_note"' not in form and 'name="cf_score"' in form
    # Nor may the rep change it inline: the field is not theirs to edit here.
    field_url = reverse("object_field", args=["site_visit", visit.pk, "cf_note"])
    assert rep.get(field_url, HTTP_HX_REQUEST="true").status_code == 404
    assert rep.post(field_url, {"cf_note": "changed", "version": 1}).status_code == 404
    visit.refresh_from_db()
    assert visit.custom["note"] == SECRET

    manager = signed_in(cast.manager)
    html = get(manager, "object_record", "site_visit", visit.pk)
    assert "Managers only" in html and SECRET in html
    assert 'name="cf_note"' in get(manager, "object_edit", "site_visit", visit.pk)


def post(client, url, data):
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_settings_page_edits_a_custom_objects_layout_for_an_administrator(
    cast, visit, signed_in
):
    client = signed_in(cast.admin)
    url = reverse("settings_layout", args=["site_visit"])
    assert url in get(client, "settings_layouts")
    assert "Site visits" in get(client, "settings_layouts")
    assert url in get(client, "settings_object", visit.kind_id)
    page = get(client, "settings_layout", "site_visit")
    assert 'name="place_score"' in page and 'name="place_title"' in page

    post(client, url, {"action": "section_add", "title_zh": "数字", "title_en": "Numbers"})
    details, numbers = Layout.objects.get(object_type="site_visit").sections
    assert "score" in details["fields"] and numbers["fields"] == []
    places = {f"place_{k}": "details" for k in details["fields"]}
    notes = post(client, url, {"action": "fields", **places, "place_score": numbers["key"]})
    assert "Saved." in notes
    assert Layout.objects.get(object_type="site_visit").sections[1]["fields"] == ["score"]
    post(client, url, {"action": "section_up", "section": numbers["key"]})

    html = get(signed_in(cast.rep), "object_record", "site_visit", visit.pk)
    assert in_order(html, "Numbers", 'id="f-cf_score"', 'id="f-title"')

    client = signed_in(cast.admin)
    post(client, url, {"action": "reset"})
    assert not Layout.objects.filter(object_type="site_visit").exists()


def test_a_retired_custom_object_has_no_layout_page(cast, visit, signed_in):
    services.update_object(
        by=cast.admin,
        obj=visit.kind,
        label="Site visit",
        title_label="Subject",
        links=["customer"],
        active=False,
    )
    client = signed_in(cast.admin)
    assert client.get(reverse("settings_layout", args=["site_visit"])).status_code == 404
    assert reverse("settings_layout", args=["site_visit"]) not in get(client, "settings_layouts")


def test_the_custom_objects_layout_page_is_refused_to_a_rep(cast, visit, signed_in):
    client = signed_in(cast.rep)
    url = reverse("settings_layout", args=["site_visit"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "section_add", "title_en": "Mine"}).status_code == 403
    assert not Layout.objects.exists()
