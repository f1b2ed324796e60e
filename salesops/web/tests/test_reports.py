"""Report builder pages: run, save, share, copy, delete, drill into a cell, export;
each with a reader who must not see the data, and each bad input with its message."""

import datetime as dt
import io
import json
import re
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesops.crm.models import Deal
from salesops.crm.tests.factories import DealFactory
from salesops.customization.models import CustomField
from salesops.customization.services import forget_definitions
from salesops.reports import services
from salesops.reports.models import SavedReport

BY_OWNER = {
    "object": "deal",
    "g0_field": "owner",
    "m0_agg": "count",
    "m1_agg": "sum",
    "m1_field": "amount",
}


def won(owner, amount, day):
    return DealFactory(
        owner=owner,
        amount=Decimal(amount),
        status=Deal.Status.WON,
        closed_on=day,
        name=f"{owner.username} {amount}",
    )


@pytest.fixture
def deals(cast):
    return [
        won(cast.rep, "100", dt.date(2026, 1, 5)),
        won(cast.rep, "300", dt.date(2026, 2, 5)),
        won(cast.rep_east1, "50", dt.date(2026, 2, 6)),
        won(cast.outsider, "7000", dt.date(2026, 2, 7)),
    ]


def cells(html):
    """The result table's rows as lists of cell texts."""
    table = re.search(r'<table class="table" id="report-table">(.*?)</table>', html, re.S)
    assert table, "no result table"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S)
    out = []
    for row in rows[1:]:
        texts = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        out.append([re.sub(r"<[^>]+>", "", t).strip() for t in texts])
    return out


def test_the_builder_runs_a_grouped_report_with_the_readers_scope(signed_in, cast, deals):
    page = signed_in(cast.manager).get(reverse("report_new"), BY_OWNER)
    assert page.status_code == 200
    rows = cells(page.content.decode())
    assert rows == [["rep", "2", "400.00"], ["rep_east1", "1", "50.00"], ["Total", "3", "450.00"]]
    assert "7,000" not in page.content.decode() and "outsider" not in page.content.decode()
    assert "converted at the exchange rate" in page.content.decode()


def test_the_nav_links_to_reports(signed_in, cast):
    page = signed_in(cast.rep).get(reverse("home"))
    assert reverse("report_list").encode() in page.content


@pytest.mark.parametrize(
    ("params", "where", "message"),
    [
        (
            {"f0_field": "bogus", "f0_op": "eq", "f0_value": "x"},
            "filter-0",
            "Choose one of the fields",
        ),
        ({"f0_field": "amount", "f0_op": "contains", "f0_value": "1"}, "filter-0", "does not fit"),
        (
            {"f0_field": "closed_on", "f0_op": "gte", "f0_value": "31/12/2026"},
            "filter-0",
            "YYYY-MM-DD",
        ),
        ({"f0_field": "amount", "f0_op": "gte", "f0_value": "ten"}, "filter-0", "Enter a number"),
        ({"g0_field": "closed_on", "g0_bucket": "decade"}, "group-0", "Choose day, week"),
        (
            {"g0_field": "owner", "g1_field": "stage", "g2_field": "status"},
            "report-form",
            "at most two",
        ),
        ({"m0_agg": "sum", "m0_field": "name"}, "measure-0", "Only numbers"),
    ],
)
def test_bad_input_comes_back_with_a_message_next_to_the_field(
    signed_in, cast, params, where, message
):
    page = signed_in(cast.admin).get(reverse("report_new"), {"object": "deal", **params})
    assert page.status_code == 200
    html = page.content.decode()
    block = re.search(rf'id="{where}".*?(</div>|</form>)', html, re.S)
    assert block and message in block.group(0), html[:0]
    assert 'id="report-table"' not in html


def test_saving_creates_the_report_and_a_bad_save_writes_nothing(signed_in, cast, deals):
    client = signed_in(cast.manager)
    bad = client.post(
        reverse("report_new"),
        {**BY_OWNER, "name": "", "f0_field": "amount", "f0_op": "gte", "f0_value": "x"},
    )
    assert bad.status_code == 400
    assert "Give the report a name." in bad.content.decode()
    assert not SavedReport.objects.exists()
    ok = client.post(reverse("report_new"), {**BY_OWNER, "name": "By rep", "team": cast.east.pk})
    report = SavedReport.objects.get()
    assert ok.status_code == 302 and ok["Location"] == reverse("report_detail", args=[report.pk])
    assert (report.owner, report.team, report.object_type) == (cast.manager, cast.east, "deal")
    assert report.definition["group_by"] == [{"field": "owner", "bucket": ""}]


