"""Many requests at once, on PostgreSQL (row locks and unique keys are what is tested)."""

import json
import threading

import pytest
from django.db import connection, connections

from salesops.api.tests.conftest import ApiClient
from salesops.crm import services
from salesops.crm.models import Customer, Deal, Lead
from salesops.crm.tests.factories import PipelineFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def race(n, fn):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as e:
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def test_the_same_idempotency_key_sent_20_times_at_once_creates_one_record(cast):
    api = ApiClient(cast.rep)
    responses = race(
        20, lambda i: api.post("/leads", {"name": "Ada"}, **{"Idempotency-Key": "once"})
    )
    assert Lead.objects.count() == 1
    assert {r.status_code for r in responses} == {201}
    assert len({json.dumps(json.loads(r.content), sort_keys=True) for r in responses}) == 1
    assert sum(1 for r in responses if r.has_header("Idempotent-Replayed")) == 19


def test_two_clients_saving_one_version_at_once_one_wins_and_one_gets_412(cast):
    lead = services.create_lead(by=cast.rep, name="A")
    clients = [ApiClient(cast.rep), ApiClient(cast.manager)]
    responses = race(
        2,
        lambda i: clients[i].patch(f"/leads/{lead.pk}", {"name": f"By {i}"}, **{"If-Match": '"1"'}),
    )
    assert sorted(r.status_code for r in responses) == [200, 412]
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    lead.refresh_from_db()
    assert (lead.name, lead.version) == (f"By {winner}", 2)


def test_converting_a_lead_from_many_api_requests_at_once_converts_it_once(cast):
    PipelineFactory(is_default=True)
    lead = services.create_lead(by=cast.rep, name="Ada", company="Acme")
    api = ApiClient(cast.rep)
    responses = race(8, lambda i: api.post(f"/leads/{lead.pk}/convert", {}))
    assert {r.status_code for r in responses} == {200}
    assert sum(r.json()["created"] for r in responses) == 1
    assert len({r.json()["deal"] for r in responses}) == 1
    assert Deal.objects.count() == 1
    assert Customer.objects.count() == 1
