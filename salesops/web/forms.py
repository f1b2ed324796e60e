"""Forms for pages: fields built from the metadata registry's FieldSpecs (built-in and
custom alike), and the errors of a service put back next to the field they are about.

Which fields a form has is the caller's business (the field policy: what the reader
may see and set, and what the service takes); how a field of a given type is typed in
is decided here once. Forms only parse what people type; every rule is the service's,
so a page and the API refuse the same things with the same message.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesops.crm.duplicate_warnings import PossibleDuplicates
from salesops.customization import layouts, registry
from salesops.customization.registry import FieldSpec
from salesops.lib.services import NotVisible
from salesops.lib.updates import Conflict
from salesops.users.models import User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
#: Form names of custom fields: `cf_<key>` (a custom key may equal no built-in one, but
#: the prefix keeps the service's `custom.<key>` errors and the URLs unambiguous).
CUSTOM = "cf_"
#: How many records a chooser offers before the person searches.
CHOICES = 30
EMPTY = ("", "—")


def _widget_for(field: forms.Field) -> None:
    if isinstance(field, forms.DateTimeField):
        field.widget = DATETIME
    elif isinstance(field, forms.DateField):
        field.widget = DATE
    if isinstance(field.widget, forms.Textarea):
        field.widget.attrs.setdefault("rows", 3)


def model_fields(model: type[models.Model], names: list[str]) -> dict[str, forms.Field]:
    """Form fields for model fields, in order, with usable widgets (set-up pages)."""
    out: dict[str, forms.Field] = {}
    for name in names:
        model_field: Any = model._meta.get_field(name)
        field = model_field.formfield()
        if field is None:  # not editable in forms (e.g. editable=False)
            field = forms.CharField(label=model_field.verbose_name, required=False)
        _widget_for(field)
        if isinstance(model_field, models.ForeignKey) and model_field.related_model is not None:
            related: Any = model_field.related_model
            field.queryset = related._default_manager.none()
        out[name] = field
    return out


# -- FieldSpec → form field -----------------------------------------------------------------


def form_name(spec: FieldSpec) -> str:
    """The field's name in forms, URLs and record-page rows."""
    return f"{CUSTOM}{spec.key}" if spec.is_custom else spec.key


def ref_model(spec: FieldSpec) -> Any:
    """The model a reference points to."""
    from salesops.crm.models import PriceList, Tag
    from salesops.org.models import Currency
    from salesops.pipeline.models import Pipeline, Stage
    from salesops.users.models import Team

    fixed: dict[str, Any] = {
        "user": User,
        "team": Team,
        "stage": Stage,
        "pipeline": Pipeline,
        "currency": Currency,
        "tag": Tag,
        "pricelist": PriceList,
    }
    if spec.ref in fixed:
        return fixed[spec.ref]
    target = registry.find(spec.ref)
    return target.model if target is not None else None


def _ref_queryset(spec: FieldSpec, user: Any) -> Any:
    """What a reference may point to: records the person may see; active people in their
    data scope for owners (any active person for a custom person field); active
    currencies and pipelines."""
    model = ref_model(spec)
    if model is None:
        return None
    if spec.ref == "user":
        qs = User.objects.filter(is_active=True).order_by("username")
        visible = user.visible_owner_ids() if not spec.is_custom else None
        return qs.filter(pk__in=list(visible)) if visible is not None else qs
    if spec.ref in ("currency", "pipeline", "pricelist"):
        return model.objects.filter(active=True)
    if spec.ref == "stage":
        return model.objects.filter(pipeline__active=True)
    if spec.ref in ("team", "tag"):
        return model.objects.all()
    return model.objects.visible_to(user)


