"""Custom objects are imported and exported like the built-in objects: the targets come
from the registry (title, links by name, owner, the object's fields), rows go through
`objects.services.create_record`, duplicates are found by title, bad rows are reported
by line, exports leave out hidden fields and import back, and the command line takes
the object's key."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from salesops.crm import services as crm
from salesops.imports.exporting import export_bytes, export_table
from salesops.imports.fields import importable_types, spec_for
from salesops.imports.reading import open_table
from salesops.imports.tests.helpers import reasons, run
from salesops.objects import services
from salesops.objects.models import CustomRecord
from salesops.objects.tests.helpers import define_site_visit, hide

pytestmark = pytest.mark.django_db

CSV = (
    "标题,客户,拜访结果,评分,拜访日期,负责人\n"
    "首次拜访,杭州云栖科技,Good,8,2026-11-02,rep\n"
    "复访,杭州云栖科技,很好,5,2026-11-09,rep\n"
    "第三次,不存在的公司,Bad,3,2026-11-16,rep\n"
    "首次拜访,杭州云栖科技,Later,9,2026-11-20,rep\n"
).encode()


@pytest.fixture
def visit(cast):
    define_site_visit(cast)
    for person in (cast.admin, cast.rep, cast.outsider):
        person.language = "en"
    return crm.create_customer(by=cast.rep, name="杭州云栖科技")


def test_a_custom_object_is_offered_with_its_targets(cast, visit):
    assert ("site_visit", "Site visits") in [(k, str(p)) for k, p in importable_types()]
    keys = [t.key for t in spec_for("site_visit").targets]
    assert keys[:2] == ["title", "customer"]
    assert {"owner", "custom.outcome", "custom.score", "custom.visited_on"} <= set(keys)
    assert "created_at" not in keys and "contact" not in keys


def test_a_csv_with_chinese_headers_imports_links_by_name_and_reports_bad_rows_by_line(cast, visit):
    report = run(CSV, user=cast.rep, object_type="site_visit")
    assert (report.created, report.failed, report.skipped) == (1, 2, 1)
    found = reasons(report)
    assert {line for line, _c, _r in found} == {3, 4}
    assert any(col == "拜访结果" and "很好" in r for line, col, r in found if line == 3), found
    assert any(col == "客户" and "不存在的公司" in r for line, col, r in found if line == 4), found
    record = CustomRecord.objects.get()
    assert record.title == "首次拜访" and record.customer == visit
    assert record.owner == cast.rep and record.kind.key == "site_visit"
    assert record.custom == {"outcome": "good", "score": 8, "visited_on": "2026-11-02"}
    # Line 5 repeats the title of line 2: a duplicate, skipped (the object's dedupe).
    update = run(CSV, user=cast.rep, object_type="site_visit", dedupe="update")
    assert update.updated == 2  # line 2 and its repeat on line 5, both the same record
    record.refresh_from_db()
    assert record.custom["outcome"] == "later" and record.title == "首次拜访"


def test_an_outsider_cannot_link_to_the_reps_customer(cast, visit):
    report = run(CSV, user=cast.outsider, object_type="site_visit")
    assert report.created == 0 and report.failed == 4
    assert not CustomRecord.all_objects.exists()


def test_export_leaves_out_hidden_fields_and_other_teams_records_and_imports_back(cast, visit):
    services.create_record(
        by=cast.rep,
        object_type="site_visit",
        data={"title": "Mine", "customer": visit},
        custom={"outcome": "good", "score": 7, "note": "=1+1"},
    )
    services.create_record(by=cast.outsider, object_type="site_visit", data={"title": "West"})
    hide(cast.rep.role, "site_visit", "score", users=(cast.rep,))
    headers, rows = export_table("site_visit", user=cast.rep)
    rows = list(rows)
    assert "评分" not in headers and "拜访结果" in headers
    assert [r[headers.index("Subject")] for r in rows] == ["Mine"]
    assert rows[0][headers.index("拜访结果")] == "Good"
    assert rows[0][headers.index("customer")] == "杭州云栖科技"
    admin_headers, admin_rows = export_table("site_visit", user=cast.admin)
    assert "评分" in admin_headers and len(list(admin_rows)) == 2
    data = export_bytes("site_visit", user=cast.rep)
    assert b"'=1+1" in data  # formula-safe
    CustomRecord.objects.all().delete()
    report = run(data, user=cast.rep, object_type="site_visit")
    assert (report.created, report.failed) == (1, 0), reasons(report)
    record = CustomRecord.objects.get()
    assert record.custom == {"outcome": "good", "note": "=1+1"} and record.customer == visit


def test_the_command_line_takes_a_custom_objects_key(cast, visit, tmp_path):
    path = tmp_path / "visits.csv"
    path.write_bytes(CSV)
    call_command("import", str(path), object="site_visit", as_user="rep", dry_run=True)
    assert not CustomRecord.all_objects.exists()
    out = tmp_path / "out.csv"
    services.create_record(by=cast.rep, object_type="site_visit", data={"title": "Mine"})
    call_command("export", object="site_visit", as_user="rep", output=str(out))
    with open_table(io.BytesIO(out.read_bytes()), "out.csv") as table:
        assert [r.cells[0] for r in table.rows] == ["Mine"]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="site_visit"):
        call_command("export", object="nothing", as_user="rep")
