"""Dashboards of the organisation, a team (with its sub-teams) and a rep: a period
picker, KPI tiles compared with the previous period, the same period a year before and
the target, charts (drawn by static/web/dashboard.js from `dashboard_data`) and a link
from every number to the records it counts (`dashboard_drill`).

Every number is computed by the KPI engine as the viewer, so their data scope always
applies; a team or rep outside that scope is a 404, not an empty page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.analytics import dashboard
from salesops.analytics.dashboard import Scope, can_see_rep, can_see_team
from salesops.analytics.kpis import team_members
from salesops.analytics.periods import PRESETS, Period, parse_period, preset
from salesops.pipeline.models import Pipeline
from salesops.users.models import Team, User
from salesops.web.auth import me

DEFAULT_PRESET = "this_month"
PRESET_LABELS = {
    "this_month": gettext_lazy("This month"),
    "last_month": gettext_lazy("Last month"),
    "this_quarter": gettext_lazy("This quarter"),
    "last_quarter": gettext_lazy("Last quarter"),
    "this_year": gettext_lazy("This year"),
    "last_year": gettext_lazy("Last year"),
    "this_fiscal_year": gettext_lazy("This fiscal year"),
    "last_fiscal_year": gettext_lazy("Last fiscal year"),
}
assert set(PRESET_LABELS) <= set(PRESETS)


# -- whose numbers -----------------------------------------------------------------------------


def page_url(scope: Scope) -> str:
    """The dashboard page of the scope."""
    if scope.team is not None:
        return reverse("dashboard_team", args=[scope.team.pk])
    if scope.rep is not None:
        return reverse("dashboard_rep", args=[scope.rep.pk])
    return reverse("dashboard")


def what_key(scope: Scope) -> str:
    """The scope as the subscription form names it ("org", "team:3", "rep:7")."""
    if scope.team is not None:
        return f"team:{scope.team.pk}"
    if scope.rep is not None:
        return f"rep:{scope.rep.pk}"
    return "org"


def team_scope(viewer: Any, pk: int) -> Scope:
    """A team the viewer may look at: everyone's data, or a member of it (or of a
    sub-team) whose records they see. Otherwise 404."""
    team = Team.objects.filter(pk=pk).first()
    if team is None or not can_see_team(viewer, team):
        raise Http404
    return Scope("team", team=team)


def rep_scope(viewer: Any, pk: int) -> Scope:
    rep = User.objects.filter(pk=pk).first()
    if rep is None or not can_see_rep(viewer, rep):
        raise Http404
    return Scope("rep", rep=rep)


def with_pipeline(scope: Scope, params: Any) -> Scope:
    """The scope narrowed to the pipeline named by `?pipeline=` (404 if there is none)."""
    value = str(params.get("pipeline", "") or "")
    if not value:
        return scope
    pipeline = Pipeline.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if pipeline is None:
        raise Http404
    return replace(scope, pipeline=pipeline)


def scope_from_params(viewer: Any, params: Any) -> Scope:
    """The scope named by `team` or `owner` query parameters (drill-down, chart data)."""
    for key, resolve in (("team", team_scope), ("owner", rep_scope)):
        value = params.get(key, "")
        if value:
            if not str(value).isdigit():
                raise Http404
            return with_pipeline(resolve(viewer, int(value)), params)
    return with_pipeline(Scope("org"), params)


# -- which period ------------------------------------------------------------------------------


def read_period(params: Any, org: Any, today: dt.date) -> tuple[Period, str, str]:
    """(period, preset name or "", its text) from `?period=`: a preset name or a text
    form of KPIS.md (2026-Q3, FY2026, 2026-07-01..2026-09-30). ValidationError when it
    is neither."""
    text = (params.get("period") or "").strip() or DEFAULT_PRESET
    fiscal = org.fiscal_year_start_month
    if text in PRESETS:
        return preset(text, today=today, fiscal_start_month=fiscal), text, text
    return parse_period(text, fiscal_start_month=fiscal), "", text


def exact_text(period: Period) -> str:
    """The period as a range text form: drill-down links name the same days even if
    'today' moves on."""
    return f"{period.start.isoformat()}..{period.last_day.isoformat()}"


def drill_url(scope: Scope, period: Period, metric: str, **extra: Any) -> str:
    params: dict[str, Any] = {"period": exact_text(period), **scope.params(), **extra}
    return f"{reverse('dashboard_drill', args=[metric])}?{urlencode(params)}"


# -- tiles -------------------------------------------------------------------------------------


def tiles(viewer: Any, scope: Scope, period: Period, currency: str) -> list[dict[str, Any]]:
    """The dashboard's tiles (`analytics.dashboard.tiles`), each linked to its drill-down."""
    out = dashboard.tiles(viewer, scope, period, currency)
    for tile in out:
        tile["url"] = drill_url(scope, period, tile["drill"])
    return out


# -- the pages ---------------------------------------------------------------------------------


def choices(viewer: Any) -> list[tuple[str, str]]:
    """Dashboards the viewer may open: teams with a visible member, then visible reps."""
    visible = viewer.visible_owner_ids()
    teams = list(Team.objects.order_by("path"))
    options = [(reverse("dashboard"), _("Organisation"))]
    members = team_members([t.pk for t in teams])
    for t in teams:
        if visible is None or members[t.pk] & set(visible):
            depth = t.path.count(".") - 1
            options.append((reverse("dashboard_team", args=[t.pk]), "· " * depth + t.name))
    reps = User.objects.filter(is_active=True, role__is_sales_rep=True).order_by("username")
    if visible is not None:
        reps = reps.filter(pk__in=list(visible))
    options += [(reverse("dashboard_rep", args=[u.pk]), str(u)) for u in reps]
    return options


def dashboard_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    viewer: Any = me(request)
    org: Any = request.org  # type: ignore[attr-defined]
    scope = with_pipeline(scope, request.GET)
    context: dict[str, Any] = {
        "title": _("Dashboard: %(scope)s") % {"scope": scope.title},
        "scope": scope,
        "presets": list(PRESET_LABELS.items()),
        "pipelines": list(Pipeline.objects.order_by("name").values_list("id", "name")),
        "choices": choices(viewer),
        "here": page_url(scope),
        "subscribe_url": f"{reverse('subscription_new')}?{urlencode({'what': what_key(scope)})}",
    }
    try:
        period, chosen, text = read_period(request.GET, org, org.local_date())
    except ValidationError as e:
        context.update(error=" ".join(e.messages), chosen="", text=request.GET.get("period", ""))
        return render(request, "web/dashboards/dashboard.html", context, status=400)
    params = {"period": exact_text(period), **scope.params()}
    context.update(
        period=period,
        chosen=chosen,
        text="" if chosen else text,
        currency=org.base_currency_id,
        tiles=tiles(viewer, scope, period, org.base_currency_id),
        charts=dashboard.layout().charts,
        data_url=f"{reverse('dashboard_data')}?{urlencode(params)}",
    )
    return render(request, "web/dashboards/dashboard.html", context)


@login_required
def org_dashboard(request: HttpRequest) -> HttpResponse:
    return dashboard_page(request, Scope("org"))


@login_required
def team_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    return dashboard_page(request, team_scope(me(request), pk))


@login_required
def rep_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    return dashboard_page(request, rep_scope(me(request), pk))
