"""Forecasting (销售预测): forecast submissions and manager overrides, pipeline snapshots
and as-of reports, the statistical forecast and forecast accuracy."""

import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForecastingConfig(AppConfig):
    name = "salesops.forecasting"
    label = "forecasting"
    verbose_name = _("Forecasting")

    def ready(self) -> None:
        from salesops.automation.schedule import Job, register
        from salesops.crm import services as crm_services
        from salesops.forecasting import (
            kpis,  # noqa: F401  (registers the forecast KPIs)
            kpis_accuracy,  # noqa: F401  (registers forecast_accuracy and forecast_bias)
            reminders,
        )
        from salesops.forecasting.category_history import record_category_change
        from salesops.forecasting.snapshots import take_due_snapshot
        from salesops.forecasting.tasks import record_forecasts

        if record_category_change not in crm_services.CATEGORY_LISTENERS:
            crm_services.CATEGORY_LISTENERS.append(record_category_change)
        reminders.register_kinds()
        register(Job("forecasting.reminders", reminders.send_reminders, dt.time(9, 0)))
        # After midnight's roll-ups: the statistical forecast as it stands at the start
        # of the day.
        register(Job("forecasting.record", record_forecasts, dt.time(0, 45)))
        # The snapshot hour is a setting: one job per hour of the day, each enqueued once
        # a day; the task takes the snapshot when today is the day and its hour has come
        # (once: unique day).
        for hour in range(24):
            register(Job(f"forecasting.snapshot.{hour:02d}", take_due_snapshot, dt.time(hour)))
