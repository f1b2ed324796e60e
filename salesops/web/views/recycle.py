"""The recycle bin (回收站) pages: one per object type of the registry with a bin, and
an index of them. A person sees what they deleted; an administrator sees everyone's
(`automation.recycle.deleted_rows`). Only the record's name and owner are shown (no
role may hide them), never another field."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from salesops.automation import recycle
from salesops.customization import registry
from salesops.customization.registry import ObjectSpec
from salesops.lib.services import NotVisible
from salesops.users.admin_services import is_admin
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text

#: Deleted records one bin page shows (newest first).
PAGE = 100


def deleted_message(name: Any) -> str:
    """What a page says after deleting a record: where and for how long it can be
    restored (the purge keeps that promise)."""
    days = recycle.retention_days()
    return ngettext(
        "“%(name)s” was deleted. You can restore it from the Recycle bin (in the menu) "
        "within %(days)s day.",
        "“%(name)s” was deleted. You can restore it from the Recycle bin (in the menu) "
        "within %(days)s days.",
        days,
    ) % {"name": name, "days": days}


def _spec_or_404(request: HttpRequest, key: str) -> ObjectSpec:
    spec = registry.find(key)
    if spec is None or not recycle.has_bin(spec):
        raise Http404
    if not me(request).has_right(spec.rights_type, "view"):
        raise PermissionDenied(_("Your role does not allow you to do this with these records."))
    return spec


@login_required
def recycle_index(request: HttpRequest) -> HttpResponse:
    """Each object type the reader may view, with how many records their bin holds."""
    user = me(request)
    bins = [
        {
            "spec": s,
            "count": recycle.deleted_rows(user, s).count(),
            "url": reverse("recycle_bin", args=[s.key]),
        }
        for s in recycle.bins()
        if user.has_right(s.rights_type, "view")
    ]
    return render(
        request,
        "web/recycle/index.html",
        {
            "title": _("Recycle bin"),
            "bins": bins,
            "days": recycle.retention_days(),
            "everyone": is_admin(user),
        },
    )


def render_bin(request: HttpRequest, spec: ObjectSpec) -> HttpResponse:
    user = me(request)
    rows = list(recycle.deleted_rows(user, spec).select_related("owner", "deleted_by")[:PAGE])
    for row in rows:
        row.bin_name = getattr(row, spec.title_field, None) or row
        row.purge_on = recycle.purge_on(row.deleted_at)
    return render(
        request,
        "web/recycle/bin.html",
        {
            "title": _("Recycle bin: %(objects)s") % {"objects": spec.plural},
            "spec": spec,
            "title_label": spec.field(spec.title_field).title,  # type: ignore[union-attr]
            "rows": rows,
            "list_url": spec.list_path(),
            "can_restore": user.has_right(spec.rights_type, "delete"),
            "days": recycle.retention_days(),
            "everyone": is_admin(user),
        },
    )


@login_required
def recycle_bin(request: HttpRequest, key: str) -> HttpResponse:
    return render_bin(request, _spec_or_404(request, key))


def restore_and_redirect(request: HttpRequest, spec: ObjectSpec, pk: int) -> HttpResponse:
    try:
        obj = recycle.restore(user=me(request), spec=spec, pk=pk)
    except NotVisible:
        raise Http404 from None
    except REFUSALS as e:
        messages.error(request, error_text(e))
        return HttpResponseRedirect(reverse("recycle_bin", args=[spec.key]))
    messages.success(request, _("“%(name)s” was restored.") % {"name": obj})
    target = spec.record_url(pk) or spec.list_path()
    return HttpResponseRedirect(target)


@login_required
@require_POST
def recycle_restore(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    return restore_and_redirect(request, _spec_or_404(request, key), pk)
