"""The import wizard in a real browser (Debian's Chromium), in Chinese: a GBK CSV of a
few hundred customers (some rows bad, one a duplicate) is uploaded from the customer
list, mapped, previewed and started; django-tasks-db's worker runs the queue while the
page polls its progress bar to the end; the error file downloads; the database holds
exactly the good rows."""

from __future__ import annotations

import csv
import io
import re
import threading
from pathlib import Path

import pytest
from django.db import connection, connections
from playwright.sync_api import expect

from salesops.crm import services as crm
from salesops.crm.models import Customer
from salesops.imports.models import ImportJob
from salesops.imports.tests import corpus
from salesops.lib.tasks import drain_queue

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROWS = 300
BAD = {17, 50, 123, 200, 299}  # e-mail addresses that are not
DUPLICATE = 77  # the name of a customer that already exists


def customers_file(path):
    rows = [["客户名称", "电话", "邮箱", "地址"]]
    for i in range(ROWS):
        rows.append(
            [
                f"测试客户{i:03d}有限公司",
                f"1380000{i:04d}",
                "不是邮箱" if i in BAD else f"c{i}@example.com",
                f"杭州市西湖区文三路{i}号",
            ]
        )
    path.write_bytes(corpus.csv_bytes(rows, encoding="gbk"))
    return path


def run_worker_beside(page) -> threading.Thread | None:
    """Run the queue while the page polls. On PostgreSQL the worker runs in a thread
    with its own connection, as a worker process would, and the bar is polled while
    it works. The in-memory SQLite test database is one connection, which the live
    server already shares with this thread; two threads writing and reading through it
    at once are not what production does (a file in WAL mode, a connection each), so
    there the bar's requests are held (the route is served by this thread, busy
    running the worker) until the queue is done, then answered."""
    if connection.vendor == "sqlite":
        page.route(re.compile(r"/progress/$"), lambda route: route.continue_())
        drain_queue("browser-test")
        return None

    def run():
        try:
            drain_queue("browser-test")
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def fits_a_phone(page, name, screenshot) -> None:
    """At 390 px the page needs no sideways scrolling (wide tables scroll inside
    their own frame)."""
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, name)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_gbk_csv_is_imported_through_the_wizard_with_a_live_progress_bar(
    cast, live_server, new_page, screenshot, sign_in, settings, tmp_path
):
    settings.IMPORT_FILES_DIR = str(tmp_path / "imports")
    crm.create_customer(by=cast.rep, name=f"测试客户{DUPLICATE:03d}有限公司")
    page = new_page()
    page.set_default_timeout(60_000)  # the shared test machine can be slow
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, "rep")

    page.goto(f"{live_server.url}/customers/")
    page.locator('a[href="/imports/new/?object=customer"]').click()
    expect(page.locator("#import-object")).to_have_value("customer")
    page.set_input_files("#import-file", str(customers_file(tmp_path / "客户名单.csv")))
    expect(page.locator("#dropzone-name")).to_have_text("客户名单.csv")
    page.locator("#import-upload button[type=submit]").click()

    page.wait_for_url(re.compile(r"/imports/file/[0-9a-f]+/$"))
    for header, key in (("客户名称", "name"), ("电话", "phone"), ("邮箱", "email")):
        expect(page.locator(f'select[data-header="{header}"]')).to_have_value(key)
    expect(page.locator("#sample")).to_contain_text("测试客户000有限公司")  # GBK read right
    page.locator("button[name=action][value=preview]").click()
    expect(page.locator("#count-created strong")).to_have_text(str(ROWS - len(BAD) - 1))
    expect(page.locator("#count-failed strong")).to_have_text(str(len(BAD)))
    expect(page.locator("#count-skipped strong")).to_have_text("1")
    expect(page.locator("#preview-errors")).to_contain_text("不是邮箱")
    assert Customer.objects.count() == 1  # the preview wrote nothing
    screenshot(page, "import-preview")
    fits_a_phone(page, "import-mapping-phone", screenshot)

    page.locator("#start-import").click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.QUEUED
    expect(page.locator("#progress")).to_have_attribute("data-status", "queued")
    thread = run_worker_beside(page)
    # The bar is polled (htmx) until the job ends; no reload.
    expect(page.locator("#progress")).to_have_attribute("data-status", "succeeded", timeout=180_000)
    if thread is not None:
        thread.join(timeout=120)
    expect(page.locator("#job-bar")).to_have_attribute("value", "100")
    expect(page.locator("#job-created")).to_have_text(str(ROWS - len(BAD) - 1))
    expect(page.locator("#job-errors")).to_have_text(str(len(BAD)))
    expect(page.locator("#job-skipped")).to_have_text("1")
    expect(page.locator("#cancel-import")).to_have_count(0)
    screenshot(page, "import-done")

    with page.expect_download() as download:
        page.locator("#error-file").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert sorted({int(row[0]) for row in lines[1:]}) == sorted(i + 2 for i in BAD)
    assert all(row[1] == "邮箱" and row[2] == "不是邮箱" for row in lines[1:])

    job.refresh_from_db()
    assert (job.status, job.created_count, job.skipped_count, job.error_count) == (
        ImportJob.Status.SUCCEEDED,
        ROWS - len(BAD) - 1,
        1,
        len(BAD),
    )
    assert Customer.objects.count() == ROWS - len(BAD)
    assert not Customer.objects.filter(email="不是邮箱").exists()
    imported = Customer.objects.get(name="测试客户042有限公司")
    assert (imported.phone, imported.owner) == ("+8613800000042", cast.rep)
    fits_a_phone(page, "import-job-phone", screenshot)
    page.goto(f"{live_server.url}/imports/")
    expect(page.locator("#imports")).to_contain_text("客户名单.csv")
    page.goto(f"{live_server.url}/imports/new/")
    fits_a_phone(page, "import-upload-phone", screenshot)
    assert errors == []
