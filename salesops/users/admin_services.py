"""Writes for the organisation's set-up from the app: its settings, people, teams,
roles and holiday calendar (administrators only), and a person's own language.

Same contract as the other services: keyword-only, atomic, and a refusal
(ValidationError with a message per field, PermissionDenied) writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

from salesops.audit import services as audit
from salesops.lib.updates import apply, check_fields
from salesops.org.models import Currency, Holiday, Organisation
from salesops.users.models import OBJECT_TYPES, RIGHTS, RIGHTS_KEY, Role, Target, Team, User

#: Sent inside the transaction that deactivates a person (`user=`), so that what hangs
#: on them in higher layers (the API's tokens) stops with them, or nothing changes.
user_deactivated = Signal()


def is_admin(user: Any) -> bool:
    """`User.is_org_admin` for anyone, signed in or not (None and anonymous: no)."""
    return bool(user is not None and user.is_authenticated and user.is_org_admin())


def ensure_admin(user: Any) -> None:
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionDenied(_("Sign in first."))
    if not is_admin(user):
        raise PermissionDenied(_("Only an administrator may change the organisation's set-up."))


def set_language(*, user: User, language: str) -> None:
    """Remember the language a person reads the app in."""
    if language not in {code for code, _name in settings.LANGUAGES}:
        raise ValidationError({"language": _("Choose Simplified Chinese or English.")})
    if user.language != language:
        changes = {"language": {"old": user.language, "new": language}}
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language
        audit.record(by=user, obj=user, action=audit.Action.UPDATED, changes=changes)


ORG_FIELDS = {
    "name",
    "base_currency",
    "time_zone",
    "fiscal_year_start_month",
    "locale",
    "activity_window_days",
    "gross_margin",
    "require_admin_two_factor",
    "recycle_retention_days",
}


@transaction.atomic
def update_organisation(*, by: User, data: dict[str, Any]) -> Organisation:
    ensure_admin(by)
    check_fields(data, ORG_FIELDS)
    org = Organisation.objects.select_for_update().get(pk=Organisation.get().pk)
    shot = audit.snapshot(org, data)
    apply(org, data)
    org.full_clean(validate_unique=False, validate_constraints=False)
    org.save()
    audit.record_saved(by=by, obj=org, shot=shot, created=False)
    return org


USER_FIELDS = {
    "username",
    "display_name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "language",
    "team",
    "reports_to",
    "role",
    "is_active",
}


@transaction.atomic
def save_user(
    *,
    by: User,
    data: dict[str, Any],
    user: User | None = None,
    password: str = "",
    invite: bool = False,
) -> User:
    """Create (no `user`) or change a person. A new person needs a password, unless
    `invite` (they choose it from an invitation: `account_services.invite_user`); an
    administrator cannot deactivate or demote themselves (someone must stay in charge)."""
    ensure_admin(by)
    check_fields(data, USER_FIELDS)
    target = User() if user is None else User.objects.select_for_update().get(pk=user.pk)
    was_active = target.pk is not None and target.is_active
    shot = audit.snapshot(target, data)
    apply(target, data)
    if target.pk == by.pk and (not target.is_active or not is_admin(target)):
        raise ValidationError(
            _("You cannot deactivate yourself or take away your own administrator role.")
        )
    if target.reports_to_id is not None and target.reports_to_id == target.pk:
        raise ValidationError({"reports_to": _("A person cannot report to themselves.")})
    if not target.username:
        raise ValidationError({"username": _("Give the person a username.")})
    if User.objects.filter(username=target.username).exclude(pk=target.pk).exists():
        raise ValidationError({"username": _("This username is taken.")})
    if user is None and not password and not invite:
        raise ValidationError({"password": _("Give the new person a first password.")})
    if user is None and invite and not password:
        target.set_unusable_password()
    if password:
        try:
            validate_password(password, target)
        except ValidationError as e:
            raise ValidationError({"password": e.messages}) from None
        target.set_password(password)
    target.full_clean(exclude=["password"], validate_unique=False)
    target.save()
    entry = audit.record_saved(by=by, obj=target, shot=shot, created=user is None)
    if password and user is not None and entry is None:  # the password alone changed
        audit.record(
            by=by, obj=target, action=audit.Action.UPDATED, changes={"password": "changed"}
        )
    target.forget_permissions()
    if was_active and not target.is_active:
        user_deactivated.send(sender=User, user=target)
    return target


@transaction.atomic
def save_team(*, by: User, data: dict[str, Any], team: Team | None = None) -> Team:
    ensure_admin(by)
    check_fields(data, {"name", "parent", "manager"})
    target = Team() if team is None else Team.objects.select_for_update().get(pk=team.pk)
    shot = audit.snapshot(target, data)
    apply(target, data)
    if not target.name:
        raise ValidationError({"name": _("Give the team a name.")})
    target.full_clean(exclude=["path"], validate_unique=False, validate_constraints=False)
    target.save()
    audit.record_saved(by=by, obj=target, shot=shot, created=team is None)
    return target


@transaction.atomic
def delete_team(*, by: User, team: Team) -> None:
    """Remove an empty team. One with people, sub-teams or targets is refused: move
    them first (their records and history must keep a team)."""
    ensure_admin(by)
    team = Team.objects.select_for_update().get(pk=team.pk)
    if User.objects.filter(team=team).exists() or team.extra_members.exists():
        raise ValidationError(_("People are in this team; move them to another team first."))
    if team.children.exists():
        raise ValidationError(_("This team has sub-teams; move or remove them first."))
    if Target.all_objects.filter(team=team).exists():
        raise ValidationError(_("This team has targets; delete them first."))
    audit.record(by=by, obj=team, action=audit.Action.DELETED)
    team.delete()


def clean_rights(raw: dict[str, list[str]]) -> dict[str, list[str]]:
    """Rights per object type: the built-in types' and custom objects' keys (which
    custom objects exist, `customization.admin_services.save_role` checks)."""
    types = {t for t, _label in OBJECT_TYPES}
    rights = {r for r, _label in RIGHTS}
    return {
        t: [r for r, _label in RIGHTS if r in set(values)]
        for t, values in raw.items()
        if (t in types or (isinstance(t, str) and RIGHTS_KEY.fullmatch(t)))
        and set(values) <= rights
        and values
    }


def clean_hidden_fields(raw: Any) -> dict[str, list[str]]:
    """{object type: [field key, ...]} with no empty lists or repeated keys. Which keys
    exist is the registry's business (`customization.admin_services` checks them)."""
    if not isinstance(raw, dict) or not all(
        isinstance(keys, list | tuple | set) and all(isinstance(k, str) for k in keys)
        for keys in raw.values()
    ):
        raise ValidationError(
            {"hidden_fields": _("Hidden fields must map object types to lists of field names.")}
        )
    return {str(t): list(dict.fromkeys(keys)) for t, keys in raw.items() if keys}


