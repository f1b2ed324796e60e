"""Writes on targets (业绩目标): the only write path for them.

A target is for one person or one team. `by` may set targets for people in their data
scope and for their own teams and those teams' sub-teams (everyone's with the "all"
scope), given the role's right on targets.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from salesops.lib.services import ensure_can, ensure_right
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
    return target
