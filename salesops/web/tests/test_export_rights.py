"""The export right of a role is honoured by every export: dashboard drill-downs (CSV
and XLSX), list exports, report exports, `salesops export` and the API's export. A
role without it gets 403 and no file; the page shows no export control."""

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from salesops.crm.models import Customer, Deal
from salesops.crm.tests.factories import PipelineFactory
from salesops.org.models import Currency

D = dt.date
PERIOD = "2026-Q3"


def without_export(user) -> None:
    role = user.role
    role.rights = {t: [r for r in rights if r != "export"] for t, rights in role.rights.items()}
    role.save()
    user.refresh_from_db()


@pytest.fixture
def won_deal(cast):
    Currency.objects.get_or_create(code="CNY", defaults={"name": "Chinese yuan"})
    cast.org.base_currency_id = "CNY"
    cast.org.save()
    pipeline = PipelineFactory(name="New business", is_default=True)
    customer = Customer.objects.create(name="Acme Co", owner=cast.rep)
    return Deal.objects.create(
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
    )


def drill_url(metric: str, fmt: str | None) -> str:
    params = {"period": PERIOD} | ({"format": fmt} if fmt else {})
    return f"{reverse('dashboard_drill', args=[metric])}?{urlencode(params)}"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_drill_down_export_is_refused_without_the_export_right(cast, won_deal, signed_in, fmt):
    without_export(cast.manager)
    client = signed_in(cast.manager)
    response = client.get(drill_url("won", fmt))
    assert response.status_code == 403
    assert "attachment" not in response.get("Content-Disposition", "")
    assert b"Acme" not in response.content
    page = client.get(drill_url("won", None))
    assert page.status_code == 200 and "Acme deal" in page.content.decode()
    assert "format=csv" not in page.content.decode()  # no export button either


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_drill_down_export_is_given_with_the_export_right(cast, won_deal, signed_in, fmt):
    response = signed_in(cast.manager).get(drill_url("won", fmt))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]


def test_the_export_command_refuses_a_user_without_the_export_right(cast, tmp_path):
    from django.core.management import CommandError, call_command

    Customer.objects.create(name="Acme Co", owner=cast.rep)
    without_export(cast.rep)
    target = tmp_path / "out.csv"
    with pytest.raises(CommandError, match=r"export|导出"):
        call_command("export", object="customer", as_user="rep", output=str(target))
    assert not target.exists() or "Acme" not in target.read_text()


def test_a_report_export_is_refused_without_the_export_right(cast, won_deal, signed_in):
    without_export(cast.manager)
    client = signed_in(cast.manager)
    params = {"object": "deal", "g0_field": "owner", "m0_agg": "count", "format": "csv"}
    response = client.get(reverse("report_run_export"), params)
    assert response.status_code == 403
    assert "attachment" not in response.get("Content-Disposition", "")
