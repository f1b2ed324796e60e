"""Custom objects (自定义对象) in API v1: one set of routes serves every custom object,
whenever it was defined — `/objects/{object_key}` (list, create, bulk create) and
`/objects/{object_key}/{id}` (read, change with If-Match, delete, restore). Nothing is
registered per object, so a new object answers at once in every process (within the
registry's few-second cache) without a restart; the OpenAPI document lists each active
object under its own paths with a typed record schema (`objects_doc`).

Records are read through `spec.visible(user)` (the object's rights, the data scope,
only that object's rows) and written through `salesops.objects.services`. The field
policy applies as on the other resources: hidden fields are left out of the output,
and a filter or sort naming one is refused like an unknown field (422). Filters and
sorts on custom fields go through `customization.values.value_of`, the expression the
run-time indexes are built on.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from salesops.api import querying
from salesops.api.errors import NOT_FOUND, ApiError, describe
from salesops.api.framework import (
    BULK_MAX,
    READ_ERRORS,
    WRITE_ERRORS,
    BulkOut,
    ListParams,
    Row,
    if_match,
    json_response,
)
from salesops.api.schemas import Out, Strict
from salesops.customization import policy, registry
from salesops.customization.models import CustomField
from salesops.customization.registry import FieldSpec, ObjectSpec
from salesops.customization.values import value_of
from salesops.lib.updates import check_version
from salesops.objects import services
from salesops.objects.models import LINKABLE, CustomRecord

router = Router()
TAG = "Custom objects"
BASE = "/objects/{object_key}"
#: The record's own columns, in output order (links only where the object has them).
STAMPS = ("created_at", "updated_at")


# -- the generic schemas (each object's own typed ones are in the document) -----------


class CustomRecordOut(Out):
    id: int
    title: str | None = None
    customer: int | None = None
    contact: int | None = None
    deal: int | None = None
    owner: int | None = None
    created_at: Any = None
    updated_at: Any = None
    custom: dict[str, Any] | None = None
    version: int | None = None


class CustomRecordPage(Schema):
    data: list[CustomRecordOut]
    next_cursor: str | None = None


class CustomRecordCreate(Strict):
    title: str = Field(..., max_length=200)
    customer: int | None = None
    contact: int | None = None
    deal: int | None = None
    owner: int | None = Field(None, description="Omit: you.")
    custom: dict[str, Any] | None = None


class CustomRecordUpdate(Strict):
    title: str | None = Field(None, max_length=200)
    customer: int | None = None
    contact: int | None = None
    deal: int | None = None
    owner: int | None = None
    custom: dict[str, Any] | None = None


class CustomRecordBulkCreate(Strict):
    items: list[CustomRecordCreate] = Field(..., min_length=1, max_length=BULK_MAX)
    atomic: bool = Field(True, description="All or nothing (true) or per-item results (false).")


# -- reading --------------------------------------------------------------------------------


def object_spec(key: str) -> ObjectSpec:
    """The active custom object `key`, or 404 (also for a built-in object's name)."""
    spec = registry.find(key)
    if spec is None or not spec.is_custom_object:
        raise ApiError(404, _("There is no such kind of record."))
    return spec


def output_names(spec: ObjectSpec) -> list[str]:
    return ["id", "title", *spec.links, "owner", *STAMPS, "custom", "version"]


def builtin_filters(spec: ObjectSpec) -> list[str]:
    return [f.key for f in spec.fields(custom=False) if f.filterable and not f.internal]


def builtin_sorts(spec: ObjectSpec) -> list[str]:
    return ["id", *(f.key for f in spec.fields(custom=False) if f.sortable)]


def _columns(spec: ObjectSpec) -> list[str]:
    links = [f"{link}_id" for link in spec.links]
    return ["id", "title", *links, "owner_id", *STAMPS, "custom", "version"]


@dataclass
class Shape:
    """What one reader sees of one object's records."""

    names: list[str]
    custom_keys: frozenset[str]

    def row(self, values: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.names:
            if name == "custom":
                stored = values.get("custom") or {}
                out["custom"] = {k: v for k, v in stored.items() if k in self.custom_keys}
            elif name in LINKABLE or name == "owner":
                out[name] = values[f"{name}_id"]
            else:
                out[name] = values[name]
        return out


def shape(spec: ObjectSpec, user: Any, names: list[str] | None = None) -> Shape:
    hidden = policy.hidden_keys(user, spec.key)
    wanted = names or output_names(spec)
    if "id" not in wanted:
        wanted = ["id", *wanted]
    custom = frozenset(f.key for f in spec.fields() if f.is_custom and f.key not in hidden)
    return Shape([n for n in wanted if n not in hidden], custom)


def visible_names(spec: ObjectSpec, user: Any) -> list[str]:
    hidden = policy.hidden_keys(user, spec.key)
    return [n for n in output_names(spec) if n not in hidden]


def _values_of(record: CustomRecord) -> dict[str, Any]:
    return {c: getattr(record, c) for c in _columns_all()}


def _columns_all() -> list[str]:
    return [
        "id",
        "title",
        *(f"{link}_id" for link in LINKABLE),
        "owner_id",
        *STAMPS,
        "custom",
        "version",
    ]


def one(spec: ObjectSpec, user: Any, record: CustomRecord, status: int = 200) -> HttpResponse:
    data = shape(spec, user).row(_values_of(record))
    return json_response(data, status, {"ETag": f'"{record.version}"'})


def _get(spec: ObjectSpec, user: Any, pk: int, *, deleted: bool = False) -> CustomRecord:
    qs = _deleted(spec, user) if deleted else spec.visible(user)
    record = qs.select_related("kind").filter(pk=pk).first()
    if record is None:
        raise ApiError(404, NOT_FOUND)
    return record


def _deleted(spec: ObjectSpec, user: Any) -> QuerySet:
    return CustomRecord.all_objects.visible_to(user).filter(kind_id=spec.custom_object_id).deleted()


# -- filters and sorts -------------------------------------------------------------------


def custom_field(spec: ObjectSpec, user: Any, param: str, key: str, use: str) -> FieldSpec:
    """The custom field `key` that `user` may use as `use`, or a 422 naming `param`
    (a hidden field gets the answer an unknown one gets)."""
    return querying.check_field(
        param, key, user=user, object_type=spec.key, use=use, allowed=[], custom=True
    )


def _custom_condition(f: FieldSpec, param: str, lookup: str, raw: str) -> tuple[Any, Q]:
    """(expression to alias or None, condition) of one `custom.<key>` filter."""
    definition: CustomField = f.custom
    allowed = querying.CUSTOM_LOOKUPS.get(definition.field_type, querying.TEXT)
    if lookup not in allowed:
        raise querying._bad(
            param,
            _("“%(lookup)s” is not a filter for %(label)s; use one of: %(options)s.")
            % {
                "lookup": lookup,
                "label": definition.label,
                "options": ", ".join(sorted(allowed)) or "-",
            },
        )
    value = querying._values(
        param, lookup, raw, lambda v: querying._custom_value(param, definition, v)
    )
    kind = definition.field_type
    if kind in (CustomField.Type.BOOLEAN, CustomField.Type.USER):
        # JSON true/false and user ids compare as JSON values, not as text.
        return None, Q(**{f"custom__{f.key}__{lookup}": value})
    alias = f"_cf_{f.key}"
    return value_of(f), Q(**{f"{alias}__{lookup}": value})


def filtered(qs: QuerySet, spec: ObjectSpec, user: Any, params: Any) -> QuerySet:
    """`qs` narrowed by the query string's filters: the record's own fields as on the
    other resources, custom fields as `custom.<key>[__lookup]` through `value_of`."""
    plain: dict[str, str] = {}
    for param in params:
        if param in querying.RESERVED:
            continue
        raw = params.get(param)
        if not param.startswith("custom."):
            plain[param] = raw
            continue
        key, lookup = querying._split(param, param[len("custom.") :])
        f = custom_field(spec, user, param, key, "filter")
        expr, condition = _custom_condition(f, param, lookup, raw)
        if expr is not None:
            qs = qs.alias(**{f"_cf_{f.key}": expr})
        qs = qs.filter(condition)
    if plain:
        qs = qs.filter(
            querying.build_filters(
                plain,
                model=CustomRecord,
                allowed=builtin_filters(spec),
                user=user,
                object_type=spec.key,
            )
        )
    return qs


@dataclass
class Sort:
    name: str  # "title", "id", or "custom.<key>"
    descending: bool
    field: FieldSpec | None = None  # the custom field, for custom sorts

    @property
    def spec(self) -> str:
        return ("-" if self.descending else "") + self.name


def parse_sort(spec: ObjectSpec, user: Any, raw: str | None) -> Sort:
    text = raw or "-id"
    descending = text.startswith("-")
    name = text.lstrip("-")
    if name.startswith("custom."):
        f = custom_field(spec, user, "sort", name[len("custom.") :], "sort")
        return Sort(name, descending, f)
    hidden = policy.hidden_keys(user, spec.key)
    allowed = [n for n in builtin_sorts(spec) if n not in hidden]
    if name != "id":
        querying.check_field(
            "sort", name, user=user, object_type=spec.key, use="sort", allowed=allowed
        )
    name, descending = querying.parse_sort(text, allowed=allowed, default="-id")
    return Sort(name, descending)


def _encode(sort: Sort, value: Any, pk: int) -> str:
    data = [sort.spec, querying._encode_value(value), pk]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _decode(raw: str, sort: Sort) -> tuple[Any, int]:
    bad = querying._bad(
        "cursor",
        _("This cursor is not valid for this list and sort order; start again without it."),
    )
    try:
        padded = raw + "=" * (-len(raw) % 4)
        spec, value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if spec != sort.spec or not isinstance(last_id, int) or isinstance(last_id, bool):
        raise bad
    numeric = sort.field is not None and sort.field.type in registry.NUMERIC
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float) if numeric else str)
    ):
        raise bad
    return value, last_id