def test_sharing_with_someone_elses_team_is_refused_next_to_the_team(signed_in, cast):
    page = signed_in(cast.rep).post(
        reverse("report_new"), {**BY_OWNER, "name": "x", "team": cast.west.pk}
    )
    assert page.status_code == 400
    assert "your own teams" in page.content.decode()
    assert not SavedReport.objects.exists()


@pytest.fixture
def shared(cast):
    return services.create_report(
        user=cast.manager,
        name="East by rep",
        object_type="deal",
        definition={"group_by": [{"field": "owner"}], "measures": [{"agg": "count"}]},
        team=cast.east,
    )


def test_a_shared_report_shows_each_team_member_their_own_records(signed_in, cast, deals, shared):
    page = signed_in(cast.rep).get(reverse("report_detail", args=[shared.pk]))
    assert page.status_code == 200
    assert cells(page.content.decode()) == [["rep", "2"], ["Total", "2"]]
    listing = signed_in(cast.rep_east1).get(reverse("report_list"))
    assert "East by rep" in listing.content.decode()


def test_people_outside_the_team_get_404_everywhere(signed_in, cast, deals, shared):
    client = signed_in(cast.outsider)
    for name in ("report_detail", "report_records", "report_export"):
        assert client.get(reverse(name, args=[shared.pk])).status_code == 404
    for name in ("report_copy", "report_delete"):
        assert client.post(reverse(name, args=[shared.pk])).status_code == 404
    assert (
        client.post(
            reverse("report_detail", args=[shared.pk]), {**BY_OWNER, "name": "x"}
        ).status_code
        == 404
    )
    assert "East by rep" not in client.get(reverse("report_list")).content.decode()
    assert SavedReport.objects.filter(pk=shared.pk, name="East by rep").exists()


def test_team_members_may_copy_but_not_change_or_delete(signed_in, cast, shared):
    client = signed_in(cast.rep)
    page = client.get(reverse("report_detail", args=[shared.pk]))
    assert 'id="save-form"' not in page.content.decode()
    assert 'id="delete"' not in page.content.decode()
    changed = client.post(reverse("report_detail", args=[shared.pk]), {**BY_OWNER, "name": "Mine"})
    assert changed.status_code == 400 and "save a copy" in changed.content.decode()
    client.post(reverse("report_delete", args=[shared.pk]))
    shared.refresh_from_db()
    assert shared.name == "East by rep"
    copied = client.post(reverse("report_copy", args=[shared.pk]))
    copy = SavedReport.objects.exclude(pk=shared.pk).get()
    assert copied["Location"] == reverse("report_detail", args=[copy.pk])
    assert (copy.owner, copy.team) == (cast.rep, None)


def test_the_owner_changes_and_deletes(signed_in, cast, shared):
    client = signed_in(cast.manager)
    client.post(
        reverse("report_detail", args=[shared.pk]), {**BY_OWNER, "name": "Renamed", "team": ""}
    )
    shared.refresh_from_db()
    assert (shared.name, shared.team) == ("Renamed", None)
    client.post(reverse("report_delete", args=[shared.pk]))
    assert not SavedReport.objects.filter(pk=shared.pk).exists()


def test_every_number_opens_the_records_it_counts(signed_in, cast, deals):
    client = signed_in(cast.manager)
    html = client.get(reverse("report_new"), BY_OWNER).content.decode()
    links = re.findall(r'<td class="num"><a href="([^"]+)">([^<]+)</a>', html)
    counts = [(url, text) for i, (url, text) in enumerate(links) if i % 2 == 0]
    assert len(counts) == 3
    for url, text in counts:
        page = client.get(url.replace("&amp;", "&"))
        assert page.status_code == 200
        shown = re.search(r'id="records-count">(\d+)<', page.content.decode()).group(1)
        assert shown == text
        assert "outsider" not in page.content.decode()


