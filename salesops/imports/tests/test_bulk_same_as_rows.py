"""The bulk contacts path gives exactly what the row path (every row through
`crm.services.create_contact`) gives: the same records, the same error lines and the
same duplicate decisions, for good and bad rows, in every mode."""

import io
import json
import sys

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.crm.models import Contact, Customer
from salesops.crm.tests.factories import ContactFactory, CustomerFactory
from salesops.customization import admin_services as fields_admin
from salesops.customization.models import CustomField
from salesops.imports.bulk import MISS, BulkContactImporter, run_bulk_import
from salesops.imports.engine import run_import
from salesops.imports.fields import spec_for, suggest_mapping
from salesops.imports.reading import open_table
from salesops.imports.tests import corpus

pytestmark = pytest.mark.django_db

HEADERS = ["客户名称", "姓名", "职位", "手机", "电话", "邮箱", "微信", "主要联系人", "备注", "Tier", "Budget"]  # fmt: skip


@pytest.fixture(autouse=True)
def _people_read_english(cast):
    for person in (cast.admin, cast.rep, cast.outsider):
        person.language = "en"


@pytest.fixture
def world(cast):
    """Customers the rep can and cannot see, contacts already there (typed in pages,
    so not in normal form), and two custom fields."""
    acme = CustomerFactory.create(owner=cast.rep, name="Acme")
    CustomerFactory.create(owner=cast.rep, name="Twins")
    CustomerFactory.create(owner=cast.rep, name="Twins")
    CustomerFactory.create(owner=cast.outsider, name="West Co")
    CustomerFactory.create(owner=None, name="Pool Co")
    ContactFactory.create(
        customer=acme, email="Old@Example.com", mobile="139-0000-0002", phone="010-6123 4567"
    )
    ContactFactory.create(customer=acme, email="", mobile="", phone="call reception")
    CustomField.objects.create(
        object_type="contact",
        key="tier",
        label="Tier",
        field_type="select",
        options=[{"value": "a", "label": "A级"}, {"value": "b", "label": "B级"}],
    )
    CustomField.objects.create(
        object_type="contact", key="budget", label="Budget", field_type="money"
    )
    return acme


def corpus_rows(acme: Customer) -> list[list[str]]:
    e = ""
    return [
        HEADERS,
        # good rows, in the usual and in unusual shapes
        ["Acme", "张伟", "经理", "138 0013 8000", e, "Zhang.Wei@Example.com", "zw", "是", e, "A级", "12.5万"],
        ["Acme", "Anna", e, "13900000010", e, "anna@acme.de", e, e, e, e, e],
        ["  Acme ", " Padded ", " CEO ", "+86 139 0000 0011", "010-6123 9999", " padded@example.com ", e, "no", "note.", "b", "100"],
        [f"#{acme.pk}", "By id", e, e, e, e, e, e, e, e, e],
        ["Pool Co", "Pooled", e, "13900000013", e, e, e, e, e, e, e],
        ["Acme", "'=1+2", e, e, e, e, "wx", e, e, e, e],
        ["Acme", "Intl", e, "+4930123456", e, e, e, e, e, e, e],
        ["Acme", "Ext", e, "13900000012 ext 12", e, e, e, e, e, e, e],
        ["Acme", "Mailto", e, e, e, "Anna Li <ANNA.LI@Example.com>", e, e, e, e, e],
        # bad rows
        ["Acme", "Sci", e, "1.38E+10", e, e, e, e, e, e, e],
        ["Acme", e, e, e, e, "blank-name@example.com", e, e, e, e, e],
        [e, "No customer", e, e, e, e, e, e, e, e, e],
        ["Nobody Inc", "Unknown customer", e, e, e, e, e, e, e, e, e],
        ["Twins", "Ambiguous", e, e, e, e, e, e, e, e, e],
        ["West Co", "Not visible", e, e, e, e, e, e, e, e, e],
        ["Acme", "x" * 201, e, e, e, e, e, e, e, e, e],
        ["Acme", "Bad mail", e, e, e, "not-an-email", e, e, e, e, e],
        ["Acme", "Bad mail 2", e, e, e, "a@b", e, e, e, e, e],
        ["Acme", "Bad phone", e, "abc", e, e, e, e, e, e, e],
        ["Acme", "Bad primary", e, e, e, e, e, "maybe", e, e, e],
        ["Acme", "Bad tier", e, e, e, e, e, e, e, "C级", e],
        ["Acme", "Bad budget", e, e, e, e, e, e, e, e, "lots"],
        ["Acme", "Long title", "t" * 101, e, e, e, e, e, e, e, e],
        ["Nobody Inc", "Two problems", e, "abc", e, "bad", e, e, e, e, e],
        # duplicates of contacts already there, of earlier rows, of failed and skipped rows
        ["Acme", "Dup email", e, e, e, "OLD@example.com", e, e, e, e, e],
        ["Acme", "Dup mobile", e, "13900000002", e, e, e, e, e, e, e],
        ["Acme", "Dup phone", e, "010 6123 4567", e, e, e, e, e, e, e],
        ["Acme", "Dup landline", e, e, "(010) 6123-4567", e, e, e, e, e, e],
        ["Acme", "Dup in file", e, e, e, "zhang.wei@example.com", e, e, e, e, e],
        ["Acme", "A", e, "13900000020", e, "old@example.com", e, e, e, e, e],
        ["Acme", "B", e, "13900000020", e, e, e, e, e, e, e],
        ["Acme", "C", e, "13900000030", "13900000030", e, e, e, e, e, e],
        ["Acme", "D", e, e, "+86 139 0000 0030", e, e, e, e, e, e],
        ["Acme", "Ext dup", e, "13900000012", e, e, e, e, e, e, e],
        ["Acme", e, e, e, e, "after-bad@example.com", e, e, e, e, e],
        ["Acme", "Good after bad", e, e, e, "after-bad@example.com", e, e, e, e, e],
    ]  # fmt: skip


