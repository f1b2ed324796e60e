"""Pages cost a fixed number of queries, however many rows they show (no N+1): each page
is measured with a few rows, then with many more, and must not need one query more."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesops.activities.tests.factories import FollowUpFactory, TaskFactory
from salesops.crm.models import PoolRule
from salesops.crm.tests.factories import ContactFactory, CustomerFactory, DealFactory, LeadFactory
from salesops.crm.tests.more_factories import (
    ContractFactory,
    PaymentFactory,
    PaymentPlanFactory,
    QuoteFactory,
    StageHistoryFactory,
)
from salesops.customization.models import CustomField

#: The most queries any of these pages may make (session, user, role, org, scope, ...).
BUDGET = 25


def more_rows(world, n):
    rep = world.cast.rep
    for i in range(n):
        customer = CustomerFactory(owner=rep, name=f"Extra customer {i}")
        ContactFactory(customer=customer)
        deal = DealFactory(owner=rep, customer=customer, pipeline=world.pipeline)
        StageHistoryFactory(deal=deal)
        LeadFactory(owner=rep)
        FollowUpFactory(owner=rep, customer=customer, deal=deal)
        TaskFactory(owner=rep, customer=customer, deal=deal)
        QuoteFactory(owner=rep, customer=customer, deal=deal)
        contract = ContractFactory(owner=rep, customer=customer, deal=deal)
        PaymentPlanFactory(owner=rep, contract=contract)
        PaymentFactory(owner=rep, contract=contract)


def count(client, url, **headers):
    client.get(url, **headers)  # the first request of a session writes it; measure the next
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200, url
    return len(queries)


PAGES = [
    "home",
    "lead_list",
    "customer_list",
    "customer_mine",
    "pool",
    "contact_list",
    "deal_list",
    "followup_list",
    "task_list",
    "product_list",
    "quote_list",
    "contract_list",
    "paymentplan_list",
    "payment_list",
    "board",
]


@pytest.fixture
def setup_rules(world):
    PoolRule.objects.create(
        name="All", reclaim_after_days_without_followup=30, max_customers_per_rep=500
    )
    CustomField.objects.create(
        object_type="deal", key="segment", label="Segment", field_type="text"
    )


@pytest.mark.parametrize("name", PAGES)
def test_a_list_page_needs_the_same_queries_for_2_rows_as_for_12(
    world, setup_rules, signed_in, name
):
    client = signed_in(world.cast.rep)
    url = reverse(name) + (
        "?cols=" + "&cols=".join(["name", "customer", "owner", "stage", "amount", "cf_segment"])
        if name == "deal_list"
        else ""
    )
    before = count(client, url)
    more_rows(world, 10)
    after = count(client, url)
    assert after == before <= BUDGET, (name, before, after)


@pytest.mark.parametrize(
    "kind", ["lead", "customer", "contact", "deal", "task", "quote", "contract"]
)
def test_a_record_page_needs_the_same_queries_with_a_long_timeline(
    world, setup_rules, signed_in, kind
):
    client = signed_in(world.cast.rep)
    record = getattr(world.east, kind)
    url = reverse(f"{kind}_detail", args=[record.pk])
    before = count(client, url)
    rep = world.cast.rep
    customer = world.east.customer
    for _i in range(8):
        FollowUpFactory(
            owner=rep,
            customer=customer,
            deal=world.east.deal,
            lead=world.east.lead,
            contact=world.east.contact,
        )
        TaskFactory(
            owner=rep,
            customer=customer,
            deal=world.east.deal,
            lead=world.east.lead,
            contact=world.east.contact,
        )
        ContactFactory(customer=customer)
        StageHistoryFactory(deal=DealFactory(owner=rep, customer=customer, pipeline=world.pipeline))
    after = count(client, url)
    assert after == before <= BUDGET, (kind, before, after)


def test_the_next_page_of_a_list_costs_what_the_first_does(world, signed_in):
    more_rows(world, 60)
    client = signed_in(world.cast.rep)
    first = client.get(reverse("deal_list"))
    url = reverse("deal_list") + "?" + first.context["next_query"]
    assert count(client, url, HTTP_HX_REQUEST="true") <= BUDGET
