"""The report builder in a real browser (Debian's Chromium): build a report with the
form, see the chart drawn under the CSP without errors, click a bar and land on the
records it counts, save it and share it."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from salesops.crm.models import Deal
from salesops.crm.tests.factories import DealFactory
from salesops.reports.models import SavedReport
from salesops.users.models import User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-for-tests-0"


def test_a_report_is_built_charted_drilled_and_saved(
    cast, live_server, new_page, screenshot, sign_in
):
    for owner, amount, day in [
        (cast.rep, "100", dt.date(2026, 1, 5)),
        (cast.rep, "300", dt.date(2026, 2, 5)),
        (cast.rep_east1, "50", dt.date(2026, 2, 6)),
        (cast.outsider, "7000", dt.date(2026, 2, 7)),
    ]:
        DealFactory(owner=owner, amount=Decimal(amount), status=Deal.Status.WON, closed_on=day)
    manager = User.objects.get(pk=cast.manager.pk)
    manager.set_password(PASSWORD)
    manager.language = "en"
    manager.save()

    page = new_page()
    page.set_default_timeout(30_000)  # the shared test machine is often busy
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, "manager")
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="New report").click()

    # A condition that does not fit the field is not offered.
    page.select_option("select[name=f0_field]", "amount")
    expect(page.locator("select[name=f0_op] option[value=contains]")).to_be_disabled()
    page.select_option("select[name=f0_op]", "gte")
    page.fill("input[name=f0_value]", "10")
    page.select_option("select[name=g0_field]", "owner")
    page.select_option("select[name=m1_agg]", "sum")
    page.select_option("select[name=m1_field]", "amount")
    page.select_option("select[name=chart]", "bar")
    page.locator("#run").click()

    table = page.locator("#report-table")
    expect(table).to_contain_text("rep_east1")
    expect(table).not_to_contain_text("outsider")
    chart = page.locator("#report-chart")
    expect(chart).to_have_attribute("data-rendered", "chart")
    screenshot(page, "report-builder")

    # Click the first bar (rep: 2 deals): it opens exactly those records.
    x, y = page.evaluate(
        """() => {
          const el = document.getElementById('report-chart');
          const c = window.echarts.getInstanceByDom(el);
          const bar = c.getModel().getSeriesByIndex(0).getData().getItemLayout(0);
          return [bar.x + bar.width / 2, bar.y + bar.height / 2];
        }"""
    )
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url(re.compile(r"/reports/run/records/"))
    expect(page.locator("#records-count")).to_have_text("2")
    page.go_back()

    page.fill("#report-name", "Bookings by rep")
    page.select_option("#report-team", str(cast.east.pk))
    page.locator("#save").click()
    expect(page.locator("main h1")).to_have_text("Bookings by rep")
    report = SavedReport.objects.get()
    assert report.team_id == cast.east.pk and report.owner_id == cast.manager.pk
    expect(page.locator("#report-chart")).to_have_attribute("data-rendered", "chart")
    assert errors == []
