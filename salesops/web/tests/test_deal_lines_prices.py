"""Price lists are used (issue 12 §5): a quote's or a deal's product line takes its unit
price from the deal's price list, else the customer's, else the product's list price, in
the line's currency; and a deal's product lines are added, changed and removed on the
deal page, through audited services, by those who may edit the deal and see its amount."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from salesops.audit.models import AuditEntry
from salesops.audit.services import object_type_of
from salesops.crm import commerce_services as commerce
from salesops.crm.models import Customer, Deal, DealLine
from salesops.crm.tests.more_factories import PriceListFactory, PriceListItemFactory
from salesops.org.models import Currency, ExchangeRate
from salesops.users.models import Role


@pytest.fixture
def lists(world):
    """Widget lists at 100; the customer's list says 80, the deal's list says 70."""
    customer_list = PriceListFactory(name="Customer list")
    deal_list = PriceListFactory(name="Deal list")
    PriceListItemFactory(price_list=customer_list, product=world.product, price="80.00")
    PriceListItemFactory(price_list=deal_list, product=world.product, price="70.00")
    return customer_list, deal_list


def _price(world, **kw):
    deal = Deal.objects.get(pk=world.east.deal.pk)
    return commerce.unit_price_for(world.product, currency="CNY", deal=deal, **kw)


def test_price_from_the_deals_list_else_the_customers_else_the_products(world, lists):
    customer_list, deal_list = lists
    assert _price(world) == Decimal("100.00")
    Customer.objects.filter(pk=world.east.customer.pk).update(price_list=customer_list)
    assert _price(world) == Decimal("80.00")
    Deal.objects.filter(pk=world.east.deal.pk).update(price_list=deal_list)
    assert _price(world) == Decimal("70.00")
    # A retired list, or one past its dates, passes its turn to the next.
    type(deal_list).objects.filter(pk=deal_list.pk).update(active=False)
    assert _price(world) == Decimal("80.00")
    type(customer_list).objects.filter(pk=customer_list.pk).update(valid_until=dt.date(2000, 1, 1))
    assert _price(world) == Decimal("100.00")


def test_a_list_in_another_currency_is_converted_or_refused(world, lists):
    Currency.objects.get_or_create(code="USD", defaults={"name": "US dollar", "symbol": "$"})
    usd_list = PriceListFactory(name="Dollar list", currency_id="USD")
    PriceListItemFactory(price_list=usd_list, product=world.product, price="10.00")
    Deal.objects.filter(pk=world.east.deal.pk).update(price_list=usd_list)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        _price(world)
    assert "exchange rate" in str(refused.value)
    ExchangeRate.objects.create(
        currency_id="USD", effective_on=dt.date(2000, 1, 1), rate=Decimal("7.1")
    )
    assert _price(world) == Decimal("71.00")


def test_a_quote_line_takes_the_list_price_and_a_typed_price_wins(world, lists):
    customer_list, _deal_list = lists
    customer = Customer.objects.get(pk=world.east.customer.pk)
    Customer.objects.filter(pk=customer.pk).update(price_list=customer_list)
    customer.refresh_from_db()
    quote = commerce.create_quote(
        by=world.cast.rep,
        customer=customer,
        lines=[
            {"product": world.product.pk, "quantity": 2},
            {"product": world.product.pk, "quantity": 1, "unit_price": "95"},
        ],
    )
    assert [line.unit_price for line in quote.lines.all()] == [Decimal("80.00"), Decimal("95.00")]


def _post(client, name, deal, *args, **data):
    return client.post(reverse(name, args=[deal.pk, *args]), data)


def test_lines_added_changed_removed_on_the_deal_page_audited(world, lists, signed_in):
    _customer_list, deal_list = lists
    deal = world.east.deal
    Deal.objects.filter(pk=deal.pk).update(price_list=deal_list)
    client = signed_in(world.cast.rep)
    page = client.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert 'id="deal-line-add"' in page

    response = _post(client, "deal_line_add", deal, product=world.product.pk, quantity="3")
    assert response.status_code == 302
    line = DealLine.objects.get(deal=deal)
    assert (line.quantity, line.unit_price) == (Decimal("3.00"), Decimal("70.00"))

    _post(
        client, "deal_line_change", deal, line.pk, quantity="4", unit_price="65", discount_pct="10"
    )
    line.refresh_from_db()
    assert (line.quantity, line.unit_price, line.discount_pct) == (
        Decimal("4.00"),
        Decimal("65.00"),
        Decimal("10.00"),
    )
    page = client.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert "234.00" in page  # 4 × 65 less 10%

    # Bad input: a clear message, nothing written.
    response = _post(client, "deal_line_change", deal, line.pk, quantity="0")
    line.refresh_from_db()
    assert line.quantity == Decimal("4.00")
    followed = client.get(response.url).content.decode()
    assert "The quantity must be more than zero." in followed

    _post(client, "deal_line_remove", deal, line.pk)
    assert not DealLine.objects.filter(deal=deal).exists()

    entries = AuditEntry.objects.filter(
        object_type=object_type_of(deal), object_id=deal.pk, actor=world.cast.rep
    )
    assert [e.changes["lines"] for e in entries.order_by("at", "pk")] == [
        {"old": None, "new": "Widget × 3.00"},
        {"old": "Widget × 3.00", "new": "Widget × 4.00"},
        {"old": "Widget × 4.00", "new": None},
    ]


def test_who_may_not_edit_the_deal_gets_no_form_and_403(world, signed_in):
    deal = world.east.deal
    line = DealLine.objects.create(deal=deal, product=world.product, unit_price="100")
    client = signed_in(world.cast.analyst)  # sees every deal, edits none
    page = client.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert 'id="deal-line-add"' not in page
    assert _post(client, "deal_line_add", deal, product=world.product.pk).status_code == 403
    assert _post(client, "deal_line_change", deal, line.pk, quantity="9").status_code == 403
    assert _post(client, "deal_line_remove", deal, line.pk).status_code == 403
    # Someone else's deal that one may not see at all: not found.
    outsider = signed_in(world.cast.outsider)
    assert _post(outsider, "deal_line_remove", deal, line.pk).status_code == 404
    line.refresh_from_db()
    assert line.quantity == Decimal("1.00")


def test_a_role_that_hides_the_amount_sees_no_line_prices(world, signed_in):
    Role.objects.filter(name="Rep").update(hidden_fields={"deal": ["amount"]})
    deal = world.east.deal
    line = DealLine.objects.create(deal=deal, product=world.product, unit_price="4321.99")
    client = signed_in(world.cast.rep)
    page = client.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert "4,321.99" not in page and "4321.99" not in page
    assert 'id="deal-line-add"' not in page
    assert _post(client, "deal_line_change", deal, line.pk, unit_price="1").status_code == 403
    line.refresh_from_db()
    assert line.unit_price == Decimal("4321.99")


def test_the_price_lists_are_set_through_the_record_services(world, lists):
    from salesops.crm import services as crm

    customer_list, deal_list = lists
    rep = world.cast.rep
    customer = Customer.objects.get(pk=world.east.customer.pk)
    crm.update_record(obj=customer, by=rep, data={"price_list": customer_list.pk})
    deal = Deal.objects.get(pk=world.east.deal.pk)
    line = commerce.add_deal_line(deal=deal, by=rep, product=world.product)
    assert line.unit_price == Decimal("80.00")
    crm.update_record(obj=deal, by=rep, data={"price_list": deal_list.pk})
    deal.refresh_from_db()
    line = commerce.add_deal_line(deal=deal, by=rep, product=world.product, quantity=2)
    assert line.unit_price == Decimal("70.00")


def test_the_edit_pages_offer_the_price_list(world, lists, signed_in):
    client = signed_in(world.cast.rep)
    for kind, record in (("deal", world.east.deal), ("customer", world.east.customer)):
        page = client.get(reverse(f"{kind}_edit", args=[record.pk])).content.decode()
        assert 'name="price_list"' in page, kind
        assert "Deal list" in page and "Customer list" in page, kind
