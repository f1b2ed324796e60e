"""Settings: custom objects (自定义对象). An administrator defines an object (its key,
names, what its records' title is called and what they link to), renames it, changes
its links, retires and restores it, and manages its fields in the custom-field editor
filtered to it. Saved through `salesops.objects.services`, which refuse anyone but an
administrator whatever the page shows; each role's rights on the object are set on the
role's page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as L
from django.views.decorators.http import require_POST

from salesops.customization import registry
from salesops.customization.models import CustomField
from salesops.objects import services
from salesops.objects.models import LINKABLE, CustomObject
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text, show_error
from salesops.web.views.setup import require_admin


def link_choices() -> list[tuple[str, Any]]:
    return [(link, registry.get(link).label) for link in LINKABLE]


class ObjectForm(forms.Form):
    key = forms.CharField(
        label=L("Key"),
        max_length=20,
        help_text=L(
            "2–20 lower-case letters, digits and underscores, e.g. site_visit: the "
            "object's name in addresses, the API and imports. It never changes."
        ),
    )
    label = forms.CharField(label=L("Name"), max_length=100, help_text=L("e.g. Site visit"))
    plural = forms.CharField(
        label=L("Plural name"),
        max_length=100,
        required=False,
        help_text=L("In the menu and on lists, e.g. Site visits. Empty: the name."),
    )
    title_label = forms.CharField(
        label=L("Title's name"),
        max_length=100,
        help_text=L("What each record's title is called, e.g. Subject or Name."),
    )
    links = forms.MultipleChoiceField(
        label=L("Records link to"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=L(
            "Each record may name one of each; the linked record's page lists its records."
        ),
    )

    def __init__(self, *args: Any, obj: CustomObject | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        links: Any = self.fields["links"]
        links.choices = link_choices()
        if obj is not None:
            self.fields["key"].disabled = True


def _initial(obj: CustomObject) -> dict[str, Any]:
    return {
        "key": obj.key,
        "label": obj.label,
        "plural": obj.plural,
        "title_label": obj.title_label,
        "links": list(obj.links or []),
    }


def _rows() -> list[dict[str, Any]]:
    objects = list(CustomObject.objects.order_by("order", "key"))
    counts = dict(
        CustomField.objects.filter(object_type__in=[o.key for o in objects], active=True)
        .values_list("object_type")
        .annotate(n=Count("id"))
        .values_list("object_type", "n")
    )
    labels = dict(link_choices())
    return [
        {
            "obj": o,
            "links": ", ".join(str(labels[link]) for link in LINKABLE if link in (o.links or [])),
            "fields": counts.get(o.key, 0),
            "fields_url": reverse("settings_section", args=["custom-fields"])
            + f"?object_type={o.key}",
        }
        for o in objects
    ]


@login_required
def object_list(request: HttpRequest) -> HttpResponse:
    """Every custom object, and the form that defines a new one."""
    require_admin(request)
    form = ObjectForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            obj = services.define_object(
                by=me(request),
                key=data["key"],
                label=data["label"],
                plural=data["plural"] or "",
                title_label=data["title_label"],
                links=list(data["links"]),
            )
        except REFUSALS as e:
            show_error(form, e)
        else:
            messages.success(
                request,
                _("“%(name)s” was defined. Add its fields, then set each role's rights on it.")
                % {"name": obj.label},
            )
            return HttpResponseRedirect(reverse("settings_object", args=[obj.pk]))
    return render(
        request,
        "web/setup_objects.html",
        {"title": _("Custom objects"), "rows": _rows(), "form": form},
    )


@login_required
def object_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A custom object's names and links, its fields, and retire/restore."""
    require_admin(request)
    obj = get_object_or_404(CustomObject, pk=pk)
    form = ObjectForm(
        request.POST if request.method == "POST" else None, obj=obj, initial=_initial(obj)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_object(
                by=me(request),
                obj=obj,
                label=data["label"],
                plural=data["plural"] or "",
                title_label=data["title_label"],
                links=list(data["links"]),
                active=obj.active,
            )
        except REFUSALS as e:
            show_error(form, e)
        else:
            messages.success(request, _("Saved."))
            return HttpResponseRedirect(reverse("settings_objects"))
    fields = list(CustomField.objects.filter(object_type=obj.key).order_by("order", "key"))
    return render(
        request,
        "web/setup_object.html",
        {
            "title": obj.label,
            "obj": obj,
            "form": form,
            "fields": fields,
            "fields_url": reverse("settings_section", args=["custom-fields"])
            + f"?object_type={obj.key}",
            "list_url": reverse("object_list", args=[obj.key]) if obj.active else "",
        },
    )


@login_required
@require_POST
def object_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Retire (`active=0`) or restore (`active=1`) a custom object: a retired object's
    pages, navigation entry and search results are gone; its records and fields are
    kept and come back with it."""
    require_admin(request)
    obj = get_object_or_404(CustomObject, pk=pk)
    active = request.POST.get("active", "")
    if active not in ("0", "1"):
        raise Http404
    try:
        services.update_object(
            by=me(request),
            obj=obj,
            label=obj.label,
            plural=obj.plural,
            title_label=obj.title_label,
            links=list(obj.links or []),
            active=active == "1",
        )
    except REFUSALS as e:
        messages.error(request, error_text(e))
    else:
        messages.success(
            request,
            _("“%(name)s” is in use again.") % {"name": obj.label}
            if active == "1"
            else _("“%(name)s” was retired; its records are kept.") % {"name": obj.label},
        )
    return HttpResponseRedirect(reverse("settings_objects"))
