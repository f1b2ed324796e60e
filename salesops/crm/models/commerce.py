"""Products and price lists, quotes (报价), contracts (合同) and payments (回款)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salesops.lib.models import AliveManager, OwnedModel, ScopedQuerySet, SoftDeleteModel


class Product(SoftDeleteModel):
    object_type: ClassVar[str] = "product"
    #: Products are shared by the whole organisation: only the role's right applies.
    owner_field: ClassVar[str | None] = None

    name = models.CharField(_("name"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=60, blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    price = models.DecimalField(_("list price"), max_digits=18, decimal_places=2)
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    objects: ClassVar[Any] = AliveManager.from_queryset(ScopedQuerySet)()
    all_objects: ClassVar[Any] = models.Manager.from_queryset(ScopedQuerySet)()

    class Meta:
        ordering = ["name"]
        base_manager_name = "all_objects"
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_nonneg"),
            models.UniqueConstraint(
                fields=["sku"],
                condition=~Q(sku="") & Q(deleted_at__isnull=True),
                name="product_sku_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PriceList(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+"
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="price_list_dates_order",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    price_list = models.ForeignKey(
        PriceList, verbose_name=_("price list"), on_delete=models.CASCADE, related_name="items"
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        related_name="price_list_items",
    )
    price = models.DecimalField(_("price"), max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("price list item")
        verbose_name_plural = _("price list items")
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product"], name="price_list_item_unique"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="price_list_item_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.product}: {self.price}"


class Quote(OwnedModel):
    object_type: ClassVar[str] = "quote"

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    number = models.CharField(_("number"), max_length=40, unique=True)
    deal = models.ForeignKey(
        "crm.Deal",
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quotes",
    )
    customer = models.ForeignKey(
        "crm.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="quotes"
    )
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    discount_pct = models.DecimalField(
        _("overall discount (%)"), max_digits=5, decimal_places=2, default=Decimal(0)
    )
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        # The list's sorts (decision 0011).
        indexes = [
            models.Index(
                fields=["valid_until", "id"],
                name="quote_valid_until_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["created_at", "id"],
                name="quote_created_id",
                condition=Q(deleted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_pct__gte=0, discount_pct__lte=100), name="quote_discount_range"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def totals(self) -> dict[str, Decimal]:
        """Subtotal of lines (after line discounts), overall discount, and total."""
        subtotal = sum((line.total for line in self.lines.all()), Decimal(0))
        discount = (subtotal * self.discount_pct / 100).quantize(Decimal("0.01"))
        return {"subtotal": subtotal, "discount": discount, "total": subtotal - discount}


class QuoteLine(models.Model):
    quote = models.ForeignKey(
        Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=2, default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=2)
    discount_pct = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=Decimal(0)
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["quote", "order", "id"]
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quote_line_qty_pos"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quote_line_price_nonneg"),
            models.CheckConstraint(
                condition=Q(discount_pct__gte=0, discount_pct__lte=100),
                name="quote_line_discount_range",
            ),
        ]

    def __str__(self) -> str:
        return self.description or str(self.product)

    @property
    def total(self) -> Decimal:
        return (self.quantity * self.unit_price * (100 - self.discount_pct) / 100).quantize(
            Decimal("0.01")
        )


class Contract(OwnedModel):
    object_type: ClassVar[str] = "contract"

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        TERMINATED = "terminated", _("Terminated")

    number = models.CharField(_("number"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    deal = models.ForeignKey(
        "crm.Deal",
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        # The list's sorts (decision 0011).
        indexes = [
            models.Index(
                fields=["amount", "id"],
                name="contract_amount_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["signed_on", "id"],
                name="contract_signed_id",
                condition=Q(deleted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="contract_amount_nonneg"),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="contract_dates_order",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class PaymentPlan(OwnedModel):
    """One instalment expected on a contract (回款计划)."""

    object_type: ClassVar[str] = "payment"

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, related_name="payment_plans"
    )
    due_on = models.DateField(_("due on"))
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["due_on"]
        verbose_name = _("payment plan")
        verbose_name_plural = _("payment plans")
        indexes = [
            models.Index(
                fields=["due_on"], name="payment_plan_due", condition=Q(deleted_at__isnull=True)
            ),
            # The list sorted by amount (decision 0011).
            models.Index(
                fields=["amount", "id"],
                name="payment_plan_amount_id",
                condition=Q(deleted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_plan_amount_pos"),
        ]

    def __str__(self) -> str:
        # No amount or date: a reference to the plan must not show fields a role hides.
        return f"{self.contract} #{self.pk}"

    @property
    def currency_id(self) -> Any:
        return self.contract.currency_id


class Payment(OwnedModel):
    """Money received (回款), against a contract and optionally one plan instalment."""

    object_type: ClassVar[str] = "payment"

    class Method(models.TextChoices):
        BANK = "bank", _("Bank transfer")
        CARD = "card", _("Card")
        ALIPAY = "alipay", _("Alipay")
        WECHAT = "wechat", _("WeChat Pay")
        CASH = "cash", _("Cash")
        OTHER = "other", _("Other")

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, related_name="payments"
    )
    plan = models.ForeignKey(
        PaymentPlan,
        verbose_name=_("payment plan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+"
    )
    received_on = models.DateField(_("received on"))
    method = models.CharField(
        _("method"), max_length=10, choices=Method.choices, default=Method.BANK
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)

    class Meta:
        ordering = ["-received_on"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(
                fields=["received_on", "owner", "currency", "amount"],
                name="payment_received_kpis",
                condition=Q(deleted_at__isnull=True),
            ),
            # One owner's or a team's collections, covering the KPI (no table visits).
            models.Index(
                fields=["owner", "received_on", "currency", "amount"],
                name="payment_owner_kpis",
                condition=Q(deleted_at__isnull=True),
            ),
            # The list sorted by amount (decision 0011).
            models.Index(
                fields=["amount", "id"],
                name="payment_amount_id",
                condition=Q(deleted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_pos"),
        ]

    def __str__(self) -> str:
        return self.reference or f"{self.contract} #{self.pk}"
