"""Import targets and export columns come from the metadata registry and the field
policy: Chinese headers still map, a picklist option's label imports as its key, and an
export for a role that hides fields leaves them out and writes labels."""

import csv
import io

import pytest

from salesops.crm.models import Lead
from salesops.crm.tests.factories import LeadFactory
from salesops.customization.models import CustomField, Picklist, PicklistOption
from salesops.imports.exporting import export_bytes, export_table
from salesops.imports.fields import spec_for, suggest_mapping
from salesops.imports.tests import corpus
from salesops.imports.tests.helpers import reasons, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _people_read_english(cast):
    for person in (cast.admin, cast.manager, cast.rep, cast.outsider, cast.analyst):
        person.language = "en"


@pytest.fixture
def sources():
    picklist = Picklist.objects.create(key="lead_source", name="Lead sources")
    PicklistOption.objects.create(picklist=picklist, value="website", label="官网", order=1)
    PicklistOption.objects.create(picklist=picklist, value="fair", label="Trade fair", order=2)
    industries = Picklist.objects.create(key="industry", name="Industries")
    PicklistOption.objects.create(picklist=industries, value="manufacturing", label="制造业")
    return picklist


def test_chinese_headers_still_map_to_their_fields():
    headers = ["姓名", "公司名称", "手机号", "电子邮箱", "线索来源", "所属行业", "负责人", "备注"]
    assert suggest_mapping(headers, spec_for("lead")) == {
        "姓名": "name",
        "公司名称": "company",
        "手机号": "phone",
        "电子邮箱": "email",
        "线索来源": "source",
        "所属行业": "industry",
        "负责人": "owner",
        "备注": "notes",
    }


def test_the_targets_are_the_registrys_editable_fields_less_what_the_service_sets():
    assert [t.key for t in spec_for("lead", with_custom=False).targets] == [
        "name", "company", "title", "phone", "email", "source", "industry", "region", "notes",
        "owner",
    ]  # fmt: skip
    contact = [t.key for t in spec_for("contact", with_custom=False).targets]
    assert "owner" not in contact and contact[0] == "customer"
    deal = {t.key: t for t in spec_for("deal", with_custom=False).targets}
    assert "forecast_category" not in deal and "status" not in deal
    assert not deal["pipeline"].required and deal["customer"].required


def test_a_custom_field_joins_the_targets_as_custom_key(cast):
    CustomField.objects.create(object_type="lead", key="budget", label="预算", field_type="money")
    assert suggest_mapping(["预算"], spec_for("lead")) == {"预算": "custom.budget"}


def test_a_picklist_label_imports_as_its_key(cast, sources):
    rows = [
        ["姓名", "来源", "行业"],
        ["A", "官网", "制造业"],
        ["B", "fair", ""],
        ["C", "Trade Fair", "manufacturing"],
        ["D", "Radio", ""],
    ]
    report = run(corpus.csv_bytes(rows), user=cast.rep, object_type="lead", dedupe="create")
    got = dict(Lead.objects.values_list("name", "source"))
    assert got == {"A": "website", "B": "fair", "C": "fair"}
    assert Lead.objects.get(name="A").industry == "manufacturing"
    [(line, column, reason)] = reasons(report)
    assert (line, column) == (5, "来源")
    assert "Radio" in reason


def test_a_hidden_field_is_not_a_target_for_the_person_it_is_hidden_from(cast):
    cast.rep.role.hidden_fields = {"lead": ["phone"]}
    cast.rep.role.save()
    assert spec_for("lead", user=cast.rep).target("phone") is None
    assert spec_for("lead", user=cast.manager).target("phone") is not None
    rows = [["姓名", "手机"], ["Hidden phone", "13800138000"]]
    report = run(corpus.csv_bytes(rows), user=cast.rep, object_type="lead")
    assert reasons(report) == []
    assert Lead.objects.get(name="Hidden phone").phone == ""


def parsed(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_an_export_for_a_hiding_role_leaves_out_the_hidden_columns_and_shows_labels(cast, sources):
    CustomField.objects.create(object_type="lead", key="budget", label="Budget", field_type="money")
    CustomField.objects.create(object_type="lead", key="tier", label="Tier", field_type="text")
    cast.rep.role.hidden_fields = {"lead": ["phone", "budget"]}
    cast.rep.role.save()
    LeadFactory.create(
        owner=cast.rep,
        name="Mine",
        phone="+8613800138000",
        source="website",
        custom={"budget": "98765.00", "tier": "gold"},
    )
    data = export_bytes("lead", user=cast.rep)
    text = data.decode("utf-8-sig")
    assert "13800138000" not in text and "98765" not in text
    [headers, row] = parsed(data)
    assert "phone" not in headers and "Budget" not in headers
    assert row[headers.index("Tier")] == "gold"
    assert row[headers.index("source")] == "官网"
    # The manager, who sees everything, gets both columns.
    manager_headers, _rows = export_table("lead", user=cast.manager)
    assert "phone" in manager_headers and "Budget" in manager_headers


def test_an_export_with_labels_imports_back_as_keys(cast, sources):
    LeadFactory.create(owner=cast.rep, name="Round trip", source="fair", industry="manufacturing")
    data = export_bytes("lead", user=cast.rep)
    Lead.objects.all().delete()
    report = run(data, user=cast.rep, object_type="lead")
    assert reasons(report) == []
    lead = Lead.objects.get()
    assert (lead.name, lead.source, lead.industry) == ("Round trip", "fair", "manufacturing")
