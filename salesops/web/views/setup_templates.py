"""Settings: the gallery of industry templates (行业模板).

The shipped templates (`salesops/orgtemplates/library/`) with their names and
descriptions in the reader's language and what each holds; a template's page previews
what applying it would change here (each change with its values before → after) and
applies it through the same engine as `salesops template apply` (one transaction, one
audit entry, the administrator as the actor). A template that does not read, or that
cannot be applied to this organisation (e.g. a layout naming a role it lacks), shows
its problems as file:line and offers no Apply button. Administrators only."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as L
from django.utils.translation import pgettext_lazy

from salesops.orgtemplates import engine, schema
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text
from salesops.web.views.setup import require_admin

#: The sections of a template as the gallery counts them.
SECTIONS = {
    "picklists": L("Picklists"),
    "pipelines": L("Pipelines"),
    "stages": L("Stages"),
    "custom_objects": L("Custom objects"),
    "custom_fields": L("Custom fields"),
    "validation_rules": L("Validation rules"),
    "layouts": L("Layouts"),
    "pool_rules": L("Pool rules"),
    "reports": L("Saved reports"),
    "targets": L("Default targets"),
    "sample": L("Sample records"),
    "dashboard": L("Dashboard layout"),
}
ACTIONS = {
    "create": L("Create"),
    "update": pgettext_lazy("template action", "Change"),
    "rename": pgettext_lazy("template action", "Rename"),
}


def _reader() -> str:
    return "zh" if (translation.get_language() or "").lower().startswith("zh") else "en"


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(
            str(v.get("label", v.get("value"))) if isinstance(v, dict) else str(v) for v in value
        )
    return str(value)


def _rows(changes: list[engine.Change]) -> list[dict[str, Any]]:
    """Each change as the page shows it: what, which, and each value before → after."""
    return [
        {
            "action": c.action,
            "action_label": ACTIONS[c.action],
            "kind": engine.KINDS[c.kind],
            "name": c.name,
            "values": [
                (key, None if c.action == "create" else _shown(c.before.get(key)), _shown(v))
                for key, v in c.after.items()
            ],
        }
        for c in changes
    ]


def _entry(key: str) -> schema.Entry:
    try:
        return schema.shipped(key)
    except LookupError:
        raise Http404 from None


@login_required
def template_gallery(request: HttpRequest) -> HttpResponse:
    """The shipped templates: name, description and counts per section."""
    require_admin(request)
    lang = _reader()
    cards = []
    for entry in schema.catalogue():
        t = entry.template
        cards.append(
            {
                "key": entry.key,
                "name": t.name.pick(lang) if t else entry.key,
                "description": t.description.pick(lang) if t else "",
                "version": t.version if t else None,
                "counts": [(SECTIONS[k], n) for k, n in t.counts().items() if n] if t else [],
                "problems": entry.problems,
            }
        )
    return render(
        request, "web/setup_templates.html", {"title": _("Industry templates"), "cards": cards}
    )


@login_required
def template_preview(request: HttpRequest, key: str) -> HttpResponse:
    """What applying the template would change here; POST applies it."""
    require_admin(request)
    entry = _entry(key)
    t = entry.template
    problems = list(entry.problems)
    applied: list[engine.Change] | None = None
    refusal = ""
    if t is not None and request.method == "POST":
        try:
            applied = engine.apply(t, by=me(request))
        except schema.TemplateError as e:
            problems = e.problems
        except REFUSALS as e:
            refusal = error_text(e)
    changes: list[engine.Change] = []
    if t is not None and not problems:
        try:
            changes = engine.plan(t)
        except schema.TemplateError as e:
            problems = e.problems
    lang = _reader()
    return render(
        request,
        "web/setup_templates_preview.html",
        {
            "title": t.name.pick(lang) if t else key,
            "key": key,
            "template": t,
            "description": t.description.pick(lang) if t else "",
            "counts": [(SECTIONS[k], n) for k, n in t.counts().items() if n] if t else [],
            "problems": problems,
            "refusal": refusal,
            "changes": _rows(changes),
            "applied": None if applied is None else _rows(applied),
            "can_apply": t is not None and not problems and bool(changes),
        },
    )
