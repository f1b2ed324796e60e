import datetime as dt

import pytest

from salesops.crm import services
from salesops.crm.models import Contract, Quote
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization.models import CustomField
from salesops.org.models import Currency, ExchangeRate
from salesops.pipeline.models import Pipeline
from salesops.users.models import Target


@pytest.fixture
def customer(cast):
    PipelineFactory(is_default=True)
    return services.create_customer(by=cast.rep, name="Acme")


def test_a_quote_is_created_with_lines_and_its_totals(cast, as_user, customer):
    product = services.create_product(by=cast.admin, name="Widget", price="100.00")
    r = as_user(cast.rep).post(
        "/quotes",
        {
            "customer": customer.pk,
            "discount_pct": "10",
            "lines": [
                {"product": product.pk, "quantity": "3"},
                {"description": "Set-up", "unit_price": "50", "discount_pct": "50"},
            ],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["totals"] == {"subtotal": "325.00", "discount": "32.50", "total": "292.50"}
    assert body["number"].startswith("Q-")
    r = as_user(cast.rep).patch(
        f"/quotes/{body['id']}", {"lines": [{"description": "X", "unit_price": "1"}]}
    )
    assert r.json()["totals"]["total"] == "0.90"  # the 10% overall discount stays


def test_a_quote_line_without_product_or_description_is_refused_and_nothing_saved(
    cast, as_user, customer
):
    r = as_user(cast.rep).post("/quotes", {"customer": customer.pk, "lines": [{"quantity": "1"}]})
    assert r.status_code == 422
    assert "lines.0.description" in r.json()["errors"]
    assert not Quote.all_objects.exists()


def test_instalments_cannot_add_up_to_more_than_the_contract(cast, as_user, customer):
    api = as_user(cast.rep)
    contract = api.post("/contracts", {"customer": customer.pk, "title": "C", "amount": "1000"})
    cid = contract.json()["id"]
    assert (
        api.post(
            "/payment-plans", {"contract": cid, "due_on": "2030-01-01", "amount": "600"}
        ).status_code
        == 201
    )
    r = api.post("/payment-plans", {"contract": cid, "due_on": "2030-02-01", "amount": "600"})
    assert r.status_code == 422
    assert "amount" in r.json()["errors"]
    r = api.post(
        "/payments", {"contract": cid, "amount": "2000", "received_on": dt.date.today().isoformat()}
    )
    assert r.status_code == 422
    assert Contract.objects.get(pk=cid).payments.count() == 0


def test_the_set_up_is_read_by_everyone_and_changed_only_by_administrators(cast, as_user):
    rep, admin = as_user(cast.rep), as_user(cast.admin)
    body = {"name": "Renewals"}
    assert rep.post("/pipelines", body).status_code == 403
    r = admin.post("/pipelines", body)
    assert r.status_code == 201
    assert [s["kind"] for s in r.json()["stages"]] == ["open", "won", "lost"]
    pid = r.json()["id"]
    r = admin.post("/stages", {"pipeline": pid, "name": "Demo", "probability": 30})
    assert r.status_code == 201, r.content
    kinds = list(Pipeline.objects.get(pk=pid).stages.order_by("order").values_list("name", "kind"))
    assert kinds[:2] == [("Open", "open"), ("Demo", "open")]
    assert rep.get(f"/pipelines/{pid}").json()["name"] == "Renewals"
    field = {
        "object_type": "deal",
        "key": "region",
        "label": "Region",
        "field_type": "select",
        "options": [{"value": "east", "label": "East"}],
    }
    assert rep.post("/custom-fields", field).status_code == 403
    assert admin.post("/custom-fields", field).status_code == 201
    assert CustomField.objects.filter(key="region").exists()
    Currency.objects.get_or_create(code="USD", defaults={"name": "US dollar"})
    rate = {"currency": "USD", "effective_on": "2026-01-01", "rate": "7.1"}
    assert rep.post("/exchange-rates", rate).status_code == 403
    assert admin.post("/exchange-rates", rate).status_code == 201
    assert admin.post("/exchange-rates", rate).status_code == 422  # one rate per day
    assert ExchangeRate.objects.count() == 1


def test_a_rep_sets_own_targets_but_not_another_teams(cast, as_user):
    api = as_user(cast.rep)
    target = {
        "metric": "bookings",
        "period_kind": "quarter",
        "period_start": "2030-04-01",
        "value": "100000",
    }
    assert api.post("/targets", {**target, "user": cast.rep.pk}).status_code == 201
    r = api.post("/targets", {**target, "user": cast.outsider.pk})
    assert r.status_code == 422
    r = api.post("/targets", {**target, "user": cast.rep.pk, "period_start": "2030-05-01"})
    assert r.status_code == 422
    assert "period_start" in r.json()["errors"]
    assert Target.objects.count() == 1


def test_users_and_teams_are_readable_by_everyone_and_not_writable(cast, as_user):
    rep = as_user(cast.rep)
    names = {u["username"] for u in rep.get("/users", {"limit": 100}).json()["data"]}
    assert {"rep", "outsider", "admin"} <= names
    assert "password" not in rep.get(f"/users/{cast.rep.pk}").json()
    assert rep.get("/teams", {"expand": "manager"}).status_code == 200
