"""Per-caller rate limits shared by every worker process: a fixed-window counter.

By default the counts live in the database the app already uses (table
`api_ratecounter`): one upsert per request increments the caller's counter for the
current window and returns the new count, atomically, whatever the number of gunicorn
workers or servers — no Redis or Memcached to run. A deployment that has a shared
cache may name it instead (`API_RATE_LIMIT_STORE=<cache alias>`, e.g. Redis); a
local-memory cache there would make each process count on its own.

The counter is written outside any transaction of the request (autocommit), so a
request that fails still counts and the row lock is held for one statement only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.db import connections, router

from salesops.api.models import RateCounter

DATABASE = "database"
#: The clock of the windows (a test may hold it still).
clock = time.time


@dataclass(frozen=True)
class Quota:
    limit: int
    used: int
    #: seconds until the window ends (at least 1)
    reset: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit


def rate_limit() -> tuple[int, int]:
    """(requests, seconds) allowed per caller; the setting API_RATE_LIMIT is "N/SECONDS"."""
    spec = str(getattr(settings, "API_RATE_LIMIT", "1200/60"))
    count, _sep, seconds = spec.partition("/")
    return int(count), max(int(seconds or 60), 1)


def store() -> str:
    return str(getattr(settings, "API_RATE_LIMIT_STORE", "") or DATABASE)


def hit(principal: str, *, now: float | None = None) -> Quota:
    """Count one request of `principal` ("token:<id>" or "user:<id>") in the current
    window and say where it stands."""
    limit, window = rate_limit()
    moment = clock() if now is None else now
    bucket = int(moment // window)
    reset = max(int((bucket + 1) * window - moment) + 1, 1)
    name = store()
    used = (
        _hit_database(principal, bucket)
        if name == DATABASE
        else _hit_cache(name, principal, bucket, window)
    )
    return Quota(limit, used, reset)


def _hit_database(principal: str, bucket: int) -> int:
    table = RateCounter._meta.db_table
    connection = connections[router.db_for_write(RateCounter)]
    with connection.cursor() as cursor:
        # One statement: insert the window's row or add one to it, and read the sum.
        cursor.execute(
            f"INSERT INTO {table} (principal, bucket, hits) VALUES (%s, %s, 1) "  # noqa: S608 - table name from the model
            f"ON CONFLICT (principal, bucket) DO UPDATE SET hits = {table}.hits + 1 "
            "RETURNING hits",
            [principal, bucket],
        )
        used = int(cursor.fetchone()[0])
        if used == 1:
            # The caller's first request of a window: its older windows are done with.
            cursor.execute(
                f"DELETE FROM {table} WHERE principal = %s AND bucket < %s",  # noqa: S608
                [principal, bucket],
            )
    return used


def _hit_cache(alias: str, principal: str, bucket: int, window: int) -> int:
    cache = caches[alias]
    key = f"api-rate:{principal}:{bucket}"
    cache.add(key, 0, timeout=window + 1)
    try:
        return int(cache.incr(key))
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=window + 1)
        return 1


def purge(*, now: float | None = None) -> int:
    """Delete counters of windows that have ended (callers that stopped calling)."""
    _limit, window = rate_limit()
    bucket = int((clock() if now is None else now) // window)
    deleted, _detail = RateCounter.objects.filter(bucket__lt=bucket).delete()
    return deleted