def _skips_empties(key: str, params: Any) -> bool:
    """A filter on the sort field already leaves out records without a value."""
    prefix = f"custom.{key}"
    return any(p == prefix or p.startswith(prefix + "__") for p in params)


#: A list of at most this many people's records is sorted after it is filtered.
NARROW_OWNERS = 3


def page_by_custom(
    qs: QuerySet,
    sort: Sort,
    cursor: str | None,
    limit: int,
    params: Any,
    *,
    few: bool = False,
) -> tuple[list[dict[str, Any]], bool]:
    """One page ordered by (custom value, id), keyset-paginated like
    `querying.fetch_page`: records without a value sort as the largest (last
    ascending, first descending), read as their own segment.

    `few`: the rows are a few people's (a rep's own): they are found by the owner
    index and sorted, instead of walking the value's index through everyone's records
    (as the lists' `few` does: COALESCE(v, v) is v, but no index matches it)."""
    assert sort.field is not None
    qs = qs.annotate(_sv=value_of(sort.field))
    if few:
        qs = qs.annotate(_svo=Coalesce(F("_sv"), F("_sv")))
    value: Any = None
    last_id: int | None = None
    if cursor:
        value, last_id = _decode(cursor, sort)
    descending = sort.descending
    after = "lt" if descending else "gt"
    id_order = "-id" if descending else "id"
    # Conditions and order name the value through `col`: with `few`, one no index matches.
    col = "_svo" if few else "_sv"
    by_value = f"-{col}" if descending else col
    if last_id is None and _vendor(qs) == "postgresql":
        column = F(col)
        key = column.desc(nulls_first=True) if descending else column.asc(nulls_last=True)
        first = list(qs.order_by(key, id_order)[: limit + 1])
        return first[:limit], len(first) > limit

    def values_segment() -> QuerySet | None:
        seg = qs.filter(**{f"{col}__isnull": False})
        if last_id is not None:
            if value is None:  # the cursor is among the empties
                return None if not descending else seg.order_by(by_value, id_order)
            ahead = "lte" if descending else "gte"
            seg = seg.filter(
                Q(**{f"{col}__{ahead}": value})
                & (Q(**{f"{col}__{after}": value}) | Q(**{f"id__{after}": last_id}))
            )
        return seg.order_by(by_value, id_order)

    def empties_segment() -> QuerySet | None:
        if _skips_empties(sort.field.key, params):  # type: ignore[union-attr]
            return None
        if last_id is not None and value is not None and descending:
            return None
        seg = qs.filter(**{f"{col}__isnull": True})
        if last_id is not None and value is None:
            seg = seg.filter(**{f"id__{after}": last_id})
        return seg.order_by(id_order)

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


