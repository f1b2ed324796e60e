"""Workers ticking at the same moment, on PostgreSQL (real concurrent transactions)."""

import threading

import pytest
from django.db import connection, connections

from salesops.subscriptions import sending
from salesops.subscriptions.models import SubscriptionRun
from salesops.subscriptions.tests.data import MONDAY_8
from salesops.subscriptions.tests.test_sending import subscribe

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent transactions"),
]


def race(n, fn):
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


def test_four_workers_ticking_at_once_send_each_recipient_one_e_mail(cast, week, smtp):
    subscribe(cast.admin, [cast.admin, cast.manager, cast.rep])
    results, errors = race(4, lambda: sending.send_due(now=MONDAY_8))
    assert errors == []
    assert sum(results) == 1
    assert SubscriptionRun.objects.get().status == "sent"
    for user in (cast.admin, cast.manager, cast.rep):
        assert len(smtp.to(user.email)) == 1
    assert len(smtp.received) == 3
