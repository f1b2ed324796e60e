"""Custom objects in the API: an object defined while the app runs (after the API module
was imported) has its routes and its own paths in the OpenAPI document at once; its
records are created, read, changed with If-Match, deleted and restored through the
services, within rights and data scopes; hidden fields are absent and refused as
filters and sorts; custom-field filters and sorts page with a keyset cursor."""

from __future__ import annotations

import pytest

from salesops.api.tests.conftest import spec
from salesops.crm import services as crm
from salesops.customization.models import CustomField
from salesops.objects import services
from salesops.objects.models import CustomRecord
from salesops.objects.tests.helpers import define_site_visit, hide

BASE = "/objects/site_visit"


@pytest.fixture
def visit(cast):
    return define_site_visit(cast)


def _create(api, **body):
    body.setdefault("title", "Visit")
    return api.post(BASE, body)


def test_an_object_defined_after_start_is_documented_with_its_typed_fields(cast, visit):
    paths = spec()["paths"]
    assert "/api/v1/objects/site_visit" in paths
    assert {"get", "post"} <= set(paths["/api/v1/objects/site_visit"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/objects/site_visit/{id}"])
    assert "post" in paths["/api/v1/objects/site_visit/{id}/restore"]
    record = spec()["components"]["schemas"]["object.site_visit.Record"]
    assert record["properties"]["customer"]
    assert "contact" not in record["properties"]  # the object links to customers only
    custom = record["properties"]["custom"]["properties"]
    assert custom["score"]["type"] == "number"
    assert custom["visited_on"]["format"] == "date"
    assert custom["outcome"]["type"] == "string"
    create = spec()["components"]["schemas"]["object.site_visit.Create"]
    assert create["required"] == ["title"]
    # A field added later is in the next document (no restart, no per-process cache).
    CustomField.objects.create(
        object_type="site_visit", key="revisit", label="Revisit", field_type="boolean"
    )
    record = spec()["components"]["schemas"]["object.site_visit.Record"]
    assert record["properties"]["custom"]["properties"]["revisit"]["type"] == "boolean"


def test_a_record_is_created_read_changed_with_if_match_deleted_and_restored(cast, as_user, visit):
    customer = crm.create_customer(by=cast.rep, name="Acme")
    api = as_user(cast.rep)
    r = _create(
        api,
        title="First visit",
        customer=customer.pk,
        custom={"outcome": "good", "score": 7.5, "visited_on": "2026-12-01"},
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["owner"] == cast.rep.pk and body["customer"] == customer.pk
    assert body["custom"] == {"outcome": "good", "score": 7.5, "visited_on": "2026-12-01"}
    pk = body["id"]
    assert r["Location"].endswith(f"{BASE}/{pk}")
    etag = api.get(f"{BASE}/{pk}")["ETag"]
    assert etag == '"1"'
    r = api.patch(f"{BASE}/{pk}", {"title": "Second", "custom": {"score": 9}}, **{"If-Match": etag})
    assert r.status_code == 200 and r.json()["title"] == "Second"
    assert r.json()["custom"]["score"] == 9 and r["ETag"] == '"2"'
    stale = api.patch(f"{BASE}/{pk}", {"title": "Third"}, **{"If-Match": etag})
    assert stale.status_code == 412
    assert CustomRecord.objects.get(pk=pk).title == "Second"
    assert api.delete(f"{BASE}/{pk}", **{"If-Match": '"1"'}).status_code == 412
    assert api.delete(f"{BASE}/{pk}").status_code == 204
    assert api.get(f"{BASE}/{pk}").status_code == 404
    deleted = api.get(BASE, {"deleted": "true"}).json()["data"]
    assert [d["id"] for d in deleted] == [pk]
    r = api.post(f"{BASE}/{pk}/restore")
    assert r.status_code == 200 and r.json()["title"] == "Second"
    assert api.get(BASE).json()["data"][0]["id"] == pk


def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(cast, as_user, visit):
    api = as_user(cast.rep)
    r = _create(api, custom={"score": "lots", "outcome": "maybe"})
    assert r.status_code == 422
    assert {"custom.score", "custom.outcome"} <= set(r.json()["errors"])
    r = _create(api, deal=1)  # the object does not link to deals
    assert r.status_code == 422
    r = api.post(BASE, {"custom": {}})
    assert r.status_code == 422 and "title" in r.json()["errors"]
    other = crm.create_customer(by=cast.outsider, name="West Co")
    r = _create(api, customer=other.pk)  # a customer the rep cannot see
    assert r.status_code == 422 and "customer" in r.json()["errors"]
    assert not CustomRecord.all_objects.exists()


def test_an_outsider_gets_404_for_the_reps_record_and_an_empty_list(cast, as_user, visit):
    record = services.create_record(
        by=cast.rep, object_type="site_visit", data={"title": "Mine"}, custom={}
    )
    outsider = as_user(cast.outsider)
    assert outsider.get(f"{BASE}/{record.pk}").status_code == 404
    assert outsider.patch(f"{BASE}/{record.pk}", {"title": "x"}).status_code == 404
    assert outsider.delete(f"{BASE}/{record.pk}").status_code == 404
    assert outsider.get(BASE).json()["data"] == []
    assert as_user(cast.manager).get(f"{BASE}/{record.pk}").status_code == 200


def test_an_unknown_or_built_in_object_key_is_a_404(cast, as_user, visit):
    api = as_user(cast.admin)
    assert api.get("/objects/nothing_here").status_code == 404
    assert api.get("/objects/deal").status_code == 404


def test_a_role_without_rights_on_the_object_cannot_create_there(cast, as_user, visit):
    role = cast.rep.role
    role.rights = {**role.rights, "site_visit": ["view"]}
    role.save()
    r = _create(as_user(cast.rep))
    assert r.status_code == 403
    assert not CustomRecord.all_objects.exists()


def test_custom_filters_and_sorts_page_with_a_cursor(cast, as_user, visit):
    for i in range(7):
        services.create_record(
            by=cast.rep,
            object_type="site_visit",
            data={"title": f"V{i}"},
            custom={"outcome": "good" if i % 2 else "bad", **({"score": i} if i < 5 else {})},
        )
    api = as_user(cast.rep)
    seen, cursor = [], None
    while True:
        params = {"custom.outcome": "good", "sort": "-custom.score", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = api.get(BASE, params)
        assert page.status_code == 200, page.json()
        seen += [(d["title"], d["custom"].get("score")) for d in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    # Records without a score come first descending (as empty values sort largest).
    assert seen == [("V5", None), ("V3", 3), ("V1", 1)]
    ascending = api.get(BASE, {"sort": "custom.score", "custom.score__gte": "2", "limit": 50})
    assert [d["title"] for d in ascending.json()["data"]] == ["V2", "V3", "V4"]
    by_title = api.get(BASE, {"sort": "title", "limit": 3})
    assert [d["title"] for d in by_title.json()["data"]] == ["V0", "V1", "V2"]
    nxt = api.get(BASE, {"sort": "title", "limit": 3, "cursor": by_title.json()["next_cursor"]})
    assert [d["title"] for d in nxt.json()["data"]] == ["V3", "V4", "V5"]
    bad = api.get(BASE, {"sort": "-custom.score", "cursor": by_title.json()["next_cursor"]})
    assert bad.status_code == 422 and "cursor" in bad.json()["errors"]
    assert api.get(BASE, {"custom.outcome": "x", "custom.score__icontains": "1"}).status_code == 422


def test_a_hidden_custom_field_is_absent_and_refused_as_filter_sort_and_write(cast, as_user, visit):
    record = services.create_record(
        by=cast.rep,
        object_type="site_visit",
        data={"title": "V"},
        custom={"score": 8, "outcome": "good"},
    )
    hide(cast.rep.role, "site_visit", "score")
    api = as_user(cast.rep)
    got = api.get(f"{BASE}/{record.pk}").json()
    assert got["custom"] == {"outcome": "good"}
    assert "score" not in api.get(BASE).content.decode()
    for params in ({"custom.score": "8"}, {"sort": "custom.score"}, {"sort": "-custom.score"}):
        r = api.get(BASE, params)
        assert r.status_code == 422, params
        assert "no field" in r.json()["detail"]
    unknown = api.get(BASE, {"custom.nothing": "8"})
    hidden = api.get(BASE, {"custom.score": "8"}).json()["detail"]
    assert unknown.json()["detail"].replace("nothing", "score") == hidden
    r = api.patch(f"{BASE}/{record.pk}", {"custom": {"score": 1}})
    assert r.status_code == 422 and "custom.score" in r.json()["errors"]
    assert CustomRecord.objects.get(pk=record.pk).custom["score"] == 8
    # The administrator sees and sorts by it.
    admin = as_user(cast.admin)
    assert admin.get(f"{BASE}/{record.pk}").json()["custom"]["score"] == 8
    assert admin.get(BASE, {"sort": "custom.score"}).status_code == 200


def test_bulk_create_is_all_or_nothing(cast, as_user, visit):
    api = as_user(cast.rep)
    r = api.post(
        f"{BASE}/bulk", {"items": [{"title": "A"}, {"title": "B", "custom": {"score": "x"}}]}
    )
    assert r.status_code == 422 and "items.1.custom.score" in r.json()["errors"]
    assert not CustomRecord.all_objects.exists()
    r = api.post(f"{BASE}/bulk", {"items": [{"title": "A"}, {"title": "B"}]})
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["results"]] == [201, 201]
