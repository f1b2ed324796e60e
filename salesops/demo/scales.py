"""How much data each `--scale` makes. Leads, contacts, stage history, quotes, contracts,
payments and tasks follow from these in proportion."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    reps: int
    customers: int
    deals: int
    followups: int
    #: leads per customer (converted and not)
    leads_per_customer: float = 2.0
    #: full years of history before the current year (plus half a year of ramp-up)
    years_back: int = 2


SCALES: dict[str, Scale] = {
    # for tests only: seconds, not minutes
    "tiny": Scale("tiny", reps=6, customers=60, deals=160, followups=800),
    "demo": Scale("demo", reps=15, customers=1_500, deals=4_000, followups=20_000),
    "small": Scale("small", reps=12, customers=2_000, deals=10_000, followups=50_000),
    "100k": Scale("100k", reps=30, customers=20_000, deals=100_000, followups=500_000),
    "1m": Scale("1m", reps=300, customers=200_000, deals=1_000_000, followups=5_000_000),
}
