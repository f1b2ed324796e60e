"""Writes on leads, customers, deals and payments: the only write path.

Pages, the API, imports and automation all call these functions, so validation,
the public-pool cap and data permissions hold whichever way a change arrives.
Each is keyword-only, atomic, and raises ValidationError (a message saying what to
fix), PermissionDenied or NotVisible without writing anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from salesops.audit import services as audit
from salesops.crm import duplicate_warnings as duplicates
from salesops.crm.models import (
    Contact,
    Contract,
    Customer,
    Deal,
    Lead,
    Payment,
    PaymentPlan,
    PoolEvent,
    Product,
)
from salesops.crm.models.deals import StageHistory
from salesops.crm.pool import rule_for_user
from salesops.customization import computed, policy, registry, rules
from salesops.customization.services import check_picklist_value, clean_custom_values
from salesops.lib.models import run_record_checks
from salesops.lib.money import money
from salesops.lib.services import ensure_can, ensure_right
from salesops.notifications import services as notifications
from salesops.org.models import Currency, Organisation
from salesops.pipeline import requirements
from salesops.pipeline.models import ForecastCategory, Pipeline, Stage
from salesops.users.models import User

# -- owners and the public pool ---------------------------------------------------


def _check_owner(*, by: User, owner: User | None) -> None:
    """`by` may give a record to `owner` only if `owner` is active and within `by`'s scope."""
    if owner is None:
        return
    if not owner.is_active:
        raise ValidationError(
            {"owner": _("%(name)s is deactivated; choose an active user.") % {"name": owner}}
        )
    visible = by.visible_owner_ids()
    if visible is not None and owner.pk not in visible:
        raise ValidationError(
            {"owner": _("You may only assign records to yourself or people in your data scope.")}
        )


def _check_cap(*, owner: User, adding: int = 1) -> None:
    """The public-pool cap: a rep may hold at most the rule's number of customers.
    Call inside the transaction after locking `owner`'s row."""
    rule = rule_for_user(owner)
    if rule is None or rule.max_customers_per_rep is None:
        return
    held = Customer.objects.filter(owner=owner).count()
    if held + adding > rule.max_customers_per_rep:
        raise ValidationError(
            _(
                "%(name)s already holds %(held)s customers and the most allowed is %(cap)s. "
                "Release a customer to the public pool first."
            )
            % {"name": owner, "held": held, "cap": rule.max_customers_per_rep}
        )


def _lock_user(user: User) -> None:
    """Serialise writes that count a user's customers (the cap) on PostgreSQL."""
    User.objects.select_for_update().filter(pk=user.pk).first()


def _lock(model: Any, obj: Any) -> Any:
    try:
        return model.objects.select_for_update().get(pk=obj.pk)
    except model.DoesNotExist:
        from salesops.lib.services import NotVisible

        raise NotVisible(_("This record does not exist or you may not see it.")) from None


# -- leads and customers --------------------------------------------------------------


#: Editable fields (in the registry) that a general create or update never sets, per
#: object type: each has its own service or is fixed by what the record belongs to.
#: Every owner: `assign_owner`, `claim_customer`... (a create takes `owner=`); a
#: contact's, deal's, quote's or contract's customer, an instalment's contract and what
#: a follow-up or task hangs on: fixed when it is created; a deal's pipeline and stage:
#: `move_deal_stage`; a task's completion: `complete_task`.
SET_ELSEWHERE: dict[str, frozenset[str]] = {
    "contact": frozenset({"customer"}),
    "deal": frozenset({"customer", "pipeline", "stage"}),
    "quote": frozenset({"customer"}),
    "contract": frozenset({"customer"}),
    "payment_plan": frozenset({"contract"}),
    "followup": frozenset({"lead", "customer", "contact", "deal"}),
    "task": frozenset({"done_at", "lead", "customer", "contact", "deal"}),
}
#: ...and those only a change sets, never a create: a new lead is new; a customer's
#: tags are set once it exists.
NOT_ON_CREATE: dict[str, frozenset[str]] = {
    "lead": frozenset({"status"}),
    "customer": frozenset({"tags"}),
}


def writable(user: Any, object_type: str, *, creating: bool = False) -> set[str]:
    """The built-in fields `user` may set on a record of `object_type` through a general
    create (`creating`) or update: the registry's editable fields that the field policy
    does not hide from them, less the owner and what is set elsewhere."""
    fixed = SET_ELSEWHERE.get(object_type, frozenset())
    if creating:
        fixed = fixed | NOT_ON_CREATE.get(object_type, frozenset())
    return {
        f.key
        for f in policy.editable_fields(user, object_type)
        if not f.is_custom and not f.owner and f.key not in fixed
    }


