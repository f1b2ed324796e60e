"""Duplicate warnings on the pages: creating or editing a lead, customer or contact that
looks like an existing one shows the possible duplicates with links and saves only
after an explicit "save anyway"; what the person may not see is never named."""

import pytest
from django.urls import reverse

from salesops.crm.models import Contact, Customer, Lead
from salesops.crm.tests.factories import ContactFactory, CustomerFactory, LeadFactory
from salesops.users.models import Role


@pytest.fixture
def acme(cast):
    return CustomerFactory.create(
        owner=cast.rep, name="北京星辰科技有限公司", phone="138 0013 8000"
    )


def new_customer(client, **extra):
    data = {
        "name": "北京星辰科技",
        "owner": "",
        "phone": "+86 13800138000",
        "lifecycle_stage": "prospect",
        **extra,
    }
    return client.post(reverse("customer_new"), data)


def test_a_second_customer_with_the_same_name_and_phone_is_not_created_silently(
    cast, signed_in, acme
):
    client = signed_in(cast.rep)
    response = new_customer(client, owner=cast.rep.pk)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Possible duplicates" in page
    assert reverse("customer_detail", args=[acme.pk]) in page
    assert "北京星辰科技有限公司" in page
    assert 'name="allow_duplicate"' in page
    assert Customer.objects.count() == 1

    response = new_customer(client, owner=cast.rep.pk, allow_duplicate="1")
    assert response.status_code == 302
    assert Customer.objects.count() == 2


def test_a_different_customer_is_created_without_a_warning(cast, signed_in, acme):
    client = signed_in(cast.rep)
    response = client.post(
        reverse("customer_new"),
        {
            "name": "上海远航贸易",
            "owner": cast.rep.pk,
            "phone": "021 5555 0000",
            "lifecycle_stage": "prospect",
        },
    )
    assert response.status_code == 302
    assert Customer.objects.count() == 2


def test_a_record_outside_the_scope_is_never_named(cast, signed_in, acme):
    client = signed_in(cast.outsider)
    response = new_customer(client, owner=cast.outsider.pk)
    assert response.status_code == 302
    assert "北京星辰科技有限公司" not in client.get(response["Location"]).content.decode()
    assert Customer.objects.count() == 2


def test_a_hidden_phone_is_not_compared(cast, signed_in, acme):
    """The role hides customers' phone: the phone cannot be typed, so cannot probe; a
    name that matches is named without the phone."""
    Role.objects.filter(name="Rep").update(hidden_fields={"customer": ["phone"]})
    cast.rep.refresh_from_db()
    client = signed_in(cast.rep)
    response = client.post(
        reverse("customer_new"),
        {"name": "北京星辰科技 Co., Ltd.", "owner": cast.rep.pk, "lifecycle_stage": "prospect"},
    )
    page = response.content.decode()
    assert "Possible duplicates" in page and "13800138000" not in page and "0013" not in page


def test_editing_a_contacts_email_to_anothers_warns_and_save_anyway_saves(cast, signed_in, acme):
    ContactFactory.create(customer=acme, name="Zhang San", email="zhang@acme.cn")
    other = ContactFactory.create(customer=acme, name="Li Si", email="li@acme.cn")
    client = signed_in(cast.rep)
    url = reverse("contact_edit", args=[other.pk])
    form = {"name": "Li Si", "email": "ZHANG@acme.cn ", "version": other.version}
    response = client.post(url, form)
    assert response.status_code == 200
    assert "Possible duplicates" in response.content.decode()
    assert Contact.objects.get(pk=other.pk).email == "li@acme.cn"
    response = client.post(url, {**form, "allow_duplicate": "1"})
    assert response.status_code == 302
    assert Contact.objects.get(pk=other.pk).email.lower() == "zhang@acme.cn"


def test_editing_another_field_of_a_known_duplicate_does_not_warn(cast, signed_in, acme):
    twin = CustomerFactory.create(owner=cast.rep, name="北京星辰科技")
    client = signed_in(cast.rep)
    response = client.post(
        reverse("customer_edit", args=[twin.pk]),
        {
            "name": "北京星辰科技",
            "industry": "IT",
            "lifecycle_stage": "prospect",
            "version": twin.version,
        },
    )
    assert response.status_code == 302


def test_a_new_lead_with_the_same_email_warns(cast, signed_in):
    LeadFactory.create(owner=cast.rep, name="Ada", email="ada@example.com", company="Analytical")
    client = signed_in(cast.rep)
    data = {"name": "Ada L.", "email": "Ada@Example.com", "owner": cast.rep.pk}
    response = client.post(reverse("lead_new"), data)
    assert "Possible duplicates" in response.content.decode()
    assert Lead.objects.count() == 1


def test_the_warning_speaks_the_persons_language(cast, signed_in, acme):
    response = new_customer(signed_in(cast.rep, "zh-hans"), owner=cast.rep.pk)
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()


def test_an_inline_edit_warns_and_saves_after_save_anyway(cast, signed_in, acme):
    other = CustomerFactory.create(owner=cast.rep, name="Other")
    client = signed_in(cast.rep)
    url = reverse("customer_field", args=[other.pk, "phone"])
    data = {"phone": "13800138000", "version": other.version}
    response = client.post(url, data, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "Possible duplicates" in page and 'name="allow_duplicate"' in page
    assert Customer.objects.get(pk=other.pk).phone == ""
    response = client.post(url, {**data, "allow_duplicate": "1"}, headers={"HX-Request": "true"})
    assert "Possible duplicates" not in response.content.decode()
    assert Customer.objects.get(pk=other.pk).phone == "13800138000"