def _vendor(qs: QuerySet) -> str:
    from django.db import connections

    return connections[qs.db].vendor


def list_records(spec: ObjectSpec, user: Any, params: ListParams, query: Any) -> dict[str, Any]:
    """One page of the object's records as `user` sees them, and the next cursor."""
    qs = _deleted(spec, user) if params.deleted else spec.visible(user)
    qs = filtered(qs, spec, user, query)
    sort = parse_sort(spec, user, params.sort)
    names = querying.parse_names("fields", params.fields, visible_names(spec, user))
    querying.parse_names("expand", params.expand, set())
    qs = qs.values(*_columns(spec))
    if sort.field is not None:
        owners = user.visible_owner_ids() if user.is_authenticated else None
        few = owners is not None and len(owners) <= NARROW_OWNERS
        rows, more = page_by_custom(qs, sort, params.cursor, params.limit, query, few=few)
        next_cursor = _encode(sort, rows[-1]["_sv"], rows[-1]["id"]) if more else None
    else:
        found, more = querying.fetch_page(
            qs,
            sort=sort.name,
            descending=sort.descending,
            cursor=params.cursor,
            limit=params.limit,
            params=query,
        )
        rows = found
        next_cursor = None
        if more:
            last: Any = Row(CustomRecord, found[-1])
            next_cursor = querying.encode_cursor(sort.name, sort.descending, last)
    seen = shape(spec, user, names)
    return {"data": [seen.row(r) for r in rows], "next_cursor": next_cursor}


