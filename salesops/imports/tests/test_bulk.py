"""The bulk contacts path: same rules as the services, set-wise permissions, both modes."""

import io

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.crm.models import Contact, Customer
from salesops.crm.tests.factories import ContactFactory, CustomerFactory
from salesops.imports.bulk import run_bulk_import
from salesops.imports.fields import spec_for, suggest_mapping
from salesops.imports.reading import open_table
from salesops.imports.rows import FieldRules
from salesops.imports.tests import corpus

pytestmark = pytest.mark.django_db

ROWS = 10_000
BAD = 7_777


@pytest.fixture(autouse=True)
def _people_read_english(cast):
    for person in (cast.admin, cast.manager, cast.rep, cast.outsider):
        person.language = "en"


def bulk(data: bytes, user, **options):
    with open_table(io.BytesIO(data), "contacts.csv") as table:
        columns = suggest_mapping(table.headers, spec_for("contact"))
        return run_bulk_import(table, user=user, columns=columns, chunk_size=1000, **options)


def contacts_file(customer: str, n: int, bad: int | None = None) -> bytes:
    rows = [["客户名称", "姓名", "手机", "邮箱"]] + [
        [customer, f"Person {i}", f"139{i:08d}", "oops" if i == bad else f"p{i}@example.com"]
        for i in range(n)
    ]
    return corpus.csv_bytes(rows)


def test_one_bad_row_in_ten_thousand_commits_nothing_in_all_or_nothing_mode(cast):
    CustomerFactory.create(owner=cast.rep, name="Acme")
    report = bulk(contacts_file("Acme", ROWS, bad=BAD), cast.rep, mode="all-or-nothing")
    assert (report.failed, report.rolled_back) == (1, True)
    assert Contact.objects.count() == 0
    [(line, problem)] = report.errors
    assert (line, problem.column, problem.value) == (BAD + 2, "邮箱", "oops")


def test_one_bad_row_in_ten_thousand_is_left_out_in_skip_mode(cast):
    acme = CustomerFactory.create(owner=cast.rep, name="Acme")
    report = bulk(contacts_file("Acme", ROWS, bad=BAD), cast.rep, mode="skip-errors")
    assert (report.created, report.failed) == (ROWS - 1, 1)
    assert report.errors[0][0] == BAD + 2
    contact = Contact.objects.get(name="Person 5")
    assert (contact.customer, contact.owner, contact.mobile) == (acme, cast.rep, "+8613900000005")
    assert contact.version == 1
    assert contact.custom == {}


def test_duplicates_in_the_file_and_the_table_are_skipped(cast):
    acme = CustomerFactory.create(owner=cast.rep, name="Acme")
    ContactFactory.create(customer=acme, owner=cast.rep, email="Old@Example.com")
    ContactFactory.create(customer=acme, owner=cast.rep, mobile="139-0000-0002")
    rows = [
        ["客户名称", "姓名", "手机", "邮箱"],
        ["Acme", "A", "", "old@example.com"],
        ["Acme", "B", "13900000002", ""],
        ["Acme", "C", "13900000003", "c@example.com"],
        ["Acme", "C again", "+86 139 0000 0003", ""],
    ]
    report = bulk(corpus.csv_bytes(rows), cast.rep)
    assert (report.created, report.skipped) == (1, 3)


def test_contacts_of_a_customer_the_importer_cannot_see_are_refused(cast):
    CustomerFactory.create(owner=cast.outsider, name="West Co")
    report = bulk(contacts_file("West Co", 3), cast.rep)
    assert report.failed == 3
    assert "you can see" in report.errors[0][1].reason
    assert not Contact.objects.exists()


def test_the_bulk_path_needs_the_same_rights_as_the_service(cast):
    cast.rep.role.rights = {"contact": ["create"], "customer": ["view"]}
    cast.rep.role.save()
    with pytest.raises(Exception, match="edit"):
        bulk(contacts_file("Acme", 1), cast.rep)


text = st.one_of(
    st.just(""), st.text(max_size=70), st.emails(), st.text(min_size=195, max_size=210)
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=text,
    title=text,
    email=st.one_of(st.emails(), text),
    wechat=text,
    mobile=text,
)
def test_the_shared_row_validator_agrees_with_full_clean(cast, name, title, email, wechat, mobile):
    customer = Customer(pk=1, name="x")
    values = {"name": name, "title": title, "email": email, "wechat": wechat, "mobile": mobile}
    written = spec_for("contact", with_custom=False).plain()
    ours = FieldRules(Contact, [f for f in written if f in values]).errors(values)
    contact = Contact(customer=customer, **values)
    try:
        contact.full_clean(
            exclude=["customer", "owner"], validate_unique=False, validate_constraints=False
        )
        theirs = {}
    except ValidationError as e:
        theirs = e.message_dict
    assert ours == theirs
