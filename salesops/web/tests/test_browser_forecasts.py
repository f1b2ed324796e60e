"""In Chromium: a rep submits a forecast; their manager sees it in the team's roll-up
and overrides it with a note (at phone width); the organisation page, as the
administrator, shows the original beside the override."""

import pytest
from playwright.sync_api import expect

from salesops.forecasting.models import Submission
from salesops.users.models import User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_submit_override_and_see_both(cast, live_server, new_page, screenshot, sign_in):
    User.objects.update(language="en")
    rep = new_page(locale="en-GB")
    sign_in(rep, live_server.url, "rep")
    rep.goto(f"{live_server.url}/forecasts/")
    form = rep.locator("#forecast-submit")
    form.locator("input[name=commit]").fill("3000")
    form.locator("input[name=best_case]").fill("5000")
    form.locator("input[name=note]").fill("Two renewals")
    form.get_by_role("button").click()
    expect(rep.locator("#forecast-own-number .fc-commit")).to_have_attribute(
        "data-value", "3000.00"
    )

    manager = new_page(locale="en-GB")
    manager.set_viewport_size({"width": 390, "height": 800})
    sign_in(manager, live_server.url, "manager")
    manager.goto(f"{live_server.url}/forecasts/")
    row = manager.locator(f"tr.forecast-person[data-person='{cast.rep.pk}']")
    expect(row.locator(".fc-original")).to_contain_text("Two renewals")
    expect(manager.locator("#forecast-own-number .fc-commit")).to_have_attribute(
        "data-value", "3000.00"
    )  # East's roll-up is the rep's number
    row.locator("details.fc-override-form summary").click()
    override = row.locator("details.fc-override-form form")
    override.locator("input[name=commit]").fill("2500")
    override.locator("input[name=best_case]").fill("4000")
    override.locator("input[name=note]").fill("Acme slips to next quarter")
    override.get_by_role("button").click()
    row = manager.locator(f"tr.forecast-person[data-person='{cast.rep.pk}']")
    expect(row.locator(".fc-override")).to_contain_text("Acme slips to next quarter")
    screenshot(manager, "forecast-team-phone")

    admin = new_page(locale="en-GB")
    sign_in(admin, live_server.url, "admin")
    admin.goto(f"{live_server.url}/forecasts/?org=1")
    row = admin.locator(f"tr.forecast-person[data-person='{cast.rep.pk}']")
    expect(row.locator(".fc-original .fc-commit")).to_have_attribute("data-value", "3000.00")
    expect(row.locator(".fc-override .fc-commit")).to_have_attribute("data-value", "2500.00")
    expect(row.locator(".fc-override")).to_contain_text("by manager")
    screenshot(admin, "forecast-organisation")
    assert Submission.objects.count() == 2
