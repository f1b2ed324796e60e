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
