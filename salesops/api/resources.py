"""Every resource of API v1. The registered object types take their fields, input
bodies, filters and sorts from the metadata registry (`customization.registry`); a
resource states what it expands, what it computes and which service each write calls.
People, teams, roles and the set-up records list their own few fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from salesops.activities import services as activities
from salesops.activities import update_services as activity_updates
from salesops.activities.models import FollowUp, Task
from salesops.api.framework import Ref, Resource
from salesops.api.schemas import in_schema
from salesops.crm import commerce_services as commerce
from salesops.crm import services as crm
from salesops.crm.models import (
    Contact,
    Contract,
    Customer,
    Deal,
    Lead,
    Payment,
    PaymentPlan,
    PriceList,
    Product,
    Quote,
    Tag,
)
from salesops.customization import admin_services as fields_admin
from salesops.customization.models import CustomField
from salesops.org.models import ExchangeRate
from salesops.pipeline.models import Pipeline, Stage
from salesops.users import admin_services as admin
from salesops.users import target_services as targets
from salesops.users.models import Role, Target, Team, User


def scoped(model: Any) -> Any:
    return lambda user: model.objects.visible_to(user)


def scoped_deleted(model: Any) -> Any:
    return lambda user: model.all_objects.visible_to(user).deleted()


def everyone(model: Any) -> Any:
    return lambda user: model.objects.all()


def crm_update(user: Any, obj: Any, data: dict[str, Any], version: int | None) -> Any:
    custom = data.pop("custom", None)
    allow = data.pop("allow_duplicate", True)
    return crm.update_record(
        obj=obj, by=user, data=data, custom=custom, version=version, allow_duplicate=allow
    )


def crm_delete(user: Any, obj: Any) -> None:
    crm.delete_record(obj=obj, by=user)


def crm_restore(user: Any, obj: Any) -> None:
    crm.restore_record(obj=obj, by=user)


def _people(user: Any) -> Any:
    return User.objects.defer("password")


USERS_REF = Ref(_people)

# -- people ----------------------------------------------------------------------------

USER_IN = [
    "username",
    "display_name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "language",
    "team",
    "reports_to",
    "role",
    "is_active",
]
PASSWORD = {
    "password": (
        str | None,
        Field(
            None,
            max_length=128,
            description="The first password (required on create); never shown back.",
        ),
    )
}


def _save_user(u: Any, d: dict[str, Any], user: User | None = None) -> User:
    password = d.pop("password", None) or ""
    return admin.save_user(by=u, data=d, user=user, password=password)


users = Resource(
    name="users",
    model=User,
    tag="Users and teams",
    fields=[
        "id",
        "username",
        "display_name",
        "first_name",
        "last_name",
        "email",
        "phone",
        "team",
        "reports_to",
        "role",
        "is_active",
        "language",
    ],
    queryset=_people,
    filters=["team", "reports_to", "role", "is_active", "username"],
    sorts=["id", "username"],
    default_sort="username",
    expand={"team": "teams", "reports_to": "users", "role": "roles"},
    versioned=False,
    content_etag=True,
    can_write=admin.is_admin,
    create_schema=in_schema(
        "UserCreate", User, [*USER_IN, "password"], required=("username",), extra=PASSWORD
    ),
    create=_save_user,
    update_schema=in_schema(
        "UserUpdate", User, [*USER_IN, "password"], extra=PASSWORD, partial=True
    ),
    update=lambda u, o, d, v: _save_user(u, d, o),
    refs={"team": Ref(everyone(Team)), "reports_to": USERS_REF, "role": Ref(everyone(Role))},
    bulk=False,
    description="Everyone signed in may read the people of the organisation; "
    "administrators add and change them. There is no delete: `is_active: false` "
    "deactivates a person (they can no longer sign in, and their API tokens are "
    "revoked); their records stay theirs.",
)

teams = Resource(
    name="teams",
    model=Team,
    tag="Users and teams",
    fields=["id", "name", "parent", "manager", "path"],
    queryset=everyone(Team),
    filters=["parent", "name"],
    sorts=["id", "name", "path"],
    default_sort="path",
    expand={"parent": "teams", "manager": "users"},
    versioned=False,
    content_etag=True,
    can_write=admin.is_admin,
    create_schema=in_schema("TeamCreate", Team, ["name", "parent", "manager"], required=("name",)),
    create=lambda u, d: admin.save_team(by=u, data=d),
    update_schema=in_schema("TeamUpdate", Team, ["name", "parent", "manager"], partial=True),
    update=lambda u, o, d, v: admin.save_team(by=u, data=d, team=o),
    delete=lambda u, o: admin.delete_team(by=u, team=o),
    refs={"parent": Ref(everyone(Team)), "manager": USERS_REF},
    bulk=False,
    description="Everyone signed in may read the team tree; administrators change it. "
    "Changing `parent` moves the team with its sub-teams. Only an empty team (no "
    "people, sub-teams or targets) can be deleted, and that cannot be undone.",
)


def _roles(user: Any) -> Any:
    return Role.objects.all() if admin.is_admin(user) else Role.objects.none()


roles = Resource(
    name="roles",
    model=Role,
    tag="Users and teams",
    fields=["id", "name", "data_scope", "is_sales_rep", "is_admin"],
    queryset=_roles,
    filters=["name", "data_scope", "is_sales_rep", "is_admin"],
    sorts=["id", "name"],
    default_sort="name",
    versioned=False,
    description="Administrators only: the roles to give people (`role` of a user).",
)

# -- leads, customers, contacts -----------------------------------------------------------

leads = Resource(
    name="leads",
    model=Lead,
    tag="Leads",
    object_type="lead",
    also=["converted_deal"],
    queryset=scoped(Lead),
    deleted_queryset=scoped_deleted(Lead),
    expand={
        "owner": "users",
        "converted_customer": "customers",
        "converted_contact": "contacts",
        "converted_deal": "deals",
    },
    create_omit=("status",),
    create_required=("name",),
    create=lambda u, d: crm.create_lead(
        by=u, owner=d.pop("owner", None), custom=d.pop("custom", None), **d
    ),
    update_omit=("owner",),
    update=crm_update,
    delete=crm_delete,
    restore=crm_restore,
    refs={"owner": USERS_REF},
    checks_duplicates=True,
)


customers = Resource(
    name="customers",
    model=Customer,
    tag="Customers",
    object_type="customer",
    computed={
        "tags": (list[int], lambda c: [t.pk for t in c.tags.all()]),
        "in_pool": (bool, lambda c: c.owner_id is None),
    },
    prefetch=["tags"],
    queryset=scoped(Customer),
    deleted_queryset=scoped_deleted(Customer),
    expand={"owner": "users", "source_lead": "leads"},
    create_omit=("tags",),
    create_required=("name",),
    create_extra={
        "owner": (int | None, Field(None, description="Omit: you. null: the public pool.")),
    },
    create=lambda u, d: crm.create_customer(
        by=u, owner=d.pop("owner", "me"), custom=d.pop("custom", None), **d
    ),
    update_omit=("owner",),
    update_extra={"tags": (list[int] | None, Field(None, max_length=100))},
    update=crm_update,
    delete=crm_delete,
    restore=crm_restore,
    refs={"owner": USERS_REF, "tags": Ref(everyone(Tag), many=True)},
    checks_duplicates=True,
)

contacts = Resource(
    name="contacts",
    model=Contact,
    tag="Contacts",
    object_type="contact",
    queryset=scoped(Contact),
    deleted_queryset=scoped_deleted(Contact),
    default_sort="name",
    expand={"customer": "customers", "owner": "users"},
    create_omit=("owner",),
    create_required=("customer", "name"),
    create=lambda u, d: crm.create_contact(by=u, custom=d.pop("custom", None), **d),
    update_omit=("owner", "customer"),
    update=crm_update,
    delete=crm_delete,
    restore=crm_restore,
    refs={"customer": Ref(scoped(Customer))},
    checks_duplicates=True,
)

# -- deals ---------------------------------------------------------------------------------

deals = Resource(
    name="deals",
    model=Deal,
    tag="Deals",
    object_type="deal",
    also=["stage_entered_at"],
    queryset=scoped(Deal),
    deleted_queryset=scoped_deleted(Deal),
    expand={
        "customer": "customers",
        "contact": "contacts",
        "owner": "users",
        "pipeline": "pipelines",
        "stage": "stages",
    },
    create_omit=("forecast_category",),
    create_required=("customer", "name"),
    create=lambda u, d: crm.create_deal(by=u, **d),
    # The stage moves through the actions, the owner by a transfer.
    update_omit=("owner", "customer", "pipeline", "stage"),
    update=crm_update,
    delete=crm_delete,
    restore=crm_restore,
    refs={
        "customer": Ref(scoped(Customer)),
        "contact": Ref(scoped(Contact)),
        "owner": USERS_REF,
        "pipeline": Ref(everyone(Pipeline)),
        "stage": Ref(everyone(Stage)),
    },
)

# -- follow-ups and tasks ----------------------------------------------------------------------

LINKS = {
    "lead": Ref(scoped(Lead)),
    "customer": Ref(scoped(Customer)),
    "contact": Ref(scoped(Contact)),
    "deal": Ref(scoped(Deal)),
}
LINK_EXPAND = {
    "lead": "leads",
    "customer": "customers",
    "contact": "contacts",
    "deal": "deals",
    "owner": "users",
}

followups = Resource(
    name="followups",
    model=FollowUp,
    tag="Follow-ups and tasks",
    object_type="followup",
    queryset=scoped(FollowUp),
    deleted_queryset=scoped_deleted(FollowUp),
    default_sort="-occurred_at",
    expand=LINK_EXPAND,
    create_omit=("owner",),
    create_required=("kind",),
    create=lambda u, d: activities.log_followup(by=u, **d),
    update_omit=("owner", *LINKS),
    update=lambda u, o, d, v: activity_updates.update_followup(
        followup=o, by=u, custom=d.pop("custom", None), data=d, version=v
    ),
    delete=crm_delete,
    restore=crm_restore,
    refs=LINKS,
    description="Logging a follow-up moves its customer's last follow-up forward; changing "
    "when it happened keeps that date the latest of the customer's follow-ups. What a "
    "follow-up is linked to cannot be changed.",
)

tasks = Resource(
    name="tasks",
    model=Task,
    tag="Follow-ups and tasks",
    object_type="task",
    queryset=scoped(Task),
    deleted_queryset=scoped_deleted(Task),
    default_sort="due_at",
    expand=LINK_EXPAND,
    writes_custom=False,
    # Done through the complete action; links and owner fixed once created.
    create_omit=("done_at",),
    create_required=("title",),
    create=lambda u, d: activities.create_task(by=u, **d),
    update_omit=("owner", "done_at", *LINKS),
    update=lambda u, o, d, v: activity_updates.update_task(task=o, by=u, data=d, version=v),
    delete=crm_delete,
    restore=crm_restore,
    refs={**LINKS, "owner": USERS_REF},
)

# -- products, price lists, quotes, contracts, payments ---------------------------------------

products = Resource(
    name="products",
    model=Product,
    tag="Products and quotes",
    object_type="product",
    queryset=scoped(Product),
    deleted_queryset=scoped_deleted(Product),
    default_sort="name",
    create_required=("name", "price"),
    create=lambda u, d: crm.create_product(by=u, custom=d.pop("custom", None), **d),
    update=crm_update,
    delete=crm_delete,
    restore=crm_restore,
)


class PriceListItemOut(Schema):
    product: int
    price: str


def _price_lists(user: Any) -> Any:
    if not user.has_right("product", "view"):
        return PriceList.objects.none()
    return PriceList.objects.all()


def _retired_price_lists(user: Any) -> Any:
    return _price_lists(user).filter(active=False)


class PriceListItemIn(Schema):
    model_config = {"extra": "forbid"}
    product: int
    price: Decimal = Field(..., ge=0, max_digits=18, decimal_places=2)


PRICE_LIST_IN = ["name", "currency", "valid_from", "valid_until", "active", "items"]
ITEMS = {"items": (list[PriceListItemIn] | None, Field(None, max_length=1000))}


def _items_in(d: dict[str, Any]) -> list[dict[str, Any]] | None:
    items = d.pop("items", None)
    return None if items is None else [dict(item) for item in items]


price_lists = Resource(
    name="price-lists",
    model=PriceList,
    tag="Products and quotes",
    fields=["id", "name", "currency", "valid_from", "valid_until", "active"],
    computed={
        "items": (
            list[PriceListItemOut],
            lambda p: [{"product": i.product_id, "price": str(i.price)} for i in p.items.all()],
        )
    },
    prefetch=["items"],
    queryset=_price_lists,
    deleted_queryset=_retired_price_lists,
    filters=["name", "currency", "active", "valid_from", "valid_until"],
    sorts=["id", "name"],
    default_sort="name",
    versioned=False,
    content_etag=True,
    can_write=admin.is_admin,
    create_schema=in_schema(
        "PriceListCreate", PriceList, PRICE_LIST_IN, required=("name",), extra=ITEMS
    ),
    create=lambda u, d: commerce.create_price_list(by=u, items=_items_in(d), **d),
    update_schema=in_schema("PriceListUpdate", PriceList, PRICE_LIST_IN, extra=ITEMS, partial=True),
    update=lambda u, o, d, v: commerce.update_price_list(
        price_list=o, by=u, items=_items_in(d), data=d
    ),
    delete=lambda u, o: commerce.retire_price_list(price_list=o, by=u),
    restore=lambda u, o: commerce.retire_price_list(price_list=o, by=u, active=True),
    bulk=False,
    description="Everyone with the product view right may read; administrators change. "
    "Items sent on update replace all the list's items. Price lists have no recycle bin: "
    "DELETE retires a list (`active: false`, items kept), `?deleted=true` lists the "
    "retired ones and restore puts one back in use.",
)


class QuoteLineOut(Schema):
    id: int
    product: int | None
    description: str
    quantity: str
    unit_price: str
    discount_pct: str
    total: str


class QuoteLineIn(Schema):
    model_config = {"extra": "forbid"}
    product: int | None = None
    description: str = Field("", max_length=300)
    quantity: Decimal = Field(Decimal(1), gt=0, max_digits=14, decimal_places=2)
    unit_price: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    discount_pct: Decimal = Field(Decimal(0), ge=0, le=100, max_digits=5, decimal_places=2)


class TotalsOut(Schema):
    subtotal: str
    discount: str
    total: str


def _quote_lines(q: Quote) -> list[dict[str, Any]]:
    return [
        {
            "id": ln.pk,
            "product": ln.product_id,
            "description": ln.description,
            "quantity": str(ln.quantity),
            "unit_price": str(ln.unit_price),
            "discount_pct": str(ln.discount_pct),
            "total": str(ln.total),
        }
        for ln in q.lines.all()
    ]


LINES = {"lines": (list[QuoteLineIn] | None, Field(None, max_length=200))}


def _lines_in(d: dict[str, Any]) -> list[dict[str, Any]] | None:
    lines = d.pop("lines", None)
    return None if lines is None else [dict(line) for line in lines]


quotes = Resource(
    name="quotes",
    model=Quote,
    tag="Products and quotes",
    object_type="quote",
    computed={
        "lines": (list[QuoteLineOut], _quote_lines),
        "totals": (TotalsOut, lambda q: {k: str(v) for k, v in q.totals().items()}),
    },
    prefetch=["lines"],
    queryset=scoped(Quote),
    deleted_queryset=scoped_deleted(Quote),
    expand={"customer": "customers", "deal": "deals", "owner": "users"},
    create_omit=("owner",),
    create_required=("customer",),
    create_extra=LINES,
    create=lambda u, d: commerce.create_quote(by=u, lines=_lines_in(d), **d),
    update_omit=("owner", "customer"),
    update_extra=LINES,
    update=lambda u, o, d, v: commerce.update_quote(
        quote=o, by=u, lines=_lines_in(d), custom=d.pop("custom", None), data=d, version=v
    ),
    delete=crm_delete,
    restore=crm_restore,
    refs={"customer": Ref(scoped(Customer)), "deal": Ref(scoped(Deal))},
    description="Lines sent on update replace all the quote's lines.",
)

contracts = Resource(
    name="contracts",
    model=Contract,
    tag="Contracts and payments",
    object_type="contract",
    queryset=scoped(Contract),
    deleted_queryset=scoped_deleted(Contract),
    expand={"customer": "customers", "deal": "deals", "owner": "users"},
    create_omit=("owner",),
    create_required=("customer", "title", "amount"),
    create=lambda u, d: commerce.create_contract(by=u, **d),
    update_omit=("owner", "customer"),
    update=lambda u, o, d, v: commerce.update_contract(
        contract=o, by=u, custom=d.pop("custom", None), data=d, version=v
    ),
    delete=crm_delete,
    restore=crm_restore,
    refs={"customer": Ref(scoped(Customer)), "deal": Ref(scoped(Deal))},
)

payment_plans = Resource(
    name="payment-plans",
    model=PaymentPlan,
    tag="Contracts and payments",
    object_type="payment_plan",
    queryset=scoped(PaymentPlan),
    deleted_queryset=scoped_deleted(PaymentPlan),
    default_sort="due_on",
    expand={"contract": "contracts", "owner": "users"},
    create_omit=("owner",),
    create_required=("contract", "due_on", "amount"),
    create=lambda u, d: commerce.create_payment_plan(by=u, **d),
    update_omit=("owner", "contract"),
    update=lambda u, o, d, v: commerce.update_payment_plan(plan=o, by=u, data=d, version=v),
    delete=crm_delete,
    restore=crm_restore,
    refs={"contract": Ref(scoped(Contract))},
)

payments = Resource(
    name="payments",
    model=Payment,
    tag="Contracts and payments",
    object_type="payment",
    queryset=scoped(Payment),
    deleted_queryset=scoped_deleted(Payment),
    default_sort="-received_on",
    expand={"contract": "contracts", "plan": "payment-plans", "owner": "users"},
    writes_custom=False,
    # The currency is the contract's.
    create_omit=("owner", "currency"),
    create_required=("amount", "received_on"),
    create=lambda u, d: crm.record_payment(by=u, **d),
    delete=crm_delete,
    restore=crm_restore,
    refs={"contract": Ref(scoped(Contract)), "plan": Ref(scoped(PaymentPlan))},
    description="A payment cannot exceed what is outstanding on its contract and instalment.",
)

# -- targets -------------------------------------------------------------------------------------

targets_resource = Resource(
    name="targets",
    model=Target,
    tag="Targets",
    object_type="target",
    queryset=scoped(Target),
    deleted_queryset=scoped_deleted(Target),
    default_sort="period_start",
    expand={"user": "users", "team": "teams"},
    create_required=("metric", "period_kind", "period_start", "value"),
    create=lambda u, d: targets.create_target(by=u, **d),
    update_omit=("user", "team"),
    update=lambda u, o, d, v: targets.update_target(target=o, by=u, data=d, version=v),
    delete=crm_delete,
    restore=crm_restore,
    refs={"user": USERS_REF, "team": Ref(everyone(Team))},
)

# -- set-up: pipelines, stages, custom fields, exchange rates ------------------------------------


class PipelineStageOut(Schema):
    id: int
    name: str
    order: int
    probability: int
    forecast_category: str
    kind: str
    required_fields: list[str]


#: The deal fields a stage requires before a deal may enter it (keys of the registry).
REQUIRED_FIELDS = (
    list[str] | None,
    Field(
        None,
        max_length=100,
        description="Keys of the deal fields (built-in or custom) that must be filled in "
        "before a deal may enter the stage.",
    ),
)


class StageIn(Schema):
    model_config = {"extra": "forbid"}
    name: str = Field(..., max_length=100)
    probability: int = Field(0, ge=0, le=100)
    forecast_category: Literal["pipeline", "best_case", "commit", "closed", "omitted"] = "pipeline"
    kind: Literal["open", "won", "lost"] = "open"
    required_fields: list[str] = Field(default_factory=list, max_length=100)


def _stages(p: Pipeline) -> list[dict[str, Any]]:
    return [
        {
            "id": s.pk,
            "name": s.name,
            "order": s.order,
            "probability": s.probability,
            "forecast_category": s.forecast_category,
            "kind": s.kind,
            "required_fields": s.required_fields or [],
        }
        for s in p.stages.all()
    ]


ADMIN_ONLY = "Everyone signed in may read; administrators change."

pipelines = Resource(
    name="pipelines",
    model=Pipeline,
    tag="Set-up",
    fields=["id", "name", "is_default", "active", "order"],
    computed={"stages": (list[PipelineStageOut], _stages)},
    prefetch=["stages"],
    queryset=everyone(Pipeline),
    filters=["name", "is_default", "active"],
    sorts=["id", "order", "name"],
    default_sort="order",
    versioned=False,
    create_schema=in_schema(
        "PipelineCreate",
        Pipeline,
        ["name", "is_default", "active", "order", "stages"],
        required=("name",),
        extra={"stages": (list[StageIn] | None, Field(None, max_length=50))},
    ),
    create=lambda u, d: commerce.create_pipeline(
        by=u, stages=[dict(s) for s in d.pop("stages", None) or []] or None, **d
    ),
    update_schema=in_schema(
        "PipelineUpdate", Pipeline, ["name", "is_default", "active", "order"], partial=True
    ),
    update=lambda u, o, d, v: commerce.update_pipeline(pipeline=o, by=u, data=d),
    bulk=False,
    description=ADMIN_ONLY,
)

stages = Resource(
    name="stages",
    model=Stage,
    tag="Set-up",
    fields=[
        "id",
        "pipeline",
        "name",
        "order",
        "probability",
        "forecast_category",
        "kind",
        "required_fields",
    ],
    queryset=everyone(Stage),
    filters=["pipeline", "kind"],
    sorts=["id", "order"],
    default_sort="id",
    expand={"pipeline": "pipelines"},
    versioned=False,
    create_schema=in_schema(
        "StageCreate",
        Stage,
        ["pipeline", "name", "probability", "forecast_category", "position", "required_fields"],
        required=("pipeline", "name"),
        extra={
            "position": (int | None, Field(None, ge=1, description="1-based; default: last open.")),
            "required_fields": REQUIRED_FIELDS,
        },
    ),
    create=lambda u, d: commerce.add_stage(by=u, **d),
    update_schema=in_schema(
        "StageUpdate",
        Stage,
        ["name", "probability", "forecast_category", "required_fields"],
        extra={"required_fields": REQUIRED_FIELDS},
        partial=True,
    ),
    update=lambda u, o, d, v: commerce.update_stage(stage=o, by=u, data=d),
    refs={"pipeline": Ref(everyone(Pipeline))},
    bulk=False,
    description=ADMIN_ONLY + " New stages are open stages.",
)

CF_EDITABLE = ["label", "required", "options", "order", "active", "help_text", "default"]
CF_EXTRA = {
    "options": (list[dict[str, Any]] | None, Field(None, max_length=500)),
    "default": (
        Any,
        Field(
            None,
            description="The value a new record takes when none is given, checked like "
            "the field's values (a select's option value; a list for multiple select); "
            "null for none.",
        ),
    ),
}
custom_fields = Resource(
    name="custom-fields",
    model=CustomField,
    tag="Set-up",
    fields=[
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
        "default",
    ],
    queryset=everyone(CustomField),
    filters=["object_type", "key", "field_type", "active"],
    sorts=["id", "order", "key"],
    default_sort="id",
    versioned=False,
    create_schema=in_schema(
        "CustomFieldCreate",
        CustomField,
        ["object_type", "key", "field_type", *CF_EDITABLE],
        required=("object_type", "key", "label", "field_type"),
        extra=CF_EXTRA,
    ),
    # The customisation services: a built-in field's key is refused, the default is
    # checked like the field's values, every change is audited.
    create=lambda u, d: fields_admin.create_custom_field(by=u, **d),
    update_schema=in_schema(
        "CustomFieldUpdate", CustomField, CF_EDITABLE, extra=CF_EXTRA, partial=True
    ),
    update=lambda u, o, d, v: fields_admin.update_custom_field(field=o, by=u, data=d),
    bulk=False,
    description=ADMIN_ONLY,
)

exchange_rates = Resource(
    name="exchange-rates",
    model=ExchangeRate,
    tag="Set-up",
    fields=["id", "currency", "effective_on", "rate"],
    queryset=everyone(ExchangeRate),
    filters=["currency", "effective_on"],
    sorts=["id", "effective_on"],
    default_sort="-effective_on",
    versioned=False,
    create_schema=in_schema(
        "ExchangeRateCreate",
        ExchangeRate,
        ["currency", "effective_on", "rate"],
        required=("currency", "effective_on", "rate"),
        extra={"currency": (str, Field(..., min_length=3, max_length=3))},
    ),
    create=lambda u, d: commerce.set_exchange_rate(by=u, **d),
    update_schema=in_schema("ExchangeRateUpdate", ExchangeRate, ["rate"], partial=True),
    update=lambda u, o, d, v: commerce.update_exchange_rate(rate=o, by=u, data=d),
    description=ADMIN_ONLY + " 1 unit of the currency = rate × the base currency.",
)

#: In the order the routes and the documentation list them.
ALL = [
    leads,
    customers,
    contacts,
    deals,
    followups,
    tasks,
    products,
    price_lists,
    quotes,
    contracts,
    payment_plans,
    payments,
    targets_resource,
    pipelines,
    stages,
    custom_fields,
    exchange_rates,
    users,
    teams,
    roles,
]