def refuse_unknown(
    fields: dict[str, Any],
    *,
    by: Any,
    object_type: str,
    custom: dict[str, Any] | None = None,
    creating: bool = True,
) -> None:
    """Mass assignment: a field hidden from `by` (built-in or custom) is refused as
    naming an unknown one, and so is anything but the writable fields (owner, ids,
    status, timestamps...)."""
    policy.refuse_hidden_writes(by, object_type, set(fields) | set(custom or {}))
    unknown = set(fields) - writable(by, object_type, creating=creating)
    if unknown:
        raise ValidationError(
            _("These fields cannot be set: %(f)s.") % {"f": ", ".join(sorted(unknown))}
        )


def check_picklists(object_type: str, data: dict[str, Any]) -> None:
    """Each value given for a picklist field must be one of the picklist's options."""
    spec = registry.get(object_type)
    for key, value in data.items():
        f = spec.field(key, derived=False)
        if f is not None and f.picklist:
            check_picklist_value(f.picklist, value or "", field=key)


def _validate(obj: Any, *, exclude: list[str] | None = None) -> None:
    """Field validation with messages per field. Database constraints are not re-checked
    here (each costs a query): the services establish them, the database enforces them."""
    obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


@transaction.atomic
def create_lead(
    *,
    by: User,
    owner: User | None = None,
    custom: dict | None = None,
    allow_duplicate: bool = True,
    **fields: Any,
) -> Lead:
    """A lead owned by `owner` (default: `by`). Unless `allow_duplicate`, one that looks
    like a lead `by` may see is refused with PossibleDuplicates (`crm.duplicate_warnings`)."""
    ensure_right(by, "lead", "create")
    refuse_unknown(fields, by=by, object_type="lead", custom=custom)
    owner = by if owner is None else owner
    _check_owner(by=by, owner=owner)
    check_picklists("lead", fields)
    lead = Lead(owner=owner, **fields)
    lead.custom = clean_custom_values(object_type="lead", values=custom)
    lead.created_on = Organisation.get().local_date(lead.created_at)
    _validate(lead)
    if not allow_duplicate:
        duplicates.check(by=by, object_type="lead", values=fields)
    lead.save()
    audit.record(by=by, obj=lead, action=audit.Action.CREATED)
    return lead


@transaction.atomic
def create_customer(
    *,
    by: User,
    owner: User | str | None = "me",
    custom: dict | None = None,
    allow_duplicate: bool = True,
    **fields: Any,
) -> Customer:
    """Create a customer owned by `owner` (default: `by`), or in the public pool when
    `owner` is None. The pool cap applies to the owner. Unless `allow_duplicate`, one
    that looks like a customer `by` may see is refused with PossibleDuplicates."""
    ensure_right(by, "customer", "create")
    refuse_unknown(fields, by=by, object_type="customer", custom=custom)
    the_owner: User | None = by if owner == "me" else owner  # type: ignore[assignment]
    _check_owner(by=by, owner=the_owner)
    check_picklists("customer", fields)
    now = timezone.now()
    customer = Customer(owner=the_owner, **fields)
    customer.custom = clean_custom_values(object_type="customer", values=custom)
    if the_owner is None:
        customer.pool_entered_at = now
    else:
        customer.owned_since = now
    _validate(customer)
    if not allow_duplicate:
        duplicates.check(by=by, object_type="customer", values=fields)
    if the_owner is not None:
        _lock_user(the_owner)
        _check_cap(owner=the_owner)
    customer.save()
    audit.record(by=by, obj=customer, action=audit.Action.CREATED)
    return customer


@transaction.atomic
def create_contact(
    *,
    by: User,
    customer: Customer,
    custom: dict | None = None,
    allow_duplicate: bool = True,
    **fields: Any,
) -> Contact:
    """A contact of `customer`, owned by the customer's owner (contacts follow it).
    Unless `allow_duplicate`, one that looks like a contact `by` may see is refused
    with PossibleDuplicates."""
    ensure_right(by, "contact", "create")
    ensure_can(by, customer, "edit")
    refuse_unknown(fields, by=by, object_type="contact", custom=custom)
    contact = Contact(customer=customer, owner=customer.owner, **fields)
    contact.custom = clean_custom_values(object_type="contact", values=custom)
    _validate(contact)
    if not allow_duplicate:
        duplicates.check(by=by, object_type="contact", values=fields)
    contact.save()
    audit.record(by=by, obj=contact, action=audit.Action.CREATED)
    return contact


