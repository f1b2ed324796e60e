"""Periods: half-open ranges of whole business days [start, end) in the org's time zone.

Text forms (KPIS.md): `2026`, `2026-Q3`, `2026-07`, `2026-07-01..2026-09-30` (both ends
included) are calendar periods; `FY2026`, `FY2026-Q3` fiscal ones, the fiscal year
named by the calendar year it starts in. Presets: this/last week, month, quarter, year.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # exclusive
    label: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValidationError(_("A period must end after it starts."))

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def bounds(self, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """The period as aware datetimes: midnight at each end in the org's time zone."""
        return (
            dt.datetime.combine(self.start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(self.end, dt.time.min, tzinfo=tz),
        )

    def previous(self) -> Period:
        """The period of the same kind just before (same length in months when the
        period is whole months, else the same number of days)."""
        months = _whole_months(self)
        if months:
            return Period(add_months(self.start, -months), self.start, "")
        return Period(self.start - dt.timedelta(days=self.days), self.start, "")

    def year_before(self) -> Period:
        return Period(add_months(self.start, -12), add_months(self.end, -12), "")

    def __str__(self) -> str:
        return self.label or f"{self.start.isoformat()}..{self.last_day.isoformat()}"


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months; only ever called with the 1st of a month or with a
    day that exists in the target month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return day.replace(year=year, month=month + 1)


def _whole_months(p: Period) -> int:
    if p.start.day != 1 or p.end.day != 1:
        return 0
    return (p.end.year - p.start.year) * 12 + p.end.month - p.start.month


_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_FY = re.compile(r"^FY(\d{4})(?:-Q([1-4]))?$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(text: str, *, fiscal_start_month: int = 1) -> Period:
    """Parse a period's text form; a clear ValidationError says which forms exist."""
    text = (text or "").strip()
    try:
        if m := _YEAR.match(text):
            y = int(m[1])
            return Period(dt.date(y, 1, 1), dt.date(y + 1, 1, 1), text)
        if m := _QUARTER.match(text):
            start = dt.date(int(m[1]), 3 * int(m[2]) - 2, 1)
            return Period(start, add_months(start, 3), text.upper())
        if m := _MONTH.match(text):
            start = dt.date(int(m[1]), int(m[2]), 1)
            return Period(start, add_months(start, 1), text)
        if m := _RANGE.match(text):
            first, last = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
            if last < first:
                raise ValidationError(_("The range ends before it starts."))
            return Period(first, last + dt.timedelta(days=1), text)
        if m := _FY.match(text):
            start = dt.date(int(m[1]), fiscal_start_month, 1)
            if m[2]:
                start = add_months(start, 3 * (int(m[2]) - 1))
                return Period(start, add_months(start, 3), text.upper())
            return Period(start, add_months(start, 12), text.upper())
    except ValueError:
        pass
    raise ValidationError(
        _(
            "“%(text)s” is not a period. Use 2026, 2026-Q3, 2026-07, FY2026, FY2026-Q3 "
            "or a range such as 2026-07-01..2026-09-30."
        )
        % {"text": text}
    )


PRESETS = (
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "this_quarter",
    "last_quarter",
    "this_year",
    "last_year",
    "this_fiscal_year",
    "last_fiscal_year",
)


def preset(name: str, *, today: dt.date, fiscal_start_month: int = 1) -> Period:
    if name in ("this_week", "last_week"):
        start = today - dt.timedelta(days=today.weekday())
        if name == "last_week":
            start -= dt.timedelta(days=7)
        return Period(start, start + dt.timedelta(days=7), name)
    if name in ("this_month", "last_month"):
        start = today.replace(day=1)
        if name == "last_month":
            start = add_months(start, -1)
        return Period(start, add_months(start, 1), name)
    if name in ("this_quarter", "last_quarter"):
        start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        if name == "last_quarter":
            start = add_months(start, -3)
        return Period(start, add_months(start, 3), name)
    if name in ("this_year", "last_year"):
        start = dt.date(today.year - (name == "last_year"), 1, 1)
        return Period(start, add_months(start, 12), name)
    if name in ("this_fiscal_year", "last_fiscal_year"):
        start = dt.date(today.year, fiscal_start_month, 1)
        if start > today:
            start = add_months(start, -12)
        if name == "last_fiscal_year":
            start = add_months(start, -12)
        return Period(start, add_months(start, 12), name)
    raise ValidationError(
        _("“%(name)s” is not a period preset; use one of %(names)s.")
        % {"name": name, "names": ", ".join(PRESETS)}
    )


def org_tz(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)
