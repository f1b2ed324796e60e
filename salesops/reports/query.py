"""A report definition, checked against the allow-list, turned into ORM queries.

`parse` reads a definition (the JSON stored on a saved report) into a `Spec` or raises
`ReportInvalid` with one message per bad input, keyed by the form input it came from
(`f0_value`, `g1_field`, `m0_agg`, ...). Only registry fields the field policy lets the
reader use (`catalogue.field_for`) reach a query, by the ORM path the registry gives;
values are parsed into typed Python values and passed as parameters. No text from the
user ever becomes SQL.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateField,
    DateTimeField,
    DecimalField,
    Expression,
    F,
    Func,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from salesops.customization import registry
from salesops.customization.policy import FieldRefused
from salesops.customization.registry import FieldSpec, ObjectSpec
from salesops.customization.values import value_of
from salesops.reports.catalogue import AGGREGATES, BUCKETS, OPERATORS, field_for, objects, options

#: Registry types read as numbers, as dates, and as text.
NUMERIC = registry.NUMERIC
DATES = (registry.DATE, registry.DATETIME)
TEXTUAL = (*registry.TEXTUAL, registry.CHOICE)

MAX_FILTERS = 10
MAX_GROUPS = 2
MAX_MEASURES = 5
CHARTS = ("table", "bar", "line", "pie")


class ReportInvalid(Exception):
    """The definition cannot run: {form input: message in the user's language}."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Filter:
    field: FieldSpec
    op: str
    #: Parsed: a str/Decimal/date/bool, a list for "in", a pair for "between", None for "empty".
    value: Any


@dataclass(frozen=True)
class Group:
    field: FieldSpec
    bucket: str = ""


@dataclass(frozen=True)
class Measure:
    agg: str
    field: FieldSpec | None = None

    @property
    def id(self) -> str:
        return self.agg if self.field is None else f"{self.agg}:{self.field.key}"


@dataclass
class Spec:
    """A checked definition: everything in it is allow-listed and typed."""

    obj: ObjectSpec
    filters: list[Filter] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    chart: str = "table"


# -- reading a definition -----------------------------------------------------------------


def parse(object_type: str, definition: dict[str, Any], user: Any) -> Spec:
    """The checked `Spec` of `definition` for `user` (who must not see hidden fields),
    or ReportInvalid with every problem at once."""
    obj = objects().get(object_type)
    if obj is None:
        raise ReportInvalid({"object": _("Choose one of the kinds of record offered.")})
    if not isinstance(definition, dict):
        definition = {}
    lookup = _Lookup(user, object_type)
    errors: dict[str, str] = {}
    spec = Spec(obj)

    raw_filters = _list(definition.get("filters"))
    if len(raw_filters) > MAX_FILTERS:
        errors["filters"] = _("A report takes at most %(n)s filters.") % {"n": MAX_FILTERS}
    for i, raw in enumerate(raw_filters[:MAX_FILTERS]):
        f = _filter(i, raw, lookup, errors)
        if f is not None:
            spec.filters.append(f)

    raw_groups = _list(definition.get("group_by"))
    if len(raw_groups) > MAX_GROUPS:
        errors["group_by"] = _("A report groups by at most two fields.")
    for i, raw in enumerate(raw_groups[:MAX_GROUPS]):
        g = _group(i, raw, lookup, errors)
        if g is not None:
            spec.groups.append(g)

    raw_measures = _list(definition.get("measures")) or [{"agg": "count"}]
    if len(raw_measures) > MAX_MEASURES:
        errors["measures"] = _("A report shows at most %(n)s measures.") % {"n": MAX_MEASURES}
    seen: set[str] = set()
    for i, raw in enumerate(raw_measures[:MAX_MEASURES]):
        m = _measure(i, raw, lookup, errors)
        if m is not None and m.id not in seen:
            seen.add(m.id)
            spec.measures.append(m)

    chart = str(definition.get("chart") or "table")
    if chart not in CHARTS:
        errors["chart"] = _("Choose a table or one of the charts offered.")
    elif chart != "table" and not spec.groups:
        errors["chart"] = _("A chart needs at least one group-by.")
    spec.chart = chart
    if errors:
        raise ReportInvalid(errors)
    return spec


def _list(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [v if isinstance(v, dict) else {} for v in value]


@dataclass(frozen=True)
class _Lookup:
    """Fields of one object type for one reader, through the field policy."""

    user: Any
    object_type: str

    def __call__(self, key: Any, use: str, errors: dict[str, str], name: str) -> FieldSpec | None:
        text = str(key or "")
        if not text:
            errors[name] = _("Choose one of the fields offered.")
            return None
        try:
            return field_for(self.user, self.object_type, text, use=use)
        except FieldRefused as e:
            errors[name] = " ".join(e.messages)
            return None


def _filter(i: int, raw: dict[str, Any], lookup: _Lookup, errors: dict[str, str]) -> Filter | None:
    f = lookup(raw.get("field"), "filter", errors, f"f{i}_field")
    if f is None:
        return None
    op = str(raw.get("op") or "eq")
    if op not in OPERATORS[f.type]:
        errors[f"f{i}_op"] = _("This condition does not fit a field of this type.")
        return None
    if op == "empty":
        return Filter(f, op, None)
    try:
        value = _filter_value(f, op, raw.get("value"))
    except ValueError as e:
        errors[f"f{i}_value"] = str(e)
        return None
    return Filter(f, op, value)


def _filter_value(f: FieldSpec, op: str, raw: Any) -> Any:
    text = str(raw if raw is not None else "").strip()
    if not text:
        raise ValueError(_("Enter a value."))
    if op == "in":
        items = [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
        if not items or len(items) > 100:
            raise ValueError(_("Enter between 1 and 100 values, separated by commas."))
        return [_one_value(f, item) for item in items]
    if op == "between":
        low, sep, high = text.partition("..")
        if not sep:
            raise ValueError(
                _("Write a range as low..high, e.g. 2026-01-01..2026-03-31 or 10..20.")
            )
        pair = (_one_value(f, low.strip()), _one_value(f, high.strip()))
        if pair[0] > pair[1]:
            raise ValueError(_("The start of the range must not be after its end."))
        return pair
    if op == "contains":
        return text[:200]
    return _one_value(f, text)


def _one_value(f: FieldSpec, text: str) -> Any:
    if f.type in NUMERIC:
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise ValueError(_("Enter a number, such as 12 or 12.5.")) from None
        if not number.is_finite():
            raise ValueError(_("Enter a number, such as 12 or 12.5."))
        return number
    if f.type in DATES:
        try:
            day = parse_date(text)
        except ValueError:
            day = None
        if day is None:
            raise ValueError(_("Write the date as YYYY-MM-DD."))
        return day
    if f.type == registry.BOOL:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "y", "是"):
            return True
        if lowered in ("0", "false", "no", "n", "否"):
            return False
        raise ValueError(_("Enter yes or no."))
    if f.type == registry.CHOICE:
        offered = options(f)
        for value, label in offered:
            if text == str(value) or text.lower() == str(label).lower():
                return str(value)
        raise ValueError(
            _("“%(value)s” is not one of the options: %(options)s.")
            % {"value": text[:50], "options": ", ".join(str(label) for _v, label in offered)}
        )
    return text[:200]


def _group(i: int, raw: dict[str, Any], lookup: _Lookup, errors: dict[str, str]) -> Group | None:
    f = lookup(raw.get("field"), "group", errors, f"g{i}_field")
    if f is None:
        return None
    bucket = str(raw.get("bucket") or "")
    if f.type in DATES:
        bucket = bucket or "month"
        if bucket not in BUCKETS:
            errors[f"g{i}_bucket"] = _("Choose day, week, month, quarter or year.")
            return None
    elif bucket:
        errors[f"g{i}_bucket"] = _("Only dates are grouped by day, week, month or year.")
        return None
    return Group(f, bucket)


def _measure(
    i: int, raw: dict[str, Any], lookup: _Lookup, errors: dict[str, str]
) -> Measure | None:
    agg = str(raw.get("agg") or "")
    if agg not in AGGREGATES:
        errors[f"m{i}_agg"] = _("Choose count, sum, mean or median.")
        return None
    if agg == "count":
        return Measure("count")
    f = lookup(raw.get("field"), "measure", errors, f"m{i}_field")
    if f is None:
        return None
    return Measure(agg, f)


# -- building the queries --------------------------------------------------------------------


def _of_custom_object(f: FieldSpec) -> bool:
    spec = registry.find(f.custom.object_type) if f.is_custom else None
    return spec is not None and spec.is_custom_object


def expression(f: FieldSpec) -> Any:
    """The value of `f` in SQL (custom fields read from the JSON column and cast).

    A custom object's text, choice and number fields are read by `value_of`, the
    expression its run-time indexes are built on (numbers as floats); built-in
    objects' custom fields keep their casts."""
    if not f.is_custom:
        return F(f.path)
    if _of_custom_object(f) and f.type in (*registry.TEXTUAL, registry.CHOICE, *NUMERIC):
        return value_of(f)
    path = f"custom__{f.key}"
    if f.type in NUMERIC:
        return Cast(KT(path), DecimalField(max_digits=24, decimal_places=6))
    if f.type == registry.BOOL:
        return Case(
            When(**{path: True}, then=Value(True)),
            When(**{path: False}, then=Value(False)),
            default=None,
            output_field=BooleanField(),
        )
    if f.type == registry.DATE:
        return Cast(KT(path), DateField())
    if f.type == registry.DATETIME:
        return Cast(KT(path), DateTimeField())
    # As text: compared with a key transform, the value would be read as JSON.
    return Cast(KT(path), CharField())


def _day_bounds(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


def condition(flt: Filter, tz: dt.tzinfo) -> tuple[str, Any, Q]:
    """(alias, expression, condition) of one filter: the condition is stated on the
    alias, which the caller attaches to the QuerySet."""
    f = flt.field
    alias = f"_flt_{f.key.replace('.', '_')}"
    if f.type == registry.REF and flt.op in ("eq", "in"):
        # References are named in filters (a username, a stage name, a customer name).
        name = f.name_path
        if flt.op == "eq":
            return alias, None, Q(**{name: flt.value})
        return alias, None, Q(**{f"{name}__in": flt.value})
    expr = expression(f)
    if flt.op == "empty":
        q = Q(**{f"{alias}__isnull": True})
        if f.type in TEXTUAL:
            q |= Q(**{alias: ""})
        return alias, expr, q
    if f.type == registry.DATETIME:
        # Dates are days in the organisation's time zone.
        if flt.op == "eq":
            low, high = _day_bounds(flt.value, tz)
            return alias, expr, Q(**{f"{alias}__gte": low, f"{alias}__lt": high})
        if flt.op == "gte":
            return alias, expr, Q(**{f"{alias}__gte": _day_bounds(flt.value, tz)[0]})
        if flt.op == "lte":
            return alias, expr, Q(**{f"{alias}__lt": _day_bounds(flt.value, tz)[1]})
        low = _day_bounds(flt.value[0], tz)[0]
        high = _day_bounds(flt.value[1], tz)[1]
        return alias, expr, Q(**{f"{alias}__gte": low, f"{alias}__lt": high})
    lookups = {"eq": "", "in": "__in", "contains": "__icontains", "gte": "__gte", "lte": "__lte"}
    if flt.op == "between":
        return (
            alias,
            expr,
            Q(**{f"{alias}__gte": flt.value[0], f"{alias}__lte": flt.value[1]}),
        )
    return alias, expr, Q(**{f"{alias}{lookups[flt.op]}": flt.value})


def filtered(spec: Spec, qs: QuerySet, tz: dt.tzinfo) -> QuerySet:
    """`qs` narrowed by the spec's filters (all must hold)."""
    for flt in spec.filters:
        alias, expr, q = condition(flt, tz)
        if expr is not None:
            qs = qs.alias(**{alias: expr})
        qs = qs.filter(q)
    return qs


def fixed_offset(tz: zoneinfo.ZoneInfo | dt.tzinfo) -> int | None:
    """The zone's UTC offset in seconds if it has not changed since 2000 (sampled twice
    a year to 2040), else None. Lets SQLite bucket datetimes with its own date
    functions instead of calling Python once per row."""
    offsets = set()
    for year in range(2000, 2041):
        for month in (1, 7):
            moment = dt.datetime(year, month, 1, tzinfo=tz)
            offset = moment.utcoffset()
            offsets.add(int(offset.total_seconds()) if offset is not None else 0)
    return offsets.pop() if len(offsets) == 1 else None


class Bucket(Func):
    """The first day of the date bucket a date (or a datetime, in the organisation's
    time zone) falls in, as YYYY-MM-DD text on both databases."""

    output_field = CharField()

    def __init__(
        self, expr: Any, *, unit: str, is_datetime: bool, tz: zoneinfo.ZoneInfo, fiscal_start: int
    ) -> None:
        super().__init__(expr)
        self.unit = unit
        self.is_datetime = is_datetime
        self.tz = tz
        self.shift = (fiscal_start - 1) % 12

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        inner, params = compiler.compile(self.source_expressions[0])
        params = list(params)
        if self.is_datetime:
            offset = fixed_offset(self.tz)
            if offset is not None:
                day, day_params = f"date({inner}, '{offset:+d} seconds')", params
            else:
                day = f"django_datetime_cast_date({inner}, %s, %s)"
                day_params = [*params, str(self.tz), "UTC"]
        else:
            day, day_params = f"date({inner})", params

        def quarter_start(d: str) -> str:
            return (
                f"date({d}, 'start of month', '-' || "
                f"((CAST(strftime('%%m', {d}) AS INTEGER) - 1) %% 3) || ' months')"
            )

        s = self.shift
        if self.unit == "day":
            return day, day_params
        if self.unit == "week":
            return f"date({day}, '-6 days', 'weekday 1')", day_params
        if self.unit == "month":
            return f"date({day}, 'start of month')", day_params
        if self.unit == "year":
            return f"date({day}, 'start of year')", day_params
        if self.unit == "quarter":
            return quarter_start(day), day_params * 2
        shifted = f"date({day}, 'start of month', '-{s} months')"
        if self.unit == "fiscal_year":
            return f"date({shifted}, 'start of year', '+{s} months')", day_params
        return f"date({quarter_start(shifted)}, '+{s} months')", day_params * 2

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        inner, params = compiler.compile(self.source_expressions[0])
        params = list(params)
        if self.is_datetime:
            local, local_params = f"({inner} AT TIME ZONE %s)", [*params, str(self.tz)]
        else:
            local, local_params = f"({inner})::timestamp", params
        s = self.shift
        if self.unit == "day":
            sql = f"{local}::date"
        elif self.unit in ("week", "month", "quarter", "year"):
            sql = f"date_trunc('{self.unit}', {local})::date"
        else:
            unit = "year" if self.unit == "fiscal_year" else "quarter"
            sql = (
                f"(date_trunc('{unit}', {local} - interval '{s} months')"
                f" + interval '{s} months')::date"
            )
        return f"to_char({sql}, 'YYYY-MM-DD')", local_params


def group_expression(g: Group, tz: zoneinfo.ZoneInfo, fiscal_start: int) -> Expression | F | Any:
    f = g.field
    if f.type in DATES:
        return Bucket(
            expression(f),
            unit=g.bucket,
            is_datetime=f.type == registry.DATETIME,
            tz=tz,
            fiscal_start=fiscal_start,
        )
    return expression(f)