# -- writing ------------------------------------------------------------------------------


def _refuse_hidden(spec: ObjectSpec, user: Any, data: dict[str, Any], custom: Any) -> None:
    """A body naming a field hidden from `user` is refused (422 naming it); a hidden
    custom field as an unknown one is."""
    hidden = policy.hidden_keys(user, spec.key)
    if not hidden:
        return
    errors: dict[str, list[str]] = {}
    if isinstance(custom, dict):
        for k in sorted(set(custom) & hidden):
            errors[f"custom.{k}"] = [
                _("There is no custom field “%(key)s” on this kind of record.") % {"key": k}
            ]
    for k in sorted(set(data) & hidden):
        errors[k] = [_("These fields cannot be set: %(f)s.") % {"f": k}]
    if errors:
        raise ApiError(422, next(iter(errors.values()))[0], errors)


def create(spec: ObjectSpec, user: Any, body: dict[str, Any]) -> CustomRecord:
    data = dict(body)
    custom = data.pop("custom", None)
    _refuse_hidden(spec, user, data, custom)
    return services.create_record(by=user, object_type=spec.key, data=data, custom=custom)


def _locked(spec: ObjectSpec, user: Any, pk: int) -> CustomRecord:
    record = (
        spec.visible(user).select_for_update(of=("self",)).select_related("kind").filter(pk=pk)
    ).first()
    if record is None:
        raise ApiError(404, NOT_FOUND)
    return record


# -- routes ------------------------------------------------------------------------------------


LIST_HELP = (
    "The records of the custom object `object_key` you may see. Filters: the record's own "
    "fields (title, links, owner, created_at, updated_at; field or field__lookup) and "
    "custom.<key>[__lookup]. Sort on id, title, created_at, updated_at or custom.<key> "
    "(prefix - for descending; default -id). Each active object is listed under its own "
    "paths below, with its fields."
)


@router.get(
    BASE,
    response={200: CustomRecordPage, **READ_ERRORS},
    tags=[TAG],
    operation_id="objects_list",
    summary="List the records of a custom object",
    description=LIST_HELP,
)
def list_view(request: HttpRequest, object_key: str, params: Query[ListParams]) -> HttpResponse:
    spec = object_spec(object_key)
    return json_response(list_records(spec, request.user, params, request.GET))


@router.post(
    BASE,
    response={201: CustomRecordOut, **WRITE_ERRORS},
    tags=[TAG],
    operation_id="objects_create",
    summary="Create a record of a custom object",
)
def create_view(request: HttpRequest, object_key: str, payload: CustomRecordCreate) -> HttpResponse:
    spec = object_spec(object_key)
    record = create(spec, request.user, payload.model_dump(exclude_unset=True))
    response = one(spec, request.user, record, 201)
    response["Location"] = f"{request.path.rstrip('/')}/{record.pk}"
    return response


