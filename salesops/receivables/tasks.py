"""The collections daily job (registered from the app's `ready()`)."""

from __future__ import annotations

from django.tasks import task


@task
def collections_daily() -> int:
    """Send the overdue reminders due today, and store this week's cash forecast if it is
    not stored yet; how many notices were new."""
    from salesops.receivables import forecast, reminders

    sent = reminders.send_overdue_reminders()
    forecast.take_snapshot()
    return sent
