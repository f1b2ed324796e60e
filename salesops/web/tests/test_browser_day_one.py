"""Issue 12's first day without a shell, in a real browser (Debian's Chromium), in
Chinese, as a new administrator: a 50,000-row GBK CSV of customers through the import
wizard with its progress bar and error file, the customer list exported to XLSX, a
customer deleted and restored from the recycle bin, two duplicates merged, a task
reminder in the bell, the password changed and an API token created — each step checked
by what the page shows and what the database holds."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from salesops.activities.tests.factories import TaskFactory
from salesops.api.models import ApiToken
from salesops.automation.tasks import notices_round
from salesops.crm.models import Customer
from salesops.imports.models import ImportJob
from salesops.imports.tests import corpus
from salesops.users.models import User
from salesops.web.tests.test_browser_imports import run_worker_beside

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROWS = 50_000
#: Rows whose e-mail is not one (every 5,000th).
BAD = set(range(123, ROWS, 5000))
NEW_PASSWORD = "a-new-long-pass-8271"


def customers_file(path: Path) -> Path:
    rows = [["客户名称", "电话", "邮箱"]]
    for i in range(ROWS):
        rows.append(
            [f"导入客户{i:05d}", f"139{i:08d}", "不是邮箱" if i in BAD else f"c{i}@example.com"]
        )
    path.write_bytes(corpus.csv_bytes(rows, encoding="gbk"))
    return path


def test_a_new_admin_gets_through_day_one_in_the_app(
    cast, live_server, new_page, sign_in, screenshot, settings, tmp_path
):
    settings.IMPORT_FILES_DIR = str(tmp_path / "imports")
    url = live_server.url
    admin = cast.admin
    User.objects.filter(pk=admin.pk).update(language="zh-hans")
    page = new_page()
    page.set_default_timeout(120_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, url, "admin")

    # 1. the import wizard: upload, mapping, preview, run, progress bar, error file
    page.goto(f"{url}/customers/")
    page.locator('a[href="/imports/new/?object=customer"]').click()
    page.set_input_files("#import-file", str(customers_file(tmp_path / "客户.csv")))
    page.locator("#import-upload button[type=submit]").click()
    page.wait_for_url(re.compile(r"/imports/file/[0-9a-f]+/$"))
    expect(page.locator('select[data-header="客户名称"]')).to_have_value("name")
    expect(page.locator("#sample")).to_contain_text("导入客户00000")
    page.locator("button[name=action][value=preview]").click()
    expect(page.locator("#preview-errors")).to_contain_text("不是邮箱")
    page.locator("#start-import").click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    thread = run_worker_beside(page)
    expect(page.locator("#progress")).to_have_attribute("data-status", "succeeded", timeout=900_000)
    if thread is not None:
        thread.join(timeout=300)
    expect(page.locator("#job-bar")).to_have_attribute("value", "100")
    expect(page.locator("#job-errors")).to_have_text(str(len(BAD)))
    with page.expect_download() as download:
        page.locator("#error-file").click()
    lines = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert sorted(int(row[0]) for row in lines[1:]) == sorted(i + 2 for i in BAD)
    job = ImportJob.objects.get()
    assert (job.status, job.created_count) == (ImportJob.Status.SUCCEEDED, ROWS - len(BAD))
    assert Customer.objects.count() == ROWS - len(BAD)
    screenshot(page, "day-one-import")

    # 2. the customer list, filtered, exported to XLSX
    page.goto(f"{url}/customers/?q=导入客户0004")
    page.locator(".export-menu summary").click()
    with page.expect_download() as download:
        page.locator(".export-menu a", has_text="XLSX").click()
    download.value.save_as(tmp_path / "customers.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "customers.xlsx", read_only=True).active
    names = sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0])
    expected = sorted(
        Customer.objects.filter(name__startswith="导入客户0004").values_list("name", flat=True)
    )
    assert names == expected and len(names) == 10

    # 3. delete a customer, restore it from the recycle bin
    victim = Customer.objects.get(name="导入客户00042")
    page.goto(f"{url}/customers/{victim.pk}/")
    page.locator(".record-actions button.danger").click()
    page.wait_for_url(re.compile(r"/customers/"))
    victim.refresh_from_db()
    assert victim.deleted_at is not None
    page.goto(f"{url}/recycle/customer/")
    row = page.locator(f"tr[data-pk='{victim.pk}']")
    expect(row).to_contain_text("导入客户00042")
    row.locator("button").click()
    page.wait_for_url(re.compile(rf"/customers/{victim.pk}/$"))
    victim.refresh_from_db()
    assert victim.deleted_at is None

    # 4. merge two duplicates found by the finder
    keep = Customer.objects.get(name="导入客户00007")
    twin = Customer.objects.create(owner=admin, name="导入客户00007有限公司")
    page.goto(f"{url}/duplicates/customer/?by=name")
    group = page.locator(".duplicate-group", has_text="导入客户00007有限公司")
    group.locator("a.button").click()
    page.locator(f'input[name="f_name"][value="{keep.pk}"]').check()
    page.locator('button[value="review"]').click()
    page.locator('button[value="merge"]').click()
    expect(page.locator("#merge-result")).to_be_visible()
    twin.refresh_from_db()
    assert twin.deleted_at is not None and twin.merged_into_id == keep.pk

    # 5. a task reminder arrives in the bell
    task = TaskFactory(
        owner=admin, title="回访客户", remind_at=timezone.now() - dt.timedelta(minutes=1)
    )
    notices_round()  # what every worker does each housekeeping round
    page.goto(f"{url}/")
    expect(page.locator("#bell-count")).to_have_text("1")
    page.locator("#bell").click()
    page.locator("#notices li.notice.unread a").first.click()
    expect(page).to_have_url(f"{url}/tasks/{task.pk}/")

    # 6. change the password, create an API token
    page.goto(f"{url}/account/password/")
    page.fill("#id_old_password", "pw-for-tests-0")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("您的密码已修改。")
    assert User.objects.get(pk=admin.pk).check_password(NEW_PASSWORD)
    page.goto(f"{url}/account/tokens/")
    page.fill("#id_name", "BI")
    page.select_option("#id_scope", "read_write")
    page.fill("#id_days", "7")
    page.locator("main form button[type=submit]").first.click()
    secret = page.get_by_test_id("token-secret").inner_text().strip()
    token = ApiToken.objects.get(user=admin)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    screenshot(page, "day-one-token")
    assert errors == []
