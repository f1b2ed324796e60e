"""A custom object in a real browser (Debian's Chromium), with no restart and no code:
an administrator defines a site visit linked to customers and gives it five fields
through the settings pages; a rep then creates visits from its list, lists, filters and
sorts them by a custom field, finds one with the global search and sees them on the
customer's page."""

import re

import pytest
from playwright.sync_api import expect

from salesops.crm.tests.factories import CustomerFactory
from salesops.customization.models import CustomField
from salesops.objects.models import CustomObject, CustomRecord

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

FIELDS = [
    # (key, label, type, options)
    ("outcome", "Outcome", "select", "good=Good\nbad=Bad"),
    ("score", "Score", "number", ""),
    ("visited_on", "Visited on", "date", ""),
    ("note", "Note", "text", ""),
    ("revisit", "Revisit", "boolean", ""),
]


def define_the_object(page, url):
    page.goto(f"{url}/settings/")
    page.locator('main a[href="/settings/objects/"]').first.click()
    page.fill("#id_key", "site_visit")
    page.fill("#id_label", "Site visit")
    page.fill("#id_plural", "Site visits")
    page.fill("#id_title_label", "Subject")
    page.check('input[name="links"][value="customer"]')
    page.locator("#define-object button[type=submit]").click()
    page.wait_for_url(re.compile(r"/settings/objects/\d+/$"))
    page.locator('a[href$="?object_type=site_visit"]').first.click()
    page.wait_for_url(re.compile(r"/settings/custom-fields/\?object_type=site_visit$"))
    for key, label, ftype, options in FIELDS:
        expect(page.locator("#id_object_type")).to_have_value("site_visit")
        page.fill("#id_key", key)
        page.fill("#id_label", label)
        page.select_option("#id_field_type", ftype)
        if options:
            page.fill("#id_options", options)
        page.locator("main form.form-grid button[type=submit]").click()
        page.wait_for_url(re.compile(r"/settings/custom-fields/\?object_type=site_visit$"))
        expect(page.locator("main table")).to_contain_text(label)


def new_visit(page, customer, title, outcome, score, day):
    page.locator('main .page-head a.button[href="/o/site_visit/new/"]').click()
    page.fill("#id_title", title)
    page.select_option("#id_customer", str(customer.pk))
    page.select_option("#id_cf_outcome", outcome)
    page.fill("#id_cf_score", score)
    page.fill("#id_cf_visited_on", day)
    page.fill("#id_cf_note", f"Notes of {title}")
    page.select_option("#id_cf_revisit", "true")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/o/site_visit/\d+/$"))
    expect(page.locator("main h1")).to_have_text(title)
    page.locator('main .kind a[href="/o/site_visit/"]').click()
    page.wait_for_url(re.compile(r"/o/site_visit/$"))


def titles(page):
    return page.locator("#list-table tbody tr td:nth-child(2)").all_inner_texts()


def test_an_administrator_defines_an_object_and_a_rep_works_with_it_at_once(
    cast, live_server, new_page, sign_in, screenshot
):
    customer = CustomerFactory(owner=cast.rep, name="Acme Trading")
    admin = new_page()
    sign_in(admin, live_server.url, "admin")
    define_the_object(admin, live_server.url)
    spec_fields = set(
        CustomField.objects.filter(object_type="site_visit").values_list("key", flat=True)
    )
    assert spec_fields == {key for key, *_rest in FIELDS}
    assert CustomObject.objects.get(key="site_visit").links == ["customer"]
    screenshot(admin, "custom-object-fields")

    rep = new_page()
    sign_in(rep, live_server.url, "rep")
    rep.locator('nav a[href="/o/site_visit/"]').click()
    expect(rep.locator("main h1")).to_have_text("Site visits")
    new_visit(rep, customer, "Kick-off visit", "good", "4", "2026-03-02")
    new_visit(rep, customer, "Follow-up visit", "good", "9", "2026-03-09")
    new_visit(rep, customer, "Failed visit", "bad", "1", "2026-03-16")
    assert CustomRecord.objects.filter(owner=cast.rep).count() == 3
    expect(rep.locator("#list-table tbody tr")).to_have_count(3)
    expect(rep.locator("#list-table")).to_contain_text("Acme Trading")

    # filter by the select field, then sort by the number (ascending, then descending)
    rep.select_option('#filters select[name="outcome"]', "good")
    rep.locator("#filters .actions button[type=submit]").click()
    expect(rep.locator("#list-table tbody tr")).to_have_count(2)
    rep.locator('#list-table thead a[href*="sort=cf_score"]').click()
    expect(rep.locator("#list-table tbody tr").first).to_contain_text("Kick-off visit")
    assert titles(rep) == ["Kick-off visit", "Follow-up visit"]
    rep.locator('#list-table thead a[href*="sort=-cf_score"]').click()
    expect(rep.locator("#list-table tbody tr").first).to_contain_text("Follow-up visit")
    assert titles(rep) == ["Follow-up visit", "Kick-off visit"]
    screenshot(rep, "custom-object-list")

    # global search
    rep.fill("#global-q", "kick-off")
    rep.press("#global-q", "Enter")
    rep.wait_for_url(re.compile(r"/search/\?q="))
    found = rep.locator("section.search-objects")
    expect(found.locator("h2")).to_have_text("Site visits")
    found.get_by_role("link", name="Kick-off visit").click()
    rep.wait_for_url(re.compile(r"/o/site_visit/\d+/$"))
    expect(rep.locator("main")).to_contain_text("Notes of Kick-off visit")

    # the customer's page lists its visits, with a new visit prefilled with it
    rep.goto(f"{live_server.url}/customers/{customer.pk}/")
    visits = rep.locator("#object-site_visit")
    expect(visits.locator("h2")).to_have_text("Site visits")
    for title in ("Kick-off visit", "Follow-up visit", "Failed visit"):
        expect(visits).to_contain_text(title)
    visits.locator(f'a.button[href="/o/site_visit/new/?customer={customer.pk}"]').click()
    expect(rep.locator("#id_customer")).to_have_value(str(customer.pk))
    screenshot(rep, "custom-object-new-from-customer")