def outcome(run, data: bytes, user, **options):
    """What an import did (counts, error lines, records), then rolled back."""
    before = Contact.all_objects.order_by("-id").values_list("id", flat=True).first() or 0
    with transaction.atomic():
        with open_table(io.BytesIO(data), "contacts.csv") as table:
            columns = suggest_mapping(table.headers, spec_for("contact"))
            report = run(table, user=user, columns=columns, **options)
        records = sorted(
            (
                name,
                title,
                phone,
                mobile,
                email,
                wechat,
                is_primary,
                notes,
                customer,
                owner or 0,
                json.dumps(custom, sort_keys=True),
                version,
                keys,
            )
            for name, title, phone, mobile, email, wechat, is_primary, notes, customer, owner, custom, version, *keys in Contact.objects.filter(
                id__gt=before
            ).values_list(
                "name",
                "title",
                "phone",
                "mobile",
                "email",
                "wechat",
                "is_primary",
                "notes",
                "customer_id",
                "owner_id",
                "custom",
                "version",
                # the duplicate keys, as `save()` stores them (the finder reads them)
                *Contact.dedup_sources,
            )
        )
        assert all(None not in r[-1] for r in records), "a row without its duplicate keys"
        transaction.set_rollback(True)
    errors = [(line, p.column, p.value, p.reason) for line, p in report.errors]
    return report.counts(), report.rolled_back, errors, records


def row_path(table, **options):
    options.pop("chunk_size", None)
    return run_import(table, object_type="contact", chunk_size=3, **options)


def bulk_path(table, chunk_size=4, **options):
    return run_bulk_import(table, keep_errors=None, chunk_size=chunk_size, **options)


@pytest.mark.parametrize("helper", [True, False], ids=["helper", "one-process"])
@pytest.mark.parametrize(
    ("mode", "dedupe"),
    [("skip-errors", "skip"), ("skip-errors", "create"), ("all-or-nothing", "skip")],
)
def test_the_bulk_path_gives_the_row_paths_records_errors_and_duplicates(
    cast, world, mode, dedupe, helper
):
    data = corpus.csv_bytes(corpus_rows(world))
    rows = outcome(row_path, data, cast.rep, mode=mode, dedupe=dedupe)
    bulk = outcome(bulk_path, data, cast.rep, mode=mode, dedupe=dedupe, helper=helper)
    assert bulk == rows
    counts, rolled_back, errors, records = bulk
    # The corpus is what it claims to be: every kind of outcome occurs.
    assert counts["failed"] == 16 and rolled_back == (mode == "all-or-nothing")
    assert counts["skipped"] == (8 if dedupe == "skip" else 0)
    if mode == "all-or-nothing":
        assert records == []
    else:
        assert {r[0] for r in records} >= {"张伟", "Padded", "By id", "Pooled", "B", "C"}
    reasons = " ".join(reason for _l, _c, _v, reason in errors)
    assert "There is no customer “Nobody Inc”" in reasons
    assert "are called “Twins” in what you can see" in reasons


