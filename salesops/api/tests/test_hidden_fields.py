"""The field policy on every part of the API: a role that hides a deal's amount, a
customer's phone and e-mail, a contact's mobile and a deal's custom field never sees
those values — not in a record, a list, an expanded reference or a cursor — and no
answer depends on them: filters, sorts, `fields=`, `expand=` and writes naming them are
refused exactly as unknown names are. The administrator sees everything."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from salesops.activities import services as activities
from salesops.api.tests.conftest import spec
from salesops.crm import services
from salesops.crm.models import Customer, Deal
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization.models import CustomField

AMOUNT = "9753.47"
PHONE = "13977553311"
EMAIL = "zqxhush@example.org"
MOBILE = "13800275519"
SECRET = "Zqxsecretvalue"
NEEDLES = ["9753", PHONE, "zqxhush", MOBILE, SECRET]


@pytest.fixture
def world(cast):
    """The rep's customer, contact, deal (with a hidden and a shown custom value) and a
    follow-up on the deal; the rep's role hides the fields named above."""
    PipelineFactory(is_default=True)
    CustomField.objects.create(object_type="deal", key="secret", label="Secret", field_type="text")
    CustomField.objects.create(object_type="deal", key="shown", label="Shown", field_type="text")
    customer = services.create_customer(by=cast.rep, name="Acme", phone=PHONE, email=EMAIL)
    contact = services.create_contact(by=cast.rep, customer=customer, name="Ada", mobile=MOBILE)
    deal = services.create_deal(
        by=cast.rep,
        customer=customer,
        contact=contact,
        name="Big",
        amount=Decimal(AMOUNT),
        custom={"secret": SECRET, "shown": "plain"},
    )
    services.create_deal(by=cast.rep, customer=customer, name="Small", amount=Decimal("5"))
    followup = activities.log_followup(by=cast.rep, kind="call", deal=deal, subject="Hello")
    role = cast.rep.role
    role.hidden_fields = {
        "deal": ["amount", "secret"],
        "customer": ["phone", "email"],
        "contact": ["mobile"],
    }
    role.save()
    return {"customer": customer, "contact": contact, "deal": deal, "followup": followup}


def assert_no_secret(response):
    text = response.content.decode()
    for needle in NEEDLES:
        assert needle not in text, f"{needle} shows in {text[:300]}"


def test_it_hides_the_fields_in_records_and_lists(cast, as_user, world):
    api = as_user(cast.rep)
    deal = api.get(f"/deals/{world['deal'].pk}")
    assert deal.status_code == 200
    assert "amount" not in deal.json()
    assert deal.json()["custom"] == {"shown": "plain"}
    customer = api.get(f"/customers/{world['customer'].pk}").json()
    assert "phone" not in customer and "email" not in customer
    assert "mobile" not in api.get(f"/contacts/{world['contact'].pk}").json()
    for path in (f"/deals/{world['deal'].pk}", f"/customers/{world['customer'].pk}"):
        assert_no_secret(api.get(path))
    for path in ("/deals", "/customers", "/contacts", "/followups"):
        r = api.get(path)
        assert r.status_code == 200
        assert_no_secret(r)
    rows = api.get("/deals", {"fields": "name,custom"}).json()["data"]
    assert {"secret"} & {k for row in rows for k in row["custom"]} == set()


def test_an_expanded_record_follows_its_own_object_types_policy(cast, as_user, world):
    api = as_user(cast.rep)
    r = api.get("/deals", {"expand": "customer,contact"})
    assert r.status_code == 200
    assert_no_secret(r)
    row = next(d for d in r.json()["data"] if d["id"] == world["deal"].pk)
    assert row["customer"]["name"] == "Acme"
    assert "phone" not in row["customer"] and "email" not in row["customer"]
    assert row["contact"]["name"] == "Ada" and "mobile" not in row["contact"]
    r = api.get(f"/followups/{world['followup'].pk}", {"expand": "deal,customer"})
    assert r.status_code == 200
    assert_no_secret(r)
    assert r.json()["deal"]["custom"] == {"shown": "plain"}
    assert_no_secret(api.get("/contacts", {"expand": "customer"}))


