"""Admin of the people who log in: users, the team tree, roles, notifications, targets.

Like every Salesops admin it bypasses `visible_to` by design and is open only to
administrators (superusers, or staff whose role `is_admin`): see `salesops.org.admin`.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from salesops.org.admin import (
    AdminOnlyMixin,
    BaseAdmin,
    SoftDeleteAdmin,
)
from salesops.users.models import Role, Target, Team, User


@admin.register(Team)
class TeamAdmin(BaseAdmin):
    list_display = ("indented_name", "parent", "manager", "path")
    list_select_related = ("parent", "manager")
    search_fields = ("name",)
    autocomplete_fields = ("parent", "manager")
    readonly_fields = ("tree_path", "path")
    fields = ("name", "parent", "manager", "tree_path", "path")

    @admin.display(description=_("name"), ordering="path")
    def indented_name(self, obj: Team) -> str:
        depth = max(obj.path.count(".") - 1, 0)
        return "\u2003" * depth + obj.name

    @admin.display(description=_("place in the tree"))
    def tree_path(self, obj: Team) -> str:
        """The names from the top team down to this one, e.g. "HQ ▸ East ▸ East-1"."""
        if not obj.pk or not obj.path:
            return "—"
        ids = [int(part) for part in obj.path.split(".") if part]
        names = dict(Team.objects.filter(id__in=ids).values_list("id", "name"))
        return " ▸ ".join(names.get(i, "?") for i in ids)


@admin.register(Role)
class RoleAdmin(BaseAdmin):
    list_display = ("name", "data_scope", "is_admin", "is_sales_rep")
    list_filter = ("data_scope", "is_admin", "is_sales_rep")
    search_fields = ("name",)


@admin.register(User)
class UserAdmin(AdminOnlyMixin, DjangoUserAdmin):
    """Django's user admin plus Salesops' team, other teams, manager, role and profile."""

    show_facets = admin.ShowFacets.NEVER
    list_display = (
        "username",
        "display_name",
        "email",
        "phone",
        "team",
        "role",
        "reports_to",
        "is_active",
        "is_staff",
    )
    list_select_related = ("team", "role", "reports_to")
    list_filter = ("is_active", "is_staff", "is_superuser", "role", "team", "language")
    search_fields = (
        "username",
        "display_name",
        "first_name",
        "last_name",
        "email",
        "phone",
    )
    autocomplete_fields = ("team", "reports_to", "role")
    filter_horizontal = ("extra_teams", "groups", "user_permissions")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (
            _("Sales organisation"),
            {
                "fields": (
                    "display_name",
                    "phone",
                    "language",
                    "team",
                    "extra_teams",
                    "reports_to",
                    "role",
                )
            },
        ),
    )
    add_fieldsets = (
        *(DjangoUserAdmin.add_fieldsets or ()),
        (
            _("Sales organisation"),
            {"fields": ("display_name", "email", "team", "reports_to", "role", "language")},
        ),
    )


@admin.register(Target)
class TargetAdmin(SoftDeleteAdmin):
    list_display = ("__str__", "user", "team", "metric", "period_kind", "period_start", "value")
    list_select_related = ("user", "team")
    list_filter = (
        "metric",
        "period_kind",
        "team",
        ("user__team", admin.RelatedFieldListFilter),
        ("period_start", admin.DateFieldListFilter),
    )
    search_fields = ("user__username", "user__display_name", "team__name")
    autocomplete_fields = ("user", "team")