pool = st.sampled_from
cells = st.tuples(
    pool(["Acme", " Acme", "Pool Co", "Twins", "West Co", "Nobody", ""]),
    pool(["Ann", " Ann ", "", "'=x", "李雷", "x" * 201, "Ann."]),
    pool(["", "Boss", "t" * 101, " Boss"]),
    pool(["13900000001", "139 0000 0001", "+8613900000001", "", "abc", "1.38E+10",
          "13900000002", "+860123456", "0086 139 0000 0003", "13900000003x9"]),
    pool(["", "13900000001", "010-6123 4567", "+4930123456"]),
    pool(["a@example.com", "A@Example.com", "", "bad", " a@example.com ", "b@example.com",
          "old@example.com", "x@y", "c@例子.com"]),
    pool(["", "wx", "w" * 61]),
    pool(["", "是", "maybe", "No", "1"]),
    pool(["", "note", " note "]),
    pool(["", "A级", "b", "C级"]),
    pool(["", "12.5万", "lots", "1,234.50"]),
)  # fmt: skip


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(cells, min_size=1, max_size=12),
    dedupe=st.sampled_from(["skip", "create"]),
    helper=st.booleans(),
)
def test_any_mix_of_good_and_bad_rows_imports_the_same_through_both_paths(
    cast, world, rows, dedupe, helper
):
    data = corpus.csv_bytes([HEADERS, *rows])
    rows_outcome = outcome(row_path, data, cast.rep, dedupe=dedupe)
    assert outcome(bulk_path, data, cast.rep, dedupe=dedupe, helper=helper) == rows_outcome


@pytest.mark.parametrize("helper", [True, False], ids=["helper", "one-process"])
def test_duplicates_are_found_in_the_chunk_before_and_further_back(cast, world, helper):
    """The helper looks a chunk's keys up before the chunk before it is written: the
    rows that chunk created (not its failed or duplicate rows) still count."""
    m1, m2, c1 = "13900000101", "13900000102", "c1@example.com"
    data = corpus.csv_bytes(
        [
            ["客户名称", "姓名", "手机", "邮箱"],
            ["Acme", "A", m1, "a1@example.com"],  # chunk 1: created
            ["Acme", "B", m2, "bad"],  # failed: its keys are nobody's
            ["Acme", "C", m1, ""],  # chunk 2: A's, a chunk before
            ["Acme", "D", m2, ""],  # created (B failed)
            ["Acme", "E", "", "a1@example.com"],  # chunk 3: A's, two chunks before
            ["Acme", "F", m2, ""],  # D's, a chunk before
            ["Acme", "G", m1, c1],  # chunk 4: A's; c1 not remembered
            ["Acme", "H", "", c1],  # created (G was a duplicate)
            ["Acme", "I", m2, ""],  # chunk 5: D's, three chunks before
            ["Acme", "J", "", c1],  # H's, a chunk before
        ]
    )
    expected = outcome(row_path, data, cast.rep)
    assert outcome(bulk_path, data, cast.rep, chunk_size=2, helper=helper) == expected
    counts, _rolled_back, _errors, records = expected
    assert (counts["created"], counts["skipped"], counts["failed"]) == (3, 6, 1)
    assert {r[0] for r in records} == {"A", "D", "H"}


@pytest.fixture
def contact_rules(cast, world):
    """Validation rules on contacts: over a custom field, over the whole record and
    over the customer the row names."""
    fields_admin.create_validation_rule(
        by=cast.admin, object_type="contact", name="Big budgets", field="budget",
        condition='budget > 100000 and tier != "a"', message_zh="大额预算须为A级。",
        message_en="A budget over 100,000 needs tier A.",
    )  # fmt: skip
    fields_admin.create_validation_rule(
        by=cast.admin, object_type="contact", name="Blocked", condition='contains(name, "blocked")',
        message_en="Blocked names are not imported.",
    )  # fmt: skip
    fields_admin.create_validation_rule(
        by=cast.admin, object_type="contact", name="Pool", field="customer",
        condition='customer == "Pool Co" and empty(mobile)', message_en="Pool contacts need a mobile.",
    )  # fmt: skip


