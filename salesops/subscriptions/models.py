"""Scheduled reports: a dashboard or a saved report e-mailed weekly or monthly.

A `Subscription` says what is sent, when (in the organisation's time zone) and to whom.
Each due occurrence ("slot") gets one `SubscriptionRun`; the unique key on
(subscription, slot) is what keeps two workers, a restart or a repeated tick from
sending a slot twice. A run remembers which recipients already have their e-mail, so a
retry after an SMTP failure sends only to the others.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesops.users.admin_services import is_admin


class SubscriptionQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> Self:
        """A user's own subscriptions; administrators see everyone's."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if is_admin(user):
            return self
        return self.filter(owner=user)

    def active(self) -> Self:
        return self.filter(is_active=True)


class Subscription(models.Model):
    class What(models.TextChoices):
        ORG = "org", _("Organisation dashboard")
        TEAM = "team", _("Team dashboard")
        REP = "rep", _("Rep dashboard")
        REPORT = "report", _("Saved report")

    class Period(models.TextChoices):
        LAST_WEEK = "last_week", _("Last week")
        THIS_WEEK = "this_week", _("This week")
        LAST_MONTH = "last_month", _("Last month")
        THIS_MONTH = "this_month", _("This month")
        LAST_QUARTER = "last_quarter", _("Last quarter")
        THIS_QUARTER = "this_quarter", _("This quarter")
        THIS_YEAR = "this_year", _("This year")

    class Cadence(models.TextChoices):
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    owner = models.ForeignKey(
        "users.User",
        verbose_name=_("subscriber"),
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    name = models.CharField(_("name"), max_length=200)
    what = models.CharField(_("what"), max_length=10, choices=What.choices, default=What.ORG)
    team = models.ForeignKey(
        "users.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    rep = models.ForeignKey(
        "users.User",
        verbose_name=pgettext_lazy("sales person", "rep"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    report = models.ForeignKey(
        "reports.SavedReport",
        verbose_name=_("saved report"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    period = models.CharField(
        _("period"), max_length=20, choices=Period.choices, default=Period.LAST_WEEK
    )
    cadence = models.CharField(
        _("cadence"), max_length=10, choices=Cadence.choices, default=Cadence.WEEKLY
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), choices=Weekday.choices, default=Weekday.MONDAY
    )
    day_of_month = models.PositiveSmallIntegerField(
        _("day of the month"),
        default=1,
        validators=[
            MinValueValidator(1, _("Choose a day from 1 to 31 (31 means the last day).")),
            MaxValueValidator(31, _("Choose a day from 1 to 31 (31 means the last day).")),
        ],
        help_text=_("31 means the last day of every month."),
    )
    hour = models.PositiveSmallIntegerField(
        _("hour"),
        default=8,
        validators=[
            MinValueValidator(0, _("Choose an hour from 0 to 23.")),
            MaxValueValidator(23, _("Choose an hour from 0 to 23.")),
        ],
        help_text=_("In the organisation's time zone."),
    )
    recipients = models.ManyToManyField(
        "users.User", verbose_name=_("recipients"), related_name="received_subscriptions"
    )
    is_active = models.BooleanField(_("active"), default=True)
    #: Slots due before this moment are never sent: not those before the subscription
    #: existed, nor those of an older schedule after the cadence changed.
    schedule_from = models.DateTimeField(_("schedule starts"), default=timezone.now)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    objects: ClassVar[Any] = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [models.Index(fields=["is_active"], name="subscription_active")]

    def __str__(self) -> str:
        return self.name


class SubscriptionRun(models.Model):
    """One due slot of one subscription, sent (or being sent) to its recipients."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        RETRY = "retry", _("Will retry")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    subscription = models.ForeignKey(
        Subscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="runs"
    )
    #: The due moment (UTC) this run is for; unique per subscription.
    slot = models.DateTimeField(_("due at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    #: Ids of the recipients whose e-mail went out; a retry skips them.
    delivered = models.JSONField(_("delivered to"), default=list, blank=True)
    #: Recipients left out (no longer allowed to see the content, no e-mail address).
    skipped = models.JSONField(_("left out"), default=list, blank=True)
    #: Why recipients were left out; shown on the subscription after a run.
    notes = models.TextField(_("notes"), blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    claimed_at = models.DateTimeField(_("started at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-slot"]
        verbose_name = _("subscription run")
        verbose_name_plural = _("subscription runs")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "slot"], name="subscription_run_once_per_slot"
            )
        ]
        indexes = [models.Index(fields=["status"], name="subscription_run_status")]

    def __str__(self) -> str:
        return f"{self.subscription_id} @ {self.slot:%Y-%m-%d %H:%M}"
