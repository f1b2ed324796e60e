"""Collections models: the settings of the overdue reminders, and the cash forecasts
stored each week so that their accuracy can be shown once the periods have passed."""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class CollectionSettings(models.Model):
    """One row: how collections reminders behave (an administrator edits it)."""

    manager_after_days = models.PositiveIntegerField(
        _("tell the manager after (days overdue)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    remind_owner = models.BooleanField(_("remind the owner"), default=True)

    class Meta:
        verbose_name = _("collections settings")
        verbose_name_plural = _("collections settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(manager_after_days__gte=1, manager_after_days__lte=365),
                name="collection_settings_days_range",
            )
        ]

    def __str__(self) -> str:
        return str(_("Collections settings"))

    @classmethod
    def get(cls) -> CollectionSettings:
        row = cls.objects.order_by("pk").first()
        return row if row is not None else cls()


class ForecastSnapshot(models.Model):
    """What the cash forecast expected, as made on `made_on` (the Monday of a week), for
    one owner's open instalments and one future week or month, in the base currency."""

    class Kind(models.TextChoices):
        WEEK = "week", _("Week")
        MONTH = "month", _("Month")

    made_on = models.DateField(_("made on"))
    owner = models.ForeignKey(
        "users.User",
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices)
    period_start = models.DateField(_("period start"))
    expected = models.DecimalField(_("expected"), max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("cash forecast snapshot")
        verbose_name_plural = _("cash forecast snapshots")
        indexes = [
            models.Index(fields=["kind", "period_start", "made_on"], name="recv_snapshot_period")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["made_on", "owner", "kind", "period_start"], name="recv_snapshot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.made_on} {self.kind} {self.period_start}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "made_on": self.made_on,
            "kind": self.kind,
            "period_start": self.period_start,
            "expected": self.expected,
        }
