"""The tables the generator fills and the order of the values in its row tuples.

Names are model field names; `bulk.Loader` turns them into the real table and column
names through each model's `_meta`, so nothing here hard-codes a database name.

These lists are the generator's tuple layouts, not the models' field lists (which live
in the models and the metadata registry): a field the generator does not fill is left
out here and `Loader` writes its default, so adding a field with a default to a model
does not break the seed. Taking the lists from `_meta.concrete_fields` would tie every
hot-loop tuple in `history.py` to the models' field order and make each new model field
break the seed until the generator learned it (stage history's order already differs).
"""

from __future__ import annotations

from django.db import models

from salesops.activities.models import FollowUp, Task
from salesops.crm.models import (
    Contact,
    Contract,
    Customer,
    Deal,
    DealLine,
    Lead,
    Payment,
    PaymentPlan,
    PoolEvent,
    PoolRule,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    StageHistory,
    Tag,
)
from salesops.customization.models import CustomField, Picklist, PicklistOption
from salesops.org.models import ExchangeRate, Holiday, Organisation
from salesops.pipeline.models import Pipeline, Stage
from salesops.users.models import Role, Target, User

_SOFT = ["id", "created_at", "updated_at", "deleted_at", "version"]
_OWNED = [*_SOFT, "owner", "custom"]

TABLES: dict[str, tuple[type[models.Model], list[str]]] = {
    # configuration (small)
    "organisation": (
        Organisation,
        [
            "id",
            "name",
            "base_currency",
            "time_zone",
            "fiscal_year_start_month",
            "locale",
            "activity_window_days",
            "gross_margin",
        ],
    ),
    "rate": (ExchangeRate, ["id", "currency", "effective_on", "rate"]),
    "holiday": (Holiday, ["id", "day", "kind", "name"]),
    "picklist": (Picklist, ["id", "key", "name"]),
    "picklist_option": (PicklistOption, ["id", "picklist", "value", "label", "order", "active"]),
    "custom_field": (
        CustomField,
        [
            "id",
            "object_type",
            "key",
            "label",
            "field_type",
            "required",
            "options",
            "order",
            "active",
            "help_text",
        ],
    ),
    "pipeline": (Pipeline, ["id", "name", "is_default", "active", "order"]),
    "stage": (
        Stage,
        ["id", "pipeline", "name", "order", "probability", "forecast_category", "kind"],
    ),
    "role": (
        Role,
        ["id", "name", "data_scope", "rights", "hidden_fields", "is_sales_rep", "is_admin"],
    ),
    "user": (
        User,
        [
            "id",
            "password",
            "last_login",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
            "display_name",
            "phone",
            "language",
            "team",
            "reports_to",
            "role",
        ],
    ),
    "product": (
        Product,
        [
            *_SOFT,
            "name",
            "sku",
            "category",
            "unit",
            "price",
            "currency",
            "active",
            "description",
            "custom",
        ],
    ),
    "price_list": (PriceList, ["id", "name", "currency", "valid_from", "valid_until", "active"]),
    "price_list_item": (PriceListItem, ["id", "price_list", "product", "price"]),
    "pool_rule": (
        PoolRule,
        [
            "id",
            "name",
            "team",
            "reclaim_after_days_without_followup",
            "reclaim_after_days_without_won_deal",
            "max_customers_per_rep",
            "reclaim_block_days",
            "warning_days",
            "active",
        ],
    ),
    "tag": (Tag, ["id", "name"]),
    # history (large)
    "lead": (
        Lead,
        [
            *_OWNED,
            "name",
            "company",
            "title",
            "phone",
            "email",
            "source",
            "industry",
            "region",
            "status",
            "notes",
            "created_on",
            "converted_at",
            "converted_customer",
            "converted_contact",
            "converted_deal",
        ],
    ),
    "customer": (
        Customer,
        [
            *_OWNED,
            "name",
            "industry",
            "size",
            "region",
            "lifecycle_stage",
            "phone",
            "email",
            "website",
            "address",
            "source_lead",
            "last_followup_at",
            "last_won_on",
            "owned_since",
            "pool_entered_at",
        ],
    ),
    "customer_tag": (Customer.tags.through, ["id", "customer", "tag"]),
    "contact": (
        Contact,
        [
            *_OWNED,
            "customer",
            "name",
            "title",
            "phone",
            "mobile",
            "email",
            "wechat",
            "is_primary",
            "notes",
        ],
    ),
    "pool_event": (PoolEvent, ["id", "customer", "user", "kind", "at", "reason"]),
    "deal": (
        Deal,
        [
            *_OWNED,
            "name",
            "customer",
            "contact",
            "pipeline",
            "stage",
            "amount",
            "currency",
            "expected_close",
            "closed_on",
            "status",
            "probability",
            "forecast_category",
            "lost_reason",
            "lost_note",
            "source",
            "created_on",
            "stage_entered_at",
            "source_lead",
        ],
    ),
    "deal_collaborator": (Deal.collaborators.through, ["id", "deal", "user"]),
    "stage_history": (
        StageHistory,
        ["id", "deal", "stage", "entered_at", "left_at", "entered_by", "advanced"],
    ),
    "deal_line": (DealLine, ["id", "deal", "product", "quantity", "unit_price", "discount_pct"]),
    "quote": (
        Quote,
        [
            *_OWNED,
            "number",
            "deal",
            "customer",
            "currency",
            "status",
            "discount_pct",
            "valid_until",
            "notes",
        ],
    ),
    "quote_line": (
        QuoteLine,
        [
            "id",
            "quote",
            "product",
            "description",
            "quantity",
            "unit_price",
            "discount_pct",
            "order",
        ],
    ),
    "contract": (
        Contract,
        [
            *_OWNED,
            "number",
            "title",
            "customer",
            "deal",
            "amount",
            "currency",
            "status",
            "signed_on",
            "starts_on",
            "ends_on",
        ],
    ),
    "payment_plan": (PaymentPlan, [*_OWNED, "contract", "due_on", "amount", "note"]),
    "payment": (
        Payment,
        [*_OWNED, "contract", "plan", "amount", "currency", "received_on", "method", "reference"],
    ),
    "followup": (
        FollowUp,
        [
            *_OWNED,
            "kind",
            "occurred_at",
            "duration_minutes",
            "subject",
            "outcome",
            "next_step",
            "lead",
            "customer",
            "contact",
            "deal",
        ],
    ),
    "task": (
        Task,
        [
            *_OWNED,
            "title",
            "description",
            "due_at",
            "remind_at",
            "reminded_at",
            "done_at",
            "priority",
            "created_by",
            "lead",
            "customer",
            "contact",
            "deal",
        ],
    ),
    "target": (Target, [*_SOFT, "user", "team", "metric", "period_kind", "period_start", "value"]),
}

#: Tables big enough at scale that dropping and rebuilding their indexes pays.
BIG_TABLES = [
    "lead",
    "customer",
    "contact",
    "deal",
    "stage_history",
    "deal_line",
    "quote",
    "quote_line",
    "contract",
    "payment_plan",
    "payment",
    "followup",
    "task",
    "pool_event",
    "customer_tag",
    "deal_collaborator",
]
