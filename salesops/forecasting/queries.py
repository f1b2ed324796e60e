"""Reads for forecast submissions: forecast periods, who manages whom, who may see and
adjust whose number, the current submissions and the team tree for the roll-up."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salesops.analytics.periods import Period, add_months, parse_period
from salesops.forecasting.models import Deadline, PeriodKind, Submission
from salesops.forecasting.rollup import Numbers, TeamNode
from salesops.org.models import Organisation
from salesops.users.models import Role, Team, User

# -- forecast periods: months and fiscal quarters ------------------------------------------


@dataclass(frozen=True)
class ForecastPeriod:
    kind: str  # PeriodKind
    start: dt.date

    @property
    def end(self) -> dt.date:
        return add_months(self.start, 1 if self.kind == PeriodKind.MONTH else 3)

    @property
    def period(self) -> Period:
        return Period(self.start, self.end, self.label)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        """The text form: 2026-07 for a month, FY2026-Q3 for a fiscal quarter."""
        if self.kind == PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        first = Organisation.get().fiscal_year_start_month
        year = self.start.year if self.start.month >= first else self.start.year - 1
        quarter = ((self.start.month - first) % 12) // 3 + 1
        return f"FY{year}-Q{quarter}"

    def __str__(self) -> str:
        return self.label


def forecast_period(text: str) -> ForecastPeriod:
    """A month (2026-07) or a fiscal quarter (FY2026-Q3; a calendar quarter is accepted
    when it is one); anything else is refused with the forms that exist."""
    first = Organisation.get().fiscal_year_start_month
    p = parse_period(text, fiscal_start_month=first)
    if p.start.day == 1 and p.end == add_months(p.start, 1):
        return ForecastPeriod(PeriodKind.MONTH, p.start)
    if p.start.day == 1 and p.end == add_months(p.start, 3) and (p.start.month - first) % 3 == 0:
        return ForecastPeriod(PeriodKind.QUARTER, p.start)
    raise ValidationError(
        _(
            "Forecasts are made per month or per fiscal quarter: use a month such as "
            "2026-07 or a fiscal quarter such as FY2026-Q3."
        )
    )


def current_periods(today: dt.date) -> list[ForecastPeriod]:
    """The month and the fiscal quarter `today` is in."""
    first = Organisation.get().fiscal_year_start_month
    month = today.replace(day=1)
    offset = (today.month - first) % 3
    return [
        ForecastPeriod(PeriodKind.MONTH, month),
        ForecastPeriod(PeriodKind.QUARTER, add_months(month, -offset)),
    ]


def deadline_of(fp: ForecastPeriod) -> Deadline | None:
    return Deadline.objects.filter(period_kind=fp.kind, period_start=fp.start).first()


# -- who manages whom -------------------------------------------------------------------------


def managed_team_ids(user: Any) -> set[int]:
    """Teams `user` manages, with their sub-teams."""
    paths = list(Team.objects.filter(manager_id=user.pk).values_list("path", flat=True))
    if not paths:
        return set()
    q = Q()
    for path in paths:
        q |= Q(path__startswith=path)
    return set(Team.objects.filter(q).values_list("id", flat=True))


def subordinate_ids(user: Any) -> set[int]:
    """People below `user`: those who report to them (and so on down), and the members
    of the teams they manage and their sub-teams. Never `user` themselves."""
    below: dict[int, list[int]] = defaultdict(list)
    for uid, boss in User.objects.exclude(reports_to=None).values_list("id", "reports_to_id"):
        below[boss].append(uid)
    seen: set[int] = set()
    stack = [user.pk]
    while stack:
        for uid in below.get(stack.pop(), []):
            if uid not in seen:
                seen.add(uid)
                stack.append(uid)
    teams = managed_team_ids(user)
    if teams:
        seen |= set(
            User.objects.filter(Q(team_id__in=teams) | Q(extra_teams__in=teams)).values_list(
                "id", flat=True
            )
        )
    seen.discard(user.pk)
    return seen


def sees_everyone(user: Any) -> bool:
    return bool(user.is_active and user.data_scope == Role.Scope.ALL)


def may_see_person(viewer: Any, person_id: int) -> bool:
    """A person's submissions: their own, their managers', and those who see all data."""
    return person_id == viewer.pk or sees_everyone(viewer) or person_id in subordinate_ids(viewer)


def may_see_team(viewer: Any, team: Team) -> bool:
    return sees_everyone(viewer) or team.pk in managed_team_ids(viewer)


def may_adjust(viewer: Any, person_id: int) -> bool:
    """Only a manager adjusts, and only the people below them."""
    return person_id != viewer.pk and person_id in subordinate_ids(viewer)


# -- submissions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Current:
    """A person's current state for a period: their latest own number, the latest
    override of it (if any) and which one counts."""

    own: Submission | None
    override: Submission | None

    @property
    def effective(self) -> Submission | None:
        """The latest of the two: an override counts until the person submits again."""
        rows = [r for r in (self.own, self.override) if r is not None]
        return max(rows, key=lambda r: (r.submitted_at, r.pk)) if rows else None

    @property
    def numbers(self) -> Numbers | None:
        e = self.effective
        return Numbers(e.commit, e.best_case) if e is not None else None


def history(fp: ForecastPeriod, person_ids: Iterable[int] | None) -> list[Submission]:
    """Submissions of these people (None: everyone) for the period, newest first."""
    qs = Submission.objects.filter(period_kind=fp.kind, period_start=fp.start)
    if person_ids is not None:
        qs = qs.filter(person_id__in=list(person_ids))
    return list(qs.select_related("by", "person", "original").order_by("-submitted_at", "-id"))


def current(fp: ForecastPeriod, person_ids: Iterable[int] | None) -> dict[int, Current]:
    """{person id: Current} for those with any submission (of these people, None:
    everyone), in one query."""
    latest: dict[tuple[int, str], Submission] = {}
    for row in history(fp, person_ids):  # newest first
        latest.setdefault((row.person_id, row.kind), row)
    people = {p for p, _k in latest}
    return {
        p: Current(latest.get((p, Submission.Kind.OWN)), latest.get((p, Submission.Kind.OVERRIDE)))
        for p in people
    }


def team_tree() -> dict[int, TeamNode]:
    """Every team as a node of the roll-up (three small queries)."""
    members: dict[int, list[int]] = defaultdict(list)
    for uid, tid in (
        User.objects.filter(is_active=True).exclude(team=None).values_list("id", "team_id")
    ):
        members[tid].append(uid)
    rows = list(Team.objects.values_list("id", "parent_id", "manager_id"))
    children: dict[int, list[int]] = defaultdict(list)
    for tid, parent, _m in rows:
        if parent is not None:
            children[parent].append(tid)
    return {
        tid: TeamNode(tid, manager, sorted(members[tid]), sorted(children[tid]))
        for tid, _p, manager in rows
    }


def who_submits() -> list[User]:
    """Those expected to submit: active sales reps and active team managers."""
    managers = Team.objects.exclude(manager=None).values("manager_id")
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(role__is_sales_rep=True) | Q(pk__in=managers))
        .order_by("pk")
    )


def not_submitted(fp: ForecastPeriod) -> list[User]:
    done = set(
        Submission.objects.filter(
            period_kind=fp.kind, period_start=fp.start, kind=Submission.Kind.OWN
        ).values_list("person_id", flat=True)
    )
    return [u for u in who_submits() if u.pk not in done]
