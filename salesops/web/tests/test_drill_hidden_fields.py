"""Hidden fields on the record tables of dashboards and reports: a manager whose role
hides deal and payment amounts, customer phone and e-mail, contact mobile and a custom
field never finds those values in a dashboard drill-down (HTML, CSV, XLSX), in the
records behind a report's cell, in a report's export or in a report e-mailed to them;
reports on those fields are refused. The administrator, who hides nothing, sees them.
Columns come from the metadata registry; choices show their labels."""

import datetime as dt
import io
import zipfile
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from salesops.activities.models import FollowUp
from salesops.crm.models import Contact, Contract, Customer, Deal, Payment
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization.models import CustomField
from salesops.customization.services import forget_definitions
from salesops.org.models import Currency
from salesops.reports import services
from salesops.subscriptions.content import report_content

D = dt.date
PERIOD = "2026-Q3"
HIDDEN = {
    "deal": ["amount", "zq_secret"],
    "payment": ["amount"],
    "customer": ["phone", "email"],
    "contact": ["mobile"],
}
#: Strings that show the hidden values, however a surface formats them.
NEEDLES = [
    "9753",
    "9,753",
    "8642",
    "8,642",
    "Zqxsecret",
    "13977553311",
    "zqxhidden",
    "13866442200",
]


@pytest.fixture
def secrets(cast):
    """Q3 2026: rep (East, below the manager) wins a deal of 9,753.47 with a secret
    custom value, for a customer with a phone and e-mail whose contact has a mobile;
    one payment of 8,642.19 and one call. The manager's role hides all of those."""
    forget_definitions()
    Currency.objects.get_or_create(code="CNY", defaults={"name": "Chinese yuan"})
    cast.org.base_currency_id = "CNY"
    cast.org.save()
    CustomField.objects.create(
        object_type="deal", key="zq_secret", label="Secret", field_type="text"
    )
    pipeline = PipelineFactory(name="New business", is_default=True)
    customer = Customer.objects.create(
        name="Acme Co",
        owner=cast.rep,
        phone="13977553311",
        email="zqxhidden@example.org",
    )
    Contact.objects.create(
        name="Ann Contact", customer=customer, owner=cast.rep, mobile="13866442200"
    )
    deal = Deal.objects.create(
        name="Acme deal",
        customer=customer,
        pipeline=pipeline,
        stage=pipeline.stages.get(name="Won"),
        amount=Decimal("9753.47"),
        currency_id="CNY",
        status="won",
        created_on=D(2026, 6, 1),
        closed_on=D(2026, 7, 10),
        owner=cast.rep,
        custom={"zq_secret": "Zqxsecret"},
    )
    contract = Contract.objects.create(
        customer=customer,
        owner=cast.rep,
        number="C-1",
        title="Acme contract",
        amount=1,
        currency_id="CNY",
    )
    Payment.objects.create(
        contract=contract,
        owner=cast.rep,
        amount=Decimal("8642.19"),
        currency_id="CNY",
        received_on=D(2026, 8, 1),
        reference="REF-1",
    )
    FollowUp.objects.create(
        owner=cast.rep,
        kind="call",
        subject="Acme call",
        customer=customer,
        deal=deal,
        occurred_at=dt.datetime(2026, 7, 2, 3, tzinfo=dt.UTC),
    )
    cast.manager.role.hidden_fields = HIDDEN
    cast.manager.role.save()
    yield cast
    forget_definitions()


def text_of(response) -> str:
    if response["Content-Type"].startswith("application/vnd.openxmlformats"):
        with zipfile.ZipFile(io.BytesIO(response.content)) as z:
            return "\n".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
    return response.content.decode("utf-8-sig")


def drills():
    for metric in ("won", "closed", "new_customers", "payments", "touchpoints"):
        for fmt in ("html", "csv", "xlsx"):
            params = {"period": PERIOD} | ({"format": fmt} if fmt != "html" else {})
            yield metric, fmt, f"{reverse('dashboard_drill', args=[metric])}?{urlencode(params)}"


def test_drill_downs_never_show_values_the_role_hides(secrets, signed_in):
    client = signed_in(secrets.manager)
    for metric, fmt, url in drills():
        response = client.get(url)
        assert response.status_code == 200, url
        text = text_of(response)
        assert ("C-1" if metric == "payments" else "Acme") in text, url  # the record is listed
        for needle in NEEDLES:
            assert needle not in text, f"{needle} on {metric} ({fmt})"  # its secrets are not
        if fmt == "html":
            headers = [str(h) for h in response.context["headers"]]
            assert "Amount" not in headers and not any(h.startswith("Amount in") for h in headers)
            assert response.context["total"] == ""


def test_the_administrator_sees_them_in_the_same_drill_downs(secrets, signed_in):
    client = signed_in(secrets.admin)
    won = {metric: url for metric, fmt, url in drills() if fmt == "csv"}
    text = text_of(client.get(won["won"]))
    assert "9753.47" in text and "Amount in CNY" in text.splitlines()[0]
    assert "8642.19" in text_of(client.get(won["payments"]))
    page = client.get(reverse("dashboard_drill", args=["won"]), {"period": PERIOD})
    assert page.context["total"] and "Amount" in page.context["headers"]


def test_drill_down_cells_show_choice_labels(secrets, signed_in):
    client = signed_in(secrets.manager)
    won = client.get(reverse("dashboard_drill", args=["won"]), {"period": PERIOD})
    headers = [str(h) for h in won.context["headers"]]
    row = won.context["rows"][0][1]
    assert row[headers.index("Status")] == "Won"
    assert row[headers.index("Customer")] == "Acme Co"
    calls = client.get(reverse("dashboard_drill", args=["touchpoints"]), {"period": PERIOD})
    headers = [str(h) for h in calls.context["headers"]]
    assert calls.context["rows"][0][1][headers.index("Kind")] == "Call"


