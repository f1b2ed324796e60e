"""A crafted forecast data set, with the figures worked out by hand.

Organisation: base CNY; USD 7.0 from 2026-01-01 and 7.2 from 2026-08-15 (the latest
rate, at which open deals count). Period: FY2026-Q3 = 2026-07-01 .. 2026-09-30 (the
fiscal year starts in January).

rep (East):
  won 1000 CNY on 07-10, won 100 USD on 08-01 (× 7.0 = 700)          closed   1 700
  open commit 2000 (exp. 08-15)                                       commit   3 700
  open best case 3000 (exp. 09-30)                                    best     6 700
  open pipeline 100 USD (exp. 07-05, × 7.2 = 720)                     pipeline 7 420
  left out: open omitted 5000 in Q3, open commit 4000 expected 10-01, a deleted
  commit 9000 in Q3, won 800 on 06-30, lost 600 on 07-20.
rep_east1 (East-1): won 500 on 09-01, open commit 1000 (exp. 09-15):
  closed 500, commit 1500, best case 1500, pipeline 1500.
outsider (West): won 10000 on 07-01, open commit 20000 (exp. 07-31):
  closed 10000, commit 30000, best case 30000, pipeline 30000.
East (manager): closed 2200, commit 5200, best case 8200, pipeline 8920.
Organisation: closed 12200, commit 35200, best case 38200, pipeline 38920.
"""

import datetime as dt
from decimal import Decimal

import pytest

from salesops.crm.models import Customer, Deal
from salesops.crm.tests.factories import PipelineFactory
from salesops.forecasting.queries import forecast_period
from salesops.org.models import ExchangeRate

D = dt.date


@pytest.fixture
def org(cast):
    org = cast.org
    org.base_currency_id = "CNY"
    org.fiscal_year_start_month = 1
    org.save()
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 1, 1), rate=Decimal("7.0"))
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 8, 15), rate=Decimal("7.2"))
    return org


@pytest.fixture
def q3(org):
    return forecast_period("FY2026-Q3")


@pytest.fixture
def pipeline(db):
    return PipelineFactory(name="New business", is_default=True)


def make_deal(
    pipeline,
    owner,
    amount,
    *,
    status="open",
    category="pipeline",
    expected=None,
    closed=None,
    currency="CNY",
    name=None,
):
    stage_name = {"won": "Won", "lost": "Lost", "open": "Negotiate"}[status]
    cust = Customer.objects.create(name=f"Customer of {name or amount}", owner=owner)
    if status == "won":
        category = "closed"
    elif status == "lost":
        category = "omitted"
    return Deal.objects.create(
        name=name or f"{owner.username} {amount} {category}",
        customer=cust,
        pipeline=pipeline,
        stage=pipeline.stages.get(name=stage_name),
        amount=Decimal(amount),
        currency_id=currency,
        status=status,
        forecast_category=category,
        expected_close=expected or closed,
        closed_on=closed,
        created_on=D(2026, 1, 1),
        owner=owner,
    )


@pytest.fixture
def deals(cast, org, pipeline):
    rep, e1, out = cast.rep, cast.rep_east1, cast.outsider
    m = make_deal
    return {
        "r_won1": m(pipeline, rep, "1000", status="won", closed=D(2026, 7, 10)),
        "r_won2": m(pipeline, rep, "100", status="won", closed=D(2026, 8, 1), currency="USD"),
        "r_commit": m(pipeline, rep, "2000", category="commit", expected=D(2026, 8, 15)),
        "r_best": m(pipeline, rep, "3000", category="best_case", expected=D(2026, 9, 30)),
        "r_pipe": m(
            pipeline, rep, "100", category="pipeline", expected=D(2026, 7, 5), currency="USD"
        ),
        "r_omitted": m(pipeline, rep, "5000", category="omitted", expected=D(2026, 8, 1)),
        "r_later": m(pipeline, rep, "4000", category="commit", expected=D(2026, 10, 1)),
        "r_deleted": m(pipeline, rep, "9000", category="commit", expected=D(2026, 8, 2)),
        "r_won_before": m(pipeline, rep, "800", status="won", closed=D(2026, 6, 30)),
        "r_lost": m(pipeline, rep, "600", status="lost", closed=D(2026, 7, 20)),
        "e1_won": m(pipeline, e1, "500", status="won", closed=D(2026, 9, 1)),
        "e1_commit": m(pipeline, e1, "1000", category="commit", expected=D(2026, 9, 15)),
        "o_won": m(pipeline, out, "10000", status="won", closed=D(2026, 7, 1)),
        "o_commit": m(pipeline, out, "20000", category="commit", expected=D(2026, 7, 31)),
    }


@pytest.fixture
def data(deals):
    deals["r_deleted"].soft_delete()
    return deals


# -- the crafted pipeline history (history.py) of the snapshot and waterfall tests ----------


@pytest.fixture
def history_org(cast):
    from salesops.forecasting.tests.history import set_up_org

    return set_up_org(cast)


@pytest.fixture
def history(cast, history_org):
    from salesops.forecasting.tests.history import build_history

    return build_history(cast)


# -- the statistical forecast's data (data.py) -------------------------------------------


@pytest.fixture
def stat_history(cast):
    from salesops.forecasting.tests.data import make_history

    return make_history(cast)


@pytest.fixture
def closed_period(cast):
    from salesops.forecasting.tests.data import make_closed_period

    return make_closed_period(cast)
