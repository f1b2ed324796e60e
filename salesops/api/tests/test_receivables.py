"""`/receivables/...`: the ageing, its instalments and the cash forecast, each checked
against the OpenAPI document (the client does), with the outsider and a hidden amount."""

import datetime as dt
from unittest import mock

import pytest

from salesops.receivables.tests.crafted import build

NOW = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def data(cast):
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield build(cast)


def test_ageing_endpoint(data, as_user):
    body = as_user(data.cast.rep).get("/receivables/ageing").json()
    assert body["as_of"] == "2026-12-07" and body["currency"] == "CNY"
    rows = {r["name"]: r for r in body["rows"]}
    assert set(rows) == {"Alpha", "Beta"}
    assert rows["Beta"]["buckets"]["d90_plus"] == {"count": 1, "amount": "10800.00"}
    assert rows["Alpha"]["total"] == {"count": 2, "amount": "5500.00"}


def test_outsider_sees_nothing_of_east(data, as_user):
    client = as_user(data.cast.outsider)
    body = client.get("/receivables/ageing", {"group": "rep"}).json()
    assert [r["key"] for r in body["rows"]] == [data.cast.outsider.pk]
    body = client.get("/receivables/instalments", {"group": "customer", "key": data.beta.pk})
    assert body.json()["instalments"] == []
    body = client.get("/receivables/instalments").json()
    assert [i["contract"] for i in body["instalments"]] == ["C-G"]
    months = client.get("/receivables/forecast").json()["months"]
    assert sum(float(m["expected"]) for m in months) == pytest.approx(625.0)


def test_instalments_endpoint(data, as_user):
    body = as_user(data.cast.manager).get("/receivables/instalments", {"bucket": "d1_30"}).json()
    got = {i["id"]: i for i in body["instalments"]}
    assert set(got) == {data.plans["A2"].pk, data.plans["B4"].pk}
    assert got[data.plans["B4"].pk]["outstanding_base"] == "3600.00"
    assert got[data.plans["B4"].pk]["days_overdue"] == 1


def test_hidden_amounts_are_null(data, as_user):
    role = data.cast.manager.role
    role.hidden_fields = {"payment": ["amount"]}
    role.save()
    client = as_user(data.cast.manager)
    body = client.get("/receivables/ageing").json()
    assert body["amounts_withheld"] is True
    assert all(c["amount"] is None for r in body["rows"] for c in r["buckets"].values())
    body = client.get("/receivables/instalments").json()
    assert all(i["outstanding"] is None for i in body["instalments"])
    assert client.get("/receivables/forecast").status_code == 403


def test_bad_parameters(data, as_user):
    r = as_user(data.cast.rep).get("/receivables/ageing", {"group": "planet"})
    assert r.status_code == 422
