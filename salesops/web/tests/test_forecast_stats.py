"""The statistical forecast page and the forecast-accuracy page: each viewer sees figures
of the deals they may see, nothing when their role hides deal amounts."""

import datetime as dt

import pytest

from salesops.forecasting.tests.data import make_closed_period, make_history


@pytest.fixture(autouse=True)
def _pages_in_english(cast):
    """These tests read the pages in English (people's saved language; the product's
    default is zh-Hans)."""
    type(cast.admin).objects.update(language="en")


def period_text(p):
    return f"{p.start.isoformat()}..{p.last_day.isoformat()}"


@pytest.fixture
def history(cast):
    return make_history(cast)


def page(client, user, **params):
    client.force_login(user)
    return client.get("/forecasts/statistical/", params)


def test_the_admin_sees_the_expected_bookings_interval_and_monthly_forecast(cast, history, client):
    _pipeline, period = history
    r = page(client, cast.admin, period=period_text(period))
    assert r.status_code == 200
    html = r.content.decode()
    assert "¥4,300.00" in html  # 700 booked + 0.4 × 9,000 open
    assert "80% interval" in html
    assert 'id="cohorts"' in html and "Qualify" in html
    assert 'id="chart-bookings-data"' in html
    assert "backtest" in html


@pytest.mark.parametrize(("who", "shown"), [("manager", "¥2,300.00"), ("outsider", "¥2,000.00")])
def test_each_viewer_sees_only_their_visible_deals(cast, history, client, who, shown):
    _pipeline, period = history
    html = page(client, getattr(cast, who), period=period_text(period)).content.decode()
    assert shown in html
    assert "¥4,300.00" not in html
    if who == "outsider":
        assert "¥700.00" not in html and "¥1,000.00" not in html  # East's booking and deal


def test_a_role_hiding_deal_amount_gets_no_figures(cast, history, client):
    _pipeline, period = history
    cast.admin.role.hidden_fields = {"deal": ["amount"]}
    cast.admin.role.save()
    html = page(client, cast.admin, period=period_text(period)).content.decode()
    assert 'id="withheld"' in html
    assert "¥" not in html.split('id="withheld"')[1]


def test_a_team_outside_the_viewers_scope_is_not_found(cast, history, client):
    assert page(client, cast.outsider, team=cast.east.pk).status_code == 404
    assert page(client, cast.manager, team=cast.east.pk).status_code == 200


def test_a_bad_period_says_what_to_write(cast, client):
    r = page(client, cast.admin, period="2026-13")
    assert r.status_code == 400
    assert 'id="period-error"' in r.content.decode()


def test_the_accuracy_ranking_shows_the_forecasts_the_viewer_may_compare(cast, client):
    p = make_closed_period(cast)
    client.force_login(cast.admin)
    html = client.get("/forecasts/accuracy/", {"period": "2026-07"}).content.decode()
    assert 'data-subject="org"' in html and f'data-subject="owner:{cast.rep.pk}"' in html
    assert "80.0%" in html and "75.0%" in html  # org: 800 vs 1,000; rep: 1,250 vs 1,000
    client.force_login(cast.outsider)
    html = client.get("/forecasts/accuracy/", {"period": "2026-07"}).content.decode()
    assert "data-subject=" not in html and 'id="no-forecasts"' in html
    client.force_login(cast.rep)
    html = client.get("/forecasts/accuracy/", {"period": "2026-07"}).content.decode()
    assert f'data-subject="owner:{cast.rep.pk}"' in html and 'data-subject="org"' not in html
    assert p.end < dt.date.today()


def test_the_choice_of_whose_forecast_lists_only_what_the_viewer_may_see(cast, history, client):
    html = page(client, cast.outsider).content.decode()
    assert f"?team={cast.west.pk}" in html
    assert f"?team={cast.east.pk}" not in html and f"?owner={cast.rep.pk}" not in html
    html = page(client, cast.manager, team=cast.east.pk).content.decode()
    assert f'value="/forecasts/statistical/?team={cast.east.pk}" selected' in html


def test_a_missing_exchange_rate_says_which_to_add(cast, history, client):
    from salesops.crm.models import Deal
    from salesops.org.models import ExchangeRate

    _pipeline, period = history
    ExchangeRate.objects.filter(currency_id="USD").delete()
    Deal.objects.filter(owner=cast.outsider).update(currency_id="USD")
    html = page(client, cast.admin, period=period_text(period)).content.decode()
    assert 'id="rate-error"' in html and "USD" in html.split('id="rate-error"')[1][:80]
    assert "¥4,300.00" not in html
