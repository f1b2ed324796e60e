"""Follow-up records (跟进记录) and tasks."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salesops.lib.models import AliveManager, OwnedModel, ScopedQuerySet


class FollowUpQuerySet(ScopedQuerySet):
    def touchpoints(self) -> Self:
        """Follow-ups that count as touching the customer (every kind but a note)."""
        return self.filter(kind__in=FollowUp.TOUCHPOINT_KINDS)

    def occurred_between(self, start: Any, end: Any) -> Self:
        return self.filter(occurred_at__gte=start, occurred_at__lt=end)


class FollowUp(OwnedModel):
    object_type: ClassVar[str] = "followup"

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        VISIT = "visit", _("Visit")
        MEETING = "meeting", _("Meeting")
        EMAIL = "email", _("E-mail")
        MESSAGE = "message", _("Message")
        NOTE = "note", _("Note")

    TOUCHPOINT_KINDS: ClassVar[list[str]] = ["call", "visit", "meeting", "email", "message"]

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    lead = models.ForeignKey(
        "crm.Lead",
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="followups",
        db_index=False,  # first column of an index below
    )
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="followups",
        db_index=False,  # first column of an index below
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="followups",
        db_index=False,  # first column of an index below
    )
    deal = models.ForeignKey(
        "crm.Deal",
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="followups",
        db_index=False,  # first column of an index below
    )

    objects: ClassVar[Any] = AliveManager.from_queryset(FollowUpQuerySet)()
    all_objects: ClassVar[Any] = models.Manager.from_queryset(FollowUpQuerySet)()

    class Meta:
        ordering = ["-occurred_at"]
        base_manager_name = "all_objects"
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(
                fields=["occurred_at", "kind", "owner"],
                name="followup_time",
                condition=Q(deleted_at__isnull=True),
            ),
            # Covering for per-rep touchpoint counts (kind read from the index).
            models.Index(
                fields=["owner", "occurred_at", "kind"],
                name="followup_owner_time_kind",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["customer", "occurred_at"], name="followup_customer"),
            models.Index(fields=["deal", "occurred_at"], name="followup_deal"),
            models.Index(fields=["lead", "occurred_at"], name="followup_lead"),
            models.Index(fields=["contact"], name="followup_contact"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lead__isnull=False)
                | Q(customer__isnull=False)
                | Q(contact__isnull=False)
                | Q(deal__isnull=False),
                name="followup_linked",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or str(self.get_kind_display())


class TaskQuerySet(ScopedQuerySet):
    def pending(self) -> Self:
        return self.filter(done_at__isnull=True)

    def due_before(self, moment: Any) -> Self:
        return self.pending().filter(due_at__lt=moment)


class Task(OwnedModel):
    """A to-do with a due time; `owner` is the assignee."""

    object_type: ClassVar[str] = "task"

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True, editable=False)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    created_by = models.ForeignKey(
        "users.User",
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lead = models.ForeignKey(
        "crm.Lead",
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    deal = models.ForeignKey(
        "crm.Deal",
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )

    objects: ClassVar[Any] = AliveManager.from_queryset(TaskQuerySet)()
    all_objects: ClassVar[Any] = models.Manager.from_queryset(TaskQuerySet)()

    class Meta:
        ordering = ["due_at"]
        base_manager_name = "all_objects"
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            # The task list: by due date (all tasks, and one person's).
            models.Index(
                fields=["due_at", "id"], name="task_due_id", condition=Q(deleted_at__isnull=True)
            ),
            # The task list sorted by title (keyset: title, then id).
            models.Index(
                fields=["title", "id"], name="task_title_id", condition=Q(deleted_at__isnull=True)
            ),
            models.Index(
                fields=["owner", "due_at", "id"],
                name="task_owner_due_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["owner", "due_at"],
                name="task_owner_due",
                condition=Q(deleted_at__isnull=True, done_at__isnull=True),
            ),
            models.Index(
                fields=["remind_at"],
                name="task_remind",
                condition=Q(
                    deleted_at__isnull=True, done_at__isnull=True, reminded_at__isnull=True
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title
