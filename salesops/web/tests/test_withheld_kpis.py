"""KPI figures that read a field the viewer's role hides (deal amount) are withheld on
the dashboard's tiles and charts, the home page and the targets grid: "—" and a note
where the figure was, while counts still show. A role hiding nothing sees them all."""

import pytest
from django.urls import reverse

from salesops.analytics import engine
from salesops.analytics.kpis import withheld
from salesops.analytics.periods import parse_period
from salesops.customization import policy
from salesops.web.tests.test_dashboards import Q3, books, tile  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("books")

NOTE = "hidden for your role"
AMOUNT_TILES = ["bookings", "avg_deal_size", "open_pipeline", "weighted_pipeline", "attainment"]


def hide_amount(user):
    role = user.role
    role.hidden_fields = {"deal": ["amount"]}
    role.save()
    policy.forget(user)


def test_withheld_names_the_kpis_that_read_a_hidden_field(cast):
    ids = ["bookings", "collections", "won_deals", "win_rate", "open_pipeline", "bookings"]
    assert withheld(cast.rep, ids) == set()
    hide_amount(cast.rep)
    assert withheld(cast.rep, ids) == {"bookings", "open_pipeline"}


def test_the_engine_gives_null_with_a_reason_for_a_withheld_kpi(cast):
    hide_amount(cast.rep)
    ctx = engine.KpiContext(viewer=cast.rep, period=parse_period(Q3))
    values, errors = engine.compute(ctx, ["bookings", "won_deals", "rep_performance"])
    assert values["bookings"] is None and "hidden for your role" in errors["bookings"]
    assert values["won_deals"] == 2 and "won_deals" not in errors
    row = values["rep_performance"][str(cast.rep.pk)]
    assert row["bookings"] is None and row["avg_deal_size"] is None
    assert row["attainment"] is None and row["won_deals"] == 2
    assert row["collections"] == "300.00"


def test_amount_tiles_are_withheld_while_counts_show(cast, signed_in):
    hide_amount(cast.rep)
    response = signed_in(cast.rep).get(reverse("dashboard_rep", args=[cast.rep.pk]), {"period": Q3})
    assert response.status_code == 200
    for kpi_id in AMOUNT_TILES:
        t = tile(response, kpi_id)
        assert (t["text"], t["value"], t["compare"], t["note"]) == ("—", None, [], NOTE), kpi_id
    assert tile(response, "won_deals")["text"] == "2"
    assert tile(response, "win_rate")["text"] == "66.7%"
    assert tile(response, "collections")["text"] == "¥300.00"
    html = response.content.decode()
    assert NOTE in html
    for figure in ("1,700", "800.00", "85%", "85.0%", "2,000"):
        assert figure not in html, figure


def test_a_role_hiding_nothing_sees_every_tile(cast, signed_in):
    response = signed_in(cast.rep).get(reverse("dashboard_rep", args=[cast.rep.pk]), {"period": Q3})
    assert tile(response, "bookings")["text"] == "¥1,700.00"
    assert tile(response, "open_pipeline")["text"] == "¥800.00"
    assert tile(response, "attainment")["text"] == "85.0%"
    assert NOTE not in response.content.decode()


def test_chart_data_carries_no_amount_for_a_role_hiding_it(cast, signed_in):
    hide_amount(cast.rep)
    response = signed_in(cast.rep).get(reverse("dashboard_data"), {"period": Q3})
    charts = response.json()["charts"]
    assert [s["name"] for s in charts["trend"]["series"]] == ["Collections"]
    for name in ("leaderboard", "pipeline_stage", "pipeline_month"):
        assert charts[name]["withheld"] is True and charts[name]["empty"] == NOTE
        assert charts[name]["labels"] == [] and charts[name]["series"] == []
    assert charts["gauges"]["items"] == []  # the bookings target's attainment
    july = charts["win_rate"]["labels"].index("2026-07")
    assert charts["win_rate"]["series"][0]["points"][july]["value"] == 0.5
    assert sum(p["value"] for p in charts["cycle"]["series"][0]["points"]) == 2
    text = response.content.decode()
    for figure in ("1000.0", "800.0", "1700", "0.85"):
        assert figure not in text, figure


def test_chart_data_is_whole_for_a_role_hiding_nothing(cast, signed_in):
    charts = signed_in(cast.rep).get(reverse("dashboard_data"), {"period": Q3}).json()["charts"]
    assert [s["name"] for s in charts["trend"]["series"]] == ["Bookings", "Collections"]
    assert charts["pipeline_month"]["labels"] and "withheld" not in charts["pipeline_month"]
    assert charts["gauges"]["items"][0]["value"] == 0.85


@pytest.mark.parametrize("hidden", [True, False])
def test_the_home_page_withholds_amount_figures(cast, signed_in, hidden):
    if hidden:
        hide_amount(cast.analyst)
    response = signed_in(cast.analyst).get(reverse("home"))
    assert response.status_code == 200
    kpis, shown = response.context["kpis"], response.context["withheld"]
    assert "won_deals" not in shown and kpis["won_deals"] is not None
    if hidden:
        assert {"bookings", "avg_deal_size", "open_pipeline", "weighted_pipeline"} <= shown
        assert all(kpis[k] is None for k in shown)
        assert NOTE in response.content.decode()
    else:
        assert shown == set()
        assert NOTE not in response.content.decode()


def test_the_targets_grid_withholds_bookings_actuals(cast, signed_in):
    hide_amount(cast.manager)
    client = signed_in(cast.manager)
    url = reverse("targets")
    hidden = client.get(url, {"year": 2026, "metric": "bookings"}).content.decode()
    assert "Actuals are not shown: they read a field hidden for your role." in hidden
    counts = client.get(url, {"year": 2026, "metric": "won_deals"}).content.decode()
    assert "hidden for your role" not in counts
