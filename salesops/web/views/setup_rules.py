"""Settings: the organisation's validation rules, per object type.

A rule is a condition over a record's fields (the expression language of
`customization.expressions`) that refuses a save when it is true, with a message in
Chinese and English shown next to one field or above the form. The pages are thin over
`customization.admin_services` (administrators only, audited); a condition that does
not compile comes back next to the condition with the position of the problem. An
administrator may try a rule on one record before relying on it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as L

from salesops.customization import admin_services as fields_admin
from salesops.customization import registry, rules
from salesops.customization.expressions import FUNCTIONS, ExpressionError
from salesops.customization.models import ValidationRule
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text, show_error
from salesops.web.views.setup import require_admin


class RuleForm(forms.Form):
    name = forms.CharField(label=L("Name"), max_length=100)
    condition = forms.CharField(
        label=L("Condition"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code"}),
        help_text=L(
            "The record is refused when this is true, e.g. "
            "discount > 0.2 and not approved. Use the fields' keys listed below."
        ),
    )
    message_zh = forms.CharField(label=L("Message in Chinese"), max_length=300, required=False)
    message_en = forms.CharField(label=L("Message in English"), max_length=300, required=False)
    field = forms.ChoiceField(
        label=L("Show the message at"),
        required=False,
        help_text=L("Empty: above the form, about the whole record."),
    )
    active = forms.BooleanField(label=L("Active"), required=False, initial=True)

    def __init__(self, object_type: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [  # type: ignore[attr-defined]
            ("", _("The whole record")),
            *((f.key, f.title) for f in rules.rule_fields(object_type)),
        ]


def _object_type(key: str) -> registry.ObjectSpec:
    spec = next((s for s in rules.rule_object_types() if s.key == key), None)
    if spec is None:
        raise Http404
    return spec


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    """Every rule, grouped by object; a rule is switched off or on, or deleted, here."""
    require_admin(request)
    if request.method == "POST":
        rule = get_object_or_404(ValidationRule, pk=request.POST.get("rule"))
        action = request.POST.get("action")
        try:
            if action == "deactivate":
                fields_admin.deactivate_validation_rule(rule=rule, by=me(request))
            elif action == "activate":
                fields_admin.deactivate_validation_rule(rule=rule, by=me(request), active=True)
            elif action == "delete":
                fields_admin.delete_validation_rule(rule=rule, by=me(request))
            else:
                raise Http404
        except REFUSALS as e:
            messages.error(request, error_text(e))
        else:
            messages.success(request, _("Deleted.") if action == "delete" else _("Saved."))
        return HttpResponseRedirect(reverse("settings_rules"))
    by_type: dict[str, list[ValidationRule]] = {}
    for rule in ValidationRule.objects.order_by("object_type", "order", "pk"):
        by_type.setdefault(rule.object_type, []).append(rule)
    groups = []
    for spec in rules.rule_object_types():
        labels = (
            {f.key: f.title for f in rules.rule_fields(spec.key)} if spec.key in by_type else {}
        )
        rows = [(r, labels.get(r.field, r.field)) for r in by_type.get(spec.key, [])]
        groups.append({"spec": spec, "rows": rows})
    return render(
        request, "web/setup_rules.html", {"title": _("Validation rules"), "groups": groups}
    )


@login_required
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A new rule (`?object_type=deal`) or a rule's page: its form and a try-out on a
    record (`?record=<id>`)."""
    require_admin(request)
    rule = get_object_or_404(ValidationRule, pk=pk) if pk is not None else None
    spec = _object_type(
        rule.object_type
        if rule
        else request.GET.get("object_type") or request.POST.get("object_type", "")
    )
    initial: dict[str, Any] = {"active": True}
    if rule is not None:
        initial = {n: getattr(rule, n) for n in ("name", "condition", "message_zh", "message_en", "field", "active")}  # fmt: skip
    form = RuleForm(spec.key, request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            if rule is None:
                rule = fields_admin.create_validation_rule(
                    by=me(request), object_type=spec.key, **data
                )
            else:
                fields_admin.update_validation_rule(rule=rule, by=me(request), data=data)
        except REFUSALS as e:
            show_error(form, e)
        else:
            messages.success(request, _("Saved."))
            return HttpResponseRedirect(reverse("settings_rule", args=[rule.pk]))
    return render(
        request,
        "web/setup_rules_form.html",
        {
            "title": rule.name if rule else _("New validation rule"),
            "rule": rule,
            "spec": spec,
            "form": form,
            "fields": spec.fields(derived=True),
            "functions": sorted(FUNCTIONS),
            "trial": _try(request, rule, spec) if rule is not None else None,
        },
    )


def _try(request: HttpRequest, rule: ValidationRule, spec: registry.ObjectSpec) -> Any:
    """The outcome of trying `rule` on the record `?record=` names, if any."""
    raw = request.GET.get("record", "").strip().lstrip("#")
    if not raw:
        return None
    queryset: Any = spec.model._default_manager
    if hasattr(queryset, "visible_to"):
        queryset = queryset.visible_to(me(request))
    record = queryset.filter(pk=int(raw)).first() if raw.isdigit() else None
    if record is None:
        return {"record": raw, "outcome": "missing"}
    try:
        refused = rules.applies_to(rule, record)
    except ExpressionError as e:
        return {"record": record, "outcome": "error", "error": error_text(e)}
    return {"record": record, "outcome": "refused" if refused else "accepted"}
