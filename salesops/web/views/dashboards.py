"""Dashboards of the organisation, a team (with its sub-teams) and a rep: a period
picker, KPI tiles compared with the previous period, the same period a year before and
the target, charts (drawn by static/web/dashboard.js from `dashboard_data`) and a link
from every number to the records it counts (`dashboard_drill`).

Every number is computed by the KPI engine as the viewer, so their data scope always
applies; a team or rep outside that scope is a 404, not an empty page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.analytics import engine
from salesops.analytics.kpis import period_of, team_members
from salesops.analytics.periods import PRESETS, Period, parse_period, preset
from salesops.pipeline.models import Pipeline
from salesops.users.models import Target, Team, User
from salesops.web.auth import me
from salesops.web.templatetags.web import format_money, format_number, percent

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


@dataclass(frozen=True)
class Scope:
    """The organisation, a team with its sub-teams, or one rep; optionally one pipeline."""

    kind: str  # "org", "team", "rep"
    team: Team | None = None
    rep: User | None = None
    pipeline: Pipeline | None = None

    def filters(self) -> engine.Filters:
        return engine.Filters(team=self.team, owner=self.rep, pipeline=self.pipeline)

    def params(self) -> dict[str, int]:
        out = {"pipeline": self.pipeline.pk} if self.pipeline is not None else {}
        if self.team is not None:
            return {"team": self.team.pk, **out}
        if self.rep is not None:
            return {"owner": self.rep.pk, **out}
        return out

    def of_rep(self, pk: int) -> Scope:
        """One rep's part of this scope (leaderboard bars, heat-map cells)."""
        return Scope("rep", rep=User(pk=pk), pipeline=self.pipeline)

    def page_url(self) -> str:
        if self.team is not None:
            return reverse("dashboard_team", args=[self.team.pk])
        if self.rep is not None:
            return reverse("dashboard_rep", args=[self.rep.pk])
        return reverse("dashboard")

    @property
    def title(self) -> str:
        if self.team is not None:
            return _("Team %(name)s") % {"name": self.team.name}
        if self.rep is not None:
            return str(self.rep)
        return _("Organisation")


def team_scope(viewer: Any, pk: int) -> Scope:
    """A team the viewer may look at: everyone's data, or a member of it (or of a
    sub-team) whose records they see. Otherwise 404."""
    team = Team.objects.filter(pk=pk).first()
    if team is None:
        raise Http404
    visible = viewer.visible_owner_ids()
    if visible is not None and not (team_members([team.pk])[team.pk] & set(visible)):
        raise Http404
    return Scope("team", team=team)


def rep_scope(viewer: Any, pk: int) -> Scope:
    rep = User.objects.filter(pk=pk).first()
    if rep is None:
        raise Http404
    visible = viewer.visible_owner_ids()
    if visible is not None and rep.pk not in visible:
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


#: (KPI id, label, kind, drill-down list, target metric)
TILES: list[tuple[str, Any, str, str, str | None]] = [
    ("bookings", gettext_lazy("Bookings"), "money", "won", Target.Metric.BOOKINGS),
    ("collections", gettext_lazy("Collections"), "money", "payments", Target.Metric.COLLECTIONS),
    ("won_deals", gettext_lazy("Won deals"), "count", "won", Target.Metric.WON_DEALS),
    ("avg_deal_size", gettext_lazy("Average deal size"), "money", "won", None),
    ("win_rate", gettext_lazy("Win rate"), "rate", "closed", None),
    ("sales_cycle_median", gettext_lazy("Sales cycle (median days)"), "days", "won", None),
    (
        "new_customers",
        gettext_lazy("New customers"),
        "count",
        "new_customers",
        Target.Metric.NEW_CUSTOMERS,
    ),
    ("open_pipeline", gettext_lazy("Open pipeline"), "money", "open", None),
    ("weighted_pipeline", gettext_lazy("Weighted pipeline"), "money", "open", None),
]


