"""Forecasting (销售预测): forecast submissions and manager overrides, pipeline snapshots
and as-of reports, the statistical forecast and forecast accuracy."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForecastingConfig(AppConfig):
    name = "salesops.forecasting"
    label = "forecasting"
    verbose_name = _("Forecasting")

    def ready(self) -> None:
        import datetime as dt

        from salesops.automation.schedule import Job, register
        from salesops.forecasting import (
            kpis,  # noqa: F401  (registers the forecast KPIs)
            reminders,
        )

        reminders.register_kinds()
        register(Job("forecasting.reminders", reminders.send_reminders, dt.time(9, 0)))
