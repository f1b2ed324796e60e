"""Issue 11's whole journey in a real browser (Debian's Chromium), with no restart and no
code: an administrator defines a site visit linked to customers with five fields, then
gives it a formula field, a validation rule and a layout from the settings pages; a rep
creates visits (the rule refuses a bad one with its message, the formula and the layout
show on the record), lists and filters them, exports the list, imports more through the
import wizard, reports on them, and sees them on the customer's page; the API's spec
lists the object."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from salesops.crm.tests.factories import CustomerFactory
from salesops.customization.models import CustomField, ValidationRule
from salesops.imports.models import ImportJob
from salesops.imports.tests import corpus
from salesops.objects.models import CustomRecord
from salesops.users.models import User
from salesops.web.tests.test_browser_custom_objects import define_the_object
from salesops.web.tests.test_browser_imports import run_worker_beside

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

RULE_EN = "A visit is scored from 0 to 10."


def add_formula(page, url):
    page.goto(f"{url}/settings/custom-fields/?object_type=site_visit")
    expect(page.locator("#id_object_type")).to_have_value("site_visit")
    page.fill("#id_key", "score_pct")
    page.fill("#id_label", "Score %")
    page.select_option("#id_field_type", "formula")
    page.fill("#id_expression", "score * 10")
    page.select_option("#id_result_type", "number")
    page.locator("main form.form-grid button[type=submit]").click()
    page.wait_for_url(re.compile(r"/settings/custom-fields/\?object_type=site_visit$"))
    expect(page.locator("main table")).to_contain_text("Score %")


def add_rule(page, url):
    page.goto(f"{url}/settings/rules/new/?object_type=site_visit")
    page.fill("#id_name", "Score range")
    page.fill("#id_condition", "score > 10 or score < 0")
    page.fill("#id_message_zh", "拜访评分须在 0 到 10 之间。")
    page.fill("#id_message_en", RULE_EN)
    page.locator("main form.form-grid button[type=submit]").click()
    page.wait_for_url(re.compile(r"/settings/rules/"))
    expect(page.locator("main")).to_contain_text("Score range")


def add_layout(page, url):
    page.goto(f"{url}/settings/layouts/site_visit/")
    before = page.locator("#layout-sections .layout-section").count()
    add = page.locator("#layout-sections form.inline-form").last
    add.locator('input[name="title_zh"]').fill("拜访结果")
    add.locator('input[name="title_en"]').fill("Visit outcome")
    add.locator("button[type=submit]").click()
    expect(page.locator("#layout-sections .layout-section")).to_have_count(before + 1)
    fields = page.locator("#layout-fields")
    chosen = {}
    for name in ("outcome", "score"):
        select = fields.locator(f'select[name^="place_"][name$="{name}"]')
        value = select.evaluate(
            """s => [...s.options].find(o => ["拜访结果", "Visit outcome"].includes(o.text)).value"""
        )
        select.select_option(value)
        chosen[name] = value
    fields.locator("button.primary[type=submit]").click()
    for name, value in chosen.items():
        expect(fields.locator(f'select[name^="place_"][name$="{name}"]')).to_have_value(value)


def new_visit(page, customer, title, score):
    page.goto(page.url.split("/o/")[0] + "/o/site_visit/new/")
    page.fill("#id_title", title)
    page.select_option("#id_customer", str(customer.pk))
    page.select_option("#id_cf_outcome", "good")
    page.fill("#id_cf_score", score)
    page.fill("#id_cf_visited_on", "2026-03-02")
    page.locator("main form button[type=submit]").click()


def test_an_admin_customises_without_code_and_a_rep_works_with_the_object(
    cast, live_server, new_page, sign_in, screenshot, settings, tmp_path
):
    settings.IMPORT_FILES_DIR = str(tmp_path / "imports")
    url = live_server.url
    customer = CustomerFactory(owner=cast.rep, name="Acme Trading")
    admin = new_page()
    admin.set_default_timeout(60_000)
    sign_in(admin, url, "admin")
    define_the_object(admin, url)
    add_formula(admin, url)
    add_rule(admin, url)
    add_layout(admin, url)
    assert CustomField.objects.get(object_type="site_visit", key="score_pct").computed
    assert ValidationRule.objects.filter(object_type="site_visit").count() == 1

    User.objects.filter(pk=cast.rep.pk).update(language="en")
    rep = new_page(locale="en-GB")
    rep.set_default_timeout(60_000)
    sign_in(rep, url, "rep")
    rep.goto(f"{url}/o/site_visit/")

    # the rule refuses a score of 11 with its own message; nothing is saved
    new_visit(rep, customer, "Too keen", "11")
    expect(rep.locator("main")).to_contain_text(RULE_EN)
    assert not CustomRecord.objects.exists()

    # a good visit: the formula and the layout's section show on its page
    new_visit(rep, customer, "Kick-off visit", "4")
    rep.wait_for_url(re.compile(r"/o/site_visit/\d+/$"))
    expect(rep.locator("main")).to_contain_text("Visit outcome")
    expect(rep.locator("main")).to_contain_text("Score %")
    expect(rep.locator("main")).to_contain_text("40")
    new_visit(rep, customer, "Follow-up visit", "9")
    rep.wait_for_url(re.compile(r"/o/site_visit/\d+/$"))
    screenshot(rep, "journey-record")

    # list, filter by the formula, export what the list shows
    rep.goto(f"{url}/o/site_visit/?score_pct_min=50")
    expect(rep.locator("#list-table tbody tr")).to_have_count(1)
    expect(rep.locator("#list-table")).to_contain_text("Follow-up visit")
    rep.locator(".export-menu summary").click()
    with rep.expect_download() as download:
        rep.locator(".export-menu a", has_text="CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert len(rows) == 2 and "Follow-up visit" in rows[1]

    # import two more visits through the wizard (one breaks the rule)
    source = tmp_path / "visits.csv"
    source.write_bytes(
        corpus.csv_bytes(
            [["Subject", "Customer", "Score", "Outcome"],
             ["Imported visit", "Acme Trading", "7", "Good"],
             ["Imported bad visit", "Acme Trading", "12", "Good"]],
            encoding="utf-8",
        )
    )  # fmt: skip
    rep.goto(f"{url}/imports/new/?object=site_visit")
    expect(rep.locator("#import-object")).to_have_value("site_visit")
    rep.set_input_files("#import-file", str(source))
    rep.locator("#import-upload button[type=submit]").click()
    rep.wait_for_url(re.compile(r"/imports/file/[0-9a-f]+/$"))
    rep.locator("#start-import").click()
    rep.wait_for_url(re.compile(r"/imports/\d+/$"))
    thread = run_worker_beside(rep)
    expect(rep.locator("#progress")).to_have_attribute("data-status", "succeeded", timeout=180_000)
    if thread is not None:
        thread.join(timeout=120)
    job = ImportJob.objects.get()
    assert (job.created_count, job.error_count) == (1, 1)
    imported = CustomRecord.objects.get(title="Imported visit")
    assert (imported.owner, imported.customer) == (cast.rep, customer)
    assert not CustomRecord.objects.filter(title="Imported bad visit").exists()

    # search finds it
    rep.goto(f"{url}/o/site_visit/?q=imported")
    expect(rep.locator("#list-table tbody tr")).to_have_count(1)

    # a report on the object: visits by outcome with the sum of the scores
    rep.goto(f"{url}/reports/new/?object=site_visit")
    rep.select_option("select[name=g0_field]", "outcome")
    rep.select_option("select[name=m1_agg]", "sum")
    rep.select_option("select[name=m1_field]", "score")
    rep.locator("#run").click()
    table = rep.locator("#report-table")
    expect(table).to_contain_text("Good")
    expect(table).to_contain_text("20")  # 4 + 9 + 7

    # the customer's page lists the three visits
    rep.goto(f"{url}/customers/{customer.pk}/")
    visits = rep.locator("#object-site_visit")
    for title in ("Kick-off visit", "Follow-up visit", "Imported visit"):
        expect(visits).to_contain_text(title)

    # the API's spec lists the object, as soon as it exists
    spec = rep.request.get(f"{url}/api/v1/openapi.json").json()
    assert "/api/v1/objects/site_visit" in spec["paths"]
    screenshot(rep, "journey-customer")
