"""Formula and roll-up fields: read-only custom fields whose values are computed and
STORED in each record's custom values, so that lists, filters, sorts, exports, reports
and the API read them like any other custom value.

* A **formula** is an expression over the record's own fields (`amount * probability /
  100`); it is computed whenever the record is saved (`pre_save`, so every `save()` of
  every write service), per row on the bulk import path (`formula_values`), after the
  few writes that change a record's fields with a queryset update (`refresh`), and for
  every record of the object when the formula is created or changed (`recompute_field`).
  It reads only the record's own stored values (built-in fields that are not references,
  custom fields, other formulas and roll-ups): a value that depends on another record or
  on today's date could not be kept exact by saving this one, so such formulas are
  refused when saved.
* A **roll-up** is count/sum/min/max of a field of the records of a child object whose
  reference names the parent (a customer's won amount: sum of `amount` over deals whose
  `customer` is it and whose `status == "won"`). It is recomputed for the parents a child
  write touches: `post_save` and `post_delete` of the child (the parent it had before a
  save is captured in `pre_save`), soft delete and restore (saves, or `refresh` after a
  queryset update), imports (once per chunk: `deferred`), and for every parent when the
  definition is created or changed. One aggregate query (GROUP BY the reference) per
  batch of parents, never one per child. Soft-deleted children do not count. Money is
  summed in the amounts as stored: currencies are NOT converted (a sum over deals in
  several currencies adds their numbers).

An evaluation error (text times a number, a division by zero) stores no value and never
blocks the save.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import graphlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from salesops.customization import registry
from salesops.customization.expressions import (
    Expression,
    ExpressionError,
    compile_expression,
    record_values,
)
from salesops.customization.models import CustomField
from salesops.lib.cache import TTLCache

#: Records read and written per batch when recomputing a whole object.
BATCH = 2000
FORMULA = CustomField.Type.FORMULA
ROLLUP = CustomField.Type.ROLLUP
AGG = CustomField.Aggregate

_formulas = TTLCache(5.0)
_rollups = TTLCache(5.0)


def forget() -> None:
    _formulas.clear()
    _rollups.clear()


# -- checking definitions ----------------------------------------------------------------


def check_formula(object_type: str, key: str, text: str) -> Expression:
    """The compiled formula, or ExpressionError (with the position) when it cannot be a
    stored formula: not an expression, a name that is no field, a reference or a field
    read through another record, `today()`, or the field itself (directly or through
    other formulas)."""
    expression = compile_expression(text, object_type=object_type)
    spec = registry.get(object_type)
    for node in ast.walk(expression.tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "today":
            raise ExpressionError(
                _(
                    "a formula's value is stored when the record is saved, so it cannot "
                    "use today(); compare dates of the record instead."
                ),
                node.col_offset + 1,
            )
    for name in sorted(expression.names):
        f = spec.field(name)
        where = text.find(name) + 1
        if f is None or f.derived or "." in name:
            raise ExpressionError(
                _(
                    "a formula reads only the record's own fields; “%(name)s” is read "
                    "through another record (use a roll-up on that record instead)."
                )
                % {"name": name},
                where,
            )
        if not f.is_custom and f.type in (registry.REF, registry.MANY_REF):
            raise ExpressionError(
                _(
                    "a formula cannot read “%(name)s”: it names another record, whose "
                    "name may change without this record being saved."
                )
                % {"name": name},
                where,
            )
        if name == key:
            raise ExpressionError(_("a formula cannot use its own value."), where)
    # Other formulas it reads must not read it back.
    others = {d.key: d for d in _formula_definitions(object_type) if d.key != key}
    seen: set[str] = set()
    todo = [n for n in expression.names if n in others]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            names = compile_expression(others[name].expression, object_type=object_type).names
        except ExpressionError:
            continue
        if key in names:
            raise ExpressionError(
                _("“%(name)s” uses this field, so this formula cannot use “%(name)s”.")
                % {"name": name}
            )
        todo.extend(n for n in names if n in others)
    return expression


def rollup_result_type(child_field: registry.FieldSpec | None, aggregate: str) -> str:
    """The result type of a roll-up: a count is a number; a sum, smallest or largest
    has the type of the field rolled up."""
    if aggregate == AGG.COUNT or child_field is None:
        return CustomField.ResultType.NUMBER
    if child_field.type == registry.MONEY:
        return CustomField.ResultType.MONEY
    if child_field.type == registry.DATE:
        return CustomField.ResultType.DATE
    return CustomField.ResultType.NUMBER


def check_rollup(
    *,
    object_type: str,
    child: str,
    link: str,
    aggregate: str,
    field: str,
    condition: str,
) -> tuple[str, Q]:
    """(result type, condition as an ORM filter) of a roll-up, or a ValidationError keyed
    by the setting that is wrong, naming what is unknown."""
    child_spec = registry.find(child)
    if child_spec is None or not child_spec.customisable or child == object_type:
        raise ValidationError(
            {
                "rollup_object": _("Choose the kind of records to roll up (“%(name)s” is not one).")
                % {"name": child or "-"}
            }
        )
    links = links_to(object_type, child)
    if link not in links:
        raise ValidationError(
            {
                "rollup_link": _(
                    "%(child)s have no reference “%(name)s” to this kind of record; "
                    "choose one of: %(options)s."
                )
                % {
                    "child": child_spec.plural,
                    "name": link or "-",
                    "options": ", ".join(links) or "-",
                }
            }
        )
    if aggregate not in AGG.values:
        raise ValidationError({"rollup_aggregate": _("Choose count, sum, smallest or largest.")})
    f: registry.FieldSpec | None = None
    if aggregate == AGG.COUNT:
        if field:
            raise ValidationError(
                {"rollup_field": _("A count counts records; leave the field rolled up empty.")}
            )
    else:
        f = child_spec.field(field, derived=False)
        allowed = (*registry.NUMERIC, registry.DATE) if aggregate != AGG.SUM else registry.NUMERIC
        if f is None or f.type not in allowed or f.internal or _is_rollup(f):
            raise ValidationError(
                {
                    "rollup_field": _(
                        "%(child)s have no field “%(name)s” that can be rolled up this way; "
                        "choose one of: %(options)s."
                    )
                    % {
                        "child": child_spec.plural,
                        "name": field or "-",
                        "options": ", ".join(
                            g.key
                            for g in child_spec.fields()
                            if g.type in allowed and not g.internal and not _is_rollup(g)
                        )
                        or "-",
                    }
                }
            )
    try:
        q = condition_filter(child, condition)
    except ExpressionError as e:
        raise ValidationError({"rollup_condition": e.messages}) from None
    return rollup_result_type(f, aggregate), q


def _is_rollup(f: registry.FieldSpec) -> bool:
    """Roll-ups are not rolled up again (their parents' values would lag a write)."""
    return f.custom is not None and f.custom.field_type == ROLLUP


def links_to(parent: str, child: str) -> list[str]:
    """The keys of `child`'s references to records of `parent` (a deal's `customer`)."""
    spec = registry.find(child)
    if spec is None:
        return []
    return [
        f.key
        for f in spec.base_fields
        if f.type == registry.REF and f.ref == parent and not f.derived and f.attname
    ]


_SIMPLE = _(
    "a roll-up's condition may only compare a field with values: field == value, "
    'field != value, field in ("a", "b"), joined with “and”.'
)


def condition_filter(child: str, text: str) -> Q:
    """The ORM filter of a roll-up's condition over `child` records ("" for none)."""
    if not (text or "").strip():
        return Q()
    expression = compile_expression(text, object_type=child)
    spec = registry.get(child)
    return _condition(expression.tree.body, spec)


def _literal(node: Any) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | bool):
        return Decimal(repr(node.value)) if isinstance(node.value, float) else node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _literal(node.operand)
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return -value
    if isinstance(node, ast.Name) and node.id in ("True", "true"):
        return True
    if isinstance(node, ast.Name) and node.id in ("False", "false"):
        return False
    raise ExpressionError(_SIMPLE, getattr(node, "col_offset", -1) + 1)


