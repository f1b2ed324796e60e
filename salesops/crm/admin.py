"""Admin of leads, customers, contacts, deals, products, quotes, contracts and payments.

Administrators only, and it bypasses `visible_to` by design (see `salesops.org.admin`).
Built for a million deals: foreign keys to big tables are autocompletes, lists fetch
their related rows in the same query, skip the full count and order by primary key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from salesops.crm import services
from salesops.crm.models import (
    Contact,
    Contract,
    Customer,
    Deal,
    DealLine,
    Lead,
    Payment,
    PaymentPlan,
    PoolEvent,
    PoolRule,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    StageHistory,
    Tag,
)
from salesops.customization import registry
from salesops.customization.registry import MANY_REF, REF
from salesops.org.admin import (
    BaseAdmin,
    BigTableAdmin,
    OwnerTeamFilter,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    SoftDeleteAdmin,
    TabularInline,
)
from salesops.pipeline.models import Stage

DATE = admin.DateFieldListFilter


# -- an object's fields, from the metadata registry ------------------------------------------


class FromRegistry:
    """A ModelAdmin option worked out from the registry when first read: the admin
    modules are imported before the apps register their object types (`ready`)."""

    def __init__(self, make: Callable[[], tuple[str, ...]]) -> None:
        self.make = make
        self.value: tuple[str, ...] | None = None

    def __get__(self, obj: Any, owner: Any = None) -> tuple[str, ...]:
        if self.value is None:
            self.value = self.make()
        return self.value


def _own_fields(object_type: str) -> list[registry.FieldSpec]:
    """The built-in fields (custom ones live in a JSON column the admin edits whole)."""
    return [f for f in registry.get(object_type).base_fields if not f.derived and not f.internal]


def columns(object_type: str, *, first: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The changelist's columns: `first`, then the object's default list columns."""
    keys = [f.key for f in _own_fields(object_type) if f.list_default and f.type != MANY_REF]
    return (*first, *(k for k in keys if k not in first))


