"""Admin of follow-ups and tasks (administrators only; bypasses `visible_to` by design —
see `salesops.org.admin`). Follow-ups reach millions of rows: every link is an
autocomplete and the list never counts the whole table."""

from __future__ import annotations

from django.contrib import admin

from salesops.activities.models import FollowUp, Task
from salesops.org.admin import OwnerTeamFilter, SoftDeleteAdmin

DATE = admin.DateFieldListFilter


@admin.register(FollowUp)
class FollowUpAdmin(SoftDeleteAdmin):
    list_display = ("occurred_at", "kind", "subject", "owner", "customer", "deal", "lead")
    list_select_related = ("owner", "customer", "deal", "lead")
    list_filter = ("kind", ("owner__team", OwnerTeamFilter), ("occurred_at", DATE))
    search_fields = ("subject", "customer__name", "deal__name", "lead__name", "=id")
    autocomplete_fields = ("owner", "lead", "customer", "contact", "deal")


@admin.register(Task)
class TaskAdmin(SoftDeleteAdmin):
    list_display = ("title", "owner", "priority", "due_at", "done_at", "customer", "deal")
    list_select_related = ("owner", "customer", "deal")
    list_filter = (
        "priority",
        ("done_at", admin.EmptyFieldListFilter),
        ("owner__team", OwnerTeamFilter),
        ("due_at", DATE),
    )
    search_fields = ("title", "customer__name", "deal__name", "lead__name", "=id")
    autocomplete_fields = ("owner", "created_by", "lead", "customer", "contact", "deal")
    readonly_fields = ("reminded_at",)