def form_field(spec: FieldSpec, user: Any) -> forms.Field | None:
    """A form field for `spec` (None for types nobody types in, such as JSON). Custom
    fields are never required by the form: the service says which are, in its words."""
    required = spec.required and not spec.is_custom
    common: dict[str, Any] = {
        "label": spec.title,
        "required": required,
        "help_text": spec.help_text or "",
        "initial": None if spec.is_custom else spec.default,
    }
    field: forms.Field
    t = spec.type
    if t in (registry.REF, registry.MANY_REF):
        qs = _ref_queryset(spec, user)
        if qs is None:
            return None
        if t == registry.MANY_REF:
            field = forms.ModelMultipleChoiceField(queryset=qs, **{**common, "required": False})
        else:
            field = forms.ModelChoiceField(queryset=qs, **common)
            if registry.find(spec.ref) is not None:
                field.widget.attrs["data-lookup"] = ref_model(spec)._meta.model_name
                field.widget.attrs["data-lookup-placeholder"] = _("Type to search")
    elif t in (registry.CHOICE, registry.MULTI_CHOICE):
        options = [(str(v), label) for v, label in spec.options()]
        if t == registry.MULTI_CHOICE:
            field = forms.MultipleChoiceField(
                choices=options, widget=forms.CheckboxSelectMultiple, **common
            )
        else:
            field = forms.ChoiceField(choices=[EMPTY, *options], **common)
    elif t == registry.LONG_TEXT:
        field = forms.CharField(
            widget=forms.Textarea(attrs={"rows": 3}), max_length=spec.max_length, **common
        )
    elif t == registry.INTEGER:
        field = forms.IntegerField(**common)
    elif t in (registry.NUMBER, registry.MONEY):
        field = forms.DecimalField(**common)
    elif t == registry.DATE:
        field = forms.DateField(widget=DATE, **common)
    elif t == registry.DATETIME:
        field = forms.DateTimeField(widget=DATETIME, **common)
    elif t == registry.BOOL:
        if spec.is_custom:
            field = forms.NullBooleanField(
                widget=forms.Select(choices=[EMPTY, ("true", _("Yes")), ("false", _("No"))]),
                **common,
            )
        else:
            field = forms.BooleanField(**{**common, "required": False})
    elif t == registry.EMAIL:
        field = forms.EmailField(max_length=spec.max_length, **common)
    elif t == registry.URL:
        field = forms.URLField(max_length=spec.max_length, assume_scheme="https", **common)
    elif t == registry.JSON:
        return None
    else:
        field = forms.CharField(max_length=spec.max_length, **common)
    if spec.is_custom and spec.required:
        setattr(field, "required_mark", True)  # noqa: B010
    return field


def initial_of(obj: Any, specs: Iterable[FieldSpec]) -> dict[str, Any]:
    """The record's values as a form of `specs` starts with."""
    values = getattr(obj, "custom", None) or {}
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.is_custom:
            value = values.get(spec.key)
            if spec.type == registry.BOOL and value is not None:
                value = "true" if value else "false"
        elif spec.type == registry.MANY_REF:
            value = [x.pk for x in getattr(obj, spec.key).all()]
        elif spec.type == registry.REF:
            value = getattr(obj, spec.attname or f"{spec.key}_id")
        else:
            value = getattr(obj, spec.key)
        out[form_name(spec)] = value
    return out


