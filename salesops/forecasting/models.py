"""Forecasting models: forecast submissions (each submit a new row), their deadlines,
and the history of owners' forecast-category choices on deals.

(Pipeline snapshots and statistical forecasts keep their models in `models_snapshots`
and `models_stats`.)"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.pipeline.models import ForecastCategory


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Fiscal quarter")


class Submission(models.Model):
    """One person's forecast for one period, as submitted at one moment. Never updated:
    a new submit is a new row, the latest is current.

    `kind` own: the person's own number (`by` is the person). override: a manager's
    adjustment of a subordinate's number (`by` is the manager, `note` says why, and
    `original` is the person's own submission it stood beside, if any)."""

    object_type: ClassVar[str] = "forecast_submission"

    class Kind(models.TextChoices):
        OWN = "own", _("Own number")
        OVERRIDE = "override", _("Manager's override")

    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("whose forecast"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OWN)
    commit = models.DecimalField(_("commit amount"), max_digits=18, decimal_places=2)
    best_case = models.DecimalField(_("best case amount"), max_digits=18, decimal_places=2)
    #: The currency of the numbers: the organisation's base currency when submitted.
    currency = models.CharField(_("currency"), max_length=3)
    note = models.TextField(_("note"), blank=True)
    original = models.ForeignKey(
        "self",
        verbose_name=_("original submission"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("forecast submission")
        verbose_name_plural = _("forecast submissions")
        indexes = [
            # The current number of each person for a period: the latest row per person.
            models.Index(
                fields=["period_kind", "period_start", "person", "kind", "submitted_at"],
                name="forecast_submission_current",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(commit__gte=0) & Q(best_case__gte=models.F("commit")),
                name="forecast_submission_numbers",
            ),
            models.CheckConstraint(
                condition=Q(kind="override") | Q(original__isnull=True),
                name="forecast_submission_original_only_on_override",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.period_kind} {self.period_start:%Y-%m} ({self.kind})"


class Deadline(models.Model):
    """After `locks_at`, submissions for the period are refused."""

    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    locks_at = models.DateTimeField(_("submissions close at"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    set_at = models.DateTimeField(_("set at"), default=timezone.now)

    class Meta:
        verbose_name = _("forecast deadline")
        verbose_name_plural = _("forecast deadlines")
        constraints = [
            models.UniqueConstraint(
                fields=["period_kind", "period_start"], name="forecast_deadline_one_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.period_kind} {self.period_start:%Y-%m}: {self.locks_at:%Y-%m-%d %H:%M}"


class CategoryChange(models.Model):
    """An owner's choice of a deal's forecast category: who, when, from → to."""

    deal = models.ForeignKey(
        "crm.Deal",
        verbose_name=_("deal"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    from_category = models.CharField(
        _("from category"), max_length=20, choices=ForecastCategory.choices
    )
    to_category = models.CharField(
        _("to category"), max_length=20, choices=ForecastCategory.choices
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("forecast category change")
        verbose_name_plural = _("forecast category changes")
        indexes = [models.Index(fields=["deal", "at"], name="forecast_category_change_deal")]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_category} → {self.to_category}"


from salesops.forecasting.models_snapshots import *  # noqa: E402, F403
from salesops.forecasting.models_stats import *  # noqa: E402, F403
