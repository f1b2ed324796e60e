"""What the targets grid shows: whose rows (people and teams in a scope the viewer may
see), the twelve months of a calendar or fiscal year, and the targets already set.

Reads only; writes go through `target_services.save_target_grid`. Rows are limited by
the viewer's data scope (`visible_owner_ids`) and targets are read through
`Target.objects.visible_to`, so the grid never shows more than the API would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, NamedTuple

from django.db.models import Q

from salesops.users.models import Role, Target, Team, User
from salesops.users.target_services import WhomChecker

MONTH = Target.PeriodKind.MONTH


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return day.replace(year=year, month=month + 1)


def year_months(year: int, first_month: int = 1) -> list[dt.date]:
    """The first days of the twelve months of a year starting in `first_month`."""
    start = dt.date(year, first_month, 1)
    return [add_months(start, i) for i in range(12)]


def team_choices(viewer: User) -> list[Team]:
    """Teams whose grid the viewer may open: every team for the "all" scope; their own
    teams and sub-teams for team scopes; none for "own" (they see just themselves)."""
    if viewer.visible_owner_ids() is None:
        return list(Team.objects.order_by("path"))
    if viewer.data_scope == Role.Scope.OWN:
        return []
    paths = list(Team.objects.filter(id__in=viewer.team_ids()).values_list("path", flat=True))
    if not paths:
        return []
    q = Q()
    for p in paths:
        q |= Q(path__startswith=p)
    return list(Team.objects.filter(q).order_by("path"))


@dataclass
class Cell:
    """One month of one row: the target (None: not set) and its version (0: none)."""

    start: dt.date
    value: Decimal | None = None
    version: int = 0


@dataclass
class GridRow:
    user: User | None
    team: Team | None
    cells: list[Cell]
    editable: bool
    #: Team rows: the targets of the people rows in the team and its sub-teams, per month.
    member_sums: list[Decimal | None] = field(default_factory=list)
    depth: int = 0

    @cached_property
    def key(self) -> str:
        return f"u{self.user.pk}" if self.user is not None else f"t{self.team.pk}"  # type: ignore[union-attr]

    @property
    def label(self) -> str:
        return str(self.user if self.user is not None else self.team)


class SetTarget(NamedTuple):
    """A target as the grid reads it."""

    user_id: int | None
    team_id: int | None
    period_kind: str
    period_start: dt.date
    value: Decimal
    version: int


@dataclass
class Grid:
    metric: str
    months: list[dt.date]
    team: Team | None
    rows: list[GridRow]
    #: Targets for whole quarters or the whole year, keyed by (row key, kind, start).
    longer: dict[tuple[str, str, dt.date], SetTarget] = field(default_factory=dict)

    @property
    def editable(self) -> bool:
        return any(r.editable for r in self.rows)

    def people(self) -> list[GridRow]:
        return [r for r in self.rows if r.user is not None]


def people_in(viewer: User, team: Team | None) -> list[User]:
    """Active reps of the team and its sub-teams the viewer may see; with no team, the
    reps of the viewer's data scope (just the viewer for the "own" scope)."""
    visible = viewer.visible_owner_ids()
    qs = User.objects.filter(is_active=True)
    if team is not None:
        teams = team.subtree().values_list("id", flat=True)
        qs = qs.filter(Q(team_id__in=teams) | Q(extra_teams__in=teams)).filter(
            role__is_sales_rep=True
        )
    elif visible is None or viewer.data_scope != Role.Scope.OWN:
        qs = qs.filter(Q(role__is_sales_rep=True) | Q(pk=viewer.pk))
    if visible is not None:
        qs = qs.filter(pk__in=list(visible))
    return list(qs.distinct().select_related("team").order_by("team__path", "username"))


def build_grid(*, viewer: User, metric: str, months: list[dt.date], team: Team | None) -> Grid:
    """The grid of `metric` over `months` for the people (and, given a team, the team and
    its sub-teams) in the viewer's scope, with the targets set and their versions."""
    people = people_in(viewer, team)
    teams = list(team.subtree().order_by("path")) if team is not None else []
    whom = WhomChecker(viewer)
    may_write = viewer.has_right("target", "create") or viewer.has_right("target", "edit")
    end = add_months(months[-1], 1)
    # Plain rows, not model instances: a grid of hundreds of people holds thousands.
    targets = [
        SetTarget(*row)
        for row in Target.objects.visible_to(viewer)
        .filter(
            Q(user__in=people) | Q(team__in=teams),
            metric=metric,
            period_start__gte=months[0],
            period_start__lt=end,
        )
        .values_list("user_id", "team_id", "period_kind", "period_start", "value", "version")
    ]
    month_targets: dict[tuple[str, dt.date], SetTarget] = {}
    longer: dict[tuple[str, str, dt.date], SetTarget] = {}
    for st in targets:
        key = f"u{st.user_id}" if st.user_id else f"t{st.team_id}"
        if st.period_kind == MONTH:
            month_targets[(key, st.period_start)] = st
        else:
            longer[(key, st.period_kind, st.period_start)] = st

    def cells(key: str) -> list[Cell]:
        out = []
        for start in months:
            found = month_targets.get((key, start))
            out.append(Cell(start, found.value if found else None, found.version if found else 0))
        return out

    rows = [GridRow(u, None, cells(f"u{u.pk}"), may_write and whom.user_ok(u.pk)) for u in people]
    base_depth = team.path.count(".") if team is not None else 0
    for t in teams:
        subtree = {x.pk for x in teams if x.path.startswith(t.path)}
        members = [
            r for r in rows if r.user is not None and r.user.team_id in subtree and r.team is None
        ]
        sums: list[Decimal | None] = []
        for i in range(len(months)):
            values = [v for m in members if (v := m.cells[i].value) is not None]
            sums.append(sum(values, Decimal(0)) if values else None)
        rows.append(
            GridRow(
                None,
                t,
                cells(f"t{t.pk}"),
                may_write and whom.team_ok(t),
                member_sums=sums,
                depth=t.path.count(".") - base_depth,
            )
        )
    return Grid(metric, months, team, rows, longer)


def resolve_labels(labels: list[str]) -> dict[str, list[Any]]:
    """For each label as typed (a person's username, e-mail or name, or a team's name),
    the users and teams it may mean (active users only)."""
    wanted = {label.strip().casefold() for label in labels if label.strip()}
    out: dict[str, list[Any]] = {w: [] for w in wanted}
    users = User.objects.filter(is_active=True).only(
        "id", "username", "email", "first_name", "last_name", "display_name", "team_id"
    )
    for u in users:
        names = {u.username, u.email, u.display_name, u.get_full_name(), str(u)}
        for n in {n.strip().casefold() for n in names if n and n.strip()}:
            if n in out:
                out[n].append(u)
    for t in Team.objects.all():
        n = t.name.strip().casefold()
        if n in out and not out[n]:
            out[n].append(t)
    return out


def version_of(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0
