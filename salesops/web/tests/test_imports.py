"""The import wizard step by step (upload, mapping, preview, start, job page, cancel,
error file, history) as people with and without the right to create, and with a field
hidden from their role: it is not offered and cannot be mapped by a forged POST."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse

from salesops.crm.models import Customer
from salesops.imports import jobs
from salesops.imports.models import ImportJob, ImportMapping
from salesops.imports.tests import corpus
from salesops.objects.tests.helpers import hide

pytestmark = pytest.mark.django_db

ROWS = [
    ["客户名称", "电话", "邮箱"],
    ["杭州云栖科技", "13800000001", "a@example.com"],
    ["上海浦江贸易", "13800000002", "not-an-email"],
    ["北京长城制造", "13800000003", "c@example.com"],
]


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.IMPORT_FILES_DIR = str(tmp_path / "imports")


def gbk_file(rows=ROWS, name="客户.csv"):
    data = corpus.csv_bytes(rows, encoding="gbk")
    f = io.BytesIO(data)
    f.name = name
    return f


def upload(client, object_type="customer", file=None):
    return client.post(reverse("import_new"), {"object": object_type, "file": file or gbk_file()})


def mapping_url(response):
    assert response.status_code == 302, response.content.decode()[:500]
    assert re.match(r"^/imports/file/[0-9a-f]{32}/$", response.url), response.url
    return response.url


def selects(html):
    """{column header: [offered target keys]} of the mapping form."""
    out = {}
    for header, body in re.findall(r'data-header="([^"]*)">(.*?)</select>', html, re.S):
        out[header] = re.findall(r'<option value="([^"]+)"', body)
    return out


def chosen(html):
    """{column header: the target selected}, for the columns that have one."""
    out = {}
    for header, body in re.findall(r'data-header="([^"]*)">(.*?)</select>', html, re.S):
        found = re.search(r'<option value="([^"]+)" selected', body)
        if found:
            out[header] = found.group(1)
    return out


def test_the_wizard_suggests_previews_and_starts_a_job_on_the_worker(cast, signed_in):
    client = signed_in(cast.rep)
    page = client.get(reverse("import_new") + "?object=customer")
    assert page.status_code == 200
    assert 'type="file"' in page.content.decode() and 'id="dropzone"' in page.content.decode()
    url = mapping_url(upload(client))
    html = client.get(url).content.decode()
    assert chosen(html) == {"客户名称": "name", "电话": "phone", "邮箱": "email"}
    assert "杭州云栖科技" in html  # the file's first rows, read from GBK
    form = {
        "col-0": "name",
        "col-1": "phone",
        "col-2": "email",
        "mode": "skip-errors",
        "dedupe": "skip",
    }
    preview = client.post(url, {**form, "action": "preview"})
    text = preview.content.decode()
    assert preview.status_code == 200
    assert re.search(r'id="count-created".*?<strong>2</strong>', text, re.S)
    assert re.search(r'id="count-failed".*?<strong>1</strong>', text, re.S)
    assert "not-an-email" in text  # the first errors, with their value
    assert not Customer.objects.exists()  # a preview writes nothing
    started = client.post(url, {**form, "action": "run", "save_as": "CRM export"})
    job = ImportJob.objects.get()
    assert started.status_code == 302 and started.url == reverse("import_job", args=[job.pk])
    assert job.status == ImportJob.Status.QUEUED and job.task_id  # on the worker's queue
    assert job.columns == {"客户名称": "name", "电话": "phone", "邮箱": "email"}
    assert ImportMapping.objects.get(name="CRM export").columns == job.columns
    # The draft is gone once started: the same page again is a 404.
    assert client.get(url).status_code == 404
    page = client.get(started.url).content.decode()
    assert f'hx-get="/imports/{job.pk}/progress/"' in page
    assert 'id="cancel-import"' in page


def test_the_job_page_shows_the_final_counts_and_serves_the_error_file(cast, signed_in):
    client = signed_in(cast.rep)
    url = mapping_url(upload(client))
    client.post(
        url,
        {
            "col-0": "name",
            "col-1": "phone",
            "col-2": "email",
            "mode": "skip-errors",
            "dedupe": "skip",
            "action": "run",
        },
    )
    job = jobs.run_job(ImportJob.objects.get().pk)  # what the worker does
    assert job.status == ImportJob.Status.SUCCEEDED
    assert set(Customer.objects.values_list("name", flat=True)) == {"杭州云栖科技", "北京长城制造"}
    bar = client.get(reverse("import_progress", args=[job.pk]))
    text = bar.content.decode()
    assert "hx-get" not in text  # finished: the polling stops
    assert 'value="100"' in text and 'id="error-file"' in text
    assert re.search(r'id="job-created">2<', text) and re.search(r'id="job-errors">1<', text)
    errors = client.get(reverse("import_errors", args=[job.pk]))
    assert errors["Content-Type"].startswith("text/csv")
    assert "attachment" in errors["Content-Disposition"]
    body = b"".join(errors.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0] == "line,column,value,reason"
    assert "3,邮箱,not-an-email," in body
    history = client.get(reverse("import_list")).content.decode()
    assert "客户.csv" in history and reverse("import_job", args=[job.pk]) in history


def test_a_file_that_is_not_a_spreadsheet_is_refused_with_a_clear_message(cast, signed_in):
    client = signed_in(cast.rep)
    pdf = io.BytesIO(b"%PDF-1.4 not a table")
    pdf.name = "customers.csv"
    response = upload(client, file=pdf)
    assert response.status_code == 400
    assert 'id="upload-error"' in response.content.decode()
    assert "PDF" in response.content.decode()
    nothing = client.post(reverse("import_new"), {"object": "customer"})
    assert nothing.status_code == 400 and "Choose a file first." in nothing.content.decode()
    assert not ImportJob.objects.exists()


def test_a_mapping_missing_a_required_field_or_using_one_twice_says_what_to_fix(cast, signed_in):
    client = signed_in(cast.rep)
    url = mapping_url(upload(client))
    base = {"mode": "skip-errors", "dedupe": "skip", "action": "run"}
    twice = client.post(url, {**base, "col-0": "name", "col-1": "phone", "col-2": "phone"})
    assert twice.status_code == 400
    assert "both go to" in twice.content.decode()
    missing = client.post(url, {**base, "col-0": "", "col-1": "phone"})
    assert missing.status_code == 400 and "Choose a column for:" in missing.content.decode()
    assert not ImportJob.objects.exists()


def test_a_role_without_the_create_right_gets_a_403_with_a_message(cast, signed_in):
    client = signed_in(cast.analyst)  # view and export only
    page = client.get(reverse("import_new"))
    assert page.status_code == 403
    assert "cannot import" in page.content.decode()
    response = upload(client)
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_a_hidden_field_is_not_offered_and_a_forged_mapping_to_it_is_refused(cast, signed_in):
    hide(cast.rep.role, "customer", "phone", users=(cast.rep,))
    client = signed_in(cast.rep)
    url = mapping_url(upload(client))
    html = client.get(url).content.decode()
    offered = selects(html)
    assert "phone" not in offered["电话"] and "name" in offered["电话"]
    assert "phone" not in chosen(html).values()  # not suggested either
    forged = client.post(
        url,
        {
            "col-0": "name",
            "col-1": "phone",
            "col-2": "email",
            "mode": "skip-errors",
            "dedupe": "skip",
            "action": "run",
        },
    )
    assert forged.status_code == 400
    assert "There is no field “phone” you may import into" in forged.content.decode()
    assert not ImportJob.objects.exists()
    # A saved mapping naming the hidden field is applied without it.
    mapping = jobs.save_mapping(
        name="admin's",
        object_type="customer",
        columns={"客户名称": "name", "电话": "phone"},
        by=cast.admin,
    )
    html = client.get(f"{url}?mapping={mapping.pk}").content.decode()
    assert chosen(html) == {"客户名称": "name"}


def test_others_cannot_see_or_cancel_an_import_but_an_administrator_can(cast, signed_in):
    client = signed_in(cast.rep)
    url = mapping_url(upload(client))
    client.post(
        url,
        {
            "col-0": "name",
            "col-1": "phone",
            "col-2": "email",
            "mode": "skip-errors",
            "dedupe": "skip",
            "action": "run",
        },
    )
    job = ImportJob.objects.get()
    outsider = signed_in(cast.outsider)
    for name in ("import_job", "import_progress", "import_errors"):
        assert outsider.get(reverse(name, args=[job.pk])).status_code == 404
    assert outsider.post(reverse("import_cancel", args=[job.pk])).status_code == 404
    assert "客户.csv" not in outsider.get(reverse("import_list")).content.decode()
    # The outsider cannot take the rep's uploaded file either (the draft is per session).
    assert outsider.get(url).status_code == 404
    admin = signed_in(cast.admin)
    assert "客户.csv" in admin.get(reverse("import_list")).content.decode()
    admin.post(reverse("import_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED


def test_the_lists_link_to_the_wizard_for_those_who_may_import(cast, signed_in):
    html = signed_in(cast.rep).get(reverse("customer_list")).content.decode()
    assert reverse("import_new") + "?object=customer" in html
    html = signed_in(cast.analyst).get(reverse("customer_list")).content.decode()
    assert reverse("import_new") not in html


def test_a_custom_object_is_imported_through_the_same_wizard(cast, signed_in):
    from salesops.crm import services as crm
    from salesops.objects.models import CustomRecord
    from salesops.objects.tests.helpers import define_site_visit

    define_site_visit(cast)
    crm.create_customer(by=cast.rep, name="杭州云栖科技")
    client = signed_in(cast.rep)
    page = client.get(reverse("import_new")).content.decode()
    assert '<option value="site_visit">' in page
    rows = [["标题", "客户", "评分"], ["首次拜访", "杭州云栖科技", "8"]]
    url = mapping_url(upload(client, "site_visit", gbk_file(rows, "visits.csv")))
    html = client.get(url).content.decode()
    assert chosen(html) == {"标题": "title", "客户": "customer", "评分": "custom.score"}
    client.post(
        url,
        {
            "col-0": "title",
            "col-1": "customer",
            "col-2": "custom.score",
            "mode": "skip-errors",
            "dedupe": "skip",
            "action": "run",
        },
    )
    job = jobs.run_job(ImportJob.objects.get(object_type="site_visit").pk)
    assert (job.status, job.created_count) == (ImportJob.Status.SUCCEEDED, 1)
    record = CustomRecord.objects.get()
    assert (record.title, record.customer.name, record.custom["score"]) == (
        "首次拜访",
        "杭州云栖科技",
        8,
    )
