"""Writes on targets (业绩目标): the only write path for them.

A target is for one person or one team. `by` may set targets for people in their data
scope and for their own teams and those teams' sub-teams (everyone's with the "all"
scope), given the role's right on targets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.audit import services as audit
from salesops.lib.services import RIGHT_VERBS, ensure_can, ensure_right
from salesops.lib.updates import check_fields, check_version
from salesops.users.models import Target, Team, User


def _check_whom(by: User, user: User | None, team: Team | None) -> None:
    if (user is None) == (team is None):
        raise ValidationError(_("A target is for one person or for one team; give exactly one."))
    visible = by.visible_owner_ids()
    if user is not None:
        if visible is not None and user.pk not in visible:
            raise ValidationError(
                {"user": _("You may only set targets for people in your data scope.")}
            )
        return
    assert team is not None
    if visible is None:
        return
    own_paths = list(Team.objects.filter(id__in=by.team_ids()).values_list("path", flat=True))
    if not any(team.path.startswith(p) for p in own_paths):
        raise ValidationError(
            {"team": _("You may only set targets for your own teams and their sub-teams.")}
        )


def _check_start(kind: str, start: dt.date) -> None:
    ok = start.day == 1 and (
        kind == Target.PeriodKind.MONTH
        or (kind == Target.PeriodKind.QUARTER and start.month in (1, 4, 7, 10))
        or (kind == Target.PeriodKind.YEAR)
    )
    if not ok:
        raise ValidationError(
            {
                "period_start": _("A %(kind)s target starts on the first day of its %(kind)s.")
                % {"kind": kind}
            }
        )


def _value(raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValidationError(
            {"value": _("Enter the target as a number, such as 500000.")}
        ) from None
    if not value.is_finite() or value < 0:
        raise ValidationError({"value": _("The target cannot be negative.")})
    return value


def _check_duplicate(target: Target) -> None:
    qs = Target.objects.filter(
        metric=target.metric, period_kind=target.period_kind, period_start=target.period_start
    ).exclude(pk=target.pk)
    qs = qs.filter(user=target.user) if target.user_id else qs.filter(team=target.team)
    if qs.exists():
        raise ValidationError(_("There is already such a target for this period; change that one."))


@transaction.atomic
def create_target(
    *,
    by: User,
    metric: str,
    period_kind: str,
    period_start: dt.date,
    value: Decimal | int | str,
    user: User | None = None,
    team: Team | None = None,
) -> Target:
    ensure_right(by, "target", "create")
    _check_whom(by, user, team)
    _check_start(period_kind, period_start)
    target = Target(
        user=user,
        team=team,
        metric=metric,
        period_kind=period_kind,
        period_start=period_start,
        value=_value(value),
    )
    target.full_clean(validate_unique=False, validate_constraints=False)
    _check_duplicate(target)
    target.save()
    audit.record(by=by, obj=target, action=audit.Action.CREATED)
    return target


@transaction.atomic
def update_target(
    *, target: Target, by: User, data: dict[str, Any], version: int | None = None
) -> Target:
    """Change the value (or metric and period) of a target; whom it is for is fixed."""
    ensure_can(by, target, "edit")
    target = Target.objects.select_for_update().get(pk=target.pk)
    check_version(target, version)
    check_fields(data, {"metric", "period_kind", "period_start", "value"})
    shot = audit.snapshot(target, ["metric", "period_kind", "period_start", "value"])
    if "value" in data:
        target.value = _value(data["value"])
    for name in ("metric", "period_kind", "period_start"):
        if name in data:
            setattr(target, name, data[name])
    _check_start(target.period_kind, target.period_start)
    target.full_clean(validate_unique=False, validate_constraints=False)
    _check_duplicate(target)
    target.version += 1
    target.save()
    audit.record(by=by, obj=target, action=audit.Action.UPDATED, changes=shot.changes(target))
    return target


# -- the targets grid: many cells in one all-or-nothing save -----------------------------------

#: Metrics counted in whole units (the others are money).
COUNT_METRICS = frozenset(
    {Target.Metric.NEW_CUSTOMERS, Target.Metric.WON_DEALS, Target.Metric.FOLLOWUPS}
)


@dataclass(frozen=True)
class GridCell:
    """One cell of the targets grid: whose target, which metric and period, the value
    wanted (None: remove the target) and the target's version when the person loaded it
    (0: there was no target then). `key` names the cell in errors."""

    key: str
    metric: str
    period_kind: str
    period_start: dt.date
    value: Decimal | None
    user_id: int | None = None
    team_id: int | None = None
    version: int = 0


class GridRejected(Exception):
    """Nothing was saved: `errors` maps cell keys to a message for the person;
    `conflicts` are the keys changed by someone else since they were loaded."""

    def __init__(self, errors: dict[str, str], conflicts: set[str]) -> None:
        super().__init__(errors)
        self.errors = errors
        self.conflicts = conflicts


class WhomChecker:
    """`_check_whom` for many rows with its look-ups done once."""

    def __init__(self, by: User) -> None:
        self.visible = by.visible_owner_ids()
        self.own_paths = (
            []
            if self.visible is None
            else list(Team.objects.filter(id__in=by.team_ids()).values_list("path", flat=True))
        )

    def user_ok(self, user_id: int) -> bool:
        return self.visible is None or user_id in self.visible

    def team_ok(self, team: Team) -> bool:
        return self.visible is None or any(team.path.startswith(p) for p in self.own_paths)


def _grid_value(cell: GridCell) -> Decimal | None:
    if cell.value is None:
        return None
    value = _value(cell.value)
    if cell.metric in COUNT_METRICS and value != value.to_integral_value():
        raise ValidationError({"value": _("This target counts things; enter a whole number.")})
    return value


def _message(error: ValidationError) -> str:
    return " ".join(str(m) for m in error.messages)


def _grid_locked(cells: list[GridCell]) -> dict[tuple[Any, ...], Target]:
    """The alive targets the cells name, locked until the end of the transaction."""
    qs = Target.objects.select_for_update().filter(
        metric__in={c.metric for c in cells},
        period_kind__in={c.period_kind for c in cells},
        period_start__in={c.period_start for c in cells},
    )
    users = {c.user_id for c in cells if c.user_id}
    teams = {c.team_id for c in cells if c.team_id}
    qs = qs.filter(Q(user_id__in=users) | Q(team_id__in=teams))
    return {(t.user_id, t.team_id, t.metric, t.period_kind, t.period_start): t for t in qs}


@transaction.atomic
def save_target_grid(
    *, by: User, cells: list[GridCell], dry_run: bool = False
) -> dict[str, Target | None]:
    """Save many cells of the targets grid, all or nothing.

    Each cell is checked like `create_target` / `update_target` (role right, whom it
    is for, period start, value) plus a version check against lost updates: a target
    created, changed or removed by someone else since the person loaded it is a
    conflict on that cell. Any error or conflict: GridRejected and nothing is written.
    Returns {cell key: the target saved, or None when it was removed}; `dry_run` checks
    everything and writes nothing (a preview)."""
    ensure_right(by, "target", "view")
    if not cells:
        return {}
    whom = WhomChecker(by)
    users = User.objects.in_bulk({c.user_id for c in cells if c.user_id})
    teams = Team.objects.in_bulk({c.team_id for c in cells if c.team_id})
    existing = _grid_locked(cells)
    errors: dict[str, str] = {}
    conflicts: set[str] = set()
    plan: list[tuple[GridCell, Target | None, Decimal | None]] = []
    for cell in cells:
        try:
            if (cell.user_id is None) == (cell.team_id is None):
                raise ValidationError(
                    _("A target is for one person or for one team; give exactly one.")
                )
            if cell.user_id is not None and (
                cell.user_id not in users or not whom.user_ok(cell.user_id)
            ):
                raise ValidationError(_("You may only set targets for people in your data scope."))
            team = teams.get(cell.team_id) if cell.team_id is not None else None
            if cell.team_id is not None and (team is None or not whom.team_ok(team)):
                raise ValidationError(
                    _("You may only set targets for your own teams and their sub-teams.")
                )
            if cell.metric not in Target.Metric.values:
                raise ValidationError(_("Unknown metric."))
            if cell.period_kind not in Target.PeriodKind.values:
                raise ValidationError(_("Unknown period."))
            _check_start(cell.period_kind, cell.period_start)
            value = _grid_value(cell)
            key = (cell.user_id, cell.team_id, cell.metric, cell.period_kind, cell.period_start)
            target = existing.get(key)
            if (target.version if target else 0) != cell.version:
                conflicts.add(cell.key)
                errors[cell.key] = str(
                    _(
                        "Someone else changed this target after you opened the grid "
                        "(now: %(now)s). Reload, then make your change again."
                    )
                    % {"now": target.value if target else "—"}
                )
                continue
            right = "create" if target is None else "delete" if value is None else "edit"
            if not by.has_right("target", right):
                raise ValidationError(
                    _("Your role does not allow you to %(right)s targets.")
                    % {"right": RIGHT_VERBS[right]}
                )
            plan.append((cell, target, value))
        except ValidationError as e:
            errors[cell.key] = _message(e)
    if errors:
        raise GridRejected(errors, conflicts)
    if dry_run:
        return {cell.key: target for cell, target, _v in plan}
    return _write_grid(by, plan)


def _write_grid(
    by: User, plan: list[tuple[GridCell, Target | None, Decimal | None]]
) -> dict[str, Any]:
    now = timezone.now()
    before: dict[int, str] = {}
    saved: dict[str, Target | None] = {}
    new: list[Target] = []
    changed: list[Target] = []
    for cell, target, value in plan:
        if target is None:
            if value is None:
                saved[cell.key] = None
                continue
            target = Target(
                user_id=cell.user_id,
                team_id=cell.team_id,
                metric=cell.metric,
                period_kind=cell.period_kind,
                period_start=cell.period_start,
                value=value,
            )
            new.append(target)
        elif value is None:
            before[target.pk] = audit.plain(target.value)
            target.deleted_at = now
            target.version += 1
            target.updated_at = now
            changed.append(target)
            saved[cell.key] = None
            continue
        else:
            before[target.pk] = audit.plain(target.value)
            target.value = value
            target.version += 1
            target.updated_at = now
            changed.append(target)
        saved[cell.key] = target
    try:
        with transaction.atomic():
            Target.objects.bulk_create(new)
    except IntegrityError:
        # Someone created one of these targets since we looked (no row to lock then).
        message = str(
            _("Someone else set this target after you opened the grid. Reload, then retry.")
        )
        keys = {c.key for c, t, v in plan if t is None and v is not None}
        raise GridRejected(dict.fromkeys(keys, message), keys) from None
    Target.all_objects.bulk_update(changed, ["value", "version", "updated_at", "deleted_at"])
    audit.record_many(by=by, objs=new, action=audit.Action.CREATED, at=now)
    removed = [t for t in changed if t.deleted_at is not None]
    audit.record_many(by=by, objs=removed, action=audit.Action.DELETED, at=now)
    audit.record_many(
        by=by,
        objs=[t for t in changed if t.deleted_at is None],
        action=audit.Action.UPDATED,
        changes=lambda t: {"value": {"old": before[t.pk], "new": audit.plain(t.value)}},
        at=now,
    )
    return saved
