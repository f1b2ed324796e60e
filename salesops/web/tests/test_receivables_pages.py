"""Collections pages: the ageing table, its drill-down and export, the cash forecast and
the settings, each with a viewer who must not see the data (the outsider), and a role
hiding the amounts."""

import datetime as dt
import io
import zipfile
from unittest import mock

import pytest
from django.urls import reverse

from salesops.receivables.models import CollectionSettings
from salesops.receivables.tests.crafted import build


@pytest.fixture(autouse=True)
def _pages_in_english(cast):
    """These tests read the pages in English (people's saved language; the product's
    default is zh-Hans)."""
    type(cast.admin).objects.update(language="en")


NOW = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai


@pytest.fixture
def data(cast):
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield build(cast)


def get(client, user, name, **params):
    client.force_login(user)
    return client.get(reverse(name), params)


def test_ageing_page_per_customer_and_drill(client, data):
    r = get(client, data.cast.rep, "receivables")
    assert r.status_code == 200
    html = r.content.decode()
    assert "Alpha" in html and "Beta" in html and "Gamma" not in html
    assert "¥10,800.00" in html  # Beta's 90+
    # The 31–60 cell of Beta drills to B2 only.
    r = get(
        client, data.cast.rep, "receivables_instalments",
        group="customer", key=data.beta.pk, bucket="d31_60",
    )  # fmt: skip
    html = r.content.decode()
    assert str(data.plans["B2"]) in html and str(data.plans["B1"]) not in html
    assert 'id="drill-count">1<' in html


def test_ageing_per_rep_and_team(client, data):
    html = get(client, data.cast.manager, "receivables", group="team").content.decode()
    assert "East" in html and "West" not in html
    html = get(client, data.cast.admin, "receivables", group="rep").content.decode()
    assert str(data.cast.rep) in html and str(data.cast.outsider) in html


def test_outsider_sees_nothing_of_east(client, data):
    html = get(client, data.cast.outsider, "receivables").content.decode()
    assert "Alpha" not in html and "Beta" not in html and "Gamma" in html
    for params in (
        {"group": "customer", "key": data.beta.pk},
        {"group": "rep", "key": data.cast.rep.pk},
        {"group": "team", "key": data.cast.east.pk},
    ):
        r = get(client, data.cast.outsider, "receivables_instalments", **params)
        assert 'id="drill-count">0<' in r.content.decode()
        html = r.content.decode()
        assert "C-B" not in html and "C-A" not in html and "Beta" not in html
    r = get(client, data.cast.outsider, "receivables_instalments", format="csv")
    body = r.content.decode()
    assert "C-G" in body and "C-A" not in body and "C-B" not in body


def test_export_csv_and_xlsx(client, data):
    r = get(client, data.cast.admin, "receivables_instalments", bucket="d90_plus", format="csv")
    assert r.status_code == 200
    lines = r.content.decode().strip().splitlines()
    assert len(lines) == 2 and "C-B" in lines[1] and "10800.00" in lines[1]
    r = get(client, data.cast.admin, "receivables_instalments", format="xlsx")
    assert zipfile.ZipFile(io.BytesIO(r.content)).testzip() is None


def test_export_needs_the_export_right(client, data):
    role = data.cast.rep.role
    role.rights = {"payment": ["view"], "contract": ["view"], "customer": ["view"]}
    role.save()
    r = get(client, data.cast.rep, "receivables_instalments", format="csv")
    assert r.status_code == 403


def test_hidden_amounts_are_withheld(client, data):
    role = data.cast.manager.role
    role.hidden_fields = {"payment_plan": ["amount"]}
    role.save()
    html = get(client, data.cast.manager, "receivables").content.decode()
    assert "10,800" not in html and "1,500" not in html
    assert "Amounts are hidden for your role" in html
    r = get(client, data.cast.manager, "receivables_instalments", format="csv")
    body = r.content.decode()
    assert "1500" not in body and "10800" not in body and "C-B" in body
    html = get(client, data.cast.manager, "receivables_forecast").content.decode()
    assert "hidden for your role" in html


def test_forecast_page(client, data):
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        html = get(client, data.cast.outsider, "receivables_forecast").content.decode()
        assert "¥625.00" in html  # see receivables/tests/test_forecast.py
        html = get(client, data.cast.rep, "receivables_forecast").content.decode()
    assert "¥625.00" not in html


def test_settings_page_for_admins_only(client, data):
    assert get(client, data.cast.manager, "receivables_settings").status_code == 403
    client.force_login(data.cast.admin)
    r = client.post(reverse("receivables_settings"), {"manager_after_days": "0"})
    assert r.status_code == 400 and "from 1 to 365" in r.content.decode()
    r = client.post(
        reverse("receivables_settings"), {"manager_after_days": "14", "remind_owner": "on"}
    )
    assert r.status_code == 302
    assert CollectionSettings.get().manager_after_days == 14


def test_no_payment_right_no_page(client, data):
    role = data.cast.outsider.role
    role.rights = {"customer": ["view"]}
    role.save()
    assert get(client, data.cast.outsider, "receivables").status_code == 403


def test_collections_targets_show_in_the_targets_grid(client, data):
    from salesops.users.models import Target, User

    User.objects.update(language="en")
    Target.objects.create(
        user=data.cast.rep,
        metric="collections",
        period_kind="month",
        period_start=dt.date(2026, 11, 1),
        value=9000,
    )
    client.force_login(data.cast.manager)
    r = client.get(
        reverse("targets"),
        {"year": 2026, "basis": "calendar", "metric": "collections", "team": data.cast.east.pk},
    )
    assert r.status_code == 200
    row = next(x for x in r.context["rows"] if x["row"].user == data.cast.rep)
    # November: 1,000 + 3,500 collected on Alpha's contract of 9,000 → 50%.
    assert row["cells"][10]["rate"] == "50%"


def test_overdue_tile_is_the_kpi_and_pages_split_the_rows(client, data):
    from salesops.analytics.engine import KpiContext, compute
    from salesops.analytics.periods import parse_period

    r = get(client, data.cast.admin, "receivables")
    values, _ = compute(
        KpiContext(viewer=data.cast.admin, period=parse_period("2026-Q4")),
        ["overdue_receivables"],
    )
    assert r.context["overdue_value"] == values["overdue_receivables"] == "32300.00"
    with mock.patch("salesops.web.views.receivables.ROWS", 2):
        r = get(client, data.cast.admin, "receivables", page=2)
    assert [row["name"] for row in r.context["rows"]] == ["Alpha"]
    assert r.context["pages"] == 2 and r.context["overdue_value"] == "32300.00"


def test_forecast_page_shows_dso(client, data):
    r = get(client, data.cast.admin, "receivables_forecast")
    assert r.status_code == 200 and 'id="kpi-dso"' in r.content.decode()


def test_a_row_of_no_owner_has_no_drill_down(client, data):
    from salesops.crm.models import PaymentPlan

    PaymentPlan.objects.filter(pk=data.plans["G1"].pk).update(owner=None)
    r = get(client, data.cast.admin, "receivables", group="rep")
    nobody = next(row for row in r.context["rows"] if row["key"] is None)
    assert nobody["name"] == "—" and all(c["url"] == "" for c in nobody["cells"])
    assert nobody["cells"][2]["count"] == 1  # G1, 36 days overdue
