"""Pure KPI arithmetic (KPIS.md), without the ORM: fed by query functions, tested alone.

A ratio with a zero denominator is undefined: None, never 0.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def ratio(numerator: float | Decimal | int, denominator: float | Decimal | int) -> float | None:
    if not denominator:
        return None
    return float(Decimal(numerator) / Decimal(denominator))


def money(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal | None) -> str | None:
    m = money(value)
    return None if m is None else f"{m:.2f}"


def divide_money(numerator: Decimal, denominator: int | Decimal) -> Decimal | None:
    if not denominator:
        return None
    return numerator / Decimal(denominator)


def median_of_histogram(counts: Mapping[int, int]) -> float | None:
    """The median of values given as {value: how many times}."""
    total = sum(counts.values())
    if total == 0:
        return None
    items = sorted(counts.items())
    lower_rank, upper_rank = (total - 1) // 2, total // 2
    lower = upper = None
    seen = 0
    for value, n in items:
        if lower is None and seen + n > lower_rank:
            lower = value
        if seen + n > upper_rank:
            upper = value
            break
        seen += n
    assert lower is not None and upper is not None
    return (lower + upper) / 2


def mean_of_histogram(counts: Mapping[int, int]) -> float | None:
    total = sum(counts.values())
    if total == 0:
        return None
    return sum(v * n for v, n in counts.items()) / total


def one_decimal(value: float | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def clv_historical(
    *,
    bookings_365: Decimal,
    active_customers: int,
    gross_margin: Decimal,
    annual_churn: float | None,
) -> Decimal | None:
    """(Bookings of 365 days ÷ active customers) × margin × lifetime, lifetime =
    min(1 ÷ annual churn, 10) years; no churn at all gives the 10-year cap."""
    if not active_customers or annual_churn is None:
        return None
    lifetime = (
        Decimal(10)
        if annual_churn == 0
        else min(Decimal(1) / Decimal(str(annual_churn)), Decimal(10))
    )
    return bookings_365 / Decimal(active_customers) * gross_margin * lifetime


def sales_velocity(
    *,
    open_deals: int,
    win_rate: float | None,
    avg_deal_size: Decimal | None,
    mean_cycle: float | None,
) -> Decimal | None:
    if win_rate is None or avg_deal_size is None or not mean_cycle:
        return None
    return Decimal(open_deals) * Decimal(str(win_rate)) * avg_deal_size / Decimal(str(mean_cycle))


def nps(scores: Iterable[int]) -> float | None:
    values = list(scores)
    if not values:
        return None
    promoters = sum(1 for s in values if s >= 9)
    detractors = sum(1 for s in values if s <= 6)
    return (promoters - detractors) * 100 / len(values)


class RateTable:
    """Dated exchange rates to the base currency: the rate effective on a day is the
    latest one on or before it."""

    def __init__(self, base: str, rows: Iterable[tuple[str, dt.date, Decimal]]) -> None:
        self.base = base
        self._days: dict[str, list[dt.date]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        for code, day, rate in sorted(rows, key=lambda r: (r[0], r[1])):
            self._days.setdefault(code, []).append(day)
            self._rates.setdefault(code, []).append(rate)

    def rate_on(self, code: str, day: dt.date) -> Decimal:
        if code == self.base:
            return Decimal(1)
        days = self._days.get(code, [])
        i = bisect.bisect_right(days, day)
        if i == 0:
            raise MissingRate(code, day)
        return self._rates[code][i - 1]

    def changes(self, code: str, start: dt.date, end: dt.date) -> list[dt.date]:
        """The days in (start, end) on which `code`'s rate changes."""
        days = self._days.get(code, [])
        return days[bisect.bisect_right(days, start) : bisect.bisect_left(days, end)]

    def currencies(self) -> list[str]:
        return sorted(self._days)

    def latest(self, code: str, today: dt.date) -> Decimal:
        return self.rate_on(code, today)


class MissingRate(Exception):
    def __init__(self, code: str, day: dt.date) -> None:
        super().__init__(code, day)
        self.code = code
        self.day = day
