import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesops.crm import services
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization.models import CustomField


@pytest.fixture
def deals(cast):
    """Twelve deals of the rep, amounts with ties, some without an expected close."""
    PipelineFactory(is_default=True)
    customer = services.create_customer(by=cast.rep, name="Acme")
    made = []
    for i in range(12):
        made.append(
            services.create_deal(
                by=cast.rep,
                customer=customer,
                name=f"Deal {i:02d}",
                amount=Decimal(100 * (i % 4)),
                expected_close=None if i % 3 == 0 else dt.date(2030, 1, 1 + i),
            )
        )
    return made


def walk(api, path, params):
    """Every page of a list; returns the ids in order and the number of pages."""
    ids, cursor, pages = [], None, 0
    while True:
        r = api.get(path, {**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.content
        body = r.json()
        ids += [row["id"] for row in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return ids, pages


@pytest.mark.parametrize(
    "sort", ["amount", "-amount", "expected_close", "-expected_close", "-id", "name", "-created_at"]
)
def test_cursor_pages_return_every_row_once_in_order_with_ties_and_empties_as_the_largest(
    cast, as_user, deals, sort
):
    api = as_user(cast.rep)
    ids, pages = walk(api, "/deals", {"sort": sort, "limit": 5})
    assert pages == 3
    assert sorted(ids) == sorted(d.pk for d in deals)
    field = sort.lstrip("-")
    rows = {d.pk: d for d in deals}

    def key(pk):
        value = getattr(rows[pk], field)
        return (value is None, value if value is not None else 0)

    values = [key(pk) for pk in ids]
    non_null = [v for v in values if not v[0]]
    assert non_null == sorted(non_null, reverse=sort.startswith("-"))
    empties = len(values) - len(non_null)
    if sort.startswith("-"):
        assert all(v[0] for v in values[:empties])  # empties first when descending
    else:
        assert all(v[0] for v in values[len(non_null) :])  # and last when ascending


def test_filters_narrow_the_list_and_combine(cast, as_user, deals):
    api = as_user(cast.rep)
    r = api.get("/deals", {"amount__gte": "200", "expected_close__isnull": "false"})
    expected = {d.pk for d in deals if d.amount >= 200 and d.expected_close is not None}
    assert {row["id"] for row in r.json()["data"]} == expected
    r = api.get("/deals", {"name__in": "Deal 01,Deal 02", "status": "open"})
    assert len(r.json()["data"]) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"deleted_at__isnull": "true"}, "deleted_at__isnull"),
        ({"owner__username": "rep"}, "owner__username"),
        ({"amount__regex": ".*"}, "amount__regex"),
        ({"amount__gte": "lots"}, "amount__gte"),
        ({"status": "maybe"}, "status"),
        ({"custom.nope": "1"}, "custom.nope"),
        ({"sort": "owner__password"}, "sort"),
        ({"fields": "name,secret"}, "fields"),
        ({"expand": "collaborators"}, "expand"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"created_at__gte": "2026-01-01T00:00:00"}, "created_at__gte"),
    ],
)
def test_anything_not_allow_listed_is_a_422_naming_the_parameter(
    cast, as_user, deals, params, field
):
    r = as_user(cast.rep).get("/deals", params)
    assert r.status_code == 422, r.content
    assert field in r.json()["errors"]
    assert r.json()["detail"]


def test_a_cursor_of_another_sort_order_is_refused(cast, as_user, deals):
    api = as_user(cast.rep)
    cursor = api.get("/deals", {"sort": "amount", "limit": 2}).json()["next_cursor"]
    r = api.get("/deals", {"sort": "-amount", "cursor": cursor})
    assert r.status_code == 422
    assert "cursor" in r.json()["errors"]


def test_custom_fields_filter_by_their_type(cast, as_user):
    CustomField.objects.create(object_type="lead", key="score", label="Score", field_type="number")
    CustomField.objects.create(
        object_type="lead",
        key="tier",
        label="Tier",
        field_type="select",
        options=[{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
    )
    api = as_user(cast.rep)
    for i in range(5):
        api.post("/leads", {"name": f"L{i}", "custom": {"score": i * 10, "tier": "ab"[i % 2]}})
    r = api.get("/leads", {"custom.score__gte": "20", "custom.tier": "a"})
    assert sorted(row["custom"]["score"] for row in r.json()["data"]) == [20, 40]
    r = api.get("/leads", {"custom.tier__icontains": "a"})
    assert r.status_code == 422
    assert "custom.tier__icontains" in r.json()["errors"]


def test_fields_choose_what_is_returned(cast, as_user, deals):
    r = as_user(cast.rep).get("/deals", {"fields": "name,amount", "limit": 2})
    assert set(r.json()["data"][0]) == {"id", "name", "amount"}


def test_expand_adds_related_objects_with_a_constant_number_of_queries(cast, as_user, deals):
    api = as_user(cast.rep)
    api.get("/deals")  # the token's first use writes last_used_at
    with CaptureQueriesContext(connection) as few:
        api.get("/deals", {"limit": 2, "expand": "customer,owner,stage,pipeline"})
    with CaptureQueriesContext(connection) as many:
        r = api.get("/deals", {"limit": 12, "expand": "customer,owner,stage,pipeline"})
    assert len(many) == len(few)
    row = r.json()["data"][0]
    assert row["customer"]["name"] == "Acme"
    assert row["owner"]["username"] == "rep"
    assert row["stage"]["name"] == "Qualify"


def test_a_list_page_is_one_query_after_authentication(cast, as_user, deals):
    api = as_user(cast.rep)
    api.get("/deals")  # warm the organisation and caches
    with CaptureQueriesContext(connection) as queries:
        api.get("/deals", {"status": "open", "sort": "-amount", "limit": 5})
    selects = [q["sql"] for q in queries if '"crm_deal"' in q["sql"]]
    assert len(selects) == 1


def test_an_expanded_reference_the_caller_may_not_see_stays_an_id(cast, as_user):
    PipelineFactory(is_default=True)
    theirs = services.create_customer(by=cast.outsider, name="Hidden")
    deal = services.create_deal(by=cast.outsider, customer=theirs, name="Shared")
    deal.collaborators.add(cast.rep)
    r = as_user(cast.rep).get(f"/deals/{deal.pk}", {"expand": "customer"})
    assert r.status_code == 200
    assert r.json()["customer"] == theirs.pk


def test_hidden_fields_of_the_role_are_not_returned(cast, as_user, deals):
    cast.rep.role.hidden_fields = {"deal": ["amount"]}
    cast.rep.role.save()
    row = as_user(cast.rep).get("/deals").json()["data"][0]
    assert "amount" not in row
