"""Deals (商机), their product lines and their stage history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salesops.lib.models import AliveManager, OwnedModel, ScopedQuerySet
from salesops.pipeline.models import ForecastCategory


class DealQuerySet(ScopedQuerySet):
    def open(self) -> Self:
        return self.filter(status=Deal.Status.OPEN)

    def won(self) -> Self:
        return self.filter(status=Deal.Status.WON)

    def lost(self) -> Self:
        return self.filter(status=Deal.Status.LOST)

    def closed_between(self, start: Any, end: Any) -> Self:
        """Deals closed (won or lost) with `closed_on` in [start, end)."""
        return self.filter(closed_on__gte=start, closed_on__lt=end)

    def closing_between(self, start: Any, end: Any) -> Self:
        """Deals expected to close in [start, end)."""
        return self.filter(expected_close__gte=start, expected_close__lt=end)


class Deal(OwnedModel):
    object_type: ClassVar[str] = "deal"

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        "crm.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="deals"
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    pipeline = models.ForeignKey(
        "pipeline.Pipeline",
        verbose_name=_("pipeline"),
        on_delete=models.PROTECT,
        related_name="deals",
    )
    stage = models.ForeignKey(
        "pipeline.Stage", verbose_name=_("stage"), on_delete=models.PROTECT, related_name="deals"
    )
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, default=Decimal(0))
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+"
    )
    price_list = models.ForeignKey(
        "crm.PriceList",
        verbose_name=_("price list"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Product lines take their unit price from it; else the customer's."),
    )
    expected_close = models.DateField(_("expected close date"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN, editable=False
    )
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Leave empty to use the stage's default probability."),
    )
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=20,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    #: Set when the owner chose the category (`override_forecast_category`): moves
    #: between open stages keep it; closing the deal clears it.
    forecast_category_overridden = models.BooleanField(
        _("forecast category chosen by the owner"), default=False, editable=False
    )
    lost_reason = models.CharField(_("lost reason"), max_length=100, blank=True)
    lost_note = models.TextField(_("lost note"), blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    created_on = models.DateField(_("created on"), editable=False, null=True)
    stage_entered_at = models.DateTimeField(_("in this stage since"), null=True, editable=False)
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("collaborators"), blank=True, related_name="+"
    )
    source_lead = models.ForeignKey(
        "crm.Lead",
        verbose_name=_("from lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects: ClassVar[Any] = AliveManager.from_queryset(DealQuerySet)()
    all_objects: ClassVar[Any] = models.Manager.from_queryset(DealQuerySet)()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        base_manager_name = "all_objects"
        indexes = [
            # Covers the KPI queries on closed deals (bookings, cycle, customers), so
            # they read the index alone.
            models.Index(
                fields=[
                    "status",
                    "closed_on",
                    "id",  # also the deal list filtered by status, sorted by close date
                    "owner",
                    "currency",
                    "amount",
                    "created_on",
                    "customer",
                ],
                name="deal_closed_kpis",
                condition=Q(deleted_at__isnull=True),
            ),
            # One owner's (or a team's) closed deals for the KPIs, covering what they
            # read (customers for active/new customers, cycle, money): no table visits.
            models.Index(
                fields=[
                    "owner",
                    "status",
                    "closed_on",
                    "customer",
                    "created_on",
                    "currency",
                    "amount",
                ],
                name="deal_owner_closed_kpis",
                condition=Q(deleted_at__isnull=True),
            ),
            # Open deals by expected close (pipeline KPIs and charts), covering them.
            models.Index(
                fields=[
                    "status",
                    "expected_close",
                    "id",  # also the deal list filtered by status, sorted by expected close
                    "owner",
                    "pipeline",
                    "stage",
                    "currency",
                    "amount",
                    "probability",
                ],
                name="deal_open_pipeline",
                condition=Q(deleted_at__isnull=True),
            ),
            # A board column's cards, newest first (the id keeps the index order).
            models.Index(
                fields=["stage", "status", "id"],
                name="deal_stage_status_id",
                condition=Q(deleted_at__isnull=True),
            ),
            # The board's per-stage count and amount, read from the index alone.
            models.Index(
                fields=["pipeline", "status", "closed_on", "stage", "currency", "amount", "owner"],
                name="deal_board",
                condition=Q(deleted_at__isnull=True),
            ),
            # One person's deals newest first (lists, search).
            models.Index(
                fields=["owner", "id"], name="deal_owner_id", condition=Q(deleted_at__isnull=True)
            ),
            # The deal list sorted by amount or name, for those who see everyone's deals.
            models.Index(
                fields=["amount", "id"], name="deal_amount_id", condition=Q(deleted_at__isnull=True)
            ),
            models.Index(
                fields=["name", "id"], name="deal_name_id", condition=Q(deleted_at__isnull=True)
            ),
            # ... and by name for one person: PostgreSQL walked `deal_name_id` through a
            # hundred thousand others' deals to fill a rep's page.
            models.Index(
                fields=["owner", "name", "id"],
                name="deal_owner_name_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["customer", "status", "closed_on"],
                name="deal_customer",
                condition=Q(deleted_at__isnull=True),
            ),
            # The deal list sorted by a date (keyset: the date, then the id). With a
            # status filter the status-led indexes above serve instead: walking these
            # for open deals would pass every closed deal first.
            models.Index(
                fields=["created_on", "id"],
                name="deal_created_on_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["status", "created_on", "id"],
                name="deal_status_created_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["expected_close", "id"],
                name="deal_expected_close_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["closed_on", "id"],
                name="deal_closed_on_id",
                condition=Q(deleted_at__isnull=True),
            ),
            # The forecast by category: open deals expected to close in a period, per
            # owner, read from the index alone.
            models.Index(
                fields=[
                    "status",
                    "expected_close",
                    "forecast_category",
                    "owner",
                    "currency",
                    "amount",
                ],
                name="deal_open_forecast",
                condition=Q(deleted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="deal_amount_nonneg"),
            models.CheckConstraint(
                condition=Q(probability__isnull=True) | Q(probability__gte=0, probability__lte=100),
                name="deal_probability_range",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="open", closed_on__isnull=True)
                    | Q(status__in=["won", "lost"], closed_on__isnull=False)
                ),
                name="deal_closed_on_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def extra_visibility(cls, user: Any, prefix: str = "") -> Q | None:
        """Collaborators on a deal see it too."""
        # The ids are read first (a person collaborates on few deals): OR-ed with the
        # owner rule, a list keeps the owner indexes usable, where a subquery made
        # PostgreSQL scan an organisation-wide index.
        ids = getattr(user, "_collaborator_deal_ids", None)
        if ids is None:
            through = cls.collaborators.through
            ids = list(through.objects.filter(user_id=user.pk).values_list("deal_id", flat=True))
            user._collaborator_deal_ids = ids  # one request, one user object
        return Q(**{f"{prefix}pk__in": ids}) if ids else None

    def override_forecast_category(self, category: str) -> str:
        """The owner's choice of forecast category for this open deal; the category it
        had before. Choosing the stage's own default ends the override. Not saved."""
        before = self.forecast_category
        self.forecast_category = category
        self.forecast_category_overridden = category != self.stage.forecast_category
        return before

    @property
    def effective_probability(self) -> int:
        return self.probability if self.probability is not None else self.stage.probability


