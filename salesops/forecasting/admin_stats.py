"""The statistical forecast's tables in the Django admin: read-only (the daily job and
the pages write them)."""

from django.contrib import admin

from salesops.forecasting.models_stats import HistoryCohort, SeriesFit, StatForecast
from salesops.org.admin import BigTableAdmin, ReadOnlyAdminMixin


@admin.register(StatForecast)
class StatForecastAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("subject", "period_start", "period_end", "made_on", "expected", "low", "high")
    list_filter = ("scope", "made_on")
    search_fields = ("subject",)


@admin.register(HistoryCohort)
class HistoryCohortAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("computed_on", "stage_id", "bucket", "status", "days", "count")


@admin.register(SeriesFit)
class SeriesFitAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("key", "method", "error", "used_on")
