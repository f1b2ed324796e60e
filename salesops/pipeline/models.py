"""Pipelines and their ordered stages, each ending in won or lost."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ForecastCategory(models.TextChoices):
    # In context: the category "Pipeline" is not the pipeline (销售流程) deals move along.
    PIPELINE = "pipeline", pgettext_lazy("forecast category", "Pipeline")
    BEST_CASE = "best_case", pgettext_lazy("forecast category", "Best case")
    COMMIT = "commit", pgettext_lazy("forecast category", "Commit")
    CLOSED = "closed", pgettext_lazy("forecast category", "Closed")
    OMITTED = "omitted", pgettext_lazy("forecast category", "Omitted")


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_pipeline"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> Pipeline | None:
        return (
            cls.objects.filter(is_default=True).first() or cls.objects.filter(active=True).first()
        )

    def first_stage(self) -> Stage | None:
        return (
            self.stages.filter(kind=Stage.Kind.OPEN).order_by("order").first()
            or self.stages.order_by("order").first()
        )

    def won_stage(self) -> Stage | None:
        return self.stages.filter(kind=Stage.Kind.WON).first()

    def lost_stage(self) -> Stage | None:
        return self.stages.filter(kind=Stage.Kind.LOST).first()


class Stage(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"))
    probability = models.PositiveSmallIntegerField(_("default probability (%)"), default=0)
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=20,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OPEN)
    #: Keys of the deal fields (built-in or custom, `requirements.requirable_fields`)
    #: that must be filled before a deal may enter this stage.
    required_fields = models.JSONField(
        _("fields required to enter"),
        default=list,
        blank=True,
        help_text=_("A deal may enter this stage only when these fields are filled in."),
    )

    class Meta:
        ordering = ["pipeline", "order"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "order"], name="stage_order_unique"),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100),
                name="stage_probability_range",
            ),
            models.UniqueConstraint(
                fields=["pipeline", "kind"],
                condition=~Q(kind="open"),
                name="one_won_one_lost_stage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline}: {self.name}"

    def clean(self) -> None:
        from salesops.pipeline.requirements import check_keys

        super().clean()
        self.required_fields = check_keys(self.required_fields)

    @property
    def is_closed(self) -> bool:
        return self.kind != self.Kind.OPEN

    def later_than(self, other: Any) -> bool:
        return bool(self.order > other.order)
