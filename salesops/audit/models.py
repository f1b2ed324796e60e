"""The audit log: one append-only row per change event on a record.

Who (the actor, None for the system: the nightly pool job, the worker), when (UTC),
what (object type as the model's `app_label.model_name` and id, with the record's name
as it was), which action, and for updates each changed field with its old and new value
(see `salesops.audit.services` for the value format). Rows are written by the services
in the same transaction as the change; nothing updates or deletes them.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AppendOnly(Exception):
    """An audit entry was about to be changed or deleted."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnly("The audit log is append-only.")

    def delete(self) -> NoReturn:
        raise AppendOnly("The audit log is append-only.")

    def of(self, obj: models.Model) -> AuditQuerySet:
        """The entries of one record, newest first (the (object_type, object_id, at) index)."""
        return self.filter(object_type=obj._meta.label_lower, object_id=obj.pk).order_by(
            "-at", "-id"
        )


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        CREATED = "created", pgettext_lazy("audit action", "created")
        UPDATED = "updated", pgettext_lazy("audit action", "updated")
        DELETED = "deleted", pgettext_lazy("audit action", "deleted")
        RESTORED = "restored", pgettext_lazy("audit action", "restored")
        OWNER_CHANGED = "owner_changed", pgettext_lazy("audit action", "owner changed")
        CLAIMED = "claimed", pgettext_lazy("audit action", "claimed from the pool")
        RELEASED = "released", pgettext_lazy("audit action", "released to the pool")
        RECLAIMED = "reclaimed", pgettext_lazy("audit action", "returned to the pool automatically")
        WON = "won", pgettext_lazy("audit action", "won")
        LOST = "lost", pgettext_lazy("audit action", "lost")
        REOPENED = "reopened", pgettext_lazy("audit action", "reopened")
        COMPLETED = "completed", pgettext_lazy("audit action", "completed")
        IMPORTED = "imported", pgettext_lazy("audit action", "imported")
        PURGED = "purged", pgettext_lazy("audit action", "removed for good")
        MERGED = "merged", pgettext_lazy("audit action", "merged")

    at = models.DateTimeField(_("at"), default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        # Nothing cascades into the log: a removed user's id stays, with `actor_name`.
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        editable=False,
    )
    #: The actor's name as it was (kept if the user is renamed or removed).
    actor_name = models.CharField(_("by (name)"), max_length=150, blank=True, editable=False)
    object_type = models.CharField(_("object type"), max_length=60, editable=False)
    #: None only for an entry about many records at once (an import job).
    object_id = models.BigIntegerField(_("object id"), null=True, blank=True, editable=False)
    object_label = models.CharField(_("record"), max_length=200, blank=True, editable=False)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, editable=False)
    #: Updates: {field: {"old": value, "new": value}}; custom fields as "custom.<key>".
    #: Other actions: facts about the event (e.g. an import's counts and job id).
    changes = models.JSONField(_("changes"), default=dict, blank=True, editable=False)
    #: Where the change came from when an interface says so: web, api, import, system.
    source = models.CharField(_("source"), max_length=20, blank=True, editable=False)

    objects: ClassVar[Any] = models.Manager.from_queryset(AuditQuerySet)()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["object_type", "object_id", "at"], name="audit_object_time"),
            models.Index(fields=["at", "id"], name="audit_time"),
            models.Index(fields=["actor", "at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnly("The audit log is append-only.")
