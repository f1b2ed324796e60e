"""Fields a role hides never reach the lists, the pool, the board, the home page, global
search or the choosers: not as a column (by default or asked for with `?cols=`), not as a
sort, a filter or a search match. The administrator, from whom nothing is hidden, sees
and finds the same values. Lists show picklist and choice labels, not stored keys."""

import base64
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.crm.models import Customer, Deal
from salesops.crm.tests.factories import ContactFactory, CustomerFactory, DealFactory, LeadFactory
from salesops.customization.models import CustomField, Picklist, PicklistOption
from salesops.org.models import Organisation
from salesops.users.models import Role
from salesops.users.tests.factories import RoleFactory, UserFactory
from salesops.workspace.models import SavedView

AMOUNT = "987654.32"
#: How the amount may be written: plain, grouped, and the board's and tiles' short forms.
AMOUNT_TEXTS = ("987654", "987,654", "987.65K", "98.77万")
PHONE = "0571-55501234"
EMAIL = "hidden-mail@secret.example"
MOBILE = "13955501234"
SECRET = "ZQX-42-SECRET"
HIDDEN_VALUES = (*AMOUNT_TEXTS, PHONE, EMAIL, MOBILE, SECRET)

HIDDEN = {
    "deal": ["amount", "secret_code"],
    "customer": ["phone", "email"],
    "contact": ["mobile"],
}


@pytest.fixture
def hidden(world):
    """A rep whose role hides the deal amount and custom field, the customer's phone and
    e-mail and the contact's mobile; and records of theirs holding those values, a
    deal closing this month among them, and a customer in the pool."""
    cast = world.cast
    CustomField.objects.create(
        object_type="deal", key="secret_code", label="Secret code", field_type="text"
    )
    role = RoleFactory.create(
        name="Hiding rep", data_scope=Role.Scope.OWN, is_sales_rep=True, hidden_fields=HIDDEN
    )
    rep = UserFactory.create(username="hiding_rep", role=role, team=cast.east)
    today = Organisation.get().local_date()
    customer = CustomerFactory(owner=rep, name="Hushed customer", phone=PHONE, email=EMAIL)
    pooled = CustomerFactory(
        owner=None, name="Pooled hushed", phone=PHONE, email=EMAIL, pool_entered_at=None
    )
    contact = ContactFactory(customer=customer, owner=rep, name="Hushed contact", mobile=MOBILE)
    deal = DealFactory(owner=rep, customer=customer, pipeline=world.pipeline, name="Hushed deal")
    Deal.objects.filter(pk=deal.pk).update(
        amount=Decimal(AMOUNT),
        currency_id="CNY",
        expected_close=today,
        custom={"secret_code": SECRET},
    )
    small = DealFactory(
        owner=rep, customer=customer, pipeline=world.pipeline, name="Small hushed deal"
    )
    Deal.objects.filter(pk=small.pk).update(amount=Decimal("1.00"), currency_id="CNY")
    return world, rep, {"customer": customer, "pooled": pooled, "contact": contact, "deal": deal}


def assert_hidden(html, where):
    for value in HIDDEN_VALUES:
        assert value not in html, (where, value)


OBJECT_TYPES = {
    "deal_list": "deal",
    "customer_list": "customer",
    "customer_mine": "customer",
    "pool": "customer",
    "contact_list": "contact",
}
ALL_COLUMNS = {
    "deal_list": ["name", "amount", "secret_code", "cf_secret_code", "customer", "stage"],
    "customer_list": ["name", "phone", "email", "industry"],
    "customer_mine": ["name", "phone", "email"],
    "pool": ["name", "phone", "email"],
    "contact_list": ["name", "mobile", "phone", "email", "customer"],
}