def _condition(node: Any, spec: registry.ObjectSpec) -> Q:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        q = Q()
        for value in node.values:
            q &= _condition(value, spec)
        return q
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        raise ExpressionError(_SIMPLE, getattr(node, "col_offset", -1) + 1)
    left, op, right = node.left, node.ops[0], node.comparators[0]
    if not isinstance(left, ast.Name | ast.Attribute):
        raise ExpressionError(_SIMPLE, left.col_offset + 1)
    name = left.id if isinstance(left, ast.Name) else ""
    f = spec.field(name, derived=False) if name else None
    if f is None or f.type == registry.MANY_REF:
        raise ExpressionError(_SIMPLE, left.col_offset + 1)
    path = f.name_path if (f.type == registry.REF and not f.is_custom) else f.path
    if isinstance(op, ast.Eq | ast.NotEq):
        q = Q(**{path: _literal(right)})
        return q if isinstance(op, ast.Eq) else ~q
    if isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.Tuple | ast.List):
        values = [_literal(v) for v in right.elts]
        q = Q(**{f"{path}__in": values})
        return q if isinstance(op, ast.In) else ~q
    raise ExpressionError(_SIMPLE, node.col_offset + 1)


# -- the definitions in force --------------------------------------------------------------


def _formula_definitions(object_type: str) -> list[CustomField]:
    from salesops.customization.services import definitions

    return [d for d in definitions(object_type) if d.field_type == FORMULA]