@transaction.atomic
def create_product(*, by: User, custom: dict | None = None, **fields: Any) -> Product:
    ensure_right(by, "product", "create")
    refuse_unknown(fields, by=by, object_type="product", custom=custom)
    check_picklists("product", fields)
    currency = fields.pop("currency", None)
    if "price" in fields:
        try:
            fields["price"] = money(fields["price"])
        except Exception:
            raise ValidationError(
                {"price": _("Enter the price as a number, such as 99.50.")}
            ) from None
    product = Product(currency_id=_currency(currency), **fields)
    product.custom = clean_custom_values(object_type="product", values=custom)
    if product.sku and Product.objects.filter(sku=product.sku).exists():
        raise ValidationError(
            {"sku": _("Another product already has the SKU “%(sku)s”.") % {"sku": product.sku}}
        )
    _validate(product)
    product.save()
    audit.record(by=by, obj=product, action=audit.Action.CREATED)
    return product


@dataclass
class Conversion:
    lead: Lead
    #: None only if what the lead became was later deleted for good.
    customer: Customer | None
    contact: Contact | None
    deal: Deal | None
    created: bool


@transaction.atomic
def convert_lead(
    *,
    lead: Lead,
    by: User,
    customer: Customer | None = None,
    with_deal: bool = True,
    deal_name: str = "",
    pipeline: Pipeline | None = None,
    amount: Decimal | int | str = 0,
    currency: str | None = None,
    expected_close: dt.date | None = None,
) -> Conversion:
    """Turn a lead into a customer (or attach it to an existing one), a contact and,
    unless `with_deal` is False, a deal. Converting a converted lead returns what it
    became and creates nothing: two conversions at once convert it once."""
    ensure_can(by, lead, "edit")
    lead = _lock(Lead, lead)
    if lead.status == Lead.Status.CONVERTED:
        return Conversion(
            lead,
            lead.converted_customer,
            lead.converted_contact,
            lead.converted_deal,
            created=False,
        )
    ensure_right(by, "contact", "create")
    owner = lead.owner or by
    if customer is None:
        customer = create_customer(
            by=by,
            owner=owner,
            name=lead.company or lead.name,
            industry=lead.industry,
            region=lead.region,
            phone=lead.phone,
            email=lead.email,
        )
        customer.source_lead = lead
        customer.save(update_fields=["source_lead"])
    else:
        ensure_can(by, customer, "edit")
        if customer.owner_id is None:
            raise ValidationError(
                {
                    "customer": _(
                        "This customer is in the public pool; claim it before converting a lead into it."
                    )
                }
            )
    contact = Contact(
        customer=customer,
        owner=customer.owner,
        name=lead.name,
        title=lead.title,
        mobile=lead.phone,
        email=lead.email,
        is_primary=not customer.contacts.exists(),
    )
    _validate(contact)
    contact.save()
    audit.record(by=by, obj=contact, action=audit.Action.CREATED)
    deal = None
    if with_deal:
        deal = create_deal(
            by=by,
            customer=customer,
            contact=contact,
            owner=customer.owner,
            name=deal_name or (lead.company or lead.name),
            pipeline=pipeline,
            amount=amount,
            currency=currency,
            expected_close=expected_close,
            source=lead.source,
        )
        deal.source_lead = lead
        deal.save(update_fields=["source_lead"])
    converted = audit.snapshot(lead, ["status", "converted_customer", "converted_deal"])
    lead.status = Lead.Status.CONVERTED
    lead.converted_at = timezone.now()
    lead.converted_customer = customer
    lead.converted_contact = contact
    lead.converted_deal = deal
    lead.version += 1
    lead.save()
    audit.record(by=by, obj=lead, action=audit.Action.UPDATED, changes=converted.changes(lead))
    return Conversion(lead, customer, contact, deal, created=True)


# -- the public pool (公海) ------------------------------------------------------------


@transaction.atomic
def claim_customer(*, customer: Customer, by: User) -> Customer:
    """Take a customer from the public pool. The cap and the re-claim block apply."""
    ensure_can(by, customer, "edit")
    _lock_user(by)
    customer = _lock(Customer, customer)
    if customer.owner_id is not None:
        if customer.owner_id == by.pk:
            raise ValidationError(_("You already own this customer."))
        raise ValidationError(
            _("%(name)s has just been claimed by %(owner)s.")
            % {"name": customer.name, "owner": customer.owner}
        )
    rule = rule_for_user(by)
    now = timezone.now()
    if rule is not None and rule.reclaim_block_days:
        last = PoolEvent.objects.filter(
            customer=customer, user=by, kind__in=[PoolEvent.Kind.RELEASED, PoolEvent.Kind.RECLAIMED]
        ).aggregate(at=Max("at"))["at"]
        if last is not None:
            until = last + dt.timedelta(days=rule.reclaim_block_days)
            if until > now:
                org = Organisation.get()
                raise ValidationError(
                    _(
                        "You gave this customer up on %(left)s; you can claim it again from %(until)s."
                    )
                    % {
                        "left": org.local_date(last).isoformat(),
                        "until": org.local_date(until).isoformat(),
                    }
                )
    _check_cap(owner=by)
    moved = _move_customer(customer, to=by, now=now)
    PoolEvent.objects.create(customer=customer, user=by, kind=PoolEvent.Kind.CLAIMED)
    audit.record(by=by, obj=customer, action=audit.Action.CLAIMED, changes=moved)
    return customer


