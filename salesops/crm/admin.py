"""Admin of leads, customers, contacts, deals, products, quotes, contracts and payments.

Administrators only, and it bypasses `visible_to` by design (see `salesops.org.admin`).
Built for a million deals: foreign keys to big tables are autocompletes, lists fetch
their related rows in the same query, skip the full count and order by primary key.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

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
class LeadAdmin(SoftDeleteAdmin):
    list_display = ("name", "company", "phone", "email", "status", "source", "owner", "created_on")
    list_select_related = ("owner",)
    list_filter = (
        "status",
        ("owner__team", OwnerTeamFilter),
        ("created_at", DATE),
        ("converted_at", DATE),
    )
    search_fields = ("name", "company", "phone", "email", "=id")
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_on", "converted_at", "converted_customer", "converted_contact")


@admin.register(Customer)
class CustomerAdmin(SoftDeleteAdmin):
    list_display = (
        "name",
        "owner",
        "lifecycle_stage",
        "industry",
        "region",
        "phone",
        "email",
        "last_followup_at",
    )
    list_select_related = ("owner",)
    list_filter = (
        "lifecycle_stage",
        "size",
        InPoolFilter,
        ("owner__team", OwnerTeamFilter),
        ("created_at", DATE),
        ("last_followup_at", DATE),
    )
    search_fields = ("name", "phone", "email", "website", "=id")
    autocomplete_fields = ("owner", "source_lead", "tags")


@admin.register(Contact)
class ContactAdmin(SoftDeleteAdmin):
    list_display = ("name", "customer", "title", "phone", "mobile", "email", "owner", "is_primary")
    list_select_related = ("customer", "owner")
    list_filter = ("is_primary", ("owner__team", OwnerTeamFilter), ("created_at", DATE))
    search_fields = ("name", "phone", "mobile", "email", "wechat", "customer__name", "=id")
    autocomplete_fields = ("customer", "owner")


@admin.register(PoolRule)
class PoolRuleAdmin(BaseAdmin):
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
class ProductAdmin(SoftDeleteAdmin):
    list_display = ("name", "sku", "category", "unit", "price", "currency", "active")
    list_select_related = ("currency",)
    list_filter = ("active", "currency", "category")
    search_fields = ("name", "sku", "category")
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
class DealAdmin(SoftDeleteAdmin):
    list_display = (
        "name",
        "customer",
        "owner",
        "stage",
        "status",
        "amount",
        "currency",
        "expected_close",
        "closed_on",
    )
    list_select_related = ("customer", "owner", "stage__pipeline", "currency")
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
    search_fields = ("name", "customer__name", "=id")
    autocomplete_fields = ("customer", "contact", "owner", "source_lead", "collaborators")
    readonly_fields = ("status", "closed_on", "created_on", "stage_entered_at")
    inlines = (DealLineInline, StageHistoryInline)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "stage":
            kwargs["queryset"] = Stage.objects.select_related("pipeline")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(DealLine)
class DealLineAdmin(BigTableAdmin):
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
class QuoteAdmin(SoftDeleteAdmin):
    list_display = ("number", "customer", "deal", "owner", "status", "currency", "valid_until")
    list_select_related = ("customer", "deal", "owner", "currency")
    list_filter = (
        "status",
        "currency",
        ("owner__team", OwnerTeamFilter),
        ("valid_until", DATE),
        ("created_at", DATE),
    )
    search_fields = ("number", "customer__name", "deal__name")
    autocomplete_fields = ("customer", "deal", "owner")
    inlines = (QuoteLineInline,)


@admin.register(QuoteLine)
class QuoteLineAdmin(BigTableAdmin):
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
class ContractAdmin(SoftDeleteAdmin):
    list_display = (
        "number",
        "title",
        "customer",
        "owner",
        "amount",
        "currency",
        "status",
        "signed_on",
    )
    list_select_related = ("customer", "owner", "currency")
    list_filter = (
        "status",
        "currency",
        ("owner__team", OwnerTeamFilter),
        ("signed_on", DATE),
        ("ends_on", DATE),
    )
    search_fields = ("number", "title", "customer__name")
    autocomplete_fields = ("customer", "deal", "owner")
    inlines = (PaymentPlanInline,)


@admin.register(PaymentPlan)
class PaymentPlanAdmin(SoftDeleteAdmin):
    list_display = ("contract", "due_on", "amount", "owner", "note")
    list_select_related = ("contract", "owner")
    list_filter = (("owner__team", OwnerTeamFilter), ("due_on", DATE))
    search_fields = ("contract__number", "contract__title", "contract__customer__name", "note")
    autocomplete_fields = ("contract", "owner")


@admin.register(Payment)
class PaymentAdmin(SoftDeleteAdmin):
    list_display = ("contract", "received_on", "amount", "currency", "method", "reference", "owner")
    list_select_related = ("contract", "owner", "currency")
    list_filter = (
        "method",
        "currency",
        ("owner__team", OwnerTeamFilter),
        ("received_on", DATE),
    )
    search_fields = ("reference", "contract__number", "contract__customer__name")
    autocomplete_fields = ("contract", "plan", "owner")