@router.post(
    BASE + "/bulk",
    response={200: BulkOut, **WRITE_ERRORS},
    tags=[TAG],
    operation_id="objects_bulk_create",
    summary=f"Create up to {BULK_MAX} records of a custom object",
)
def bulk_create_view(
    request: HttpRequest, object_key: str, payload: CustomRecordBulkCreate
) -> HttpResponse:
    spec = object_spec(object_key)
    user = request.user
    items = [item.model_dump(exclude_unset=True) for item in payload.items]
    seen = shape(spec, user)
    results: list[dict[str, Any]] = []
    if payload.atomic:
        done = []
        with transaction.atomic():
            for i, item in enumerate(items):
                try:
                    done.append(create(spec, user, item))
                except Exception as exc:
                    described = describe(exc)
                    if described is None:
                        raise
                    status, data, _headers = described
                    errors = {
                        f"items.{i}.{k}": v
                        for k, v in (data.get("errors") or {"__all__": [data["detail"]]}).items()
                    }
                    raise ApiError(
                        status,
                        _("Item %(i)s was refused, so nothing was saved: %(detail)s")
                        % {"i": i, "detail": data["detail"]},
                        errors,
                    ) from exc
        results = [
            {"index": i, "status": 201, "data": seen.row(_values_of(r))} for i, r in enumerate(done)
        ]
        return json_response({"results": results})
    for i, item in enumerate(items):
        try:
            with transaction.atomic():
                record = create(spec, user, item)
            results.append({"index": i, "status": 201, "data": seen.row(_values_of(record))})
        except Exception as exc:
            described = describe(exc)
            if described is None:
                raise
            status, data, _headers = described
            results.append({"index": i, "status": status, **data})
    return json_response({"results": results})


@router.get(
    BASE + "/{int:id}",
    response={200: CustomRecordOut, **READ_ERRORS},
    tags=[TAG],
    operation_id="objects_read",
    summary="Read one record of a custom object",
)
def read_view(request: HttpRequest, object_key: str, id: int) -> HttpResponse:
    spec = object_spec(object_key)
    return one(spec, request.user, _get(spec, request.user, id))


@router.patch(
    BASE + "/{int:id}",
    response={200: CustomRecordOut, **WRITE_ERRORS},
    tags=[TAG],
    operation_id="objects_update",
    summary="Change one record of a custom object",
    description="Send only the fields to change (custom values inside `custom`). Send "
    "If-Match with the ETag you read: a stale one is refused with 412.",
)
def update_view(
    request: HttpRequest, object_key: str, id: int, payload: CustomRecordUpdate
) -> HttpResponse:
    spec = object_spec(object_key)
    user: Any = request.user
    data = payload.model_dump(exclude_unset=True)
    custom = data.pop("custom", None)
    _refuse_hidden(spec, user, data, custom)
    version = if_match(request)
    record = _get(spec, user, id)
    record = services.update_record(
        by=user, record=record, data=data, custom=custom, version=version
    )
    return one(spec, user, record)


@router.delete(
    BASE + "/{int:id}",
    response={204: None, **WRITE_ERRORS},
    tags=[TAG],
    operation_id="objects_delete",
    summary="Delete one record of a custom object (restorable)",
)
def delete_view(request: HttpRequest, object_key: str, id: int) -> HttpResponse:
    spec = object_spec(object_key)
    user: Any = request.user
    version = if_match(request)
    with transaction.atomic():
        record = _locked(spec, user, id)
        check_version(record, version)
        services.delete_record(by=user, record=record)
    return HttpResponse(status=204)


@router.post(
    BASE + "/{int:id}/restore",
    response={200: CustomRecordOut, **WRITE_ERRORS},
    tags=[TAG],
    operation_id="objects_restore",
    summary="Restore a deleted record of a custom object",
)
def restore_view(request: HttpRequest, object_key: str, id: int) -> HttpResponse:
    spec = object_spec(object_key)
    user: Any = request.user
    record = _get(spec, user, id, deleted=True)
    services.restore_record(by=user, record=record)
    return one(spec, user, _get(spec, user, id))
