"""Record pages, forms, inline edits, side lists and timelines apply the field policy:
a field a role hides is never shown, offered or accepted there, whichever object's
page it would appear on; the admin still sees it. Picklist fields are chosen by their
labels and shown by them."""

from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.crm import services as crm
from salesops.crm.models import Contact, Customer, Deal, Lead
from salesops.customization.models import CustomField, Picklist, PicklistOption
from salesops.users.models import Role

PHONE = "13811112222"
EMAIL = "hidden-mail@east.example"
MOBILE = "13933334444"
AMOUNT = Decimal("987654.32")
SHOWN_AMOUNT = "987,654.32"
CONTRACT_AMOUNT = Decimal("456789.00")
SHOWN_CONTRACT_AMOUNT = "456,789.00"
MARGIN = "margin-is-secret"
SECRETS = (PHONE, EMAIL, MOBILE, SHOWN_AMOUNT, SHOWN_CONTRACT_AMOUNT, MARGIN)

PAGES = ("lead", "customer", "contact", "deal", "contract", "quote", "task", "followup")


@pytest.fixture
def hidden(world):
    """The rep's role hides the deal's amount and a custom field, the customer's phone
    and e-mail, the contact's mobile and the contract's amount; East's records hold
    values of each."""
    CustomField.objects.create(object_type="deal", key="margin", label="Margin", field_type="text")
    Role.objects.filter(name="Rep").update(
        hidden_fields={
            "deal": ["amount", "margin"],
            "customer": ["phone", "email"],
            "contact": ["mobile"],
            "contract": ["amount"],
        }
    )
    east = world.east
    Customer.objects.filter(pk=east.customer.pk).update(phone=PHONE, email=EMAIL)
    Contact.objects.filter(pk=east.contact.pk).update(mobile=MOBILE, phone="")
    Deal.objects.filter(pk=east.deal.pk).update(
        amount=AMOUNT, custom={"margin": MARGIN}, contact=east.contact
    )
    type(east.contract).objects.filter(pk=east.contract.pk).update(amount=CONTRACT_AMOUNT)
    east.quote.deal = east.deal
    east.quote.save()
    for rel in ("lead", "deal", "contact"):
        type(east.task).objects.filter(pk=east.task.pk).update(**{rel: getattr(east, rel)})
        type(east.followup).objects.filter(pk=east.followup.pk).update(**{rel: getattr(east, rel)})
    return world


def page(client, kind, record):
    response = client.get(reverse(f"{kind}_detail", args=[record.pk]))
    assert response.status_code == 200, kind
    return response.content.decode()


@pytest.mark.parametrize("kind", PAGES)
def test_it_hides_the_roles_hidden_fields_on_every_record_page(hidden, signed_in, kind):
    html = page(signed_in(hidden.cast.rep), kind, getattr(hidden.east, kind))
    for secret in SECRETS:
        assert secret not in html, (kind, secret)


def test_it_leaves_hidden_fields_out_of_the_details_but_keeps_the_rest(hidden, signed_in):
    client = signed_in(hidden.cast.rep)
    html = page(client, "deal", hidden.east.deal)
    assert 'id="f-amount"' not in html and 'id="f-cf_margin"' not in html
    assert 'id="f-expected_close"' in html and 'id="f-name"' in html
    html = page(client, "customer", hidden.east.customer)
    assert 'id="f-phone"' not in html and 'id="f-email"' not in html
    assert 'id="f-address"' in html


def test_the_customer_pages_side_lists_apply_the_contacts_and_deals_policy(hidden, signed_in):
    html = page(signed_in(hidden.cast.rep), "customer", hidden.east.customer)
    assert "East contact" in html and "East deal" in html  # the rows are there
    assert MOBILE not in html and SHOWN_AMOUNT not in html and SHOWN_CONTRACT_AMOUNT not in html


