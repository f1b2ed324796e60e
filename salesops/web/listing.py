"""The parts of a list page: columns, filters (custom fields included), search, sort
and keyset paging. Columns and filters are made from the metadata registry's fields
(`column_of`, `filters_of`); which of them a person may use is the field policy's
business, applied by the list view. Everything the browser sends is checked against
allow-lists; values reach SQL only as bound parameters.

Paging is by keyset on (sort key, id), so page 1000 costs what page 1 costs, and no
page counts all the rows: the list shows "more" while there are more.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q, Value, lookups, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from salesops.customization import registry
from salesops.customization.registry import FieldSpec
from salesops.customization.values import value_of

# -- columns ---------------------------------------------------------------------------

#: How a field type is shown in a list cell (see the `cell` template tag).
KINDS = {
    registry.MONEY: "money",
    registry.INTEGER: "number",
    registry.NUMBER: "number",
    registry.DATE: "date",
    registry.DATETIME: "moment",
    registry.BOOL: "bool",
}
#: Field types never shown as a list column.
NOT_COLUMNS = (registry.LONG_TEXT, registry.JSON, registry.MANY_REF)
#: A custom field's sort name in the address (`?sort=-cf_score`): no built-in path
#: starts so.
CUSTOM_SORT = "cf_"


@dataclass(frozen=True)
class Column:
    """One column of a list. `attr` is a dotted attribute path on the row (default: the
    key); `sort` the model field to order by when the column is sortable; `labels` the
    labels of a choice field's values (read once per page, not per row)."""

    key: str
    label: Any
    attr: str = ""
    kind: str = "text"  # text · link · money · date · moment · bool · number · percent
    sort: str | None = None
    default: bool = True
    currency: str = "currency_id"
    #: Read from the record's custom values rather than an attribute.
    custom: bool = False
    #: A reference to another record (its object is loaded for the whole page at once).
    ref: bool = False
    labels: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    #: The registry field shown (None for a list's own computed column).
    spec: FieldSpec | None = field(default=None, compare=False, hash=False, repr=False)
    #: For a sortable custom field: the SQL expression of its value (`value_of`), which
    #: the list orders and pages by (its expression index serves it).
    expression: Any = field(default=None, compare=False, hash=False, repr=False)

    def raw(self, obj: Any) -> Any:
        if self.custom:
            value = (getattr(obj, "custom", None) or {}).get(self.key)
            if self.kind in ("date", "moment") and isinstance(value, str):
                value = parse_datetime(value) or _date(value)
        else:
            value = obj
            for part in (self.attr or self.key).split("."):
                if value is None:
                    return None
                value = getattr(value, part, None)
            if callable(value):
                value = value()
        if self.labels is not None and value not in (None, ""):
            if isinstance(value, list):
                return [self.label_of(v) for v in value]
            return self.label_of(value)
        return value

    def label_of(self, value: Any) -> Any:
        assert self.labels is not None
        if str(value) in self.labels:
            return self.labels[str(value)]
        # Not an active option (a deactivated one): the registry knows its label.
        return self.spec.choice_label(value) if self.spec is not None else value


def column_of(f: FieldSpec, *, default: bool, link: bool = False, **changes: Any) -> Column:
    """The list column of registry field `f`: its kind from the field's type, choice
    labels from its options (a picklist's read once, through the registry's cache)."""
    kind = KINDS.get(f.type, "text")
    if kind == "money" and not f.currency_path:
        kind = "number"
    labels: dict[str, Any] | None = None
    if f.type in (registry.CHOICE, registry.MULTI_CHOICE):
        labels = {str(v): label for v, label in f.options()}
    elif f.is_custom and f.type == registry.REF:
        labels = {}  # the people's names, filled in for the page (`load_references`)
    sort = None
    if f.sortable:
        sort = f"{CUSTOM_SORT}{f.key}" if f.is_custom else f.path
    column = Column(
        key=f.key,
        label=f.title,
        kind="link" if link else kind,
        sort=sort,
        default=default,
        currency=f.currency_path.replace("__", ".") if f.currency_path else "currency_id",
        custom=f.is_custom,
        ref=f.type == registry.REF and not f.is_custom,
        labels=labels,
        spec=f if f.type in (registry.CHOICE, registry.MULTI_CHOICE) else None,
        expression=value_of(f) if f.is_custom and f.sortable else None,
    )
    if f.shown_as:
        changes = {"attr": f.shown_as, **changes}
    if f.percent:
        changes = {"kind": "percent", **changes}
    return replace(column, **changes) if changes else column


def columnable(f: FieldSpec) -> bool:
    return f.type not in NOT_COLUMNS and not f.internal and not f.derived