@pytest.mark.parametrize("helper", [True, False], ids=["helper", "one-process"])
@pytest.mark.parametrize(
    ("mode", "dedupe"),
    [("skip-errors", "skip"), ("skip-errors", "create"), ("all-or-nothing", "skip")],
)
def test_validation_rules_refuse_the_same_rows_through_both_paths(
    cast, world, contact_rules, mode, dedupe, helper
):
    e = ""
    data = corpus.csv_bytes(
        [
            HEADERS,
            ["Acme", "Fine", e, "13900000201", e, e, e, e, e, "b", "100"],
            ["Acme", "Blocked one", e, "13900000202", e, e, e, e, e, e, e],
            ["Acme", "Blocked dup", e, e, e, "old@example.com", e, e, e, e, e],
            ["Acme", "After refused", e, "13900000202", e, e, e, e, e, e, e],
            [" Acme ", " Blocked slow ", e, "+86 139 0000 0203", e, e, e, e, e, e, e],
            ["Acme", "Rich", e, e, e, e, e, e, e, "b", "20万"],
            ["Acme", "Rich gold", e, e, e, e, e, e, e, "A级", "20万"],
            ["Pool Co", "Pool no mobile", e, e, e, e, e, e, e, e, e],
            ["Pool Co", "Pool mobile", e, "13900000204", e, e, e, e, e, e, e],
            ["Acme", "Bad and blocked", e, "abc", e, e, e, e, e, e, e],
        ]
    )  # fmt: skip
    rows = outcome(row_path, data, cast.rep, mode=mode, dedupe=dedupe)
    assert outcome(bulk_path, data, cast.rep, mode=mode, dedupe=dedupe, helper=helper) == rows
    counts, _rolled_back, errors, records = rows
    assert counts["failed"] == (5 if dedupe == "skip" else 6)
    assert counts["skipped"] == (1 if dedupe == "skip" else 0)
    reasons = {(column, reason) for _line, column, _value, reason in errors}
    assert ("Budget", "A budget over 100,000 needs tier A.") in reasons
    assert ("", "Blocked names are not imported.") in reasons
    assert ("客户名称", "Pool contacts need a mobile.") in reasons
    if mode != "all-or-nothing":
        assert {r[0] for r in records} == {"Fine", "After refused", "Rich gold", "Pool mobile"}


# -- the fast shapes -----------------------------------------------------------------------


@pytest.fixture
def importer(cast, world):
    return BulkContactImporter(
        user=cast.rep, headers=HEADERS, columns=suggest_mapping(HEADERS, spec_for("contact"))
    )


phoneish = st.from_regex(r"\A[+0-9][0-9 ]{0,22}\Z")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.one_of(
        st.text(),
        st.emails(),
        phoneish,
        st.from_regex(r"\A1[0-9]{10}\Z"),
        st.from_regex(r"\A\+[0-9]{4,24}\Z"),
        st.from_regex(r"\A[A-Za-z0-9._+-]{1,70}@[A-Za-z0-9.-]{1,70}\Z"),
        st.text(min_size=195, max_size=205),
    )
)
def test_a_fast_shape_vouches_only_for_what_the_full_path_gives(importer, raw):
    """A value from a fast shape is the value the row path's converter and field rules
    give, without a problem; anything else falls back to them."""
    for column in [importer.customer_column, *importer.columns]:
        if column.shape is None:
            continue
        fast = column.shape([raw])[0]
        if fast is not MISS:
            assert column.full(raw) == fast, (column.target.key, raw)


def test_the_text_shapes_edge_test_never_lets_trimmed_or_quoted_text_through():
    """`isalnum()` on the first and last character stands for "nothing to trim, no
    formula quote": no letter or digit is stripped by Python or by `clean_text`."""
    stripped = " \t\r\n\u00a0\u200b\ufeff\u3000'"
    letters = (chr(c) for c in range(sys.maxunicode + 1))
    assert not [c for c in letters if c.isalnum() and (c.strip() != c or c in stripped)]
