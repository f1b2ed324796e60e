"""Administration from the app: organisation, people, teams and roles, pipelines and
stages, public-pool rules, custom fields, exchange rates and the holiday calendar.

One flat `Section` class: a list of rows and a form, saved through the set-up
services (which refuse anyone but an administrator, whatever the page shows)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as L

from salesops.crm import commerce_services as commerce
from salesops.crm import page_services as crm_pages
from salesops.crm.models import PoolRule
from salesops.customization.models import CustomField
from salesops.org.models import Currency, ExchangeRate, Holiday, Organisation
from salesops.pipeline.models import Pipeline, Stage
from salesops.users import admin_services as admin
from salesops.users.models import OBJECT_TYPES, RIGHTS, Role, Team, User
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, model_fields, show_error


def require_admin(request: HttpRequest) -> None:
    if not admin.is_admin(me(request)):
        raise PermissionDenied(_("Only an administrator may change the organisation's set-up."))


class Section:
    key: ClassVar[str]
    title: ClassVar[Any]
    model: ClassVar[Any]
    names: ClassVar[list[str]]
    columns: ClassVar[list[tuple[str, Any]]]  # (attribute, label)
    editable_rows: ClassVar[bool] = True

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.user: Any = me(request)

    def rows(self) -> Any:
        return self.model.objects.all()

    def form(self, obj: Any, data: Any = None) -> forms.Form:
        form = forms.Form(data, initial=self.initial(obj))
        form.fields.update(model_fields(self.model, self.names))
        for name, field in form.fields.items():
            if isinstance(field, forms.ModelChoiceField):
                related: Any = field.queryset.model  # type: ignore[union-attr]
                field.queryset = related._default_manager.all()
                if name == "base_currency" or name == "currency":
                    field.queryset = Currency.objects.filter(active=True)
        self.adjust(form, obj)
        return form

    def initial(self, obj: Any) -> dict[str, Any]:
        if obj is None:
            return {}
        out = {}
        for name in self.names:
            field: Any = self.model._meta.get_field(name)
            out[name] = getattr(obj, field.attname)
        return out

    def adjust(self, form: forms.Form, obj: Any) -> None:
        """Section-specific form changes."""

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def delete(self, obj: Any) -> None:
        raise Http404


class OrganisationSection(Section):
    key = "organisation"
    title = L("Organisation")
    model = Organisation
    names = ["name", "base_currency", "time_zone", "fiscal_year_start_month", "locale", "activity_window_days", "gross_margin"]  # fmt: skip
    columns = []
    editable_rows = False

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        return admin.update_organisation(by=self.user, data=data)


class UserSection(Section):
    key = "users"
    title = L("People")
    model = User
    names = ["username", "display_name", "email", "phone", "language", "team", "reports_to", "role", "is_active"]  # fmt: skip
    columns = [("username", L("Username")), ("display_name", L("Display name")), ("team", L("Team")), ("role", L("Role")), ("is_active", L("Active"))]  # fmt: skip

    def rows(self) -> Any:
        return User.objects.select_related("team", "role").order_by("username")[:500]

    def adjust(self, form: forms.Form, obj: Any) -> None:
        form.fields["password"] = forms.CharField(
            label=L("New password"),
            required=False,
            widget=forms.PasswordInput(render_value=False),
            help_text=L("Leave empty to keep the current password."),
        )

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        password = data.pop("password", "") or ""
        return admin.save_user(by=self.user, data=data, user=obj, password=password)


class TeamSection(Section):
    key = "teams"
    title = L("Teams")
    model = Team
    names = ["name", "parent", "manager"]
    columns = [("name", L("Name")), ("parent", L("Parent team")), ("manager", L("Manager"))]

    def rows(self) -> Any:
        return Team.objects.select_related("parent", "manager")

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        return admin.save_team(by=self.user, data=data, team=obj)


class RoleSection(Section):
    key = "roles"
    title = L("Roles and data permissions")
    model = Role
    names = ["name", "data_scope", "is_sales_rep", "is_admin"]
    columns = [("name", L("Name")), ("get_data_scope_display", L("Data scope")), ("is_admin", L("Administrator"))]  # fmt: skip

    def adjust(self, form: forms.Form, obj: Any) -> None:
        rights = (obj.rights if obj else {}) or {}
        for t, label in OBJECT_TYPES:
            form.fields[f"rights_{t}"] = forms.MultipleChoiceField(
                label=label,
                choices=RIGHTS,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=rights.get(t, []),
            )

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        rights = {t: data.pop(f"rights_{t}", []) for t, _label in OBJECT_TYPES}
        return admin.save_role(by=self.user, data={**data, "rights": rights}, role=obj)


class PoolRuleSection(Section):
    key = "pool-rules"
    title = L("Public pool rules")
    model = PoolRule
    names = ["name", "team", "reclaim_after_days_without_followup", "reclaim_after_days_without_won_deal", "max_customers_per_rep", "reclaim_block_days", "warning_days", "active"]  # fmt: skip
    columns = [("name", L("Name")), ("team", L("Team")), ("reclaim_after_days_without_followup", L("Days without follow-up")), ("max_customers_per_rep", L("Cap per rep")), ("active", L("Active"))]  # fmt: skip

    def rows(self) -> Any:
        return PoolRule.objects.select_related("team")

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        return crm_pages.save_pool_rule(by=self.user, data=data, rule=obj)

    def delete(self, obj: Any) -> None:
        crm_pages.delete_pool_rule(by=self.user, rule=obj)


class CustomFieldSection(Section):
    key = "custom-fields"
    title = L("Custom fields")
    model = CustomField
    names = ["object_type", "key", "label", "field_type", "required", "order", "active", "help_text"]  # fmt: skip
    columns = [("get_object_type_display", L("Object")), ("key", L("Key")), ("label", L("Label")), ("get_field_type_display", L("Type")), ("active", L("Active"))]  # fmt: skip

    def adjust(self, form: forms.Form, obj: Any) -> None:
        options = obj.options if obj else []
        form.fields["options"] = forms.CharField(
            label=L("Options"),
            required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=L("For select fields: one option per line, written value=label."),
            initial="\n".join(f"{o.get('value')}={o.get('label')}" for o in options),
        )
        if obj is not None:
            for name in ("object_type", "key", "field_type"):
                form.fields[name].disabled = True

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        options = []
        for line in (data.pop("options", "") or "").splitlines():
            if line.strip():
                value, _sep, label = line.partition("=")
                options.append({"value": value.strip(), "label": (label or value).strip()})
        if obj is None:
            return commerce.create_custom_field(by=self.user, options=options, **data)
        for name in ("object_type", "key", "field_type"):
            data.pop(name, None)
        return commerce.update_custom_field(
            field=obj, by=self.user, data={**data, "options": options}
        )


class RateSection(Section):
    key = "exchange-rates"
    title = L("Exchange rates")
    model = ExchangeRate
    names = ["currency", "effective_on", "rate"]
    columns = [("currency", L("Currency")), ("effective_on", L("Effective on")), ("rate", L("Rate to base currency"))]  # fmt: skip

    def rows(self) -> Any:
        return ExchangeRate.objects.all()[:300]

    def adjust(self, form: forms.Form, obj: Any) -> None:
        if obj is not None:
            form.fields["currency"].disabled = True
            form.fields["effective_on"].disabled = True

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        if obj is not None:
            return commerce.update_exchange_rate(
                rate=obj, by=self.user, data={"rate": data["rate"]}
            )
        return commerce.set_exchange_rate(
            by=self.user,
            currency=data["currency"].pk if data.get("currency") else "",
            effective_on=data["effective_on"],
            rate=data["rate"],
        )


class HolidaySection(Section):
    key = "holidays"
    title = L("Holiday calendar")
    model = Holiday
    names = ["day", "kind", "name"]
    columns = [("day", L("Date")), ("get_kind_display", L("Kind")), ("name", L("Name"))]
    editable_rows = False

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        return admin.add_holiday(by=self.user, **data)

    def delete(self, obj: Any) -> None:
        admin.delete_holiday(by=self.user, holiday=obj)


SECTIONS: dict[str, type[Section]] = {
    s.key: s
    for s in (
        OrganisationSection,
        UserSection,
        TeamSection,
        RoleSection,
        PoolRuleSection,
        CustomFieldSection,
        RateSection,
        HolidaySection,
    )
}


@login_required
def index(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    return render(
        request,
        "web/setup_index.html",
        {
            "title": _("Settings"),
            "sections": [(s.key, s.title) for s in SECTIONS.values()],
            "pipelines": Pipeline.objects.prefetch_related("stages"),
        },
    )


@login_required
def section(request: HttpRequest, key: str, pk: int | None = None) -> HttpResponse:
    require_admin(request)
    if key not in SECTIONS:
        raise Http404
    page = SECTIONS[key](request)
    obj = None
    if key == "organisation":
        obj = Organisation.get()
    elif pk is not None:
        obj = get_object_or_404(page.model, pk=pk)
    if request.method == "POST" and request.POST.get("action") == "delete" and obj is not None:
        try:
            page.delete(obj)
        except REFUSALS as e:
            messages.error(request, " ".join(getattr(e, "messages", [str(e)])))
        else:
            messages.success(request, _("Deleted."))
        return HttpResponseRedirect(reverse("settings_section", args=[key]))
    form = page.form(obj, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        for name, field in form.fields.items():
            if field.disabled:
                data.pop(name, None)
            elif data.get(name) is None and isinstance(field, forms.CharField):
                data[name] = ""
        try:
            page.save(obj, data)
        except REFUSALS as e:
            show_error(form, e)
        else:
            messages.success(request, _("Saved."))
            return HttpResponseRedirect(reverse("settings_section", args=[key]))
    rows = []
    for row in page.rows() if page.columns else []:
        cells = []
        for attr, _label in page.columns:
            value = getattr(row, attr)
            cells.append(value() if callable(value) else value)
        rows.append({"obj": row, "cells": cells})
    return render(
        request,
        "web/setup_section.html",
        {
            "title": page.title,
            "page": page,
            "form": form,
            "obj": obj,
            "rows": rows,
            "headers": [label for _attr, label in page.columns],
        },
    )


# -- pipelines and stages ---------------------------------------------------------------------


class StageForm(forms.Form):
    name = forms.CharField(label=L("Name"), max_length=100)
    probability = forms.IntegerField(label=L("Default probability (%)"), min_value=0, max_value=100)


@login_required
def pipeline(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A pipeline's name, default flag and stages; new open stages are added before won
    and lost."""
    require_admin(request)
    obj = get_object_or_404(Pipeline, pk=pk) if pk is not None else None
    user: Any = me(request)
    form = forms.Form(
        request.POST if request.method == "POST" and "pipeline" in request.POST else None,
        initial={
            "name": obj.name,
            "is_default": obj.is_default,
            "active": obj.active,
            "order": obj.order,
        }
        if obj
        else {"active": True},
    )
    form.fields.update(model_fields(Pipeline, ["name", "is_default", "active", "order"]))
    stage_form = StageForm(
        request.POST if "stage" in request.POST else None, initial={"probability": 10}
    )
    if request.method == "POST":
        try:
            if "pipeline" in request.POST and form.is_valid():
                if obj is None:
                    obj = commerce.create_pipeline(by=user, **form.cleaned_data)
                else:
                    commerce.update_pipeline(pipeline=obj, by=user, data=form.cleaned_data)
                messages.success(request, _("Saved."))
                return HttpResponseRedirect(reverse("settings_pipeline", args=[obj.pk]))
            if "stage" in request.POST and obj is not None and stage_form.is_valid():
                commerce.add_stage(pipeline=obj, by=user, **stage_form.cleaned_data)
                messages.success(request, _("Saved."))
                return HttpResponseRedirect(reverse("settings_pipeline", args=[obj.pk]))
            if "rename" in request.POST and obj is not None:
                stage = get_object_or_404(Stage, pk=request.POST.get("rename"), pipeline=obj)
                probability = request.POST.get("probability", "")
                data: dict[str, Any] = {"name": request.POST.get("name", "").strip() or stage.name}
                if probability.isdigit():
                    data["probability"] = int(probability)
                commerce.update_stage(stage=stage, by=user, data=data)
                messages.success(request, _("Saved."))
                return HttpResponseRedirect(reverse("settings_pipeline", args=[obj.pk]))
        except REFUSALS as e:
            show_error(form if "pipeline" in request.POST else stage_form, e)
    return render(
        request,
        "web/setup_pipeline.html",
        {
            "title": obj.name if obj else _("New pipeline"),
            "obj": obj,
            "form": form,
            "stage_form": stage_form,
            "stages": list(obj.stages.order_by("order")) if obj else [],
        },
    )
