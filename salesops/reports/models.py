"""Saved reports: a definition (object, filters, group-bys, measures, chart), its owner
and the team it is shared with.

A saved report holds no data: whoever runs it sees only the records their own data
scope allows (`services.run_report`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.users.admin_services import is_admin
from salesops.users.models import OBJECT_TYPES, Team


class SavedReportQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> SavedReportQuerySet:
        """Reports `user` may open: their own, those shared with one of their teams or
        a team above one of them (a report shared with East reaches East-1 too), and
        every report for an administrator."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if is_admin(user):
            return self
        team_ids = user.team_ids()
        above: set[int] = set()
        for path in Team.objects.filter(id__in=team_ids).values_list("path", flat=True):
            above.update(int(part) for part in path.split(".") if part)
        return self.filter(Q(owner_id=user.pk) | Q(team_id__in=above))


class SavedReport(models.Model):
    class Chart(models.TextChoices):
        TABLE = "table", _("Table")
        BAR = "bar", _("Bar chart")
        LINE = "line", _("Line chart")
        PIE = "pie", _("Pie chart")

    name = models.CharField(_("name"), max_length=200)
    description = models.CharField(_("description"), max_length=500, blank=True)
    object_type = models.CharField(_("object"), max_length=20, choices=OBJECT_TYPES)
    #: {"filters": [{"field", "op", "value"}], "group_by": [{"field", "bucket"}],
    #:  "measures": [{"agg", "field"}], "chart": "table"}; checked by `query.parse`.
    definition = models.JSONField(_("definition"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="reports",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("shared with team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
        help_text=_("Members of this team and of its sub-teams can open the report."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects: ClassVar[Any] = SavedReportQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved report")
        verbose_name_plural = _("saved reports")
        indexes = [models.Index(fields=["team"], name="report_team")]

    def __str__(self) -> str:
        return self.name

    @property
    def chart(self) -> str:
        return str((self.definition or {}).get("chart") or "table")
