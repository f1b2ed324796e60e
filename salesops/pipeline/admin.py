"""Admin of pipelines and their stages (administrators only; see `salesops.org.admin`)."""

from __future__ import annotations

from django.contrib import admin

from salesops.org.admin import BaseAdmin, TabularInline
from salesops.pipeline.models import Pipeline, Stage


class StageInline(TabularInline):
    model = Stage
    fields = ("order", "name", "kind", "probability", "forecast_category")
    ordering = ("order",)


@admin.register(Pipeline)
class PipelineAdmin(BaseAdmin):
    list_display = ("name", "is_default", "active", "order")
    list_filter = ("is_default", "active")
    search_fields = ("name",)
    inlines = (StageInline,)


@admin.register(Stage)
class StageAdmin(BaseAdmin):
    list_display = ("name", "pipeline", "order", "kind", "probability", "forecast_category")
    list_select_related = ("pipeline",)
    list_filter = ("pipeline", "kind", "forecast_category")
    search_fields = ("name", "pipeline__name")
