"""Admin of picklists and custom-field definitions (administrators only; see
`salesops.org.admin` for who may use the admin and why it bypasses `visible_to`)."""

from __future__ import annotations

from django.contrib import admin

from salesops.customization.models import (
    CustomField,
    Layout,
    Picklist,
    PicklistOption,
    ValidationRule,
)
from salesops.org.admin import BaseAdmin, ReadOnlyAdminMixin, TabularInline


class PicklistOptionInline(TabularInline):
    model = PicklistOption
    fields = ("value", "label", "order", "active")


@admin.register(Picklist)
class PicklistAdmin(BaseAdmin):
    list_display = ("key", "name")
    search_fields = ("key", "name")
    inlines = (PicklistOptionInline,)


@admin.register(PicklistOption)
class PicklistOptionAdmin(BaseAdmin):
    list_display = ("label", "value", "picklist", "order", "active")
    list_select_related = ("picklist",)
    list_filter = ("picklist", "active")
    search_fields = ("label", "value", "picklist__name", "picklist__key")


@admin.register(CustomField)
class CustomFieldAdmin(BaseAdmin):
    list_display = ("label", "key", "object_type", "field_type", "required", "active", "order")
    list_filter = ("object_type", "field_type", "required", "active")
    search_fields = ("key", "label")


@admin.register(ValidationRule)
class ValidationRuleAdmin(ReadOnlyAdminMixin, BaseAdmin):
    """Read only: rules are written on the settings pages, through the audited
    services that check their condition."""

    list_display = ("name", "object_type", "condition", "field", "active", "order")
    list_filter = ("object_type", "active")
    search_fields = ("name", "condition")


@admin.register(Layout)
class LayoutAdmin(ReadOnlyAdminMixin, BaseAdmin):
    """Read only: layouts are edited on the settings pages, through the audited
    services that check their fields and roles."""

    list_display = ("object_type", "pipeline", "updated_at")
    list_filter = ("object_type",)
