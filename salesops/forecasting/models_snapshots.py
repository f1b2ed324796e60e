"""Pipeline snapshots (管道快照): every open deal, weekly and at each month end.

A snapshot is one `PipelineSnapshot` row (the business day it stands for, unique) and
one compact `SnapshotRow` per open deal, written by a single INSERT … SELECT
(`forecasting.snapshots.take_snapshot`). A row keeps only what the as-of pipeline, the
waterfall and the trend read: the deal, its owner and the owner's team (the data scope
is applied to the owner recorded then), the stage, the forecast category as one
letter, the expected close date and the amount in the base currency at that day's rate.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesops.pipeline.models import ForecastCategory

__all__ = [
    "CATEGORY_CODES",
    "CATEGORY_OF_CODE",
    "PipelineSnapshot",
    "SnapshotRow",
    "SnapshotSettings",
]

#: Forecast categories as one letter in snapshot rows (and back).
CATEGORY_CODES: dict[str, str] = {
    ForecastCategory.PIPELINE: "P",
    ForecastCategory.BEST_CASE: "B",
    ForecastCategory.COMMIT: "C",
    ForecastCategory.CLOSED: "W",
    ForecastCategory.OMITTED: "O",
}
CATEGORY_OF_CODE: dict[str, str] = {v: k for k, v in CATEGORY_CODES.items()}


class PipelineSnapshot(models.Model):
    """One snapshot of the open pipeline, standing for the end of business day `taken_on`."""

    taken_on = models.DateField(_("snapshot day"), unique=True)
    taken_at = models.DateTimeField(_("taken at"))
    weekly = models.BooleanField(_("weekly"), default=False)
    month_end = models.BooleanField(_("month end"), default=False)
    quarter_end = models.BooleanField(_("fiscal quarter end"), default=False)
    base_currency = models.CharField(_("base currency"), max_length=3)
    deals = models.PositiveIntegerField(_("number of open deals"), default=0)

    class Meta:
        ordering = ["-taken_on"]
        verbose_name = _("pipeline snapshot")
        verbose_name_plural = _("pipeline snapshots")

    def __str__(self) -> str:
        return self.taken_on.isoformat()


class SnapshotRow(models.Model):
    """One open deal in one snapshot. The deal and owner columns are plain ids in the
    database (no foreign-key constraint): a deal purged from the recycle bin, or a
    person removed, leaves history as it was."""

    pk = models.CompositePrimaryKey("snapshot_id", "deal_id")
    # The primary key (snapshot, deal) is the index of a snapshot's rows: no other.
    snapshot = models.ForeignKey(
        PipelineSnapshot, on_delete=models.CASCADE, related_name="rows", db_index=False
    )
    deal = models.ForeignKey(
        "crm.Deal",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    owner = models.ForeignKey(
        "users.User",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        related_name="+",
    )
    team_id = models.IntegerField(null=True)
    stage_id = models.IntegerField()
    category = models.CharField(max_length=1)
    expected_close = models.DateField(null=True)
    amount_base = models.DecimalField(max_digits=18, decimal_places=2)

    objects: ClassVar[Any] = models.Manager()

    class Meta:
        verbose_name = _("snapshot row")
        verbose_name_plural = _("snapshot rows")

    def __str__(self) -> str:
        return f"{self.snapshot_id}:{self.deal_id}"


class SnapshotSettings(models.Model):
    """When the weekly snapshot is taken (organisation's time zone). A singleton (pk 1);
    month ends are snapshotted at the same hour whatever the weekday."""

    weekday = models.PositiveSmallIntegerField(
        _("weekday"),
        default=4,
        validators=[MinValueValidator(0), MaxValueValidator(6)],
        help_text=_("0 is Monday, 6 is Sunday."),
    )
    hour = models.PositiveSmallIntegerField(
        _("hour"),
        default=22,
        validators=[MinValueValidator(0), MaxValueValidator(23)],
        help_text=_("The hour of the day (0–23) in the organisation's time zone."),
    )

    class Meta:
        verbose_name = _("snapshot settings")
        verbose_name_plural = _("snapshot settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__lte=6, hour__lte=23), name="snapshot_settings_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.hour:02d}:00"

    @classmethod
    def get(cls) -> SnapshotSettings:
        row = cls.objects.filter(pk=1).first()
        return row if row is not None else cls(pk=1)