@transaction.atomic
def assign_customer(*, customer: Customer, to: User, by: User) -> Customer:
    """Give a customer (owned or in the pool) to `to`; a manager's hand-over."""
    ensure_can(by, customer, "edit")
    _check_owner(by=by, owner=to)
    _lock_user(to)
    customer = _lock(Customer, customer)
    if customer.owner_id == to.pk:
        return customer
    _check_cap(owner=to)
    moved = _move_customer(customer, to=to, now=timezone.now(), checked=True)
    PoolEvent.objects.create(customer=customer, user=to, kind=PoolEvent.Kind.ASSIGNED)
    audit.record(by=by, obj=customer, action=audit.Action.OWNER_CHANGED, changes=moved)
    notifications.assigned(obj=customer, to=to, by=by)
    return customer


@transaction.atomic
def release_customer(*, customer: Customer, by: User, reason: str = "") -> Customer:
    """Put an owned customer back into the public pool."""
    ensure_can(by, customer, "edit")
    customer = _lock(Customer, customer)
    if customer.owner_id is None:
        raise ValidationError(_("This customer is already in the public pool."))
    old_owner_id = customer.owner_id
    moved = _move_customer(customer, to=None, now=timezone.now())
    PoolEvent.objects.create(
        customer=customer, user_id=old_owner_id, kind=PoolEvent.Kind.RELEASED, reason=reason[:200]
    )
    audit.record(by=by, obj=customer, action=audit.Action.RELEASED, changes=moved)
    return customer


def _move_customer(
    customer: Customer, *, to: User | None, now: dt.datetime, checked: bool = False
) -> dict[str, Any]:
    """Change the owner; the customer's contacts follow it (open deals stay with their owner).
    `checked`: a hand-over by a person, which the organisation's validation rules check
    like any other edit (the pool's own moves do not). Returns the change in the audit
    log's format."""
    before = audit.snapshot(customer, ["owner"])
    customer.owner = to
    customer.owned_since = now if to is not None else None
    customer.pool_entered_at = None if to is not None else now
    if checked:
        run_record_checks(customer)
    customer.version += 1
    customer.save(
        update_fields=["owner", "owned_since", "pool_entered_at", "version", "updated_at"]
    )
    Contact.objects.filter(customer=customer).update(owner=to, version=F("version") + 1)
    computed.refresh(Contact, Contact.all_objects.filter(customer=customer))
    return before.changes(customer)


# -- deals ----------------------------------------------------------------------------


def _currency(code: str | None) -> str:
    base = Organisation.get().base_currency_id
    code = (code or str(base)).upper()
    if not Currency.objects.filter(code=code, active=True).exists():
        raise ValidationError(
            {"currency": _("“%(code)s” is not an active currency.") % {"code": code}}
        )
    return code


def _spoken_list(labels: list[str]) -> str:
    """ "A", "A and B", "A, B and C" in the active language."""
    if len(labels) < 2:
        return "".join(labels)
    head = pgettext("list separator", ", ").join(labels[:-1])
    return pgettext("list", "%(first)s and %(last)s") % {"first": head, "last": labels[-1]}


def check_stage_requirements(*, deal: Deal, stage: Stage, creating: bool = False) -> None:
    """Stage gating: refuse to put `deal` (its values as they are now) into `stage`
    while a field the stage requires is empty, naming the fields by their labels in
    the writer's language."""
    missing = requirements.missing(stage, deal)
    if not missing:
        return
    fields = _spoken_list([f.title for f in missing])
    if creating:
        message = _("Fill in %(fields)s to create the deal in %(stage)s.")
    else:
        message = _("Fill in %(fields)s before moving to %(stage)s.")
    raise ValidationError(
        {"stage": ValidationError(message % {"fields": fields, "stage": stage.name}, code="gated")}
    )


