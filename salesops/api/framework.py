"""One flat description per resource, turned into routes: list, read, create, update
(PATCH), delete (soft), restore, bulk create and bulk update.

Reads go through the resource's `queryset(user)` — `visible_to(user)` for every
record with an owner — so anything outside the caller's data scope is a 404. Writes
go through the domain services only; this module converts ids to visible objects,
checks If-Match, and shapes responses.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydantic_core
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema
from pydantic import Field, create_model

from salesops.api import querying
from salesops.api.errors import BULK_MAX, NOT_FOUND, ApiError, describe
from salesops.api.schemas import ErrorOut, Strict, in_schema, out_schema
from salesops.customization import policy, registry

REGISTRY: dict[str, "Resource"] = {}

#: The error statuses every route may answer, documented on each operation.
READ_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
WRITE_ERRORS = {**READ_ERRORS, 409: ErrorOut, 412: ErrorOut}

#: Documentation of the duplicate check of hand-made leads, customers and contacts.
DUPLICATES_DOC = (
    "A record whose normalised name, phone or e-mail matches one you may see is refused "
    "with 409; the body's `duplicates` lists those records (id, name, the fields that "
    "matched; only fields your role may see are compared). Send `?allow_duplicate=true` "
    "to save it anyway."
)
DUPLICATES_PARAM = {
    "parameters": [
        {
            "in": "query",
            "name": "allow_duplicate",
            "required": False,
            "schema": {"type": "boolean", "default": False},
            "description": "Save even if the record looks like an existing one.",
        }
    ]
}


def allows_duplicate(request: HttpRequest) -> bool:
    return request.GET.get("allow_duplicate", "").lower() in ("true", "1", "yes")


@dataclass
class Ref:
    """An id in an input body that names another record; it must be visible."""

    queryset: Callable[[Any], models.QuerySet]
    many: bool = False


@dataclass
class Resource:
    """One resource. A registered object type (`object_type`) takes its output fields,
    input bodies, filters and sorts from the metadata registry and the field policy;
    the resource states only what is the API's own: routes, the service each write
    calls, expansions, computed fields, descriptions. Other resources (people, set-up)
    list their few fields, filters and sorts themselves."""

    name: str
    model: type[models.Model]
    tag: str
    queryset: Callable[[Any], models.QuerySet]
    #: Output columns, filters and sorts; filled from the registry for an object type.
    fields: list[str] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)
    sorts: list[str] = field(default_factory=lambda: ["id"])
    default_sort: str = "-id"
    #: field -> name of the resource it expands to
    expand: dict[str, str] = field(default_factory=dict)
    #: computed output fields: name -> (type, function(obj))
    computed: dict[str, tuple[Any, Callable[[Any], Any]]] = field(default_factory=dict)
    #: prefetches needed by computed fields
    prefetch: list[str] = field(default_factory=list)
    #: The registry's object type this resource serves (None: not a registered type).
    object_type: str | None = None
    #: Model columns the API shows beyond the registry's fields (object types only).
    also: list[str] = field(default_factory=list)
    #: Editable registry fields that this route's service does not take (set through
    #: an action, or fixed once created): left out of the create / update body.
    create_omit: tuple[str, ...] = ()
    update_omit: tuple[str, ...] = ()
    #: What the create service insists on (it fills in the registry's other required
    #: fields itself: default pipeline, base currency, next number…).
    create_required: tuple[str, ...] = ()
    #: Input fields typed here rather than from the model: name -> (type, default).
    create_extra: dict[str, Any] = field(default_factory=dict)
    update_extra: dict[str, Any] = field(default_factory=dict)
    #: Whether the services take custom-field values (`custom`) on create and update.
    writes_custom: bool = True
    deleted_queryset: Callable[[Any], models.QuerySet] | None = None
    create_schema: type[Schema] | None = None
    create: Callable[..., Any] | None = None
    update_schema: type[Schema] | None = None
    update: Callable[..., Any] | None = None
    delete: Callable[..., Any] | None = None
    restore: Callable[..., Any] | None = None
    refs: dict[str, Ref] = field(default_factory=dict)
    description: str = ""
    #: versioned models answer ETag and honour If-Match
    versioned: bool = True
    #: models without a version: the ETag is a hash of the record's representation
    content_etag: bool = False
    #: who may write (create, update, delete, restore); anyone else gets 404, as if the
    #: write routes did not exist. None: the services decide (403 / 404 by scope).
    can_write: Callable[[Any], bool] | None = None
    bulk: bool = True
    #: Creates and changes by hand are checked for duplicates (`crm.duplicate_warnings`): 409
    #: with the candidates unless the request says `?allow_duplicate=true`.
    checks_duplicates: bool = False
    out: Any = None
    plain: Any = None
    #: The model has a `custom` column and custom fields attach to the object type.
    has_custom: bool = False

    def __post_init__(self) -> None:
        if self.object_type is not None:
            self._from_registry(registry.get(self.object_type))
        REGISTRY[self.name] = self

    def _from_registry(self, spec: registry.ObjectSpec) -> None:
        columns = {f.name for f in self.model._meta.concrete_fields}
        self.has_custom = spec.customisable and "custom" in columns
        # Many-to-many fields are not columns: a computed field shows them if at all.
        own = [
            f
            for f in spec.fields(custom=False)
            if not f.derived and not f.internal and f.type != registry.MANY_REF
        ]
        self.fields = ["id", *(f.key for f in own), *self.also]
        if self.has_custom:
            self.fields.append("custom")
        if "version" in columns:
            self.fields.append("version")
        self.filters = [f.key for f in own if f.filterable]
        self.sorts = ["id", *(f.key for f in own if f.sortable)]
        if self.create is not None and self.create_schema is None:
            self.create_schema = self._input("Create", self.create_omit, self.create_extra)
        if self.update is not None and self.update_schema is None:
            self.update_schema = self._input("Update", self.update_omit, self.update_extra)

    def _input(self, kind: str, omit: tuple[str, ...], extra: dict[str, Any]) -> type[Schema]:
        """The create or update body: the registry's editable fields less `omit`, and
        the custom-field values."""
        spec = registry.get(self.object_type or "")
        # Custom fields are written inside `custom` (and read from the database: not
        # at start-up).
        editable = [
            f
            for f in spec.fields(custom=False)
            if f.editable and not f.derived and not f.internal and f.key not in omit
        ]
        for f in editable:
            if f.type == registry.MANY_REF and f.key not in extra:
                raise ValueError(f"{self.name}: give {f.key} a type (extra) or omit it")
        names = [f.key for f in editable]
        extra = dict(extra)
        if self.has_custom and self.writes_custom:
            names.append("custom")
            extra.setdefault("custom", (dict[str, Any] | None, None))
        names += [n for n in extra if n not in names]
        return in_schema(
            f"{self.model.__name__}{kind}",
            self.model,
            names,
            required=self.create_required,
            extra=extra,
            partial=kind == "Update",
        )

    @property
    def singular(self) -> str:
        return self.name.rstrip("s").replace("-", "_")

    def output_names(self) -> list[str]:
        return [*self.fields, *self.computed]

    def hidden(self, user: Any) -> frozenset[str]:
        """The fields the field policy hides from `user` (none on other resources)."""
        if self.object_type is None:
            return frozenset()
        return policy.hidden_keys(user, self.object_type) - {"id"}

    def visible_names(self, user: Any) -> list[str]:
        hidden = self.hidden(user)
        return [n for n in self.output_names() if n not in hidden]


# -- output ---------------------------------------------------------------------------


_ENCODER = DjangoJSONEncoder()


def _fallback(value: Any) -> Any:
    return _ENCODER.default(value)


def dumps_bytes(data: Any) -> bytes:
    """JSON as UTF-8 (pydantic-core's encoder: about six times faster than the json
    module on a page of records). Dates and times in ISO 8601, decimals as strings;
    anything else (lazy translations…) as Django's encoder writes it."""
    return pydantic_core.to_json(data, fallback=_fallback)


