"""The targets page: the grid with actuals and attainment, saving cells all or nothing,
pasting and uploading blocks with a preview, who may see and change what, and the
actuals agreeing with the KPI engine and with the other pages that show attainment."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from salesops.activities.tests.factories import FollowUpFactory
from salesops.analytics.engine import Filters, KpiContext
from salesops.analytics.kpis import METRIC_ACTUALS, attainment_values, team_members
from salesops.analytics.periods import Period, add_months
from salesops.analytics.target_actuals import monthly_actuals
from salesops.crm import services as crm
from salesops.crm.models import Contract, Customer, Deal, Payment
from salesops.crm.tests.factories import PipelineFactory
from salesops.org.models import ExchangeRate
from salesops.users.models import Target
from salesops.users.tests.factories import UserFactory

D = dt.date
YEAR = Period(D(2025, 1, 1), D(2026, 1, 1))
URL = reverse("targets")


@pytest.fixture(autouse=True)
def _people_read_english(cast):
    """Pages follow the person's saved language; these tests read English."""
    from salesops.users.models import User

    User.objects.update(language="en")


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture
def org(cast):
    org = cast.org
    org.base_currency_id = "CNY"
    org.time_zone = "Asia/Shanghai"
    org.save()
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2024, 1, 1), rate=Decimal("7.0"))
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2025, 3, 15), rate=Decimal("7.2"))
    return org


@pytest.fixture
def sales(cast, org):
    """2025 results in East and West: USD deals either side of a rate change, a deleted
    deal, a reopened deal, a customer won twice, payments and follow-ups at month ends
    in Shanghai time."""
    pipeline = PipelineFactory(name="New business", is_default=True)
    won = pipeline.stages.get(name="Won")

    def deal(owner, cust, amount, closed, currency="CNY", deleted=False):
        d = Deal.objects.create(
            name=f"{cust.name} {amount}",
            customer=cust,
            pipeline=pipeline,
            stage=won,
            amount=Decimal(amount),
            currency_id=currency,
            status="won",
            created_on=D(2024, 12, 1),
            closed_on=closed,
            owner=owner,
        )
        if deleted:
            d.soft_delete()
        return d

    a, b, c, w = (
        Customer.objects.create(name=n, owner=o)
        for n, o in (("A", cast.rep), ("B", cast.rep), ("C", cast.rep_east1), ("W", cast.outsider))
    )
    deal(cast.rep, a, "1000", D(2025, 1, 10))
    deal(cast.rep, a, "500", D(2025, 2, 3))  # A's second win: not a new customer again
    deal(cast.rep, b, "100", D(2025, 3, 14), currency="USD")  # × 7.0
    deal(cast.rep, b, "100", D(2025, 3, 15), currency="USD")  # × 7.2
    deal(cast.rep, b, "9999", D(2025, 3, 20), deleted=True)
    reopened = deal(cast.rep_east1, c, "4444", D(2025, 4, 2))
    crm.reopen_deal(deal=reopened, by=cast.admin)
    deal(cast.rep_east1, c, "300", D(2025, 4, 30))
    deal(cast.outsider, w, "800", D(2025, 1, 20))
    contract = Contract.objects.create(
        number="HT-1",
        title="x",
        customer=a,
        amount=Decimal("1e6"),
        currency_id="CNY",
        owner=cast.rep,
    )
    for day, amount, currency, deleted in [
        (D(2025, 1, 31), "100", "USD", False),
        (D(2025, 5, 1), "250", "CNY", False),
        (D(2025, 5, 2), "777", "CNY", True),
    ]:
        p = Payment.objects.create(
            contract=contract,
            amount=Decimal(amount),
            currency_id=currency,
            received_on=day,
            owner=cast.rep,
        )
        if deleted:
            p.soft_delete()
    # 2025-01-31 17:00 UTC is 2025-02-01 01:00 in Shanghai: a February follow-up.
    for owner, moment in [
        (cast.rep, "2025-01-31 15:00:00"),
        (cast.rep, "2025-01-31 17:00:00"),
        (cast.rep_east1, "2025-06-30 16:30:00"),
        (cast.outsider, "2025-02-10 09:00:00"),
    ]:
        FollowUpFactory(owner=owner, customer=a, occurred_at=at(moment))
    return pipeline


# -- the actuals equal the KPI engine's -----------------------------------------------------