@transaction.atomic
def create_deal(
    *,
    by: User,
    customer: Customer,
    name: str,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    amount: Decimal | int | str = 0,
    currency: str | None = None,
    expected_close: dt.date | None = None,
    owner: User | None = None,
    contact: Contact | None = None,
    probability: int | None = None,
    source: str = "",
    custom: dict | None = None,
) -> Deal:
    """Create an open deal in `stage` (default: the pipeline's first) and its first
    stage-history row."""
    ensure_right(by, "deal", "create")
    ensure_can(by, customer, "view")
    owner = owner or by
    _check_owner(by=by, owner=owner)
    pipeline = pipeline or (stage.pipeline if stage else Pipeline.default())
    if pipeline is None:
        raise ValidationError({"pipeline": _("Create a pipeline first.")})
    stage = stage or pipeline.first_stage()
    if stage is None or stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": _("Choose a stage of the deal's pipeline.")})
    if stage.kind != Stage.Kind.OPEN:
        raise ValidationError(
            {"stage": _("A new deal starts in an open stage; mark it won or lost afterwards.")}
        )
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationError({"contact": _("The contact must belong to the deal's customer.")})
    try:
        value = money(amount)
    except Exception:
        raise ValidationError(
            {"amount": _("Enter the amount as a number, such as 12000 or 12000.50.")}
        ) from None
    if value < 0:
        raise ValidationError({"amount": _("The amount cannot be negative.")})
    now = timezone.now()
    deal = Deal(
        name=name,
        customer=customer,
        contact=contact,
        pipeline=pipeline,
        stage=stage,
        amount=value,
        currency_id=_currency(currency),
        expected_close=expected_close,
        owner=owner,
        probability=probability,
        source=source,
        forecast_category=stage.forecast_category,
        stage_entered_at=now,
        created_at=now,
        created_on=Organisation.get().local_date(now),
    )
    deal.custom = clean_custom_values(object_type="deal", values=custom)
    _validate(deal)
    # A deal may start in the first stage without the fields it requires (every path
    # that creates one, a lead's conversion too, can); in a later stage it needs them.
    if stage.required_fields and stage.pk != getattr(pipeline.first_stage(), "pk", None):
        check_stage_requirements(deal=deal, stage=stage, creating=True)
    deal.save()
    audit.record(by=by, obj=deal, action=audit.Action.CREATED)
    StageHistory.objects.create(deal=deal, stage=stage, entered_at=now, entered_by=by)
    return deal


#: A stage move that changes the status is in the audit log with these fields (every
#: stage move is in the stage history already).
CLOSE_FIELDS = ["status", "closed_on", "lost_reason", "lost_note"]
CLOSE_ACTIONS = {
    Deal.Status.WON: audit.Action.WON,
    Deal.Status.LOST: audit.Action.LOST,
    Deal.Status.OPEN: audit.Action.REOPENED,
}


@transaction.atomic
def move_deal_stage(
    *,
    deal: Deal,
    stage: Stage,
    by: User,
    lost_reason: str = "",
    lost_note: str = "",
    closed_on: dt.date | None = None,
) -> Deal:
    """Move `deal` to `stage` of its pipeline, writing the stage history. A won or lost
    stage sets the status and `closed_on` (default: today in the organisation's time
    zone); moving back to an open stage reopens the deal and clears them."""
    ensure_can(by, deal, "edit")
    deal = _lock(Deal, deal)
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": _("Choose a stage of the deal's own pipeline.")})
    if stage.pk == deal.stage_id:
        return deal
    org = Organisation.get()
    now = timezone.now()
    today = org.local_date(now)
    was_won = deal.status == Deal.Status.WON
    if stage.kind == Stage.Kind.LOST:
        if not lost_reason:
            raise ValidationError({"lost_reason": _("Say why the deal was lost.")})
        check_picklist_value("lost_reason", lost_reason, field="lost_reason")
    if stage.kind != Stage.Kind.OPEN:
        closed_on = closed_on or today
        if closed_on > today:
            raise ValidationError({"closed_on": _("The close date cannot be in the future.")})
        if deal.created_on and closed_on < deal.created_on:
            raise ValidationError(
                {
                    "closed_on": _(
                        "The close date cannot be before the deal was created (%(day)s)."
                    )
                    % {"day": deal.created_on.isoformat()}
                }
            )
    check_stage_requirements(deal=deal, stage=stage)
    closing = audit.snapshot(deal, CLOSE_FIELDS)
    StageHistory.objects.filter(deal=deal, left_at__isnull=True).update(left_at=now)
    # Earlier stays in open stages before this one have now "advanced" (the funnel).
    if stage.kind != Stage.Kind.LOST:
        earlier = StageHistory.objects.filter(
            deal=deal, advanced=False, stage__kind=Stage.Kind.OPEN
        )
        if stage.kind == Stage.Kind.OPEN:
            earlier = earlier.filter(stage__order__lt=stage.order)
        earlier.update(advanced=True)
    StageHistory.objects.create(deal=deal, stage=stage, entered_at=now, entered_by=by)
    deal.stage = stage
    deal.stage_entered_at = now
    deal.probability = None
    if stage.kind == Stage.Kind.OPEN:
        deal.status = Deal.Status.OPEN
        deal.closed_on = None
        deal.lost_reason = ""
        deal.lost_note = ""
        # The owner's own choice of category survives moves between open stages.
        if not deal.forecast_category_overridden:
            deal.forecast_category = stage.forecast_category
    else:
        deal.status = Deal.Status.WON if stage.kind == Stage.Kind.WON else Deal.Status.LOST
        deal.closed_on = closed_on
        deal.forecast_category = (
            ForecastCategory.CLOSED if stage.kind == Stage.Kind.WON else ForecastCategory.OMITTED
        )
        deal.forecast_category_overridden = False
        deal.lost_reason = lost_reason if stage.kind == Stage.Kind.LOST else ""
        deal.lost_note = lost_note if stage.kind == Stage.Kind.LOST else ""
    # The organisation's validation rules see the deal in its new stage ("won without
    # a contract number"); a refusal rolls the stage history back with it.
    rules.check(deal, "deal")
    deal.version += 1
    deal.save()
    if deal.status != closing.raw["status"]:
        audit.record(
            by=by, obj=deal, action=CLOSE_ACTIONS[deal.status], changes=closing.changes(deal)
        )
    if was_won or deal.status == Deal.Status.WON:
        _refresh_customer_wins(deal.customer_id)
    return deal


