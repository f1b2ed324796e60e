"""What a forecast page (web) and the forecast endpoint (API) show, computed once: the
figures of a rep, a team or the organisation for a period (the forecast KPIs), the
bookings target and the gap, and the submissions with their roll-up.

A few aggregate queries whatever the number of deals: the KPIs' grouped sums, one
grouped query per owner for the rows, one for the submissions, three for the team tree.
A viewer from whom the deal amount is hidden gets no figure (withheld), and no
submitted number either (they are amounts of deals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.http import Http404

from salesops.analytics import kpis as base
from salesops.analytics.engine import Filters, KpiContext, compute
from salesops.forecasting import kpis as fk
from salesops.forecasting import queries as fq
from salesops.forecasting.rollup import Numbers, gap, team_number
from salesops.users.models import Target, Team, User

KPI_IDS = ["bookings", *fk.KPI_IDS]


@dataclass
class Scope:
    kind: str  # "rep", "team", "org"
    person: User | None = None
    team: Team | None = None

    def filters(self) -> Filters:
        return Filters(owner=self.person, team=self.team)

    def params(self) -> dict[str, Any]:
        if self.kind == "rep" and self.person is not None:
            return {"person": self.person.pk}
        if self.kind == "team" and self.team is not None:
            return {"team": self.team.pk}
        return {"org": 1}

    @property
    def title(self) -> str:
        if self.person is not None:
            return str(self.person)
        if self.team is not None:
            return str(self.team)
        return ""


def resolve_scope(viewer: Any, *, person: int | None, team: int | None, org: bool) -> Scope:
    """The page asked for, if the viewer may see it (else Http404: nothing leaks); with
    nothing asked: the organisation for those who see all, else the team they manage,
    else their own."""
    if person is not None:
        if not fq.may_see_person(viewer, person):
            raise Http404
        user = User.objects.filter(pk=person).first()
        if user is None:
            raise Http404
        return Scope("rep", person=user)
    if team is not None:
        found = Team.objects.filter(pk=team).first()
        if found is None or not fq.may_see_team(viewer, found):
            raise Http404
        return Scope("team", team=found)
    if org:
        if not fq.sees_everyone(viewer):
            raise Http404
        return Scope("org")
    if fq.sees_everyone(viewer):
        return Scope("org")
    managed = Team.objects.filter(manager_id=viewer.pk).order_by("path").first()
    if managed is not None:
        return Scope("team", team=managed)
    return Scope("rep", person=viewer)


@dataclass
class PersonRow:
    person: User
    system: fk.Figures | None
    own: Any  # Submission | None
    override: Any
    effective: Any
    can_override: bool


@dataclass
class TeamRow:
    team: Team
    number: Numbers | None


@dataclass
class Forecast:
    scope: Scope
    period: fq.ForecastPeriod
    currency: str
    withheld: bool
    figures: dict[str, Decimal | None]
    errors: dict[str, str]
    target: Decimal | None
    gap: Decimal | None
    people: list[PersonRow] = field(default_factory=list)
    teams: list[TeamRow] = field(default_factory=list)
    #: the scope's own number: the person's effective one, or the team's roll-up
    number: Numbers | None = None
    history: list[Any] = field(default_factory=list)
    can_submit: bool = False


def _people_of(scope: Scope) -> list[User]:
    """Whose submissions the page lists: the person; a team's own members and its
    manager's direct reports (the manager's number is the team's, shown on top);
    everyone expected to submit."""
    if scope.kind == "rep" and scope.person is not None:
        return [scope.person]
    if scope.kind == "team" and scope.team is not None:
        manager = scope.team.manager_id or 0
        return list(
            User.objects.filter(Q(team=scope.team) | Q(reports_to_id=manager), is_active=True)
            .exclude(pk=manager)
            .order_by("username")
        )
    return fq.who_submits()


def _target(ctx: KpiContext, scope: Scope) -> Decimal | None:
    metric = Target.Metric.BOOKINGS
    if scope.person is not None:
        return base.target_for(ctx, metric, ctx.period, user=scope.person)
    if scope.team is not None:
        return base.target_for(ctx, metric, ctx.period, team=scope.team)
    roots = [
        base.target_for(ctx, metric, ctx.period, team=t) for t in Team.objects.filter(parent=None)
    ]
    found = [t for t in roots if t is not None]
    return sum(found, Decimal(0)) if found else None


def build(viewer: Any, scope: Scope, period: fq.ForecastPeriod) -> Forecast:
    ctx = KpiContext(viewer=viewer, period=period.period, filters=scope.filters())
    values, errors = compute(ctx, KPI_IDS)
    hidden = bool(base.withheld(viewer, fk.KPI_IDS))
    figures = {k: (None if v is None else Decimal(v)) for k, v in values.items()}
    target = (
        None if hidden or "bookings" in base.withheld(viewer, ["bookings"]) else _target(ctx, scope)
    )
    out = Forecast(
        scope=scope,
        period=period,
        currency=str(ctx.org.base_currency_id),
        withheld=hidden,
        figures=figures,
        errors=errors,
        target=target,
        gap=gap(target, figures.get("forecast_commit")),
    )
    people = _people_of(scope)
    tree = fq.team_tree() if scope.kind != "rep" else {}
    if scope.kind == "rep" and scope.person is not None:
        states = fq.current(period, [scope.person.pk])
        children: list[int] = []
    elif scope.kind == "team" and scope.team is not None:
        states = fq.current(period, _subtree_people(tree, [scope.team.pk]))
        children = list(tree[scope.team.pk].child_ids)
    else:
        states = fq.current(period, None)
        children = sorted(t for t in tree if not _has_parent(tree, t))
    per_owner = {} if hidden else fk.figures(ctx, by_owner=True)
    below = fq.subordinate_ids(viewer)
    for person in people:
        state = states.get(person.pk)
        if scope.kind == "org" and state is None:
            continue
        out.people.append(
            PersonRow(
                person=person,
                system=per_owner.get(person.pk),
                own=state.own if state else None,
                override=state.override if state else None,
                effective=state.effective if state else None,
                can_override=person.pk in below,
            )
        )
    numbers = {pid: s.numbers for pid, s in states.items() if s.numbers is not None}
    if scope.kind == "rep" and scope.person is not None:
        out.number = numbers.get(scope.person.pk)
        out.history = fq.history(period, [scope.person.pk])
        out.can_submit = scope.person.pk == viewer.pk
    elif scope.kind == "team" and scope.team is not None:
        out.number = team_number(scope.team.pk, tree, numbers)
        out.can_submit = scope.team.manager_id == viewer.pk
    else:
        roots = [team_number(t, tree, numbers) for t in children]
        found = [n for n in roots if n is not None]
        out.number = sum(found[1:], found[0]) if found else None
    teams = {t.pk: t for t in Team.objects.filter(pk__in=children)}
    out.teams = [TeamRow(teams[c], team_number(c, tree, numbers)) for c in children if c in teams]
    if hidden:
        out.number = None
        out.teams = [TeamRow(r.team, None) for r in out.teams]
    return out


def _has_parent(tree: dict[int, Any], team_id: int) -> bool:
    return any(team_id in node.child_ids for node in tree.values())


def _subtree_people(tree: dict[int, Any], roots: list[int]) -> list[int]:
    out: list[int] = []
    stack = list(roots)
    while stack:
        node = tree[stack.pop()]
        out.extend(node.member_ids)
        if node.manager_id:
            out.append(node.manager_id)
        stack.extend(node.child_ids)
    return out