def test_the_admin_still_sees_every_field(hidden, signed_in):
    client = signed_in(hidden.cast.admin)
    customer = page(client, "customer", hidden.east.customer)
    assert PHONE in customer and EMAIL in customer and MOBILE in customer
    assert SHOWN_AMOUNT in customer
    deal = page(client, "deal", hidden.east.deal)
    assert SHOWN_AMOUNT in deal and MARGIN in deal
    assert MOBILE in page(client, "contact", hidden.east.contact)
    assert SHOWN_CONTRACT_AMOUNT in page(client, "contract", hidden.east.contract)


@pytest.mark.parametrize(
    ("url_name", "kind", "names"),
    [
        ("deal_edit", "deal", ["amount", "cf_margin"]),
        ("customer_edit", "customer", ["phone", "email"]),
        ("contact_edit", "contact", ["mobile"]),
        ("contract_edit", "contract", ["amount"]),
    ],
)
def test_edit_forms_offer_no_hidden_field(hidden, signed_in, url_name, kind, names):
    client = signed_in(hidden.cast.rep)
    html = client.get(reverse(url_name, args=[getattr(hidden.east, kind).pk])).content.decode()
    assert 'name="name"' in html or 'name="title"' in html
    for name in names:
        assert f'name="{name}"' not in html
    for secret in SECRETS:
        assert secret not in html


@pytest.mark.parametrize(
    ("url_name", "query", "names"),
    [
        ("deal_new", "customer", ["amount", "cf_margin"]),
        ("customer_new", None, ["phone", "email"]),
        ("contact_new", "customer", ["mobile"]),
        ("contract_new", "customer", ["amount"]),
    ],
)
def test_create_forms_offer_no_hidden_field(hidden, signed_in, url_name, query, names):
    client = signed_in(hidden.cast.rep)
    url = reverse(url_name) + (f"?{query}={hidden.east.customer.pk}" if query else "")
    html = client.get(url).content.decode()
    assert 'name="name"' in html or 'name="title"' in html
    for name in names:
        assert f'name="{name}"' not in html