class RecordForm(forms.Form):
    """A form of registry fields (built-in and custom) plus a page's own `extra`.

    Given `sections` (a layout's, `customization.layouts`), the form has their fields
    in their order and shows them under the sections' headings (when they come from a
    layout); `specs` is then ignored."""

    def __init__(
        self,
        *args: Any,
        specs: Iterable[FieldSpec] = (),
        user: Any,
        extra: dict[str, forms.Field] | None = None,
        sections: list[layouts.Section] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.specs: dict[str, FieldSpec] = {}
        self.sections: list[tuple[str, list[str]]] = []
        if sections is not None:
            specs = layouts.flat(sections)
            if layouts.has_headings(sections):
                self.sections = [(s.title, [form_name(f) for f in s.fields]) for s in sections]
        for spec in specs:
            field = form_field(spec, user)
            if field is not None:
                self.specs[form_name(spec)] = spec
                self.fields[form_name(spec)] = field
        self.fields.update(extra or {})
        for field in self.fields.values():
            if getattr(field, "required_mark", False):
                field.widget.attrs["aria-required"] = "true"
        self.offer()

    def offer(self) -> None:
        """Fill the choosers: a few records and the chosen one (an htmx search finds the
        rest), so a form never lists a million; keep a stored option that is no longer
        offered (a retired picklist value) so saving does not lose it."""
        for name, spec in self.specs.items():
            field: Any = self.fields[name]
            kind = type(field)
            chosen = self.data.get(self.add_prefix(name)) if self.is_bound else None
            chosen = chosen or self.initial.get(name, field.initial)
            if kind is forms.ChoiceField:
                choices: list[Any] = list(field.choices)
                if chosen not in (None, "") and str(chosen) not in {str(c[0]) for c in choices}:
                    field.choices = [*choices, (str(chosen), str(chosen))]
            elif kind is forms.ModelChoiceField and registry.find(spec.ref) is not None:
                queryset: Any = field.queryset
                rows = list(queryset.order_by("-id")[:CHOICES])
                pk = str(getattr(chosen, "pk", chosen) or "")
                if pk.isdigit() and pk not in {str(r.pk) for r in rows}:
                    found = queryset.filter(pk=pk).first()
                    if found is not None:
                        rows.insert(0, found)
                field.widget.choices = [EMPTY, *((r.pk, str(r)) for r in rows)]
            elif kind is forms.ModelChoiceField and spec.ref == "user" and not spec.is_custom:
                from salesops.web.views.listview import people

                field.widget.choices = [EMPTY, *people(self.user)]

    def groups(self) -> list[dict[str, Any]]:
        """The visible fields under their sections' headings (a layout's); the page's own
        fields after them. Empty without a layout: the form is shown as one list."""
        if not self.sections:
            return []
        out: list[dict[str, Any]] = []
        grouped: set[str] = set()
        for title, names in self.sections:
            fields = [self[n] for n in names if n in self.fields and not self[n].is_hidden]
            grouped.update(names)
            if fields:
                out.append({"title": title, "fields": fields})
        rest = [f for f in self.visible_fields() if f.name not in grouped]
        if rest:
            out.append({"title": "", "fields": rest})
        return out

    def custom(self) -> dict[str, Any]:
        """The custom values the form gives, as the services take them (empty clears)."""
        out: dict[str, Any] = {}
        for name, spec in self.specs.items():
            if spec.is_custom and name in self.cleaned_data:
                value = self.cleaned_data[name]
                out[spec.key] = value.pk if isinstance(value, models.Model) else value
        return out

    def values(self) -> dict[str, Any]:
        """The built-in values the form gives, keyed by field: empty text is "", a
        currency its code, other references the records themselves."""
        out: dict[str, Any] = {}
        for name, spec in self.specs.items():
            if spec.is_custom or name not in self.cleaned_data:
                continue
            value = self.cleaned_data[name]
            if spec.ref == "currency" and isinstance(value, models.Model):
                value = value.pk
            elif value is None and spec.type in registry.TEXTUAL:
                value = ""
            out[spec.key] = value
        return out

    def plain(self, names: list[str]) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in names if n in self.cleaned_data}


def service_takes(service: Callable[..., Any]) -> set[str]:
    """The keyword arguments a create service takes (its record fields among them)."""
    return {
        name
        for name, p in inspect.signature(service).parameters.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


def takes_fields(service: Callable[..., Any]) -> bool:
    """Whether a service takes the record's fields as `**fields`."""
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(service).parameters.values())


def service_defaults(service: Callable[..., Any]) -> set[str]:
    """The arguments a service may go without (a form leaves them optional)."""
    return {
        name
        for name, p in inspect.signature(service).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def allows_duplicate(request: Any) -> bool:
    """Whether the person ticked "save anyway" on a form that warned of duplicates."""
    return request.POST.get("allow_duplicate") == "1"


def show_error(form: forms.Form, error: Exception) -> None:
    """Put a service's refusal on the form: each message next to its field (custom
    fields as `cf_<key>`), the rest above the form."""
    if isinstance(error, Conflict):
        form.add_error(None, str(error.message))
        return
    if isinstance(error, PermissionDenied | NotVisible):
        form.add_error(None, str(error) or str(_("You may not do this.")))
        return
    if isinstance(error, PossibleDuplicates):
        # The form shows them with links and a "save anyway" box (web/duplicates.html).
        form.duplicates = [  # type: ignore[attr-defined]
            {"name": c.name, "url": c.url, "fields": ", ".join(c.labels(error.object_type))}
            for c in error.candidates
        ]
    assert isinstance(error, ValidationError)
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for key, messages in error.message_dict.items():
        name: str | None = key
        if key.startswith("custom."):
            name = CUSTOM + key.split(".", 1)[1]
        if key == NON_FIELD_ERRORS or name not in form.fields:
            name = None
        for message in messages:
            if name is None:
                label = "" if key == NON_FIELD_ERRORS else f"{key}: "
                form.add_error(None, f"{label}{message}")
            else:
                form.add_error(name, message)


def error_text(error: Exception) -> str:
    """One line saying why a service refused (for per-row results and small forms)."""
    if isinstance(error, Conflict):
        return str(error.message)
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or str(_("You may not do this."))


#: What a service may refuse with; pages catch exactly these.
REFUSALS = (ValidationError, PermissionDenied, NotVisible, Conflict)
