"""A small crafted data set for the collections tests (values worked out by hand).

Organisation: base CNY, Asia/Shanghai. USD 7.0 from 2026-01-01, 7.2 from 2026-11-01.
Today: 2026-12-07 (Shanghai).

Alpha (rep, CNY contract C-A of 10,000):
  A1 due 2026-10-01 3,000; A2 due 2026-11-10 3,000; A3 due 2027-01-10 4,000.
  Paid: 1,000 linked to A2 on 11-12; 3,500 unlinked on 11-20 → FIFO: A1 3,000 (paid),
  A2 500 more (1,500 owed, 27 days → 1–30), A3 4,000 owed (not due).
  A deleted instalment A4 (1,000 due 2026-09-01) does not count.
Beta (rep, USD contract C-B of 5,000):
  B1 due 09-07 2,000 (91 days → 90+), 500 paid linked on 09-20 → 1,500 owed;
  B2 due 10-08 1,000 (60 days → 31–60); B3 due 09-08 1,000 (90 days → 61–90);
  B4 due 12-06 500 (1 day → 1–30); B5 due 12-07 500 (0 days → not due).
  A deleted unlinked payment of 1,000 does not count.
  In CNY at 7.2: B1 10,800; B2 7,200; B3 7,200; B4 3,600; B5 3,600.
Gamma (outsider in West, CNY contract C-G of 2,000): G1 due 11-01 2,000 unpaid (36 days).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from salesops.crm.models import Contract, Customer, Payment, PaymentPlan
from salesops.org.models import Currency, ExchangeRate

D = dt.date
TODAY = D(2026, 12, 7)


@dataclass
class Data:
    cast: Any
    alpha: Customer
    beta: Customer
    gamma: Customer
    plans: dict[str, PaymentPlan]
    contracts: dict[str, Contract]


def contract(number: str, cust: Customer, amount: int, currency: str = "CNY") -> Contract:
    return Contract.objects.create(
        number=number,
        title=number,
        customer=cust,
        amount=Decimal(amount),
        currency_id=currency,
        owner=cust.owner,
        status="active",
        signed_on=D(2026, 8, 1),
    )


def plan(c: Contract, due: dt.date, amount: int, *, deleted: bool = False) -> PaymentPlan:
    return PaymentPlan.objects.create(
        contract=c,
        due_on=due,
        amount=Decimal(amount),
        owner=c.owner,
        deleted_at=timezone.now() if deleted else None,
    )


def pay(
    c: Contract,
    amount: int | str,
    day: dt.date,
    plan: PaymentPlan | None = None,
    *,
    deleted: bool = False,
) -> Payment:
    return Payment.objects.create(
        contract=c,
        plan=plan,
        amount=Decimal(amount),
        currency_id=c.currency_id,
        received_on=day,
        owner=c.owner,
        deleted_at=timezone.now() if deleted else None,
    )


def build(cast: Any) -> Data:
    org = cast.org
    org.base_currency_id = "CNY"
    org.time_zone = "Asia/Shanghai"
    org.save()
    # (a browser test's database may have lost the currencies migrations put in)
    Currency.objects.get_or_create(code="USD", defaults={"name": "US Dollar", "symbol": "$"})
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 1, 1), rate=Decimal("7.0"))
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 11, 1), rate=Decimal("7.2"))
    alpha = Customer.objects.create(name="Alpha", owner=cast.rep, industry="Retail")
    beta = Customer.objects.create(name="Beta", owner=cast.rep, industry="Retail")
    gamma = Customer.objects.create(name="Gamma", owner=cast.outsider, industry="Energy")
    ca = contract("C-A", alpha, 11_000)
    cb = contract("C-B", beta, 5_000, "USD")
    cg = contract("C-G", gamma, 2_000)
    p = {
        "A1": plan(ca, D(2026, 10, 1), 3000),
        "A2": plan(ca, D(2026, 11, 10), 3000),
        "A3": plan(ca, D(2027, 1, 10), 4000),
        "A4": plan(ca, D(2026, 9, 1), 1000, deleted=True),
        "B1": plan(cb, D(2026, 9, 7), 2000),
        "B2": plan(cb, D(2026, 10, 8), 1000),
        "B3": plan(cb, D(2026, 9, 8), 1000),
        "B4": plan(cb, D(2026, 12, 6), 500),
        "B5": plan(cb, D(2026, 12, 7), 500),
        "G1": plan(cg, D(2026, 11, 1), 2000),
    }
    pay(ca, 1000, D(2026, 11, 12), p["A2"])
    pay(ca, 3500, D(2026, 11, 20))
    pay(cb, 500, D(2026, 9, 20), p["B1"])
    pay(cb, 1000, D(2026, 9, 21), deleted=True)
    return Data(cast, alpha, beta, gamma, p, {"A": ca, "B": cb, "G": cg})