def formulas(object_type: str) -> list[tuple[CustomField, Expression]]:
    """The active formulas of `object_type`, compiled, each after the formulas it reads
    (a formula that no longer compiles, e.g. after a field it read was retired, is left
    out: its values stay as they were)."""

    def load() -> list[tuple[CustomField, Expression]]:
        compiled: dict[str, tuple[CustomField, Expression]] = {}
        for d in _formula_definitions(object_type):
            try:
                compiled[d.key] = (d, compile_expression(d.expression, object_type=object_type))
            except (ExpressionError, KeyError):
                continue
        order = graphlib.TopologicalSorter(
            {k: [n for n in e.names if n in compiled] for k, (_d, e) in compiled.items()}
        )
        try:
            keys = list(order.static_order())
        except graphlib.CycleError:
            keys = list(compiled)
        return [compiled[k] for k in keys]

    return _formulas.get(object_type, load)


def rollups_over(child: str) -> list[CustomField]:
    """The active roll-ups that read records of `child` (all roll-ups read in one query,
    cached a few seconds like the definitions)."""

    def load() -> dict[str, list[CustomField]]:
        out: dict[str, list[CustomField]] = defaultdict(list)
        for d in CustomField.objects.filter(field_type=ROLLUP, active=True):
            out[d.rollup_object].append(d)
        return dict(out)

    return _rollups.get("all", load).get(child, [])


def rollups_on(object_type: str) -> list[CustomField]:
    from salesops.customization.services import definitions

    return [d for d in definitions(object_type) if d.field_type == ROLLUP]


# -- values ----------------------------------------------------------------------------------


def stored(field: CustomField, value: Any) -> Any:
    """`value` as a custom value of the field's result type; None when empty or when
    it does not fit the type."""
    from salesops.customization.services import _clean_one

    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime) and field.value_type == CustomField.ResultType.DATE:
        value = value.date()
    if isinstance(value, Decimal) and not value.is_finite():
        return None
    typed = CustomField(field_type=field.value_type, label=field.label)
    try:
        return _clean_one(typed, value)
    except (ValidationError, ValueError, TypeError, InvalidOperation):
        return None


def evaluate(field: CustomField, expression: Expression, values: dict[str, Any]) -> Any:
    """The stored value of a formula for a record's `values`; None on any error."""
    try:
        return stored(field, expression.evaluate(values))
    except Exception:  # an evaluation error stores nothing and never blocks the save
        return None


