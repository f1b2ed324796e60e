"""The statistical forecast as it stood on a day: recorded at the start of each period and
each week of it, so its accuracy can be measured when the period closes."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StatForecast(models.Model):
    """The pipeline-based forecast of [period_start, period_end) made on `made_on`, for
    the organisation, one team (with sub-teams) or one rep (the `subject`), in the base
    currency of that day."""

    class Scope(models.TextChoices):
        ORG = "org", _("organisation")
        TEAM = "team", _("team")
        OWNER = "owner", _("sales rep")

    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    made_on = models.DateField(_("made on"))
    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices)
    #: "org", "team:<id>" or "owner:<id>": one row per subject, period and day.
    subject = models.CharField(_("subject"), max_length=40)
    team = models.ForeignKey(
        "users.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )  # fmt: skip
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), null=True, blank=True,
        on_delete=models.CASCADE, related_name="+",
    )  # fmt: skip
    currency = models.CharField(_("currency"), max_length=3)
    booked = models.DecimalField(_("booked so far"), max_digits=18, decimal_places=2)
    expected = models.DecimalField(_("expected"), max_digits=18, decimal_places=2)
    low = models.DecimalField(_("low (10%)"), max_digits=18, decimal_places=2)
    high = models.DecimalField(_("high (90%)"), max_digits=18, decimal_places=2)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("statistical forecast")
        verbose_name_plural = _("statistical forecasts")
        constraints = [
            models.UniqueConstraint(
                fields=["period_start", "period_end", "subject", "made_on"],
                name="stat_forecast_once_a_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.period_start}..{self.period_end} @ {self.made_on}"

    @staticmethod
    def subject_of(*, team_id: int | None = None, owner_id: int | None = None) -> str:
        if owner_id is not None:
            return f"owner:{owner_id}"
        if team_id is not None:
            return f"team:{team_id}"
        return "org"

    @property
    def value(self) -> Decimal:
        return self.expected


class HistoryCohort(models.Model):
    """The organisation's stage history grouped as the pipeline-based forecast reads it
    (`statistical.history_rows`), stored by the daily job so that the page reads a few
    thousand rows instead of aggregating millions: stays in an open stage by stage, age
    bucket of the stay, the deal's status and days to its close (or to `computed_on`)."""

    computed_on = models.DateField(_("computed on"))
    stage_id = models.IntegerField(_("stage"))  # no foreign key: a derived roll-up
    bucket = models.PositiveSmallIntegerField(_("age bucket"))
    status = models.CharField(_("status"), max_length=10)
    days = models.IntegerField(_("days"))
    count = models.PositiveIntegerField(_("count"))

    class Meta:
        verbose_name = _("stage history cohort")
        verbose_name_plural = _("stage history cohorts")
        indexes = [models.Index(fields=["computed_on"], name="history_cohort_day")]

    def __str__(self) -> str:
        return f"{self.stage_id}/{self.bucket} {self.status} {self.days}d ×{self.count}"


class SeriesFit(models.Model):
    """A fitted time-series forecast, by the series it was fitted on (a hash of its
    values and horizon): fitting takes up to seconds, and every process and viewer with
    the same series reads the same fit. Rows unused for 40 days are purged daily."""

    key = models.CharField(_("series key"), max_length=64, unique=True)
    method = models.CharField(_("method"), max_length=40)
    values = models.JSONField(_("forecast values"))
    error = models.FloatField(_("backtest error"), null=True, blank=True)
    cv = models.JSONField(_("backtest errors by method"))
    used_on = models.DateField(_("last used on"))

    class Meta:
        verbose_name = _("time-series fit")
        verbose_name_plural = _("time-series fits")

    def __str__(self) -> str:
        return f"{self.method} {self.key[:8]}"
