"""The organisation this instance serves: its settings, currencies, rates and calendar.

One Salesops instance serves one organisation (docs/decisions/0001-one-organisation-per-instance.md).
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Length, Upper
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.lib.cache import register


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ValidationError(
            _("“%(value)s” is not a time zone; use a name such as Asia/Shanghai or UTC."),
            params={"value": value},
        ) from e


#: How long a process keeps the organisation's settings before reading them again.
ORG_CACHE_SECONDS = 5.0
_org_cache: dict[str, tuple[Organisation, float]] = {}
register(_org_cache.clear)


class Currency(models.Model):
    code = models.CharField(
        _("code"),
        max_length=3,
        primary_key=True,
        validators=[
            RegexValidator(
                r"^[A-Z]{3}$", _("Use the three capital letters of ISO 4217, such as CNY.")
            )
        ],
    )
    name = models.CharField(_("name"), max_length=60)
    symbol = models.CharField(_("symbol"), max_length=5, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("currency")
        verbose_name_plural = _("currencies")
        constraints = [
            # Three upper-case letters, written without REGEXP (which SQLite lacks
            # outside Django).
            models.CheckConstraint(
                condition=models.Q(Exact(Length("code"), 3))
                & models.Q(Exact(models.F("code"), Upper("code"))),
                name="currency_code_iso",
            )
        ]

    def __str__(self) -> str:
        return self.code


class Organisation(models.Model):
    """The single row of organisation settings (pk 1)."""

    LOCALES: ClassVar = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]

    name = models.CharField(_("name"), max_length=200)
    base_currency = models.ForeignKey(
        Currency, verbose_name=_("base currency"), on_delete=models.PROTECT, default="CNY"
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("fiscal year start month"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
    )
    locale = models.CharField(_("language"), max_length=10, choices=LOCALES, default="zh-hans")
    activity_window_days = models.PositiveIntegerField(
        _("activity window (days)"), default=365, validators=[MinValueValidator(1)]
    )
    gross_margin = models.DecimalField(
        _("gross margin"),
        max_digits=5,
        decimal_places=4,
        default=Decimal(1),
        help_text=_("A fraction: 1 means 100%."),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
    )
    require_admin_two_factor = models.BooleanField(
        _("administrators must use two-factor sign-in"),
        default=False,
        help_text=_(
            "Administrators without an authenticator app are sent to set one up after signing in."
        ),
    )
    recycle_retention_days = models.PositiveIntegerField(
        _("recycle bin retention (days)"),
        default=30,
        help_text=_(
            "Deleted records can be restored for this many days, then are removed for good."
        ),
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisation")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                name="org_fiscal_month_range",
            ),
            models.CheckConstraint(
                condition=models.Q(gross_margin__gte=0, gross_margin__lte=1),
                name="org_gross_margin_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        _org_cache.clear()

    @classmethod
    def get(cls) -> Organisation:
        """The organisation; created with defaults on first use.

        Read at most every few seconds per process (services and KPIs ask for it on
        every call); saving it in this process refreshes at once, other processes see a
        change within ORG_CACHE_SECONDS."""
        cached = _org_cache.get("org")
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        org = cls.objects.filter(pk=1).first()
        if org is None:
            Currency.objects.get_or_create(code="CNY", defaults={"name": "人民币", "symbol": "¥"})
            org, _created = cls.objects.get_or_create(pk=1, defaults={"name": "Salesops"})
        _org_cache["org"] = (org, time.monotonic() + ORG_CACHE_SECONDS)
        return org

    @staticmethod
    def forget() -> None:
        """Drop this process's copy (after writing the row by other means, and in tests)."""
        _org_cache.clear()

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local_date(self, moment: dt.datetime | None = None) -> dt.date:
        """The business date of `moment` (default: now) in the organisation's time zone."""
        return timezone.localtime(moment or timezone.now(), self.tz).date()

    def rate_on(self, currency_code: str, day: dt.date) -> Decimal:
        """How many base-currency units one unit of `currency_code` is worth on `day`."""
        return ExchangeRate.rate_on(currency_code, day, base=str(self.base_currency_id))


class ExchangeRate(models.Model):
    """1 `currency` = `rate` × the base currency, from `effective_on` until the next rate."""

    currency = models.ForeignKey(Currency, verbose_name=_("currency"), on_delete=models.CASCADE)
    effective_on = models.DateField(_("effective on"))
    rate = models.DecimalField(_("rate to base currency"), max_digits=20, decimal_places=10)

    class Meta:
        ordering = ["currency", "-effective_on"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.UniqueConstraint(fields=["currency", "effective_on"], name="rate_unique_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency_id} {self.effective_on}: {self.rate}"

    @classmethod
    def rate_on(cls, currency_code: str, day: dt.date, *, base: str) -> Decimal:
        if currency_code == base:
            return Decimal(1)
        row = (
            cls.objects.filter(currency_id=currency_code, effective_on__lte=day)
            .order_by("-effective_on")
            .values_list("rate", flat=True)
            .first()
        )
        if row is None:
            raise ValidationError(
                _(
                    "There is no exchange rate for %(currency)s on or before %(day)s; add one first."
                ),
                params={"currency": currency_code, "day": day.isoformat()},
            )
        return row


class Holiday(models.Model):
    """A day off, or a make-up working day (调休) that falls on a weekend."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday")
        WORKDAY = "workday", _("Make-up working day")

    day = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.HOLIDAY)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["day"]
        verbose_name = _("holiday or make-up working day")
        verbose_name_plural = _("holiday calendar")

    def __str__(self) -> str:
        return f"{self.day} {self.get_kind_display()}"