def apply_formulas(obj: Any, object_type: str | None = None) -> bool:
    """Compute the formulas of `obj` into `obj.custom`; True if a value changed."""
    object_type = object_type or obj.object_type
    compiled = formulas(object_type)
    if not compiled:
        return False
    before = obj.custom or {}
    custom = dict(before)
    obj.custom = custom
    for field, expression in compiled:
        value = evaluate(field, expression, record_values(obj, object_type, expression.names))
        if value is None:
            custom.pop(field.key, None)
        else:
            custom[field.key] = value
    return custom != before


def formula_values(object_type: str, fields: dict[str, Any], custom: dict[str, Any]) -> dict:
    """The custom values of a record not yet saved (the bulk import path): `custom`
    with its formulas computed from `fields` (model field name: value) and itself, and
    its roll-ups at their value for no records."""
    out = dict(custom)
    out.update(initial_rollups(object_type))
    if not formulas(object_type):
        return out
    record = SimpleNamespace(**fields, custom=out)
    apply_formulas(record, object_type)
    return record.custom


def initial_rollups(object_type: str) -> dict[str, Any]:
    """A new record's roll-ups: 0 for counts and sums, nothing for smallest/largest."""
    return {
        d.key: stored(d, 0)
        for d in rollups_on(object_type)
        if d.rollup_aggregate in (AGG.COUNT, AGG.SUM)
    }


# -- roll-ups --------------------------------------------------------------------------------


def _link_path(d: CustomField) -> str | None:
    spec = registry.find(d.rollup_object)
    f = spec.field(d.rollup_link, derived=False) if spec else None
    return f.attname if f is not None and f.type == registry.REF else None


def _measure(d: CustomField) -> Any:
    if d.rollup_aggregate == AGG.COUNT:
        return Count("pk")
    f = registry.get(d.rollup_object).field(d.rollup_field, derived=False)
    if f is None:
        return None
    value: Any = models.F(f.path)
    if f.is_custom:
        output = (
            models.DateField()
            if f.type == registry.DATE
            else models.DecimalField(max_digits=24, decimal_places=6)
        )
        value = Cast(KT(f.path), output)
    return {AGG.SUM: Sum, AGG.MIN: Min, AGG.MAX: Max}[d.rollup_aggregate](value)  # type: ignore[index]


def _rollup_values(d: CustomField, parent_ids: list[int]) -> dict[int, Any]:
    """{parent id: value} for one batch of parents, in one GROUP BY query."""
    link, measure = _link_path(d), _measure(d)
    if link is None or measure is None:
        return {}
    try:
        condition = condition_filter(d.rollup_object, d.rollup_condition)
    except (ExpressionError, KeyError):
        return {}
    rows = (
        registry.get(d.rollup_object)
        .all_rows()
        .filter(condition, **{f"{link}__in": parent_ids})
        .order_by()
        .values(link)
        .annotate(value=measure)
        .values_list(link, "value")
    )
    return dict(rows)


def _write_parents(object_type: str, parent_ids: list[int], fields: list[CustomField]) -> int:
    """Recompute `fields` (roll-ups of `object_type`) and then the formulas of the
    parents `parent_ids` (one batch), writing the rows whose values changed."""
    results = {d.key: _rollup_values(d, parent_ids) for d in fields}
    model: Any = registry.get(object_type).model
    parents = list(model.all_objects.select_for_update().filter(pk__in=parent_ids).order_by("pk"))
    changed = []
    for parent in parents:
        before = parent.custom or {}
        custom = dict(before)
        for d in fields:
            raw = results[d.key].get(parent.pk)
            if raw is None and d.rollup_aggregate in (AGG.COUNT, AGG.SUM):
                raw = 0
            value = stored(d, raw)
            if value is None:
                custom.pop(d.key, None)
            else:
                custom[d.key] = value
        parent.custom = custom
        apply_formulas(parent, object_type)
        if parent.custom != before:
            changed.append(parent)
    if changed:
        model.all_objects.bulk_update(changed, ["custom"])
    return len(changed)


def recompute_rollups(
    object_type: str, parent_ids: Iterable[int], fields: list[CustomField] | None = None
) -> int:
    """Recompute the roll-ups of `object_type` (or just `fields`) for `parent_ids`."""
    fields = rollups_on(object_type) if fields is None else fields
    ids = sorted({int(i) for i in parent_ids if i is not None})
    if not fields or not ids:
        return 0
    return sum(
        _write_parents(object_type, ids[i : i + BATCH], fields) for i in range(0, len(ids), BATCH)
    )