def test_a_hidden_field_posted_to_the_edit_form_is_ignored(hidden, signed_in):
    deal = hidden.east.deal
    deal.refresh_from_db()
    response = signed_in(hidden.cast.rep).post(
        reverse("deal_edit", args=[deal.pk]),
        {
            "name": "Renamed deal",
            "amount": "1",
            "cf_margin": "overwritten",
            "currency": deal.currency_id,
            "forecast_category": deal.forecast_category,
            "version": deal.version,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    deal.refresh_from_db()
    assert deal.name == "Renamed deal"
    assert deal.amount == AMOUNT and deal.custom == {"margin": MARGIN}


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("deal", "amount"),
        ("deal", "cf_margin"),
        ("customer", "phone"),
        ("customer", "email"),
        ("contact", "mobile"),
        ("contract", "amount"),
    ],
)
def test_inline_edit_refuses_a_hidden_field(hidden, signed_in, kind, name):
    client = signed_in(hidden.cast.rep)
    record = getattr(hidden.east, kind)
    url = reverse(f"{kind}_field", args=[record.pk, name])
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404
    response = client.post(url, {name: "1", "version": 1}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    record.refresh_from_db()
    assert record.version == 1


def test_inline_edit_refuses_a_field_that_is_not_editable(hidden, signed_in):
    client = signed_in(hidden.cast.admin)
    deal = hidden.east.deal
    for name in ("owner", "stage", "status", "created_at", "nonsense"):
        url = reverse("deal_field", args=[deal.pk, name])
        assert client.post(url, {name: "1", "version": 1}).status_code == 404, name


def test_the_admin_may_still_edit_the_fields_inline(hidden, signed_in):
    client = signed_in(hidden.cast.admin)
    contact = hidden.east.contact
    url = reverse("contact_field", args=[contact.pk, "mobile"])
    assert 'name="mobile"' in client.get(url, HTTP_HX_REQUEST="true").content.decode()
    client.post(url, {"mobile": "13700000000", "version": 1}, HTTP_HX_REQUEST="true")
    contact.refresh_from_db()
    assert contact.mobile == "13700000000"


def test_a_change_to_a_hidden_field_is_a_hidden_change_on_the_timeline(hidden, signed_in):
    deal = Deal.objects.get(pk=hidden.east.deal.pk)
    crm.update_record(obj=deal, by=hidden.cast.admin, data={"amount": "111222.33"})
    rep_html = page(signed_in(hidden.cast.rep), "deal", deal)
    assert "admin changed a hidden field." in rep_html
    assert "111,222.33" not in rep_html and SHOWN_AMOUNT not in rep_html
    admin_html = page(signed_in(hidden.cast.admin), "deal", deal)
    assert "admin changed Amount from" in admin_html


# -- picklists ---------------------------------------------------------------------------------


@pytest.fixture
def sources(cast):
    picklist = Picklist.objects.create(key="lead_source", name="Lead source")
    PicklistOption.objects.create(picklist=picklist, value="website", label="官网咨询", order=1)
    PicklistOption.objects.create(picklist=picklist, value="fair", label="展会", order=2)
    return picklist


def test_the_lead_form_offers_picklist_labels_and_saves_the_key(sources, cast, signed_in):
    client = signed_in(cast.rep)
    html = client.get(reverse("lead_new")).content.decode()
    assert '<select name="source"' in html
    assert '<option value="website">官网咨询</option>' in html
    response = client.post(
        reverse("lead_new"), {"name": "Wang Fang", "source": "website", "owner": cast.rep.pk}
    )
    lead = Lead.objects.get(name="Wang Fang")
    assert response["Location"] == reverse("lead_detail", args=[lead.pk])
    assert lead.source == "website"
    html = page(client, "lead", lead)
    assert "官网咨询" in html
    assert '<span class="value">website</span>' not in html


def test_a_label_is_not_a_value_the_lead_form_accepts(sources, cast, signed_in):
    client = signed_in(cast.rep)
    response = client.post(
        reverse("lead_new"), {"name": "Li Na", "source": "官网咨询", "owner": cast.rep.pk}
    )
    assert "source" in response.context["form"].errors
    assert not Lead.objects.filter(name="Li Na").exists()


def test_the_inline_edit_of_a_picklist_field_is_a_select_of_labels(sources, world, signed_in):
    client = signed_in(world.cast.rep)
    lead = world.east.lead
    url = reverse("lead_field", args=[lead.pk, "source"])
    assert '<option value="fair">展会</option>' in client.get(url).content.decode()
    html = client.post(url, {"source": "fair", "version": lead.version}).content.decode()
    assert "展会" in html
    lead.refresh_from_db()
    assert lead.source == "fair"


# -- follow-ups and tasks ----------------------------------------------------------------------


def test_timeline_lines_and_their_inline_forms_hide_follow_up_fields(world, signed_in):
    from salesops.activities.models import FollowUp

    Role.objects.filter(name="Rep").update(hidden_fields={"followup": ["outcome"]})
    followup = world.east.followup
    FollowUp.objects.filter(pk=followup.pk).update(outcome="the-outcome-is-secret")
    client = signed_in(world.cast.rep)
    assert "the-outcome-is-secret" not in page(client, "customer", world.east.customer)
    assert "the-outcome-is-secret" not in page(client, "followup", followup)
    form = client.get(reverse("followup_inline", args=[followup.pk])).content.decode()
    assert "subject" in form and "outcome" not in form
    admin = signed_in(world.cast.admin)
    assert "the-outcome-is-secret" in page(admin, "customer", world.east.customer)


def test_a_tasks_custom_fields_are_shown_and_edited_on_its_page(world, signed_in):
    CustomField.objects.create(object_type="task", key="effort", label="Effort", field_type="text")
    client = signed_in(world.cast.rep)
    task = world.east.task
    url = reverse("task_field", args=[task.pk, "cf_effort"])
    assert 'id="f-cf_effort"' in page(client, "task", task)
    html = client.post(url, {"cf_effort": "two days", "version": task.version}).content.decode()
    assert "two days" in html
    task.refresh_from_db()
    assert task.custom == {"effort": "two days"}
    Role.objects.filter(name="Rep").update(hidden_fields={"task": ["effort"]})
    client = signed_in(world.cast.rep)
    assert "two days" not in page(client, "task", task)
    assert client.get(url).status_code == 404
