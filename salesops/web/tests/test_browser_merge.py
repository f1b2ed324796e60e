"""In a real browser, in zh-Hans: find two duplicate customers, merge them field by field."""

import pytest
from playwright.sync_api import expect

from salesops.crm.models import Customer, Deal
from salesops.crm.tests.factories import CustomerFactory, DealFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_rep_finds_two_duplicates_and_merges_them(
    cast, live_server, new_page, sign_in, screenshot
):
    keep = CustomerFactory(owner=cast.rep, name="星辰科技", phone="")
    dup = CustomerFactory(owner=cast.rep, name="星辰科技有限公司", phone="021-6666 8888")
    DealFactory(customer=dup, owner=cast.rep, name="星辰 ERP")
    CustomerFactory(owner=cast.outsider, name="星辰科技 (West)")
    page = new_page()
    sign_in(page, live_server.url, "rep")

    page.goto(f"{live_server.url}/duplicates/customer/?by=name")
    group = page.locator(".duplicate-group")
    expect(group).to_have_count(1)
    expect(group.locator("tbody tr")).to_have_count(2)
    screenshot(page, "duplicates-finder")
    group.locator("a.button").click()

    # The empty phone of the record kept takes the other's number by default.
    expect(page.locator(f'input[name="f_phone"][value="{dup.pk}"]')).to_be_checked()
    page.locator(f'input[name="f_name"][value="{keep.pk}"]').check()
    screenshot(page, "merge-chooser")
    page.locator('button[value="review"]').click()
    expect(page.locator("#merge-review")).to_be_visible()
    page.locator('button[value="merge"]').click()
    expect(page.locator("#merge-result")).to_be_visible()
    screenshot(page, "merge-result")

    keep.refresh_from_db()
    assert (keep.name, keep.phone) == ("星辰科技", "021-6666 8888")
    assert Customer.all_objects.get(pk=dup.pk).merged_into_id == keep.pk
    assert Deal.objects.get(name="星辰 ERP").customer_id == keep.pk
