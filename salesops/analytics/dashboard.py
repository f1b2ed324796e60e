"""The numbers of a dashboard (the organisation, a team with its sub-teams, or a rep):
KPI tiles for a period, each compared with the previous period, the same period a year
before and the target. Pages and e-mailed subscriptions both call `tiles`, so a number
is computed one way wherever it is shown.

Everything is computed as the viewer (the KPI engine goes through `visible_to`), so
their data scope always applies. `can_see_team` / `can_see_rep` say whether a viewer may
look at that dashboard at all; interfaces answer 404 (pages) or refuse (forms) when not.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.analytics import engine
from salesops.analytics.display import format_money, format_number, format_percent
from salesops.analytics.kpis import WITHHELD_NOTE, period_of, team_members, withheld
from salesops.analytics.models import DashboardLayout
from salesops.analytics.periods import Period
from salesops.pipeline.models import Pipeline
from salesops.users.models import Target, Team, User

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

    @property
    def title(self) -> str:
        if self.team is not None:
            return _("Team %(name)s") % {"name": self.team.name}
        if self.rep is not None:
            return str(self.rep)
        return _("Organisation")


def can_see_team(viewer: Any, team: Team) -> bool:
    """Everyone's data, or a member of the team (or of a sub-team) whose records they see."""
    visible = viewer.visible_owner_ids()
    return visible is None or bool(team_members([team.pk])[team.pk] & set(visible))


def can_see_rep(viewer: Any, rep: User) -> bool:
    visible = viewer.visible_owner_ids()
    return visible is None or rep.pk in visible


def can_see(viewer: Any, scope: Scope) -> bool:
    """May `viewer` look at this dashboard (their own data scope decides its numbers)?"""
    if scope.team is not None:
        return can_see_team(viewer, scope.team)
    if scope.rep is not None:
        return can_see_rep(viewer, scope.rep)
    return True


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
ATTAINMENT = ("attainment", gettext_lazy("Attainment (bookings)"), "rate", "won", None)
#: The charts (`web/views/dashboard_charts.py` computes them): id -> title.
CHARTS: dict[str, Any] = {
    "trend": gettext_lazy("Bookings and collections by month"),
    "funnel": gettext_lazy("Funnel: stage conversion"),
    "win_rate": gettext_lazy("Win rate by month"),
    "cycle": gettext_lazy("Sales cycle (days from created to won)"),
    "leaderboard": gettext_lazy("Leaderboard: bookings by rep"),
    "gauges": gettext_lazy("Target attainment"),
    "pipeline_stage": gettext_lazy("Open pipeline by stage"),
    "pipeline_month": gettext_lazy("Open pipeline by expected-close month"),
    "heatmap": gettext_lazy("Touchpoints per rep per day"),
}
#: The tiles: id -> label.
TILE_LABELS: dict[str, Any] = {t[0]: t[1] for t in [*TILES, ATTAINMENT]}


# -- which tiles and charts, in which order ------------------------------------------------


@dataclass(frozen=True)
class Layout:
    tiles: tuple[str, ...]
    charts: tuple[str, ...]


DEFAULT_LAYOUT = Layout(tuple(TILE_LABELS), tuple(CHARTS))


def layout() -> Layout:
    """The organisation's dashboard layout (ids it no longer knows left out)."""
    row = DashboardLayout.objects.filter(pk=1).first()
    if row is None:
        return DEFAULT_LAYOUT
    return Layout(
        tuple(t for t in row.tiles or [] if t in TILE_LABELS),
        tuple(c for c in row.charts or [] if c in CHARTS),
    )


def check_layout(tiles: list[str], charts: list[str]) -> Layout:
    """A layout from ids; ValidationError naming an unknown or repeated one, or when
    nothing at all would show."""
    errors: dict[str, list[str]] = {}
    for key, ids, known in (("tiles", tiles, TILE_LABELS), ("charts", charts, CHARTS)):
        for i, value in enumerate(ids):
            if value not in known:
                errors.setdefault(key, []).append(
                    _("There is no “%(id)s”; choose from %(known)s.")
                    % {"id": value, "known": ", ".join(known)}
                )
            elif value in ids[:i]:
                errors.setdefault(key, []).append(
                    _("“%(id)s” is listed twice; list it once.") % {"id": value}
                )
    if not tiles and not charts:
        errors["tiles"] = [_("Choose at least one tile or chart to show.")]
    if errors:
        raise ValidationError(errors)
    return Layout(tuple(tiles), tuple(charts))


def show(kind: str, value: Any, currency: str) -> str:
    if value is None:
        return "—"
    if kind == "money":
        return format_money(value, currency)
    if kind == "rate":
        # format_percent cuts digits off; a rate shows rounded (2/3 → 66.7%)
        return format_percent(round(Decimal(str(value)), 3), 1)
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
    """The layout's tiles in its order: id, label, kind, drill (the drill-down list that holds the
    records behind the number), value and its text, and comparisons (label, value, text,
    delta, dir) with the previous period, a year before and, when set, the target. A
    figure that reads a field hidden from the viewer is "—" with a `note`, and no
    comparisons."""
    specs = {t[0]: t for t in [*TILES, ATTAINMENT]}
    chosen = [specs[i] for i in layout().tiles]
    if not chosen:
        return []
    ids = [t[0] for t in chosen]
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
    # the attainment tile is the bookings target's
    figure = {ATTAINMENT[0]: Target.Metric.BOOKINGS}
    hidden = withheld(viewer, {figure.get(i, i) for i in ids})
    out = []
    for kpi_id, label, kind, drill, metric in chosen:
        now = runs["now"][kpi_id]
        tile: dict[str, Any] = {
            "id": kpi_id,
            "label": label,
            "kind": kind,
            "drill": drill,
            "value": now,
            "text": show(kind, now, currency),
            "compare": [],
        }
        if figure.get(kpi_id, kpi_id) in hidden:
            tile.update(value=None, text="—", note=str(WITHHELD_NOTE))
            out.append(tile)
            continue
        for key, name in (("previous", _("Previous period")), ("year", _("A year before"))):
            before = runs[key][kpi_id]
            delta, direction = change(kind, now, before)
            tile["compare"].append(
                {
                    "key": key,
                    "label": name,
                    "value": before,
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
                    "key": "target",
                    "label": _("Target"),
                    "value": target,
                    "text": show(kind, target, currency),
                    "delta": format_percent(round(rate, 2), 0) if rate is not None else "—",
                    "dir": "up" if rate is not None and rate >= 1 else "down",
                }
            )
        out.append(tile)
    return out
