"""The parts of a list page: columns, filters (custom fields included), search, sort
and keyset paging. Everything the browser sends is checked against allow-lists; values
reach SQL only as bound parameters.

Paging is by keyset on (sort key, id), so page 1000 costs what page 1 costs, and no
page counts all the rows: the list shows "more" while there are more.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

from salesops.customization.models import CustomField
from salesops.customization.services import definitions

# -- columns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a list. `attr` is a dotted attribute path on the row (default: the
    key); `sort` the model field to order by when the column is sortable."""

    key: str
    label: Any
    attr: str = ""
    kind: str = "text"  # text · link · money · date · moment · choice · bool · number · percent
    sort: str | None = None
    default: bool = True
    currency: str = "currency_id"

    def raw(self, obj: Any) -> Any:
        if self.key.startswith("cf_"):
            return (getattr(obj, "custom", None) or {}).get(self.key[3:])
        value = obj
        for part in (self.attr or self.key).split("."):
            if value is None:
                return None
            value = getattr(value, part, None)
        if callable(value):
            value = value()
        return value


def custom_columns(object_type: str, defs: list[CustomField]) -> list[Column]:
    kinds: dict[str, str] = {
        CustomField.Type.MONEY: "number",
        CustomField.Type.NUMBER: "number",
        CustomField.Type.DATE: "date",
        CustomField.Type.BOOLEAN: "bool",
    }
    return [
        Column(f"cf_{d.key}", d.label, kind=kinds.get(str(d.field_type), "custom"), default=False)
        for d in defs
    ]


# -- filters ---------------------------------------------------------------------------

Choices = Callable[[Any], Iterable[tuple[Any, Any]]]


@dataclass(frozen=True)
class Filter:
    """A filter the page offers. `lookup` is the ORM lookup the value is bound to."""

    key: str
    label: Any
    lookup: str
    kind: str = "choice"  # choice · text · date_from · date_to · bool · number
    choices: Choices | None = None

    def options(self, user: Any) -> list[tuple[str, Any]]:
        if self.kind == "bool":
            return [("1", _("Yes")), ("0", _("No"))]
        if self.choices is None:
            return []
        return [(str(v), label) for v, label in self.choices(user)]


def _fixed(options: list[tuple[Any, Any]]) -> Choices:
    return lambda user: options


def custom_filters(defs: list[CustomField]) -> list[Filter]:
    t = CustomField.Type
    out = []
    for d in defs:
        lookup = f"custom__{d.key}"
        if d.field_type == t.SELECT:
            opts = [(o["value"], o.get("label") or o["value"]) for o in d.options]
            out.append(Filter(f"cf_{d.key}", d.label, lookup, "choice", _fixed(opts)))
        elif d.field_type == t.BOOLEAN:
            out.append(Filter(f"cf_{d.key}", d.label, lookup, "bool"))
        elif d.field_type in (t.TEXT, t.EMAIL, t.PHONE, t.URL):
            out.append(Filter(f"cf_{d.key}", d.label, f"{lookup}__icontains", "text"))
        elif d.field_type == t.DATE:
            out.append(Filter(f"cf_{d.key}", d.label, lookup, "date_from"))
    return out


@dataclass
class Query:
    """A parsed list request: what to filter, search, sort and show, and what was wrong."""

    values: dict[str, str] = field(default_factory=dict)
    search: str = ""
    sort: str = ""
    descending: bool = False
    columns: list[Column] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def parse_filter(f: Filter, raw: str, user: Any) -> tuple[Q | None, str | None]:
    """(condition, error) for one filter value."""
    raw = raw.strip()
    if not raw:
        return None, None
    if f.kind == "choice":
        if raw not in {v for v, _label in f.options(user)}:
            return None, str(_("Choose one of the options."))
        value: Any = raw
        if f.lookup.startswith("custom__"):
            return Q(**{f.lookup: value}), None
        return Q(**{f.lookup: value}), None
    if f.kind == "bool":
        if raw not in ("0", "1"):
            return None, str(_("Choose yes or no."))
        return Q(**{f.lookup: raw == "1"}), None
    if f.kind == "text":
        return Q(**{f.lookup: raw[:100]}), None
    if f.kind in ("date_from", "date_to"):
        day = _date(raw)
        if day is None:
            return None, str(_("Write the date as YYYY-MM-DD."))
        if f.lookup.startswith("custom__"):
            return Q(**{f.lookup: day.isoformat()}), None
        return Q(**{f.lookup: day}), None
    if f.kind == "number":
        try:
            return Q(**{f.lookup: Decimal(raw)}), None
        except Exception:
            return None, str(_("Enter a number."))
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


def encode_cursor(sort: str, descending: bool, obj: models.Model) -> str:
    model_field: Any = obj._meta.get_field(sort)
    data = [("-" if descending else "") + sort, _plain(getattr(obj, model_field.attname)), obj.pk]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def decode_cursor(raw: str, sort: str, descending: bool, model: Any) -> tuple[Any, int] | None:
    """(value, id) of the last row shown, or None when the cursor is not for this list."""
    try:
        padded = raw + "=" * (-len(raw) % 4)
        spec, value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if spec != ("-" if descending else "") + sort or not isinstance(last_id, int):
            return None
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
    qs: models.QuerySet, sort: str, descending: bool, value: Any, last_id: int
) -> models.QuerySet:
    """Rows after (value, last_id) in (sort, id) order, `value` not null. The condition
    leads with `sort >= value` so an index on (sort, id) is used as a range."""
    after = "lt" if descending else "gt"
    if sort == "id":
        return qs.filter(**{f"id__{after}": last_id})
    ahead = "lte" if descending else "gte"
    return qs.filter(
        Q(**{f"{sort}__{ahead}": value})
        & (Q(**{f"{sort}__{after}": value}) | Q(**{f"id__{after}": last_id}))
    )


def page_of(
    qs: models.QuerySet,
    *,
    sort: str,
    descending: bool,
    cursor: str | None,
    size: int,
    few: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of rows in (sort, id) order, empty sort values last in both directions,
    and the cursor of the next page (None at the end). Never counts: it reads one row
    more than it shows to know whether there is a next page.

    A nullable sort column is read in two parts, the rows with a value and then the
    rows without, each in the order an index on (sort, id) gives in either direction on
    both databases; a single `ORDER BY sort NULLS LAST` would make PostgreSQL (for
    descending) and SQLite (for ascending) sort every matching row first.

    `few`: the filter matches few rows (one person's, or a counted few), so they are
    read by the filter and sorted rather than found along the sort index. The order,
    and so the cursors, are the same either way."""
    model: Any = qs.model
    nullable = sort != "id" and model._meta.get_field(sort).null
    decoded = decode_cursor(cursor, sort, descending, model) if cursor else None
    rows: list[Any] = []
    if decoded is None or decoded[0] is not None:
        part = qs.filter(**{f"{sort}__isnull": False}) if nullable else qs
        part = _ordered(part, sort, descending, few)
        if decoded is not None:
            part = _after(part, sort, descending, decoded[0], decoded[1])
        rows = list(part[: size + 1])
    if nullable and len(rows) <= size:
        part = _ordered(qs.filter(**{f"{sort}__isnull": True}), "id", descending)
        if decoded is not None and decoded[0] is None:
            part = _after(part, "id", descending, None, decoded[1])
        rows += list(part[: size + 1 - len(rows)])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, encode_cursor(sort, descending, rows[-1])


__all__ = [
    "Column",
    "Filter",
    "Query",
    "custom_columns",
    "custom_filters",
    "definitions",
    "page_of",
    "parse_filter",
    "search_condition",
]
