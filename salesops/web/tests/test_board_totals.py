"""The board's column totals: how many deals and their amount in the base currency,
open deals at today's rate and won or lost ones at the rate of the day they closed (as
the KPIs count them), only what the user may see, and cards paged per column."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.crm.models import Deal
from salesops.crm.tests.factories import DealFactory
from salesops.org.models import ExchangeRate, Organisation
from salesops.pipeline.models import Stage
from salesops.web.views.board import CARDS


def column_totals(response):
    """{stage name: (count, amount in the base currency)} of the page's columns."""
    return {
        str(c["stage"].name): (c["count"], Decimal(c["amount"]))
        for c in response.context["columns"]
    }


@pytest.fixture
def board(world):
    today = Organisation.get().local_date()
    ExchangeRate.objects.create(
        currency_id="USD", effective_on=today - dt.timedelta(days=200), rate=Decimal("7.0")
    )
    ExchangeRate.objects.create(
        currency_id="USD", effective_on=today - dt.timedelta(days=5), rate=Decimal("8.0")
    )
    stages = {s.kind: s for s in world.pipeline.stages.order_by("-order")}
    first = world.pipeline.stages.order_by("order").first()
    rep = world.cast.rep

    def deal(*, status="open", closed_days_ago=None, stage=first, owner=rep, amount="100"):
        d = DealFactory(
            owner=owner, customer=world.east.customer, pipeline=world.pipeline, stage=first
        )
        closed_on = None if closed_days_ago is None else today - dt.timedelta(closed_days_ago)
        Deal.objects.filter(pk=d.pk).update(
            status=status, closed_on=closed_on, stage=stage, currency_id="USD", amount=amount
        )
        return d

    deal(amount="100")  # open: 100 × 8.0 today
    deal(status="won", closed_days_ago=10, stage=stages[Stage.Kind.WON], amount="100")  # × 7.0
    deal(status="won", closed_days_ago=2, stage=stages[Stage.Kind.WON], amount="10")  # × 8.0
    deal(status="won", closed_days_ago=45, stage=stages[Stage.Kind.WON])  # too old to show
    deal(status="lost", closed_days_ago=3, stage=stages[Stage.Kind.LOST], amount="1")
    deal(owner=world.cast.outsider, amount="5000")  # not the rep's
    return world, first, stages


def test_columns_count_open_deals_at_todays_rate_and_closed_ones_at_their_days_rate(
    board, signed_in
):
    world, first, stages = board
    response = signed_in(world.cast.rep).get(reverse("board"))
    totals = column_totals(response)
    # the world's own open CNY deal (1,000) plus 100 USD at 8.0
    assert totals[first.name] == (2, Decimal("1800"))
    assert totals[stages[Stage.Kind.WON].name] == (2, Decimal("780"))  # 100 × 7 + 10 × 8
    assert totals[stages[Stage.Kind.LOST].name] == (1, Decimal("8"))
    assert '<span class="count">2</span>' in response.text


def test_an_administrator_sees_everyones_deals_in_the_totals(board, signed_in):
    world, first, _stages = board
    totals = column_totals(signed_in(world.cast.admin).get(reverse("board")))
    # rep's two, the outsider's world deal and the outsider's 5,000 USD deal
    assert totals[first.name][0] == 4


def test_cards_are_paged_per_column_within_the_users_scope(world, signed_in):
    first = world.pipeline.stages.order_by("order").first()
    for _i in range(CARDS + 3):
        DealFactory(owner=world.cast.rep, customer=world.east.customer, pipeline=world.pipeline)
        DealFactory(owner=world.cast.outsider, pipeline=world.pipeline)
    client = signed_in(world.cast.rep)
    page = client.get(reverse("board"))
    column = next(c for c in page.context["columns"] if c["stage"] == first)
    assert len(column["cards"]) == CARDS and column["cursor"]
    more = client.get(
        reverse("board_column", args=[world.pipeline.pk, first.pk]), {"after": column["cursor"]}
    )
    rest = more.context["column"]["cards"]
    shown = [d.pk for d in column["cards"]] + [d.pk for d in rest]
    mine = Deal.objects.visible_to(world.cast.rep).filter(stage=first).values_list("pk", flat=True)
    assert sorted(shown) == sorted(mine)
    assert more.context["column"]["cursor"] is None


def test_a_user_without_the_right_to_view_deals_gets_403(world, signed_in):
    role = world.cast.rep.role
    role.rights = {k: v for k, v in role.rights.items() if k != "deal"}
    role.save()
    client = signed_in(world.cast.rep)
    first = world.pipeline.stages.order_by("order").first()
    assert client.get(reverse("board")).status_code == 403
    assert (
        client.get(reverse("board_column", args=[world.pipeline.pk, first.pk])).status_code == 403
    )