def _refresh_customer_wins(customer_id: int) -> None:
    last = Deal.objects.filter(customer_id=customer_id, status=Deal.Status.WON).aggregate(
        d=Max("closed_on")
    )["d"]
    wins = Deal.objects.filter(customer_id=customer_id, status=Deal.Status.WON).count()
    fields: dict[str, Any] = {"last_won_on": last}
    customer = Customer.all_objects.get(pk=customer_id)
    if customer.lifecycle_stage != Customer.Lifecycle.CHURNED or wins:
        fields["lifecycle_stage"] = (
            Customer.Lifecycle.PROSPECT
            if wins == 0
            else Customer.Lifecycle.CUSTOMER
            if wins == 1
            else Customer.Lifecycle.REPEAT
        )
    Customer.all_objects.filter(pk=customer_id).update(**fields)
    computed.refresh(Customer, [customer_id])


def mark_deal_won(*, deal: Deal, by: User, closed_on: dt.date | None = None) -> Deal:
    stage = deal.pipeline.won_stage()
    if stage is None:
        raise ValidationError(_("The pipeline “%(p)s” has no won stage.") % {"p": deal.pipeline})
    return move_deal_stage(deal=deal, stage=stage, by=by, closed_on=closed_on)


def mark_deal_lost(
    *, deal: Deal, by: User, reason: str, note: str = "", closed_on: dt.date | None = None
) -> Deal:
    stage = deal.pipeline.lost_stage()
    if stage is None:
        raise ValidationError(_("The pipeline “%(p)s” has no lost stage.") % {"p": deal.pipeline})
    return move_deal_stage(
        deal=deal, stage=stage, by=by, lost_reason=reason, lost_note=note, closed_on=closed_on
    )


def reopen_deal(*, deal: Deal, by: User, stage: Stage | None = None) -> Deal:
    """Back to `stage` (default: the last open stage it was in)."""
    if stage is None:
        last_open = (
            StageHistory.objects.filter(deal=deal, stage__kind=Stage.Kind.OPEN)
            .order_by("-entered_at", "-id")
            .select_related("stage")
            .first()
        )
        stage = last_open.stage if last_open else deal.pipeline.first_stage()
    if stage is None:
        raise ValidationError(_("The pipeline “%(p)s” has no open stage.") % {"p": deal.pipeline})
    return move_deal_stage(deal=deal, stage=stage, by=by)


# -- payments (回款) -------------------------------------------------------------------


def received_on_plan(plan: PaymentPlan) -> Decimal:
    return Payment.objects.filter(plan=plan).aggregate(s=Sum("amount"))["s"] or Decimal(0)


