"""Collections (回款): receivables ageing, overdue reminders and the cash forecast."""

import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReceivablesConfig(AppConfig):
    name = "salesops.receivables"
    label = "receivables"
    verbose_name = _("Collections")

    def ready(self) -> None:
        from salesops.automation.schedule import Job, register
        from salesops.receivables import kpis, reminders  # noqa: F401 (registers)
        from salesops.receivables.tasks import collections_daily

        reminders.register_kinds()
        register(Job("receivables.daily", collections_daily, dt.time(7, 30)))
