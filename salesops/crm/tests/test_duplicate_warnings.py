"""The duplicate check of hand-made leads, customers and contacts: the same normalising
rules as imports, only records and fields the person may see."""

import pytest

from salesops.crm import duplicate_warnings as duplicates
from salesops.crm import services
from salesops.crm.duplicate_warnings import PossibleDuplicates
from salesops.crm.models import Customer
from salesops.crm.tests.factories import ContactFactory, CustomerFactory, LeadFactory
from salesops.lib.dedup import company_key, company_probe, phone_match_key
from salesops.users.models import Role


def test_names_compare_without_case_width_spaces_or_legal_form():
    assert company_key("ＡＣＭＥ Co., Ltd.") == company_key("acme") == "acme"
    assert company_key("北京星辰科技有限公司") == company_key("北京星辰科技")
    # The probe is in every name of the same key as typed.
    assert company_probe("Acme Trading Co., Ltd.") in "acme trading co., ltd."
    assert company_probe("北京星辰科技有限公司") == "北京星辰科技"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("138 0013 8000", "+86 13800138000"),
        ("0086-138-0013-8000", "13800138000"),
        ("010-6552 1234", "+86 10 65521234"),
        ("+1 (415) 555-0100", "001 415 555 0100"),
        ("138 0013 8000 转 12", "13800138000"),
    ],
)
def test_phone_numbers_compare_as_the_same_number(a, b):
    assert phone_match_key(a) == phone_match_key(b) != ""


def test_a_short_number_is_not_compared():
    assert phone_match_key("110") == ""


def test_a_customer_like_an_existing_one_is_refused_unless_allowed(cast):
    acme = CustomerFactory.create(owner=cast.rep, name="ACME Co., Ltd.", email="info@acme.com")
    with pytest.raises(PossibleDuplicates) as refused:
        services.create_customer(by=cast.rep, name="Acme", allow_duplicate=False)
    [candidate] = refused.value.candidates
    assert (candidate.pk, candidate.name, candidate.matched) == (
        acme.pk,
        "ACME Co., Ltd.",
        ("name",),
    )
    assert Customer.objects.count() == 1
    with pytest.raises(PossibleDuplicates):
        services.create_customer(
            by=cast.rep, name="Other", email="INFO@acme.com", allow_duplicate=False
        )
    services.create_customer(by=cast.rep, name="Acme", allow_duplicate=True)
    assert Customer.objects.count() == 2


def test_imports_and_other_callers_are_not_checked_by_default(cast):
    CustomerFactory.create(owner=cast.rep, name="Acme")
    services.create_customer(by=cast.rep, name="Acme")
    assert Customer.objects.count() == 2


def test_records_outside_the_scope_are_no_candidates(cast):
    CustomerFactory.create(owner=cast.rep, name="Acme", phone="13800138000")
    found = duplicates.find(
        by=cast.outsider, object_type="customer", values={"name": "Acme", "phone": "13800138000"}
    )
    assert found == []


def test_a_hidden_field_is_never_compared(cast):
    CustomerFactory.create(owner=cast.rep, name="Acme", phone="13800138000")
    Role.objects.filter(name="Rep").update(hidden_fields={"customer": ["phone"]})
    cast.rep.refresh_from_db()
    assert "phone" not in duplicates.keys_of(cast.rep, "customer")
    found = duplicates.find(
        by=cast.rep, object_type="customer", values={"name": "Other", "phone": "13800138000"}
    )
    assert found == []


def test_contacts_compare_mobile_and_phone_and_email(cast):
    customer = CustomerFactory.create(owner=cast.rep)
    zhang = ContactFactory.create(customer=customer, name="张三", mobile="13900139000")
    with pytest.raises(PossibleDuplicates) as refused:
        services.create_contact(
            by=cast.rep, customer=customer, name="Zhang", phone="+86 139 0013 9000",
            allow_duplicate=False,
        )  # fmt: skip
    assert [c.pk for c in refused.value.candidates] == [zhang.pk]
    assert refused.value.candidates[0].matched == ("mobile",)


def test_a_lead_compares_its_company_email_and_phone(cast):
    lead = LeadFactory.create(owner=cast.rep, company="星辰科技有限公司", email="a@x.cn")
    found = duplicates.find(by=cast.rep, object_type="lead", values={"company": "星辰科技"})
    assert [c.pk for c in found] == [lead.pk]
    assert duplicates.find(by=cast.rep, object_type="lead", values={"name": "星辰科技"}) == []


def test_an_update_is_checked_on_what_it_changes(cast):
    CustomerFactory.create(owner=cast.rep, name="Acme", phone="13800138000")
    twin = CustomerFactory.create(owner=cast.rep, name="Acme")
    other = CustomerFactory.create(owner=cast.rep, name="Other")
    # A known twin's other fields can be changed.
    services.update_record(
        obj=twin, by=cast.rep, data={"name": "Acme", "industry": "IT"}, allow_duplicate=False
    )
    with pytest.raises(PossibleDuplicates):
        services.update_record(
            obj=other, by=cast.rep, data={"phone": "+86 138 0013 8000"}, allow_duplicate=False
        )
    other.refresh_from_db()
    assert other.phone == ""
