"""The ageing page in a real browser at phone width: a bucket cell drills to exactly the
instalments it adds up."""

import datetime as dt
from unittest import mock

import pytest
from playwright.sync_api import expect

from salesops.receivables.tests.crafted import build
from salesops.users.models import User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

NOW = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai


def test_the_ageing_drills_to_the_right_instalments(cast, live_server, new_page, sign_in):
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        data = build(cast)
        User.objects.update(language="en")
        page = new_page()
        page.set_default_timeout(60_000)
        page.set_viewport_size({"width": 390, "height": 844})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, live_server.url, "manager")
        page.goto(f"{live_server.url}/receivables/")
        beta = page.locator("#ageing tbody tr", has_text="Beta")
        expect(beta).to_be_visible()
        # Beta's 31–60 days cell (after the name: not due, 1–30, 31–60).
        beta.locator("td").nth(2).locator("a").click()
        expect(page.locator("#drill-count")).to_have_text("1")
        rows = page.locator("#instalments tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(str(data.plans["B2"]))
        expect(rows.first).to_contain_text("60")
        expect(page.locator("#drill-total")).to_have_attribute("data-value", "7200.00")
        assert errors == []
