"""A list export in a real browser (Debian's Chromium): a rep in English filters the
customer list, opens Export ▾ and downloads the XLSX; the file holds the filtered rows
only, without the other team's customer."""

import io

import pytest
from openpyxl import load_workbook

from salesops.crm.tests.factories import CustomerFactory
from salesops.users.models import User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_rep_downloads_the_filtered_customer_list_as_xlsx(cast, live_server, new_page, sign_in):
    User.objects.filter(pk=cast.rep.pk).update(language="en")
    CustomerFactory(owner=cast.rep, name="Acme One")
    CustomerFactory(owner=cast.rep, name="Acme Two")
    CustomerFactory(owner=cast.rep, name="Other Co")
    CustomerFactory(owner=cast.outsider, name="Acme West")
    page = new_page()
    sign_in(page, live_server.url, "rep")
    page.goto(f"{live_server.url}/customers/?q=Acme&sort=name")
    page.locator(".export-menu summary").click()
    with page.expect_download() as info:
        page.get_by_role("link", name="XLSX").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as f:
        book = load_workbook(io.BytesIO(f.read()), read_only=True)
    names = [r[0] for r in book.active.iter_rows(values_only=True)]
    assert names == ["Name", "Acme One", "Acme Two"]
