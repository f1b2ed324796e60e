"""Writes to subscriptions. Every recipient must be allowed to open what is sent (the
content is computed as each of them at sending time, so nobody ever receives someone
else's numbers; this check stops a subscription that would send a recipient a
dashboard or report they may not open)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.analytics import dashboard
from salesops.audit import services as audit
from salesops.lib.services import NotVisible
from salesops.reports.models import SavedReport
from salesops.subscriptions.models import Subscription
from salesops.users.models import Team, User

#: The fields a subscriber sets (everything else is the system's).
FIELDS = (
    "name",
    "what",
    "team",
    "rep",
    "report",
    "period",
    "cadence",
    "weekday",
    "day_of_month",
    "hour",
    "is_active",
)
SCHEDULE_FIELDS = ("cadence", "weekday", "day_of_month", "hour")


def content_problem(sub: Subscription, user: Any) -> str | None:
    """Why `user` may not receive `sub`'s content, or None when they may."""
    if not user.is_active:
        return _("%(user)s is no longer active.") % {"user": user}
    if not user.email:
        return _("%(user)s has no e-mail address.") % {"user": user}
    return can_open_problem(sub, user)


def can_open_problem(sub: Subscription, user: Any) -> str | None:
    """Why `user` may not open what `sub` sends (the dashboard or the report), or None."""
    if sub.what == Subscription.What.REPORT:
        report = sub.report
        if report is None or not (
            SavedReport.objects.visible_to(user).filter(pk=report.pk).exists()
            and user.has_right(report.object_type, "view")
        ):
            return _("%(user)s may not open the report “%(name)s”.") % {
                "user": user,
                "name": report.name if report is not None else "",
            }
        return None
    if not user.has_right("deal", "view"):
        return _("%(user)s may not see dashboards.") % {"user": user}
    scope = dashboard.Scope(sub.what, team=sub.team, rep=sub.rep)
    if not dashboard.can_see(user, scope):
        return _("%(user)s may not see the dashboard of %(scope)s.") % {
            "user": user,
            "scope": scope.title,
        }
    return None


def _check(sub: Subscription, recipients: list[User], *, user: Any) -> None:
    errors: dict[str, list[str]] = {}
    try:
        sub.full_clean(exclude=["owner"])
    except ValidationError as e:
        errors.update(e.message_dict)
    if sub.what == Subscription.What.TEAM and sub.team_id is None:
        errors.setdefault("team", []).append(_("Choose the team."))
    if sub.what == Subscription.What.REP and sub.rep_id is None:
        errors.setdefault("rep", []).append(_("Choose the rep."))
    if sub.what == Subscription.What.REPORT and sub.report_id is None:
        errors.setdefault("report", []).append(_("Choose the report."))
    if not errors:
        if can_open_problem(sub, user) is not None:
            errors["what"] = [_("You may not open this yourself.")]
        if not recipients:
            errors["recipients"] = [_("Choose at least one recipient.")]
        for person in recipients:
            problem = content_problem(sub, person)
            if problem is not None:
                errors.setdefault("recipients", []).append(problem)
    if errors:
        raise ValidationError(errors)


def _apply(sub: Subscription, values: dict[str, Any]) -> None:
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be set: %(names)s.") % {"names": ", ".join(sorted(unknown))}
        )
    for key, value in values.items():
        setattr(sub, key, value)
    if sub.what != Subscription.What.TEAM:
        sub.team = None
    if sub.what != Subscription.What.REP:
        sub.rep = None
    if sub.what != Subscription.What.REPORT:
        sub.report = None


@transaction.atomic
def create_subscription(*, user: Any, recipients: list[User], **values: Any) -> Subscription:
    """A new subscription of `user` (the subscriber); ValidationError per field."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionDenied(_("Sign in first."))
    sub = Subscription(owner=user)
    _apply(sub, values)
    _check(sub, recipients, user=user)
    sub.schedule_from = timezone.now()
    sub.save()
    sub.recipients.set(recipients)
    audit.record(
        by=user,
        obj=sub,
        action=audit.Action.CREATED,
        changes=audit.values(sub, [*values, "recipients"]),
    )
    return sub


def get_subscription(*, user: Any, pk: int) -> Subscription:
    sub = Subscription.objects.visible_to(user).filter(pk=pk).first()
    if sub is None:
        raise NotVisible(_("This subscription does not exist or you may not see it."))
    return sub


@transaction.atomic
def update_subscription(
    *, user: Any, subscription: Subscription, recipients: list[User], **values: Any
) -> Subscription:
    sub = get_subscription(user=user, pk=subscription.pk)
    shot = audit.snapshot(sub, [*values, "recipients"])
    before = {f: getattr(sub, f) for f in SCHEDULE_FIELDS}
    _apply(sub, values)
    _check(sub, recipients, user=sub.owner)
    if any(getattr(sub, f) != before[f] for f in SCHEDULE_FIELDS):
        # A new schedule starts now: a slot of it that is already past is not sent.
        sub.schedule_from = timezone.now()
    sub.save()
    sub.recipients.set(recipients)
    audit.record(by=user, obj=sub, action=audit.Action.UPDATED, changes=shot.changes(sub))
    return sub


@transaction.atomic
def set_active(*, user: Any, subscription: Subscription, active: bool) -> Subscription:
    """Pause or resume. Resuming does not send the slots missed while paused."""
    sub = get_subscription(user=user, pk=subscription.pk)
    if sub.is_active != active:
        sub.is_active = active
        if active:
            sub.schedule_from = timezone.now()
        sub.save(update_fields=["is_active", "schedule_from", "updated_at"])
        audit.record(
            by=user,
            obj=sub,
            action=audit.Action.UPDATED,
            changes={"is_active": {"old": not active, "new": active}},
        )
    return sub


@transaction.atomic
def delete_subscription(*, user: Any, subscription: Subscription) -> None:
    sub = get_subscription(user=user, pk=subscription.pk)
    audit.record(by=user, obj=sub, action=audit.Action.DELETED)
    sub.delete()


def team_choices(user: Any) -> list[Team]:
    """Teams whose dashboard `user` may open."""
    return [t for t in Team.objects.order_by("path") if dashboard.can_see_team(user, t)]
