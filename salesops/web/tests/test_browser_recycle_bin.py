"""In a real browser (Debian's Chromium): a duplicate customer is warned about and saved
only after "save anyway"; deleting it says where to restore it; the rep restores it
from the Recycle bin in the menu."""

import re

import pytest
from playwright.sync_api import expect

from salesops.crm import services as crm
from salesops.crm.models import Customer
from salesops.users.models import User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def patient():
    """A loaded shared machine: the live server's first answers can take seconds."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def test_a_rep_is_warned_of_a_duplicate_then_deletes_and_restores_it(
    cast, live_server, new_page, sign_in, screenshot, patient
):
    User.objects.filter(pk=cast.rep.pk).update(language="en")
    existing = crm.create_customer(by=cast.rep, name="北京星辰科技有限公司", phone="13800138000")
    page = new_page()
    page.set_default_timeout(30_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server.url, "rep")

    page.goto(f"{live_server.url}/customers/new/")
    page.fill("#id_name", "北京星辰科技")
    page.fill("#id_phone", "+86 138 0013 8000")
    page.locator("main button.primary[type=submit]").click()
    warning = page.locator(".duplicates")
    expect(warning).to_contain_text("Possible duplicates")
    link = warning.get_by_role("link", name="北京星辰科技有限公司")
    expect(link).to_have_attribute("href", f"/customers/{existing.pk}/")
    assert Customer.objects.count() == 1
    screenshot(page, "duplicate-warning")
    warning.get_by_label("Save anyway: this is a different record").check()
    page.locator("main button.primary[type=submit]").click()
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    twin = Customer.objects.get(name="北京星辰科技")

    page.locator(".record-actions button.danger").click()
    expect(page.locator(".messages")).to_contain_text(
        "You can restore it from the Recycle bin (in the menu) within 30 days."
    )
    page.locator("#nav").get_by_role("link", name="Recycle bin").click()
    page.locator("main").get_by_role("link", name="Customers", exact=True).click()
    row = page.locator(f"tr[data-pk='{twin.pk}']")
    expect(row).to_contain_text("北京星辰科技")
    screenshot(page, "recycle-bin")
    row.get_by_role("button", name="Restore").click()
    page.wait_for_url(re.compile(rf"/customers/{twin.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("was restored")
    assert Customer.objects.filter(pk=twin.pk).exists()
    assert errors == []