@pytest.mark.parametrize("name", list(ALL_COLUMNS))
def test_it_hides_the_fields_in_every_list_by_default_and_when_asked_for(hidden, signed_in, name):
    world, rep, _records = hidden
    client = signed_in(rep)
    default = client.get(reverse(name))
    assert default.status_code == 200
    assert "hushed" in default.text.lower()  # the rows are there, their hidden values not
    assert_hidden(default.text, name)
    asked = client.get(reverse(name), {"cols": ALL_COLUMNS[name]})
    assert "hushed" in asked.text.lower()
    assert_hidden(asked.text, f"{name}?cols")
    keys = {c.key for c in asked.context["all_columns"]}
    assert not keys & set(HIDDEN[OBJECT_TYPES[name]])
    if name != "customer_mine":  # the administrator's own customers are not the rep's
        admin = signed_in(world.cast.admin).get(reverse(name), {"cols": ALL_COLUMNS[name]}).text
        assert any(value in admin for value in HIDDEN_VALUES), name


def test_it_refuses_sorting_by_a_hidden_amount_and_pages_by_the_default(hidden, signed_in):
    world, rep, records = hidden
    client = signed_in(rep)
    response = client.get(reverse("deal_list"), {"sort": "-amount"})
    assert "This list cannot be sorted that way." in response.text
    names = [row["obj"].name for row in response.context["rows"]]
    # newest first, as the list's default: not the big amount first
    assert names == ["Small hushed deal", "Hushed deal"]
    assert response.context["query"].sort == "id"
    admin = signed_in(world.cast.admin).get(reverse("deal_list"), {"sort": "-amount"})
    assert "cannot be sorted" not in admin.text
    assert admin.context["rows"][0]["obj"].pk == records["deal"].pk


def test_a_cursor_never_carries_a_hidden_sort_value(hidden, signed_in, monkeypatch):
    from salesops.web.views.lists import DealList

    _world, rep, _records = hidden
    monkeypatch.setattr(DealList, "page_size", 1)
    response = signed_in(rep).get(reverse("deal_list"), {"sort": "amount"})
    cursor = response.context["next_query"].split("after=")[1].split("&")[0]
    spec, value, last = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert spec == "-id" and value == last


@pytest.mark.parametrize(
    "params",
    [
        {"amount_min": "500000"},
        {"amount_max": "5"},
        {"secret_code": "ZQX"},
        {"cf_secret_code": "nothing-like-it"},
    ],
)
def test_it_refuses_filtering_by_a_hidden_field_and_shows_every_row(hidden, signed_in, params):
    world, rep, _records = hidden
    response = signed_in(rep).get(reverse("deal_list"), params)
    assert "There is no field" in response.text
    names = {row["obj"].name for row in response.context["rows"]}
    assert names == {"Hushed deal", "Small hushed deal"}
    admin = signed_in(world.cast.admin)
    every = {row["obj"].pk for row in admin.get(reverse("deal_list")).context["rows"]}
    filtered = admin.get(reverse("deal_list"), params)
    assert "There is no field" not in filtered.text
    assert {row["obj"].pk for row in filtered.context["rows"]} < every  # the filter applies


def test_it_refuses_filtering_customers_by_a_hidden_phone(hidden, signed_in):
    _world, rep, _records = hidden
    response = signed_in(rep).get(reverse("customer_list"), {"phone": "1234"})
    assert "There is no field" in response.text
    assert "Hushed customer" in response.text


def test_a_list_search_never_matches_a_hidden_phone_e_mail_or_mobile(hidden, signed_in):
    world, rep, _records = hidden
    client = signed_in(rep)
    for name, text in [
        ("customer_list", "55501234"),
        ("customer_list", "secret.example"),
        ("pool", "55501234"),
        ("contact_list", MOBILE),
    ]:
        found = client.get(reverse(name), {"q": text}).context["rows"]
        assert found == [], (name, text)
    admin = signed_in(world.cast.admin)
    assert admin.get(reverse("customer_list"), {"q": "55501234"}).context["rows"]
    assert admin.get(reverse("contact_list"), {"q": MOBILE}).context["rows"]
    # what the rep may search still finds the rows
    assert signed_in(rep).get(reverse("customer_list"), {"q": "Hushed"}).context["rows"]


def test_the_search_box_names_only_fields_the_reader_may_search(hidden, signed_in):
    world, rep, _records = hidden
    help_text = signed_in(rep).get(reverse("customer_list")).context["search_help"]
    assert "Phone" not in help_text and "Name" in help_text
    admin_help = signed_in(world.cast.admin).get(reverse("customer_list")).context["search_help"]
    assert "Phone" in admin_help


