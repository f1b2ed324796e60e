"""Admin of the organisation settings, and the base classes every Salesops admin shares.

Who may use the admin
    The Django admin is the administrator's tool: it shows every row of every table
    and **bypasses `visible_to` by design** — data scopes do not apply here. So only
    administrators get in. Django's default site already requires an active user with
    `is_staff` (everyone else is sent to the login page); on top of that every Salesops
    `ModelAdmin` and inline built on the classes below answers its permission checks
    with `is_org_admin`: a superuser, or a staff user whose role `is_admin`. A rep who
    was given `is_staff` by mistake sees an empty index and gets 403 on every page.
    Give `is_staff` only to administrators.

    Django's model permissions (auth groups, user permissions) are not consulted for
    Salesops models: the role is the one place that says who administers.

Soft-deleted rows
    Soft-deletable models list `all_objects`, with a "deleted" filter (default: not
    deleted) and the actions "soft delete" and "restore". Django's hard delete (the
    action and the delete button) is switched off for them so that nothing deleted here
    is lost. Saving a row in the admin bumps its `version` so that API clients holding
    the old version get a conflict instead of overwriting the admin's change.

The base classes live here because `org` is the lowest app with an admin module and
every higher app's admin may import it (see the layer rule in DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from salesops.org.models import Currency, ExchangeRate, Holiday, Organisation

BOTH_LOCATIONS = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]


def is_org_admin(user: Any) -> bool:
    """May this user use the admin: staff (the admin site's own gate) who administers
    the organisation (`User.is_org_admin`, the one rule; this app sits below users)."""
    return bool(user.is_authenticated and user.is_staff and user.is_org_admin())


class AdminOnlyMixin:
    """Administrators may look (for ModelAdmins and inlines); nobody writes here.

    Every Salesops table is written by its services, which check the rules and write
    the audit entry; the app's settings pages (people, teams, roles, the organisation,
    currencies and rates, holidays, pipelines, fields, picklists, pool rules, price
    lists) call them. An admin form would skip both, so the admin is a read-only window
    (soft-delete and restore of records go through the services: `SoftDeleteAdmin`)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_org_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_org_admin(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        raise PermissionDenied(
            _("Settings and records are changed in the app, where every rule applies.")
        )


class BaseAdmin(AdminOnlyMixin, admin.ModelAdmin):
    """A Salesops ModelAdmin: administrators only, no facet counts (they scan tables)."""

    show_facets = admin.ShowFacets.NEVER


class BigTableAdmin(BaseAdmin):
    """For tables that reach millions of rows: no full count, newest first by primary key
    (an index scan, whatever the model's default ordering), 50 rows a page."""

    show_full_result_count = False
    ordering = ("-pk",)
    list_per_page = 50


class TabularInline(AdminOnlyMixin, admin.TabularInline):
    extra = 0


class ReadOnlyTabularInline(TabularInline):
    """History shown beside its record; never edited by hand."""

    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdminMixin:
    """Append-only history: viewable by administrators, never added, edited or deleted."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OwnerTeamFilter(admin.RelatedFieldListFilter):
    """Filter on `owner__team`, titled as what it is."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = _("owner's team")


class DeletedListFilter(admin.SimpleListFilter):
    """Soft-deleted or not; without a choice only rows that are not deleted are listed."""

    title = _("deleted")
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("No")), ("yes", _("Yes")), ("any", _("Either"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "any":
            return queryset
        if value == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset.filter(deleted_at__isnull=True)

    def choices(self, changelist: Any) -> Any:
        current = self.value() or "no"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class SoftDeleteAdmin(BigTableAdmin):
    """Admin of a `SoftDeleteModel` (a main record): lists `all_objects`, read-only.

    Main records are written only by their services, which keep the stage history,
    the audit log, validation and the public-pool cap: an admin form would skip them.
    Soft-delete and restore are offered where the record's app gives the services
    (`delete_service`, `restore_service`, set by its admin module, this app being
    below them); never a hard delete."""

    actions = ("soft_delete", "restore")
    #: (obj, by) -> None: the service that soft-deletes / restores one record.
    delete_service: Callable[..., None] | None = None
    restore_service: Callable[..., None] | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = self.model.all_objects.get_queryset()
        ordering = self.get_ordering(request)
        if ordering:
            qs = qs.order_by(*ordering)
        return qs

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [*super().get_list_filter(request), DeletedListFilter]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        qs, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        match = request.resolver_match
        if match is not None and match.url_name == "autocomplete":
            # A deleted record cannot be chosen as the customer, deal, ... of another.
            qs = qs.filter(deleted_at__isnull=True)
        return qs, may_have_duplicates

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_soft_delete_permission(self, request: HttpRequest) -> bool:
        return self.delete_service is not None and is_org_admin(request.user)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        raise PermissionDenied(_("Records are changed in the app, where every rule applies."))

    def _through(
        self, request: HttpRequest, queryset: QuerySet[Any], service: Any, note: str
    ) -> tuple[int, list[str]]:
        done, refused = 0, []
        for obj in queryset.iterator(chunk_size=500):
            try:
                with transaction.atomic():
                    service(obj=obj, by=request.user)
            except (ValidationError, PermissionDenied, IntegrityError) as e:
                # A restored row may clash with a live one (a unique SKU), or need its
                # customer back first: keep the others, report this one.
                message = " ".join(getattr(e, "messages", [])) or str(e)
                refused.append(f"{obj} ({message})" if message else str(obj))
                continue
            self.log_change(request, obj, note)
            done += 1
        return done, refused

    @admin.action(
        permissions=["soft_delete"],
        description=_("Soft-delete this %(verbose_name)s"),
        description_plural=_("Soft-delete selected %(verbose_name_plural)s"),
        location=BOTH_LOCATIONS,
    )
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        done, _refused = self._through(
            request,
            queryset.filter(deleted_at__isnull=True),
            type(self).delete_service,
            gettext("Soft-deleted."),
        )
        self.message_user(
            request,
            ngettext("%(n)d row soft-deleted.", "%(n)d rows soft-deleted.", done) % {"n": done},
            messages.SUCCESS,
        )

    @admin.action(
        permissions=["soft_delete"],
        description=_("Restore this %(verbose_name)s"),
        description_plural=_("Restore selected %(verbose_name_plural)s"),
        location=BOTH_LOCATIONS,
    )
    def restore(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        done, refused = self._through(
            request,
            queryset.filter(deleted_at__isnull=False),
            type(self).restore_service,
            gettext("Restored."),
        )
        self.message_user(
            request,
            ngettext("%(n)d row restored.", "%(n)d rows restored.", done) % {"n": done},
            messages.SUCCESS,
        )
        if refused:
            self.message_user(
                request,
                _("Not restored; %(rows)s") % {"rows": ", ".join(refused)},
                messages.ERROR,
            )


# -- the organisation ----------------------------------------------------------------


@admin.register(Currency)
class CurrencyAdmin(BaseAdmin):
    list_display = ("code", "name", "symbol", "active")
    list_filter = ("active",)
    search_fields = ("code", "name")


@admin.register(Organisation)
class OrganisationAdmin(BaseAdmin):
    """The one row of settings (edited at Settings ▸ Organisation)."""

    list_display = ("name", "base_currency", "time_zone", "fiscal_year_start_month", "locale")
    list_select_related = ("base_currency",)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(BaseAdmin):
    list_display = ("currency", "effective_on", "rate")
    list_select_related = ("currency",)
    list_filter = ("currency", ("effective_on", admin.DateFieldListFilter))
    search_fields = ("currency__code", "currency__name")
    date_hierarchy = "effective_on"


@admin.register(Holiday)
class HolidayAdmin(BaseAdmin):
    list_display = ("day", "kind", "name")
    list_filter = ("kind", ("day", admin.DateFieldListFilter))
    search_fields = ("name",)
    date_hierarchy = "day"
