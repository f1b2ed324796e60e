"""Duplicates: the finder (likely duplicates across what the reader may see, grouped by
name, phone or e-mail) and the merge page (records side by side, a value chosen per
field, a confirmation, the result). Both are thin: `crm.duplicates` finds,
`crm.merge_services` merges; the field policy decides every field shown."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from salesops.audit import services as audit
from salesops.crm import duplicates, merge_services
from salesops.customization import policy, registry
from salesops.customization.registry import FieldSpec
from salesops.lib.services import NotVisible
from salesops.web.audit_display import value_text
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text

#: The object types the pages serve, in the order of the finder's tabs.
KINDS = ("customer", "contact", "lead")


def _kind_or_404(user: Any, kind: str) -> Any:
    if kind not in KINDS or not user.has_right(kind, "view"):
        raise Http404
    return merge_services.model_for(kind)


def _show(f: FieldSpec, obj: Any) -> str:
    return value_text(f, audit.plain(merge_services.value_of(obj, f)))


def _owner(user: Any, kind: str, obj: Any) -> str:
    if "owner" in policy.hidden_keys(user, kind):
        return ""
    return str(obj.owner) if obj.owner_id else _("in the public pool")


# -- the finder -----------------------------------------------------------------------------


def _groups(
    user: Any, kind: str, model: Any, by: str, page: duplicates.Page
) -> tuple[list[dict[str, Any]], list[str]]:
    """The page's groups as rows of the fields the reader may see (the title and the
    fields compared), and those fields' headings."""
    spec = registry.get(kind)
    hidden = policy.hidden_keys(user, kind)
    compared = {src for _col, src in duplicates.sources(model, by)}
    shown = [
        f
        for f in spec.fields(custom=False)
        if f.key not in hidden and (f.key == spec.title_field or f.key in compared)
    ]
    ids = [pk for _key, members in page.groups for pk in members]
    records = model.objects.visible_to(user).filter(pk__in=ids).select_related("owner")
    found = {r.pk: r for r in records}
    groups = []
    for _key, members in page.groups:
        rows = [found[pk] for pk in members if pk in found]
        groups.append(
            {
                "rows": [
                    {
                        "url": reverse(spec.detail_url, args=[r.pk]),
                        "values": [_show(f, r) for f in shown],
                        "owner": _owner(user, kind, r),
                    }
                    for r in rows
                ],
                "merge_url": f"{reverse('merge', args=[kind])}?"
                + urlencode([("ids", r.pk) for r in rows]),
            }
        )
    return groups, [f.title for f in shown]


@login_required
def finder(request: HttpRequest, kind: str = "customer") -> HttpResponse:
    """Likely duplicates of one kind among what the reader may see, by one key."""
    user = me(request)
    model = _kind_or_404(user, kind)
    usable = duplicates.usable(user, kind, model)
    by = request.GET.get("by") or (usable[0] if usable else "")
    page = None
    groups: list[dict[str, Any]] = []
    columns: list[str] = []
    if by in usable:
        page = duplicates.find(user, kind, model, by, after=request.GET.get("after", ""))
        groups, columns = _groups(user, kind, model, by, page)
    return render(
        request,
        "web/merge/finder.html",
        {
            "title": _("Duplicates"),
            "kind": kind,
            "tabs": [
                (k, capfirst(registry.get(k).plural)) for k in KINDS if user.has_right(k, "view")
            ],
            "by": by,
            "by_options": [(b, duplicates.BY_LABELS[b]) for b in usable],
            "columns": columns,
            "groups": groups,
            "page": page,
            "show_owner": "owner" not in policy.hidden_keys(user, kind),
        },
    )


# -- the merge page ---------------------------------------------------------------------------


def _chooser(user: Any, kind: str, records: list[Any], post: Any = None) -> list[dict[str, Any]]:
    """One row per field the reader picks a value of: each record's value, and which
    one is chosen (posted, else the winner's unless it is empty and another's is not)."""
    rows = []
    winner = records[0]
    for f in merge_services.mergeable_fields(user, kind):
        values = [merge_services.value_of(r, f) for r in records]
        chosen = str(post.get(f"f_{f.key}")) if post is not None else ""
        if chosen not in {str(r.pk) for r in records}:
            chosen = str(winner.pk)
            if values[0] in (None, "", [], {}):
                filled = next(
                    (
                        r
                        for r, v in zip(records, values, strict=True)
                        if v not in (None, "", [], {})
                    ),
                    None,
                )
                if filled is not None:
                    chosen = str(filled.pk)
        rows.append(
            {
                "key": f.key,
                "label": f.title,
                "cells": [{"pk": str(r.pk), "text": _show(f, r)} for r in records],
                "chosen": chosen,
                "differ": len({str(v) for v in values}) > 1,
            }
        )
    return rows


@login_required
def merge(request: HttpRequest, kind: str) -> HttpResponse:
    """GET ?ids=…: the chooser. POST step=review: what the merge will do; POST
    step=merge: merge, then the result."""
    user = me(request)
    _kind_or_404(user, kind)
    data = request.POST if request.method == "POST" else request.GET
    ids = data.getlist("ids")
    context: dict[str, Any] = {"title": _("Merge records"), "kind": kind}
    try:
        records = merge_services.load(by=user, object_type=kind, ids=ids)
    except NotVisible:
        raise Http404 from None
    except REFUSALS as e:
        context["error"] = error_text(e)
        return render(request, "web/merge/merge.html", context, status=400)
    winner_id = data.get("winner") or str(records[0].pk)
    ordered = sorted(records, key=lambda r: str(r.pk) != str(winner_id))
    step = request.POST.get("step", "") if request.method == "POST" else ""
    rows = _chooser(user, kind, ordered, request.POST if step else None)
    spec = registry.get(kind)
    context.update(
        {
            "records": [
                {
                    "obj": r,
                    "pk": str(r.pk),
                    "url": reverse(spec.detail_url, args=[r.pk]),
                    "owner": _owner(user, kind, r),
                }
                for r in ordered
            ],
            "winner": str(ordered[0].pk),
            "rows": rows,
            "plural": capfirst(spec.plural),
            "list_url": reverse(spec.list_url) if spec.list_url else "",
        }
    )
    if step == "merge":
        done = _merge(request, kind, ordered, rows)
        if isinstance(done, HttpResponse):
            return done
        context["error"] = done
    context["review"] = step == "review" and "error" not in context
    return render(request, "web/merge/merge.html", context)


def _merge(
    request: HttpRequest, kind: str, ordered: list[Any], rows: list[dict[str, Any]]
) -> HttpResponse | str:
    """Merge the others into the first with the chosen values: the result page, or the
    service's refusal as a message."""
    try:
        result = merge_services.merge_records(
            by=me(request),
            object_type=kind,
            winner_id=ordered[0].pk,
            loser_ids=[r.pk for r in ordered[1:]],
            choices={row["key"]: row["chosen"] for row in rows},
        )
    except REFUSALS as e:
        return error_text(e)
    spec = registry.get(kind)
    return render(
        request,
        "web/merge/done.html",
        {
            "title": _("Records merged"),
            "winner": result.winner,
            "winner_url": reverse(spec.detail_url, args=[result.winner.pk]),
            "losers": result.losers,
            "moved": _moved(result.moved),
        },
    )


def _moved(moved: dict[str, int]) -> list[tuple[str, int]]:
    """(kind of record, how many moved), named by the models' plural names."""
    from django.apps import apps

    return [
        (capfirst(apps.get_model(label)._meta.verbose_name_plural), count)
        for label, count in sorted(moved.items())
    ]
