"""Custom objects' pages, with no code per object: the settings that define one, its
list, record, create and edit pages, its records on the customer they link to, the
navigation and global search — within the object's rights, the data scope and the
roles' hidden fields; and sorting by a custom field pages by keyset, through the
field's expression index."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesops.crm.tests.factories import CustomerFactory, DealFactory, PipelineFactory
from salesops.customization import admin_services as fields_admin
from salesops.customization import registry
from salesops.customization.models import CustomField
from salesops.objects import indexes, services
from salesops.objects.models import CustomObject, CustomRecord
from salesops.users.models import Role, User

T = CustomField.Type


def define(cast, key="site_visit", label="Site visit", plural="Site visits", links=("customer",)):
    obj = services.define_object(
        by=cast.admin,
        key=key,
        label=label,
        plural=plural,
        title_label="Subject",
        links=list(links),
    )
    return obj


@pytest.fixture
def visit(cast):
    """A site visit object linked to customers, with a select, a number, a date and a
    secret text field; an East customer with two visits, a West one with one."""
    define(cast)
    add = fields_admin.create_custom_field
    add(
        by=cast.admin,
        object_type="site_visit",
        key="outcome",
        label="Outcome",
        field_type=T.SELECT,
        options=[{"value": "good", "label": "Good"}, {"value": "bad", "label": "Bad"}],
    )
    add(by=cast.admin, object_type="site_visit", key="score", label="Score", field_type=T.NUMBER)
    add(by=cast.admin, object_type="site_visit", key="visited_on", label="Visited on", field_type=T.DATE)  # fmt: skip
    add(by=cast.admin, object_type="site_visit", key="secret", label="Secret note", field_type=T.TEXT)  # fmt: skip
    east = CustomerFactory(owner=cast.rep, name="East customer")
    west = CustomerFactory(owner=cast.outsider, name="West customer")

    def record(by, title, customer, **custom):
        return services.create_record(
            by=by,
            object_type="site_visit",
            data={"title": title, "customer": customer.pk},
            custom=custom,
        )

    rep = User.objects.get(pk=cast.rep.pk)
    outsider = User.objects.get(pk=cast.outsider.pk)
    first = record(rep, "First visit", east, outcome="good", score=7, secret="XYZZY-first")
    second = record(rep, "Second visit", east, outcome="bad", score=3)
    theirs = record(outsider, "West visit", west, outcome="good", score=9)
    return {"east": east, "west": west, "first": first, "second": second, "theirs": theirs}


def url(name, *args):
    return reverse(name, args=args)


# -- settings ----------------------------------------------------------------------------------


def test_an_administrator_defines_edits_retires_and_restores_an_object_from_the_pages(
    cast, signed_in
):
    client = signed_in(cast.admin)
    assert "Custom objects" in client.get(url("settings")).text
    response = client.post(
        url("settings_objects"),
        {
            "key": "competitor",
            "label": "Competitor",
            "plural": "Competitors",
            "title_label": "Name",
            "links": ["customer", "deal"],
        },
    )
    obj = CustomObject.objects.get(key="competitor")
    assert response.status_code == 302 and response.url == url("settings_object", obj.pk)
    assert obj.links == ["customer", "deal"] and obj.title_label == "Name"
    page = client.get(url("settings_objects")).text
    assert "Competitors" in page and "?object_type=competitor" in page

    # Its fields are managed in the custom-field editor, filtered to it.
    fields_url = url("settings_section", "custom-fields") + "?object_type=competitor"
    editor = client.get(fields_url)
    assert editor.status_code == 200
    assert 'value="competitor" selected' in editor.text
    response = client.post(
        fields_url,
        {
            "object_type": "competitor",
            "key": "strength",
            "label": "Strength",
            "field_type": T.NUMBER,
        },
    )
    assert response.status_code == 302 and response.url == fields_url
    assert registry.get("competitor").field("strength").type == "number"

    response = client.post(
        url("settings_object", obj.pk),
        {"label": "Rival", "plural": "Rivals", "title_label": "Name", "links": ["customer"]},
    )
    assert response.status_code == 302
    assert registry.get("competitor").plural == "Rivals"
    assert registry.get("competitor").links == ("customer",)

    client.post(url("settings_object_active", obj.pk), {"active": "0"})
    assert registry.find("competitor") is None
    assert client.get(url("object_list", "competitor")).status_code == 404
    client.post(url("settings_object_active", obj.pk), {"active": "1"})
    assert client.get(url("object_list", "competitor")).status_code == 200


def test_the_define_form_says_what_to_fix_and_saves_nothing(cast, signed_in):
    client = signed_in(cast.admin)
    response = client.post(
        url("settings_objects"), {"key": "deal", "label": "X", "title_label": "Name"}
    )
    assert response.status_code == 200 and "built-in name" in response.text
    response = client.post(
        url("settings_objects"), {"key": "Bad Key", "label": "X", "title_label": "Name"}
    )
    assert "lower-case letters" in response.text
    assert not CustomObject.objects.exists()


def test_only_administrators_open_the_object_settings(cast, signed_in, visit):
    obj = CustomObject.objects.get(key="site_visit")
    client = signed_in(cast.manager)
    assert client.get(url("settings_objects")).status_code == 403
    assert client.get(url("settings_object", obj.pk)).status_code == 403
    assert client.post(url("settings_object_active", obj.pk), {"active": "0"}).status_code == 403
    assert registry.find("site_visit") is not None


def test_the_role_editor_grants_rights_per_object_key(cast, signed_in, visit):
    role = Role.objects.get(pk=cast.manager.role_id)
    client = signed_in(cast.admin)
    html = client.get(url("settings_item", "roles", role.pk)).text
    assert 'name="rights_site_visit"' in html and 'name="hidden_site_visit"' in html
    response = client.post(
        url("settings_item", "roles", role.pk),
        {
            "name": role.name,
            "data_scope": role.data_scope,
            "rights_customer": ["view"],
            "rights_site_visit": ["view", "create"],
            "hidden_site_visit": ["secret"],
        },
    )
    assert response.status_code == 302
    role.refresh_from_db()
    assert role.rights == {"customer": ["view"], "site_visit": ["view", "create"]}
    assert role.hidden_fields == {"site_visit": ["secret"]}


def test_a_retired_objects_rights_are_kept_when_a_role_is_saved(cast, signed_in, visit):
    obj = CustomObject.objects.get(key="site_visit")
    services.update_object(
        by=cast.admin, obj=obj, label=obj.label, plural=obj.plural,
        title_label=obj.title_label, links=obj.links, active=False,
    )  # fmt: skip
    role = cast.manager.role
    role.refresh_from_db()
    before = role.rights["site_visit"]
    response = signed_in(cast.admin).post(
        url("settings_item", "roles", role.pk),
        {"name": role.name, "data_scope": role.data_scope, "rights_customer": ["view"]},
    )
    assert response.status_code == 302
    role.refresh_from_db()
    assert role.rights["site_visit"] == before and role.rights["customer"] == ["view"]


def test_rights_on_an_unknown_object_are_refused(cast):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        fields_admin.save_role(
            by=cast.admin,
            role=cast.rep.role,
            data={"rights": {"no_such_thing": ["view"]}},
        )
    assert "no_such_thing" in refused.value.message_dict["rights"][0]
    assert "no_such_thing" not in Role.objects.get(pk=cast.rep.role.pk).rights


# -- the pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "rep"])
def test_every_page_works_for_an_administrator_and_a_rep(cast, signed_in, visit, who):
    user = getattr(cast, who)
    client = signed_in(user)
    first = visit["first"]
    listing = client.get(url("object_list", "site_visit"))
    assert listing.status_code == 200
    assert "First visit" in listing.text and "Second visit" in listing.text
    assert "Outcome" in listing.text and "Good" in listing.text
    record = client.get(url("object_record", "site_visit", first.pk))
    assert record.status_code == 200
    assert (
        "First visit" in record.text and "East customer" in record.text and "Subject" in record.text
    )
    assert url("object_field", "site_visit", first.pk, "cf_score") in record.text

    # create, with the customer given in the address
    new = client.get(url("object_new", "site_visit") + f"?customer={visit['east'].pk}")
    assert new.status_code == 200 and "East customer" in new.text
    response = client.post(
        url("object_new", "site_visit") + f"?customer={visit['east'].pk}",
        {
            "title": f"Visit by {who}",
            "customer": visit["east"].pk,
            "owner": user.pk,
            "cf_outcome": "good",
            "cf_score": "5.5",
            "cf_visited_on": "2026-03-01",
        },
    )
    created = CustomRecord.objects.get(title=f"Visit by {who}")
    assert response.status_code == 302 and response.url == url(
        "object_record", "site_visit", created.pk
    )
    assert created.custom["score"] == 5.5 and created.customer == visit["east"]

    # the full edit form and an inline field edit
    edit = client.get(url("object_edit", "site_visit", created.pk))
    assert edit.status_code == 200
    response = client.post(
        url("object_edit", "site_visit", created.pk),
        {"version": created.version, "title": "Renamed", "customer": visit["east"].pk,
         "owner": user.pk, "cf_outcome": "bad", "cf_score": "6"},
    )  # fmt: skip
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.title == "Renamed" and created.custom["outcome"] == "bad"
    inline = client.post(
        url("object_field", "site_visit", created.pk, "cf_score"),
        {"version": created.version, "cf_score": "8"},
    )
    assert inline.status_code == 200 and "8" in inline.text
    created.refresh_from_db()
    assert created.custom["score"] == 8

    # delete to the bin, then restore
    response = client.post(url("object_delete", "site_visit", created.pk))
    assert response.status_code == 302 and response.url == url("object_list", "site_visit")
    assert client.get(url("object_record", "site_visit", created.pk)).status_code == 404
    assert "Renamed" in client.get(url("object_deleted", "site_visit")).text
    response = client.post(url("object_restore", "site_visit", created.pk))
    assert response.status_code == 302
    assert client.get(url("object_record", "site_visit", created.pk)).status_code == 200


def test_a_bad_value_comes_back_next_to_its_field_and_nothing_is_saved(cast, signed_in, visit):
    client = signed_in(cast.rep)
    response = client.post(
        url("object_new", "site_visit"),
        {"title": "Visit", "owner": cast.rep.pk, "cf_outcome": "nope"},
    )
    assert response.status_code == 200
    assert "“nope” is not one of the options of Outcome." in response.text
    assert not CustomRecord.objects.filter(title="Visit").exists()


def test_bulk_delete_from_the_list(cast, signed_in, visit):
    client = signed_in(cast.rep)
    response = client.post(
        url("object_list", "site_visit"),
        {"action": "delete", "ids": [visit["first"].pk, visit["theirs"].pk]},
    )
    results = response.context["bulk_results"]
    assert [r["ok"] for r in results] == [True, False]
    assert not CustomRecord.objects.filter(pk=visit["first"].pk).exists()
    assert CustomRecord.objects.filter(pk=visit["theirs"].pk).exists()


def test_an_outsider_sees_none_of_another_teams_records(cast, signed_in, visit):
    client = signed_in(cast.outsider)
    first = visit["first"]
    for name, args in [
        ("object_record", [first.pk]),
        ("object_edit", [first.pk]),
        ("object_field", [first.pk, "cf_score"]),
    ]:
        assert client.get(url(name, "site_visit", *args)).status_code == 404, name
    assert client.post(url("object_delete", "site_visit", first.pk)).status_code == 404
    listing = client.get(url("object_list", "site_visit")).text
    assert "West visit" in listing and "First visit" not in listing
    assert "First visit" not in client.get(url("search"), {"q": "visit"}).text
    # the customer page of their own customer lists only their visits
    page = client.get(url("customer_detail", visit["west"].pk)).text
    assert "West visit" in page and "First visit" not in page
    # a link to a customer they cannot see is refused
    response = client.get(url("object_new", "site_visit") + f"?customer={visit['east'].pk}")
    assert response.status_code == 404
    CustomRecord.objects.filter(pk=first.pk).update(deleted_at="2026-01-01T00:00:00Z")
    assert "First visit" not in client.get(url("object_deleted", "site_visit")).text
    assert client.post(url("object_restore", "site_visit", first.pk)).status_code == 404


def test_an_unknown_or_retired_object_is_a_404(cast, signed_in, visit):
    client = signed_in(cast.admin)
    assert client.get(url("object_list", "no_such")).status_code == 404
    assert client.get(url("object_list", "deal")).status_code == 404  # a built-in
    obj = CustomObject.objects.get(key="site_visit")
    services.update_object(
        by=cast.admin, obj=obj, label=obj.label, plural=obj.plural,
        title_label=obj.title_label, links=obj.links, active=False,
    )  # fmt: skip
    for address in (
        url("object_list", "site_visit"),
        url("object_new", "site_visit"),
        url("object_record", "site_visit", visit["first"].pk),
    ):
        assert client.get(address).status_code == 404, address
    assert "Site visits" not in client.get(url("home")).text
    assert "Site visits" not in client.get(url("customer_detail", visit["east"].pk)).text


def test_a_role_without_the_view_right_gets_403_and_no_menu_entry(cast, signed_in, visit):
    role = Role.objects.get(pk=cast.rep.role_id)
    role.rights = {k: v for k, v in role.rights.items() if k != "site_visit"}
    role.save()
    client = signed_in(cast.rep)
    for address in (
        url("object_list", "site_visit"),
        url("object_new", "site_visit"),
        url("object_record", "site_visit", visit["first"].pk),
        url("object_deleted", "site_visit"),
    ):
        assert client.get(address).status_code == 403, address
    home = client.get(url("home")).text
    assert "Site visits" not in home
    assert "Site visits" not in client.get(url("customer_detail", visit["east"].pk)).text
    assert "First visit" not in client.get(url("search"), {"q": "visit"}).text
    # the one who may view sees the menu entry
    assert url("object_list", "site_visit") in signed_in(cast.manager).get(url("home")).text


def test_a_role_that_may_view_but_not_create_gets_no_new_button_and_a_403(cast, signed_in, visit):
    role = Role.objects.get(pk=cast.rep.role_id)
    role.rights = {**role.rights, "site_visit": ["view"]}
    role.save()
    client = signed_in(cast.rep)
    listing = client.get(url("object_list", "site_visit"))
    assert listing.status_code == 200 and not listing.context["can_create"]
    assert client.get(url("object_new", "site_visit")).status_code == 403
    page = client.get(url("customer_detail", visit["east"].pk)).text
    assert "First visit" in page and url("object_new", "site_visit") not in page
    # nor edit: the record page offers no edits, the edit form is a 404
    assert client.get(url("object_edit", "site_visit", visit["first"].pk)).status_code == 404


def test_a_hidden_field_of_the_object_never_shows(cast, signed_in, visit):
    role = Role.objects.get(pk=cast.rep.role_id)
    role.hidden_fields = {"site_visit": ["secret", "score"]}
    role.save()
    client = signed_in(cast.rep)
    pages = [
        client.get(url("object_list", "site_visit")),
        client.get(url("object_list", "site_visit"), {"cols": ["title", "secret", "score"]}),
        client.get(url("object_record", "site_visit", visit["first"].pk)),
        client.get(url("object_edit", "site_visit", visit["first"].pk)),
        client.get(url("object_new", "site_visit")),
        client.get(url("customer_detail", visit["east"].pk)),
    ]
    for response in pages:
        assert response.status_code == 200
        assert "XYZZY" not in response.text and "Secret note" not in response.text
        assert "Score" not in response.text
    sorted_by = client.get(url("object_list", "site_visit"), {"sort": "-cf_score"})
    assert "This list cannot be sorted that way." in sorted_by.text
    filtered = client.get(url("object_list", "site_visit"), {"score_min": "5"})
    assert "There is no field" in filtered.text
    assert client.get(url("object_field", "site_visit", visit["first"].pk, "cf_secret")).status_code == 404  # fmt: skip
    response = client.post(
        url("object_new", "site_visit"),
        {"title": "Sneaky", "owner": cast.rep.pk, "cf_secret": "x", "cf_score": "1"},
    )
    created = CustomRecord.objects.get(title="Sneaky")
    assert response.status_code == 302 and "secret" not in created.custom
    admin = signed_in(cast.admin).get(url("object_record", "site_visit", visit["first"].pk))
    assert "XYZZY-first" in admin.text


def test_filters_and_sorts_on_custom_fields(cast, signed_in, visit):
    client = signed_in(cast.admin)

    def titles(**params):
        response = client.get(url("object_list", "site_visit"), params)
        assert response.status_code == 200
        return [row["obj"].title for row in response.context["rows"]]

    assert titles(sort="-cf_score") == ["West visit", "First visit", "Second visit"]
    assert titles(sort="cf_score") == ["Second visit", "First visit", "West visit"]
    assert titles(outcome="good", sort="cf_score") == ["First visit", "West visit"]
    assert titles(score_min="4", score_max="8") == ["First visit"]
    assert titles(q="second") == ["Second visit"]
    assert titles(customer=str(visit["east"].pk), sort="-cf_score") == [
        "First visit",
        "Second visit",
    ]


def test_the_customer_page_lists_its_visits_with_one_query_per_object(cast, signed_in, visit):
    client = signed_in(cast.rep)
    east = visit["east"]
    page = client.get(url("customer_detail", east.pk)).text
    assert "Site visits" in page and "First visit" in page and "Second visit" in page
    assert f"{url('object_list', 'site_visit')}?customer={east.pk}" in page
    assert f"{url('object_new', 'site_visit')}?customer={east.pk}" in page

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("customer_detail", east.pk)).status_code == 200
        return len(captured)

    before = queries()
    rep = User.objects.get(pk=cast.rep.pk)
    for i in range(5):
        services.create_record(
            by=rep, object_type="site_visit", data={"title": f"More {i}", "customer": east.pk}
        )
    assert queries() == before
    define(cast, key="competitor", label="Competitor", plural="Competitors")
    queries()  # the first read after a definition loads it (and its fields) once
    assert queries() == before + 1
    # A deal page shows objects linking to deals only.
    deal = DealFactory(owner=cast.rep, customer=east, pipeline=PipelineFactory())
    assert 'id="object-site_visit"' not in client.get(url("deal_detail", deal.pk)).text


def test_global_search_finds_titles_grouped_under_the_plural(cast, signed_in, visit):
    response = signed_in(cast.rep).get(url("search"), {"q": "visit"})
    assert response.status_code == 200
    html = response.text
    section = re.search(
        r'<section class="card search-objects"><h2>Site visits</h2>(.*?)</section>', html
    )
    assert section, html
    assert "First visit" in section.group(1) and "Second visit" in section.group(1)
    assert "West visit" not in html
    assert url("object_record", "site_visit", visit["first"].pk) in section.group(1)


def test_keyset_paging_by_a_custom_number_walks_every_row_once(cast, signed_in, visit, monkeypatch):
    from salesops.web.views.objects import ObjectList

    monkeypatch.setattr(ObjectList, "page_size", 4)
    rep = User.objects.get(pk=cast.rep.pk)
    for i in range(11):
        custom = {} if i % 4 == 0 else {"score": [1, 2, 2, 5][i % 4]}
        services.create_record(
            by=rep, object_type="site_visit", data={"title": f"P{i}"}, custom=custom
        )
    client = signed_in(cast.admin)
    everyone = list(CustomRecord.objects.filter(kind__key="site_visit"))
    for sort in ("cf_score", "-cf_score"):
        descending = sort.startswith("-")
        with_value = sorted(
            (r for r in everyone if r.custom.get("score") is not None),
            key=lambda r: (float(r.custom["score"]), r.pk),
            reverse=descending,
        )
        without = sorted((r for r in everyone if r.custom.get("score") is None), key=lambda r: r.pk, reverse=descending)  # fmt: skip
        expected = [r.pk for r in with_value + without]
        seen, params, pages = [], {"sort": sort}, 0
        while True:
            response = client.get(url("object_list", "site_visit"), params)
            seen += [row["obj"].pk for row in response.context["rows"]]
            pages += 1
            next_query = response.context["next_query"]
            if not next_query:
                break
            params = dict(pair.split("=", 1) for pair in next_query.split("&"))
            assert pages < 10
        assert seen == expected, sort
        assert pages == 4


def test_keyset_paging_by_a_built_in_objects_custom_field(cast, signed_in, monkeypatch):
    from salesops.crm import services as crm
    from salesops.web.views.lists import DealList

    fields_admin.create_custom_field(
        by=cast.admin, object_type="deal", key="margin", label="Margin", field_type=T.NUMBER
    )
    monkeypatch.setattr(DealList, "page_size", 3)
    pipeline = PipelineFactory(is_default=True)
    customer = CustomerFactory(owner=cast.rep)
    deals = []
    for i in range(8):
        deal = DealFactory(owner=cast.rep, customer=customer, pipeline=pipeline, name=f"D{i}")
        if i % 3:
            crm.update_record(
                obj=deal, by=cast.admin, data={}, custom={"margin": [0, 10, 4][i % 3] + i}
            )
        deals.append(deal)
    client = signed_in(cast.admin)
    seen, params = [], {"sort": "-cf_margin"}
    while True:
        response = client.get(url("deal_list"), params)
        assert "cannot be sorted" not in response.text
        seen += [row["obj"].name for row in response.context["rows"]]
        if not response.context["next_query"]:
            break
        params = dict(pair.split("=", 1) for pair in response.context["next_query"].split("&"))
    margins = {f"D{i}": [0, 10, 4][i % 3] + i for i in range(8) if i % 3}
    expected = sorted(margins, key=lambda n: (-margins[n], -int(n[1:])))
    expected += [f"D{i}" for i in (6, 3, 0)]
    assert seen == expected


def test_the_list_with_a_filter_and_a_sort_reads_the_fields_expression_index(
    cast, signed_in, visit
):
    spec = registry.get("site_visit")
    if connection.vendor == "postgresql":  # the fixture's rows' deferred checks first
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    indexes.ensure(spec)  # made on commit; these tests run in a transaction
    # More visits than the list counts (1,000): the page is read along an index, not
    # sorted after filtering as a few rows are.
    CustomRecord.objects.bulk_create(
        CustomRecord(
            kind_id=spec.custom_object_id,
            owner=cast.rep,
            title=f"Bulk {i}",
            custom={"outcome": ["good", "bad", "so-so", "none"][i % 4], "score": i % 97},
        )
        for i in range(1_200)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    client = signed_in(cast.admin)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(
            url("object_list", "site_visit"), {"outcome": "good", "sort": "-cf_score"}
        )
    assert response.status_code == 200
    sql = next(
        q["sql"]
        for q in captured.captured_queries
        if "objects_customrecord" in q["sql"] and "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]
    )
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = " ".join(str(row) for row in cursor.fetchall())
        else:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql)
            plan = " ".join(row[0] for row in cursor.fetchall())
    assert "custrec_cf_" in plan, plan
