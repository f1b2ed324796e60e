"""Export from every list (`?export=csv|xlsx`): the file holds exactly what the list
shows for the same filters, search, sort and columns; never a row outside the reader's
data scope nor a field their role hides; refused (403, no file) without the export
right; over EXPORT_DIRECT_ROWS rows it is made on the worker and only its owner
downloads it, until it expires."""

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from salesops.crm.models import Customer
from salesops.crm.tests.factories import CustomerFactory
from salesops.imports import export_jobs
from salesops.imports.models import ExportJob
from salesops.web.views.lists import LISTS

URLS = {
    "leads": "lead_list",
    "customers": "customer_list",
    "my_customers": "customer_mine",
    "pool": "pool",
    "contacts": "contact_list",
    "deals": "deal_list",
    "followups": "followup_list",
    "tasks": "task_list",
    "products": "product_list",
    "quotes": "quote_list",
    "contracts": "contract_list",
    "payment_plans": "paymentplan_list",
    "payments": "payment_list",
}


@pytest.fixture(autouse=True)
def _export_files(settings, tmp_path):
    settings.EXPORT_FILES_DIR = str(tmp_path / "exports")


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def xlsx_rows(response) -> list[list]:
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [list(r) for r in book.active.iter_rows(values_only=True)]


def shown(response) -> list[list[str]]:
    """The list page's table as text: headers, then each row's cells."""
    columns = [str(c.label) for c in response.context["columns"]]
    rows = [
        [re.sub(r"<[^>]+>", "", text).replace("&amp;", "&") for _label, text in row["cells"]]
        for row in response.context["rows"]
    ]
    return [columns, *rows]


@pytest.fixture
def customers(world):
    """East: five customers of rep's with phones, industries and stages; West: one."""
    rep = world.cast.rep
    for i, (stage, phone) in enumerate(
        [("customer", "131"), ("prospect", "132"), ("customer", "133"), ("repeat", "134")]
    ):
        CustomerFactory(
            owner=rep, name=f"Acme {i}", lifecycle_stage=stage, phone=f"{phone}00001111"
        )
    CustomerFactory(owner=world.cast.outsider, name="Acme West", phone="13900002222")
    return world


def test_the_csv_holds_what_the_list_shows_for_the_same_filters_sort_and_columns(
    customers, signed_in
):
    client = signed_in(customers.cast.manager)
    params = "q=Acme&lifecycle_stage=customer&sort=-name&cols=name&cols=lifecycle_stage&cols=phone&cols=owner"
    page = client.get(f"{reverse('customer_list')}?{params}")
    assert page.status_code == 200
    export = client.get(f"{reverse('customer_list')}?{params}&export=csv")
    assert export.status_code == 200
    assert "attachment" in export["Content-Disposition"]
    rows = csv_rows(export)
    assert rows == shown(page)
    assert rows[0] == ["Name", "Lifecycle stage", "Owner", "Phone"]
    assert [r[0] for r in rows[1:]] == ["Acme 2", "Acme 0"]
    assert rows[1][1] == "Customer"  # the choice's label, not its value


def test_the_xlsx_holds_the_same_rows(customers, signed_in):
    client = signed_in(customers.cast.manager)
    params = "q=Acme&sort=name&cols=name&cols=phone"
    csv_export = csv_rows(client.get(f"{reverse('customer_list')}?{params}&export=csv"))
    xlsx = xlsx_rows(client.get(f"{reverse('customer_list')}?{params}&export=xlsx"))
    assert [[str(v) if v is not None else "" for v in r] for r in xlsx] == csv_export
    assert [r[0] for r in xlsx[1:]] == ["Acme 0", "Acme 1", "Acme 2", "Acme 3"]


def test_rows_outside_the_readers_scope_are_not_exported(customers, signed_in):
    rows = csv_rows(signed_in(customers.cast.rep).get(f"{reverse('customer_list')}?export=csv"))
    names = {r[0] for r in rows[1:]}
    assert "Acme 0" in names and "East customer" in names
    assert "Acme West" not in names and "West customer" not in names
    theirs = csv_rows(
        signed_in(customers.cast.outsider).get(f"{reverse('customer_list')}?export=csv")
    )
    assert {r[0] for r in theirs[1:]} == {"Acme West", "West customer"}


def test_a_field_the_role_hides_is_neither_a_column_nor_a_value(customers, signed_in):
    role = customers.cast.manager.role
    role.hidden_fields = {"customer": ["phone"]}
    role.save()
    client = signed_in(customers.cast.manager)
    for fmt, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        response = client.get(f"{reverse('customer_list')}?cols=name&cols=phone&export={fmt}")
        rows = read(response)
        assert rows[0] == ["Name"]
        text = repr(rows)
        assert "00001111" not in text and "Phone" not in text


def test_without_the_export_right_the_list_refuses_and_offers_no_export(customers, signed_in):
    role = customers.cast.manager.role
    role.rights = {**role.rights, "customer": ["view"]}
    role.save()
    client = signed_in(customers.cast.manager)
    for fmt in ("csv", "xlsx"):
        response = client.get(f"{reverse('customer_list')}?export={fmt}")
        assert response.status_code == 403
        assert "attachment" not in response.get("Content-Disposition", "")
        assert b"Acme" not in response.content
    page = client.get(reverse("customer_list"))
    assert page.status_code == 200 and "export=csv" not in page.content.decode()
    assert not ExportJob.objects.exists()


def test_with_the_export_right_the_list_offers_csv_and_xlsx(customers, signed_in):
    page = signed_in(customers.cast.manager).get(f"{reverse('customer_list')}?q=Acme")
    text = page.content.decode()
    assert "q=Acme&amp;export=csv" in text and "q=Acme&amp;export=xlsx" in text


