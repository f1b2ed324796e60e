"""Crafted data for the forecasting tests (and the pages' tests in web)."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from salesops.analytics.periods import Period
from salesops.crm.models import Deal
from salesops.crm.models.deals import StageHistory
from salesops.crm.tests.factories import DealFactory, PipelineFactory
from salesops.forecasting.models_stats import StatForecast
from salesops.org.models import Organisation


def make_history(cast):
    """A pipeline whose history says: of 10 deals that entered Qualify, 4 were won 10
    days later and 6 lost; today's open deals in Qualify (just entered): the rep's
    1,000, rep_east1's 3,000, the outsider's 5,000; the rep won 700 two days ago.
    Returns (pipeline, period [today − 5, today + 30))."""
    pipeline = PipelineFactory()
    qualify = pipeline.stages.get(name="Qualify")
    now = timezone.now()
    org = Organisation.get()
    entered = now - dt.timedelta(days=200)
    for i in range(10):
        won = i < 4
        deal = DealFactory(
            pipeline=pipeline,
            owner=cast.admin,
            stage=pipeline.stages.get(name="Won" if won else "Lost"),
            status=Deal.Status.WON if won else Deal.Status.LOST,
            closed_on=org.local_date(entered) + dt.timedelta(days=10),
            created_on=org.local_date(entered),
            amount=Decimal(100),
        )
        StageHistory.objects.create(
            deal=deal, stage=qualify, entered_at=entered, left_at=entered + dt.timedelta(days=3)
        )
    today = org.local_date()
    for owner, amount in ((cast.rep, 1000), (cast.rep_east1, 3000), (cast.outsider, 5000)):
        DealFactory(pipeline=pipeline, owner=owner, stage=qualify, amount=Decimal(amount),
                    stage_entered_at=now, created_on=today)  # fmt: skip
    DealFactory(
        pipeline=pipeline,
        owner=cast.rep,
        stage=pipeline.stages.get(name="Won"),
        status=Deal.Status.WON,
        closed_on=today - dt.timedelta(days=2),
        created_on=today - dt.timedelta(days=20),
        amount=Decimal(700),
    )
    return pipeline, Period(today - dt.timedelta(days=5), today + dt.timedelta(days=30))


def make_closed_period(cast):
    """July 2026: 1,000 won by the rep; the forecast stored at its start said 800 for the
    organisation and 1,250 for the rep (and 5,000 made later, which does not count)."""
    p = Period(dt.date(2026, 7, 1), dt.date(2026, 8, 1))
    pipeline = PipelineFactory()
    DealFactory(
        pipeline=pipeline, owner=cast.rep, stage=pipeline.stages.get(name="Won"),
        status=Deal.Status.WON, closed_on=dt.date(2026, 7, 15), amount=Decimal(1000),
        created_on=dt.date(2026, 7, 1),
    )  # fmt: skip
    common = {"period_start": p.start, "period_end": p.end, "currency": "CNY",
              "booked": 0, "low": 0, "high": 0}  # fmt: skip
    StatForecast.objects.create(made_on=p.start, scope="org", subject="org", expected=800, **common)
    StatForecast.objects.create(
        made_on=dt.date(2026, 7, 13), scope="org", subject="org", expected=5000, **common
    )
    StatForecast.objects.create(
        made_on=p.start, scope="owner", subject=f"owner:{cast.rep.pk}", owner=cast.rep,
        expected=1250, **common,
    )  # fmt: skip
    return p
