"""The duplicate finder (crm.duplicates) and the keys stored for it."""

from __future__ import annotations

import pytest

from salesops.crm import duplicates
from salesops.crm.models import Contact, Customer, Lead
from salesops.crm.tests.factories import ContactFactory, CustomerFactory, LeadFactory
from salesops.customization.policy import FieldRefused
from salesops.imports.engine import _stored_phone
from salesops.lib import dedup
from salesops.objects.tests.helpers import hide


@pytest.mark.parametrize(
    "phone",
    [
        "13800138000",
        "138 0013 8000",
        "+86 138-0013-8000",
        "0086 13800138000",
        "021-6666 8888 ext. 12",
        "(021) 66668888转3",
        "1.38E+10",
        "call me",
        "12",
        "+1 415 555 0100",
        "８６１３８００１３８０００",
    ],
)
def test_a_stored_phone_key_is_the_imports_key(phone):
    assert dedup.stored_phone_key(phone) == dedup.phone_key(_stored_phone(phone))


def test_keys_are_kept_by_every_save(cast):
    c = CustomerFactory(owner=cast.rep, name="上海星辰科技有限公司", phone="021-66668888")
    assert (c.dup_name, c.dup_phone, c.dup_email) == ("上海星辰科技", "+862166668888", "")
    c.email = "Info@XingChen.CN"
    c.save(update_fields=["email"])
    c.refresh_from_db()
    assert c.dup_email == "info@xingchen.cn"


def test_rows_written_without_save_get_their_keys_before_grouping(cast):
    a = CustomerFactory(owner=cast.rep, name="Acme")
    b = CustomerFactory(owner=cast.rep, name="ACME Co., Ltd.")
    Customer.all_objects.filter(pk__in=[a.pk, b.pk]).update(dup_name=None)
    page = duplicates.find(cast.rep, "customer", Customer, "name")
    assert page.groups == [("acme", [a.pk, b.pk])]


def test_groups_by_name_phone_and_email_within_what_the_user_may_see(cast):
    a = CustomerFactory(owner=cast.rep, name="Acme", phone="13800138000")
    b = CustomerFactory(owner=cast.rep, name="acme ltd", email="x@acme.cn")
    c = CustomerFactory(owner=cast.rep, name="Other", phone="+86 138 0013 8000", email="X@acme.cn")
    outsiders = CustomerFactory(owner=cast.outsider, name="ACME", phone="138-0013-8000")
    CustomerFactory(owner=cast.rep, name="Lonely")
    gone = CustomerFactory(owner=cast.rep, name="Acme Inc")
    gone.soft_delete()

    assert duplicates.find(cast.rep, "customer", Customer, "name").groups == [
        ("acme", [a.pk, b.pk])
    ]
    assert duplicates.find(cast.rep, "customer", Customer, "phone").groups == [
        ("+8613800138000", [a.pk, c.pk])
    ]
    assert duplicates.find(cast.rep, "customer", Customer, "email").groups == [
        ("x@acme.cn", [b.pk, c.pk])
    ]
    # The administrator sees the whole organisation; the outsider has no duplicate.
    assert duplicates.find(cast.admin, "customer", Customer, "name").groups == [
        ("acme", [a.pk, b.pk, outsiders.pk])
    ]
    assert duplicates.find(cast.outsider, "customer", Customer, "name").groups == []


def test_a_hidden_field_is_never_grouped_by(cast):
    CustomerFactory(owner=cast.rep, name="A", phone="13800138000")
    CustomerFactory(owner=cast.rep, name="B", phone="13800138000")
    hide(cast.rep.role, "customer", "phone", users=(cast.rep,))
    assert duplicates.usable(cast.rep, "customer", Customer) == ["name", "email"]
    with pytest.raises(FieldRefused):
        duplicates.find(cast.rep, "customer", Customer, "phone")


def test_contacts_match_a_mobile_against_a_phone_and_leads_by_company(cast):
    customer = CustomerFactory(owner=cast.rep)
    a = ContactFactory(customer=customer, mobile="13800138000")
    b = ContactFactory(customer=customer, phone="+86 13800138000")
    ContactFactory(customer=customer, phone="13900139000", mobile="13900139000")
    assert duplicates.find(cast.rep, "contact", Contact, "phone").groups == [
        ("+8613800138000", [a.pk, b.pk])
    ]
    # Hiding the mobile leaves only phone against phone.
    hide(cast.rep.role, "contact", "mobile", users=(cast.rep,))
    assert duplicates.find(cast.rep, "contact", Contact, "phone").groups == []
    x = LeadFactory(owner=cast.rep, company="星辰科技有限公司")
    y = LeadFactory(owner=cast.rep, company="星辰科技")
    assert duplicates.find(cast.rep, "lead", Lead, "name").groups == [("星辰科技", [x.pk, y.pk])]


def test_groups_are_paged_in_key_order(cast):
    for name in ("A", "a", "B", "b", "C", "c"):
        CustomerFactory(owner=cast.rep, name=name)
    first = duplicates.find(cast.rep, "customer", Customer, "name", limit=2)
    assert [k for k, _ids in first.groups] == ["a", "b"] and first.total == 3
    second = duplicates.find(cast.rep, "customer", Customer, "name", after=first.after, limit=2)
    assert [k for k, _ids in second.groups] == ["c"] and second.after is None
    assert second.total == 3
