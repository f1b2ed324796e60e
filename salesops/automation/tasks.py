"""Background tasks (`django.tasks`, run by `salesops worker`).

Each task is a thin wrapper around a domain function, so the same code runs from the
worker, a test or a shell."""

from __future__ import annotations

from django.tasks import task
from django.utils import timezone

from salesops.crm import pool


@task
def reclaim_pool() -> int:
    """Return customers due today to the public pool; how many moved."""
    return pool.reclaim_customers(now=timezone.now())


@task
def warn_pool() -> int:
    """Warn owners of customers that return to the pool soon; how many warnings."""
    return pool.warn_customers(now=timezone.now())


@task
def purge_recycle_bin() -> int:
    """Delete for good the records deleted longer ago than the recycle bin keeps them."""
    from salesops.automation import recycle

    return recycle.purge(now=timezone.now())
