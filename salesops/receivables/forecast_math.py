"""The cash forecast's maths: plain functions, no database.

A payer's profile is estimated from their settled instalments: `share`, the mean share
of an instalment that was paid (at least 60 days after it fell due), and `late`, the
distribution of days late (paid date − due date, ≥ 0 counted as is, early as 0) of those
paid in full. An open instalment of `owed`, `k` days overdue today, is expected to bring
owed × P(paid | not paid by now) = owed × share·T ÷ (1 − share·(1 − T)), where T is the
share of the lateness distribution at or after k, spread over due + d for those d. With no history at all (the default profile), an
instalment is expected in full on its due date, or now when it is overdue.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

#: Fewer settled instalments than this: the payer's segment's profile is used instead.
MIN_HISTORY = 3


@dataclass(frozen=True)
class Profile:
    share: float  # expected share of an instalment paid, 0..1
    late: tuple[tuple[int, float], ...]  # (days late, probability), sorted by days
    source: str = "customer"  # "customer", "segment", "organisation" or "default"


DEFAULT = Profile(1.0, ((0, 1.0),), "default")


@dataclass(frozen=True)
class Settled:
    """One past instalment: how much of it was paid, and how late it was paid in full."""

    share_paid: float  # 0..1
    days_late: int | None  # None: not paid in full


def estimate(history: Iterable[Settled], source: str = "customer") -> Profile | None:
    """A profile from settled instalments; None when there are fewer than MIN_HISTORY."""
    rows = list(history)
    if len(rows) < MIN_HISTORY:
        return None
    share = sum(min(max(r.share_paid, 0.0), 1.0) for r in rows) / len(rows)
    days = Counter(max(r.days_late, 0) for r in rows if r.days_late is not None)
    n = sum(days.values())
    late = tuple((d, c / n) for d, c in sorted(days.items())) if n else ((0, 1.0),)
    return Profile(share, late, source)


def choose(*profiles: Profile | None) -> Profile:
    """The first profile there is (customer, segment, organisation), else DEFAULT."""
    for p in profiles:
        if p is not None:
            return p
    return DEFAULT


def expected_receipts(
    owed: Decimal, due: dt.date, today: dt.date, profile: Profile
) -> list[tuple[dt.date, Decimal]]:
    """(day, expected amount) for an instalment still owed `owed`."""
    if profile.source == "default":
        # Nothing known about anyone: in full on the due date, or now when overdue.
        return [(max(due, today), owed)] if owed > 0 else []
    k = max((today - due).days, 0)
    tail = [(d, p) for d, p in profile.late if d >= k]
    t = sum(p for _d, p in tail)
    if t <= 0 or owed <= 0:
        return []
    still = 1 - profile.share * (1 - t)
    if still <= 0:
        return []
    paid = Decimal(str(profile.share * t / still))
    return [(due + dt.timedelta(days=d), owed * paid * Decimal(str(p / t))) for d, p in tail]


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, n: int) -> dt.date:
    y, m = divmod(day.month - 1 + n, 12)
    return dt.date(day.year + y, m + 1, 1)


def periods(today: dt.date, months: int = 6) -> tuple[list[dt.date], list[dt.date]]:
    """The week starts (Mondays) and month starts of the next `months` months from
    today's week and month."""
    first_month = month_start(today)
    end = add_months(first_month, months)
    weeks = []
    w = week_start(today)
    while w < end:
        weeks.append(w)
        w += dt.timedelta(days=7)
    return weeks, [add_months(first_month, i) for i in range(months)]


def bucket(
    receipts: Iterable[tuple[dt.date, Decimal]], today: dt.date, months: int = 6
) -> dict[tuple[str, dt.date], Decimal]:
    """Σ expected per ("week", Monday) and ("month", 1st) over the horizon; anything
    expected before today's week (overdue, paid any day now) counts in the current week
    and month."""
    weeks, month_starts = periods(today, months)
    out: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    horizon = add_months(month_starts[0], months)
    for day, amount in receipts:
        day = max(day, today)
        if day >= horizon:
            continue
        out[("week", week_start(day))] += amount
        out[("month", month_start(day))] += amount
    for w in weeks:
        out.setdefault(("week", w), Decimal(0))
    for m in month_starts:
        out.setdefault(("month", m), Decimal(0))
    return dict(out)


def settle(
    plans: Iterable[tuple[int, dt.date, int]],
    payments: Iterable[tuple[int | None, dt.date, int]],
) -> dict[int, tuple[int, dt.date | None]]:
    """One contract's instalments (id, due, cents) and payments (plan id or None, day,
    cents) → {instalment: (cents paid, day paid in full or None)}: payments in the order
    received; a linked payment to its instalment, the rest (and any excess) to the
    oldest-due instalment with something left (decision 0021)."""
    order = sorted(plans, key=lambda p: (p[1], p[0]))
    left = {pid: cents for pid, _due, cents in order}
    paid: dict[int, int] = dict.fromkeys(left, 0)
    done: dict[int, dt.date | None] = dict.fromkeys(left)

    def give(pid: int, cents: int, day: dt.date) -> int:
        take = min(cents, left[pid])
        left[pid] -= take
        paid[pid] += take
        if take and left[pid] == 0:
            done[pid] = day
        return cents - take

    for plan, day, cents in sorted(payments, key=lambda p: (p[1], p[0] is None)):
        rest = give(plan, cents, day) if plan in left else cents
        for pid, _due, _c in order:
            if rest <= 0:
                break
            rest = give(pid, rest, day)
    return {pid: (paid[pid], done[pid]) for pid in left}


def accuracy(pairs: Iterable[tuple[Decimal, Decimal]]) -> tuple[float | None, float | None]:
    """Mean absolute percentage error and mean bias ((forecast − actual) ÷ actual) over
    (forecast, actual) pairs with a non-zero actual; (None, None) when there are none."""
    errors = [(float(f - a) / float(a)) for f, a in pairs if a]
    if not errors:
        return None, None
    return sum(abs(e) for e in errors) / len(errors), sum(errors) / len(errors)
