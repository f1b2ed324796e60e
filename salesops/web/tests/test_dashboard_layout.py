"""Settings ▸ Dashboard layout: administrators choose the dashboards' tiles and charts
and their order; every dashboard page, its chart data and its e-mail follow it."""

from __future__ import annotations

import re

from django.urls import reverse

from salesops.analytics.dashboard import DEFAULT_LAYOUT, Layout, layout
from salesops.analytics.models import DashboardLayout
from salesops.audit.models import AuditEntry

URL = "/settings/dashboard/"


def shown(html: str) -> tuple[list[str], list[str]]:
    return re.findall(r'id="tile-([a-z_]+)"', html), re.findall(r'data-chart="([a-z_]+)"', html)


def form(tiles: dict[str, object], charts: dict[str, object]) -> dict[str, object]:
    data: dict[str, object] = {"tile": list(tiles), "chart": list(charts)}
    data |= {f"tile_position_{k}": str(v) for k, v in tiles.items()}
    data |= {f"chart_position_{k}": str(v) for k, v in charts.items()}
    return data


def test_without_a_saved_layout_the_dashboard_shows_everything_in_the_standard_order(
    cast, signed_in
):
    html = signed_in(cast.rep).get(reverse("dashboard"), {"period": "2026-Q3"}).content.decode()
    assert shown(html) == (list(DEFAULT_LAYOUT.tiles), list(DEFAULT_LAYOUT.charts))


def test_an_admin_chooses_and_orders_tiles_and_charts_and_every_dashboard_follows(cast, signed_in):
    client = signed_in(cast.admin)
    page = client.get(URL)
    assert page.status_code == 200 and 'name="tile_position_bookings"' in page.content.decode()

    response = client.post(
        URL, form({"win_rate": 2, "bookings": 1, "collections": 3}, {"heatmap": 1, "trend": 2})
    )

    assert response.status_code == 302
    assert layout() == Layout(("bookings", "win_rate", "collections"), ("heatmap", "trend"))
    entry = AuditEntry.objects.get(object_type="analytics.dashboardlayout")
    assert entry.actor_id == cast.admin.pk
    rep = signed_in(cast.rep)
    for url in (reverse("dashboard"), reverse("dashboard_rep", args=[cast.rep.pk])):
        html = rep.get(url, {"period": "2026-Q3"}).content.decode()
        assert shown(html) == (["bookings", "win_rate", "collections"], ["heatmap", "trend"])
    data = rep.get(reverse("dashboard_data"), {"period": "2026-Q3"}).json()
    assert list(data["charts"]) == ["heatmap", "trend"]


def test_a_position_that_is_not_a_number_is_refused_in_the_readers_language(cast, signed_in):
    client = signed_in(cast.admin, language="zh-hans")
    response = client.post(URL, form({"bookings": "first"}, {}))
    assert response.status_code == 400
    assert "整数" in response.content.decode() or "whole number" in response.content.decode()
    assert not DashboardLayout.objects.exists()


def test_nothing_to_show_is_refused(cast, signed_in):
    response = signed_in(cast.admin).post(URL, {})
    assert response.status_code == 400
    assert "Choose at least one tile or chart" in response.content.decode()
    assert not DashboardLayout.objects.exists()


def test_back_to_all_stores_the_standard_layout(cast, signed_in):
    client = signed_in(cast.admin)
    client.post(URL, form({"bookings": 1}, {}))
    client.post(URL, {"reset": "1"})
    assert layout() == DEFAULT_LAYOUT


def test_only_an_administrator_may_open_or_change_the_layout(cast, signed_in):
    for user in (cast.rep, cast.manager, cast.analyst):
        client = signed_in(user)
        assert client.get(URL).status_code == 403
        assert client.post(URL, form({"bookings": 1}, {})).status_code == 403
    assert not DashboardLayout.objects.exists()
