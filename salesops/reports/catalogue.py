"""What a report may touch: the object types of the metadata registry that have a list
page, and their fields (built-in, derived through a related record, and custom) as the
field policy lets the reader use them. This module lists no field itself.

A field's ORM path comes from the registry, never from the user; custom fields are read
from the JSON column by their validated key. A field the reader's role hides (directly
or through `hidden_by`) is refused exactly like an unknown one.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from salesops.customization import policy, registry
from salesops.customization.policy import FieldRefused
from salesops.customization.registry import FieldSpec, ObjectSpec
from salesops.users.models import OBJECT_TYPES

_TEXT_OPS = ("eq", "in", "contains", "empty")
_PICK_OPS = ("eq", "in", "empty")
_RANGE_OPS = ("eq", "gte", "lte", "between", "empty")
#: The registry's field types a report handles, and the operators each accepts.
OPERATORS: dict[str, tuple[str, ...]] = {
    registry.TEXT: _TEXT_OPS,
    registry.EMAIL: _TEXT_OPS,
    registry.PHONE: _TEXT_OPS,
    registry.URL: _TEXT_OPS,
    registry.CHOICE: _PICK_OPS,
    registry.REF: _PICK_OPS,
    registry.BOOL: ("eq", "empty"),
    registry.INTEGER: _RANGE_OPS,
    registry.NUMBER: _RANGE_OPS,
    registry.MONEY: _RANGE_OPS,
    registry.DATE: _RANGE_OPS,
    registry.DATETIME: _RANGE_OPS,
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
#: How the registry's uses of a field are named for each part of a definition.
USES = {"filter": "filter", "group": "group", "measure": "show", "show": "show"}


def _has_custom_column(spec: ObjectSpec) -> bool:
    return spec.customisable and any(f.name == "custom" for f in spec.model._meta.fields)


def objects(*, custom: bool = True) -> dict[str, ObjectSpec]:
    """The report objects, in the roles' order: every registered object type with a
    list page whose records carry their own rights and data scope (`visible_to`), then
    the active custom objects (each has its list page, its rights under its key, and
    `spec.visible(user)` for its records). `custom=False`: the built-in ones only
    (known without the database)."""
    order = {key: i for i, (key, _label) in enumerate(OBJECT_TYPES)}
    found = [
        spec
        for spec in registry.objects(custom=False)
        if spec.list_url
        and spec.key in order
        and getattr(spec.model, "object_type", None) == spec.key
        and hasattr(spec.model._default_manager, "visible_to")
    ]
    out = {spec.key: spec for spec in sorted(found, key=lambda s: order[s.key])}
    if custom:
        for spec in registry.objects():
            if spec.is_custom_object:
                out[spec.key] = spec
    return out


def object_choices() -> list[tuple[str, Any]]:
    return [(key, spec.plural) for key, spec in objects().items()]


def reportable(spec: ObjectSpec, f: FieldSpec) -> bool:
    """Can a report read `f` at all (whoever asks)? Fields of a type it cannot filter,
    group or measure (long text, lists, JSON), internal columns, references without a
    name to show, and custom fields of records without custom values are left out."""
    if f.type not in OPERATORS or f.internal or not f.path:
        return False
    if f.is_custom:
        return f.type != registry.REF and _has_custom_column(spec)
    return f.type != registry.REF or _named_by_text(spec.model, f.name_path)


def _named_by_text(model: Any, name_path: str) -> bool:
    """Is a reference named by text (a filter "is Acme" compares names)? A payment's
    plan, named by its due date, is not offered."""
    if not name_path:
        return False
    *hops, last = name_path.split("__")
    for hop in hops:
        model = model._meta.get_field(hop).related_model
    return isinstance(model._meta.get_field(last), models.CharField | models.TextField)


def fields_for(object_type: str, user: Any) -> dict[str, FieldSpec]:
    """The fields of `object_type` that `user` may use in a report, by key, in the
    registry's order: built-in, derived and active custom fields less the hidden ones."""
    spec = registry.get(object_type)
    visible = policy.visible_fields(user, object_type, derived=True)
    return {f.key: f for f in visible if reportable(spec, f)}


def plain_key(key: str) -> str:
    """A field key as the registry names it. Definitions saved before custom fields
    took their plain keys name them "custom.<key>"."""
    return key.removeprefix("custom.") if key.startswith("custom.") else key


def field_for(user: Any, object_type: str, key: str, *, use: str) -> FieldSpec:
    """The field `key` of `object_type` for `use` ("filter", "group", "measure",
    "show") by `user`, or FieldRefused. Unknown, hidden and unreportable fields get the
    same message, so the answer does not tell whether a hidden one exists."""
    spec = registry.get(object_type)
    plain = plain_key(key)
    try:
        f = policy.field_for(user, object_type, plain, use=USES[use])
    except FieldRefused as e:
        if e.code != "unknown":
            raise
        f = None
    if f is None or not reportable(spec, f):
        raise FieldRefused(
            _("Choose one of the fields offered. “%(key)s” no longer exists or is hidden from you.")
            % {"key": plain[:60]},
            code="unknown",
        )
    if use == "measure" and not f.measure:
        raise FieldRefused(
            _("Only numbers and amounts can be summed or averaged."), code="not_measurable"
        )
    return f


def source_field(f: FieldSpec) -> FieldSpec | None:
    """The field a derived field reads (a deal's "customer.industry" reads the
    customer's industry), for its options; None for the others."""
    if not f.derived or not f.hidden_by:
        return None
    other, key = f.hidden_by[0]
    spec = registry.find(other)
    return spec.field(key) if spec is not None else None


def options(f: FieldSpec) -> list[tuple[str, Any]]:
    """(value, label) options of a choice field, or of the choice field a derived field
    reads; [] for the others."""
    if f.type == registry.CHOICE:
        return f.options()
    src = source_field(f)
    return src.options() if src is not None and src.type == registry.CHOICE else []