@transaction.atomic
def record_payment(
    *,
    by: User,
    amount: Decimal | int | str,
    received_on: dt.date,
    contract: Contract | None = None,
    plan: PaymentPlan | None = None,
    method: str = Payment.Method.BANK,
    reference: str = "",
) -> Payment:
    """Record money received against a contract, optionally one instalment of its plan.
    The contract's and the instalment's outstanding amounts cannot be exceeded."""
    ensure_right(by, "payment", "create")
    if plan is not None:
        ensure_can(by, plan, "view")
        if contract is not None and contract.pk != plan.contract_id:
            raise ValidationError({"plan": _("The instalment belongs to another contract.")})
        contract = plan.contract
    if contract is None:
        raise ValidationError({"contract": _("Choose the contract the payment is for.")})
    ensure_can(by, contract, "view")
    contract = _lock(Contract, contract)
    try:
        value = money(amount)
    except Exception:
        raise ValidationError(
            {"amount": _("Enter the amount as a number, such as 5000 or 5000.50.")}
        ) from None
    if value <= 0:
        raise ValidationError({"amount": _("The amount must be more than zero.")})
    if received_on > Organisation.get().local_date():
        raise ValidationError({"received_on": _("The date received cannot be in the future.")})
    paid = Payment.objects.filter(contract=contract).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    if paid + value > contract.amount:
        raise ValidationError(
            {
                "amount": _(
                    "This would bring payments to %(total)s, more than the contract's %(amount)s. At most %(left)s is outstanding."
                )
                % {
                    "total": money(paid + value),
                    "amount": money(contract.amount),
                    "left": money(contract.amount - paid),
                }
            }
        )
    if plan is not None:
        left = plan.amount - received_on_plan(plan)
        if value > left:
            raise ValidationError(
                {
                    "amount": _(
                        "This instalment has %(left)s outstanding; record at most that, or record the payment against the contract only."
                    )
                    % {"left": money(left)}
                }
            )
    payment = Payment(
        contract=contract,
        plan=plan,
        amount=value,
        currency_id=contract.currency_id,
        received_on=received_on,
        method=method,
        reference=reference,
        owner=contract.owner,
    )
    _validate(payment)
    payment.save()
    audit.record(by=by, obj=payment, action=audit.Action.CREATED)
    return payment


# -- updates ------------------------------------------------------------------------------

#: The records `update_record` changes (others have their own update service).
UPDATABLE = (Lead, Customer, Contact, Product, Deal)


#: Called inside the transaction after an edit changed a deal's forecast category, as
#: fn(deal=…, before=…, by=…). Higher layers register here from their `ready()` (the
#: forecasting app keeps each deal's category history), which crm may not import.
CATEGORY_LISTENERS: list[Callable[..., None]] = []


@transaction.atomic
def update_record(
    *,
    obj: Any,
    by: User,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    version: int | None = None,
    allow_duplicate: bool = True,
) -> Any:
    """Change the allowed fields of a lead, customer, contact or deal. `version`, when
    given, must be the version the client read (else Conflict). Validation failures
    leave the row untouched. Unless `allow_duplicate`, a lead, customer or contact whose
    changed name, phone or e-mail looks like another record's is refused with
    PossibleDuplicates."""
    from salesops.lib.updates import apply, check_fields, check_version

    model = type(obj)
    if model not in UPDATABLE:
        raise ValidationError(_("This kind of record cannot be updated here."))
    object_type = model.object_type
    ensure_can(by, obj, "edit")
    obj = _lock(model, obj)
    check_version(obj, version)
    data = dict(data)
    policy.refuse_hidden_writes(by, object_type, set(data) | set(custom or {}))
    tags = data.pop("tags", None)
    check_fields(data | ({"tags": tags} if tags is not None else {}), writable(by, object_type))
    if model is Lead and data.get("status") == Lead.Status.CONVERTED:
        raise ValidationError({"status": _("Convert the lead to mark it converted.")})
    if model is Lead and obj.status == Lead.Status.CONVERTED and "status" in data:
        raise ValidationError({"status": _("A converted lead keeps its status.")})
    if "currency" in data:
        data["currency"] = _currency(
            data["currency"] if isinstance(data["currency"], str) else data["currency"].pk
        )
    if "contact" in data and data["contact"] is not None:
        contact = data["contact"]
        if not isinstance(contact, Contact):
            contact = Contact.objects.filter(pk=contact).first()
        if contact is None or contact.customer_id != obj.customer_id:
            raise ValidationError({"contact": _("The contact must belong to the deal's customer.")})
        data["contact"] = contact
    if "amount" in data:
        try:
            data["amount"] = money(data["amount"])
        except Exception:
            raise ValidationError(
                {"amount": _("Enter the amount as a number, such as 12000 or 12000.50.")}
            ) from None
        if data["amount"] < 0:
            raise ValidationError({"amount": _("The amount cannot be negative.")})
    check_picklists(object_type, data)
    if not allow_duplicate and object_type in duplicates.CHECKED:
        compared = duplicates.keys_of(by, object_type)
        changed = {k: v for k, v in data.items() if k in compared and v != getattr(obj, k)}
        duplicates.check(by=by, object_type=object_type, values=changed, exclude_pk=obj.pk)
    before = audit.snapshot(
        obj, [*data, *(["tags"] if tags is not None else [])], custom=custom is not None
    )
    category_before = getattr(obj, "forecast_category", None)
    apply(obj, data)
    if model is Deal and "forecast_category" in data:
        # A category set by hand is the owner's choice: kept through open-stage moves.
        obj.forecast_category_overridden = obj.forecast_category != obj.stage.forecast_category
    if custom is not None:
        obj.custom = clean_custom_values(
            object_type=object_type, values=custom, existing=obj.custom
        )
    _validate(obj)
    obj.version += 1
    obj.save()
    if tags is not None:
        obj.tags.set(tags)
    audit.record(by=by, obj=obj, action=audit.Action.UPDATED, changes=before.changes(obj))
    if model is Deal and obj.forecast_category != category_before:
        for listener in CATEGORY_LISTENERS:
            listener(deal=obj, before=category_before, by=by)
    return obj