def test_the_board_shows_no_amount_on_cards_nor_per_stage_sums(hidden, signed_in):
    world, rep, _records = hidden
    response = signed_in(rep).get(reverse("board"))
    html = response.text
    assert "Hushed deal" in html
    assert_hidden(html, "board")
    assert 'class="amount"' not in html
    counts = {c["stage"].pk: c["count"] for c in response.context["columns"]}
    assert sum(counts.values()) == 2  # counts stay
    assert all(c["amount"] is None for c in response.context["columns"])
    admin = signed_in(world.cast.admin).get(reverse("board")).text
    assert 'class="amount"' in admin and "987,654" in admin


def test_more_cards_of_a_column_show_no_amount_either(hidden, signed_in, monkeypatch):
    from salesops.web.views import board

    world, rep, _records = hidden
    monkeypatch.setattr(board, "CARDS", 1)
    client = signed_in(rep)
    page = client.get(reverse("board"))
    column = next(c for c in page.context["columns"] if c["cursor"])
    more = client.get(
        reverse("board_column", args=[world.pipeline.pk, column["stage"].pk]),
        {"after": column["cursor"]},
    )
    assert "hushed deal" in more.text.lower()
    assert_hidden(more.text, "board more")


def test_the_home_page_shows_no_hidden_amount(hidden, signed_in):
    _world, rep, _records = hidden
    html = signed_in(rep).get(reverse("home")).text
    assert 'id="closing"' in html and "Hushed deal" in html
    assert_hidden(html, "home")
    assert "Together" not in html


def test_the_home_page_of_an_organisation_wide_reader_has_no_amount_figures(world, signed_in):
    role = RoleFactory.create(
        name="Hiding analyst", data_scope=Role.Scope.ALL, hidden_fields={"deal": ["amount"]}
    )
    analyst = UserFactory.create(username="hiding_analyst", role=role, team=world.cast.hq)
    Deal.objects.filter(pk=world.east.deal.pk).update(amount=Decimal(AMOUNT))
    response = signed_in(analyst).get(reverse("home"))
    html = response.text
    # the amount tiles say "—" and why, instead of the figure
    assert {"bookings", "open_pipeline", "weighted_pipeline"} <= response.context["withheld"]
    assert "hidden for your role" in html
    assert not [t for t in AMOUNT_TEXTS if t in html]
    assert "Won deals" in html
    admin = signed_in(world.cast.admin).get(reverse("home"))
    assert "Open pipeline" in admin.text and "hidden for your role" not in admin.text


def test_global_search_never_matches_or_shows_a_hidden_phone(hidden, signed_in):
    world, rep, records = hidden
    client = signed_in(rep)
    for text in ("55501234", "secret.example", MOBILE):
        html = client.get(reverse("search"), {"q": text}).text
        assert "Nothing found that you may see." in html, text
    by_name = client.get(reverse("search"), {"q": "Hushed"}).text
    assert reverse("customer_detail", args=[records["customer"].pk]) in by_name
    assert reverse("contact_detail", args=[records["contact"].pk]) in by_name
    assert_hidden(by_name, "search")
    admin = signed_in(world.cast.admin).get(reverse("search"), {"q": "55501234"}).text
    assert reverse("customer_detail", args=[records["customer"].pk]) in admin
    assert PHONE in admin


def test_a_chooser_lookup_never_matches_a_hidden_phone_or_mobile(hidden, signed_in):
    world, rep, records = hidden
    client = signed_in(rep)
    for kind, text in [("customer", "55501234"), ("customer", EMAIL), ("contact", MOBILE)]:
        assert client.get(reverse("lookup", args=[kind]), {"q": text}).json() == {"results": []}
    found = client.get(reverse("lookup", args=["customer"]), {"q": "Hushed"}).json()["results"]
    assert records["customer"].pk in [r["id"] for r in found]
    admin = signed_in(world.cast.admin)
    found = admin.get(reverse("lookup", args=["customer"]), {"q": "55501234"}).json()
    assert records["customer"].pk in [r["id"] for r in found["results"]]
    found = admin.get(reverse("lookup", args=["contact"]), {"q": MOBILE}).json()
    assert [r["id"] for r in found["results"]] == [records["contact"].pk]