def recompute_field(field: CustomField) -> int:
    """Recompute one formula or roll-up (with the formulas after it) for every record of
    its object, in batches; returns how many records changed."""
    return recompute_object(
        field.object_type, rollups=[field] if field.field_type == ROLLUP else []
    )


@transaction.atomic
def recompute_object(object_type: str, *, rollups: list[CustomField] | None = None) -> int:
    """Recompute the formulas (and `rollups`; None: all of them) of every record of
    `object_type`, BATCH records at a time; returns how many records changed."""
    spec = registry.get(object_type)
    fields = rollups_on(object_type) if rollups is None else rollups
    if not fields and not formulas(object_type):
        return 0
    model: Any = spec.model
    rows = model.all_objects.all()
    if spec.custom_object_id is not None:  # one custom object's rows of the shared table
        rows = rows.filter(kind_id=spec.custom_object_id)
    changed, last = 0, 0
    while True:
        ids = list(rows.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            break
        changed += _write_parents(object_type, ids, fields)
        last = ids[-1]
    # Roll-ups elsewhere that sum this object's formulas follow them.
    keys = {d.key for d, _e in formulas(object_type)}
    for d in rollups_over(object_type):
        if d.rollup_field in keys:
            recompute_object(d.object_type, rollups=[d])
    return changed


# -- keeping them exact ------------------------------------------------------------------------

#: Parents whose roll-ups wait for the end of a `deferred` block: {object type: ids}.
_pending: list[dict[str, set[int]]] = []


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within the block, child writes collect the parents to recompute; at its end each
    parent object's roll-ups are recomputed once (an import chunk)."""
    _pending.append(defaultdict(set))
    try:
        yield
    finally:
        pending = _pending.pop()
    flush(pending)


def flush(pending: dict[str, set[int]]) -> None:
    for object_type, ids in pending.items():
        recompute_rollups(object_type, ids)


def parents_touched(child: str, rows: Iterable[dict[str, Any]]) -> dict[str, set[int]]:
    """{parent object type: ids} named by child rows ({link attname: id})."""
    out: dict[str, set[int]] = defaultdict(set)
    for d in rollups_over(child):
        link = _link_path(d)
        if link is None:
            continue
        for row in rows:
            if row.get(link) is not None:
                out[d.object_type].add(row[link])
    return out


def touched(pending: dict[str, set[int]]) -> None:
    """Recompute those parents now, or at the end of the `deferred` block."""
    if _pending:
        for object_type, ids in pending.items():
            _pending[-1][object_type] |= ids
        return
    flush(pending)


def child_links(child: str) -> list[str]:
    """The link columns (attnames) of `child` that roll-ups read."""
    return sorted({link for d in rollups_over(child) if (link := _link_path(d))})


def refresh(model: Any, pks: Iterable[int] | models.QuerySet) -> None:
    """After a queryset update of records of `model` (which bypasses `save()`): their
    formulas recomputed, and the roll-ups that read them recomputed for their parents.
    `pks` may be a queryset (read only when needed). Costs nothing (no query) when the
    object has neither formulas nor roll-ups reading it."""
    object_type = getattr(model, "object_type", "")
    if not object_type or registry.find(object_type) is None:
        return
    links = child_links(object_type)
    if not links and not formulas(object_type):
        return
    if isinstance(pks, models.QuerySet):
        pks = pks.values_list("pk", flat=True)
    ids = [pk for pk in pks if pk is not None]
    if not ids:
        return
    if formulas(object_type):
        for i in range(0, len(ids), BATCH):
            rows = list(model.all_objects.select_for_update().filter(pk__in=ids[i : i + BATCH]))
            changed = [row for row in rows if apply_formulas(row, object_type)]
            if changed:
                model.all_objects.bulk_update(changed, ["custom"])
    if links:
        rows = model.all_objects.filter(pk__in=ids).values(*links)
        touched(parents_touched(object_type, rows))
