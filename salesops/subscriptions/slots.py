"""When a subscription is due: its slots are moments in the organisation's time zone
(weekly: a weekday at an hour; monthly: a day of the month at an hour, 31 or any day
past the month's end meaning its last day)."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any


def _at(day: dt.date, hour: int, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=tz)


def month_day(year: int, month: int, day: int) -> dt.date:
    """`day` of that month; past the month's end, its last day (31 → 30 April)."""
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def latest_slot(sub: Any, now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The most recent slot of `sub` at or before `now`, as an aware datetime in `tz`."""
    local = now.astimezone(tz)
    if sub.cadence == "weekly":
        day = local.date() - dt.timedelta(days=(local.weekday() - sub.weekday) % 7)
        slot = _at(day, sub.hour, tz)
        return slot if slot <= local else _at(day - dt.timedelta(days=7), sub.hour, tz)
    slot = _at(month_day(local.year, local.month, sub.day_of_month), sub.hour, tz)
    if slot <= local:
        return slot
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return _at(month_day(year, month, sub.day_of_month), sub.hour, tz)


def next_slot(sub: Any, now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The first slot of `sub` after `now` (shown on the page)."""
    local = now.astimezone(tz)
    if sub.cadence == "weekly":
        day = local.date() + dt.timedelta(days=(sub.weekday - local.weekday()) % 7)
        slot = _at(day, sub.hour, tz)
        return slot if slot > local else _at(day + dt.timedelta(days=7), sub.hour, tz)
    slot = _at(month_day(local.year, local.month, sub.day_of_month), sub.hour, tz)
    if slot > local:
        return slot
    year, month = (local.year, local.month + 1) if local.month < 12 else (local.year + 1, 1)
    return _at(month_day(year, month, sub.day_of_month), sub.hour, tz)
