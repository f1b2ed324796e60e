"""Hidden fields in a real browser (Debian's Chromium): a rep whose role hides the deal
amount, the customer's phone and e-mail, the contact's mobile and one custom field walks
every page it can reach from the home page — following each link, as a curious user
would — and none of the hidden values is on any of them (the page's HTML, so attributes,
data for charts and hidden inputs count too), dashboards and their KPI totals included. The same values are on the pages of a
colleague whose role hides nothing, so the walk would see them if they leaked."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from salesops.activities.tests.factories import FollowUpFactory, TaskFactory
from salesops.crm.tests.factories import ContactFactory, CustomerFactory, DealFactory
from salesops.crm.tests.more_factories import ContractFactory, QuoteFactory
from salesops.customization import admin_services as fields_admin

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = "13977553311"
MOBILE = "13866442200"
EMAIL = "zqxhidden@example.org"
SECRET = "Zqxsecretvalue"
AMOUNT = Decimal("9753.47")
#: What must never be on a page the hiding rep reaches (any spelling of the values).
NEVER = [PHONE, "7755331", MOBILE, "6644220", "zqxhidden", SECRET, "9753.47", "9,753.47", "9,753.5", "9753.5"]  # fmt: skip
HIDDEN = {
    "deal": ["amount"],
    "customer": ["phone", "email", "zq_secret"],
    "contact": ["mobile"],
}
#: Pages of one shape (digits replaced) visited at most this often; links that change
#: data or sign out are not followed.
PER_SHAPE = 2
SKIP = re.compile(
    r"/logout|/i18n/|/language|/admin/|export=|\.csv|/errors|/download|/delete|/restore"
)


def shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def records(owner):
    customer = CustomerFactory(
        owner=owner, name="Acme Hidden", phone=PHONE, email=EMAIL, custom={"zq_secret": SECRET}
    )
    ContactFactory(owner=owner, customer=customer, name="Li Hidden", mobile=MOBILE)
    today = timezone.localdate()
    deal = DealFactory(
        owner=owner,
        customer=customer,
        name="Hidden deal",
        amount=AMOUNT,
        expected_close=today + dt.timedelta(days=3),
    )
    QuoteFactory(owner=owner, deal=deal, customer=customer)
    ContractFactory(owner=owner, deal=deal, customer=customer)
    FollowUpFactory(owner=owner, customer=customer)
    TaskFactory(owner=owner, customer=customer)
    return customer


def walk(page, base, limit=160):
    """Every same-site page reachable from home by links (GET), at most PER_SHAPE of a
    shape: {path: html}."""
    seen, shapes, queue, out = set(), Counter(), ["/"], {}
    while queue and len(out) < limit:
        path = queue.pop(0)
        if path in seen or SKIP.search(path) or shapes[shape(path)] >= PER_SHAPE:
            continue
        seen.add(path)
        shapes[shape(path)] += 1
        try:
            response = page.goto(base + path)
        except PlaywrightError as e:  # a file download, not a page
            if "Download is starting" not in str(e):
                raise
            continue
        if response is None or not response.ok:
            continue
        if "text/html" not in (response.headers.get("content-type") or ""):
            continue
        out[path] = page.content()
        for href in page.eval_on_selector_all(
            "a[href]", "els => els.map(e => e.getAttribute('href'))"
        ):
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith("/"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen:
                queue.append(target)
    return out


def test_a_role_that_hides_fields_finds_none_of_their_values_on_any_page(
    cast, live_server, new_page, sign_in
):
    fields_admin.create_custom_field(
        by=cast.admin, object_type="customer", key="zq_secret", label="Secret", field_type="text"
    )
    role = cast.rep.role
    role.hidden_fields = HIDDEN
    role.save()
    records(cast.rep)
    # The teammate sees the rep's records (team scope) with no field hidden: the same walk
    # finds the values, so the rep's clean walk is not for want of reaching them.
    assert not cast.teammate.role.hidden_fields

    rep = new_page(locale="en-US")
    rep.set_default_timeout(60_000)
    sign_in(rep, live_server.url, "rep")
    pages = walk(rep, live_server.url)
    assert len(pages) > 40, sorted(pages)
    for must in ("/customers/", "/deals/", "/contacts/", "/board/"):
        assert any(p.startswith(must) for p in pages), must
    assert any(re.match(r"/customers/\d+/$", p) for p in pages)
    assert any(re.match(r"/deals/\d+/$", p) for p in pages)
    assert any(p.startswith("/dashboards/") for p in pages), sorted(pages)
    # the dashboards' chart data, fetched by the page's script, is checked too
    charts = rep.request.get(live_server.url + "/dashboards/data.json").text()
    pages["/dashboards/data.json"] = charts
    leaks = {p: [v for v in NEVER if v in html] for p, html in pages.items()}
    assert {p: v for p, v in leaks.items() if v} == {}

    mate = new_page(locale="en-US")
    mate.set_default_timeout(60_000)
    sign_in(mate, live_server.url, "teammate")
    seen = walk(mate, live_server.url, limit=80)
    found = {v for html in seen.values() for v in NEVER if v in html}
    assert {PHONE, SECRET, "zqxhidden"} <= found, found
