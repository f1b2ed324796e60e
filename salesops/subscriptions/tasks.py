"""Background tasks (`django.tasks`, run by `salesops worker`)."""

from __future__ import annotations

from django.tasks import task

from salesops.subscriptions import sending


@task
def send_subscriptions() -> int:
    """Send the subscriptions that are due (and retries that are due); how many runs
    went out. Safe to run from several workers at once."""
    return sending.send_due()