def test_an_unknown_format_is_not_found(customers, signed_in):
    client = signed_in(customers.cast.manager)
    assert client.get(f"{reverse('customer_list')}?export=pdf").status_code == 404


@pytest.mark.parametrize("cls", LISTS, ids=lambda c: c.key)
def test_every_list_exports_its_own_rows_and_only_the_readers(cls, world, signed_in):
    url = reverse(URLS[cls.key])
    if cls.key == "pool":
        Customer.objects.filter(pk=world.west.customer.pk).update(owner=None)
    client = signed_in(world.cast.rep)
    page = client.get(url)
    assert page.status_code == 200
    rows = csv_rows(client.get(f"{url}?export=csv"))
    table = shown(page)
    assert rows[0] == table[0] and len(rows) == len(table) > 1
    # Text, names and choices read the same; numbers, money and dates are written as
    # values (a spreadsheet formats them), not as the page's text.
    kinds = [c.kind for c in page.context["columns"]]
    for got, want in zip(rows[1:], table[1:], strict=True):
        for kind, value, text in zip(kinds, got, want, strict=True):
            if kind in ("text", "link"):
                assert (value or "—") == text
    assert "West" not in repr(rows[1:]) or cls.key in ("pool", "products")


def test_a_custom_objects_list_exports_within_scope_and_hidden_fields(cast, signed_in):
    from salesops.customization import admin_services as fields_admin
    from salesops.customization.models import CustomField
    from salesops.objects import services
    from salesops.web.tests.test_custom_object_pages import define

    define(cast)
    fields_admin.create_custom_field(
        by=cast.admin,
        object_type="site_visit",
        key="secret",
        label="Secret note",
        field_type=CustomField.Type.TEXT,
    )
    east = CustomerFactory(owner=cast.rep, name="East customer")
    west = CustomerFactory(owner=cast.outsider, name="West customer")
    for by, title, customer in (
        (cast.rep, "East visit", east),
        (cast.outsider, "West visit", west),
    ):
        services.create_record(
            by=type(by).objects.get(pk=by.pk),
            object_type="site_visit",
            data={"title": title, "customer": customer.pk},
            custom={"secret": f"XYZZY-{title}"},
        )
    url = reverse("object_list", args=["site_visit"])
    rows = csv_rows(signed_in(cast.rep).get(f"{url}?cols=title&cols=secret&export=csv"))
    assert rows == [["Subject", "Secret note"], ["East visit", "XYZZY-East visit"]]
    role = cast.manager.role
    role.refresh_from_db()  # defining the object gave the role its rights on it
    role.hidden_fields = {"site_visit": ["secret"]}
    role.save()
    rows = csv_rows(signed_in(cast.manager).get(f"{url}?cols=title&cols=secret&export=csv"))
    assert rows == [["Subject"], ["East visit"]]


# -- large exports on the worker --------------------------------------------------------------


def test_a_large_export_runs_on_the_worker_and_only_its_owner_downloads_it(
    customers, signed_in, settings, client
):
    settings.EXPORT_DIRECT_ROWS = 2
    manager = customers.cast.manager
    params = "q=Acme&sort=name&cols=name&cols=lifecycle_stage"
    response = signed_in(manager).get(f"{reverse('customer_list')}?{params}&export=csv")
    assert response.status_code == 302 and response["Location"] == reverse("export_jobs")
    job = ExportJob.objects.get()
    assert (job.created_by, job.status, job.params["list"]) == (manager, "queued", "customers")
    assert "export" not in job.params["query"]

    job = export_jobs.run(job.pk)  # what the worker's task calls
    assert job.status == "succeeded" and job.row_count == 4
    assert job.expires_at > timezone.now() + dt.timedelta(days=settings.EXPORT_KEEP_DAYS - 1)

    page = client.get(reverse("export_jobs"))
    assert reverse("export_download", args=[job.pk]) in page.content.decode()
    download = client.get(reverse("export_download", args=[job.pk]))
    assert download.status_code == 200
    settings.EXPORT_DIRECT_ROWS = 10_000
    direct = client.get(f"{reverse('customer_list')}?{params}&export=csv")
    assert csv_rows(download) == csv_rows(direct)

    for other in (customers.cast.rep, customers.cast.admin):
        other_client = signed_in(other)
        assert other_client.get(reverse("export_download", args=[job.pk])).status_code == 404
        assert job.file_name not in other_client.get(reverse("export_jobs")).content.decode()


def test_the_worker_honours_a_right_taken_away_after_the_export_was_asked_for(
    customers, signed_in, settings
):
    settings.EXPORT_DIRECT_ROWS = 1
    manager = customers.cast.manager
    signed_in(manager).get(f"{reverse('customer_list')}?export=xlsx")
    role = manager.role
    role.rights = {**role.rights, "customer": ["view"]}
    role.save()
    job = export_jobs.run(ExportJob.objects.get().pk)
    assert job.status == "failed" and "export" in job.message
    assert not job.file_path


def test_an_expired_export_is_gone_and_purged(customers, signed_in, settings):
    settings.EXPORT_DIRECT_ROWS = 1
    client = signed_in(customers.cast.manager)
    client.get(f"{reverse('customer_list')}?export=csv")
    job = export_jobs.run(ExportJob.objects.get().pk)
    path = Path(job.file_path)
    assert path.exists()
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    assert client.get(reverse("export_download", args=[job.pk])).status_code == 404
    assert export_jobs.purge() == 1
    assert not path.exists() and not ExportJob.objects.exists()