def load_references(rows: list[Any], columns: list[Column]) -> None:
    """Load what the shown reference columns name for the whole page: the related
    records one query per column (none when the list already joined or attached them),
    the people a custom "person" field names in one query."""
    if not rows:
        return
    refs = [c.attr or c.key for c in columns if c.ref and "." not in (c.attr or c.key)]
    if refs:
        prefetch_related_objects(rows, *refs)
    people = [c for c in columns if c.custom and c.labels is not None and not c.labels]
    if not people:
        return
    from salesops.users.models import User

    ids = {
        int(v)
        for c in people
        for obj in rows
        if str(v := (getattr(obj, "custom", None) or {}).get(c.key, "")).isdigit()
    }
    names = {str(u.pk): str(u) for u in User.objects.filter(pk__in=ids)} if ids else {}
    for c in people:
        assert c.labels is not None
        c.labels.update(names)


# -- filters ---------------------------------------------------------------------------

Choices = Callable[[Any], Iterable[tuple[Any, Any]]]


@dataclass(frozen=True)
class Filter:
    """A filter the page offers. `key` is the query parameter, `lookup` the ORM lookup
    the value is bound to, `field` the registry field it reads (a filter on a field
    hidden from the user is refused); `offered` says whether the filter bar shows it
    without a value (every filter works from the address)."""

    key: str
    label: Any
    lookup: str
    kind: str = "choice"  # choice · text · date_from · date_to · bool · number · owner · team · id
    choices: Choices | None = None
    field: str = ""
    offered: bool = True
    #: For a custom field: the SQL expression of its value (`value_of`) the condition
    #: compares, as the expression indexes of custom objects' fields are written.
    expression: Any = dataclasses.field(default=None, compare=False, hash=False, repr=False)

    def options(self, user: Any) -> list[tuple[str, Any]]:
        if self.kind == "bool":
            return [("1", _("Yes")), ("0", _("No"))]
        if self.choices is None:
            return []
        return [(str(v), label) for v, label in self.choices(user)]


def _stages(user: Any) -> list[tuple[int, str]]:
    from salesops.pipeline.models import Stage

    return [(s.pk, str(s)) for s in Stage.objects.select_related("pipeline")]


def _pipelines(user: Any) -> list[tuple[int, str]]:
    from salesops.pipeline.models import Pipeline

    return list(Pipeline.objects.filter(active=True).values_list("id", "name"))


def _teams(user: Any) -> list[tuple[int, str]]:
    from salesops.users.models import Team

    return list(Team.objects.values_list("id", "name").order_by("path"))


def _currencies(user: Any) -> list[tuple[str, str]]:
    from salesops.org.models import Currency

    return list(Currency.objects.values_list("code", "code").order_by("code"))


#: Choices of references to the few records of a kind (chosen from a list in the bar).
REF_CHOICES: dict[str, Choices] = {
    "stage": _stages,
    "pipeline": _pipelines,
    "team": _teams,
    "currency": _currencies,
}
#: Field types a filter bar offers by default (text and numbers are asked from the
#: address or, for text, answered by the search box).
OFFERED = (registry.CHOICE, registry.BOOL, registry.REF, registry.DATE, registry.DATETIME)


def filters_of(f: FieldSpec, people: Choices, *, offered: bool) -> list[Filter]:
    """The filters of registry field `f`, from its type: options (with their labels)
    for a choice, a person for a reference to people, from/until for a date, yes/no,
    contains for text, at least/at most for a number."""
    label, path, t = f.title, f.path, f.type
    show = offered and (t in OFFERED or f.is_custom)
    filters = _filters_of(f, people, label, path, t, show)
    if f.is_custom and t not in (registry.BOOL, registry.REF):
        # Compared as `value_of` writes the value, so that the expression index of a
        # custom object's field answers it. (Yes/no and people are compared by JSON
        # lookups: SQLite reads them as numbers, PostgreSQL as text.)
        expression = value_of(f)
        filters = [replace(x, expression=expression) for x in filters]
    return filters


