"""The small, safe expression language of validation rules and formula fields.

An expression is Python-shaped arithmetic and logic over a record's fields:
`discount_pct > 20 and not approved`, `amount * probability / 100`,
`days(created_on, expected_close) > 90`, `stage in ("Won", "Lost")`. It is parsed once
when the rule or formula is saved: only literals, the object's field keys (custom
fields included; derived ones like `customer.industry`), comparisons, `and`/`or`/`not`,
`+ - * / %`, `if … else …`, tuples for `in` and the functions listed in FUNCTIONS are
allowed. Anything else (attribute access, subscripts, lambdas, comprehensions, names
that are not fields) is refused with the position of the offending part, in the
person's language. Evaluation uses simpleeval (never `eval`), with decimal
arithmetic so that money stays exact.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import simpleeval
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.customization import registry

MAX_LENGTH = 1000


def _days(start: Any, end: Any) -> int | None:
    """Whole days from `start` to `end` (dates or date-times); None if either is empty."""
    if start in (None, "") or end in (None, ""):
        return None
    a = start.date() if isinstance(start, dt.datetime) else start
    b = end.date() if isinstance(end, dt.datetime) else end
    return (b - a).days


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _contains(text: Any, part: Any) -> bool:
    if text is None:
        return False
    if isinstance(text, list | tuple):
        return part in text
    return str(part).casefold() in str(text).casefold()


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if not _empty(v)), None)


FUNCTIONS: dict[str, Any] = {
    "abs": abs,
    "round": lambda x, n=0: None if x is None else round(Decimal(x), int(n)),
    "min": lambda *xs: min((x for x in xs if x is not None), default=None),
    "max": lambda *xs: max((x for x in xs if x is not None), default=None),
    "len": lambda x: 0 if x is None else len(x),
    "today": lambda: timezone.localdate(),
    "days": _days,
    "empty": _empty,
    "contains": _contains,
    "lower": lambda x: "" if x is None else str(x).lower(),
    "upper": lambda x: "" if x is None else str(x).upper(),
    "year": lambda d: None if d is None else d.year,
    "month": lambda d: None if d is None else d.month,
    "coalesce": _coalesce,
}
CONSTANTS = {"True": True, "False": False, "None": None, "true": True, "false": False}

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod)
_COMPARE = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
_UNARY = (ast.Not, ast.USub, ast.UAdd)


class ExpressionError(ValidationError):
    """An expression that cannot be used; `position` is 1-based (0: the whole)."""

    def __init__(self, message: Any, position: int = 0) -> None:
        self.position = position
        if position:
            message = _("At character %(pos)s: %(problem)s") % {
                "pos": position,
                "problem": message,
            }
        super().__init__(message, code="expression")


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, tree and the field keys it reads."""

    text: str
    tree: ast.Expression
    names: frozenset[str]

    def evaluate(self, values: dict[str, Any]) -> Any:
        """The value for a record's `values` ({key: value}); ExpressionError when the
        values do not fit (e.g. text compared with a number)."""
        evaluator = _Evaluator(
            names={**CONSTANTS, **{k: _decimal(values.get(k)) for k in self.names}},
            functions=FUNCTIONS,
        )
        try:
            return evaluator.eval(self.text, previously_parsed=self.tree.body)
        except (TypeError, ValueError, ArithmeticError, InvalidOperation) as e:
            raise ExpressionError(
                _("the fields' values cannot be combined this way (%(why)s).") % {"why": e}
            ) from None
        except simpleeval.InvalidExpression as e:
            raise ExpressionError(str(e)) from None


class _Evaluator(simpleeval.EvalWithCompoundTypes):
    """simpleeval with decimal literals, so that 0.1 + 0.2 == 0.3 and money stays exact."""

    @staticmethod
    def _eval_constant(node: Any) -> Any:
        if isinstance(node.value, float):
            return Decimal(repr(node.value))
        return simpleeval.SimpleEval._eval_constant(node)

    def _eval_name(self, node: Any) -> Any:
        return self.names[node.id]

    def _eval_attribute(self, node: Any) -> Any:
        return self.names[_dotted(node)]


