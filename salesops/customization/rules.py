"""Validation rules: conditions that refuse a record's save when they are true.

Every write of a record goes through `Model.full_clean` (the services' `_validate`,
the Django admin's forms), whose hook (`salesops.lib.models.record_checks`) calls
`check`; the bulk import path, which writes without the model layer, calls `check` on
the unsaved record it builds per row. Rules are read and compiled once per process
and object type (forgotten when a rule or a custom field changes, and within a few
seconds in other processes), like custom-field definitions.

A rule that cannot be used any more (its condition names a custom field since
retired) or that cannot be evaluated on a record (e.g. text compared with a number)
never blocks a save: it is skipped and a warning is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from salesops.customization import registry
from salesops.customization.expressions import (
    Expression,
    ExpressionError,
    _typed,
    compile_expression,
    record_values,
)
from salesops.customization.models import ValidationRule
from salesops.lib import cache
from salesops.lib.cache import TTLCache

log = logging.getLogger(__name__)

_rules = TTLCache(5.0)
#: Rules whose evaluation failed, warned about once (a rule comparing an often empty
#: field would otherwise log on nearly every save and imported row).
_warned: set[int] = set()
cache.register(_warned.clear)


def rule_object_types() -> list[registry.ObjectSpec]:
    """The object types rules may be written for: those with fields of their own to
    secure or customise (not targets)."""
    return [s for s in registry.objects() if s.field_security or s.customisable]


def rule_fields(object_type: str) -> list[registry.FieldSpec]:
    """The fields a rule's message may be attached to: the record's own fields."""
    return [f for f in registry.get(object_type).fields() if not f.internal and not f.derived]


def error_key(object_type: str, field: str) -> str:
    """The key of a rule's message in a ValidationError: a built-in field's key,
    `custom.<key>` for a custom field (as custom-field errors are keyed), or the
    non-field key when the rule is on the whole record or its field is gone."""
    if not field:
        return NON_FIELD_ERRORS
    spec = registry.find(object_type)
    f = spec.field(field, derived=False) if spec else None
    if f is None:
        return NON_FIELD_ERRORS
    return f"custom.{f.key}" if f.is_custom else f.key


@dataclass(frozen=True)
class Compiled:
    rule: ValidationRule
    expression: Expression


def active_rules(object_type: str) -> list[Compiled]:
    """The active rules of `object_type`, compiled, in their order (cached)."""

    def load() -> list[Compiled]:
        out = []
        for rule in ValidationRule.objects.filter(object_type=object_type, active=True).order_by(
            "order", "pk"
        ):
            try:
                expression = compile_expression(rule.condition, object_type=object_type)
            except ExpressionError as e:
                log.warning(
                    "validation rule %s (%s) cannot be used and is skipped: %s",
                    rule.pk,
                    object_type,
                    "; ".join(str(m) for m in e.messages),
                )
                continue
            out.append(Compiled(rule, expression))
        return out

    if registry.find(object_type) is None:
        return []
    result: list[Compiled] = _rules.get(object_type, load)
    return result


def names(object_type: str) -> frozenset[str]:
    """Every field key the active rules of `object_type` read."""
    out: set[str] = set()
    for c in active_rules(object_type):
        out |= c.expression.names
    return frozenset(out)


def forget(**_kwargs: Any) -> None:
    _rules.clear()
    _warned.clear()


def object_type_of(obj: Any) -> str | None:
    return registry.type_of(obj)


def failures(rules: list[Compiled], values: dict[str, Any], object_type: str) -> dict[str, list]:
    """{error key: [message]} of the rules whose condition is true for `values`."""
    errors: dict[str, list] = {}
    for c in rules:
        try:
            failed = bool(c.expression.evaluate(values))
        except ExpressionError as e:
            if c.rule.pk not in _warned:
                _warned.add(c.rule.pk)
                log.warning(
                    "validation rule %s (%s) could not be evaluated and did not apply "
                    "(said once until rules change): %s",
                    c.rule.pk,
                    object_type,
                    "; ".join(str(m) for m in e.messages),
                )
            continue
        except Exception:  # a rule must never break a save
            if c.rule.pk not in _warned:
                _warned.add(c.rule.pk)
                log.warning(
                    "validation rule %s (%s) failed unexpectedly and did not apply",
                    c.rule.pk,
                    object_type,
                    exc_info=True,
                )
            continue
        if failed:
            key = error_key(object_type, c.rule.field)
            errors.setdefault(key, []).append(c.rule.message())
    return errors


def check(obj: Any, object_type: str | None = None) -> None:
    """Refuse `obj` (saved or not) with one ValidationError listing every active rule
    of its object type whose condition is true: {field: [message]} or non-field."""
    object_type = object_type or object_type_of(obj)
    if object_type is None:
        return
    rules = active_rules(object_type)
    if not rules:
        return
    values = record_values(obj, object_type, names(object_type))
    errors = failures(rules, values, object_type)
    if errors:
        raise ValidationError(errors)


def check_values(values: dict[str, Any], object_type: str) -> None:
    """`check` for values that are not a record: {field key: value} as `record_values`
    gives them (a reference by its name; custom fields by their key, with or without
    the `custom.` prefix, as stored or typed). Fields not given are empty."""
    rules = active_rules(object_type)
    if not rules:
        return
    spec = registry.get(object_type)
    given = {k.removeprefix("custom."): v for k, v in values.items()}
    typed: dict[str, Any] = {}
    for key in names(object_type):
        value = given.get(key)
        f = spec.field(key)
        if f is not None and f.is_custom and isinstance(value, str):
            try:
                value = _typed(f, value)
            except ValueError:
                value = None
        typed[key] = value
    errors = failures(rules, typed, object_type)
    if errors:
        raise ValidationError(errors)


def check_record(obj: Any) -> None:
    """The hook `salesops.lib.models` calls from `full_clean` of every main record."""
    check(obj)


def applies_to(rule: ValidationRule, obj: Any) -> bool:
    """Whether `rule` (saved or not, active or not) would refuse `obj` as it is now;
    ExpressionError when its condition cannot be compiled or evaluated on it. For an
    administrator trying a rule out on a record."""
    expression = compile_expression(rule.condition, object_type=rule.object_type)
    values = record_values(obj, rule.object_type, expression.names)
    return bool(expression.evaluate(values))
