"""Settings: the dashboards' layout — which KPI tiles and charts the organisation,
team and rep dashboards (and their e-mails) show, in which order. Each tile and chart
has a "show" box and a position; "Back to all" stores the product's full layout.
Administrators only; saved through `analytics.admin_services` (audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from salesops.analytics import admin_services
from salesops.analytics.dashboard import CHARTS, DEFAULT_LAYOUT, TILE_LABELS, layout
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text
from salesops.web.views.setup import require_admin


def _rows(labels: dict[str, Any], chosen: tuple[str, ...], prefix: str) -> list[dict[str, Any]]:
    """Every tile (or chart): the chosen ones in their order, then the others."""
    order = list(chosen) + [k for k in labels if k not in chosen]
    return [
        {
            "id": k,
            "label": labels[k],
            "shown": k in chosen,
            "position": i,
            "name": f"{prefix}_position_{k}",
        }
        for i, k in enumerate(order, start=1)
    ]


def _chosen(request: HttpRequest, labels: dict[str, Any], prefix: str) -> list[str]:
    """The ids ticked in the form, by their positions (ties: the product's order).
    ValueError names a position that is not a whole number."""
    ticked = set(request.POST.getlist(prefix))
    keyed = []
    for i, k in enumerate(labels):
        if k not in ticked:
            continue
        raw = (request.POST.get(f"{prefix}_position_{k}") or "").strip()
        try:
            position = int(raw) if raw else len(labels) + i
        except ValueError:
            raise ValueError(
                _("Give the position of “%(name)s” as a whole number, such as 3.")
                % {"name": labels[k]}
            ) from None
        keyed.append((position, i, k))
    return [k for _p, _i, k in sorted(keyed)]


@login_required
def dashboard_layout(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    current = layout()
    error = ""
    if request.method == "POST":
        try:
            if "reset" in request.POST:
                tiles, charts = list(DEFAULT_LAYOUT.tiles), list(DEFAULT_LAYOUT.charts)
            else:
                tiles = _chosen(request, TILE_LABELS, "tile")
                charts = _chosen(request, CHARTS, "chart")
            admin_services.save_dashboard_layout(by=me(request), tiles=tiles, charts=charts)
        except ValueError as e:
            error = str(e)
        except REFUSALS as e:
            error = error_text(e)
        else:
            messages.success(request, _("The dashboard layout is saved."))
            return HttpResponseRedirect(reverse("settings_dashboard"))
    return render(
        request,
        "web/setup_dashboard.html",
        {
            "title": _("Dashboard layout"),
            "tiles": _rows(TILE_LABELS, current.tiles, "tile"),
            "charts": _rows(CHARTS, current.charts, "chart"),
            "error": error,
        },
        status=400 if error else 200,
    )
