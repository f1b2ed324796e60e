"""One flat list-view class for every kind of record (after neapolitan's CRUDView):
a subclass only states its model, columns, filters, search fields and bulk actions.

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
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from salesops.crm import page_services
from salesops.crm import services as crm
from salesops.users.models import Team, User
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text
from salesops.web.listing import (
    Column,
    Filter,
    Query,
    count_upto,
    custom_columns,
    custom_filters,
    definitions,
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


def owner_filter(lookup: str = "owner") -> Filter:
    return Filter(
        "owner",
        gettext_lazy("Owner"),
        lookup,
        "owner",
        lambda user: [("me", gettext_lazy("Me")), *people(user)],
    )


def team_filter(lookup: str = "owner__team") -> Filter:
    return Filter(
        "team",
        gettext_lazy("Team"),
        lookup,
        "team",
        lambda user: Team.objects.values_list("id", "name").order_by("path"),
    )


class RecordList(LoginRequiredMixin, View):
    key: ClassVar[str]  # "deals": the list's name in URLs and saved views
    model: ClassVar[Any]
    title: ClassVar[Any]
    columns: ClassVar[list[Column]]
    filters: ClassVar[list[Filter]] = []
    search_fields: ClassVar[list[str]] = []
    search_help: ClassVar[Any] = gettext_lazy("Search")
    default_sort: ClassVar[str] = "-id"
    related: ClassVar[list[str]] = []
    #: "assign", "stage", "delete"
    bulk_actions: ClassVar[list[str]] = ["delete"]
    detail_url: ClassVar[str | None] = None
    #: Buttons on each row: (label, URL name taking the pk) posted with the page's form.
    row_actions: ClassVar[list[tuple[Any, str]]] = []
    create_url: ClassVar[str | None] = None
    page_size: ClassVar[int] = 50
    template_name: ClassVar[str] = "web/list.html"

    request: HttpRequest

    # -- what the list shows ----------------------------------------------------------------
    def base_queryset(self) -> models.QuerySet:
        return self.model.objects.visible_to(me(self.request))

    def decorate(self, rows: list[Any]) -> None:
        """Attach values computed for the whole page at once (no query per row)."""

    @property
    def object_type(self) -> str:
        return str(self.model.object_type)

    def all_columns(self) -> list[Column]:
        return [*self.columns, *custom_columns(self.object_type, self.defs)]

    def all_filters(self) -> list[Filter]:
        return [*self.filters, *custom_filters(self.defs)]

    def sorts(self) -> dict[str, Column]:
        return {c.sort: c for c in self.all_columns() if c.sort}

    def parse(self) -> Query:
        get = self.request.GET
        query = Query(search=get.get("q", "").strip()[:100])
        for f in self.all_filters():
            raw = get.get(f.key, "")
            if raw:
                query.values[f.key] = raw
        sort = get.get("sort", self.default_sort)
        name = sort.lstrip("-")
        if name not in self.sorts() and name != "id":
            query.errors["sort"] = _("This list cannot be sorted that way.")
            sort = self.default_sort
            name = sort.lstrip("-")
        query.sort, query.descending = name, sort.startswith("-")
        chosen = get.getlist("cols")
        columns = self.all_columns()
        query.columns = (
            [c for c in columns if c.key in chosen] if chosen else [c for c in columns if c.default]
        ) or [columns[0]]
        return query

    def filtered(self, query: Query) -> models.QuerySet:
        qs = self.base_queryset()
        user = me(self.request)
        for f in self.all_filters():
            raw = query.values.get(f.key)
            if not raw:
                continue
            if f.kind == "owner":
                if raw != "me" and raw not in {str(v) for v, _l in f.options(user)}:
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
        if query.search and self.search_fields:
            qs = qs.filter(search_condition(self.search_fields, query.search))
        if self.related:
            qs = qs.select_related(*self.related)
        return qs

    # -- GET ----------------------------------------------------------------------------------
    def get(self, request: HttpRequest) -> HttpResponse:
        if not me(request).has_right(self.object_type, "view"):
            raise PermissionDenied(_("Your role does not allow you to see these records."))
        saved = request.GET.get("view")
        if saved and saved.isdigit():
            view = SavedView.objects.usable_by(me(request), self.key).filter(pk=saved).first()
            if view is not None:
                return HttpResponseRedirect(f"{request.path}?{view.query}")
        return self.render_page(request)

    def render_page(self, request: HttpRequest, **extra: Any) -> HttpResponse:
        self.defs = definitions(self.object_type)
        query = self.parse()
        qs = self.filtered(query)
        template = self.template_name
        few = self.narrow(query)
        if request.htmx and request.GET.get("after"):  # type: ignore[attr-defined]
            template += "#rows"
        else:
            extra["total"], extra["more_than"] = count_upto(qs)
            few = few or not extra["more_than"]
        rows, cursor = page_of(
            qs,
            sort=query.sort,
            descending=query.descending,
            cursor=request.GET.get("after"),
            size=self.page_size,
            few=few,
        )
        self.decorate(rows)
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
        for f in self.all_filters():
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
        after = request.GET.copy()
        after.pop("after", None)
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
            "can_create": self.create_url and user.has_right(self.object_type, "create"),
            "create_url": reverse(self.create_url) if self.create_url else "",
            "search_help": self.search_help,
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
                    "cells": [(labels[i], cell(obj, c, url)) for i, c in enumerate(columns)],
                }
            )
        return out

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
        }
        user = me(self.request)
        right = {"assign": "edit", "stage": "edit", "delete": "delete"}
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
                results.append({"label": str(obj), "ok": False, "message": error_text(e)})
            else:
                results.append({"label": str(obj), "ok": True, "message": _("Done.")})
        return results
