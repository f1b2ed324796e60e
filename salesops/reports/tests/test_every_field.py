"""Every field the registry offers a report runs: filtered (empty, and "is" a value),
grouped and measured, on both databases — a field added to the registry joins a report
without a line here."""

import datetime as dt
from decimal import Decimal

import pytest

from salesops.activities.tests.factories import FollowUpFactory, TaskFactory
from salesops.crm.tests.factories import (
    ContactFactory,
    CustomerFactory,
    DealFactory,
    LeadFactory,
    ProductFactory,
)
from salesops.crm.tests.more_factories import ContractFactory, PaymentFactory, QuoteFactory
from salesops.customization import registry
from salesops.reports import services
from salesops.reports.catalogue import OPERATORS, fields_for, objects
from salesops.users.models import Target


def cases():
    # The built-in objects (custom objects live in the database, not read at collection;
    # test_custom_objects.py runs theirs).
    return [pytest.param(key, id=key) for key in objects(custom=False)]


SAMPLE = {
    registry.DATE: "2026-01-01",
    registry.DATETIME: "2026-01-01",
    registry.BOOL: "yes",
    registry.INTEGER: "1",
    registry.NUMBER: "1",
    registry.MONEY: "1",
}


@pytest.fixture
def records(cast):
    """One record of each kind, so that group labels are looked up."""
    customer = CustomerFactory(owner=cast.rep)
    ContactFactory(owner=cast.rep, customer=customer)
    DealFactory(owner=cast.rep, customer=customer)
    LeadFactory(owner=cast.rep)
    FollowUpFactory(owner=cast.rep)
    TaskFactory(owner=cast.rep, customer=customer)
    ProductFactory()
    QuoteFactory(owner=cast.rep)
    ContractFactory(owner=cast.rep)
    PaymentFactory(owner=cast.rep)
    Target.objects.create(
        user=cast.rep,
        metric="bookings",
        period_kind="month",
        period_start=dt.date(2026, 1, 1),
        value=Decimal("100"),
    )


@pytest.mark.parametrize("object_type", cases())
def test_every_offered_field_filters_groups_and_measures(cast, records, object_type):
    for f in fields_for(object_type, cast.admin).values():
        definitions = [{"filters": [{"field": f.key, "op": "empty", "value": ""}]}]
        if f.filterable and f.type != registry.CHOICE:
            value = SAMPLE.get(f.type, "x")
            definitions.append({"filters": [{"field": f.key, "op": "eq", "value": value}]})
            if "in" in OPERATORS[f.type]:
                definitions.append({"filters": [{"field": f.key, "op": "in", "value": "x, y"}]})
        if f.groupable:
            definitions.append({"group_by": [{"field": f.key}]})
        if f.measure:
            definitions.append({"measures": [{"agg": "median", "field": f.key}]})
        for definition in definitions:
            result = services.run_definition(
                user=cast.admin, object_type=object_type, definition=definition
            )
            assert not result.errors and not result.error, (f.key, definition, result.errors)


@pytest.mark.parametrize("object_type", cases())
def test_the_records_behind_a_cell_show_the_default_columns(cast, records, client, object_type):
    from django.urls import reverse

    client.force_login(cast.admin)
    page = client.get(reverse("report_run_records"), {"object": object_type, "keys": "[]"})
    assert page.status_code == 200
    headers = page.context["headers"]
    spec = registry.get(object_type)
    assert headers == [f.title for f in spec.fields(derived=True) if f.list_default]
    assert page.context["count"] == len(page.context["rows"]) >= 1
