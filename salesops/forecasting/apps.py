import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForecastingConfig(AppConfig):
    name = "salesops.forecasting"
    label = "forecasting"
    verbose_name = _("Forecasting")

    def ready(self) -> None:
        from salesops.automation.schedule import Job, register
        from salesops.forecasting import kpis_accuracy  # noqa: F401 (registers the KPIs)
        from salesops.forecasting.tasks import record_forecasts

        # After midnight's roll-ups: the forecast as it stands at the start of the day.
        register(Job("forecasting.record", record_forecasts, dt.time(0, 45)))
