"""The statistical forecast page in a real browser at phone width: the monthly chart is
drawn under the page's CSP without script errors, and nothing overflows sideways."""

import pytest
from playwright.sync_api import expect

from salesops.forecasting.tests.data import make_history
from salesops.users.models import User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_forecast_page_draws_its_chart_at_phone_width(
    cast, live_server, new_page, screenshot, sign_in
):
    _pipeline, period = make_history(cast)
    User.objects.update(language="en")
    page = new_page()
    page.set_default_timeout(60_000)  # the shared test machine can be slow
    page.set_viewport_size({"width": 390, "height": 844})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, "admin")
    text = f"{period.start.isoformat()}..{period.last_day.isoformat()}"
    page.goto(f"{live_server.url}/forecasts/statistical/?period={text}")
    expect(page.locator("#tile-expected [data-value]")).to_have_text("¥4,300.00")
    expect(page.locator("#chart-bookings svg")).to_have_count(1)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    screenshot(page, "forecast-statistical-phone")
    assert errors == []
