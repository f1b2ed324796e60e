"""Dashboards: numbers within the viewer's scope, 404 outside it, the period picker's
errors, drill-down lists whose totals are the tiles' numbers, CSV export, CSP, and one
browser check that the charts draw."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.activities.models import FollowUp
from salesops.crm.models import Contract, Customer, Deal, Payment
from salesops.crm.tests.factories import PipelineFactory
from salesops.org.models import Currency, ExchangeRate
from salesops.users.models import Target

D = dt.date
Q3 = "2026-Q3"


@pytest.fixture
def books(cast):
    """Q3 2026: rep (East) wins 1,000 CNY and 100 USD (at 7.0), loses one deal, has one
    open deal and one payment; the outsider (West) wins 5,000 CNY. A deal won in Q2 and a
    deleted one must not count."""
    org = cast.org
    # A transactional (browser) test may run after a flush that took the currencies away.
    for code, name in (("CNY", "Chinese yuan"), ("USD", "US dollar")):
        Currency.objects.get_or_create(code=code, defaults={"name": name})
    org.base_currency_id = "CNY"
    org.save()
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 1, 1), rate=Decimal("7.0"))
    pipeline = PipelineFactory(name="New business", is_default=True)

    def deal(owner, name, amount, status="won", closed=None, currency="CNY", **extra):
        stage = {"won": "Won", "lost": "Lost", "open": "Negotiate"}[status]
        return Deal.objects.create(
            name=name,
            customer=Customer.objects.create(name=f"{name} Co", owner=owner),
            pipeline=pipeline,
            stage=pipeline.stages.get(name=stage),
            amount=Decimal(amount),
            currency_id=currency,
            status=status,
            created_on=D(2026, 6, 1),
            closed_on=closed,
            owner=owner,
            **extra,
        )

    rep, out = cast.rep, cast.outsider
    east = deal(rep, "East one", "1000", closed=D(2026, 7, 10))
    deal(rep, "East two", "100", closed=D(2026, 8, 20), currency="USD")
    deal(rep, "East lost", "500", status="lost", closed=D(2026, 7, 20))
    deal(rep, "East open", "800", status="open", expected_close=D(2026, 9, 1))
    deal(rep, "East old", "9", closed=D(2026, 6, 30))
    deal(rep, "East deleted", "7", closed=D(2026, 7, 1)).soft_delete()
    deal(out, "West big", "5000", closed=D(2026, 7, 15))
    contract = Contract.objects.create(
        customer=east.customer,
        owner=rep,
        number="C-1",
        title="East contract",
        amount=300,
        currency_id="CNY",
    )
    Payment.objects.create(
        contract=contract,
        owner=rep,
        amount=Decimal("300"),
        currency_id="CNY",
        received_on=D(2026, 8, 1),
    )
    Target.objects.create(
        user=rep, metric="bookings", period_kind="quarter", period_start=D(2026, 7, 1), value=2000
    )
    return pipeline


def tile(response, kpi_id):
    return next(t for t in response.context["tiles"] if t["id"] == kpi_id)


def test_the_org_dashboard_of_a_rep_counts_only_their_own_deals(cast, books, signed_in):
    response = signed_in(cast.rep).get(reverse("dashboard"), {"period": Q3})
    assert response.status_code == 200
    assert tile(response, "bookings")["text"] == "¥1,700.00"  # 1000 + 100 × 7, no West
    assert tile(response, "won_deals")["text"] == "2"
    assert tile(response, "win_rate")["text"] == "66.7%"
    assert tile(response, "open_pipeline")["text"] == "¥800.00"


def test_the_org_dashboard_of_an_admin_counts_everyone(cast, books, signed_in):
    response = signed_in(cast.admin).get(reverse("dashboard"), {"period": Q3})
    assert tile(response, "bookings")["text"] == "¥6,700.00"
    assert tile(response, "attainment")["text"] == "—"  # no organisation target


def test_a_rep_dashboard_compares_with_the_target(cast, books, signed_in):
    response = signed_in(cast.rep).get(reverse("dashboard_rep", args=[cast.rep.pk]), {"period": Q3})
    bookings = tile(response, "bookings")
    assert [c["text"] for c in bookings["compare"]] == ["¥9.00", "¥0.00", "¥2,000.00"]
    assert bookings["compare"][2]["delta"] == "85%"
    assert tile(response, "attainment")["text"] == "85.0%"


def test_another_teams_or_reps_dashboard_is_404_for_a_rep(cast, books, signed_in):
    client = signed_in(cast.rep)
    assert client.get(reverse("dashboard_rep", args=[cast.outsider.pk])).status_code == 404
    assert client.get(reverse("dashboard_team", args=[cast.west.pk])).status_code == 404
    assert client.get(reverse("dashboard_team", args=[cast.east.pk])).status_code == 200
    drill = reverse("dashboard_drill", args=["won"])
    assert client.get(drill, {"period": Q3, "owner": cast.outsider.pk}).status_code == 404
    data = reverse("dashboard_data")
    assert client.get(data, {"period": Q3, "team": cast.west.pk}).status_code == 404


def test_a_team_dashboard_holds_its_sub_teams_and_not_other_teams(cast, books, signed_in):
    response = signed_in(cast.manager).get(
        reverse("dashboard_team", args=[cast.hq.pk]), {"period": Q3}
    )
    assert tile(response, "bookings")["text"] == "¥1,700.00"  # the manager cannot see West
    response = signed_in(cast.admin).get(
        reverse("dashboard_team", args=[cast.west.pk]), {"period": Q3}
    )
    assert tile(response, "bookings")["text"] == "¥5,000.00"


@pytest.mark.parametrize("text", ["2026-Q5", "yesterday", "2026-09-30..2026-07-01"])
def test_a_bad_period_says_which_forms_exist(cast, signed_in, text):
    response = signed_in(cast.rep).get(reverse("dashboard"), {"period": text})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "2026-07-01..2026-09-30" in html
    assert "tile-" not in html


def test_presets_and_custom_ranges_pick_the_period(cast, signed_in):
    client = signed_in(cast.rep)
    response = client.get(reverse("dashboard"), {"period": "FY2026-Q1"})
    assert response.context["period"].start == D(2026, 1, 1)
    response = client.get(reverse("dashboard"), {"period": "last_quarter"})
    assert response.status_code == 200 and response.context["chosen"] == "last_quarter"


@pytest.mark.parametrize(
    ("kpi_id", "count"),
    [("bookings", 2), ("collections", 1), ("win_rate", 3), ("open_pipeline", 1)],
)
def test_a_tiles_drill_down_lists_exactly_what_it_counts(cast, books, signed_in, kpi_id, count):
    client = signed_in(cast.rep)
    page = client.get(reverse("dashboard"), {"period": Q3})
    t = tile(page, kpi_id)
    drill = client.get(t["url"])
    assert drill.status_code == 200
    assert drill.context["count"] == count
    if kpi_id != "win_rate":
        assert drill.context["total"] == t["text"]
    names = " ".join(str(row[0]) for _url, row in drill.context["rows"])
    assert "West" not in names and "deleted" not in names and "old" not in names


def test_the_drill_down_exports_its_rows_as_csv(cast, books, signed_in):
    client = signed_in(cast.admin)
    url = tile(client.get(reverse("dashboard"), {"period": Q3}), "bookings")["url"]
    response = client.get(url + "&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + 3
    assert "East two" in response.content.decode() and "700.00" in response.content.decode()


def test_the_chart_data_is_within_the_viewers_scope(cast, books, signed_in):
    FollowUp.objects.create(
        owner=cast.outsider,
        kind="call",
        subject="West call",
        customer=Customer.objects.get(name="West big Co"),
        occurred_at=dt.datetime(2026, 7, 2, 3, tzinfo=dt.UTC),
    )
    response = signed_in(cast.rep).get(reverse("dashboard_data"), {"period": Q3})
    charts = response.json()["charts"]
    trend = charts["trend"]
    july = trend["labels"].index("2026-07")
    assert trend["series"][0]["points"][july]["value"] == 1000.0
    assert charts["heatmap"]["cells"] == []
    board = charts["leaderboard"]
    assert board["labels"] == [str(cast.rep)]
    assert charts["gauges"]["items"][0]["value"] == 0.85


def test_dashboard_pages_keep_the_csp(cast, books, signed_in):
    client = signed_in(cast.rep)
    for url in [reverse("dashboard"), reverse("dashboard_drill", args=["won"]) + "?period=2026"]:
        response = client.get(url)
        html = response.content.decode()
        nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
        assert html.count("<script") == html.count(f'nonce="{nonce}"') >= 2, url
        assert "style=" not in html and " onclick=" not in html, url


@pytest.mark.browser
# The live server runs in another thread, so the data must be committed (as in
# test_browser_smoke: serialized_rollback brings back the currencies a flush removed).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_charts_draw_in_a_browser(cast, books, live_server, new_page, screenshot):
    from pathlib import Path

    vendor = Path(__file__).resolve().parents[1] / "static/vendor/echarts/echarts.min.js"
    if not vendor.exists():
        pytest.skip("ECharts is not installed into static/vendor (run scripts/ensure-static)")
    page = new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("input[name=username]", "rep")
    page.fill("input[name=password]", "pw-for-tests-0")
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}{reverse('dashboard')}?period={Q3}")
    page.wait_for_selector("[data-ready]", state="attached")
    assert page.locator("[data-chart='trend'] canvas").count() >= 1
    assert page.locator("[data-rendered='chart']").count() >= 5
    screenshot(page, "dashboard-org-rep")
    assert errors == []


def test_every_chart_element_opens_the_list_of_what_it_counts(cast, books, signed_in):
    # 3:00 UTC is 11:00 in Shanghai; 15:59 and 16:00 UTC are 23:59 and 0:00 the next day
    for day, hour, minute in ((2, 3, 0), (2, 3, 0), (3, 3, 0), (2, 15, 59), (2, 16, 0)):
        FollowUp.objects.create(
            owner=cast.rep,
            kind="call",
            subject="East call",
            customer=Customer.objects.get(name="East one Co"),
            occurred_at=dt.datetime(2026, 7, day, hour, minute, tzinfo=dt.UTC),
        )
    client = signed_in(cast.rep)
    charts = client.get(reverse("dashboard_data"), {"period": "2026-07"}).json()["charts"]
    checked = 0
    for key, chart in charts.items():
        points = [p for s in chart.get("series", []) for p in s["points"]]
        points += chart.get("items", []) + chart.get("cells", [])
        for point in points:
            response = client.get(point["url"])
            assert response.status_code == 200, (key, point["url"])
            if key in ("cycle", "heatmap"):
                assert response.context["count"] == point["value"], (key, point)
            if key == "trend" and point["value"]:
                assert float(response.context["total_value"]) == point["value"], point
            checked += 1
    assert checked > 20
    assert [c["value"] for c in charts["heatmap"]["cells"]] == [3, 2]  # local days


def test_a_pipeline_narrows_the_tiles_charts_and_drill_downs(cast, books, signed_in):
    other = PipelineFactory(name="Renewals")
    Deal.objects.create(
        name="East renewal",
        customer=Customer.objects.get(name="East one Co"),
        pipeline=other,
        stage=other.stages.get(name="Won"),
        amount=Decimal("50"),
        currency_id="CNY",
        status="won",
        created_on=D(2026, 6, 1),
        closed_on=D(2026, 7, 5),
        owner=cast.rep,
    )
    client = signed_in(cast.rep)
    everything = client.get(reverse("dashboard"), {"period": Q3})
    assert tile(everything, "bookings")["text"] == "¥1,750.00"
    page = client.get(reverse("dashboard"), {"period": Q3, "pipeline": books.pk})
    bookings = tile(page, "bookings")
    assert bookings["text"] == "¥1,700.00"
    assert f"pipeline={books.pk}" in bookings["url"]
    assert client.get(bookings["url"]).context["total"] == "¥1,700.00"
    charts = client.get(page.context["data_url"]).json()["charts"]
    july = charts["trend"]["labels"].index("2026-07")
    assert charts["trend"]["series"][0]["points"][july]["value"] == 1000.0
    assert client.get(reverse("dashboard"), {"pipeline": "999999"}).status_code == 404
