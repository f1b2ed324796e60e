"""One flat list-view class for every kind of record (after neapolitan's CRUDView):
a subclass only states its model, what its list computes of its own, and its bulk
actions; columns, filters, sorts and search fields come from the metadata registry
through the field policy.

GET shows a page: filters (custom fields too), search, sort, columns, saved views and
keyset paging; an htmx request for "more" gets just the next rows. POST runs a bulk
action through the services, row by row, and shows what happened to each row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from salesops.crm import page_services
from salesops.crm import services as crm
from salesops.customization import policy, registry
from salesops.customization.policy import FieldRefused
from salesops.customization.registry import FieldSpec, ObjectSpec
from salesops.imports.fields import importable
from salesops.lib.services import may_export
from salesops.users.models import Team, User
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text
from salesops.web.listing import (
    Column,
    Filter,
    Query,
    column_of,
    columnable,
    count_upto,
    filters_of,
    load_references,
    page_of,
    parse_filter,
    search_condition,
)
from salesops.web.templatetags.web import cell
from salesops.workspace import services as workspace
from salesops.workspace.models import SavedView

#: Most rows one bulk action touches (the page shows at most this many).
BULK_MAX = 200
#: A list of at most this many people's records is sorted after it is filtered.
NARROW_OWNERS = 3


def people(user: Any) -> list[tuple[int, str]]:
    """Active people `user` may give records to or filter by: their data scope."""
    qs = User.objects.filter(is_active=True)
    visible = user.visible_owner_ids()
    if visible is not None:
        qs = qs.filter(pk__in=list(visible))
    rows = qs.order_by("username").values_list(
        "id", "username", "display_name", "first_name", "last_name"
    )
    # The label is User.__str__, built from the columns: an organisation's few hundred
    # people are read on every list page, and model instances cost more than the query.
    return [
        (pk, display or f"{first} {last}".strip() or username)
        for pk, username, display, first, last in rows
    ]


def owner_options(user: Any) -> list[tuple[Any, Any]]:
    return [("me", gettext_lazy("Me")), *people(user)]


def team_filter(owner: FieldSpec) -> Filter:
    """Records whose owner is in a team or its sub-teams (hidden with the owner)."""
    return Filter(
        "team",
        gettext_lazy("Team"),
        f"{owner.key}__team",
        "team",
        lambda user: Team.objects.values_list("id", "name").order_by("path"),
        owner.key,
    )


class RecordList(LoginRequiredMixin, View):
    """A list of one object type. Its columns, filters, sorts and search come from the
    metadata registry and the field policy: a field hidden from the reader is not a
    column, cannot be chosen with `?cols=`, sorted or filtered by (the page says so and
    ignores it), and is not searched. A subclass states only what is its own."""

    key: ClassVar[str]  # "deals": the list's name in URLs and saved views
    model: ClassVar[Any]
    title: ClassVar[Any]
    #: The default columns, in order, where the fields' `list_default` is not right for
    #: this list (the pool); otherwise the title field first and the owner last.
    order: ClassVar[list[str]] = []
    #: Columns only this list has (values computed for the page by `decorate`), shown
    #: after the default ones; and how some fields are shown differently here.
    extra_columns: ClassVar[list[Column]] = []
    #: Filters only this list has, and generated ones it leaves out (by parameter).
    extra_filters: ClassVar[list[Filter]] = []
    without_filters: ClassVar[tuple[str, ...]] = ()
    #: The column that links to the record (default: the object's title field).
    link_field: ClassVar[str] = ""
    default_sort: ClassVar[str] = "-id"
    related: ClassVar[list[str]] = []
    #: "assign", "stage", "delete", "merge"
    bulk_actions: ClassVar[list[str]] = ["delete"]
    detail_url: ClassVar[str | None] = None
    #: Buttons on each row: (label, URL name taking the pk) posted with the page's form.
    row_actions: ClassVar[list[tuple[Any, str]]] = []
    create_url: ClassVar[str | None] = None
    page_size: ClassVar[int] = 50
    template_name: ClassVar[str] = "web/list.html"

    request: HttpRequest
    # Per request: the fields the reader may see, the columns and filters made of them.
    _fields: list[FieldSpec]
    _columns: list[Column]
    _filters: list[Filter]

    # -- what the list shows ----------------------------------------------------------------
    def base_queryset(self) -> models.QuerySet:
        return self.model.objects.visible_to(me(self.request))

    def decorate(self, rows: list[Any]) -> None:
        """Attach values computed for the whole page at once (no query per row)."""

    @property
    def object_type(self) -> str:
        """The object type whose rights govern the list (payment plans: "payment")."""
        return str(self.model.object_type)

    def import_path(self) -> str:
        """The import wizard for this list's records, if they can be imported and the
        reader may create them."""
        key = self.spec.key
        if not importable(key) or not me(self.request).has_right(self.object_type, "create"):
            return ""
        return f"{reverse('import_new')}?{urlencode({'object': key})}"

    @property
    def spec(self) -> ObjectSpec:
        spec = registry.for_model(self.model)
        assert spec is not None, self.model
        return spec

    def fields(self) -> list[FieldSpec]:
        """The registry fields the reader may see (cached for the request)."""
        if not hasattr(self, "_fields"):
            self._fields = policy.visible_fields(me(self.request), self.spec.key)
        return self._fields

    def all_columns(self) -> list[Column]:
        """Every column the reader may choose, the default ones first."""
        if hasattr(self, "_columns"):
            return self._columns
        fields = [f for f in self.fields() if columnable(f)]
        by_key = {f.key: f for f in fields}
        link = self.link_field or self.spec.title_field
        if self.order:
            defaults = [k for k in self.order if k in by_key]
        else:
            owner = self.spec.owner_field
            listed = [f.key for f in fields if f.list_default and f.key not in (link, owner)]
            defaults = [k for k in [link, *listed, owner] if k in by_key]

        def column(f: FieldSpec, default: bool) -> Column:
            return column_of(f, default=default, link=f.key == link)

        columns = [column(by_key[k], True) for k in defaults]
        columns += [c for c in self.extra_columns if c.default]
        columns += [column(f, False) for f in fields if f.key not in defaults]
        columns += [c for c in self.extra_columns if not c.default]
        self._columns = columns
        return columns

    def all_filters(self) -> list[Filter]:
        """Every filter of the list, on visible and hidden fields alike (`filtered`
        refuses a hidden one); `offered` ones are in the filter bar."""
        if hasattr(self, "_filters"):
            return self._filters
        spec = self.spec
        defaults = {c.key for c in self.all_columns() if c.default}
        out: list[Filter] = []
        for f in spec.fields():
            if f.filterable and not f.derived and not f.internal:
                out.extend(filters_of(f, owner_options, offered=f.key in defaults))
        owner = spec.owner()
        if owner is not None:
            at = next((i for i, x in enumerate(out) if x.field == owner.key), len(out) - 1)
            out.insert(at + 1, team_filter(owner))
        out.extend(self.extra_filters)
        self._filters = [f for f in out if f.key not in self.without_filters]
        return self._filters

    def sorts(self) -> dict[str, Column]:
        return {c.sort: c for c in self.all_columns() if c.sort}

    def search_fields(self) -> list[str]:
        """The ORM paths the search box looks in: the visible searchable fields."""
        return policy.searchable_paths(me(self.request), self.spec.key)

    def search_help(self) -> str:
        names = [f.title for f in self.fields() if f.searchable]
        return ", ".join(names) if names else _("Search")

    def parse(self) -> Query:
        get = self.request.GET
        query = Query(search=get.get("q", "").strip()[:100])
        for f in self.all_filters():
            # `cf_<key>` is how custom fields were named before the registry.
            raw = get.get(f.key, "") or get.get(f"cf_{f.key}", "")
            if raw:
                query.values[f.key] = raw
        default = self.default_sort
        if default.lstrip("-") != "id" and default.lstrip("-") not in self.sorts():
            default = "-id"  # the list's own default is hidden from this reader
        sort = get.get("sort", default)
        name = sort.lstrip("-")
        if name not in self.sorts() and name != "id":
            query.errors["sort"] = _("This list cannot be sorted that way.")
            sort = default
            name = sort.lstrip("-")
        query.sort, query.descending = name, sort.startswith("-")
        chosen = [c.removeprefix("cf_") for c in get.getlist("cols")]
        columns = self.all_columns()
        query.columns = (
            [c for c in columns if c.key in chosen] if chosen else [c for c in columns if c.default]
        ) or columns[:1]
        return query

    def filtered(self, query: Query) -> models.QuerySet:
        qs = self.base_queryset()
        user = me(self.request)
        for f in self.all_filters():
            raw = query.values.get(f.key)
            if not raw:
                continue
            try:
                policy.field_for(user, self.spec.key, f.field, use="filter")
            except FieldRefused as e:
                query.errors[f.key] = e.messages[0]
                continue
            if f.kind == "owner":
                if raw != "me" and raw not in {str(v) for v, _l in people(user)}:
                    query.errors[f.key] = _("Choose one of the options.")
                    continue
                qs = qs.filter(**{f.lookup: user.pk if raw == "me" else int(raw)})
                continue
            if f.kind == "team":
                team = Team.objects.filter(pk=raw).first() if raw.isdigit() else None
                if team is None:
                    query.errors[f.key] = _("Choose one of the options.")
                    continue
                qs = qs.filter(**{f"{f.lookup}__path__startswith": team.path})
                continue
            condition, error = parse_filter(f, raw, user)
            if error:
                query.errors[f.key] = error
            elif condition is not None:
                qs = qs.filter(condition)
        paths = self.search_fields()
        if query.search and paths:
            qs = qs.filter(search_condition(paths, query.search))
        if self.related:
            qs = qs.select_related(*self.related)
        return qs

    # -- GET ----------------------------------------------------------------------------------
    def get(self, request: HttpRequest) -> HttpResponseBase:
        if not me(request).has_right(self.object_type, "view"):
            raise PermissionDenied(_("Your role does not allow you to see these records."))
        saved = request.GET.get("view")
        if saved and saved.isdigit():
            view = SavedView.objects.usable_by(me(request), self.key).filter(pk=saved).first()
            if view is not None:
                return HttpResponseRedirect(f"{request.path}?{view.query}")
        if "export" in request.GET:
            from salesops.web.views.exports import export_list

            return export_list(self, request, request.GET["export"])
        return self.render_page(request)

    def render_page(self, request: HttpRequest, **extra: Any) -> HttpResponse:
        query = self.parse()
        qs = self.filtered(query)
        template = self.template_name
        few = self.narrow(query)
        if request.htmx and request.GET.get("after"):  # type: ignore[attr-defined]
            template += "#rows"
        else:
            extra["total"], extra["more_than"] = count_upto(qs)
            few = few or not extra["more_than"]
        column = self.sorts().get(query.sort)
        rows, cursor = page_of(
            qs,
            sort=query.sort,
            descending=query.descending,
            cursor=request.GET.get("after"),
            size=self.page_size,
            few=few,
            expression=column.expression if column is not None else None,
        )
        self.decorate(rows)
        load_references(rows, query.columns)
        context = self.context(query, rows, cursor, **extra)
        return render(request, template, context)

    def narrow(self, query: Query) -> bool:
        """Whether the rows are a few people's (the user sees only theirs and a few
        others', or filtered one owner): then they are sorted after filtering, which
        the owner indexes make cheap, where PostgreSQL walked the sort column's index
        through everyone's rows (a rep's deals by amount: 98,000 rows read for 50)."""
        visible = me(self.request).visible_owner_ids()
        if visible is not None and len(visible) <= NARROW_OWNERS:
            return True
        return "owner" in query.values and "owner" not in query.errors

    def context(self, query: Query, rows: list[Any], cursor: str | None, **extra: Any) -> dict:
        request = self.request
        user = me(request)
        filters: list[dict[str, Any]] = []
        visible = {f.key for f in self.fields()}
        for f in self.all_filters():
            if f.field not in visible or not (f.offered or f.key in query.values):
                continue
            filters.append(
                {
                    "key": f.key,
                    "label": f.label,
                    "kind": f.kind,
                    "value": query.values.get(f.key, ""),
                    "options": f.options(user) if f.kind in ("choice", "bool", "team") else [],
                    "error": query.errors.get(f.key),
                }
            )
        owner_options = (
            [("me", _("Me")), *people(user)] if any(f["kind"] == "owner" for f in filters) else []
        )
        for shown in filters:
            if shown["kind"] == "owner":
                shown["options"] = owner_options
        in_bar = {f["key"] for f in filters} | {"sort"}
        return {
            "view": self,
            "title": self.title,
            "query": query,
            "rows": self.rendered_rows(rows, query.columns),
            "columns": query.columns,
            "all_columns": self.all_columns(),
            "filters": filters,
            "next_query": self.next_query(cursor),
            "saved_views": SavedView.objects.usable_by(user, self.key).select_related("owner"),
            "current_query": self.saved_query(),
            "bulk_actions": self.bulk_choices(),
            "owner_options": [o for o in owner_options if o[0] != "me"]
            if owner_options
            else people(user)
            if "assign" in self.bulk_actions
            else [],
            "stage_options": self.stage_options() if "stage" in self.bulk_actions else [],
            "can_export": may_export(user, self.object_type),
            "can_create": bool(self.create_path()) and user.has_right(self.object_type, "create"),
            "create_url": self.create_path(),
            "import_url": self.import_path(),
            "search_help": self.search_help(),
            "refused": [e for k, e in query.errors.items() if k not in in_bar],
            "sort_param": ("-" if query.descending else "") + query.sort,
            **extra,
        }

    def rendered_rows(self, rows: list[Any], columns: list[Column]) -> list[dict[str, Any]]:
        """Each row with its cells formatted once, here rather than by a tag per cell
        (a page of 50 rows × 10 columns renders in a fraction of the time)."""
        labels = [str(c.label) for c in columns]
        out = []
        for obj in rows:
            url = self.url_of(obj)
            out.append(
                {
                    "obj": obj,
                    "label": self.label_of(obj),
                    "cells": [(labels[i], cell(obj, c, url)) for i, c in enumerate(columns)],
                }
            )
        return out

    def label_of(self, obj: Any) -> str:
        """The row's name for screen readers and bulk results: its title field when the
        reader may see it (a payment plan's `str` names its amount)."""
        title = self.spec.title_field
        if policy.can_see(me(self.request), self.spec.key, title):
            value = getattr(obj, title, None)
            if value not in (None, ""):
                return str(value)
        return f"#{obj.pk}"

    def create_path(self) -> str:
        """The address of the page that creates a record of this list ("" for none)."""
        return reverse(self.create_url) if self.create_url else ""

    def url_of(self, obj: Any) -> str:
        return reverse(self.detail_url, args=[obj.pk]) if self.detail_url else ""

    def next_query(self, cursor: str | None) -> str:
        if cursor is None:
            return ""
        params = self.request.GET.copy()
        params["after"] = cursor
        return params.urlencode()

    def saved_query(self) -> str:
        params = self.request.GET.copy()
        for name in workspace.TRANSIENT:
            params.pop(name, None)
        return params.urlencode()

    def stage_options(self) -> list[tuple[int, str]]:
        return []

    def bulk_choices(self) -> list[tuple[str, str]]:
        labels = {
            "assign": _("Give to"),
            "stage": _("Move to stage"),
            "delete": _("Delete"),
            "merge": _("Merge"),
        }
        user = me(self.request)
        right = {"assign": "edit", "stage": "edit", "delete": "delete", "merge": "edit"}
        return [
            (a, labels[a]) for a in self.bulk_actions if user.has_right(self.object_type, right[a])
        ]

    # -- POST: saved views and bulk actions -------------------------------------------------
    def post(self, request: HttpRequest) -> HttpResponse:
        if not me(request).has_right(self.object_type, "view"):
            raise PermissionDenied(_("Your role does not allow you to see these records."))
        action = request.POST.get("action", "")
        if action == "save_view":
            return self.save_view(request)
        if action == "delete_view":
            view = SavedView.objects.filter(pk=request.POST.get("view_id") or 0).first()
            if view is not None:
                try:
                    workspace.delete_view(view=view, by=me(request))
                    messages.success(request, _("The view was deleted."))
                except PermissionDenied as e:
                    messages.error(request, str(e))
            return HttpResponseRedirect(request.path)
        if action not in dict(self.bulk_choices()):
            messages.error(request, _("Choose what to do with the selected records."))
            return HttpResponseRedirect(request.get_full_path())
        if action == "merge":
            # The merge page takes the selection (and checks it) from here.
            ids = [("ids", i) for i in request.POST.getlist("ids") if i.isdigit()]
            return HttpResponseRedirect(
                f"{reverse('merge', args=[self.object_type])}?{urlencode(ids)}"
            )
        results = self.run_bulk(request, action)
        return self.render_page(request, bulk_results=results)

    def save_view(self, request: HttpRequest) -> HttpResponse:
        query = request.POST.get("query", "")
        try:
            workspace.save_view(
                by=me(request),
                list_key=self.key,
                name=request.POST.get("name", ""),
                query=query,
                shared=request.POST.get("shared") == "on",
            )
        except REFUSALS as e:
            messages.error(request, error_text(e))
        else:
            messages.success(request, _("The view was saved."))
        return HttpResponseRedirect(f"{request.path}?{query}")

    def bulk_handler(self, action: str) -> Callable[[Any], Any]:
        user = me(self.request)
        post = self.request.POST
        if action == "delete":
            return lambda obj: crm.delete_record(obj=obj, by=user)
        if action == "assign":
            to = User.objects.filter(pk=post.get("owner") or 0, is_active=True).first()
            if to is None:
                raise ValueError(_("Choose who to give the records to."))
            return lambda obj: self.assign(obj, to)
        if action == "stage":
            return self.stage_handler(post.get("stage", ""))
        raise ValueError(_("Choose what to do with the selected records."))

    def assign(self, obj: Any, to: User) -> Any:
        return page_services.assign_owner(obj=obj, to=to, by=me(self.request))

    def stage_handler(self, stage_id: str) -> Callable[[Any], Any]:
        raise ValueError(_("These records have no stages."))

    def run_bulk(self, request: HttpRequest, action: str) -> list[dict[str, Any]]:
        """Each selected row through the service, in its own transaction: one refusal
        does not undo the others, and every row says what happened to it."""
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()][:BULK_MAX]
        if not ids:
            return [{"label": "", "ok": False, "message": _("Select at least one record.")}]
        try:
            handler = self.bulk_handler(action)
        except ValueError as e:
            return [{"label": "", "ok": False, "message": str(e)}]
        found = {o.pk: o for o in self.base_queryset().filter(pk__in=ids)}
        results = []
        for pk in ids:
            obj = found.get(pk)
            if obj is None:
                results.append(
                    {
                        "label": f"#{pk}",
                        "ok": False,
                        "message": _("This record does not exist or you may not see it."),
                    }
                )
                continue
            try:
                handler(obj)
            except REFUSALS as e:
                results.append({"label": self.label_of(obj), "ok": False, "message": error_text(e)})
            else:
                results.append({"label": self.label_of(obj), "ok": True, "message": _("Done.")})
        return results
