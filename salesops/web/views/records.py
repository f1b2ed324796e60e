"""Record pages: every field the reader may see (the metadata registry through the
field policy), grouped and ordered by the object's layout (a deal's pipeline's when it
has one; `customization.layouts`), inline edit of those they may change (htmx, through the service with
the version the reader saw), a full edit form with the custom fields, the timeline,
related records and a quick follow-up form. One flat class, one subclass per kind,
stating only what is its own: the update service and what it takes, the template,
the side lists, the timeline link.

A record outside the reader's data scope is a 404, whichever URL asks for it; so is a
field hidden from the reader or one they may not change.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views import View

from salesops.activities.models import FollowUp
from salesops.audit.models import AuditEntry
from salesops.customization import layouts, policy, registry
from salesops.customization.registry import FieldSpec
from salesops.users.models import User
from salesops.web.audit_display import describe
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, RecordForm, error_text, form_name, initial_of, show_error
from salesops.web.templatetags.web import DASH, day, format_money, format_number, moment

CHOICE_NONE = DASH


class Masked:
    """A record as a template may read it: the fields hidden from the reader (and their
    `_id` columns and `get_<field>_display`) read as None, whatever the template asks.
    Side lists and the record itself reach templates only this way."""

    def __init__(self, obj: Any, hidden: Collection[str]) -> None:
        self._obj = obj
        self._hidden = frozenset(hidden)

    def hides(self, name: str) -> bool:
        if name in self._hidden:
            return True
        if name.endswith("_id") and name.removesuffix("_id") in self._hidden:
            return True
        if name.startswith("get_") and name.endswith("_display"):
            return name[4:-8] in self._hidden
        return False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self.hides(name):
            return None
        return getattr(self._obj, name)

    def __str__(self) -> str:
        return str(self._obj)

    def __eq__(self, other: object) -> bool:
        return self._obj == (other._obj if isinstance(other, Masked) else other)

    def __hash__(self) -> int:
        return hash(self._obj)


def masked(user: Any, object_type: str, rows: Iterable[Any]) -> list[Masked]:
    """Records of `object_type` for a side list, their hidden fields blanked."""
    hidden = policy.hidden_keys(user, object_type)
    return [Masked(r, hidden) for r in rows]


def object_type_of(model: Any) -> str:
    spec = registry.for_model(model)
    assert spec is not None, model
    return spec.key


def _path(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        obj = getattr(obj, part, None) if obj is not None else None
    return obj


def display(obj: Any, spec: FieldSpec, people: dict[int, str] | None = None) -> str:
    """A field's value as a person reads it: choices and picklists by their label,
    money with its currency, times in the organisation's time zone."""
    if spec.is_custom:
        value = (getattr(obj, "custom", None) or {}).get(spec.key)
    elif spec.type == registry.MANY_REF:
        return ", ".join(str(x) for x in getattr(obj, spec.key).all()) or CHOICE_NONE
    else:
        value = getattr(obj, spec.shown_as or spec.key)
    if value is None or value == "" or value == []:
        return CHOICE_NONE
    if spec.percent:
        return f"{value}%"
    t = spec.type
    if t == registry.CHOICE:
        return str(spec.choice_label(value))
    if t == registry.MULTI_CHOICE and isinstance(value, list):
        return ", ".join(str(spec.choice_label(v)) for v in value)
    if t == registry.REF and spec.is_custom:
        return (people or {}).get(value, str(value)) if isinstance(value, int) else str(value)
    if t == registry.MONEY:
        currency = _path(obj, spec.currency_path) if spec.currency_path else ""
        return format_money(value, currency or "")
    if t == registry.NUMBER:
        return format_number(value, 2)
    if t == registry.DATETIME:
        from django.utils.dateparse import parse_datetime

        moment_value = parse_datetime(value) if isinstance(value, str) else value
        return moment(localtime(moment_value)) if moment_value else str(value)
    if t == registry.DATE:
        from django.utils.dateparse import parse_date

        date_value = parse_date(value) if isinstance(value, str) else value
        return day(date_value) if date_value else str(value)
    if t == registry.BOOL or isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


