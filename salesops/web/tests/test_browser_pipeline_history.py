"""The waterfall in a real browser (Debian's Chromium), at phone width: the page's bars
add up exactly (start + moves = end), the chart draws under the page's CSP without
errors, and a bar drills to its deals."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from salesops.forecasting.tests import history as made
from salesops.users.models import User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_waterfall_adds_up_and_a_bar_drills_to_its_deals(
    cast, live_server, new_page, screenshot, sign_in
):
    made.set_up_org(cast)
    history = made.build_history(cast)
    User.objects.update(language="en")
    page = new_page()
    page.set_default_timeout(60_000)
    page.set_viewport_size({"width": 390, "height": 844})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, "rep")
    page.goto(
        f"{live_server.url}/pipeline-history/waterfall/"
        "?start=2026-07-10&end=2026-08-20&period=2026-Q3"
    )
    expect(page.locator("#waterfall-chart canvas")).to_have_count(1)
    values = {
        row.get_attribute("data-bar"): Decimal(
            row.locator("td[data-value]").get_attribute("data-value")
        )
        for row in page.locator("#waterfall-table tbody tr").all()
    }
    moves = sum(v for k, v in values.items() if k not in ("start", "end"))
    assert values["start"] + moves == values["end"] == Decimal("5820.00")
    screenshot(page, "pipeline-waterfall")
    page.locator('#waterfall-table tr[data-bar="pushed_out"] a').click()
    expect(page.locator("#drill-count")).to_have_text("1")
    expect(page.locator("#drill-table")).to_contain_text(history.deals["d"].name)
    assert page.locator("#drill-total").get_attribute("data-value") == "-3000.00"
    assert errors == []