@transaction.atomic
def save_role(*, by: User, data: dict[str, Any], role: Role | None = None) -> Role:
    ensure_admin(by)
    check_fields(
        data, {"name", "data_scope", "rights", "is_sales_rep", "is_admin", "hidden_fields"}
    )
    target = Role() if role is None else Role.objects.select_for_update().get(pk=role.pk)
    if "rights" in data:
        data = {**data, "rights": clean_rights(data["rights"])}
    if "hidden_fields" in data:
        data = {**data, "hidden_fields": clean_hidden_fields(data["hidden_fields"])}
    shot = audit.snapshot(target, data)
    apply(target, data)
    if role is not None and by.role_id == role.pk and not target.is_admin and not by.is_superuser:
        raise ValidationError(
            {"is_admin": _("You cannot take away the administrator right of your own role.")}
        )
    if Role.objects.filter(name=target.name).exclude(pk=target.pk).exists():
        raise ValidationError({"name": _("There is already a role with this name.")})
    target.full_clean(validate_unique=False)
    target.save()
    audit.record_saved(by=by, obj=target, shot=shot, created=role is None)
    return target


@transaction.atomic
def save_currency(*, by: User, data: dict[str, Any], currency: Currency | None = None) -> Currency:
    """Add a currency (ISO 4217 code, name, symbol) or change one's name, symbol or
    whether it is offered; a code never changes, and the base currency stays active."""
    ensure_admin(by)
    data = dict(data)
    if currency is not None:
        data.pop("code", None)
    check_fields(data, {"code", "name", "symbol", "active"} - ({"code"} if currency else set()))
    if currency is None:
        code = str(data.get("code") or "").strip().upper()
        if Currency.objects.filter(code=code).exists():
            raise ValidationError({"code": _("This currency is already in the list.")})
        target = Currency(code=code)
        data["code"] = code
    else:
        target = Currency.objects.select_for_update().get(pk=currency.pk)
    apply(target, data)
    if not target.active and target.code == Organisation.get().base_currency_id:
        raise ValidationError(
            {"active": _("The base currency cannot be taken out of use; change it first.")}
        )
    if not (target.name or "").strip():
        raise ValidationError({"name": _("Give the currency a name.")})
    target.full_clean(validate_unique=False, validate_constraints=False)
    target.save()
    # Not in the audit log: its entries point at integer ids and a currency's is its code.
    return target


@transaction.atomic
def add_holiday(*, by: User, day: dt.date, kind: str, name: str = "") -> Holiday:
    ensure_admin(by)
    if Holiday.objects.filter(day=day).exists():
        raise ValidationError({"day": _("This date is already in the calendar.")})
    holiday = Holiday(day=day, kind=kind, name=name)
    holiday.full_clean(validate_unique=False)
    holiday.save()
    audit.record(
        by=by,
        obj=holiday,
        action=audit.Action.CREATED,
        changes=audit.values(holiday, ["day", "kind", "name"]),
    )
    return holiday


@transaction.atomic
def delete_holiday(*, by: User, holiday: Holiday) -> None:
    ensure_admin(by)
    audit.record(by=by, obj=holiday, action=audit.Action.DELETED)
    Holiday.objects.filter(pk=holiday.pk).delete()
