"""The targets grid in a real browser (Debian's Chromium): a block pasted from a
spreadsheet fills the cells to the right and below, only changed cells are sent, and the
script runs under the page's CSP without errors."""

import re

import pytest
from playwright.sync_api import expect

from salesops.users.models import Target, User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_block_pasted_into_the_grid_fills_the_cells_and_is_saved(
    cast, live_server, new_page, screenshot, sign_in
):
    User.objects.update(language="en")
    page = new_page()
    page.set_default_timeout(60_000)  # the shared test machine can be slow
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}/targets/?year=2025&basis=calendar&team={cast.east.pk}")
    first = page.locator(f'input[name="c-u{cast.rep.pk}-2025-01"]')
    expect(first).to_be_visible()
    # What Excel puts on the clipboard for a 2 × 2 block.
    page.evaluate(
        """([selector, text]) => {
            const input = document.querySelector(selector);
            const data = new DataTransfer();
            data.setData("text/plain", text);
            input.focus();
            input.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true,
                                                              cancelable: true}));
        }""",
        [f'input[name="c-u{cast.rep.pk}-2025-01"]', "1000\t2000\r\n300\t400\r\n"],
    )
    expect(first).to_have_value("1000")
    expect(first).to_have_class(re.compile("changed"))
    second_row = page.locator("input[data-row='1'][data-col='1']")
    expect(second_row).to_have_value("400")
    screenshot(page, "targets-grid")
    with page.expect_request(re.compile(r"/targets/save/$")) as request:
        page.get_by_role("button", name="Save changes").click()
    body = request.value.post_data or ""
    assert body.count("c-") == 4  # only the four changed cells are sent
    expect(page.locator(".messages")).to_contain_text("4 targets saved.")
    assert Target.objects.count() == 4
    assert errors == []