class DealLine(models.Model):
    deal = models.ForeignKey(
        Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        "crm.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=2, default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=2)
    discount_pct = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=Decimal(0)
    )

    class Meta:
        verbose_name = _("deal line")
        verbose_name_plural = _("deal lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="deal_line_qty_pos"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="deal_line_price_nonneg"),
            models.CheckConstraint(
                condition=Q(discount_pct__gte=0, discount_pct__lte=100),
                name="deal_line_discount_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"

    @property
    def total(self) -> Decimal:
        return (self.quantity * self.unit_price * (100 - self.discount_pct) / 100).quantize(
            Decimal("0.01")
        )


class StageHistory(models.Model):
    """One stay of a deal in a stage: entered, left (null while it is still there), by whom."""

    # Both foreign keys are the first column of an index below: no index of their own.
    deal = models.ForeignKey(
        Deal,
        verbose_name=_("deal"),
        on_delete=models.CASCADE,
        related_name="stage_history",
        db_index=False,
    )
    stage = models.ForeignKey(
        "pipeline.Stage",
        verbose_name=_("stage"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    entered_at = models.DateTimeField(_("entered at"))
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    #: Whether the deal later reached a later stage (not the lost one) or won: set by
    #: `move_deal_stage` when that happens, read by the stage-conversion KPI.
    advanced = models.BooleanField(_("advanced later"), default=False, db_default=False)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["deal", "entered_at", "id"]
        verbose_name = _("stage history")
        verbose_name_plural = _("stage history")
        indexes = [
            models.Index(fields=["deal", "entered_at"], name="stage_history_deal"),
            models.Index(
                fields=["stage", "entered_at", "deal", "advanced"], name="stage_history_conversion"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["deal"],
                condition=Q(left_at__isnull=True),
                name="one_current_stage_per_deal",
            ),
            models.CheckConstraint(
                condition=Q(left_at__isnull=True) | Q(left_at__gte=models.F("entered_at")),
                name="stage_history_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id} → {self.stage_id} @ {self.entered_at}"
