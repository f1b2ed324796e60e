"""Imports obey the organisation's validation rules: a refused row is an error line
(in the importer's language, at the rule's field's column) and the others come in.
The bulk contacts path gives the same lines (test_bulk_same_as_rows)."""

import pytest

from salesops.crm.models import Lead
from salesops.customization import admin_services as fields_admin
from salesops.customization.models import CustomField
from salesops.imports.tests import corpus
from salesops.imports.tests.helpers import reasons, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_rule(cast):
    CustomField.objects.create(
        object_type="lead", key="budget", label="Budget", field_type="number"
    )
    return fields_admin.create_validation_rule(
        by=cast.admin,
        object_type="lead",
        name="Big budgets",
        condition="budget > 1000 and empty(email)",
        field="budget",
        message_zh="预算超过1000的线索须填写邮箱。",
        message_en="A lead with a budget over 1000 needs an e-mail.",
    )


DATA = [
    ["姓名", "邮箱", "Budget"],
    ["Small", "", "500"],
    ["Big", "", "5000"],
    ["Big with mail", "big@example.com", "5000"],
]


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "A lead with a budget over 1000 needs an e-mail."), ("zh-hans", "预算超过1000的线索须填写邮箱。")],
)  # fmt: skip
def test_a_row_a_rule_refuses_is_an_error_line_in_the_importers_language(
    cast, lead_rule, language, message
):
    cast.rep.language = language
    report = run(corpus.csv_bytes(DATA), user=cast.rep, object_type="lead")
    assert reasons(report) == [(3, "Budget", message)]
    assert (report.created, report.failed) == (2, 1)
    assert set(Lead.objects.values_list("name", flat=True)) == {"Small", "Big with mail"}


def test_a_deactivated_rule_refuses_no_row(cast, lead_rule):
    cast.rep.language = "en"
    fields_admin.deactivate_validation_rule(rule=lead_rule, by=cast.admin)
    report = run(corpus.csv_bytes(DATA), user=cast.rep, object_type="lead")
    assert reasons(report) == [] and report.created == 3