@pytest.mark.parametrize(
    ("path", "param", "value"),
    [
        ("/deals", "amount__gte", "9000"),
        ("/deals", "amount", AMOUNT),
        ("/deals", "custom.secret", SECRET),
        ("/deals", "custom.secret__icontains", "zqx"),
        ("/customers", "phone", PHONE),
        ("/customers", "email__icontains", "zqx"),
        ("/contacts", "mobile__istartswith", "138"),
    ],
)
def test_it_refuses_a_filter_on_a_hidden_field_as_if_it_did_not_exist(
    cast, as_user, world, path, param, value
):
    api = as_user(cast.rep)
    r = api.get(path, {param: value})
    assert r.status_code == 422
    assert list(r.json()["errors"]) == [param]
    name = param.split("__")[0].removeprefix("custom.")
    other = api.get(path, {param.replace(name, "zqnothing"): value})
    assert other.status_code == 422
    # The same words as for a field that does not exist.
    assert r.json()["detail"].replace(name, "X") == other.json()["detail"].replace("zqnothing", "X")
    assert_no_secret(r)


@pytest.mark.parametrize("sort", ["amount", "-amount"])
def test_it_refuses_to_sort_by_a_hidden_field(cast, as_user, world, sort):
    r = as_user(cast.rep).get("/deals", {"sort": sort})
    assert r.status_code == 422
    assert "sort" in r.json()["errors"]
    assert "amount" in r.json()["detail"]  # the name the caller sent, nothing more


def test_a_hidden_default_sort_falls_back_to_id_order(cast, as_user, world):
    role = cast.rep.role
    role.hidden_fields = {"followup": ["occurred_at"]}
    role.save()
    r = as_user(cast.rep).get("/followups")
    assert r.status_code == 200
    assert [row["id"] for row in r.json()["data"]] == [world["followup"].pk]
    assert "occurred_at" not in r.json()["data"][0]


def _cursor_values(cursor):
    padded = cursor + "=" * (-len(cursor) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def test_no_cursor_carries_a_hidden_value(cast, as_user, world):
    admin_cursor = (
        as_user(cast.admin).get("/deals", {"sort": "-amount", "limit": 1}).json()["next_cursor"]
    )
    assert _cursor_values(admin_cursor)[1] == AMOUNT  # the admin's order is by amount
    api = as_user(cast.rep)
    # The admin's cursor is refused with its sort for the rep…
    r = api.get("/deals", {"sort": "-amount", "cursor": admin_cursor})
    assert r.status_code == 422
    # …and every order the rep may use pages on values the rep can see.
    for sort in ("-id", "name", "-created_at", "expected_close"):
        cursor = api.get("/deals", {"sort": sort, "limit": 1}).json()["next_cursor"]
        assert cursor
        assert AMOUNT not in json.dumps(_cursor_values(cursor))


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/deals", {"fields": "name,amount"}),
        ("/customers", {"fields": "phone"}),
        ("/contacts", {"fields": "mobile"}),
    ],
)
def test_it_refuses_fields_naming_a_hidden_field_like_an_unknown_one(
    cast, as_user, world, path, params
):
    r = as_user(cast.rep).get(path, params)
    assert r.status_code == 422
    assert "fields" in r.json()["errors"]


def test_it_refuses_to_expand_a_hidden_reference(cast, as_user, world):
    role = cast.rep.role
    role.hidden_fields = {"deal": ["contact"]}
    role.save()
    r = as_user(cast.rep).get("/deals", {"expand": "contact"})
    assert r.status_code == 422
    assert "expand" in r.json()["errors"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("patch", "/deals/{deal}", {"amount": "1"}, "amount"),
        ("patch", "/deals/{deal}", {"custom": {"secret": "x"}}, "custom.secret"),
        ("patch", "/customers/{customer}", {"phone": "123456"}, "phone"),
        ("patch", "/contacts/{contact}", {"mobile": "123456"}, "mobile"),
        ("post", "/deals", {"customer": "{customer}", "name": "N", "amount": "1"}, "amount"),
        ("post", "/customers", {"name": "N", "email": "a@example.org"}, "email"),
    ],
)
def test_it_refuses_a_write_naming_a_hidden_field_and_changes_nothing(
    cast, as_user, world, method, path, body, field
):
    ids = {k: world[k].pk for k in ("deal", "customer", "contact")}
    body = {k: (ids["customer"] if v == "{customer}" else v) for k, v in body.items()}
    before = (list(Deal.objects.values()), list(Customer.objects.values()))
    r = getattr(as_user(cast.rep), method)(path.format(**ids), body)
    assert r.status_code == 422, r.content
    assert field in r.json()["errors"]
    assert (list(Deal.objects.values()), list(Customer.objects.values())) == before


