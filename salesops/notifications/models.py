"""What a person is told: one row per notice per recipient, and how each person wants
each kind delivered.

A notice stores its kind and parameters, never sentences: the title and body are built
when it is shown or mailed, in the reader's language, and name the record only if the
reader may still see it (`notifications.render`).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Email(models.TextChoices):
    """How a notice reaches the recipient's mailbox."""

    NONE = "", _("No e-mail")
    IMMEDIATE = "immediate", _("E-mail at once")
    DIGEST = "digest", _("Daily digest e-mail")


class NotificationQuerySet(models.QuerySet["Notification"]):
    def for_user(self, user: object) -> NotificationQuerySet:
        """The notices `user` sees in the app (their own, in-app ones)."""
        return self.filter(recipient_id=getattr(user, "pk", None), in_app=True)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notices",
    )
    kind = models.CharField(_("kind"), max_length=40)
    #: What the kind's messages are built from (ids, dates, numbers, names of people).
    params = models.JSONField(_("details"), default=dict, blank=True)
    #: The record it is about: a registry object type and id ("" / None: none).
    object_type = models.CharField(_("object type"), max_length=60, blank=True, default="")
    object_id = models.BigIntegerField(_("record id"), null=True, blank=True)
    #: Makes sending idempotent: one notice per (recipient, key), whoever sends it and
    #: however often (worker restarts, several workers, a repeated tick).
    key = models.CharField(_("key"), max_length=200)
    in_app = models.BooleanField(_("shown in the app"), default=True)
    email = models.CharField(
        _("e-mail"), max_length=10, choices=Email.choices, blank=True, default=""
    )
    email_claimed_at = models.DateTimeField(_("e-mail being sent since"), null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(_("e-mail attempts"), default=0)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects: ClassVar[NotificationQuerySet] = NotificationQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once"),
        ]
        indexes = [
            # The bell: COUNT of one person's unread in-app notices, from the index alone.
            models.Index(
                fields=["recipient"],
                name="notification_unread",
                condition=Q(in_app=True, read_at__isnull=True),
            ),
            # The list, newest first (keyset: created_at, id).
            models.Index(
                fields=["recipient", "created_at", "id"],
                name="notification_list",
                condition=Q(in_app=True),
            ),
            # The worker's mail queue: notices still to e-mail.
            models.Index(
                fields=["email", "created_at"],
                name="notification_mail_due",
                condition=Q(emailed_at__isnull=True) & ~Q(email=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id} ({self.key})"


class Preference(models.Model):
    """One person's choice for one kind of notice; without a row the kind's default holds."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notice_preferences",
    )
    kind = models.CharField(_("kind"), max_length=40)
    in_app = models.BooleanField(_("in the app"), default=True)
    email = models.CharField(
        _("e-mail"), max_length=10, choices=Email.choices, blank=True, default=""
    )

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notice_preference_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.in_app}/{self.email}"
