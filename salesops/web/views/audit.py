"""The audit log for administrators (Settings ▸ Audit log): every change, newest first,
filtered by object type, person and date range, paged by a keyset cursor (the
(at, id) index: page 1,000 costs what page 1 costs). Anyone but an administrator gets
a 404: the page does not exist for them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as L

from salesops.audit.models import AuditEntry
from salesops.org.models import Organisation
from salesops.users import admin_services as admin
from salesops.users.models import User
from salesops.web.audit_display import describe, model_of
from salesops.web.auth import me
from salesops.web.forms import DATE

PAGE = 50

#: The kinds of record a filter can pick (those with a record page link to it).
OBJECT_TYPES = [
    "crm.lead",
    "crm.customer",
    "crm.contact",
    "crm.deal",
    "activities.followup",
    "activities.task",
    "crm.product",
    "crm.quote",
    "crm.contract",
    "crm.paymentplan",
    "crm.payment",
    "pipeline.pipeline",
    "pipeline.stage",
    "customization.customfield",
    "org.exchangerate",
]


def type_label(object_type: str) -> str:
    model = model_of(object_type)
    return capfirst(str(model._meta.verbose_name)) if model is not None else object_type


class AuditFilter(forms.Form):
    object_type = forms.ChoiceField(label=L("Kind of record"), required=False)
    actor = forms.ModelChoiceField(
        label=L("Changed by"), queryset=User.objects.none(), required=False
    )
    start = forms.DateField(label=L("From"), required=False, widget=DATE)
    end = forms.DateField(label=L("To"), required=False, widget=DATE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((t, type_label(t)) for t in OBJECT_TYPES),
        ]
        self.fields["actor"].queryset = User.objects.order_by("username")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end date cannot be before the start date."))
        return data


def _cursor(raw: str) -> tuple[dt.datetime, int] | None:
    """`<ISO time>_<id>` of the last row of the previous page."""
    moment, _sep, pk = raw.rpartition("_")
    try:
        at = dt.datetime.fromisoformat(moment)
        return (at if timezone.is_aware(at) else timezone.make_aware(at, dt.UTC)), int(pk)
    except ValueError:
        return None


def _filtered(form: AuditFilter) -> Any:
    rows = AuditEntry.objects.all()
    data = form.cleaned_data
    if data.get("object_type"):
        rows = rows.filter(object_type=data["object_type"])
    if data.get("actor"):
        rows = rows.filter(actor=data["actor"])
    tz = Organisation.get().tz
    if data.get("start"):
        rows = rows.filter(at__gte=dt.datetime.combine(data["start"], dt.time(), tzinfo=tz))
    if data.get("end"):
        day_after = data["end"] + dt.timedelta(days=1)
        rows = rows.filter(at__lt=dt.datetime.combine(day_after, dt.time(), tzinfo=tz))
    return rows


def _link(entry: AuditEntry) -> str:
    model = model_of(entry.object_type)
    if model is None or entry.object_id is None:
        return ""
    try:
        return reverse(f"{model._meta.model_name}_detail", args=[entry.object_id])
    except NoReverseMatch:
        return ""


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    user = me(request)
    if not admin.is_admin(user):
        raise Http404
    form = AuditFilter(request.GET or None)
    rows: list[Any] = []
    after = ""
    if not request.GET or form.is_valid():
        if not request.GET:
            form = AuditFilter({})
            form.is_valid()
        qs = _filtered(form)
        if request.GET.get("after"):
            cursor = _cursor(request.GET["after"])
            if cursor is None:
                return HttpResponseBadRequest(_("The page link is damaged; start again."))
            qs = qs.filter(Q(at__lt=cursor[0]) | Q(at=cursor[0], id__lt=cursor[1]))
        page = list(qs.order_by("-at", "-id")[: PAGE + 1])
        rows = [
            {"d": describe(e, user), "type": type_label(e.object_type), "url": _link(e)}
            for e in page[:PAGE]
        ]
        if len(page) > PAGE:
            last = page[PAGE - 1]
            after = f"{last.at.isoformat()}_{last.pk}"
    params = request.GET.copy()
    params.pop("after", None)
    return render(
        request,
        "web/audit_log.html",
        {
            "form": form,
            "rows": rows,
            "after": after,
            "filters": params.urlencode(),
            "title": _("Audit log"),
        },
    )
