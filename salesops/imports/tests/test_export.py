"""Exports: within the data scope and field hiding, formula-safe, and importable back."""

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from salesops.crm.models import Customer, Lead
from salesops.crm.tests.factories import CustomerFactory, LeadFactory
from salesops.customization.models import CustomField
from salesops.imports.exporting import export_bytes, export_table
from salesops.imports.reading import open_table
from salesops.imports.tests.helpers import reasons, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _people_read_english(cast):
    for person in (cast.admin, cast.manager, cast.rep, cast.outsider, cast.analyst):
        person.language = "en"


def parsed(data: bytes, name: str = "x.csv") -> list[list]:
    with open_table(io.BytesIO(data), name) as table:
        return [table.headers] + [r.cells for r in table.rows]


def test_an_export_never_includes_another_teams_records(cast):
    LeadFactory.create(owner=cast.rep, name="East lead")
    LeadFactory.create(owner=cast.outsider, name="West lead")
    for user, expected in ((cast.manager, {"East lead"}), (cast.outsider, {"West lead"})):
        rows = parsed(export_bytes("lead", user=user))
        names = {r[rows[0].index("contact name")] for r in rows[1:]}
        assert names == expected
    everything = parsed(export_bytes("lead", user=cast.analyst))
    assert len(everything) == 3


def test_fields_the_role_hides_are_not_exported(cast):
    cast.rep.role.hidden_fields = {"lead": ["phone", "budget"]}
    cast.rep.role.save()
    CustomField.objects.create(object_type="lead", key="budget", label="Budget", field_type="money")
    LeadFactory.create(owner=cast.rep, phone="+8613800138000", custom={"budget": "5.00"})
    headers, _rows = export_table("lead", user=cast.rep)
    assert "phone" not in headers
    assert "Budget" not in headers
    assert "e-mail" in headers


def test_exporting_needs_the_export_right(cast):
    cast.rep.role.rights = {"lead": ["view"]}
    cast.rep.role.save()
    with pytest.raises(PermissionDenied):
        export_table("lead", user=cast.rep)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formula_cells_are_neutralised_on_export_and_restored_on_import(cast, fmt):
    dangerous = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\tTab"]
    for i, text in enumerate(dangerous):
        LeadFactory.create(owner=cast.rep, name=f"L{i}", company=text, email=f"l{i}@example.com")
    data = export_bytes("lead", user=cast.rep, fmt=fmt)
    rows = parsed(data, f"x.{fmt}")
    column = rows[0].index("company")
    assert sorted(r[column] for r in rows[1:]) == sorted("'" + t for t in dangerous)
    Lead.objects.all().delete()
    report = run(data, user=cast.rep, object_type="lead", name=f"x.{fmt}")
    assert reasons(report) == []
    assert sorted(Lead.objects.values_list("company", flat=True)) == sorted(dangerous)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_gives_back_the_same_records(cast, fmt):
    CustomField.objects.create(object_type="customer", key="tier", label="Tier", field_type="text")
    CustomField.objects.create(
        object_type="customer", key="since", label="Since", field_type="date"
    )
    for i in range(5):
        CustomerFactory.create(
            owner=cast.rep if i % 2 else cast.rep_east1,
            name=f"客户 {i}",
            phone=f"+86138001380{i:02d}",
            email=f"c{i}@example.com",
            size="small",
            custom={"tier": f"=T{i}", "since": "2024-03-05"},
        )
    first = export_bytes("customer", user=cast.manager, fmt=fmt)
    before = parsed(first, f"x.{fmt}")
    Customer.objects.all().delete()
    report = run(first, user=cast.manager, object_type="customer", name=f"x.{fmt}")
    assert reasons(report) == []
    assert report.created == 5
    after = parsed(export_bytes("customer", user=cast.manager, fmt=fmt), f"x.{fmt}")
    assert after == before


def test_the_command_writes_csv_and_xlsx(cast, tmp_path):
    LeadFactory.create(owner=cast.rep, name="Mine")
    out = io.StringIO()
    call_command("export", "--object=lead", "--as-user=rep", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert rows[1][0] == "Mine"
    target = tmp_path / "leads.xlsx"
    call_command("export", "--object=lead", "--as-user=rep", "--format=xlsx", f"--output={target}")
    assert parsed(target.read_bytes(), "leads.xlsx")[1][0] == "Mine"
