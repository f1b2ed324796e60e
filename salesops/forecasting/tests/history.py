"""A crafted pipeline history (organisation: base CNY, Asia/Shanghai; USD 7.0 from
2026-01-01 and 7.2 from 2026-08-15), snapshotted on 2026-07-10 and 2026-08-20.

The rep's (East) deals, all expected in 2026-Q3 unless said, at the first snapshot →
the second:
  a 1000 → 1500 (increased +500)        b 2000 → 1200 (decreased −800)
  c 100 USD: 700 → 720 (rate, +20)      d 3000, expected close → 2026-10-15 (pushed out)
  e 4000 won (−4000)                    f 5000 lost (−5000)
  g 600 deleted (−600)                  h 800 expected 2026-11-01 → 2026-09-15 (pulled in)
  i 900 won before the first snapshot, reopened since (new +900)
  j 700 created after the first snapshot (new +700)
The outsider's (West) deal z 99999, unchanged.
Start 16300, end 5820 = 16300 + 1600 + 520 − 800 + 800 − 3000 − 4000 − 5000 − 600.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from salesops.analytics.periods import parse_period
from salesops.crm import services
from salesops.crm.models import Deal
from salesops.crm.tests.factories import PipelineFactory
from salesops.forecasting.snapshots import take_snapshot
from salesops.org.models import Currency, ExchangeRate

D = dt.date
Q3 = parse_period("2026-Q3")
FIRST, SECOND, TODAY = D(2026, 7, 10), D(2026, 8, 20), D(2026, 9, 1)


def set_up_org(cast):
    org = cast.org
    org.base_currency_id = "CNY"
    org.time_zone = "Asia/Shanghai"
    org.save()
    # (a browser test's database may have lost the currencies migrations put in)
    Currency.objects.get_or_create(code="USD", defaults={"name": "US Dollar", "symbol": "$"})
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 1, 1), rate=Decimal("7.0"))
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 8, 15), rate=Decimal("7.2"))
    return org


@dataclass
class History:
    deals: dict[str, Any]
    pipeline: Any


def build_history(cast):
    pipeline = PipelineFactory(is_default=True)
    rep, outsider = cast.rep, cast.outsider
    acme = services.create_customer(by=rep, name="Acme")
    west = services.create_customer(by=outsider, name="Westco")
    aug, oct_, nov, sep = D(2026, 8, 1), D(2026, 10, 15), D(2026, 11, 1), D(2026, 9, 15)

    def deal(name, amount, close=aug, currency=None, by=rep, customer=acme):
        return services.create_deal(
            by=by,
            customer=customer,
            name=name,
            amount=amount,
            currency=currency,
            expected_close=close,
        )

    d = {n: deal(n, a) for n, a in [("a", 1000), ("b", 2000), ("d", 3000), ("e", 4000)]}
    d["c"] = deal("c", 100, currency="USD")
    d["f"] = deal("f", 5000)
    d["g"] = deal("g", 600)
    d["h"] = deal("h", 800, close=nov)
    d["i"] = deal("i", 900)
    d["z"] = deal("z", 99999, by=outsider, customer=west)
    services.mark_deal_won(deal=d["i"], by=rep)
    take_snapshot(day=FIRST)

    Deal.objects.filter(pk=d["a"].pk).update(amount=1500)
    Deal.objects.filter(pk=d["b"].pk).update(amount=1200)
    Deal.objects.filter(pk=d["d"].pk).update(expected_close=oct_)
    Deal.objects.filter(pk=d["h"].pk).update(expected_close=sep)
    services.mark_deal_won(deal=d["e"], by=rep)
    services.mark_deal_lost(deal=d["f"], by=rep, reason="price")
    services.delete_record(obj=d["g"], by=rep)
    services.reopen_deal(deal=Deal.objects.get(pk=d["i"].pk), by=rep)
    d["j"] = deal("j", 700)
    take_snapshot(day=SECOND)
    return History(d, pipeline)