def dumps(data: Any) -> str:
    return dumps_bytes(data).decode()


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    response = HttpResponse(dumps_bytes(data), status=status, content_type="application/json")
    for k, v in (headers or {}).items():
        response[k] = v
    return response


def _strip_custom(rows: list[dict[str, Any]], hidden: frozenset[str]) -> None:
    """Drop hidden custom-field values from each row's `custom` object."""
    for row in rows:
        values = row.get("custom")
        if isinstance(values, dict) and hidden.intersection(values):
            row["custom"] = {k: v for k, v in values.items() if k not in hidden}


def serialize(
    objs: list[Any],
    resource: Resource,
    user: Any,
    *,
    names: list[str] | None = None,
    expand: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Records as the API shows them to `user`: fields the field policy hides are left
    out (custom-field values too), and an expanded reference is shown with the policy
    of its own object type."""
    names = names or resource.output_names()
    if "id" not in names:
        names = ["id", *names]
    hidden = resource.hidden(user)
    names = [n for n in names if n not in hidden]
    meta = resource.model._meta
    attnames = {n: meta.get_field(n).attname for n in names if n in resource.fields}  # type: ignore[union-attr]
    rows = []
    if objs and isinstance(objs[0], Row) and set(names) <= set(attnames):
        # Listed values: copy the columns (values() holds no model instances).
        pairs = [(n, attnames[n]) for n in names]
        rows = [{n: obj.__dict__[a] for n, a in pairs} for obj in objs]
        objs = []
    for obj in objs:
        row: dict[str, Any] = {}
        for n in names:
            if n in attnames:
                value = getattr(obj, attnames[n])
                row[n] = str(value) if isinstance(value, models.Model) else value
            else:
                row[n] = resource.computed[n][1](obj)
        rows.append(row)
    if hidden and "custom" in names:
        _strip_custom(rows, hidden)
    for rel in expand or []:
        if rel not in names:
            continue
        target = REGISTRY[resource.expand[rel]]
        ids = {row[rel] for row in rows if row[rel] is not None}
        if not ids:
            continue
        related = {
            o.pk: o for o in _with_prefetch(target.queryset(user), target).filter(pk__in=ids)
        }
        shown = dict(zip(related, serialize(list(related.values()), target, user), strict=True))
        for row in rows:
            if row[rel] in shown:
                row[rel] = shown[row[rel]]
    return rows


def _with_prefetch(
    qs: models.QuerySet, resource: Resource, names: list[str] | None = None
) -> models.QuerySet:
    if resource.prefetch and (names is None or set(names) & set(resource.computed)):
        qs = qs.prefetch_related(*resource.prefetch)
    return qs


def _content_tag(data: dict[str, Any]) -> str:
    return hashlib.sha256(dumps_bytes(data)).hexdigest()[:20]


def etag(resource: Resource, obj: Any, data: dict[str, Any] | None = None) -> str | None:
    """The record's ETag value (unquoted): its version, or for `content_etag` resources
    a hash of everything the record shows (the same for every reader: these resources
    hide no fields)."""
    if resource.versioned and hasattr(obj, "version"):
        return str(obj.version)
    if resource.content_etag:
        if data is None or set(data) != set(resource.output_names()):
            data = serialize([obj], resource, None)[0]
        return _content_tag(data)
    return None


def one(resource: Resource, user: Any, obj: Any, status: int = 200) -> HttpResponse:
    data = serialize([obj], resource, user)[0]
    tag = etag(resource, obj, data)
    return json_response(data, status, {"ETag": f'"{tag}"'} if tag else {})


def ensure_writer(resource: Resource, user: Any) -> None:
    if resource.can_write is not None and not resource.can_write(user):
        raise ApiError(404, NOT_FOUND)


# -- input ----------------------------------------------------------------------------


def resolve(resource: Resource, user: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Replace ids of referenced records with the records, or 422 if not visible."""
    out = dict(data)
    for name, ref in resource.refs.items():
        if name not in out or out[name] is None:
            continue
        qs = ref.queryset(user)
        if ref.many:
            ids = list(dict.fromkeys(out[name]))
            found = list(qs.filter(pk__in=ids))
            if len(found) != len(ids):
                raise ApiError(
                    422,
                    _("Some of these records do not exist or you may not see them."),
                    {name: [str(_("Some of these records do not exist or you may not see them."))]},
                )
            out[name] = found
            continue
        obj = qs.filter(pk=out[name]).first()
        if obj is None:
            message = _("There is no such record that you may see (id %(id)s).") % {"id": out[name]}
            raise ApiError(422, message, {name: [str(message)]})
        out[name] = obj
    return out


def refuse_hidden_writes(resource: Resource, user: Any, data: dict[str, Any]) -> None:
    """A body naming a field hidden from `user` is refused (422 naming it): hidden
    implies read-only. A hidden custom field is refused as an unknown one is."""
    hidden = resource.hidden(user)
    if not hidden:
        return
    custom = data.get("custom")
    secret = sorted(k for k in custom if k in hidden) if isinstance(custom, dict) else []
    if secret:
        errors = {
            f"custom.{k}": [
                str(_("There is no custom field “%(key)s” on this kind of record.") % {"key": k})
            ]
            for k in secret
        }
        raise ApiError(422, next(iter(errors.values()))[0], errors)
    keys = set(data) - {"custom"}
    try:
        policy.refuse_hidden_writes(user, resource.object_type or "", keys)
    except ValidationError as e:
        message = " ".join(e.messages)
        raise ApiError(422, message, {k: [message] for k in sorted(keys & hidden)}) from None


def if_match(request: HttpRequest) -> int | None:
    raw = request.headers.get("If-Match", "").strip()
    if not raw or raw == "*":
        return None
    raw = raw.removeprefix("W/").strip('"')
    try:
        return int(raw)
    except ValueError:
        raise ApiError(412, _('If-Match must be the ETag of the record, such as "3".')) from None


def _get(resource: Resource, user: Any, pk: int, *, deleted: bool = False) -> Any:
    if deleted:
        assert resource.deleted_queryset is not None
        qs = resource.deleted_queryset(user)
    else:
        qs = resource.queryset(user)
    obj = _with_prefetch(qs, resource).filter(pk=pk).first()
    if obj is None:
        raise ApiError(404, NOT_FOUND)
    return obj


def _locked(resource: Resource, user: Any, pk: int) -> Any:
    # of=self: a scope may join other tables (targets' teams); lock only the row.
    obj = resource.queryset(user).select_for_update(of=("self",)).filter(pk=pk).first()
    if obj is None:
        raise ApiError(404, NOT_FOUND)
    return obj


def _check_version(obj: Any, expected: int | None) -> None:
    if expected is not None and hasattr(obj, "version") and obj.version != expected:
        from salesops.lib.updates import Conflict

        raise Conflict(obj.version)


def if_match_tag(request: HttpRequest) -> str | None:
    """If-Match of a `content_etag` resource: the ETag as sent, unquoted."""
    raw = request.headers.get("If-Match", "").strip()
    if not raw or raw == "*":
        return None
    return raw.removeprefix("W/").strip('"')


def _check_tag(resource: Resource, obj: Any, expected: str | None) -> None:
    if expected is None:
        return
    current = etag(resource, obj)
    if current != expected:
        from salesops.lib.updates import Conflict

        raise ApiError(412, Conflict(0).message, headers={"ETag": f'"{current}"'})


# -- routes ---------------------------------------------------------------------------


def list_schema(resource: Resource, out: Any) -> Any:
    return create_model(
        f"{resource.model.__name__}Page",
        __base__=Schema,
        data=(list[out], ...),
        next_cursor=(str | None, None),
    )


class ListParams(Schema):
    sort: str | None = Field(None, description="One field, prefixed with - for descending.")
    cursor: str | None = Field(None, description="The `next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=500)
    fields: str | None = Field(None, description="Comma-separated fields to return.")
    expand: str | None = Field(None, description="Comma-separated references to expand.")
    deleted: bool = Field(False, description="List deleted records (to restore them).")


def _describe_list(resource: Resource) -> str:
    parts = [resource.description or ""]
    if resource.filters:
        parts.append(
            "Filters (field or field__lookup): "
            + ", ".join(resource.filters)
            + (", custom.<key>" if resource.has_custom else "")
            + "."
        )
    parts.append("Sort on: " + ", ".join(resource.sorts) + f" (default {resource.default_sort}).")
    if resource.expand:
        parts.append("Expand: " + ", ".join(resource.expand) + ".")
    return " ".join(p for p in parts if p)


def plain_schema(resource: Resource) -> Any:
    """The resource's fields with references as ids: what an expanded reference holds."""
    if resource.plain is None:
        resource.plain = out_schema(
            f"{resource.model.__name__}Plain",
            resource.model,
            resource.fields,
            extra={k: v[0] for k, v in resource.computed.items()},
        )
    return resource.plain


class Row:
    """A listed record read with `values()`: its columns as attributes (by attname),
    `pk` and `_meta`, which is all `serialize` and the cursor read from a record."""

    def __init__(self, model: type[models.Model], values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        self._meta = model._meta
        self.pk = values["id"]


def _columns(resource: Resource, names: list[str] | None, sort: str, expand: list[str]) -> set[str]:
    meta = resource.model._meta
    wanted = [n for n in (names or resource.fields) if n in resource.fields]
    return {meta.get_field(n).attname for n in {*wanted, "id", sort, *expand}}  # type: ignore[union-attr]


def _sort(resource: Resource, user: Any, raw: str | None) -> tuple[str, bool]:
    """(field, descending) of the list's order. A sort on a field hidden from `user` is
    refused like an unknown one, so no order (and no cursor) carries its values; when
    the resource's default order is on a hidden field, the list is in id order."""
    if resource.object_type is None:
        return querying.parse_sort(raw, allowed=resource.sorts, default=resource.default_sort)
    hidden = resource.hidden(user)
    default = resource.default_sort
    if default.lstrip("-") in hidden:
        default = "-id"
    allowed = [n for n in resource.sorts if n not in hidden]
    name = (raw or default).lstrip("-")
    if name != "id":
        querying.check_field(
            "sort", name, user=user, object_type=resource.object_type, use="sort", allowed=allowed
        )
    return querying.parse_sort(raw, allowed=allowed, default=default)


def _expandable(resource: Resource, user: Any) -> set[str]:
    hidden = resource.hidden(user)
    return {rel for rel in resource.expand if rel not in hidden}


def register(router: Router, resource: Resource) -> None:
    expanded_types = {
        rel: plain_schema(REGISTRY[target]) for rel, target in resource.expand.items()
    }
    out = out_schema(
        f"{resource.model.__name__}Out",
        resource.model,
        resource.fields,
        extra={k: v[0] for k, v in resource.computed.items()},
        expand=expanded_types,
    )
    resource.out = out
    page = list_schema(resource, out)
    base = f"/{resource.name}"
    tag = [resource.tag]
    op = resource.name.replace("-", "_")

    @router.get(
        base,
        response={200: page, **READ_ERRORS},
        tags=tag,
        operation_id=f"{op}_list",
        summary=f"List {resource.name}",
        description=_describe_list(resource),
    )
    def list_view(request: HttpRequest, params: Query[ListParams]) -> HttpResponse:
        user = request.user
        if params.deleted:
            if resource.deleted_queryset is None:
                raise ApiError(
                    422,
                    _("These records cannot be deleted."),
                    {"deleted": [str(_("Not available here."))]},
                )
            qs = resource.deleted_queryset(user)
        else:
            qs = resource.queryset(user)
        qs = qs.filter(
            querying.build_filters(
                request.GET,
                model=resource.model,
                allowed=resource.filters,
                user=user,
                object_type=resource.object_type,
                custom=resource.has_custom,
            )
        )
        sort, descending = _sort(resource, user, params.sort)
        names = querying.parse_names("fields", params.fields, resource.visible_names(user))
        expand = querying.parse_names("expand", params.expand, _expandable(resource, user)) or []
        light = not resource.computed
        if light:
            # Rows as plain values: building a model instance per row cost more than
            # the query itself on a 50-row page.
            qs = qs.values(*_columns(resource, names, sort, expand))
        elif names is not None and not set(names) & set(resource.computed):
            db_names = {n for n in names if n in resource.fields} | {"id", sort, *expand}
            qs = qs.only(*db_names)
        qs = _with_prefetch(qs, resource, names)
        objs, more = querying.fetch_page(
            qs,
            sort=sort,
            descending=descending,
            cursor=params.cursor,
            limit=params.limit,
            params=request.GET,
        )
        if light:
            objs = [Row(resource.model, values) for values in objs]
        data = serialize(objs, resource, user, names=names, expand=expand)
        next_cursor = querying.encode_cursor(sort, descending, objs[-1]) if more else None
        return json_response({"data": data, "next_cursor": next_cursor})

    @router.get(
        base + "/{int:id}",
        response={200: out, **READ_ERRORS},
        tags=tag,
        operation_id=f"{op}_read",
        summary=f"Read one of {resource.name}",
    )
    def read_view(request: HttpRequest, id: int, expand: str | None = None) -> HttpResponse:
        names = querying.parse_names("expand", expand, _expandable(resource, request.user)) or []
        obj = _get(resource, request.user, id)
        data = serialize([obj], resource, request.user, expand=names)[0]
        tag = etag(resource, obj, None if names else data)
        return json_response(data, 200, {"ETag": f'"{tag}"'} if tag else {})

    if resource.create is not None and resource.create_schema is not None:
        _register_create(router, resource, out, base, tag, op)
    if resource.update is not None and resource.update_schema is not None:
        _register_update(router, resource, out, base, tag, op)
    if resource.delete is not None:
        _register_delete(router, resource, out, base, tag, op)


def _register_create(
    router: Router, resource: Resource, out: Any, base: str, tag: list[str], op: str
) -> None:
    schema: Any = resource.create_schema
    create = resource.create
    assert create is not None

    def do_create(user: Any, data: dict[str, Any], allow_duplicate: bool = True) -> Any:
        ensure_writer(resource, user)
        refuse_hidden_writes(resource, user, data)
        data = resolve(resource, user, data)
        if resource.checks_duplicates:
            data["allow_duplicate"] = allow_duplicate
        return create(user, data)

    @router.post(
        base,
        response={201: out, **WRITE_ERRORS},
        tags=tag,
        operation_id=f"{op}_create",
        summary=f"Create one of {resource.name}",
        description=DUPLICATES_DOC if resource.checks_duplicates else None,
        openapi_extra=DUPLICATES_PARAM if resource.checks_duplicates else None,
    )
    def create_view(request: HttpRequest, payload: schema) -> HttpResponse:
        allow = allows_duplicate(request)
        obj = do_create(request.user, payload.model_dump(exclude_unset=True), allow)
        response = one(resource, request.user, obj, 201)
        response["Location"] = f"{request.path.rstrip('/')}/{obj.pk}"
        return response

    if not resource.bulk:
        return
    bulk_in: Any = create_model(
        f"{resource.model.__name__}BulkCreate",
        __base__=Strict,
        items=(list[schema], Field(..., min_length=1, max_length=BULK_MAX)),
        atomic=(
            bool,
            Field(True, description="All or nothing (true) or per-item results (false)."),
        ),
    )

    @router.post(
        base + "/bulk",
        response={200: BulkOut, **WRITE_ERRORS},
        tags=tag,
        operation_id=f"{op}_bulk_create",
        summary=f"Create up to {BULK_MAX} {resource.name}",
        description=DUPLICATES_DOC if resource.checks_duplicates else None,
        openapi_extra=DUPLICATES_PARAM if resource.checks_duplicates else None,
    )
    def bulk_create_view(request: HttpRequest, payload: bulk_in) -> HttpResponse:
        items = [item.model_dump(exclude_unset=True) for item in payload.items]
        allow = allows_duplicate(request)
        return _bulk(
            request, resource, items, payload.atomic, lambda u, d: do_create(u, d, allow), 201
        )


class BulkResult(Schema):
    index: int
    status: int
    data: dict[str, Any] | None = None
    detail: str | None = None
    errors: dict[str, list[str]] | None = None


class BulkOut(Schema):
    results: list[BulkResult]


def _bulk(
    request: HttpRequest,
    resource: Resource,
    items: list[Any],
    atomic: bool,
    action: Callable[[Any, Any], Any],
    ok_status: int,
) -> HttpResponse:
    user = request.user
    results: list[dict[str, Any]] = []
    if atomic:
        done = []
        try:
            with transaction.atomic():
                for i, item in enumerate(items):
                    try:
                        done.append(action(user, item))
                    except Exception as exc:
                        described = describe(exc)
                        if described is None:
                            raise
                        status, data, _headers = described
                        errors = {
                            f"items.{i}.{k}": v
                            for k, v in (
                                data.get("errors") or {"__all__": [data["detail"]]}
                            ).items()
                        }
                        raise ApiError(
                            status,
                            _("Item %(i)s was refused, so nothing was saved: %(detail)s")
                            % {"i": i, "detail": data["detail"]},
                            errors,
                        ) from exc
        except ApiError:
            raise
        rows = serialize(done, resource, user)
        results = [{"index": i, "status": ok_status, "data": row} for i, row in enumerate(rows)]
        return json_response({"results": results})
    for i, item in enumerate(items):
        try:
            with transaction.atomic():
                obj = action(user, item)
            results.append(
                {"index": i, "status": ok_status, "data": serialize([obj], resource, user)[0]}
            )
        except Exception as exc:
            described = describe(exc)
            if described is None:
                raise
            status, data, _headers = described
            results.append({"index": i, "status": status, **data})
    return json_response({"results": results})


def _register_update(
    router: Router, resource: Resource, out: Any, base: str, tag: list[str], op: str
) -> None:
    schema: Any = resource.update_schema
    update = resource.update
    assert update is not None

    def do_update(
        user: Any,
        pk: int,
        data: dict[str, Any],
        version: int | None,
        tag: str | None = None,
        allow_duplicate: bool = True,
    ) -> Any:
        ensure_writer(resource, user)
        refuse_hidden_writes(resource, user, data)
        with transaction.atomic():
            obj = _locked(resource, user, pk)
            _check_version(obj, version)
            _check_tag(resource, obj, tag)
            data = resolve(resource, user, data)
            if resource.checks_duplicates:
                data["allow_duplicate"] = allow_duplicate
            return update(user, obj, data, version)

    @router.patch(
        base + "/{int:id}",
        response={200: out, **WRITE_ERRORS},
        tags=tag,
        operation_id=f"{op}_update",
        summary=f"Change one of {resource.name}",
        description="Send only the fields to change. Send If-Match with the ETag you read: "
        "a stale one is refused with 412."
        + (" " + DUPLICATES_DOC if resource.checks_duplicates else ""),
        openapi_extra=DUPLICATES_PARAM if resource.checks_duplicates else None,
    )
    def update_view(request: HttpRequest, id: int, payload: schema) -> HttpResponse:
        data = payload.model_dump(exclude_unset=True)
        allow = allows_duplicate(request)
        if resource.content_etag:
            obj = do_update(request.user, id, data, None, if_match_tag(request), allow)
        else:
            obj = do_update(request.user, id, data, if_match(request), None, allow)
        return one(resource, request.user, obj)

    if not resource.bulk:
        return
    item_schema: Any = create_model(
        f"{resource.model.__name__}BulkChange",
        __base__=Strict,
        id=(int, ...),
        if_match=(
            int | None,
            Field(None, description="The version read; stale → 412 for this item."),
        ),
        changes=(schema, ...),
    )
    bulk_in: Any = create_model(
        f"{resource.model.__name__}BulkUpdate",
        __base__=Strict,
        items=(list[item_schema], Field(..., min_length=1, max_length=BULK_MAX)),
        atomic=(
            bool,
            Field(True, description="All or nothing (true) or per-item results (false)."),
        ),
    )

    @router.patch(
        base + "/bulk",
        response={200: BulkOut, **WRITE_ERRORS},
        tags=tag,
        operation_id=f"{op}_bulk_update",
        summary=f"Change up to {BULK_MAX} {resource.name}",
        description=DUPLICATES_DOC if resource.checks_duplicates else None,
        openapi_extra=DUPLICATES_PARAM if resource.checks_duplicates else None,
    )
    def bulk_update_view(request: HttpRequest, payload: bulk_in) -> HttpResponse:
        items = [
            (it.id, it.changes.model_dump(exclude_unset=True), it.if_match) for it in payload.items
        ]
        allow = allows_duplicate(request)
        return _bulk(
            request,
            resource,
            items,
            payload.atomic,
            lambda u, it: do_update(u, it[0], it[1], it[2], None, allow),
            200,
        )


def _register_delete(
    router: Router, resource: Resource, out: Any, base: str, tag: list[str], op: str
) -> None:
    delete = resource.delete
    restore = resource.restore
    assert delete is not None

    @router.delete(
        base + "/{int:id}",
        response={204: None, **WRITE_ERRORS},
        tags=tag,
        operation_id=f"{op}_delete",
        summary=f"Delete one of {resource.name} (restorable)",
    )
    def delete_view(request: HttpRequest, id: int) -> HttpResponse:
        ensure_writer(resource, request.user)
        tag = if_match_tag(request) if resource.content_etag else None
        version = None if resource.content_etag else if_match(request)
        with transaction.atomic():
            obj = _locked(resource, request.user, id)
            _check_version(obj, version)
            _check_tag(resource, obj, tag)
            delete(request.user, obj)
        return HttpResponse(status=204)

    if restore is None or resource.deleted_queryset is None:
        return

    @router.post(
        base + "/{int:id}/restore",
        response={200: out, **WRITE_ERRORS},
        tags=tag,
        operation_id=f"{op}_restore",
        summary=f"Restore a deleted one of {resource.name}",
    )
    def restore_view(request: HttpRequest, id: int) -> HttpResponse:
        ensure_writer(resource, request.user)
        obj = _get(resource, request.user, id, deleted=True)
        restore(request.user, obj)
        return one(resource, request.user, _get(resource, request.user, id))


def make_in(resource_model: type[models.Model], name: str, fields: list[str], **kw: Any) -> Any:
    return in_schema(name, resource_model, fields, **kw)