def related(object_type: str, *, first: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The references among the changelist's columns, fetched in the list's own query."""
    spec = registry.get(object_type)
    names = columns(object_type, first=first)
    return tuple(n for n in names if (f := spec.field(n)) is not None and f.type == REF)


def searched(object_type: str, *extra: str) -> tuple[str, ...]:
    """The searchable fields (a reference by its name), then `extra` (admin-only paths,
    such as `=id`)."""
    paths = [
        f.name_path if f.type == REF and f.name_path else f.path
        for f in _own_fields(object_type)
        if f.searchable
    ]
    return (*paths, *(e for e in extra if e not in paths))


def read_only(object_type: str, *extra: str) -> tuple[str, ...]:
    """The fields no person sets directly (the registry's not editable ones, less the
    bookkeeping times Django shows anyway), then `extra`."""
    keys = [
        f.key
        for f in _own_fields(object_type)
        if not f.editable and f.key not in registry.STAMPS and f.type != MANY_REF
    ]
    return (*keys, *(e for e in extra if e not in keys))


class RecordAdmin(SoftDeleteAdmin):
    """A main record: read-only here; soft-delete and restore through the services."""

    delete_service = staticmethod(services.delete_record)
    restore_service = staticmethod(services.restore_record)


class StageFilter(admin.RelatedFieldListFilter):
    """Stages are labelled "pipeline: stage"; fetch the pipelines in the same query."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        stages = Stage.objects.select_related("pipeline").order_by("pipeline", "order")
        return [(s.pk, str(s)) for s in stages]


class InPoolFilter(admin.SimpleListFilter):
    title = _("in the public pool")
    parameter_name = "in_pool"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(owner__isnull=True)
        if self.value() == "no":
            return queryset.filter(owner__isnull=False)
        return queryset


# -- customers -----------------------------------------------------------------------


@admin.register(Tag)
class TagAdmin(BaseAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(Lead)
class LeadAdmin(RecordAdmin):
    list_display = FromRegistry(lambda: columns("lead"))
    list_select_related = FromRegistry(lambda: related("lead"))
    list_filter = (
        "status",
        ("owner__team", OwnerTeamFilter),
        ("created_at", DATE),
        ("converted_at", DATE),
    )
    search_fields = FromRegistry(lambda: searched("lead", "=id"))
    autocomplete_fields = ("owner",)
    readonly_fields = FromRegistry(lambda: read_only("lead", "created_on", "converted_at"))


@admin.register(Customer)
class CustomerAdmin(RecordAdmin):
    list_display = FromRegistry(lambda: columns("customer"))
    list_select_related = FromRegistry(lambda: related("customer"))
    list_filter = (
        "lifecycle_stage",
        "size",
        InPoolFilter,
        ("owner__team", OwnerTeamFilter),
        ("created_at", DATE),
        ("last_followup_at", DATE),
    )
    search_fields = FromRegistry(lambda: searched("customer", "website", "=id"))
    autocomplete_fields = ("owner", "source_lead", "tags")
    readonly_fields = FromRegistry(lambda: read_only("customer"))


@admin.register(Contact)
class ContactAdmin(RecordAdmin):
    list_display = FromRegistry(lambda: columns("contact", first=("name",)))
    list_select_related = FromRegistry(lambda: related("contact", first=("name",)))
    list_filter = ("is_primary", ("owner__team", OwnerTeamFilter), ("created_at", DATE))
    search_fields = FromRegistry(lambda: searched("contact", "wechat", "customer__name", "=id"))
    autocomplete_fields = ("customer", "owner")


@admin.register(PoolRule)
class PoolRuleAdmin(ReadOnlyAdminMixin, BaseAdmin):
    list_display = (
        "name",
        "team",
        "reclaim_after_days_without_followup",
        "reclaim_after_days_without_won_deal",
        "max_customers_per_rep",
        "active",
    )
    list_select_related = ("team",)
    list_filter = ("active",)
    search_fields = ("name", "team__name")
    autocomplete_fields = ("team",)


@admin.register(PoolEvent)
class PoolEventAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("at", "kind", "customer", "user", "reason")
    list_select_related = ("customer", "user")
    list_filter = ("kind", ("at", DATE))
    search_fields = ("customer__name", "user__username", "user__display_name", "reason")


# -- products ------------------------------------------------------------------------


@admin.register(Product)
class ProductAdmin(RecordAdmin):
    list_display = FromRegistry(lambda: columns("product"))
    list_select_related = FromRegistry(lambda: related("product"))
    list_filter = ("active", "currency", "category")
    search_fields = FromRegistry(lambda: searched("product"))
    ordering = ("name",)


class PriceListItemInline(TabularInline):
    model = PriceListItem
    autocomplete_fields = ("product",)


@admin.register(PriceList)
class PriceListAdmin(BaseAdmin):
    list_display = ("name", "currency", "valid_from", "valid_until", "active")
    list_select_related = ("currency",)
    list_filter = ("active", "currency")
    search_fields = ("name",)
    inlines = (PriceListItemInline,)


@admin.register(PriceListItem)
class PriceListItemAdmin(BaseAdmin):
    list_display = ("product", "price_list", "price")
    list_select_related = ("product", "price_list")
    list_filter = ("price_list",)
    search_fields = ("product__name", "product__sku", "price_list__name")
    autocomplete_fields = ("product", "price_list")


# -- deals ---------------------------------------------------------------------------


class DealLineInline(TabularInline):
    model = DealLine
    autocomplete_fields = ("product",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("product")


class StageHistoryInline(ReadOnlyTabularInline):
    model = StageHistory
    fields = ("stage", "entered_at", "left_at", "entered_by")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("stage__pipeline", "entered_by")


@admin.register(Deal)
class DealAdmin(RecordAdmin):
    list_display = FromRegistry(lambda: columns("deal"))
    # (a stage is shown as "pipeline: stage")
    list_select_related = FromRegistry(lambda: (*related("deal"), "stage__pipeline"))
    list_filter = (
        "status",
        "pipeline",
        ("stage", StageFilter),
        "currency",
        "forecast_category",
        ("owner__team", OwnerTeamFilter),
        ("expected_close", DATE),
        ("closed_on", DATE),
        ("created_at", DATE),
    )
    search_fields = FromRegistry(lambda: searched("deal", "=id"))
    autocomplete_fields = ("customer", "contact", "owner", "source_lead", "collaborators")
    # (stage_entered_at is kept by the stage moves; the registry leaves it out)
    readonly_fields = FromRegistry(
        lambda: read_only("deal", "closed_on", "created_on", "stage_entered_at")
    )
    inlines = (DealLineInline, StageHistoryInline)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "stage":
            kwargs["queryset"] = Stage.objects.select_related("pipeline")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(DealLine)
class DealLineAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("deal", "product", "quantity", "unit_price", "discount_pct")
    list_select_related = ("deal", "product")
    search_fields = ("deal__name", "product__name", "product__sku", "=deal__id")
    autocomplete_fields = ("deal", "product")


@admin.register(StageHistory)
class StageHistoryAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("deal", "stage", "entered_at", "left_at", "entered_by")
    list_select_related = ("deal", "stage__pipeline", "entered_by")
    list_filter = (("stage", StageFilter), ("entered_at", DATE))
    search_fields = ("deal__name", "=deal__id")


# -- quotes, contracts, payments -------------------------------------------------------


class QuoteLineInline(TabularInline):
    model = QuoteLine
    autocomplete_fields = ("product",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("product")


@admin.register(Quote)
class QuoteAdmin(RecordAdmin):
    list_display = FromRegistry(lambda: columns("quote"))
    list_select_related = FromRegistry(lambda: related("quote"))
    list_filter = (
        "status",
        "currency",
        ("owner__team", OwnerTeamFilter),
        ("valid_until", DATE),
        ("created_at", DATE),
    )
    search_fields = FromRegistry(lambda: searched("quote", "deal__name"))
    autocomplete_fields = ("customer", "deal", "owner")
    inlines = (QuoteLineInline,)


@admin.register(QuoteLine)
class QuoteLineAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("quote", "product", "description", "quantity", "unit_price", "discount_pct")
    list_select_related = ("quote", "product")
    search_fields = ("quote__number", "description", "product__name", "product__sku")
    autocomplete_fields = ("quote", "product")


class PaymentPlanInline(TabularInline):
    """Instalments still alive; removing one is a soft delete from its own page."""

    model = PaymentPlan
    fields = ("due_on", "amount", "note", "owner")
    autocomplete_fields = ("owner",)
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("owner")


@admin.register(Contract)
class ContractAdmin(RecordAdmin):
    list_display = FromRegistry(lambda: columns("contract"))
    list_select_related = FromRegistry(lambda: related("contract"))
    list_filter = (
        "status",
        "currency",
        ("owner__team", OwnerTeamFilter),
        ("signed_on", DATE),
        ("ends_on", DATE),
    )
    search_fields = FromRegistry(lambda: searched("contract"))
    autocomplete_fields = ("customer", "deal", "owner")
    inlines = (PaymentPlanInline,)


@admin.register(PaymentPlan)
class PaymentPlanAdmin(RecordAdmin):
    list_display = FromRegistry(lambda: columns("payment_plan"))
    list_select_related = FromRegistry(lambda: related("payment_plan"))
    list_filter = (("owner__team", OwnerTeamFilter), ("due_on", DATE))
    search_fields = FromRegistry(
        lambda: searched("payment_plan", "contract__title", "contract__customer__name")
    )
    autocomplete_fields = ("contract", "owner")


@admin.register(Payment)
class PaymentAdmin(RecordAdmin):
    list_display = FromRegistry(lambda: columns("payment", first=("contract",)))
    list_select_related = FromRegistry(lambda: related("payment", first=("contract",)))
    list_filter = (
        "method",
        "currency",
        ("owner__team", OwnerTeamFilter),
        ("received_on", DATE),
    )
    search_fields = FromRegistry(lambda: searched("payment", "contract__customer__name"))
    autocomplete_fields = ("contract", "plan", "owner")