@pytest.mark.parametrize("metric", Target.Metric.values)
@pytest.mark.parametrize("viewer", ["admin", "manager", "rep"])
def test_grid_actuals_equal_the_kpi_engine_month_by_month(cast, sales, metric, viewer):
    user = getattr(cast, viewer)
    ctx = KpiContext(viewer=user, period=YEAR, today=D(2026, 1, 15))
    grid = monthly_actuals(ctx, metric, YEAR)
    owners = [cast.rep.pk, cast.rep_east1.pk, cast.outsider.pk, cast.manager.pk]
    seen_something = False
    for i in range(12):
        month = Period(add_months(YEAR.start, i), add_months(YEAR.start, i + 1))
        month_ctx = KpiContext(viewer=user, period=month, today=D(2026, 1, 15))
        engine = METRIC_ACTUALS[metric](month_ctx, month)
        for owner in owners:
            expected = Decimal(engine.get(owner, 0))
            assert grid.get(owner, {}).get(i, Decimal(0)) == expected, (owner, i)
            seen_something |= expected != 0
    assert seen_something


def test_team_actuals_in_the_grid_equal_the_engines_team_attainment(cast, sales, client):
    Target.objects.create(
        team=cast.east,
        metric="bookings",
        period_kind="month",
        period_start=D(2025, 4, 1),
        value=600,
    )
    april = Period(D(2025, 4, 1), D(2025, 5, 1))
    engine = attainment_values(
        KpiContext(viewer=cast.manager, period=april, filters=Filters(team=cast.east))
    )["bookings"]["teams"][str(cast.east.pk)]
    client.force_login(cast.manager)
    rows = client.get(URL, {"year": 2025, "basis": "calendar", "team": cast.east.pk}).context[
        "rows"
    ]
    east = next(r for r in rows if r["row"].team == cast.east)
    assert engine == 0.5  # 300 won in April (the 4,444 deal was reopened) ÷ 600
    assert east["cells"][3]["rate"] == "50%"


# -- the page -------------------------------------------------------------------------------


def grid_params(team=None, **extra):
    return {
        "year": 2025,
        "basis": "calendar",
        "metric": "bookings",
        "team": "" if team is None else team.pk,
        **extra,
    }


def test_a_manager_sees_their_reps_and_teams_with_actuals_and_attainment(cast, sales, client):
    Target.objects.create(
        user=cast.rep,
        metric="bookings",
        period_kind="month",
        period_start=D(2025, 1, 1),
        value=2000,
    )
    client.force_login(cast.manager)
    response = client.get(URL, grid_params(cast.east))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'name="c-u{cast.rep.pk}-2025-01"' in html
    assert f'id="row-t{cast.east1.pk}"' in html
    assert "outsider" not in html
    rep_row = next(r for r in response.context["rows"] if r["row"].user == cast.rep)
    assert rep_row["cells"][0]["rate"] == "50%"  # 1,000 of 2,000
    # Q1: 1,000 + 500 + 100 USD × 7.0 + 100 USD × 7.2 = 2,920 of the months' 2,000
    assert rep_row["totals"][0]["rate"] == "146%"


def test_an_outsider_gets_404_for_east_and_sees_only_themselves(cast, sales, client):
    Target.objects.create(
        user=cast.rep,
        metric="bookings",
        period_kind="month",
        period_start=D(2025, 1, 1),
        value=2000,
    )
    client.force_login(cast.outsider)
    assert client.get(URL, grid_params(cast.east)).status_code == 404
    assert client.get(reverse("targets_template"), grid_params(cast.east)).status_code == 404
    response = client.get(URL, grid_params())
    assert [r["row"].user for r in response.context["rows"]] == [cast.outsider]
    post = {**grid_params(cast.east), f"c-u{cast.rep.pk}-2025-01": "1", "state": "{}"}
    assert client.post(reverse("targets_save"), post).status_code == 404
    paste = {**grid_params(cast.east), "text": "rep\t1"}
    assert client.post(reverse("targets_paste"), paste).status_code == 404
    assert Target.objects.get().value == 2000


def test_a_rep_whose_role_only_views_targets_gets_a_read_only_grid(cast, client):
    cast.rep.role.rights = {"target": ["view"]}
    cast.rep.role.save()
    Target.objects.create(
        user=cast.rep,
        metric="bookings",
        period_kind="month",
        period_start=D(2025, 1, 1),
        value=2000,
    )
    client.force_login(cast.rep)
    html = client.get(URL, grid_params()).content.decode()
    assert "¥2,000.00" in html
    assert 'name="c-' not in html and 'id="paste"' not in html
    post = {**grid_params(), f"c-u{cast.rep.pk}-2025-01": "1", "state": "{}"}
    response = client.post(reverse("targets_save"), post)
    assert response.status_code == 400
    assert "does not allow" in response.content.decode()
    assert Target.objects.get().value == 2000