def records(client, definition, object_type="deal"):
    params = {"object": object_type, "keys": "[]"}
    for i, f in enumerate(definition.get("filters", [])):
        params |= {f"f{i}_field": f["field"], f"f{i}_op": f["op"], f"f{i}_value": f["value"]}
    for i, g in enumerate(definition.get("group_by", [])):
        params |= {f"g{i}_field": g["field"]}
    for i, m in enumerate(definition.get("measures", [])):
        params |= {f"m{i}_agg": m["agg"], f"m{i}_field": m.get("field", "")}
    return client.get(reverse("report_run_records"), params), params


@pytest.mark.parametrize(
    ("object_type", "definition"),
    [
        ("deal", {"group_by": [{"field": "owner"}]}),
        ("deal", {"group_by": [{"field": "status"}], "measures": [{"agg": "count"}]}),
        ("contact", {"group_by": [{"field": "customer"}]}),
        ("customer", {"group_by": [{"field": "owner"}]}),
        ("payment", {"group_by": [{"field": "method"}]}),
    ],
)
def test_the_records_behind_a_report_leave_hidden_fields_out(
    secrets, signed_in, object_type, definition
):
    manager = signed_in(secrets.manager)
    page, params = records(manager, definition, object_type)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="records-count">1<' in html
    for needle in NEEDLES:
        assert needle not in html, needle
    for fmt in ("csv", "xlsx"):
        export = manager.get(reverse("report_run_export"), {**params, "format": fmt})
        assert export.status_code == 200
        assert not any(n in text_of(export) for n in NEEDLES)


def test_the_administrator_sees_the_default_columns_the_role_may_not(secrets, signed_in):
    admin = signed_in(secrets.admin)
    contacts, _params = records(admin, {"group_by": [{"field": "customer"}]}, "contact")
    assert "13866442200" in contacts.content.decode()
    deals, _params = records(
        admin, {"filters": [{"field": "zq_secret", "op": "contains", "value": "Zqx"}]}
    )
    html = deals.content.decode()
    assert "Zqxsecret" in html and ("9753.47" in html or "9,753.47" in html)


@pytest.mark.parametrize(
    ("object_type", "key"),
    [
        ("deal", "amount"),
        ("deal", "zq_secret"),
        ("deal", "custom.zq_secret"),
        ("customer", "phone"),
        ("customer", "email"),
        ("contact", "mobile"),
    ],
)
def test_report_pages_refuse_a_hidden_field_and_never_show_it(secrets, signed_in, object_type, key):
    manager = signed_in(secrets.manager)
    for definition in (
        {"filters": [{"field": key, "op": "contains", "value": "1"}]},
        {"group_by": [{"field": key}]},
        {"measures": [{"agg": "sum", "field": key}]},
    ):
        page, params = records(manager, definition, object_type)
        assert page.status_code == 404
        builder = manager.get(reverse("report_new"), params)
        html = builder.content.decode()
        assert "no longer exists or is hidden from you" in html
        assert 'id="report-table"' not in html
        for needle in NEEDLES:
            assert needle not in html
        export = manager.get(reverse("report_run_export"), {**params, "format": "csv"})
        assert export.status_code == 400
        assert f'<option value="{key.removeprefix("custom.")}"' not in html  # nor offered
    admin = signed_in(secrets.admin)
    page, params = records(
        admin, {"filters": [{"field": key, "op": "empty", "value": ""}]}, object_type
    )
    assert page.status_code == 200


def test_a_mailed_report_is_computed_for_each_recipient(secrets):
    report = services.create_report(
        user=secrets.admin,
        name="Bookings by status",
        object_type="deal",
        definition={
            "group_by": [{"field": "status"}],
            "measures": [{"agg": "sum", "field": "amount"}],
        },
        team=secrets.east,
    )
    sub = SimpleNamespace(report=report, name="Weekly")
    day = D(2026, 9, 1)
    secrets.manager.language = secrets.admin.language = "en"
    for_manager = report_content(sub, secrets.manager, day)
    mailed = for_manager.text + for_manager.html
    with zipfile.ZipFile(io.BytesIO(for_manager.xlsx)) as z:
        mailed += "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
    assert "hidden from you" in for_manager.text
    assert not any(n in mailed for n in NEEDLES)
    for_admin = report_content(sub, secrets.admin, day)
    assert "9,753.47" in for_admin.text


def test_drill_downs_and_report_records_make_no_query_per_row(secrets, signed_in):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in(secrets.manager)
    urls = [url for _metric, fmt, url in drills() if fmt == "html"]
    urls.append(
        reverse("report_run_records")
        + "?"
        + urlencode({"object": "deal", "g0_field": "owner", "keys": "[]"})
    )

    def queries() -> list[int]:
        out = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    queries()
    before = queries()
    deal = Deal.objects.get(name="Acme deal")
    for i in range(3):
        customer = Customer.objects.create(name=f"More {i} Co", owner=secrets.rep_east1)
        Deal.objects.create(
            name=f"More {i}",
            customer=customer,
            pipeline=deal.pipeline,
            stage=deal.stage,
            amount=Decimal("1"),
            currency_id="CNY",
            status="won",
            created_on=D(2026, 6, 1),
            closed_on=D(2026, 7, 11),
            owner=secrets.rep_east1,
        )
        FollowUp.objects.create(
            owner=secrets.rep_east1,
            kind="call",
            subject=f"More call {i}",
            customer=customer,
            occurred_at=dt.datetime(2026, 7, 3, 3, tzinfo=dt.UTC),
        )
    assert queries() == before
