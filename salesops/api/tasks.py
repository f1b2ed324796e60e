"""Background tasks of the API (`django.tasks`, run by `salesops worker`)."""

from __future__ import annotations

from django.tasks import task

from salesops.api import ratelimit
from salesops.api.idempotency import purge_idempotency_records


@task
def purge_idempotency() -> int:
    """Delete stored Idempotency-Key responses older than IDEMPOTENCY_TTL_HOURS (24 by
    default); how many were deleted. Meant to run once a day. Also drops the rate-limit
    counters of callers who stopped calling (each caller keeps at most one row)."""
    ratelimit.purge()
    return purge_idempotency_records()