def test_a_bulk_update_naming_a_hidden_field_is_refused(cast, as_user, world):
    r = as_user(cast.rep).patch(
        "/deals/bulk", {"items": [{"id": world["deal"].pk, "changes": {"amount": "1"}}]}
    )
    assert r.status_code == 422
    assert Deal.objects.get(pk=world["deal"].pk).amount == Decimal(AMOUNT)


def test_the_rep_still_writes_the_fields_they_see(cast, as_user, world):
    r = as_user(cast.rep).patch(
        f"/deals/{world['deal'].pk}", {"name": "Bigger", "custom": {"shown": "new"}}
    )
    assert r.status_code == 200, r.content
    assert r.json()["custom"] == {"shown": "new"}
    deal = Deal.objects.get(pk=world["deal"].pk)
    assert deal.custom == {"secret": SECRET, "shown": "new"}
    assert deal.amount == Decimal(AMOUNT)


def test_the_administrator_sees_filters_and_sorts_on_every_field(cast, as_user, world):
    api = as_user(cast.admin)
    deal = api.get(f"/deals/{world['deal'].pk}", {"expand": "customer,contact"}).json()
    assert deal["amount"] == AMOUNT
    assert deal["custom"] == {"secret": SECRET, "shown": "plain"}
    assert deal["customer"]["phone"] == PHONE and deal["customer"]["email"] == EMAIL
    assert deal["contact"]["mobile"] == MOBILE
    r = api.get("/deals", {"amount__gte": "9000", "custom.secret": SECRET, "sort": "-amount"})
    assert [row["id"] for row in r.json()["data"]] == [world["deal"].pk]
    r = api.get("/contacts", {"mobile": MOBILE})
    assert [row["id"] for row in r.json()["data"]] == [world["contact"].pk]


def test_a_payment_plan_hides_its_own_fields_not_a_payments(cast, as_user):
    from salesops.crm.tests.more_factories import PaymentPlanFactory

    plan = PaymentPlanFactory(owner=cast.rep, amount=Decimal(AMOUNT))
    role = cast.rep.role
    role.hidden_fields = {"payment_plan": ["amount"]}
    role.save()
    api = as_user(cast.rep)
    r = api.get(f"/payment-plans/{plan.pk}")
    assert r.status_code == 200
    assert "amount" not in r.json()
    assert api.get("/payment-plans", {"sort": "amount"}).status_code == 422


def test_the_document_still_describes_every_field(db):
    schemas = spec()["components"]["schemas"]
    assert {"amount", "custom", "customer"} <= set(schemas["DealOut"]["properties"])
    assert {"phone", "email"} <= set(schemas["CustomerOut"]["properties"])
    assert "mobile" in schemas["ContactOut"]["properties"]
    assert "amount" in schemas["DealUpdate"]["properties"]


def test_an_action_setting_a_hidden_field_is_refused(cast, as_user, world):
    role = cast.rep.role
    role.hidden_fields = {"deal": ["amount"]}
    role.save()
    api = as_user(cast.rep)
    lead = services.create_lead(by=cast.rep, name="Lin")
    r = api.post(f"/leads/{lead.pk}/convert", {"amount": "5"})
    assert r.status_code == 422
    assert "amount" in r.json()["errors"]
    lead.refresh_from_db()
    assert lead.converted_deal_id is None
    r = api.post(f"/leads/{lead.pk}/convert", {"deal_name": "Plain"})
    assert r.status_code == 200, r.content
    assert r.json()["created"] and r.json()["deal"]
    role.hidden_fields = {"deal": ["lost_reason"]}
    role.save()
    r = as_user(cast.rep).post(f"/deals/{world['deal'].pk}/lost", {"reason": "price"})
    assert r.status_code == 422
    assert Deal.objects.get(pk=world["deal"].pk).status == "open"


def test_the_stage_history_is_refused_when_the_stage_is_hidden(cast, as_user, world):
    role = cast.rep.role
    role.hidden_fields = {"deal": ["stage"]}
    role.save()
    r = as_user(cast.rep).get(f"/deals/{world['deal'].pk}/stage-history")
    assert r.status_code == 403
    assert as_user(cast.admin).get(f"/deals/{world['deal'].pk}/stage-history").status_code == 200