# -- delete and restore --------------------------------------------------------------

CUSTOMER_CHILDREN = ("contacts", "deals", "followups", "tasks")


@transaction.atomic
def delete_customer(*, customer: Customer, by: User) -> None:
    """Soft-delete a customer with its contacts, deals, follow-ups and tasks, all at one
    timestamp so that `restore_customer` brings back exactly those."""
    ensure_can(by, customer, "delete")
    now = timezone.now()
    for rel in CUSTOMER_CHILDREN:
        getattr(customer, rel).filter(deleted_at__isnull=True).update(
            deleted_at=now, deleted_by=by, version=F("version") + 1
        )
    Customer.objects.filter(pk=customer.pk).update(
        deleted_at=now, deleted_by=by, version=F("version") + 1
    )
    _refresh_children(customer)
    audit.record(by=by, obj=customer, action=audit.Action.DELETED, at=now)


def _refresh_children(customer: Customer) -> None:
    """Formulas and roll-ups after a customer's children were deleted or restored with
    it (queryset updates, which `save()`'s signals do not see)."""
    for rel in CUSTOMER_CHILDREN:
        model = getattr(Customer, rel).rel.related_model
        computed.refresh(model, model.all_objects.filter(customer=customer))
    computed.refresh(Customer, [customer.pk])


def _refuse_merged(obj: Any) -> None:
    """A record merged into another stays deleted: what it had now belongs to the other."""
    if getattr(obj, "merged_into_id", None) is not None:
        raise ValidationError(_("This record was merged into another one; open that one instead."))


@transaction.atomic
def restore_customer(*, customer: Customer, by: User) -> None:
    ensure_can(by, customer, "restore")
    _refuse_merged(Customer.all_objects.get(pk=customer.pk))
    stamp = Customer.all_objects.values_list("deleted_at", flat=True).get(pk=customer.pk)
    if stamp is None:
        return
    for rel in CUSTOMER_CHILDREN:
        model = getattr(Customer, rel).rel.related_model
        model.all_objects.filter(customer=customer, deleted_at=stamp).update(
            deleted_at=None, deleted_by=None, version=F("version") + 1
        )
    Customer.all_objects.filter(pk=customer.pk).update(
        deleted_at=None, deleted_by=None, version=F("version") + 1
    )
    _refresh_children(customer)
    audit.record(by=by, obj=customer, action=audit.Action.RESTORED)


@transaction.atomic
def delete_record(*, obj: Any, by: User) -> None:
    """Soft-delete one record (customers: use `delete_customer`)."""
    if isinstance(obj, Customer):
        delete_customer(customer=obj, by=by)
        return
    ensure_can(by, obj, "delete")
    obj.soft_delete(by=by)
    audit.record(by=by, obj=obj, action=audit.Action.DELETED, at=obj.deleted_at)


@transaction.atomic
def restore_record(*, obj: Any, by: User) -> None:
    if isinstance(obj, Customer):
        restore_customer(customer=obj, by=by)
        return
    ensure_can(by, obj, "restore")
    _refuse_merged(obj)
    if isinstance(obj, Deal) or hasattr(obj, "customer_id"):
        parent = (
            Customer.all_objects.filter(pk=obj.customer_id)
            .values_list("deleted_at", flat=True)
            .first()
        )
        if parent is not None:
            raise ValidationError(_("Restore its customer first."))
    obj.restore()
    audit.record(by=by, obj=obj, action=audit.Action.RESTORED)


__all__ = [
    "Conversion",
    "PermissionDenied",
    "assign_customer",
    "check_stage_requirements",
    "claim_customer",
    "convert_lead",
    "create_customer",
    "create_deal",
    "create_lead",
    "delete_customer",
    "delete_record",
    "mark_deal_lost",
    "mark_deal_won",
    "move_deal_stage",
    "record_payment",
    "release_customer",
    "reopen_deal",
    "restore_customer",
    "restore_record",
]
