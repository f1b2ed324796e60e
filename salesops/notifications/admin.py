"""Notices and preferences in the Django admin: read-only for administrators (notices are
written by the services and read by their recipients; preferences are each person's)."""

from __future__ import annotations

from django.contrib import admin

from salesops.notifications.models import Notification, Preference
from salesops.org.admin import BaseAdmin, BigTableAdmin, ReadOnlyAdminMixin


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("recipient", "kind", "key", "created_at", "read_at", "emailed_at")
    list_select_related = ("recipient",)
    list_filter = ("kind", "email", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("key", "recipient__username", "recipient__display_name")


@admin.register(Preference)
class PreferenceAdmin(ReadOnlyAdminMixin, BaseAdmin):
    list_display = ("user", "kind", "in_app", "email")
    list_select_related = ("user",)
    list_filter = ("kind", "email")
    search_fields = ("user__username", "user__display_name")
