"""Forms for pages: fields taken from the models and the custom-field definitions, and
the errors of a service put back next to the field they are about.

Forms only parse what people type; every rule is the service's, so a page and the API
refuse the same things with the same message.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesops.customization.models import CustomField
from salesops.customization.services import definitions
from salesops.lib.services import NotVisible
from salesops.lib.updates import Conflict
from salesops.users.models import User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _widget_for(field: forms.Field) -> None:
    if isinstance(field, forms.DateTimeField):
        field.widget = DATETIME
    elif isinstance(field, forms.DateField):
        field.widget = DATE
    if isinstance(field.widget, forms.Textarea):
        field.widget.attrs.setdefault("rows", 3)


def model_fields(model: type[models.Model], names: list[str]) -> dict[str, forms.Field]:
    """Form fields for model fields, in order, with usable widgets."""
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


def custom_field(d: CustomField) -> forms.Field:
    t = CustomField.Type
    common: dict[str, Any] = {"label": d.label, "required": False, "help_text": d.help_text}
    options = [(str(o["value"]), o.get("label") or o["value"]) for o in d.options]
    field: forms.Field
    match d.field_type:
        case t.LONG_TEXT:
            field = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
        case t.NUMBER | t.MONEY:
            field = forms.DecimalField(**common)
        case t.DATE:
            field = forms.DateField(widget=DATE, **common)
        case t.DATETIME:
            field = forms.DateTimeField(widget=DATETIME, **common)
        case t.SELECT:
            field = forms.ChoiceField(choices=[("", "—"), *options], **common)
        case t.MULTI_SELECT:
            field = forms.MultipleChoiceField(
                choices=options, widget=forms.CheckboxSelectMultiple, **common
            )
        case t.USER:
            field = forms.ModelChoiceField(
                queryset=User.objects.filter(is_active=True).order_by("username"), **common
            )
        case t.BOOLEAN:
            field = forms.NullBooleanField(
                widget=forms.Select(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))]),
                **common,
            )
        case t.EMAIL:
            field = forms.CharField(widget=forms.EmailInput, **common)
        case t.URL:
            field = forms.CharField(widget=forms.URLInput, **common)
        case _:
            field = forms.CharField(**common)
    setattr(field, "required_mark", d.required)  # noqa: B010
    return field


def custom_fields(object_type: str) -> tuple[list[CustomField], dict[str, forms.Field]]:
    defs = definitions(object_type)
    return defs, {f"cf_{d.key}": custom_field(d) for d in defs}


def custom_initial(obj: Any, defs: list[CustomField]) -> dict[str, Any]:
    values = getattr(obj, "custom", None) or {}
    out: dict[str, Any] = {}
    for d in defs:
        value = values.get(d.key)
        if d.field_type == CustomField.Type.BOOLEAN and value is not None:
            value = "true" if value else "false"
        out[f"cf_{d.key}"] = value
    return out


def custom_values(cleaned: dict[str, Any], defs: list[CustomField]) -> dict[str, Any]:
    """The custom values a form gives, as the service takes them (empty clears)."""
    out: dict[str, Any] = {}
    for d in defs:
        name = f"cf_{d.key}"
        if name not in cleaned:
            continue
        value = cleaned[name]
        if isinstance(value, models.Model):
            value = value.pk
        out[d.key] = value
    return out


class RecordForm(forms.Form):
    """A form of some model fields plus the record type's custom fields."""

    def __init__(
        self,
        *args: Any,
        model: type[models.Model],
        names: list[str],
        object_type: str | None = None,
        extra: dict[str, forms.Field] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(model_fields(model, names))
        self.fields.update(extra or {})
        self.custom_defs: list[CustomField] = []
        if object_type:
            self.custom_defs, more = custom_fields(object_type)
            self.fields.update(more)
        for field in self.fields.values():
            if getattr(field, "required_mark", False):
                field.widget.attrs["aria-required"] = "true"

    def custom(self) -> dict[str, Any]:
        return custom_values(self.cleaned_data, self.custom_defs)

    def plain(self, names: list[str]) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in names if n in self.cleaned_data}


def show_error(form: forms.Form, error: Exception) -> None:
    """Put a service's refusal on the form: each message next to its field (custom
    fields as `cf_<key>`), the rest above the form."""
    if isinstance(error, Conflict):
        form.add_error(None, str(error.message))
        return
    if isinstance(error, PermissionDenied | NotVisible):
        form.add_error(None, str(error) or str(_("You may not do this.")))
        return
    assert isinstance(error, ValidationError)
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for key, messages in error.message_dict.items():
        name: str | None = key
        if key.startswith("custom."):
            name = "cf_" + key.split(".", 1)[1]
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
