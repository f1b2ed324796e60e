"""Daily roll-ups the KPI engine reads instead of the raw rows (see `rollups`).

Database triggers keep every table here in step with deals, stage history and
follow-ups on every write path (services, imports, the seed's bulk writer, the admin,
raw SQL), inside the writing transaction: a KPI read after a commit sees the write.
Rows are keyed by what a KPI filters on (owner for data scopes and team filters,
pipeline, day) and by currency and day for money, so amounts are still converted at
the rate of their own date when the KPI is computed. Ids are plain integers, not
foreign keys: a roll-up never blocks deleting or changing the rows it counts.
Owner 0 stands for "no owner" (a NULL would defeat the unique keys the triggers
upsert on).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DealDay(models.Model):
    """Closed deals (won or lost, not deleted) per owner, pipeline, status, close date
    and currency: how many, Σ amount in cents, Σ days from created_on to closed_on
    (over the `cycle_n` deals that have a created_on)."""

    owner_id = models.IntegerField(_("owner"))
    pipeline_id = models.IntegerField(_("pipeline"))
    status = models.CharField(_("status"), max_length=10)
    day = models.DateField(_("closed on"))
    currency_id = models.CharField(_("currency"), max_length=3)
    n = models.IntegerField(_("deals"), default=0)
    cents = models.BigIntegerField(_("amount in cents"), default=0)
    cycle_n = models.IntegerField(_("deals with a sales cycle"), default=0)
    cycle_days = models.BigIntegerField(_("sales-cycle days"), default=0)

    class Meta:
        verbose_name = _("closed deals per owner and day")
        verbose_name_plural = _("closed deals per owner and day")
        constraints = [
            models.UniqueConstraint(
                # owner, status and day first: a data scope's owners read ranges of days
                fields=["owner_id", "status", "day", "pipeline_id", "currency_id"],
                name="dealday_owner_key",
            )
        ]
        indexes = [models.Index(fields=["status", "day"], name="dealday_status_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.status} owner {self.owner_id}: {self.n}"


class OrgDealDay(models.Model):
    """`DealDay` without the owner: the whole organisation's closed deals per pipeline,
    status, day and currency (a few thousand rows for years of data)."""

    pipeline_id = models.IntegerField(_("pipeline"))
    status = models.CharField(_("status"), max_length=10)
    day = models.DateField(_("closed on"))
    currency_id = models.CharField(_("currency"), max_length=3)
    n = models.IntegerField(_("deals"), default=0)
    cents = models.BigIntegerField(_("amount in cents"), default=0)
    cycle_n = models.IntegerField(_("deals with a sales cycle"), default=0)
    cycle_days = models.BigIntegerField(_("sales-cycle days"), default=0)

    class Meta:
        verbose_name = _("closed deals per day")
        verbose_name_plural = _("closed deals per day")
        constraints = [
            models.UniqueConstraint(
                fields=["status", "day", "pipeline_id", "currency_id"], name="orgdealday_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.status}: {self.n}"


class FollowUpDay(models.Model):
    """Follow-ups (not deleted) per owner and UTC day of `occurred_at`: all of them and
    the touchpoints. UTC days, not local ones: a period's bounds in any time zone are
    whole UTC days plus two partial days, which the engine counts from the raw rows."""

    owner_id = models.IntegerField(_("owner"))
    day = models.DateField(_("day (UTC)"))
    total = models.IntegerField(_("follow-ups"), default=0)
    touch = models.IntegerField(_("touchpoints"), default=0)

    class Meta:
        verbose_name = _("follow-ups per owner and day")
        verbose_name_plural = _("follow-ups per owner and day")
        constraints = [models.UniqueConstraint(fields=["owner_id", "day"], name="followupday_key")]
        indexes = [models.Index(fields=["day", "owner_id"], name="followupday_day")]

    def __str__(self) -> str:
        return f"{self.day} owner {self.owner_id}: {self.total}"


class StageReentry(models.Model):
    """A deal that has entered a stage more than once (rare): the funnel counts these
    pairs from the raw history so each deal counts once per stage."""

    deal_id = models.IntegerField(_("deal"))
    stage_id = models.IntegerField(_("stage"))

    class Meta:
        verbose_name = _("stage re-entry")
        verbose_name_plural = _("stage re-entries")
        constraints = [
            models.UniqueConstraint(fields=["deal_id", "stage_id"], name="stagereentry_key")
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id} stage {self.stage_id}"


class OrgStageEntryHour(models.Model):
    """Stage-history rows of deals that are not deleted, per stage, pipeline and UTC hour
    of `entered_at`: how many, and how many advanced later. These count stays, not
    deals; a deal that entered a stage twice is listed in `StageReentry` so the funnel
    can count it once. Hours rather than days: a period in any time zone whose offset is
    whole hours is whole hours of this table, with no raw rows to count at its ends.
    Organisation-wide only: per owner there is about one stay per row, so viewers with
    a narrower scope read the raw history."""

    stage_id = models.IntegerField(_("stage"))
    pipeline_id = models.IntegerField(_("pipeline"))
    hour = models.DateTimeField(_("hour (UTC)"))
    entered = models.IntegerField(_("entered"), default=0)
    advanced = models.IntegerField(_("advanced later"), default=0)

    class Meta:
        verbose_name = _("stage entries per hour")
        verbose_name_plural = _("stage entries per hour")
        constraints = [
            models.UniqueConstraint(
                fields=["stage_id", "pipeline_id", "hour"], name="orgstageentryhour_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour} stage {self.stage_id}: {self.entered}"


class CustomerSpell(models.Model):
    """A stretch of days on which a customer is active: a customer is active on day d
    when it has a won deal (not deleted) closed in (d − W, d], W the organisation's
    activity window. Each won close day x makes the customer active on [x, x + W);
    overlapping or touching stretches are merged, so on any day a customer is in at most
    one spell, and "active customers on d" is the number of spells holding d.
    `first` marks the customer's earliest spell: its start is the customer's first won
    close day (the "new customer" KPIs). Organisation-wide (every won deal counts): a
    narrower scope or a filter reads the raw deals."""

    customer_id = models.IntegerField(_("customer"))
    start_day = models.DateField(_("active from"))
    end_day = models.DateField(_("active until (exclusive)"))
    first = models.BooleanField(_("first spell"), default=False)

    class Meta:
        verbose_name = _("customer activity spell")
        verbose_name_plural = _("customer activity spells")
        constraints = [
            models.UniqueConstraint(fields=["customer_id", "start_day"], name="customerspell_key")
        ]
        indexes = [
            models.Index(fields=["start_day", "end_day"], name="customerspell_days"),
            models.Index(
                fields=["start_day", "customer_id"],
                name="customerspell_first",
                condition=models.Q(first=True),
            ),
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id}: {self.start_day} – {self.end_day}"


class DashboardLayout(models.Model):
    """The organisation's dashboards (organisation, team and rep pages, and their
    e-mails): which KPI tiles and which charts they show, in order. One row; without
    it, every tile and chart in the product's order (`dashboard.DEFAULT_LAYOUT`)."""

    tiles = models.JSONField(_("tiles"), default=list, blank=True)
    charts = models.JSONField(_("charts"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("dashboard layout")
        verbose_name_plural = _("dashboard layouts")

    def __str__(self) -> str:
        return str(_("Dashboard layout"))