class RecordPage(LoginRequiredMixin, View):
    """GET: the page. Sub-paths (see `urls`): edit (full form) and field/<name> (inline)."""

    model: ClassVar[Any]
    key: ClassVar[str]  # URL prefix and name stem, e.g. "deal"
    #: Whether the update service takes custom-field values.
    custom_updates: ClassVar[bool] = True
    template_name: ClassVar[str] = "web/record.html"
    timeline_link: ClassVar[str | None] = None  # "lead", "customer", "contact", "deal"
    list_url: ClassVar[str] = ""

    request: HttpRequest

    # -- fields ---------------------------------------------------------------------------
    @property
    def object_type(self) -> str:
        return object_type_of(self.model)

    @property
    def rights_type(self) -> str:
        """The object type in roles' rights (a custom object's key)."""
        return registry.get(self.object_type).rights_type

    def url_for(self, name: str, obj: Any, *args: Any) -> str:
        """The address of the record's `name` page ("detail", "edit", "field"...)."""
        return reverse(f"{self.key}_{name}", args=[obj.pk, *args])

    def shown(self) -> list[FieldSpec]:
        """The fields the reader may see, in the registry's order."""
        return [
            f
            for f in policy.visible_fields(me(self.request), self.object_type)
            if not f.internal and f.type != registry.JSON
        ]

    def layout_pipeline(self, obj: Any) -> Any:
        """The pipeline whose layout the record follows (deals), else None."""
        return None

    def sections(self, obj: Any) -> list[layouts.Section]:
        """The fields the reader may see, grouped and ordered by the layout: a section
        not shown to their role is not on their page."""
        return layouts.sections_for(
            me(self.request), self.object_type, pipeline=self.layout_pipeline(obj)
        )

    def editable(self, obj: Any) -> list[FieldSpec]:
        """The fields the reader may change here: visible, editable in the registry,
        taken by a general update (`writable`: not the owner, nor what has a service of
        its own, such as a deal's stage), and on the reader's layout; in its order."""
        from salesops.crm.services import writable

        user = me(self.request)
        if not user.has_right(self.rights_type, "edit"):
            return []
        allowed = writable(user, self.object_type)
        specs = [
            f
            for f in policy.editable_fields(user, self.object_type)
            if (self.custom_updates if f.is_custom else f.key in allowed)
            and f.type != registry.JSON
        ]
        return layouts.flat(self.editable_sections(obj, specs))

    def editable_sections(self, obj: Any, specs: list[FieldSpec]) -> list[layouts.Section]:
        return layouts.arrange(
            me(self.request), self.object_type, specs, pipeline=self.layout_pipeline(obj)
        )

    def can_edit(self, obj: Any) -> bool:
        return bool(self.editable(obj))

    # -- data ---------------------------------------------------------------------------
    def get_object(self, pk: int) -> Any:
        spec = registry.get(self.object_type)
        refs = [f.key for f in spec.base_fields if f.type == registry.REF and not f.derived]
        many = [f.key for f in self.shown() if f.type == registry.MANY_REF and not f.is_custom]
        qs = spec.visible(me(self.request)).select_related(*refs)
        if many:
            qs = qs.prefetch_related(*many)
        return get_object_or_404(qs, pk=pk)

    def update(self, obj: Any, data: dict[str, Any], custom: dict | None, version: int) -> Any:
        raise NotImplementedError

    def form(
        self,
        obj: Any,
        specs: list[FieldSpec],
        data: Any = None,
        sections: list[layouts.Section] | None = None,
    ) -> RecordForm:
        form = RecordForm(
            data,
            specs=specs,
            sections=sections,
            user=me(self.request),
            initial=initial_of(obj, specs),
        )
        self.fix_choices(form, obj)
        return form

    def fix_choices(self, form: RecordForm, obj: Any) -> None:
        """Narrow a form's choices to what fits this record (e.g. a deal's contacts)."""

    def data_of(self, form: RecordForm) -> dict[str, Any]:
        return form.values()

    # -- the page -------------------------------------------------------------------------
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        from salesops.web.views import timeline as timelines

        obj = self.get_object(pk)
        try:
            before = timelines.parse_before(request.GET.get("before"), me(request))
        except ValueError:
            return timelines.bad_cursor()
        return render(request, self.template_name, self.context(obj, before=before))

    def timeline_page(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The timeline lines before `?before=` (the "Older" link), for htmx."""
        from salesops.web.views import timeline as timelines

        obj = self.get_object(pk)
        if not self.timeline_link:
            raise Http404
        try:
            before = timelines.parse_before(request.GET.get("before"), me(request))
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

    def field_sections(self, obj: Any) -> list[dict[str, Any]]:
        """The page's sections: each heading with the rows of its fields (one query for
        the people custom fields name, whatever their number)."""
        sections = self.sections(obj)
        shown = layouts.flat(sections)
        editable = {form_name(f) for f in self.editable(obj)}
        people_ids = [
            v
            for f in shown
            if f.is_custom and f.type == registry.REF
            for v in [(obj.custom or {}).get(f.key)]
            if isinstance(v, int)
        ]
        people = (
            {u.pk: str(u) for u in User.objects.filter(pk__in=people_ids)} if people_ids else {}
        )
        return [
            {
                "key": s.key,
                "title": s.title,
                "rows": [
                    {
                        "name": form_name(f),
                        "label": f.title,
                        "value": display(obj, f, people),
                        "editable": form_name(f) in editable,
                    }
                    for f in s.fields
                ],
            }
            for s in sections
        ]

    def field_rows(self, obj: Any) -> list[dict[str, Any]]:
        return [row for s in self.field_sections(obj) for row in s["rows"]]

    def timeline_context(self, obj: Any, before: Any = None) -> dict[str, Any]:
        """The timeline's first page (or the one before `before`); a record without a
        timeline shows its own history from the audit log instead."""
        from salesops.web.views import timeline as timelines

        user = me(self.request)
        if self.timeline_link:
            return {
                **timelines.timeline_context(user, obj, self.timeline_link, before=before),
                "timeline_url": self.url_for("timeline", obj),
                "timeline_before": before,
            }
        rows = AuditEntry.objects.of(obj)[: timelines.PAGE]
        return {"timeline": [], "history": [describe(e, user) for e in rows]}

    def context(self, obj: Any, before: Any = None, **extra: Any) -> dict[str, Any]:
        user = me(self.request)
        can_edit = self.can_edit(obj)
        field_sections = self.field_sections(obj)
        return {
            "obj": self.context_obj(obj),
            "page": self,
            "title": str(obj),
            "kind_label": self.model._meta.verbose_name,
            "field_sections": field_sections,
            "field_rows": [row for s in field_sections for row in s["rows"]],
            "can_edit": can_edit,
            "can_delete": user.has_right(self.rights_type, "delete"),
            **self.timeline_context(obj, before),
            "followup_form": self.quick_followup_form() if self.timeline_link else None,
            "followup_url": reverse("followup_new") + f"?{self.timeline_link}={obj.pk}"
            if self.timeline_link
            else "",
            "edit_url": self.edit_url(obj) if can_edit else "",
            "delete_url": reverse("record_delete", args=[self.key, obj.pk]),
            "field_url_name": f"{self.key}_field",
            "list_url": reverse(self.list_url) if self.list_url else "",
            **self.extra_context(obj),
            **extra,
        }

    def context_obj(self, obj: Any) -> Masked:
        """The record as its templates read it: hidden fields blanked."""
        return Masked(obj, policy.hidden_keys(me(self.request), self.object_type))

    def edit_url(self, obj: Any) -> str:
        return self.url_for("edit", obj)

    def extra_context(self, obj: Any) -> dict[str, Any]:
        return {}

    def masked(self, object_type: str, rows: Iterable[Any]) -> list[Masked]:
        return masked(me(self.request), object_type, rows)

    def quick_followup_form(self) -> RecordForm | None:
        if not me(self.request).has_right("followup", "create"):
            return None
        from salesops.web.views.create import followup_form

        return followup_form(me(self.request))

    # -- full edit form ---------------------------------------------------------------------
    def edit(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object(pk)
        specs = self.editable(obj)
        if not specs:
            raise Http404
        sections = self.editable_sections(obj, specs)
        if request.method == "POST":
            form = self.form(obj, specs, request.POST, sections=sections)
            if form.is_valid():
                try:
                    self.update(
                        obj,
                        self.data_of(form),
                        form.custom() if self.custom_updates else None,
                        _version(request),
                    )
                except REFUSALS as e:
                    show_error(form, e)
                else:
                    messages.success(request, _("Saved."))
                    return HttpResponseRedirect(self.url_for("detail", obj))
        else:
            form = self.form(obj, specs, sections=sections)
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
        spec = next((f for f in self.editable(obj) if form_name(f) == name), None)
        if spec is None:  # unknown, hidden from the reader, or not theirs to change
            raise Http404
        if request.method == "GET" and request.GET.get("cancel"):
            return self.render_field(obj, name)
        form = self.form(obj, [spec], request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            custom = form.custom() if spec.is_custom else None
            data = {} if spec.is_custom else self.data_of(form)
            try:
                obj = self.update(obj, data, custom, _version(request))
            except REFUSALS as e:
                show_error(form, e)
            else:
                return self.render_field(self.get_object(obj.pk), name, saved=True)
        return render(
            request,
            "web/field.html#edit",
            {
                "obj": obj,
                "form": form,
                "name": name,
                "page": self,
                "field_url_name": f"{self.key}_field",
            },
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


__all__ = ["FollowUp", "Masked", "RecordPage", "display", "error_text", "masked"]
