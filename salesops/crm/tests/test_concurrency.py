"""Two requests at once, on PostgreSQL (row locks are what is being tested)."""

import threading

import pytest
from django.db import connection, connections

from salesops.crm import services
from salesops.crm.models import Customer, Deal, Lead, PoolRule
from salesops.crm.tests.factories import LeadFactory, PipelineFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def race(n, fn):
    """Run `fn` in `n` threads released together; return results and errors."""
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(fn())
        except Exception as e:
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_converting_a_lead_from_many_requests_at_once_converts_it_once(cast):
    PipelineFactory(is_default=True)
    lead = LeadFactory(owner=cast.rep)
    results, errors = race(8, lambda: services.convert_lead(lead=lead, by=cast.rep))
    assert errors == []
    assert sum(r.created for r in results) == 1
    assert len({r.deal.pk for r in results}) == 1
    assert Deal.objects.count() == 1
    assert Customer.objects.count() == 1
    assert Lead.objects.get().status == Lead.Status.CONVERTED


def test_claims_racing_past_the_cap_stop_at_the_cap(cast):
    PoolRule.objects.create(name="default", max_customers_per_rep=2)
    pooled = [
        services.create_customer(by=cast.admin, owner=None, name=f"Pool {i}") for i in range(6)
    ]
    it = iter(pooled)
    lock = threading.Lock()

    def claim_next():
        with lock:
            customer = next(it)
        return services.claim_customer(customer=customer, by=cast.rep)

    results, errors = race(6, claim_next)
    assert len(results) == 2
    assert len(errors) == 4
    assert Customer.objects.filter(owner=cast.rep).count() == 2


def test_two_reps_claiming_one_customer_at_once_gives_it_to_one(cast):
    customer = services.create_customer(by=cast.admin, owner=None, name="Contested")
    reps = iter([cast.rep, cast.teammate])
    lock = threading.Lock()

    def claim():
        with lock:
            rep = next(reps)
        return services.claim_customer(customer=customer, by=rep)

    results, errors = race(2, claim)
    assert len(results) == 1
    assert len(errors) == 1
    assert "claimed by" in str(errors[0])
    customer.refresh_from_db()
    assert customer.owner == results[0].owner
