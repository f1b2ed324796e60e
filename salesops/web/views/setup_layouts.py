"""Settings: layouts of the record pages and forms, per object type and, for deals, per
pipeline. Sections are added, renamed (Chinese and English), limited to roles,
reordered and removed; fields are placed into sections and ordered. Each change is
one post; the page rebuilds the layout and saves it whole through
`admin_services.save_layout` (administrators only, audited), which refuses a bad one
with what to fix and writes nothing."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from salesops.customization import admin_services as fields_admin
from salesops.customization import layouts, registry
from salesops.customization.models import Layout
from salesops.pipeline.models import Pipeline
from salesops.users.models import Role
from salesops.web.auth import me
from salesops.web.forms import REFUSALS
from salesops.web.views.setup import require_admin

STEPS = {"up": -1, "down": 1}


def _object(object_type: str) -> registry.ObjectSpec:
    spec = next((s for s in layouts.layout_types() if s.key == object_type), None)
    if spec is None:
        raise Http404
    return spec


@login_required
def layout_index(request: HttpRequest) -> HttpResponse:
    """Every object with a record page, and each pipeline for deals: whether it has a
    layout of its own."""
    require_admin(request)
    own = {(row.object_type, row.pipeline_id) for row in Layout.objects.all()}
    types = [
        {"key": s.key, "label": s.plural, "has_layout": (s.key, None) in own}
        for s in layouts.layout_types()
    ]
    pipelines = [
        {"pipeline": p, "has_layout": ("deal", p.pk) in own}
        for p in Pipeline.objects.order_by("order", "name")
    ]
    return render(
        request,
        "web/setup_layouts.html",
        {"title": _("Layouts"), "types": types, "pipelines": pipelines},
    )


def _url(object_type: str, pipeline: Pipeline | None) -> str:
    if pipeline is not None:
        return reverse("settings_layout_pipeline", args=[pipeline.pk])
    return reverse("settings_layout", args=[object_type])


def _apply(post: Any, sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sections after the posted change (KeyError for an unknown section)."""
    action = post.get("action", "")
    key = post.get("section", "")
    match action:
        case "section_add":
            return layouts.add_section(
                sections, title_zh=post.get("title_zh", ""), title_en=post.get("title_en", "")
            )
        case "section_save":
            roles = [int(r) for r in post.getlist("roles") if r.isdigit()]
            return layouts.change_section(
                sections,
                key,
                title_zh=post.get("title_zh", ""),
                title_en=post.get("title_en", ""),
                roles=roles,
            )
        case "section_up" | "section_down":
            return layouts.move_section(sections, key, STEPS[action.removeprefix("section_")])
        case "section_remove":
            return layouts.remove_section(sections, key)
        case "fields":
            for name, value in post.items():
                if name.startswith("place_"):
                    sections = layouts.place_field(sections, name.removeprefix("place_"), value)
            move = post.get("move", "")
            direction, _sep, field_key = move.partition(":")
            if direction in STEPS and field_key:
                sections = layouts.move_field(sections, field_key, STEPS[direction])
            return sections
    raise Http404


def _edit(request: HttpRequest, object_type: str, pipeline: Pipeline | None) -> HttpResponse:
    require_admin(request)
    spec = _object(object_type)
    user: Any = me(request)
    own = Layout.objects.filter(object_type=object_type, pipeline=pipeline).first()
    sections = layouts.starting_sections(object_type, pipeline=pipeline)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "reset":
                if own is not None:
                    fields_admin.delete_layout(by=user, layout=own)
            else:
                fields_admin.save_layout(
                    by=user,
                    object_type=object_type,
                    pipeline=pipeline,
                    sections=_apply(request.POST, sections),
                )
        except KeyError:
            messages.error(request, _("That section is no longer there; reload the page."))
        except REFUSALS as e:
            messages.error(request, " ".join(getattr(e, "messages", [str(e)])))
        else:
            messages.success(request, _("Saved."))
        return HttpResponseRedirect(_url(object_type, pipeline))
    fields = {f.key: f for f in layouts.placeable(object_type)}
    roles = list(Role.objects.order_by("name"))
    role_names = {r.pk: r.name for r in roles}
    choices = [(s["key"], layouts.title_of(s)) for s in sections]
    placed: set[str] = set()
    shown = []
    for s in sections:
        keys = [k for k in s.get("fields") or [] if k in fields]
        placed.update(s.get("fields") or [])
        shown.append(
            {
                **s,
                "title": layouts.title_of(s),
                "fields": [fields[k] for k in keys],
                "role_names": [role_names.get(r, str(r)) for r in s.get("roles") or []],
                "required_limited": bool(s.get("roles")) and any(fields[k].required for k in keys),
            }
        )
    title = _("Layout: %(object)s") % {"object": spec.plural}
    if pipeline is not None:
        title = _("Layout: %(object)s in the pipeline “%(pipeline)s”") % {
            "object": spec.plural,
            "pipeline": pipeline.name,
        }
    return render(
        request,
        "web/setup_layout.html",
        {
            "title": title,
            "object_type": object_type,
            "pipeline": pipeline,
            "own": own,
            "inherited": pipeline is not None
            and own is None
            and layouts.layout_of(object_type) is not None,
            "sections": shown,
            "unplaced": [f for k, f in fields.items() if k not in placed],
            "choices": choices,
            "roles": roles,
        },
    )


@login_required
def layout_edit(request: HttpRequest, object_type: str) -> HttpResponse:
    return _edit(request, object_type, None)


@login_required
def layout_pipeline(request: HttpRequest, pk: int) -> HttpResponse:
    require_admin(request)
    return _edit(request, "deal", get_object_or_404(Pipeline, pk=pk))
