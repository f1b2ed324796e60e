"""Writes the pages need beyond `services` and `commerce_services`: handing records to
another owner, and the public-pool rules. Same contract: keyword-only, atomic, and a
refusal (ValidationError, PermissionDenied, NotVisible) writes nothing."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from salesops.audit import services as audit
from salesops.crm.commerce_services import ensure_admin
from salesops.crm.models import (
    Contract,
    Customer,
    Deal,
    Lead,
    Payment,
    PaymentPlan,
    PoolRule,
    Quote,
)
from salesops.crm.services import _check_owner, _lock, assign_customer
from salesops.customization import computed
from salesops.lib.models import run_record_checks
from salesops.lib.services import ensure_can
from salesops.lib.updates import apply, check_fields
from salesops.notifications import services as notifications
from salesops.users.models import User

#: Records whose owner may be changed directly (customers go through the pool rules,
#: contacts follow their customer, payments their contract).
ASSIGNABLE = (Lead, Deal, Quote, Contract)


@transaction.atomic
def assign_owner(*, obj: Any, to: User, by: User) -> Any:
    """Give a lead, deal, quote, contract or customer to `to` (who must be active and in
    `by`'s data scope). A customer goes through `assign_customer`, so the pool cap holds."""
    if isinstance(obj, Customer):
        return assign_customer(customer=obj, to=to, by=by)
    if not isinstance(obj, ASSIGNABLE):
        raise ValidationError(_("This kind of record cannot be given to someone else here."))
    ensure_can(by, obj, "edit")
    _check_owner(by=by, owner=to)
    model = type(obj)
    obj = _lock(model, obj)
    if obj.owner_id == to.pk:
        return obj
    shot = audit.snapshot(obj, ["owner"])
    obj.owner = to
    # A hand-over is an edit: the organisation's validation rules check it.
    run_record_checks(obj)
    obj.version += 1
    obj.save(update_fields=["owner", "version", "updated_at"])
    audit.record(by=by, obj=obj, action=audit.Action.OWNER_CHANGED, changes=shot.changes(obj))
    if isinstance(obj, Contract):
        for child in (PaymentPlan, Payment):
            child.objects.filter(contract=obj).update(owner=to, version=F("version") + 1)
            computed.refresh(child, child.all_objects.filter(contract=obj))
    notifications.assigned(obj=obj, to=to, by=by)
    return obj


POOL_RULE_FIELDS = {
    "name",
    "team",
    "reclaim_after_days_without_followup",
    "reclaim_after_days_without_won_deal",
    "max_customers_per_rep",
    "reclaim_block_days",
    "warning_days",
    "active",
}


@transaction.atomic
def save_pool_rule(*, by: User, data: dict[str, Any], rule: PoolRule | None = None) -> PoolRule:
    """Create (no `rule`) or change a public-pool rule; administrators only. One active
    rule per team, and one organisation-wide."""
    ensure_admin(by)
    check_fields(data, POOL_RULE_FIELDS)
    created = rule is None
    rule = PoolRule() if rule is None else PoolRule.objects.select_for_update().get(pk=rule.pk)
    shot = audit.snapshot(rule, data)
    apply(rule, data)
    if not rule.name:
        raise ValidationError({"name": _("Give the rule a name.")})
    clash = PoolRule.objects.filter(team=rule.team).exclude(pk=rule.pk)
    if rule.team_id is None:
        clash = clash.filter(active=True) if rule.active else clash.none()
    if clash.exists():
        raise ValidationError(
            {
                "team": _("This team already has a rule; change that one.")
                if rule.team_id
                else _("There is already an active organisation-wide rule; change that one.")
            }
        )
    rule.full_clean(validate_unique=False, validate_constraints=False)
    rule.save()
    audit.record_saved(by=by, obj=rule, shot=shot, created=created)
    return rule


@transaction.atomic
def delete_pool_rule(*, by: User, rule: PoolRule) -> None:
    ensure_admin(by)
    audit.record(by=by, obj=rule, action=audit.Action.DELETED)
    PoolRule.objects.filter(pk=rule.pk).delete()
