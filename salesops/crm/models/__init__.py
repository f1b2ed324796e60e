from salesops.crm.models.commerce import (
    Contract,
    Payment,
    PaymentPlan,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
)
from salesops.crm.models.customers import Contact, Customer, Lead, PoolEvent, PoolRule, Tag
from salesops.crm.models.deals import Deal, DealLine, StageHistory

__all__ = [
    "Contact",
    "Contract",
    "Customer",
    "Deal",
    "DealLine",
    "Lead",
    "Payment",
    "PaymentPlan",
    "PoolEvent",
    "PoolRule",
    "PriceList",
    "PriceListItem",
    "Product",
    "Quote",
    "QuoteLine",
    "StageHistory",
    "Tag",
]
