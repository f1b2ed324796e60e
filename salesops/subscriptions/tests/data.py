"""A week of deals to mail about: the week of Monday 2 March 2026 (Asia/Shanghai), as
last week from the Monday after."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from salesops.crm.models import Customer, Deal
from salesops.crm.tests.factories import PipelineFactory
from salesops.org.models import Currency

SH = ZoneInfo("Asia/Shanghai")
WEEK_START = dt.date(2026, 3, 2)
#: Monday 9 March 2026, 08:00 in Shanghai: the first weekly slot after that week.
MONDAY_8 = dt.datetime(2026, 3, 9, 8, 0, tzinfo=SH)

#: (owner attribute of the cast, amount, status, closed on)
DEALS = [
    ("rep", "1000", "won", dt.date(2026, 3, 3)),
    ("rep", "250", "won", dt.date(2026, 3, 6)),
    ("rep", "300", "lost", dt.date(2026, 3, 4)),
    ("rep_east1", "400", "won", dt.date(2026, 3, 5)),
    ("outsider", "5000", "won", dt.date(2026, 3, 4)),
    ("rep", "500", "won", dt.date(2026, 2, 25)),  # the week before
    ("rep", "70", "won", dt.date(2026, 3, 9)),  # this week: not in last week
]


def book_week(cast: Any) -> list[Deal]:
    org = cast.org
    Currency.objects.get_or_create(code="CNY", defaults={"name": "Chinese yuan"})
    org.base_currency_id = "CNY"
    org.time_zone = "Asia/Shanghai"
    org.save()
    pipeline = PipelineFactory(name="New business", is_default=True)
    deals = []
    for i, (who, amount, status, closed) in enumerate(DEALS):
        owner = getattr(cast, who)
        deals.append(
            Deal.objects.create(
                name=f"{who} deal {i}",
                customer=Customer.objects.create(name=f"{who} customer {i}", owner=owner),
                pipeline=pipeline,
                stage=pipeline.stages.get(name="Won" if status == "won" else "Lost"),
                amount=Decimal(amount),
                currency_id="CNY",
                status=status,
                created_on=dt.date(2026, 2, 1),
                closed_on=closed,
                owner=owner,
            )
        )
    for user in (cast.admin, cast.manager, cast.rep, cast.rep_east1, cast.outsider):
        user.language = "en"
        user.save(update_fields=["language"])
    return deals


def bookings(cast: Any, owners: set[str], start: dt.date, end: dt.date) -> Decimal:
    """Won amounts of those owners closed in [start, end): the expected KPI, by hand."""
    return sum(
        (
            Decimal(amount)
            for who, amount, status, closed in DEALS
            if who in owners and status == "won" and start <= closed < end
        ),
        Decimal(0),
    )


@pytest.fixture
def week(cast):
    return book_week(cast)