def _decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _dotted(node: Any) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def compile_expression(
    text: str, *, object_type: str, known: Collection[str] | None = None
) -> Expression:
    """Check `text` against the fields of `object_type` (or, when `known` is given,
    against those field keys: e.g. the fields a template will define); ExpressionError
    (with the position) when it cannot be used."""
    text = (text or "").strip()
    if not text:
        raise ExpressionError(_("Write an expression."))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            _("An expression may be at most %(n)s characters long.") % {"n": MAX_LENGTH}
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise ExpressionError(
            _("this is not a complete expression; check brackets, quotes and operators."),
            min(e.offset or len(text) + 1, len(text) + 1),
        ) from None
    if known is None:
        known = {f.key for f in registry.get(object_type).fields(derived=True)}
    names: set[str] = set()
    _check(tree, set(known), names)
    return Expression(text, tree, frozenset(names))


def _check(node: Any, known: set[str], names: set[str]) -> None:
    """Check `node` and, except for a dotted field name, everything under it."""
    _check_node(node, known, names)
    if isinstance(node, ast.Attribute):
        return
    for child in ast.iter_child_nodes(node):
        _check(child, known, names)


def _where(node: Any) -> int:
    return getattr(node, "col_offset", -1) + 1


def _check_node(node: Any, known: set[str], names: set[str]) -> None:
    if isinstance(node, ast.Expression | ast.Load | ast.And | ast.Or):
        return
    if isinstance(node, ast.BoolOp | ast.Tuple | ast.List | ast.IfExp):
        return
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINARY):
            raise ExpressionError(
                _("only adding, subtracting, multiplying, dividing and remainders may be used."),
                _where(node),
            )
        return
    if isinstance(node, _BINARY + _COMPARE + _UNARY + (ast.Is, ast.IsNot)):
        if isinstance(node, ast.Is | ast.IsNot):
            raise ExpressionError(_("write == or != instead of “is”."))
        return
    if isinstance(node, ast.UnaryOp | ast.Compare):
        return
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float | str | bool | type(None)):
            raise ExpressionError(_("this kind of value is not allowed."), _where(node))
        return
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS or node.id in FUNCTIONS:
            return
        if node.id not in known:
            raise ExpressionError(
                _("there is no field “%(name)s” on this object.") % {"name": node.id},
                _where(node),
            )
        names.add(node.id)
        return
    if isinstance(node, ast.Attribute):
        dotted = _dotted(node)
        if dotted not in known:
            raise ExpressionError(
                _("there is no field “%(name)s” on this object.") % {"name": dotted or "?"},
                _where(node),
            )
        names.add(dotted)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExpressionError(
                _("only these functions may be used: %(names)s.")
                % {"names": ", ".join(sorted(FUNCTIONS))},
                _where(node),
            )
        if node.keywords:
            raise ExpressionError(_("give a function its values in order, without names."))
        return
    raise ExpressionError(_("this part of the expression is not allowed."), _where(node))


def record_values(obj: Any, object_type: str, names: frozenset[str] | set[str]) -> dict[str, Any]:
    """The values an expression reads from a record: stored values for plain fields, a
    reference's name, custom values typed (numbers as decimals, dates as dates)."""
    spec = registry.get(object_type)
    out: dict[str, Any] = {}
    custom = getattr(obj, "custom", None) or {}
    for key in names:
        f = spec.field(key)
        if f is None:
            out[key] = None
            continue
        if f.is_custom:
            out[key] = _typed(f, custom.get(key))
        elif f.derived:
            value: Any = obj
            for part in f.path.split("__"):
                value = getattr(value, part, None) if value is not None else None
            out[key] = value
        elif f.type == registry.REF:
            related = getattr(obj, f.key, None) if getattr(obj, f.attname, None) else None
            out[key] = str(related) if related is not None else None
        elif f.type == registry.MANY_REF:
            out[key] = [str(x) for x in getattr(obj, f.key).all()] if obj.pk else []
        else:
            out[key] = getattr(obj, f.attname or f.key, None)
    return out


def _typed(f: registry.FieldSpec, raw: Any) -> Any:
    if raw in (None, ""):
        return None
    if f.type in registry.NUMERIC:
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            return None
    if f.type == registry.DATE:
        return dt.date.fromisoformat(str(raw))
    if f.type == registry.DATETIME:
        return dt.datetime.fromisoformat(str(raw))
    return raw