def _filters_of(
    f: FieldSpec, people: Choices, label: Any, path: str, t: str, show: bool
) -> list[Filter]:
    if t == registry.CHOICE:
        options = f.options
        return [Filter(f.key, label, path, "choice", lambda user: options(), f.key, show)]
    if t == registry.BOOL:
        return [Filter(f.key, label, path, "bool", None, f.key, show)]
    if t == registry.REF:
        if f.ref == "user":
            return [Filter(f.key, label, path, "owner", people, f.key, show)]
        if f.ref in REF_CHOICES:
            return [Filter(f.key, label, path, "choice", REF_CHOICES[f.ref], f.key, show)]
        return [Filter(f.key, label, path, "id", None, f.key, False)]
    if t in (registry.DATE, registry.DATETIME):
        on = path if t == registry.DATE or f.is_custom else f"{path}__date"
        return [
            Filter(
                f"{f.key}_from",
                _("%(field)s from") % {"field": label},
                f"{on}__gte",
                "date_from",
                None,
                f.key,
                show,
            ),
            Filter(
                f"{f.key}_to",
                _("%(field)s until") % {"field": label},
                f"{on}__lte",
                "date_to",
                None,
                f.key,
                show,
            ),
        ]
    if t in registry.TEXTUAL and t != registry.LONG_TEXT:
        return [Filter(f.key, label, f"{path}__icontains", "text", None, f.key, show)]
    if t in registry.NUMERIC:
        return [
            Filter(
                f"{f.key}_min",
                _("%(field)s at least") % {"field": label},
                f"{path}__gte",
                "number",
                None,
                f.key,
                False,
            ),
            Filter(
                f"{f.key}_max",
                _("%(field)s at most") % {"field": label},
                f"{path}__lte",
                "number",
                None,
                f.key,
                False,
            ),
        ]
    return []


@dataclass
class Query:
    """A parsed list request: what to filter, search, sort and show, and what was wrong."""

    values: dict[str, str] = field(default_factory=dict)
    search: str = ""
    sort: str = ""
    descending: bool = False
    columns: list[Column] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


#: The lookups a filter uses, as expressions (for custom fields' values).
LOOKUPS: dict[str, Any] = {
    "exact": lookups.Exact,
    "icontains": lookups.IContains,
    "gte": lookups.GreaterThanOrEqual,
    "lte": lookups.LessThanOrEqual,
}


def condition(f: Filter, value: Any) -> Q:
    """The condition "`f`'s field `f.lookup` `value`": on a custom field with an
    expression, the lookup compares `value_of`'s expression (as its index is written),
    not Django's JSON key transform."""
    if f.expression is None:
        return Q(**{f.lookup: value})
    name = f.lookup.rsplit("__", 1)[-1]
    lookup = LOOKUPS.get(name, lookups.Exact)
    return Q(lookup(f.expression, value))


def parse_filter(f: Filter, raw: str, user: Any) -> tuple[Q | None, str | None]:
    """(condition, error) for one filter value."""
    raw = raw.strip()
    if not raw:
        return None, None
    if f.kind == "choice":
        if raw not in {v for v, _label in f.options(user)}:
            return None, str(_("Choose one of the options."))
        return condition(f, raw), None
    if f.kind == "bool":
        if raw not in ("0", "1"):
            return None, str(_("Choose yes or no."))
        return condition(f, raw == "1"), None
    if f.kind == "text":
        return condition(f, raw[:100]), None
    if f.kind in ("date_from", "date_to"):
        day = _date(raw)
        if day is None:
            return None, str(_("Write the date as YYYY-MM-DD."))
        if f.lookup.startswith("custom__"):
            return condition(f, day.isoformat()), None
        return condition(f, day), None
    if f.kind == "id":
        if not raw.isdigit():
            return None, str(_("Choose one of the options."))
        return condition(f, int(raw)), None
    if f.kind == "number":
        try:
            number = Decimal(raw)
        except Exception:
            return None, str(_("Enter a number."))
        if not number.is_finite():
            return None, str(_("Enter a number."))
        return condition(f, float(number) if f.expression is not None else number), None
    return None, None


def _date(raw: str) -> dt.date | None:
    try:
        return parse_date(raw)
    except ValueError:
        return None


def search_condition(fields: list[str], text: str) -> Q:
    q = Q()
    for name in fields:
        q |= Q(**{f"{name}__icontains": text})
    return q


# -- keyset paging ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


#: The names a custom field's value is ordered by and read as in a page's query.
SORT_ALIAS = "listing_sort"
SORT_VALUE = "listing_sort_value"
#: What a custom value in a cursor may be (as the database gave it).
_SCALARS = (str, int, float, bool)


def encode_cursor(sort: str, descending: bool, obj: models.Model, *, custom: bool = False) -> str:
    """The cursor after `obj`: the sort, its value in `obj` and `obj`'s id. A custom
    field's value is the one the page's query read (`SORT_VALUE`), so that the next
    page compares it with the same expression, as the same type, on either database."""
    if custom:
        value = getattr(obj, SORT_VALUE, None)
    else:
        model_field: Any = obj._meta.get_field(sort)
        value = getattr(obj, model_field.attname)
    data = [("-" if descending else "") + sort, _plain(value), obj.pk]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def decode_cursor(
    raw: str, sort: str, descending: bool, model: Any, *, custom: bool = False
) -> tuple[Any, int] | None:
    """(value, id) of the last row shown, or None when the cursor is not for this list."""
    try:
        padded = raw + "=" * (-len(raw) % 4)
        spec, value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if spec != ("-" if descending else "") + sort or not isinstance(last_id, int):
            return None
        if custom:
            if value is not None and not isinstance(value, _SCALARS):
                return None
            return value, last_id
        model_field: Any = model._meta.get_field(sort)
        if isinstance(model_field, models.ForeignKey):
            model_field = model_field.target_field
        if value is not None:
            value = model_field.to_python(value)
    except (ValueError, TypeError, binascii.Error, ValidationError, UnicodeDecodeError):
        return None
    return value, last_id


