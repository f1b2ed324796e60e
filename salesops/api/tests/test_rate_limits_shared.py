"""The quota holds across worker processes: requests sent at once from several
threads, each with its own database connection (as gunicorn's processes have), are
counted together, so exactly the quota gets through."""

import threading

import pytest
from django.db import connection, connections

from salesops.api.tests.conftest import ApiClient

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs separate connections in parallel"
    ),
]


def test_the_quota_holds_across_connections_sending_at_once(cast, settings, monkeypatch):
    from salesops.api import ratelimit

    settings.API_RATE_LIMIT = "25/60"
    monkeypatch.setattr(ratelimit, "clock", lambda: 60 * 1_000_000.0 + 1)  # one window
    api = ApiClient(cast.rep, scope="read")
    n_threads, per_thread = 6, 10
    barrier = threading.Barrier(n_threads)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            mine = [api.get("/leads").status_code for _ in range(per_thread)]
            with lock:
                statuses.extend(mine)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) == n_threads * per_thread
    assert statuses.count(200) == 25
    assert statuses.count(429) == n_threads * per_thread - 25