def test_a_payment_plan_chooser_does_not_name_a_hidden_amount(world, signed_in):
    role = RoleFactory.create(
        name="No plan amounts",
        data_scope=Role.Scope.OWN,
        hidden_fields={"payment_plan": ["amount"]},
    )
    world.cast.rep.role = role
    world.cast.rep.save()
    plan = world.east.plan
    found = signed_in(world.cast.rep).get(reverse("lookup", args=["paymentplan"]), {"q": "East"})
    labels = [r["label"] for r in found.json()["results"]]
    assert labels and str(plan.amount) not in " ".join(labels)


def test_a_shared_view_sorting_by_a_hidden_field_is_refused_for_its_reader(hidden, signed_in):
    world, rep, _records = hidden
    view = SavedView.objects.create(
        owner=world.cast.admin, list_key="deals", name="Biggest", query="sort=-amount", shared=True
    )
    client = signed_in(rep)
    target = client.get(reverse("deal_list"), {"view": view.pk})["Location"]
    response = client.get(target)
    assert "This list cannot be sorted that way." in response.text
    assert_hidden(response.text, "saved view")


# -- labels, not keys -----------------------------------------------------------------------


def picklist(key, options):
    pl, _created = Picklist.objects.get_or_create(key=key, defaults={"name": key})
    for i, (value, label) in enumerate(options):
        PicklistOption.objects.update_or_create(
            picklist=pl, value=value, defaults={"label": label, "order": i}
        )


def test_lists_show_picklist_and_choice_labels_not_keys(cast, signed_in):
    picklist("industry", [("manufacturing", "Heavy industry")])
    picklist("region", [("north", "Northern China")])
    picklist("lead_source", [("cold_call", "Cold calling")])
    CustomerFactory(
        owner=cast.rep,
        name="Labelled",
        industry="manufacturing",
        region="north",
        lifecycle_stage=Customer.Lifecycle.REPEAT,
    )
    LeadFactory(owner=cast.rep, name="Labelled lead", source="cold_call")
    CustomerFactory(owner=None, name="Labelled pooled", industry="manufacturing", region="north")
    client = signed_in(cast.rep)
    for name, labels, keys in [
        ("customer_list", ["Heavy industry", "Northern China", "Repeat customer"], ["repeat"]),
        ("pool", ["Heavy industry", "Northern China"], []),
        ("lead_list", ["Cold calling"], []),
    ]:
        html = client.get(reverse(name)).text
        for label in labels:
            assert label in html, (name, label)
        cells = html.split('id="list-table"')[1]  # the table, not the filters' option values
        for key in ["manufacturing", ">north<", "cold_call", *keys]:
            assert key not in cells, (name, key)


def test_a_custom_select_field_shows_its_option_label(world, signed_in):
    CustomField.objects.create(
        object_type="deal",
        key="segment",
        label="Segment",
        field_type="select",
        options=[{"value": "ent", "label": "Enterprise accounts"}],
    )
    Deal.objects.filter(pk=world.east.deal.pk).update(custom={"segment": "ent"})
    html = signed_in(world.cast.rep).get(reverse("deal_list"), {"cols": ["name", "segment"]}).text
    assert "Enterprise accounts" in html


def test_a_date_filter_is_made_from_the_field(world, signed_in):
    today = Organisation.get().local_date()
    Deal.objects.filter(pk=world.east.deal.pk).update(expected_close=today)
    client = signed_in(world.cast.rep)
    after = (today + dt.timedelta(days=1)).isoformat()
    assert client.get(reverse("deal_list"), {"expected_close_from": after}).context["rows"] == []
    rows = client.get(reverse("deal_list"), {"expected_close_to": after}).context["rows"]
    assert [r["obj"].pk for r in rows] == [world.east.deal.pk]
