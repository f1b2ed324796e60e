"""Record pages: key fields with inline edit (htmx, through the service with the
version the reader saw), a full edit form with the custom fields, the timeline,
related records and a quick follow-up form. One flat class, one subclass per kind.

A record outside the reader's data scope is a 404, whichever URL asks for it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from salesops.activities.models import FollowUp
from salesops.audit.models import AuditEntry
from salesops.org.models import Currency
from salesops.web.audit_display import describe
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, RecordForm, custom_initial, error_text, show_error
from salesops.web.templatetags.web import format_money
from salesops.web.views import timeline as timelines

CHOICE_NONE = "—"


def display(obj: Any, name: str) -> str:
    """A field's value as a person reads it."""
    from salesops.web.templatetags.web import day, format_number, moment

    field: Any = obj._meta.get_field(name)
    value = getattr(obj, name)
    if value is None or value == "":
        return CHOICE_NONE
    if field.choices:
        return str(getattr(obj, f"get_{name}_display")())
    if isinstance(field, models.DecimalField):
        if name in ("amount", "price"):
            return format_money(value, getattr(obj, "currency_id", ""))
        return format_number(value, 2)
    if isinstance(field, models.DateTimeField):
        from django.utils.timezone import localtime as template_localtime

        return moment(template_localtime(value))
    if isinstance(field, models.DateField):
        return day(value)
    if isinstance(field, models.BooleanField):
        return _("Yes") if value else _("No")
    return str(value)


def custom_display(obj: Any, defs: list[Any]) -> list[dict[str, Any]]:
    values = getattr(obj, "custom", None) or {}
    out = []
    for d in defs:
        value = values.get(d.key)
        if isinstance(value, bool):
            text = _("Yes") if value else _("No")
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        elif value is None or value == "":
            text = CHOICE_NONE
        else:
            labels = {str(o.get("value")): o.get("label") for o in d.options or []}
            text = str(labels.get(str(value), value))
        out.append({"name": f"cf_{d.key}", "label": d.label, "value": text, "editable": True})
    return out


