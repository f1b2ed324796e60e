"""Stage gating: the deal fields that must be filled before a deal may enter a stage.

A stage lists them by key (`Stage.required_fields`); the keys are those of the deal's
fields in the metadata registry that a person sets and that may be empty
(`requirable_fields`): built-in editable fields and active custom fields. The deal
services (`crm.services`) refuse a move or a creation into a stage while any of them is
empty (`missing`), naming them by their labels."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from salesops.customization import registry

#: Set by the move itself: never "missing" when a deal enters a stage.
_SET_BY_THE_MOVE = frozenset({"pipeline", "stage"})


def requirable_fields() -> list[registry.FieldSpec]:
    """The deal fields a stage may require, in the registry's order."""
    return requirable(registry.get("deal").fields())


def requirable(fields: Iterable[registry.FieldSpec]) -> list[registry.FieldSpec]:
    """Of a deal's `fields`, those a stage may require: those a person sets (editable,
    not read through another record, not internal) that a deal may lack. Not the owner,
    the pipeline or the stage, nor a built-in field the deal always has (required, or a
    default other than an amount's zero)."""
    out = []
    for f in fields:
        if not f.editable or f.derived or f.internal:
            continue
        if f.is_custom:
            out.append(f)
            continue
        if f.owner or f.key in _SET_BY_THE_MOVE or f.required:
            continue
        if f.default not in (None, "") and f.type != registry.MONEY:
            continue
        out.append(f)
    return out


def check_keys(keys: Any) -> list[str]:
    """`keys` as stored: a list of requirable keys, each once, in the order given.
    Anything else is refused, naming the key."""
    if keys in (None, ""):
        return []
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
        raise ValidationError(
            {"required_fields": _("Give the required fields as a list of deal field keys.")}
        )
    allowed = {f.key for f in requirable_fields()}
    for key in keys:
        if key not in allowed:
            raise ValidationError(
                {
                    "required_fields": _(
                        "“%(key)s” is not a deal field that a stage can require; choose among "
                        "the fields a person fills in."
                    )
                    % {"key": key}
                }
            )
    return list(dict.fromkeys(keys))


def is_empty(f: registry.FieldSpec, value: Any) -> bool:
    """Whether a deal's stored `value` of `f` counts as not filled in: nothing, an empty
    text or list, or an amount of money of zero (a new deal's amount)."""
    if value is None or value == "" or value == [] or value == {}:
        return True
    if isinstance(value, str) and not value.strip():
        return True
    if f.type == registry.MONEY and not f.is_custom:
        try:
            return Decimal(str(value)) == 0
        except ArithmeticError:
            return False
    return False


def value_of(deal: Any, f: registry.FieldSpec) -> Any:
    """The stored value of `f` on `deal` (saved or not)."""
    if f.is_custom:
        return (getattr(deal, "custom", None) or {}).get(f.key)
    if f.type == registry.MANY_REF:
        return list(getattr(deal, f.key).all()) if deal.pk else []
    return getattr(deal, f.attname or f.key, None)


def missing(stage: Any, deal: Any) -> list[registry.FieldSpec]:
    """The fields `stage` requires that `deal` has not filled in, in the stage's order.
    A key whose field is gone (a retired custom field) is not asked for."""
    keys = stage.required_fields or []
    if not keys:
        return []
    spec = registry.get("deal")
    out = []
    for key in keys:
        f = spec.field(key, derived=False)
        if f is not None and is_empty(f, value_of(deal, f)):
            out.append(f)
    return out
