"""What a person keeps of their own workspace: saved list views (filters, sort, columns).

A saved view stores only the list's query string; the rows it shows still come through
`visible_to(viewer)`, so sharing a view never shares data the viewer may not see.
"""

from __future__ import annotations

from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SavedViewQuerySet(models.QuerySet):
    def usable_by(self, user: object, list_key: str) -> Self:
        """The user's own views of the list and the ones others shared."""
        return self.filter(Q(owner=user) | Q(shared=True), list_key=list_key)


class SavedView(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    #: Which list it belongs to ("deals", "customers", ...).
    list_key = models.CharField(_("list"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    #: The list's query string without paging, e.g. "status=open&sort=-amount".
    query = models.CharField(_("query"), max_length=2000, blank=True)
    shared = models.BooleanField(_("shared with everyone"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "list_key", "name"], name="saved_view_unique_name"
            )
        ]
        indexes = [models.Index(fields=["list_key", "owner"], name="saved_view_list")]

    def __str__(self) -> str:
        return self.name