def test_a_role_without_any_right_on_targets_is_refused(cast, client):
    cast.rep.role.rights = {}
    cast.rep.role.save()
    client.force_login(cast.rep)
    assert client.get(URL).status_code == 403


def test_an_unknown_metric_or_year_is_a_clear_400(cast, client):
    client.force_login(cast.manager)
    response = client.get(URL, {"metric": "nonsense"})
    assert response.status_code == 400
    assert "Choose one of the metrics" in response.content.decode()
    assert client.get(URL, {"year": "19x"}).status_code == 400


def state_of(client, params):
    return client.get(URL, params).context["state"]


def test_saving_the_grid_saves_only_changed_cells_all_together(cast, client):
    client.force_login(cast.manager)
    params = grid_params(cast.east)
    state = state_of(client, params)
    rep, east = f"u{cast.rep.pk}", f"t{cast.east.pk}"
    response = client.post(
        reverse("targets_save"),
        {
            **params,
            "state": state,
            f"c-{rep}-2025-01": "12.5万",
            f"c-{rep}-2025-02": "",  # unchanged: empty before, empty now
            f"c-{east}-2025-01": "300000",
        },
    )
    assert response.status_code == 302
    saved = {(t.user_id, t.team_id, t.period_start): t.value for t in Target.objects.all()}
    assert saved == {
        (cast.rep.pk, None, D(2025, 1, 1)): Decimal("125000"),
        (None, cast.east.pk, D(2025, 1, 1)): Decimal("300000"),
    }
    page = client.get(response["Location"])
    assert "2 targets saved." in page.content.decode()
    east_row = next(r for r in page.context["rows"] if r["row"].team == cast.east)
    assert east_row["cells"][0]["mismatch"]  # 300,000 set for East, 125,000 for its members


