"""Factories for the crm models that `factories.py` does not cover."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from salesops.crm.models import (
    Contract,
    DealLine,
    Payment,
    PaymentPlan,
    PoolEvent,
    PoolRule,
    PriceList,
    PriceListItem,
    Quote,
    QuoteLine,
    StageHistory,
    Tag,
)
from salesops.crm.tests.factories import CustomerFactory, DealFactory, ProductFactory
from salesops.users.tests.factories import UserFactory


class TagFactory(factory.django.DjangoModelFactory[Tag]):
    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"Tag {n}")


class QuoteFactory(factory.django.DjangoModelFactory[Quote]):
    class Meta:
        model = Quote

    owner = None
    number = factory.Sequence(lambda n: f"Q-{n:06d}")
    customer = factory.SubFactory(CustomerFactory, owner=factory.SelfAttribute("..owner"))
    currency_id = "CNY"


class QuoteLineFactory(factory.django.DjangoModelFactory[QuoteLine]):
    class Meta:
        model = QuoteLine

    quote = factory.SubFactory(QuoteFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = Decimal(2)
    unit_price = Decimal("100.00")


class ContractFactory(factory.django.DjangoModelFactory[Contract]):
    class Meta:
        model = Contract

    owner = None
    number = factory.Sequence(lambda n: f"C-{n:06d}")
    title = factory.Sequence(lambda n: f"Contract {n}")
    customer = factory.SubFactory(CustomerFactory, owner=factory.SelfAttribute("..owner"))
    amount = Decimal("5000.00")
    currency_id = "CNY"


class PaymentPlanFactory(factory.django.DjangoModelFactory[PaymentPlan]):
    class Meta:
        model = PaymentPlan

    owner = None
    contract = factory.SubFactory(ContractFactory, owner=factory.SelfAttribute("..owner"))
    due_on = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=30))
    amount = Decimal("2500.00")


class PaymentFactory(factory.django.DjangoModelFactory[Payment]):
    class Meta:
        model = Payment

    owner = None
    contract = factory.SubFactory(ContractFactory, owner=factory.SelfAttribute("..owner"))
    amount = Decimal("1000.00")
    currency_id = "CNY"
    received_on = factory.LazyFunction(dt.date.today)


class DealLineFactory(factory.django.DjangoModelFactory[DealLine]):
    class Meta:
        model = DealLine

    deal = factory.SubFactory(DealFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = Decimal(1)
    unit_price = Decimal("100.00")


class StageHistoryFactory(factory.django.DjangoModelFactory[StageHistory]):
    """The current stay of a deal in its stage."""

    class Meta:
        model = StageHistory

    deal = factory.SubFactory(DealFactory)
    stage = factory.SelfAttribute("deal.stage")
    entered_at = factory.LazyFunction(timezone.now)


class PriceListFactory(factory.django.DjangoModelFactory[PriceList]):
    class Meta:
        model = PriceList

    name = factory.Sequence(lambda n: f"Price list {n}")
    currency_id = "CNY"


class PriceListItemFactory(factory.django.DjangoModelFactory[PriceListItem]):
    class Meta:
        model = PriceListItem

    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(ProductFactory)
    price = Decimal("90.00")


class PoolRuleFactory(factory.django.DjangoModelFactory[PoolRule]):
    class Meta:
        model = PoolRule

    name = factory.Sequence(lambda n: f"Pool rule {n}")
    reclaim_after_days_without_followup = 30


class PoolEventFactory(factory.django.DjangoModelFactory[PoolEvent]):
    class Meta:
        model = PoolEvent

    customer = factory.SubFactory(CustomerFactory)
    user = factory.SubFactory(UserFactory)
    kind = PoolEvent.Kind.CLAIMED
