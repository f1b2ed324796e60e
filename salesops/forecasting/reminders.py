"""Reminders to submit a forecast, through the notification centre.

A daily job (`forecasting.reminders`, 09:00 in the organisation's time zone) looks at
the current month and fiscal quarter. On `WEEKDAY` it reminds everyone expected to
submit (sales reps and team managers) who has no number of their own for the period
yet (once per period and week); from `DAYS_BEFORE_END` days before a period's last day
it sends the end-of-period reminder (once per period). The notices' keys make each
exactly-once, so a job run twice sends nothing more. A period whose deadline has passed
reminds nobody."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.tasks import task
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.forecasting.queries import ForecastPeriod, current_periods, deadline_of, not_submitted
from salesops.notifications import kinds
from salesops.notifications import services as notifications
from salesops.org.models import Organisation

WEEKLY = "forecast_weekly"
END_OF_PERIOD = "forecast_end_of_period"
#: Monday (0) … Sunday (6); settings.FORECAST_REMINDER_WEEKDAY overrides it.
WEEKDAY = 0
#: settings.FORECAST_REMINDER_DAYS_BEFORE_END overrides it.
DAYS_BEFORE_END = 3


def _weekly(notice: kinds.Notice) -> tuple[str, str]:
    return (
        _("Submit your forecast for %(period)s") % {"period": notice.params.get("period", "")},
        _("Your commit and best case for %(period)s are not in yet.")
        % {"period": notice.params.get("period", "")},
    )


def _end(notice: kinds.Notice) -> tuple[str, str]:
    day = notice.params.get("last_day")
    shown = formats.date_format(dt.date.fromisoformat(day), "DATE_FORMAT") if day else ""
    return (
        _("%(period)s ends on %(day)s: submit your forecast")
        % {"period": notice.params.get("period", ""), "day": shown},
        _("Your commit and best case for %(period)s are not in yet.")
        % {"period": notice.params.get("period", "")},
    )


def register_kinds() -> None:
    kinds.register(kinds.Kind(WEEKLY, gettext_lazy("Weekly forecast reminders"), _weekly))
    kinds.register(
        kinds.Kind(END_OF_PERIOD, gettext_lazy("End-of-period forecast reminders"), _end)
    )


def _open(fp: ForecastPeriod) -> bool:
    deadline = deadline_of(fp)
    return deadline is None or timezone.now() < deadline.locks_at


def send_forecast_reminders(*, today: dt.date | None = None) -> int:
    """Send today's reminders; how many notices were new."""
    today = today or Organisation.get().local_date()
    weekday = getattr(settings, "FORECAST_REMINDER_WEEKDAY", WEEKDAY)
    before_end = getattr(settings, "FORECAST_REMINDER_DAYS_BEFORE_END", DAYS_BEFORE_END)
    out = []
    for fp in current_periods(today):
        weekly = today.weekday() == weekday
        ending = 0 <= (fp.last_day - today).days <= before_end
        if not (weekly or ending) or not _open(fp):
            continue
        people = not_submitted(fp)
        params = {"period": fp.label, "last_day": fp.last_day.isoformat()}
        year, week, _d = today.isocalendar()
        for person in people:
            if weekly:
                key = f"forecast.weekly:{fp.kind}:{fp.start.isoformat()}:{year}-W{week:02d}"
                out.append(notifications.outgoing(person.pk, WEEKLY, key=key, **params))
            if ending:
                key = f"forecast.end:{fp.kind}:{fp.start.isoformat()}"
                out.append(notifications.outgoing(person.pk, END_OF_PERIOD, key=key, **params))
    return notifications.notify_many(out)


@task
def send_reminders() -> int:
    return send_forecast_reminders()