#: Lists count matching rows up to this many, then say "more than".
COUNT_CAP = 1000


def count_upto(qs: models.QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(how many rows match, up to `cap`; whether there are more): reads at most cap+1
    index entries, so it costs the same at a million rows as at a thousand."""
    n = qs.order_by().values("pk")[: cap + 1].count()
    return min(n, cap), n > cap


def _ordered(
    qs: models.QuerySet, sort: str, descending: bool, few: bool = False
) -> models.QuerySet:
    if sort == "id":
        return qs.order_by("-id" if descending else "id")
    key: Any = F(sort)
    if few:
        # COALESCE(col, col) is col, but no index matches it: the database finds the
        # few rows by the filter's own index (a rep's owner index) and sorts them, where
        # PostgreSQL otherwise walked the sort column's index through everyone's rows
        # (a rep's deals by amount: 98,000 rows read for a page of 50).
        key = Coalesce(F(sort), F(sort))
    return qs.order_by(key.desc() if descending else key.asc(), "-id" if descending else "id")


def _after(
    qs: models.QuerySet,
    sort: str,
    descending: bool,
    value: Any,
    last_id: int,
    *,
    custom: bool = False,
) -> models.QuerySet:
    """Rows after (value, last_id) in (sort, id) order, `value` not null. The condition
    leads with `sort >= value` so an index on (sort, id) is used as a range. A custom
    value is bound as the database gave it (`Value`), not cast by a model field."""
    after = "lt" if descending else "gt"
    if sort == "id":
        return qs.filter(**{f"id__{after}": last_id})
    ahead = "lte" if descending else "gte"
    bound = Value(value) if custom else value
    return qs.filter(
        Q(**{f"{sort}__{ahead}": bound})
        & (Q(**{f"{sort}__{after}": bound}) | Q(**{f"id__{after}": last_id}))
    )


def page_of(
    qs: models.QuerySet,
    *,
    sort: str,
    descending: bool,
    cursor: str | None,
    size: int,
    few: bool = False,
    expression: Any = None,
) -> tuple[list[Any], str | None]:
    """One page of rows in (sort, id) order, empty sort values last in both directions,
    and the cursor of the next page (None at the end). Never counts: it reads one row
    more than it shows to know whether there is a next page.

    A nullable sort column is read in two parts, the rows with a value and then the
    rows without, each in the order an index on (sort, id) gives in either direction on
    both databases; a single `ORDER BY sort NULLS LAST` would make PostgreSQL (for
    descending) and SQLite (for ascending) sort every matching row first.

    `expression`: the sort is a custom field's, and this its value (`value_of`): the
    rows are ordered by it (so a custom object's expression index serves the page),
    and a row without the value counts as empty.

    `few`: the filter matches few rows (one person's, or a counted few), so they are
    read by the filter and sorted rather than found along the sort index. The order,
    and so the cursors, are the same either way."""
    model: Any = qs.model
    custom = expression is not None and sort != "id"
    column = sort
    if custom:
        qs = qs.alias(**{SORT_ALIAS: expression}).annotate(**{SORT_VALUE: expression})
        column = SORT_ALIAS
    nullable = custom or (sort != "id" and model._meta.get_field(sort).null)
    decoded = decode_cursor(cursor, sort, descending, model, custom=custom) if cursor else None
    rows: list[Any] = []
    if decoded is None or decoded[0] is not None:
        part = qs.filter(**{f"{column}__isnull": False}) if nullable else qs
        part = _ordered(part, column, descending, few)
        if decoded is not None:
            part = _after(part, column, descending, decoded[0], decoded[1], custom=custom)
        rows = list(part[: size + 1])
    if nullable and len(rows) <= size:
        part = _ordered(qs.filter(**{f"{column}__isnull": True}), "id", descending)
        if decoded is not None and decoded[0] is None:
            part = _after(part, "id", descending, None, decoded[1])
        rows += list(part[: size + 1 - len(rows)])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, encode_cursor(sort, descending, rows[-1], custom=custom)


__all__ = [
    "Column",
    "Filter",
    "Query",
    "column_of",
    "filters_of",
    "load_references",
    "page_of",
    "parse_filter",
    "search_condition",
]