def test_a_drill_down_stays_within_the_readers_scope(signed_in, cast, deals):
    query = {**BY_OWNER, "keys": json.dumps([cast.outsider.pk])}
    page = signed_in(cast.manager).get(reverse("report_run_records"), query)
    assert page.status_code == 200
    assert re.search(r'id="records-count">0<', page.content.decode())
    bad = signed_in(cast.manager).get(reverse("report_run_records"), {**BY_OWNER, "keys": "[[1]]"})
    assert bad.status_code == 404


def test_exports_need_the_export_right_and_hold_only_the_readers_rows(signed_in, cast, deals):
    from openpyxl import load_workbook

    client = signed_in(cast.manager)
    xlsx = client.get(reverse("report_run_export"), {**BY_OWNER, "format": "xlsx"})
    assert xlsx.status_code == 200
    rows = [
        [c.value for c in r] for r in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows()
    ]
    assert rows[1:] == [["rep", 2, 400], ["rep_east1", 1, 50], ["Total", 3, 450]]
    csv = client.get(reverse("report_run_export"), {**BY_OWNER, "format": "csv"})
    assert "outsider" not in csv.content.decode("utf-8")
    cast.manager.role.rights = {"deal": ["view"]}
    cast.manager.role.save()
    assert (
        client.get(reverse("report_run_export"), {**BY_OWNER, "format": "csv"}).status_code == 403
    )


def test_a_role_without_the_view_right_gets_404(signed_in, cast):
    cast.rep.role.rights = {"lead": ["view"]}
    cast.rep.role.save()
    client = signed_in(cast.rep)
    assert client.get(reverse("report_new"), {"object": "deal"}).status_code == 404
    assert client.get(reverse("report_run_records"), {"object": "deal"}).status_code == 404


def test_a_saved_report_whose_custom_field_was_deleted_shows_a_message(signed_in, cast):
    forget_definitions()
    field = CustomField.objects.create(
        object_type="deal", key="seats", label="Seats", field_type="number"
    )
    report = services.create_report(
        user=cast.admin,
        name="Seats",
        object_type="deal",
        definition={"measures": [{"agg": "sum", "field": "custom.seats"}]},
    )
    field.delete()
    forget_definitions()
    page = signed_in(cast.admin).get(reverse("report_detail", args=[report.pk]))
    assert page.status_code == 200
    assert "no longer exists" in page.content.decode()
    assert signed_in(cast.admin).get(reverse("report_export", args=[report.pk])).status_code == 400


def test_a_chart_carries_its_data_as_json_and_no_inline_script(signed_in, cast, deals):
    page = signed_in(cast.manager).get(reverse("report_new"), {**BY_OWNER, "chart": "bar"})
    html = page.content.decode()
    data = re.search(
        r'<script id="report-chart-data" type="application/json">(.*?)</script>', html, re.S
    )
    spec = json.loads(data.group(1))
    assert spec["labels"] == ["rep", "rep_east1"]
    assert [p["value"] for p in spec["series"][0]["points"]] == [2, 1]
    assert all(
        p["url"].startswith(reverse("report_run_records")) for p in spec["series"][0]["points"]
    )
    assert " onclick=" not in html and "javascript:" not in html


def test_the_page_makes_the_same_number_of_queries_for_more_records(signed_in, cast):
    client = signed_in(cast.manager)
    params = {
        **BY_OWNER,
        "g1_field": "closed_on",
        "g1_bucket": "month",
        "m2_agg": "median",
        "m2_field": "amount",
    }

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("report_new"), params).status_code == 200
        return len(ctx.captured_queries)

    won(cast.rep, "1", dt.date(2026, 1, 1))
    queries()
    few = queries()
    for i in range(12):
        won([cast.rep, cast.rep_east1][i % 2], str(i + 1), dt.date(2026, 1 + i % 6, 1))
    assert queries() == few


def test_a_url_with_a_definition_is_never_sql(signed_in, cast, deals):
    params = {
        "object": "deal",
        "g0_field": "owner_id) FROM users_user; --",
        "f0_field": "name",
        "f0_op": "eq",
        "f0_value": "' OR 1=1 --",
    }
    page = signed_in(cast.rep).get(reverse("report_new") + "?" + urlencode(params))
    assert page.status_code == 200
    assert "Choose one of the fields offered." in page.content.decode()
