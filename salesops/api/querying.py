"""List queries: allow-listed filters (incl. custom fields), one sort key, and an
opaque cursor on (sort key, id). Nothing the client sends reaches SQL but values
bound as parameters: field names and lookups are checked against allow-lists."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import F, Q
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from salesops.api.errors import ApiError
from salesops.customization import policy
from salesops.customization.models import CustomField

#: Query parameters that are not filters.
RESERVED = {"sort", "cursor", "limit", "fields", "expand", "deleted"}
MAX_IN = 100

TEXT = {"exact", "iexact", "icontains", "istartswith", "in"}
ORDERED = {"exact", "gt", "gte", "lt", "lte", "in"}
CHOICE = {"exact", "in"}
BOOL = {"exact"}
REF = {"exact", "in"}


def lookups_for(field: Any) -> set[str]:
    if isinstance(field, models.BooleanField):
        found = set(BOOL)
    elif isinstance(field, models.ForeignKey):
        found = set(REF)
    elif field.choices:
        found = set(CHOICE)
    elif isinstance(
        field, models.DateField | models.DecimalField | models.IntegerField | models.AutoField
    ):
        found = set(ORDERED)
    else:
        found = set(TEXT)
    if field.null:
        found.add("isnull")
    return found


CUSTOM_LOOKUPS: dict[str, set[str]] = {
    CustomField.Type.NUMBER: ORDERED,
    CustomField.Type.DATE: ORDERED,
    CustomField.Type.DATETIME: {"gt", "gte", "lt", "lte"},
    CustomField.Type.BOOLEAN: BOOL,
    CustomField.Type.USER: {"exact", "in"},
    CustomField.Type.SELECT: {"exact", "in"},
    CustomField.Type.MONEY: {"exact"},
    CustomField.Type.MULTI_SELECT: set(),
    CustomField.Type.LONG_TEXT: {"icontains"},
}


def _bad(param: str, message: str) -> ApiError:
    return ApiError(422, message, {param: [message]})


def _split(param: str, raw: str) -> tuple[str, str]:
    name, sep, lookup = raw.rpartition("__")
    if not sep:
        return raw, "exact"
    return name, lookup


def _to_bool(param: str, value: str) -> bool:
    v = value.strip().lower()
    if v in ("true", "1", "yes"):
        return True
    if v in ("false", "0", "no"):
        return False
    raise _bad(param, _("Write true or false."))


def _convert(param: str, field: Any, value: str) -> Any:
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.BooleanField):
        return _to_bool(param, value)
    try:
        converted = field.to_python(value)
    except ValidationError as e:
        raise _bad(param, " ".join(str(m) for m in e.messages)) from None
    if field.choices and str(converted) not in {str(v) for v, _l in field.flatchoices}:
        options = ", ".join(str(v) for v, _l in field.flatchoices)
        raise _bad(param, _("Choose one of: %(options)s.") % {"options": options})
    if isinstance(converted, dt.datetime) and converted.tzinfo is None:
        raise _bad(param, _("Give the time with its time zone, e.g. 2026-07-01T09:00:00+08:00."))
    return converted


def _values(param: str, lookup: str, raw: str, convert: Any) -> Any:
    if lookup == "isnull":
        return _to_bool(param, raw)
    if lookup == "in":
        items = [v for v in raw.split(",") if v != ""]
        if not items or len(items) > MAX_IN:
            raise _bad(param, _("Give 1 to %(n)s values separated by commas.") % {"n": MAX_IN})
        return [convert(v) for v in items]
    return convert(raw)


def _custom_value(param: str, definition: CustomField, raw: str) -> Any:
    t = CustomField.Type
    kind = definition.field_type
    if kind == t.NUMBER:
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise _bad(param, _("Write a number, such as 12 or 12.5.")) from None
        if not number.is_finite():
            raise _bad(param, _("Write a number, such as 12 or 12.5."))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == t.MONEY:
        try:
            return str(Decimal(raw).quantize(Decimal("0.01")))
        except InvalidOperation:
            raise _bad(param, _("Write an amount, such as 99.50.")) from None
    if kind == t.BOOLEAN:
        return _to_bool(param, raw)
    if kind == t.DATE:
        day = parse_date(raw)
        if day is None:
            raise _bad(param, _("Write a date as YYYY-MM-DD."))
        return day.isoformat()
    if kind == t.DATETIME:
        try:
            moment = parse_datetime(raw)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise _bad(param, _("Write a date and time with its time zone."))
        return moment.astimezone(dt.UTC).isoformat()
    if kind == t.USER:
        try:
            return int(raw)
        except ValueError:
            raise _bad(param, _("Write a user id.")) from None
    return raw


def check_field(
    param: str,
    key: str,
    *,
    user: Any,
    object_type: str,
    use: str,
    allowed: list[str],
    custom: bool = False,
) -> Any:
    """The registry field `key` of `object_type` that `user` may use as `use` here
    (`allowed`: the list's own fields; `custom`: a custom field named `custom.<key>`),
    or a 422 naming `param`. A field hidden from `user` gets the answer an unknown one
    gets, so the answer does not tell that it exists."""
    try:
        f = policy.field_for(user, object_type, key, use=use)
    except policy.FieldRefused as e:
        raise _bad(param, " ".join(e.messages)) from None
    if f.is_custom if custom else f.key in allowed:
        return f
    raise _bad(param, _("There is no field “%(key)s” you may use here.") % {"key": key})


def build_filters(
    params: Any,
    *,
    model: type[models.Model],
    allowed: list[str],
    user: Any = None,
    object_type: str | None = None,
    custom: bool = False,
) -> Q:
    """`params` (the query string) as one Q, or a 422 naming the parameter at fault.

    For a registered object type the field policy decides as well: a field hidden from
    `user` (built-in or `custom.<key>`) is refused exactly as an unknown one."""
    q = Q()
    hidden = policy.hidden_keys(user, object_type) if object_type else frozenset()
    for param in params:
        if param in RESERVED:
            continue
        raw = params.get(param)
        if param.startswith("custom."):
            if object_type is None or not custom:
                raise _bad(param, _("This kind of record has no custom fields."))
            key, lookup = _split(param, param[len("custom.") :])
            f = check_field(
                param,
                key,
                user=user,
                object_type=object_type,
                use="filter",
                allowed=[],
                custom=True,
            )
            definition: CustomField = f.custom
            allowed_lookups = CUSTOM_LOOKUPS.get(definition.field_type, TEXT)
            if lookup not in allowed_lookups:
                raise _bad(
                    param,
                    _("“%(lookup)s” is not a filter for %(label)s; use one of: %(options)s.")
                    % {
                        "lookup": lookup,
                        "label": definition.label,
                        "options": ", ".join(sorted(allowed_lookups)) or "-",
                    },
                )
            value = _values(
                param, lookup, raw, lambda v, p=param, d=definition: _custom_value(p, d, v)
            )
            q &= Q(**{f"custom__{key}__{lookup}": value})
            continue
        name, lookup = _split(param, param)
        if object_type is not None:
            visible = [n for n in allowed if n not in hidden]
            check_field(
                param, name, user=user, object_type=object_type, use="filter", allowed=visible
            )
        elif name not in allowed:
            raise _bad(
                param,
                _("You cannot filter on “%(name)s”. Filters: %(allowed)s, custom.<key>.")
                % {"name": name, "allowed": ", ".join(allowed)},
            )
        field: Any = model._meta.get_field(name)
        allowed_lookups = lookups_for(field)
        if lookup not in allowed_lookups:
            raise _bad(
                param,
                _("“%(lookup)s” is not a filter for %(name)s; use one of: %(options)s.")
                % {"lookup": lookup, "name": name, "options": ", ".join(sorted(allowed_lookups))},
            )
        value = _values(param, lookup, raw, lambda v, p=param, f=field: _convert(p, f, v))
        q &= Q(**{f"{name}__{lookup}": value})
    return q


# -- sorting and cursors --------------------------------------------------------------


def parse_sort(raw: str | None, *, allowed: list[str], default: str) -> tuple[str, bool]:
    """(field, descending)."""
    spec = raw or default
    descending = spec.startswith("-")
    name = spec.lstrip("-")
    if name not in allowed:
        raise _bad(
            "sort",
            _("You cannot sort on “%(name)s”. Sort on: %(allowed)s (prefix - for descending).")
            % {"name": name, "allowed": ", ".join(allowed)},
        )
    return name, descending


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode_cursor(sort: str, descending: bool, obj: models.Model) -> str:
    field: Any = obj._meta.get_field(sort)
    value = getattr(obj, field.attname)
    data = [("-" if descending else "") + sort, _encode_value(value), obj.pk]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _decode_cursor(raw: str, sort: str, descending: bool, model: type[models.Model]) -> Any:
    try:
        padded = raw + "=" * (-len(raw) % 4)
        spec, value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if spec != ("-" if descending else "") + sort or not isinstance(last_id, int):
            raise ValueError
        field: Any = model._meta.get_field(sort)
        if isinstance(field, models.ForeignKey):
            field = field.target_field
        if value is not None:
            value = field.to_python(value)
    except (ValueError, TypeError, binascii.Error, ValidationError, UnicodeDecodeError):
        raise _bad(
            "cursor",
            _("This cursor is not valid for this list and sort order; start again without it."),
        ) from None
    return value, last_id


def fetch_page(
    qs: models.QuerySet,
    *,
    sort: str,
    descending: bool,
    cursor: str | None,
    limit: int,
    params: Any = (),
) -> tuple[list[Any], bool]:
    """One page ordered by (sort, id), starting after `cursor`; (rows, more after).

    Empty values sort as the largest (PostgreSQL's own index order): last ascending,
    first descending, so a plain index on the sort key serves both directions. They are
    read as their own segment, so each query is a range on the index:
    `sort >= value AND (sort > value OR id > last_id)`. A page that crosses from the
    values to the empties takes two queries; every other page takes one."""
    model = qs.model
    field: Any = model._meta.get_field(sort)
    value: Any = None
    last_id: int | None = None
    if cursor:
        value, last_id = _decode_cursor(cursor, sort, descending, model)
    after = "lt" if descending else "gt"
    id_order = "-id" if descending else "id"
    if sort == "id":
        seek = qs.filter(**{f"id__{after}": last_id}) if last_id is not None else qs
        page = list(seek.order_by(id_order)[: limit + 1])
        return page[:limit], len(page) > limit

    def values_segment() -> models.QuerySet | None:
        seg = qs.filter(**{f"{sort}__isnull": False}) if field.null else qs
        if last_id is not None:
            if value is None:  # the cursor is among the empties
                return None if not descending else seg.order_by(f"-{sort}", "-id")
            ahead = "lte" if descending else "gte"
            seg = seg.filter(
                Q(**{f"{sort}__{ahead}": value})
                & (Q(**{f"{sort}__{after}": value}) | Q(**{f"id__{after}": last_id}))
            )
        return seg.order_by(f"-{sort}" if descending else sort, id_order)

    def empties_segment() -> models.QuerySet | None:
        if not field.null or _filters_out_empties(sort, params):
            return None
        if last_id is not None and value is not None and descending:
            return None  # the empties came first and are done
        seg = qs.filter(**{f"{sort}__isnull": True})
        if last_id is not None and value is None:
            seg = seg.filter(**{f"id__{after}": last_id})
        return seg.order_by(id_order)

    if last_id is None and field.null and connections[qs.db].vendor == "postgresql":
        # The first page in one query: PostgreSQL's own order puts empties last
        # ascending and first descending, as the segments do, so one index range
        # serves it.
        key = F(sort).desc(nulls_first=True) if descending else F(sort).asc(nulls_last=True)
        page = list(qs.order_by(key, id_order)[: limit + 1])
        return page[:limit], len(page) > limit

    segments = (
        [empties_segment, values_segment] if descending else [values_segment, empties_segment]
    )
    rows: list[Any] = []
    for make in segments:
        seg = make()
        if seg is None:
            continue
        rows += list(seg[: limit + 1 - len(rows)])
        if len(rows) > limit:
            break
    return rows[:limit], len(rows) > limit


def _filters_out_empties(sort: str, params: Any) -> bool:
    """A comparison on the sort field already excludes empty values: skip their segment
    (a contradictory query may otherwise scan the whole table)."""
    for param in params:
        if param == sort or (param.startswith(f"{sort}__") and param != f"{sort}__isnull"):
            return True
        if param == f"{sort}__isnull" and str(params.get(param)).lower() in ("false", "0", "no"):
            return True
    return False


def parse_names(param: str, raw: str | None, allowed: list[str] | set[str]) -> list[str] | None:
    if not raw:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise _bad(
            param,
            _("Unknown: %(unknown)s. Choose from: %(allowed)s.")
            % {"unknown": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))},
        )
    return list(dict.fromkeys(names))
