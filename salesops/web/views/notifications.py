"""The notification centre: the list (newest first, 30 a page), opening one (marks it
read and goes to its record while the reader may still see it), marking read, and the
reader's preferences. Everything is the signed-in person's own: another person's notice
is a 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesops.lib.services import NotVisible
from salesops.notifications import render as notices
from salesops.notifications import services
from salesops.notifications.models import Email
from salesops.web.auth import me

PAGE = 30


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """?before=<id>: the page after that notice (keyset on created_at, id)."""
    unread_only = request.GET.get("unread") == "1"
    before = request.GET.get("before", "")
    page, next_before = services.page_of(
        me(request),
        before=int(before) if before.isdigit() else None,
        unread_only=unread_only,
        size=PAGE,
    )
    return render(
        request,
        "web/notifications.html",
        {
            "title": _("Notifications"),
            "rows": notices.show(me(request), page),
            "next_before": next_before,
            "unread_only": unread_only,
        },
    )


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the notice read and open its record, if the reader may still see it."""
    try:
        notice = services.mark_read(user=me(request), notification_id=pk)
    except NotVisible:
        raise Http404(_("This notification does not exist or is not yours.")) from None
    [shown] = notices.show(me(request), [notice])
    if shown.url:
        return redirect(shown.url)
    if notice.object_id is not None:
        messages.info(request, _("The record of this notification is no longer yours to open."))
    return redirect("notifications")


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.mark_read(user=me(request), notification_id=pk)
    except NotVisible:
        raise Http404(_("This notification does not exist or is not yours.")) from None
    return redirect(_back(request))


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    services.mark_all_read(user=me(request))
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    nxt = request.POST.get("next", "")
    # Only a path of this site: never an address elsewhere.
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else "/notifications/"


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    user = me(request)
    rows = services.preferences(user)
    error = ""
    if request.method == "POST":
        values: dict[str, tuple[bool, str]] = {
            kind.key: (
                request.POST.get(f"in_app:{kind.key}") == "on",
                request.POST.get(f"email:{kind.key}", ""),
            )
            for kind, _in_app, _email in rows
        }
        try:
            services.set_preferences(user=user, values=values)
        except ValidationError as e:
            error = " ".join(e.messages)
        else:
            messages.success(request, _("Your notification settings are saved."))
            return redirect("notification_settings")
    context: dict[str, Any] = {
        "title": _("Notification settings"),
        "rows": rows,
        "email_choices": Email.choices,
        "error": error,
        "has_email": bool(user.email),
    }
    return render(request, "web/notification_settings.html", context, status=400 if error else 200)
