"""The audit log in the Django admin: read-only for administrators."""

from __future__ import annotations

from django.contrib import admin

from salesops.audit.models import AuditEntry
from salesops.org.admin import BigTableAdmin, ReadOnlyAdminMixin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("at", "actor_name", "action", "object_type", "object_id", "object_label")
    list_filter = ("action", "object_type", "source")
    search_fields = ("object_label", "actor_name")
    date_hierarchy = None
    readonly_fields = (
        "at",
        "actor",
        "actor_name",
        "object_type",
        "object_id",
        "object_label",
        "action",
        "changes",
        "source",
    )