def show(kind: str, value: Any, currency: str) -> str:
    if value is None:
        return "—"
    if kind == "money":
        return format_money(value, currency)
    if kind == "rate":
        # percent() cuts digits off; a rate shows rounded (2/3 → 66.7%)
        return percent(round(Decimal(str(value)), 3), 1)
    if kind == "days":
        return format_number(value, 1)
    return format_number(value, 0)


def change(kind: str, now: Any, before: Any) -> tuple[str, str]:
    """(text, "up"/"down"/"") of the change from `before` to `now`: points for rates,
    a relative change otherwise; "—" when either is undefined or `before` is zero."""
    if now is None or before is None:
        return "—", ""
    a, b = Decimal(str(now)), Decimal(str(before))
    if kind == "rate":
        diff = round((a - b) * 100, 1)
        text = _("%(sign)s%(points)s pt") % {
            "sign": "+" if diff > 0 else "",
            "points": format_number(diff, 1),
        }
    else:
        if b == 0:
            return "—", ""
        diff = round((a - b) / abs(b) * 100, 1)
        text = f"{'+' if diff > 0 else ''}{format_number(diff, 1)}%"
    return text, "up" if diff > 0 else "down" if diff < 0 else ""


def scope_target(viewer: Any, scope: Scope, metric: str, period: Period) -> Decimal | None:
    """The viewer-visible target of the scope's person or team set for exactly `period`."""
    if scope.kind == "org":
        return None
    qs = Target.objects.visible_to(viewer).filter(metric=metric, period_start=period.start)
    qs = qs.filter(user=scope.rep) if scope.rep is not None else qs.filter(team=scope.team)
    for t in qs:
        if period_of(t.period_kind, t.period_start) == period:
            return Decimal(t.value)
    return None


def attainment_of(values: dict[str, Any], scope: Scope) -> float | None:
    bookings = (values.get("attainment") or {}).get(Target.Metric.BOOKINGS, {})
    if scope.rep is not None:
        return bookings.get("users", {}).get(str(scope.rep.pk))
    if scope.team is not None:
        return bookings.get("teams", {}).get(str(scope.team.pk))
    return None


def tiles(viewer: Any, scope: Scope, period: Period, currency: str) -> list[dict[str, Any]]:
    ids = [t[0] for t in TILES] + ["attainment"]
    filters = scope.filters()
    runs = {}
    for key, p in (
        ("now", period),
        ("previous", period.previous()),
        ("year", period.year_before()),
    ):
        values, _errors = engine.compute(
            engine.KpiContext(viewer=viewer, period=p, filters=filters), ids
        )
        values["attainment"] = attainment_of(values, scope)
        runs[key] = values
    out = []
    rows = [*TILES, ("attainment", gettext_lazy("Attainment (bookings)"), "rate", "won", None)]
    for kpi_id, label, kind, drill, metric in rows:
        now = runs["now"][kpi_id]
        tile: dict[str, Any] = {
            "id": kpi_id,
            "label": label,
            "text": show(kind, now, currency),
            "url": drill_url(scope, period, drill),
            "compare": [],
        }
        for key, name in (("previous", _("Previous period")), ("year", _("A year before"))):
            before = runs[key][kpi_id]
            delta, direction = change(kind, now, before)
            tile["compare"].append(
                {
                    "label": name,
                    "text": show(kind, before, currency),
                    "delta": delta,
                    "dir": direction,
                }
            )
        target = scope_target(viewer, scope, metric, period) if metric else None
        if target is not None:
            rate = Decimal(str(now)) / target if now is not None and target else None
            tile["compare"].append(
                {
                    "label": _("Target"),
                    "text": show(kind, target, currency),
                    "delta": percent(round(rate, 2), 0) if rate is not None else "—",
                    "dir": "up" if rate is not None and rate >= 1 else "down",
                }
            )
        out.append(tile)
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
        "here": scope.page_url(),
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
