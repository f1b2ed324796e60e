"""Admin of follow-ups and tasks (administrators only; bypasses `visible_to` by design —
see `salesops.org.admin`). Follow-ups reach millions of rows: every link is an
autocomplete and the list never counts the whole table."""

from __future__ import annotations

from django.contrib import admin

from salesops.activities.models import FollowUp, Task
from salesops.crm.admin import FromRegistry, RecordAdmin, columns, read_only, related, searched
from salesops.org.admin import OwnerTeamFilter

DATE = admin.DateFieldListFilter


@admin.register(FollowUp)
class FollowUpAdmin(RecordAdmin):
    list_display = FromRegistry(lambda: columns("followup"))
    list_select_related = FromRegistry(lambda: related("followup"))
    list_filter = ("kind", ("owner__team", OwnerTeamFilter), ("occurred_at", DATE))
    search_fields = FromRegistry(
        lambda: searched("followup", "customer__name", "deal__name", "lead__name", "=id")
    )
    autocomplete_fields = ("owner", "lead", "customer", "contact", "deal")
    readonly_fields = FromRegistry(lambda: read_only("followup"))


@admin.register(Task)
class TaskAdmin(RecordAdmin):
    list_display = FromRegistry(lambda: columns("task"))
    list_select_related = FromRegistry(lambda: related("task"))
    list_filter = (
        "priority",
        ("done_at", admin.EmptyFieldListFilter),
        ("owner__team", OwnerTeamFilter),
        ("due_at", DATE),
    )
    search_fields = FromRegistry(
        lambda: searched("task", "customer__name", "deal__name", "lead__name", "=id")
    )
    autocomplete_fields = ("owner", "created_by", "lead", "customer", "contact", "deal")
    readonly_fields = FromRegistry(lambda: read_only("task", "reminded_at"))