class RecordPage(LoginRequiredMixin, View):
    """GET: the page. Sub-paths (see `urls`): edit (full form) and field/<name> (inline)."""

    model: ClassVar[Any]
    key: ClassVar[str]  # URL prefix and name stem, e.g. "deal"
    fields: ClassVar[list[str]]  # shown, in order
    editable: ClassVar[list[str]] = []  # changeable through `update`
    related_names: ClassVar[list[str]] = []  # select_related
    template_name: ClassVar[str] = "web/record.html"
    has_custom: ClassVar[bool] = True
    timeline_link: ClassVar[str | None] = None  # "lead", "customer", "contact", "deal"
    list_url: ClassVar[str] = ""

    request: HttpRequest

    # -- data ---------------------------------------------------------------------------
    def get_object(self, pk: int) -> Any:
        qs = self.model.objects.visible_to(me(self.request))
        if self.related_names:
            qs = qs.select_related(*self.related_names)
        return get_object_or_404(qs, pk=pk)

    def update(self, obj: Any, data: dict[str, Any], custom: dict | None, version: int) -> Any:
        raise NotImplementedError

    def can_edit(self) -> bool:
        return bool(self.editable) and me(self.request).has_right(self.model.object_type, "edit")

    def form(self, obj: Any, names: list[str], data: Any = None) -> RecordForm:
        with_custom = self.has_custom and any(n.startswith("cf_") for n in names)
        plain = [n for n in names if not n.startswith("cf_")]
        form = RecordForm(
            data,
            model=self.model,
            names=plain,
            object_type=self.model.object_type if with_custom else None,
            initial={n: getattr(obj, n) for n in plain},
        )
        if with_custom:
            form.initial.update(custom_initial(obj, form.custom_defs))
            wanted = set(names)
            if "cf_*" not in wanted:
                for name in [n for n in form.fields if n.startswith("cf_") and n not in wanted]:
                    del form.fields[name]
        for name in [n for n in form.fields if self.is_hidden(n)]:
            del form.fields[name]
        self.fix_choices(form, obj)
        return form

    def fix_choices(self, form: RecordForm, obj: Any) -> None:
        """Querysets of the form's foreign keys (none by default: nothing leaks)."""
        field = form.fields.get("currency")
        if isinstance(field, forms.ModelChoiceField):
            field.queryset = Currency.objects.filter(active=True)

    def data_of(self, form: RecordForm, names: list[str]) -> dict[str, Any]:
        data = form.plain([n for n in names if not n.startswith("cf_")])
        for key, value in list(data.items()):
            if isinstance(value, Currency):
                data[key] = value.pk
            elif value is None and isinstance(
                self.model._meta.get_field(key), models.CharField | models.TextField
            ):
                data[key] = ""
        return data

    # -- the page -------------------------------------------------------------------------
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object(pk)
        try:
            before = timelines.parse_before(request.GET.get("before"))
        except ValueError:
            return timelines.bad_cursor()
        return render(request, self.template_name, self.context(obj, before=before))

    def timeline_page(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The timeline lines before `?before=` (the "Older" link), for htmx."""
        obj = self.get_object(pk)
        if not self.timeline_link:
            raise Http404
        try:
            before = timelines.parse_before(request.GET.get("before"))
        except ValueError:
            return timelines.bad_cursor()
        return render(
            request,
            "web/timeline.html#lines",
            {
                **timelines.timeline_context(me(request), obj, self.timeline_link, before=before),
                "timeline_url": reverse(f"{self.key}_timeline", args=[obj.pk]),
                "timeline_before": before,
            },
        )

    def is_hidden(self, name: str) -> bool:
        """Whether the reader's role hides field `name` (custom fields as `cf_<key>`)."""
        hidden = me(self.request).hidden_fields(self.model.object_type)
        key = name.removeprefix("cf_")
        return name in hidden or (name.startswith("cf_") and bool({key, f"custom.{key}"} & hidden))

    def field_rows(self, obj: Any) -> list[dict[str, Any]]:
        can_edit = self.can_edit()
        rows = [
            {
                "name": name,
                "label": obj._meta.get_field(name).verbose_name,
                "value": display(obj, name),
                "editable": can_edit and name in self.editable,
            }
            for name in self.fields
            if not self.is_hidden(name)
        ]
        if self.has_custom:
            from salesops.customization.services import definitions

            extra = custom_display(obj, definitions(self.model.object_type))
            for row in extra:
                row["editable"] = can_edit
            rows += [row for row in extra if not self.is_hidden(row["name"])]
        return rows

    def timeline_context(self, obj: Any, before: Any = None) -> dict[str, Any]:
        """The timeline's first page (or the one before `before`); a record without a
        timeline shows its own history from the audit log instead."""
        user = me(self.request)
        if self.timeline_link:
            return {
                **timelines.timeline_context(user, obj, self.timeline_link, before=before),
                "timeline_url": reverse(f"{self.key}_timeline", args=[obj.pk]),
                "timeline_before": before,
            }
        rows = AuditEntry.objects.of(obj)[: timelines.PAGE]
        return {"timeline": [], "history": [describe(e, user) for e in rows]}

    def context(self, obj: Any, before: Any = None, **extra: Any) -> dict[str, Any]:
        user = me(self.request)
        return {
            "obj": obj,
            "page": self,
            "title": str(obj),
            "kind_label": self.model._meta.verbose_name,
            "field_rows": self.field_rows(obj),
            "can_edit": self.can_edit(),
            "hidden_fields": me(self.request).hidden_fields(self.model.object_type),
            "can_delete": user.has_right(self.model.object_type, "delete"),
            **self.timeline_context(obj, before),
            "followup_form": self.quick_followup_form() if self.timeline_link else None,
            "followup_url": reverse("followup_new") + f"?{self.timeline_link}={obj.pk}"
            if self.timeline_link
            else "",
            "edit_url": reverse(f"{self.key}_edit", args=[obj.pk]) if self.editable else "",
            "delete_url": reverse("record_delete", args=[self.key, obj.pk]),
            "field_url_name": f"{self.key}_field",
            "list_url": reverse(self.list_url) if self.list_url else "",
            **self.extra_context(obj),
            **extra,
        }

    def extra_context(self, obj: Any) -> dict[str, Any]:
        return {}

    def quick_followup_form(self) -> RecordForm | None:
        if not me(self.request).has_right("followup", "create"):
            return None
        from salesops.web.views.create import followup_form

        return followup_form(me(self.request))

    # -- full edit form ---------------------------------------------------------------------
    def edit(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object(pk)
        if not self.can_edit():
            raise Http404
        names = [*self.editable, *(["cf_*"] if self.has_custom else [])]
        if request.method == "POST":
            form = self.form(obj, names, request.POST)
            if form.is_valid():
                try:
                    self.update(
                        obj,
                        self.data_of(form, names),
                        form.custom() if self.has_custom else None,
                        _version(request),
                    )
                except REFUSALS as e:
                    show_error(form, e)
                else:
                    messages.success(request, _("Saved."))
                    return HttpResponseRedirect(reverse(f"{self.key}_detail", args=[obj.pk]))
        else:
            form = self.form(obj, names)
        return render(
            request,
            "web/edit.html",
            {
                "obj": obj,
                "form": form,
                "title": _("Edit %(name)s") % {"name": obj},
                "page": self,
                "version": request.POST.get("version") if request.method == "POST" else obj.version,
            },
        )

    # -- one field, inline -------------------------------------------------------------------
    def field(self, request: HttpRequest, pk: int, name: str) -> HttpResponse:
        obj = self.get_object(pk)
        allowed = name in self.editable or (self.has_custom and name.startswith("cf_"))
        if not self.can_edit() or not allowed or self.is_hidden(name):
            raise Http404
        form = self.form(obj, [name], request.POST if request.method == "POST" else None)
        if name not in form.fields:
            raise Http404
        if request.method == "GET" and request.GET.get("cancel"):
            return self.render_field(obj, name)
        if request.method == "POST" and form.is_valid():
            custom = form.custom() if name.startswith("cf_") else None
            data = {} if custom is not None else self.data_of(form, [name])
            try:
                obj = self.update(obj, data, custom, _version(request))
            except REFUSALS as e:
                show_error(form, e)
            else:
                return self.render_field(obj, name, saved=True)
        return render(
            request,
            "web/field.html#edit",
            {"obj": obj, "form": form, "name": name, "field_url_name": f"{self.key}_field"},
        )

    def render_field(self, obj: Any, name: str, saved: bool = False) -> HttpResponse:
        row = next(r for r in self.field_rows(obj) if r["name"] == name)
        return render(
            self.request,
            "web/field.html#display",
            {
                "obj": obj,
                "row": row,
                "saved": saved,
                "page": self,
                "field_url_name": f"{self.key}_field",
            },
        )


def _version(request: HttpRequest) -> int:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else -1


__all__ = ["FollowUp", "RecordPage", "error_text"]
