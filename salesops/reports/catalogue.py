"""What a report may touch: per object type, the allow-listed fields it can filter,
group and measure, with their types. Nothing outside this list ever reaches a query;
custom fields join the list from their definitions.

A field's `path` is an ORM path chosen here, never by the user; custom fields are read
from the JSON column by their validated key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesops.activities.models import FollowUp, Task
from salesops.crm.models import Contact, Contract, Customer, Deal, Lead, Payment, Quote
from salesops.customization.models import CustomField
from salesops.customization.services import definitions
from salesops.users.models import OBJECT_TYPES

#: Field types and the operators each accepts.
OPERATORS: dict[str, tuple[str, ...]] = {
    "text": ("eq", "in", "contains", "empty"),
    "choice": ("eq", "in", "empty"),
    "ref": ("eq", "in", "empty"),
    "bool": ("eq", "empty"),
    "number": ("eq", "gte", "lte", "between", "empty"),
    "money": ("eq", "gte", "lte", "between", "empty"),
    "date": ("eq", "gte", "lte", "between", "empty"),
    "datetime": ("eq", "gte", "lte", "between", "empty"),
}
OPERATOR_LABELS: dict[str, Any] = {
    "eq": pgettext_lazy("report operator", "is"),
    "in": pgettext_lazy("report operator", "is one of"),
    "contains": pgettext_lazy("report operator", "contains"),
    "gte": pgettext_lazy("report operator", "on or after / at least"),
    "lte": pgettext_lazy("report operator", "on or before / at most"),
    "between": pgettext_lazy("report operator", "between"),
    "empty": pgettext_lazy("report operator", "is empty"),
}
BUCKETS: dict[str, Any] = {
    "day": pgettext_lazy("date bucket", "Day"),
    "week": pgettext_lazy("date bucket", "Week"),
    "month": pgettext_lazy("date bucket", "Month"),
    "quarter": pgettext_lazy("date bucket", "Quarter"),
    "year": pgettext_lazy("date bucket", "Year"),
    "fiscal_quarter": pgettext_lazy("date bucket", "Fiscal quarter"),
    "fiscal_year": pgettext_lazy("date bucket", "Fiscal year"),
}
AGGREGATES: dict[str, Any] = {
    "count": pgettext_lazy("report measure", "Count"),
    "sum": pgettext_lazy("report measure", "Sum"),
    "mean": pgettext_lazy("report measure", "Mean"),
    "median": pgettext_lazy("report measure", "Median"),
}


@dataclass(frozen=True)
class Field:
    """One allow-listed field of a report object."""

    key: str
    label: Any
    type: str
    #: ORM path of the stored value (for a reference: its id column).
    path: str
    #: How a reference is named in filters and labels ("owner__username").
    name_path: str = ""
    #: Fixed choices (value, label) for choice fields.
    choices: tuple[tuple[str, Any], ...] = ()
    #: A numeric field that can be summed, averaged and its median taken.
    measure: bool = False
    #: For money: the currency column and the date its rate is taken on (None: the
    #: latest rate, as open pipeline is converted).
    currency_path: str = ""
    rate_date_path: str | None = None
    #: Field names (object type, name) that hide this one when a role hides them.
    hidden_by: tuple[tuple[str, str], ...] = ()
    custom: CustomField | None = field(default=None, compare=False)

    @property
    def groupable(self) -> bool:
        return self.type != "money"

    @property
    def is_custom(self) -> bool:
        return self.custom is not None


@dataclass(frozen=True)
class ReportObject:
    object_type: str
    label: Any
    model: type[models.Model]
    fields: tuple[Field, ...]
    #: The record page a drilled row links to (URL name), or "" for none.
    detail_url: str = ""


def _choices(model: type[models.Model], name: str) -> tuple[tuple[str, Any], ...]:
    return tuple(model._meta.get_field(name).choices or ())  # type: ignore[union-attr]


def _owner() -> Field:
    return Field("owner", _("owner"), "ref", "owner_id", "owner__username")


def _created_at() -> Field:
    return Field("created_at", _("created at"), "datetime", "created_at")


def _customer(path: str = "customer") -> Field:
    return Field("customer", _("customer"), "ref", f"{path}_id", f"{path}__name")


def _customer_attr(name: str, label: Any, path: str = "customer") -> Field:
    return Field(
        f"customer.{name}",
        label,
        "text",
        f"{path}__{name}",
        hidden_by=(("customer", name),),
    )


def _objects() -> dict[str, ReportObject]:
    lead = ReportObject(
        "lead",
        _("Leads"),
        Lead,
        (
            Field("name", _("contact name"), "text", "name"),
            Field("company", _("company"), "text", "company"),
            Field("source", _("source"), "text", "source"),
            Field("industry", _("industry"), "text", "industry"),
            Field("region", _("region"), "text", "region"),
            Field("status", _("status"), "choice", "status", choices=_choices(Lead, "status")),
            _owner(),
            Field("created_on", _("created on"), "date", "created_on"),
            Field("converted_at", _("converted at"), "datetime", "converted_at"),
        ),
        "lead_detail",
    )
    customer = ReportObject(
        "customer",
        _("Customers"),
        Customer,
        (
            Field("name", _("name"), "text", "name"),
            Field("industry", _("industry"), "text", "industry"),
            Field("region", _("region"), "text", "region"),
            Field("size", _("size"), "choice", "size", choices=_choices(Customer, "size")),
            Field(
                "lifecycle_stage",
                _("lifecycle stage"),
                "choice",
                "lifecycle_stage",
                choices=_choices(Customer, "lifecycle_stage"),
            ),
            _owner(),
            _created_at(),
            Field("last_won_on", _("last deal won on"), "date", "last_won_on"),
            Field("last_followup_at", _("last follow-up at"), "datetime", "last_followup_at"),
        ),
        "customer_detail",
    )
    contact = ReportObject(
        "contact",
        _("Contacts"),
        Contact,
        (
            Field("name", _("name"), "text", "name"),
            Field("title", _("job title"), "text", "title"),
            _customer(),
            Field("is_primary", _("primary contact"), "bool", "is_primary"),
            _owner(),
            _created_at(),
        ),
        "contact_detail",
    )
    deal = ReportObject(
        "deal",
        _("Deals"),
        Deal,
        (
            Field("name", _("name"), "text", "name"),
            Field("status", _("status"), "choice", "status", choices=_choices(Deal, "status")),
            Field("pipeline", _("pipeline"), "ref", "pipeline_id", "pipeline__name"),
            Field("stage", _("stage"), "ref", "stage_id", "stage__name"),
            _customer(),
            _customer_attr("industry", _("customer industry")),
            _customer_attr("region", _("customer region")),
            _owner(),
            Field("source", _("source"), "text", "source"),
            Field(
                "forecast_category",
                _("forecast category"),
                "choice",
                "forecast_category",
                choices=_choices(Deal, "forecast_category"),
            ),
            Field("lost_reason", _("lost reason"), "text", "lost_reason"),
            Field(
                "amount",
                _("amount"),
                "money",
                "amount",
                measure=True,
                currency_path="currency_id",
                rate_date_path="closed_on",
            ),
            Field("probability", _("probability (%)"), "number", "probability", measure=True),
            Field("expected_close", _("expected close date"), "date", "expected_close"),
            Field("closed_on", _("closed on"), "date", "closed_on"),
            Field("created_on", _("created on"), "date", "created_on"),
            _created_at(),
        ),
        "deal_detail",
    )
    followup = ReportObject(
        "followup",
        _("Follow-ups"),
        FollowUp,
        (
            Field("kind", _("kind"), "choice", "kind", choices=_choices(FollowUp, "kind")),
            Field("occurred_at", _("occurred at"), "datetime", "occurred_at"),
            Field(
                "duration_minutes",
                _("duration (minutes)"),
                "number",
                "duration_minutes",
                measure=True,
            ),
            Field("subject", _("subject"), "text", "subject"),
            _customer(),
            Field("deal", _("deal"), "ref", "deal_id", "deal__name"),
            _owner(),
            _created_at(),
        ),
        "followup_detail",
    )
    task = ReportObject(
        "task",
        _("Tasks"),
        Task,
        (
            Field("title", _("title"), "text", "title"),
            Field(
                "priority", _("priority"), "choice", "priority", choices=_choices(Task, "priority")
            ),
            Field("due_at", _("due at"), "datetime", "due_at"),
            Field("done_at", _("done at"), "datetime", "done_at"),
            _owner(),
            _created_at(),
        ),
        "task_detail",
    )
    quote = ReportObject(
        "quote",
        _("Quotes"),
        Quote,
        (
            Field("number", _("number"), "text", "number"),
            Field("status", _("status"), "choice", "status", choices=_choices(Quote, "status")),
            _customer(),
            Field("deal", _("deal"), "ref", "deal_id", "deal__name"),
            Field(
                "discount_pct", _("overall discount (%)"), "number", "discount_pct", measure=True
            ),
            Field("valid_until", _("valid until"), "date", "valid_until"),
            _owner(),
            _created_at(),
        ),
        "quote_detail",
    )
    contract = ReportObject(
        "contract",
        _("Contracts"),
        Contract,
        (
            Field("number", _("number"), "text", "number"),
            Field("title", _("title"), "text", "title"),
            Field("status", _("status"), "choice", "status", choices=_choices(Contract, "status")),
            _customer(),
            _customer_attr("industry", _("customer industry")),
            Field(
                "amount",
                _("amount"),
                "money",
                "amount",
                measure=True,
                currency_path="currency_id",
                rate_date_path="signed_on",
            ),
            Field("signed_on", _("signed on"), "date", "signed_on"),
            Field("starts_on", _("starts on"), "date", "starts_on"),
            Field("ends_on", _("ends on"), "date", "ends_on"),
            _owner(),
        ),
        "contract_detail",
    )
    payment = ReportObject(
        "payment",
        _("Payments"),
        Payment,
        (
            Field("contract", _("contract"), "ref", "contract_id", "contract__number"),
            Field(
                "amount",
                _("amount"),
                "money",
                "amount",
                measure=True,
                currency_path="currency_id",
                rate_date_path="received_on",
            ),
            Field("received_on", _("received on"), "date", "received_on"),
            Field("method", _("method"), "choice", "method", choices=_choices(Payment, "method")),
            Field("reference", _("reference"), "text", "reference"),
            _owner(),
        ),
        "",
    )
    return {
        o.object_type: o
        for o in (lead, customer, contact, deal, followup, task, quote, contract, payment)
    }


_OBJECTS: dict[str, ReportObject] = {}

#: Custom-field types and the report type they behave as.
CUSTOM_TYPES = {
    CustomField.Type.TEXT: "text",
    CustomField.Type.EMAIL: "text",
    CustomField.Type.PHONE: "text",
    CustomField.Type.URL: "text",
    CustomField.Type.SELECT: "choice",
    CustomField.Type.BOOLEAN: "bool",
    CustomField.Type.NUMBER: "number",
    CustomField.Type.MONEY: "money",
    CustomField.Type.DATE: "date",
    CustomField.Type.DATETIME: "datetime",
}


def objects() -> dict[str, ReportObject]:
    if not _OBJECTS:
        _OBJECTS.update(_objects())
    return _OBJECTS


def object_choices() -> list[tuple[str, Any]]:
    labels = dict(OBJECT_TYPES)
    return [(key, o.label or labels[key]) for key, o in objects().items()]


def custom_field(d: CustomField) -> Field | None:
    """The report field of a custom-field definition (None: not reportable, e.g. long
    text or multiple select)."""
    kind = (
        CUSTOM_TYPES.get(CustomField.Type(d.field_type))
        if d.field_type in CustomField.Type.values
        else None
    )
    if kind is None:
        return None
    choices = tuple(
        (str(o["value"]), o.get("label") or o["value"])
        for o in d.options
        if isinstance(o, dict) and "value" in o
    )
    return Field(
        f"custom.{d.key}",
        d.label,
        kind,
        f"custom__{d.key}",
        choices=choices,
        measure=kind in ("number", "money"),
        custom=d,
    )


def fields_for(object_type: str, user: Any) -> dict[str, Field]:
    """The fields of `object_type` that `user` may use, by key: the built-in ones and the
    active custom fields, minus those their role hides."""
    obj = objects()[object_type]
    out = {f.key: f for f in obj.fields}
    for d in definitions(object_type):
        f = custom_field(d)
        if f is not None:
            out[f.key] = f
    return {k: f for k, f in out.items() if not is_hidden(f, object_type, user)}


def is_hidden(f: Field, object_type: str, user: Any) -> bool:
    hidden_of: Callable[[str], set[str]] = getattr(user, "hidden_fields", lambda _t: set())
    own = hidden_of(object_type)
    if f.key in own or f.key.removeprefix("custom.") in own:
        return True
    # A reference hides with its name; a related attribute with the related field.
    if "." in f.key and not f.is_custom and f.key.split(".", 1)[0] in own:
        return True
    return any(name in hidden_of(t) for t, name in f.hidden_by)