def test_a_bad_cell_is_shown_next_to_it_and_nothing_is_saved(cast, client):
    client.force_login(cast.manager)
    params = grid_params(cast.east)
    state = state_of(client, params)
    rep = f"u{cast.rep.pk}"
    response = client.post(
        reverse("targets_save"),
        {**params, "state": state, f"c-{rep}-2025-01": "100", f"c-{rep}-2025-02": "lots"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="err-{rep}-2025-02"' in html and "is not an amount" in html
    assert 'value="lots"' in html  # what was typed is kept
    assert not Target.objects.exists()


def test_a_cell_saved_by_someone_else_meanwhile_is_a_conflict_on_that_cell(cast, client):
    client.force_login(cast.manager)
    params = grid_params(cast.east)
    state = state_of(client, params)  # loaded before the admin's change
    Target.objects.create(
        user=cast.rep, metric="bookings", period_kind="month", period_start=D(2025, 1, 1), value=7
    )
    rep = f"u{cast.rep.pk}"
    response = client.post(
        reverse("targets_save"),
        {**params, "state": state, f"c-{rep}-2025-01": "100", f"c-{rep}-2025-03": "5"},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert f'id="err-{rep}-2025-01"' in html and "Someone else changed this target" in html
    assert Target.objects.get().value == 7
    # Cells the manager did not touch are not conflicts, even though they changed.
    state = state_of(client, params)
    Target.objects.update(value=8, version=2)
    response = client.post(
        reverse("targets_save"), {**params, "state": state, f"c-{rep}-2025-03": "5"}
    )
    assert response.status_code == 302
    assert Target.objects.count() == 2


def test_pasting_shows_a_preview_then_saves_on_confirmation(cast, client):
    client.force_login(cast.manager)
    params = grid_params(cast.east)
    state = state_of(client, params)
    text = "Person\t2025-01\t2025-02\nrep\t¥1,000\t2000\nrep_east1@example.com\t\t300\n"
    response = client.post(reverse("targets_paste"), {**params, "state": state, "text": text})
    assert response.status_code == 200
    assert response.context["preview_changes"] == 3
    assert not Target.objects.exists()
    response = client.post(
        reverse("targets_paste"), {**params, "state": state, "text": text, "confirm": "1"}
    )
    assert response.status_code == 302
    assert sorted(Target.objects.values_list("value", flat=True)) == [300, 1000, 2000]


def test_a_paste_with_problems_names_each_cell_and_cannot_be_saved(cast, client):
    client.force_login(cast.manager)
    params = grid_params(cast.east)
    text = "rep\t-5\tabc\nstranger\t1\noutsider\t1\n"
    for confirm in ("", "1"):
        response = client.post(
            reverse("targets_paste"), {**params, "text": text, "confirm": confirm}
        )
        assert response.status_code == 400
        preview = response.context["preview"]
        assert "negative" in preview[0]["cells"][0]["error"]
        assert "not an amount" in preview[0]["cells"][1]["error"]
        assert "No person or team" in preview[1]["error"]
        assert "not in the grid" in preview[2]["error"]
        assert "confirm-save" not in response.content.decode()
    assert not Target.objects.exists()
    response = client.post(reverse("targets_paste"), {**params, "text": "  \n"})
    assert response.status_code == 400
    assert "Paste the rows" in response.content.decode()


def test_the_excel_template_round_trips_through_upload(cast, client):
    Target.objects.create(
        user=cast.rep,
        metric="bookings",
        period_kind="month",
        period_start=D(2025, 1, 1),
        value=2000,
    )
    client.force_login(cast.manager)
    params = grid_params(cast.east)
    response = client.get(reverse("targets_template"), params)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == ["Person or team", "2025-01", "2025-02"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["rep"][1] == 2000
    assert "East" in by_name and "outsider" not in by_name
    sheet.cell(row=[r[0] for r in rows].index("rep") + 1, column=3, value="3,000")
    out = io.BytesIO()
    sheet.parent.save(out)
    upload = io.BytesIO(out.getvalue())
    upload.name = "targets.xlsx"
    response = client.post(reverse("targets_upload"), {**params, "file": upload})
    assert response.status_code == 200
    assert response.context["preview_changes"] == 1
    confirm = {**params, "text": response.context["paste_text"], "confirm": "1"}
    confirm["state"] = response.context["preview_state"]
    assert client.post(reverse("targets_paste"), confirm).status_code == 302
    assert Target.objects.get(period_start=D(2025, 2, 1)).value == 3000


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("targets.xlsx", b"%PDF-1.4 not a workbook", "not a spreadsheet"),
        ("targets.csv", b"rep,1,2\n", "not an Excel workbook"),
        ("targets.xlsx", b"rep,1,2\n", "named like"),
    ],
)
def test_a_file_that_is_not_xlsx_gets_a_clear_message(cast, client, name, content, message):
    client.force_login(cast.manager)
    upload = io.BytesIO(content)
    upload.name = name
    response = client.post(reverse("targets_upload"), {**grid_params(cast.east), "file": upload})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'id="upload-error"' in response.content.decode()


def test_the_page_needs_the_same_queries_for_3_reps_as_for_13(cast, sales, client):
    client.force_login(cast.admin)
    params = grid_params(cast.east)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL, params).status_code == 200
        return len(queries)

    count()  # per-process caches (custom objects, definitions) load on the first request
    few = count()
    for i in range(10):
        UserFactory(username=f"more{i}", role=cast.rep.role, team=cast.east1)
    assert count() == few


def test_a_big_grid_is_paged_and_each_page_saves_and_shows_its_own_actuals(
    cast, sales, client, monkeypatch
):
    """Rows beyond a page are on the next one, with their own actuals and a save that
    returns to that page; the team rows (last) still add up all their members."""
    from salesops.web.views import targets as views

    monkeypatch.setattr(views, "ROWS_PER_PAGE", 2)
    client.force_login(cast.admin)
    params = grid_params(cast.east)
    first = client.get(URL, params)
    rows = [r["row"] for r in first.context["rows"]]
    assert len(rows) == 2 and first.context["pager"]["next"]
    everyone = []
    page = 1
    while True:
        response = client.get(URL, {**params, "page": page})
        everyone += [r["row"].key for r in response.context["rows"]]
        for r in response.context["rows"]:  # each page's actuals, as the engine has them
            row = r["row"]
            owners = [row.user.pk] if row.user else sorted(team_members([row.team.pk])[row.team.pk])
            engine = monthly_actuals(
                KpiContext(viewer=cast.admin, period=YEAR, filters=Filters(team=cast.east)),
                "bookings",
                YEAR,
            )
            want = sum((engine.get(o, {}).get(0, Decimal(0)) for o in owners), Decimal(0))
            assert row.actuals[0] == want, row.key
        if not response.context["pager"]["next"]:
            break
        page += 1
    months = [add_months(YEAR.start, i) for i in range(12)]
    whole = views.build_grid(viewer=cast.admin, metric="bookings", months=months, team=cast.east)
    assert everyone == [r.key for r in whole.rows]  # every row once, in order
    # saving from the last page changes that page's cell and comes back to it
    last = client.get(URL, {**params, "page": page})
    key = last.context["rows"][-1]["cells"][0]["key"]
    response = client.post(
        reverse("targets_save"),
        {**params, "page": page, "state": last.context["state"], f"c-{key}": "1000"},
    )
    assert response.status_code == 302 and response["Location"].endswith(f"&page={page}")
    assert Target.objects.filter(value=Decimal("1000")).count() == 1
    assert client.get(URL, {**params, "page": 99}).context["page"] == page  # kept in range


# -- attainment agrees everywhere -----------------------------------------------------------


def test_rep_home_dashboards_and_targets_page_show_the_same_attainment(cast, org, client):
    pipeline = PipelineFactory(name="New business", is_default=True)
    today = org.local_date()
    month = today.replace(day=1)
    cust = Customer.objects.create(name="A", owner=cast.rep)
    Deal.objects.create(
        name="x",
        customer=cust,
        pipeline=pipeline,
        stage=pipeline.stages.get(name="Won"),
        amount=Decimal("750"),
        currency_id="CNY",
        status="won",
        created_on=month,
        closed_on=month,
        owner=cast.rep,
    )
    for who in ({"user": cast.rep}, {"team": cast.east}):
        Target.objects.create(
            **who, metric="bookings", period_kind="month", period_start=month, value=1000
        )
    client.force_login(cast.rep)
    home = client.get(reverse("home")).context["progress"]
    home_rate = next(p["rate"] for p in home if p["target"].metric == "bookings")
    client.force_login(cast.manager)
    period = {"period": f"{month:%Y-%m}"}
    rep_tiles = client.get(reverse("dashboard_rep", args=[cast.rep.pk]), period).context["tiles"]
    team_tiles = client.get(reverse("dashboard_team", args=[cast.east.pk]), period).context["tiles"]
    rows = client.get(URL, {"year": month.year, "basis": "calendar", "team": cast.east.pk}).context[
        "rows"
    ]
    index = month.month - 1
    rep_cell = next(r for r in rows if r["row"].user == cast.rep)["cells"][index]
    team_cell = next(r for r in rows if r["row"].team == cast.east)["cells"][index]

    def tile_rate(tiles):
        bookings = next(t for t in tiles if t["id"] == "bookings")
        return next(c["delta"] for c in bookings["compare"] if c["label"] == "Target")

    assert home_rate == 0.75
    assert tile_rate(rep_tiles) == "75%" == rep_cell["rate"]
    # The team's own target (1,000), not the sum of its members' (also 1,000 here).
    assert tile_rate(team_tiles) == "75%" == team_cell["rate"]
    attainment = next(t for t in team_tiles if t["id"] == "attainment")
    assert attainment["text"] == "75.0%"


def test_the_state_sent_back_is_what_the_page_showed(cast, client):
    Target.objects.create(
        user=cast.rep, metric="bookings", period_kind="month", period_start=D(2025, 1, 1), value=5
    )
    client.force_login(cast.manager)
    state = json.loads(state_of(client, grid_params(cast.east)))
    assert state[f"u{cast.rep.pk}-2025-01"] == [1, "5"]
    assert state[f"u{cast.rep.pk}-2025-02"] == [0, ""]


def test_home_shows_the_quarter_and_year_targets_too_and_a_managers_team_targets(cast, org, client):
    today = org.local_date()
    quarter = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    Target.objects.create(
        user=cast.rep, metric="won_deals", period_kind="quarter", period_start=quarter, value=4
    )
    Target.objects.create(
        user=cast.rep,
        metric="collections",
        period_kind="year",
        period_start=today.replace(month=1, day=1),
        value=100,
    )
    Target.objects.create(
        team=cast.east,
        metric="bookings",
        period_kind="month",
        period_start=today.replace(day=1),
        value=50,
    )
    Target.objects.create(  # last year's: over, not shown
        user=cast.rep,
        metric="bookings",
        period_kind="year",
        period_start=D(today.year - 1, 1, 1),
        value=9,
    )
    client.force_login(cast.rep)
    progress = client.get(reverse("home")).context["progress"]
    assert [(p["target"].metric, p["rate"]) for p in progress] == [
        ("won_deals", 0.0),
        ("collections", 0.0),
    ]
    client.force_login(cast.manager)
    response = client.get(reverse("home"))
    [(team, rows)] = response.context["team_progress"]
    assert team == cast.east and [r["target"].value for r in rows] == [50]
    assert f'id="team-targets-{cast.east.pk}"' in response.content.decode()
    # The outsider's home shows none of East's targets.
    client.force_login(cast.outsider)
    response = client.get(reverse("home"))
    assert response.context["progress"] == []
    assert "team_progress" not in response.context or not response.context["team_progress"]


def test_the_menu_links_the_targets_page_for_roles_that_may_view_targets(cast, client):
    client.force_login(cast.manager)
    assert f'href="{URL}"' in client.get(reverse("home")).content.decode()
    cast.rep.role.rights = {"deal": ["view"]}
    cast.rep.role.save()
    client.force_login(cast.rep)
    assert f'href="{URL}"' not in client.get(reverse("home")).content.decode()


def test_quarter_and_year_columns_add_up_months_unless_such_a_target_is_set(cast, sales, client):
    for month, value in ((1, 1000), (2, 1000), (4, 500)):
        Target.objects.create(
            user=cast.rep,
            metric="bookings",
            period_kind="month",
            period_start=D(2025, month, 1),
            value=value,
        )
    Target.objects.create(
        user=cast.rep,
        metric="bookings",
        period_kind="quarter",
        period_start=D(2025, 1, 1),
        value=3000,
    )
    client.force_login(cast.manager)
    rows = client.get(URL, grid_params(cast.east)).context["rows"]
    q1, q2, _q3, _q4, year = next(r for r in rows if r["row"].user == cast.rep)["totals"]
    assert (q1["target"], q1["set"], q1["mismatch"]) == ("¥3,000.00", True, True)
    assert q1["rate"] == "97%"  # 2,920 of the quarter's own 3,000
    assert (q2["target"], q2["set"]) == ("¥500.00", False)
    assert (year["target"], year["set"]) == ("¥2,500.00", False)


def test_a_tampered_form_is_a_400_and_saves_nothing(cast, client):
    client.force_login(cast.manager)
    post = {**grid_params(cast.east), "metric": "salary", f"c-u{cast.rep.pk}-2025-01": "1"}
    assert client.post(reverse("targets_save"), post).status_code == 400
    post = {**grid_params(cast.east), "state": "not json", f"c-u{cast.rep.pk}-2025-01": "1"}
    assert client.post(reverse("targets_save"), post).status_code == 302  # loaded as now
    assert Target.objects.count() == 1


def test_names_and_typed_text_are_escaped_in_the_grid(cast, client):
    UserFactory(
        username="xss",
        display_name='<img src=x onerror="alert(1)">',
        role=cast.rep.role,
        team=cast.east,
    )
    client.force_login(cast.manager)
    params = grid_params(cast.east)
    state = state_of(client, params)
    rep = f"u{cast.rep.pk}"
    response = client.post(
        reverse("targets_save"), {**params, "state": state, f"c-{rep}-2025-01": '"><script>x'}
    )
    html = response.content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "<script>x" not in html and 'value="&quot;&gt;&lt;script&gt;x"' in html


@given(
    value=st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, places=6),
    places=st.sampled_from([0, 2]),
)
def test_the_grids_fast_number_format_reads_like_everywhere_else(value, places):
    from salesops.analytics.display import format_number
    from salesops.web.views.targets import fast_number

    assert fast_number(value, places) == format_number(value, places)


def test_a_zip_bomb_uploaded_as_targets_is_refused_with_a_message(cast, client):
    from salesops.imports.tests.test_xlsx_safety import _sheet, _with_member

    client.force_login(cast.manager)
    upload = io.BytesIO(_with_member("xl/worksheets/sheet1.xml", _sheet(b" " * 30_000_000)))
    upload.name = "targets.xlsx"
    response = client.post(reverse("targets_upload"), {**grid_params(cast.east), "file": upload})
    assert response.status_code == 400
    assert "compressed" in response.content.decode()
    assert not Target.objects.exists()
