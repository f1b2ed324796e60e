"""Writes on quotes, contracts, payment plans, price lists, pipelines and stages, and
exchange rates: the only write path for them (pages, the API and imports call these).
Custom-field definitions: `customization.admin_services`.

Same contract as `crm.services`: keyword-only, atomic, and a refusal
(ValidationError with a message per field, PermissionDenied, NotVisible) writes
nothing. Set-up records (price lists, pipelines, exchange rates) are changed by
administrators only; everyone may read them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.audit import services as audit
from salesops.crm.models import (
    Contract,
    Customer,
    Deal,
    DealLine,
    PaymentPlan,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
)
from salesops.crm.services import _currency, _lock, check_picklists, writable
from salesops.customization import policy
from salesops.customization.services import clean_custom_values
from salesops.lib.money import money
from salesops.lib.services import ensure_can, ensure_right
from salesops.lib.updates import apply, check_fields, check_version
from salesops.org.models import Currency, ExchangeRate, Organisation
from salesops.pipeline.models import Pipeline, Stage
from salesops.users import admin_services
from salesops.users.models import User


def ensure_admin(user: User | None) -> None:
    """Set-up (pipelines, fields, rates) is for administrators."""
    admin_services.ensure_admin(user)


def _amount(value: Any, field: str, *, positive: bool = False) -> Decimal:
    try:
        result = money(value)
    except Exception:
        raise ValidationError(
            {field: _("Enter the amount as a number, such as 12000 or 12000.50.")}
        ) from None
    if result < 0 or (positive and result == 0):
        raise ValidationError(
            {
                field: _("The amount must be more than zero.")
                if positive
                else _("The amount cannot be negative.")
            }
        )
    return result


def _pct(value: Any, field: str) -> Decimal:
    try:
        result = Decimal(str(value)).quantize(Decimal("0.01"))
    except Exception:
        raise ValidationError({field: _("Enter a percentage between 0 and 100.")}) from None
    if not 0 <= result <= 100:
        raise ValidationError({field: _("Enter a percentage between 0 and 100.")})
    return result


def _number(prefix: str) -> str:
    return f"{prefix}-{timezone.now():%Y%m%d}-{secrets.token_hex(3).upper()}"


def _check_deal_customer(deal: Deal | None, customer: Customer) -> None:
    if deal is not None and deal.customer_id != customer.pk:
        raise ValidationError({"deal": _("The deal must belong to the same customer.")})


def _check_unique_number(model: Any, number: str, pk: int | None = None) -> None:
    qs = model.all_objects.filter(number=number)
    if pk is not None:
        qs = qs.exclude(pk=pk)
    if qs.exists():
        raise ValidationError({"number": _("The number “%(n)s” is already used.") % {"n": number}})


def _finish(obj: Any) -> None:
    obj.full_clean(validate_unique=False, validate_constraints=False)


# -- unit prices from price lists ------------------------------------------------------


def _list_applies(price_list: PriceList | None, day: dt.date) -> bool:
    return (
        price_list is not None
        and price_list.active
        and (price_list.valid_from is None or price_list.valid_from <= day)
        and (price_list.valid_until is None or day <= price_list.valid_until)
    )


def unit_price_for(
    product: Product,
    *,
    currency: str,
    deal: Deal | None = None,
    customer: Customer | None = None,
    day: dt.date | None = None,
) -> Decimal:
    """The default unit price of `product` on a quote's or a deal's line in `currency`.

    The one rule: the deal's price list if it has one, else the customer's, else the
    product's list price. A list passes its turn when it is retired, out of its dates
    on `day`, or has no entry for the product. The price is in the list's currency (the
    product's for its list price); in another currency it is converted at the
    organisation's exchange rates of `day`, and refused (a ValidationError on
    `unit_price` saying to add a rate or type the price) when there is no rate. A price
    typed on the line always wins: this is only the default."""
    org = Organisation.get()
    day = day or org.local_date()
    if customer is None and deal is not None:
        customer = deal.customer
    price, source = product.price, str(product.currency_id)
    for price_list in (
        deal.price_list if deal else None,
        customer.price_list if customer else None,
    ):
        if price_list is None or not _list_applies(price_list, day):
            continue
        item = PriceListItem.objects.filter(price_list=price_list, product=product).first()
        if item is not None:
            price, source = item.price, str(price_list.currency_id)
            break
    if source == currency:
        return money(price)
    try:
        rate = org.rate_on(source, day) / org.rate_on(currency, day)
    except ValidationError:
        raise ValidationError(
            {
                "unit_price": _(
                    "The price of “%(p)s” is in %(from)s and there is no exchange rate to "
                    "%(to)s: add the rate, or type the unit price."
                )
                % {"p": product.name, "from": source, "to": currency}
            }
        ) from None
    return money(Decimal(price) * rate)


# -- quotes (报价) --------------------------------------------------------------------

LINE_FIELDS = {"product", "description", "quantity", "unit_price", "discount_pct"}


def _lines(quote: Quote, by: User, lines: list[dict[str, Any]]) -> None:
    errors: dict[str, list[Any]] = {}
    built = []
    for i, line in enumerate(lines):
        unknown = set(line) - LINE_FIELDS
        if unknown:
            errors[f"lines.{i}"] = [
                _("These fields cannot be set: %(f)s.") % {"f": ", ".join(sorted(unknown))}
            ]
            continue
        product = line.get("product")
        if product is not None and not isinstance(product, Product):
            product = Product.objects.visible_to(by).filter(pk=product).first()
            if product is None:
                errors[f"lines.{i}.product"] = [_("There is no such product that you may see.")]
                continue
        if product is None and not line.get("description"):
            errors[f"lines.{i}.description"] = [_("Choose a product or describe the line.")]
            continue
        try:
            quantity = Decimal(str(line.get("quantity", 1)))
            if not quantity.is_finite() or quantity <= 0:
                raise ValueError
        except Exception:
            errors[f"lines.{i}.quantity"] = [_("The quantity must be more than zero.")]
            continue
        price = line.get("unit_price")
        try:
            if price is None and product is not None:
                price = unit_price_for(
                    product,
                    currency=str(quote.currency_id),
                    deal=quote.deal,
                    customer=quote.customer,
                )
            unit_price = _amount(price, "unit_price")
            discount = _pct(line.get("discount_pct", 0), "discount_pct")
        except ValidationError as e:
            for k, v in e.message_dict.items():
                errors[f"lines.{i}.{k}"] = v
            continue
        built.append(
            QuoteLine(
                quote=quote,
                product=product,
                description=str(line.get("description") or "")[:300],
                quantity=quantity.quantize(Decimal("0.01")),
                unit_price=unit_price,
                discount_pct=discount,
                order=i,
            )
        )
    if errors:
        raise ValidationError(errors)
    quote.lines.all().delete()
    QuoteLine.objects.bulk_create(built)


@transaction.atomic
def create_quote(
    *,
    by: User,
    customer: Customer,
    deal: Deal | None = None,
    currency: str | None = None,
    number: str = "",
    status: str = Quote.Status.DRAFT,
    discount_pct: Decimal | int | str = 0,
    valid_until: dt.date | None = None,
    notes: str = "",
    lines: list[dict[str, Any]] | None = None,
    custom: dict[str, Any] | None = None,
) -> Quote:
    """A quote for `customer` (optionally one of its deals), owned by `by`, with lines."""
    ensure_right(by, "quote", "create")
    policy.refuse_hidden_writes(by, "quote", set(custom or {}))
    ensure_can(by, customer, "view")
    if deal is not None:
        ensure_can(by, deal, "view")
    _check_deal_customer(deal, customer)
    number = number or _number("Q")
    _check_unique_number(Quote, number)
    quote = Quote(
        owner=by,
        number=number,
        customer=customer,
        deal=deal,
        currency_id=_currency(currency or (deal.currency_id if deal else None)),
        status=status,
        discount_pct=_pct(discount_pct, "discount_pct"),
        valid_until=valid_until,
        notes=notes,
    )
    quote.custom = clean_custom_values(object_type="quote", values=custom)
    _finish(quote)
    quote.save()
    _lines(quote, by, lines or [])
    audit.record(by=by, obj=quote, action=audit.Action.CREATED)
    return quote


@transaction.atomic
def update_quote(
    *,
    quote: Quote,
    by: User,
    data: dict[str, Any],
    lines: list[dict[str, Any]] | None = None,
    custom: dict[str, Any] | None = None,
    version: int | None = None,
) -> Quote:
    """Change a quote's fields; `lines`, when given, replace all its lines."""
    ensure_can(by, quote, "edit")
    quote = _lock(Quote, quote)
    check_version(quote, version)
    data = dict(data)
    policy.refuse_hidden_writes(by, "quote", set(data) | set(custom or {}))
    check_fields(data, writable(by, "quote"))
    check_picklists("quote", data)
    if "deal" in data and data["deal"] is not None:
        ensure_can(by, data["deal"], "view")
        _check_deal_customer(data["deal"], quote.customer)
    if "currency" in data:
        data["currency"] = _currency(data["currency"])
    if "discount_pct" in data:
        data["discount_pct"] = _pct(data["discount_pct"], "discount_pct")
    if data.get("number"):
        _check_unique_number(Quote, data["number"], quote.pk)
    shot = audit.snapshot(quote, data, custom=custom is not None)
    apply(quote, data)
    if custom is not None:
        quote.custom = clean_custom_values(
            object_type="quote", values=custom, existing=quote.custom
        )
    _finish(quote)
    quote.version += 1
    quote.save()
    if lines is not None:
        _lines(quote, by, lines)
    changes = shot.changes(quote) | (
        {"lines": {"old": None, "new": len(lines)}} if lines is not None else {}
    )
    audit.record(by=by, obj=quote, action=audit.Action.UPDATED, changes=changes)
    return quote


# -- contracts (合同) and payment plans (回款计划) ----------------------------------------


def _check_dates(starts_on: dt.date | None, ends_on: dt.date | None) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationError({"ends_on": _("The end date cannot be before the start date.")})


@transaction.atomic
def create_contract(
    *,
    by: User,
    customer: Customer,
    title: str,
    amount: Decimal | int | str,
    deal: Deal | None = None,
    currency: str | None = None,
    number: str = "",
    status: str = Contract.Status.DRAFT,
    signed_on: dt.date | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    custom: dict[str, Any] | None = None,
) -> Contract:
    """A contract with `customer`, owned by the customer's owner (else `by`)."""
    ensure_right(by, "contract", "create")
    policy.refuse_hidden_writes(by, "contract", set(custom or {}))
    ensure_can(by, customer, "view")
    if deal is not None:
        ensure_can(by, deal, "view")
    _check_deal_customer(deal, customer)
    _check_dates(starts_on, ends_on)
    number = number or _number("C")
    _check_unique_number(Contract, number)
    contract = Contract(
        owner=customer.owner or by,
        number=number,
        title=title,
        customer=customer,
        deal=deal,
        amount=_amount(amount, "amount"),
        currency_id=_currency(currency or (deal.currency_id if deal else None)),
        status=status,
        signed_on=signed_on,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    contract.custom = clean_custom_values(object_type="contract", values=custom)
    _finish(contract)
    contract.save()
    audit.record(by=by, obj=contract, action=audit.Action.CREATED)
    return contract


@transaction.atomic
def update_contract(
    *,
    contract: Contract,
    by: User,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    version: int | None = None,
) -> Contract:
    ensure_can(by, contract, "edit")
    contract = _lock(Contract, contract)
    check_version(contract, version)
    data = dict(data)
    policy.refuse_hidden_writes(by, "contract", set(data) | set(custom or {}))
    check_fields(data, writable(by, "contract"))
    check_picklists("contract", data)
    if "deal" in data and data["deal"] is not None:
        ensure_can(by, data["deal"], "view")
        _check_deal_customer(data["deal"], contract.customer)
    if "currency" in data:
        data["currency"] = _currency(data["currency"])
        if data["currency"] != contract.currency_id and contract.payments.exists():
            raise ValidationError(
                {"currency": _("Payments were recorded in this currency; it cannot change now.")}
            )
    if "amount" in data:
        data["amount"] = _amount(data["amount"], "amount")
        paid = contract.payments.aggregate(s=Sum("amount"))["s"] or Decimal(0)
        if data["amount"] < paid:
            raise ValidationError(
                {
                    "amount": _("%(paid)s has already been received; the amount cannot be less.")
                    % {"paid": money(paid)}
                }
            )
    if data.get("number"):
        _check_unique_number(Contract, data["number"], contract.pk)
    shot = audit.snapshot(contract, data, custom=custom is not None)
    apply(contract, data)
    _check_dates(contract.starts_on, contract.ends_on)
    if custom is not None:
        contract.custom = clean_custom_values(
            object_type="contract", values=custom, existing=contract.custom
        )
    _finish(contract)
    contract.version += 1
    contract.save()
    audit.record(by=by, obj=contract, action=audit.Action.UPDATED, changes=shot.changes(contract))
    return contract


def _check_plan_total(contract: Contract, amount: Decimal, exclude: int | None = None) -> None:
    qs = PaymentPlan.objects.filter(contract=contract)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    planned = qs.aggregate(s=Sum("amount"))["s"] or Decimal(0)
    if planned + amount > contract.amount:
        raise ValidationError(
            {
                "amount": _(
                    "The instalments would add up to %(total)s, more than the contract's %(amount)s."
                )
                % {"total": money(planned + amount), "amount": money(contract.amount)}
            }
        )


@transaction.atomic
def create_payment_plan(
    *,
    by: User,
    contract: Contract,
    due_on: dt.date,
    amount: Decimal | int | str,
    note: str = "",
) -> PaymentPlan:
    """An instalment of `contract`; the instalments may not add up to more than it."""
    ensure_right(by, "payment", "create")
    ensure_can(by, contract, "view")
    contract = _lock(Contract, contract)
    value = _amount(amount, "amount", positive=True)
    _check_plan_total(contract, value)
    plan = PaymentPlan(
        owner=contract.owner, contract=contract, due_on=due_on, amount=value, note=note
    )
    _finish(plan)
    plan.save()
    audit.record(by=by, obj=plan, action=audit.Action.CREATED)
    return plan


@transaction.atomic
def update_payment_plan(
    *, plan: PaymentPlan, by: User, data: dict[str, Any], version: int | None = None
) -> PaymentPlan:
    ensure_can(by, plan, "edit")
    plan = _lock(PaymentPlan, plan)
    check_version(plan, version)
    data = dict(data)
    policy.refuse_hidden_writes(by, "payment_plan", set(data))
    check_fields(data, writable(by, "payment_plan"))
    if "amount" in data:
        data["amount"] = _amount(data["amount"], "amount", positive=True)
        contract = _lock(Contract, plan.contract)
        _check_plan_total(contract, data["amount"], exclude=plan.pk)
        received = plan.payments.aggregate(s=Sum("amount"))["s"] or Decimal(0)
        if data["amount"] < received:
            raise ValidationError(
                {
                    "amount": _(
                        "%(paid)s has already been received on it; the amount cannot be less."
                    )
                    % {"paid": money(received)}
                }
            )
    shot = audit.snapshot(plan, data)
    apply(plan, data)
    _finish(plan)
    plan.version += 1
    plan.save()
    audit.record(by=by, obj=plan, action=audit.Action.UPDATED, changes=shot.changes(plan))
    return plan


# -- pipelines and stages ------------------------------------------------------------------


@transaction.atomic
def create_pipeline(
    *,
    by: User,
    name: str,
    stages: list[dict[str, Any]] | None = None,
    is_default: bool = False,
    active: bool = True,
    order: int = 0,
) -> Pipeline:
    """A pipeline with its stages in order. Without `stages`: one open stage, won and lost."""
    ensure_admin(by)
    if Pipeline.objects.filter(name=name).exists():
        raise ValidationError(
            {"name": _("There is already a pipeline named “%(n)s”.") % {"n": name}}
        )
    if is_default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    pipeline = Pipeline(name=name, is_default=is_default, active=active, order=order)
    _finish(pipeline)
    pipeline.save()
    audit.record(
        by=by,
        obj=pipeline,
        action=audit.Action.CREATED,
        changes=audit.values(pipeline, ["name", "is_default", "active", "order"]),
    )
    spec = stages or [
        {"name": str(_("Open")), "probability": 10},
        {"name": str(_("Won")), "probability": 100, "kind": Stage.Kind.WON},
        {"name": str(_("Lost")), "probability": 0, "kind": Stage.Kind.LOST},
    ]
    kinds = [s.get("kind", Stage.Kind.OPEN) for s in spec]
    if (
        Stage.Kind.OPEN not in kinds
        or kinds.count(Stage.Kind.WON) != 1
        or kinds.count(Stage.Kind.LOST) != 1
    ):
        raise ValidationError(
            {
                "stages": _(
                    "A pipeline needs at least one open stage, one won stage and one lost stage."
                )
            }
        )
    for i, stage in enumerate(spec, start=1):
        _new_stage(pipeline, i, stage, field=f"stages.{i - 1}", by=by)
    return pipeline


STAGE_FIELDS = {"name", "probability", "forecast_category", "kind", "required_fields"}


def _new_stage(
    pipeline: Pipeline, order: int, data: dict[str, Any], *, field: str, by: User
) -> Stage:
    unknown = set(data) - STAGE_FIELDS
    if unknown:
        raise ValidationError(
            {field: _("These fields cannot be set: %(f)s.") % {"f": ", ".join(sorted(unknown))}}
        )
    stage = Stage(pipeline=pipeline, order=order, **data)
    try:
        stage.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as e:
        raise ValidationError({f"{field}.{k}": v for k, v in e.message_dict.items()}) from None
    stage.save()
    audit.record(by=by, obj=stage, action=audit.Action.CREATED, changes=audit.values(stage, data))
    return stage


@transaction.atomic
def update_pipeline(*, pipeline: Pipeline, by: User, data: dict[str, Any]) -> Pipeline:
    ensure_admin(by)
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    check_fields(data, {"name", "is_default", "active", "order"})
    if (
        "name" in data
        and Pipeline.objects.filter(name=data["name"]).exclude(pk=pipeline.pk).exists()
    ):
        raise ValidationError(
            {"name": _("There is already a pipeline named “%(n)s”.") % {"n": data["name"]}}
        )
    if data.get("is_default"):
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
    shot = audit.snapshot(pipeline, data)
    apply(pipeline, data)
    _finish(pipeline)
    pipeline.save()
    audit.record(by=by, obj=pipeline, action=audit.Action.UPDATED, changes=shot.changes(pipeline))
    return pipeline


@transaction.atomic
def add_stage(
    *,
    pipeline: Pipeline,
    by: User,
    name: str,
    probability: int = 0,
    forecast_category: str | None = None,
    position: int | None = None,
    required_fields: list[str] | None = None,
) -> Stage:
    """An open stage, at `position` (1-based) among the stages or before won and lost."""
    ensure_admin(by)
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    stages = list(pipeline.stages.order_by("order"))
    open_count = sum(1 for s in stages if s.kind == Stage.Kind.OPEN)
    index = open_count if position is None else max(0, min(position - 1, len(stages)))
    # Renumber from the top down to keep (pipeline, order) unique at every step.
    top = (pipeline.stages.aggregate(m=Max("order"))["m"] or 0) + len(stages) + 1
    for offset, s in enumerate(stages):
        Stage.objects.filter(pk=s.pk).update(order=top + offset)
    data: dict[str, Any] = {"name": name, "probability": probability}
    if forecast_category:
        data["forecast_category"] = forecast_category
    if required_fields:
        data["required_fields"] = required_fields
    new_order = index + 1
    for i, s in enumerate(stages):
        Stage.objects.filter(pk=s.pk).update(order=i + 1 if i < index else i + 2)
    return _new_stage(pipeline, new_order, data, field="stage", by=by)


@transaction.atomic
def update_stage(*, stage: Stage, by: User, data: dict[str, Any]) -> Stage:
    """Rename a stage or change its default probability, forecast category and the
    deal fields it requires (`pipeline.requirements`); its kind and pipeline are fixed
    (deals and their history point at it)."""
    ensure_admin(by)
    stage = Stage.objects.select_for_update().get(pk=stage.pk)
    check_fields(data, {"name", "probability", "forecast_category", "required_fields"})
    shot = audit.snapshot(stage, data)
    apply(stage, data)
    _finish(stage)
    stage.save()
    audit.record(by=by, obj=stage, action=audit.Action.UPDATED, changes=shot.changes(stage))
    return stage


@transaction.atomic
def move_stage(*, stage: Stage, by: User, step: int) -> Stage:
    """Move `stage` `step` places later (negative: earlier) in its pipeline. Open stages
    move among the open stages, won and lost between themselves: the open ones come
    first (the board's columns, the funnel and a new deal's first stage follow the
    order)."""
    ensure_admin(by)
    pipeline = Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
    stages = list(pipeline.stages.order_by("order"))
    stage = next((s for s in stages if s.pk == stage.pk), stage)
    group = [s for s in stages if (s.kind == Stage.Kind.OPEN) == (stage.kind == Stage.Kind.OPEN)]
    index = group.index(stage)
    to = index + int(step)
    if step == 0:
        return stage
    if not 0 <= to < len(group):
        if stage.kind == Stage.Kind.OPEN:
            message = (
                _("“%(name)s” is already the first stage.")
                if to < 0
                else _("Open stages come before the won and lost stages.")
            )
        else:
            message = (
                _("Won and lost stages come after the open stages.")
                if to < 0
                else _("“%(name)s” is already the last stage.")
            )
        raise ValidationError({"order": message % {"name": stage.name}})
    shot = audit.snapshot(stage, ["order"])
    group.insert(to, group.pop(index))
    opens = [s for s in stages if s.kind == Stage.Kind.OPEN]
    closed = [s for s in stages if s.kind != Stage.Kind.OPEN]
    ordered = group + closed if stage.kind == Stage.Kind.OPEN else opens + group
    # Renumber from above the current numbers to keep (pipeline, order) unique at
    # every step.
    top = max(s.order for s in stages) + 1
    for offset, s in enumerate(ordered):
        Stage.objects.filter(pk=s.pk).update(order=top + offset)
    for i, s in enumerate(ordered, start=1):
        Stage.objects.filter(pk=s.pk).update(order=i)
        s.order = i
    audit.record(by=by, obj=stage, action=audit.Action.UPDATED, changes=shot.changes(stage))
    return stage


# -- exchange rates ----------------------------------------------------------------------


@transaction.atomic
def set_exchange_rate(
    *, by: User, currency: str, effective_on: dt.date, rate: Decimal | int | str
) -> ExchangeRate:
    """The rate of `currency` to the base currency from `effective_on`."""
    ensure_admin(by)
    code = str(currency).upper()
    if not Currency.objects.filter(code=code).exists():
        raise ValidationError(
            {"currency": _("“%(code)s” is not a known currency.") % {"code": code}}
        )
    try:
        value = Decimal(str(rate))
    except Exception:
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise ValidationError({"rate": _("The rate must be a number more than zero.")})
    if ExchangeRate.objects.filter(currency_id=code, effective_on=effective_on).exists():
        raise ValidationError(
            {
                "effective_on": _("%(code)s already has a rate on this day; change that one.")
                % {"code": code}
            }
        )
    row = ExchangeRate(currency_id=code, effective_on=effective_on, rate=value)
    _finish(row)
    row.save()
    audit.record(by=by, obj=row, action=audit.Action.CREATED)
    return row


@transaction.atomic
def update_exchange_rate(*, rate: ExchangeRate, by: User, data: dict[str, Any]) -> ExchangeRate:
    ensure_admin(by)
    row = ExchangeRate.objects.select_for_update().get(pk=rate.pk)
    check_fields(data, {"rate"})
    try:
        value = Decimal(str(data.get("rate", row.rate)))
    except Exception:
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise ValidationError({"rate": _("The rate must be a number more than zero.")})
    shot = audit.snapshot(row, ["rate"])
    row.rate = value
    _finish(row)
    row.save()
    audit.record(by=by, obj=row, action=audit.Action.UPDATED, changes=shot.changes(row))
    return row


# -- price lists (价格表) ------------------------------------------------------------------

PRICE_LIST_FIELDS = {"name", "currency", "valid_from", "valid_until", "active"}


def _price_items(price_list: PriceList, by: User, items: list[dict[str, Any]]) -> None:
    """Replace the list's items: one price per visible product."""
    errors: dict[str, list[Any]] = {}
    built: dict[int, PriceListItem] = {}
    for i, item in enumerate(items):
        unknown = set(item) - {"product", "price"}
        if unknown:
            errors[f"items.{i}"] = [
                _("These fields cannot be set: %(f)s.") % {"f": ", ".join(sorted(unknown))}
            ]
            continue
        product = item.get("product")
        if product is not None and not isinstance(product, Product):
            product = Product.objects.visible_to(by).filter(pk=product).first()
        if product is None:
            errors[f"items.{i}.product"] = [_("There is no such product that you may see.")]
            continue
        if product.pk in built:
            errors[f"items.{i}.product"] = [_("This product is already on the list.")]
            continue
        try:
            price = _amount(item.get("price"), "price")
        except ValidationError as e:
            errors[f"items.{i}.price"] = e.message_dict["price"]
            continue
        built[product.pk] = PriceListItem(price_list=price_list, product=product, price=price)
    if errors:
        raise ValidationError(errors)
    price_list.items.all().delete()
    PriceListItem.objects.bulk_create(built.values())


def _check_price_list(price_list: PriceList) -> None:
    if PriceList.objects.filter(name=price_list.name).exclude(pk=price_list.pk).exists():
        raise ValidationError(
            {"name": _("There is already a price list named “%(n)s”.") % {"n": price_list.name}}
        )
    if (
        price_list.valid_from
        and price_list.valid_until
        and price_list.valid_until < price_list.valid_from
    ):
        raise ValidationError({"valid_until": _("The end date cannot be before the start date.")})
    _finish(price_list)


@transaction.atomic
def create_price_list(
    *,
    by: User,
    name: str,
    currency: str | None = None,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    active: bool = True,
    items: list[dict[str, Any]] | None = None,
) -> PriceList:
    """A price list (administrators) with its items: [{product, price}, ...]."""
    ensure_admin(by)
    price_list = PriceList(
        name=name,
        currency_id=_currency(currency),
        valid_from=valid_from,
        valid_until=valid_until,
        active=active,
    )
    _check_price_list(price_list)
    price_list.save()
    _price_items(price_list, by, items or [])
    audit.record(
        by=by,
        obj=price_list,
        action=audit.Action.CREATED,
        changes=audit.values(price_list, sorted(PRICE_LIST_FIELDS)),
    )
    return price_list


@transaction.atomic
def update_price_list(
    *,
    price_list: PriceList,
    by: User,
    data: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
) -> PriceList:
    """Change a price list; `items`, when given, replace all its items."""
    ensure_admin(by)
    price_list = PriceList.objects.select_for_update().get(pk=price_list.pk)
    data = dict(data)
    check_fields(data, PRICE_LIST_FIELDS)
    if "currency" in data:
        data["currency"] = _currency(data["currency"])
    shot = audit.snapshot(price_list, data)
    apply(price_list, data)
    _check_price_list(price_list)
    price_list.save()
    changes = shot.changes(price_list)
    if items is not None:
        _price_items(price_list, by, items)
        changes["items"] = {"new": len(items)}
    audit.record(by=by, obj=price_list, action=audit.Action.UPDATED, changes=changes)
    return price_list


@transaction.atomic
def retire_price_list(*, price_list: PriceList, by: User, active: bool = False) -> PriceList:
    """Take a price list out of use (`active=False`) or back into use, items kept."""
    ensure_admin(by)
    was = price_list.active
    PriceList.objects.filter(pk=price_list.pk).update(active=active)
    price_list.refresh_from_db()
    if was != active:
        audit.record(
            by=by,
            obj=price_list,
            action=audit.Action.UPDATED,
            changes={"active": {"old": was, "new": active}},
        )
    return price_list


# -- a deal's product lines ---------------------------------------------------------------


def _describe(line: DealLine) -> str:
    # No price: the audit trail is read by people a role may hide the deal's amount from.
    return f"{line.product} × {line.quantity}"


def _deal_for_lines(deal: Deal, by: User) -> Deal:
    """The deal locked for a change of its lines: editing the deal is the right needed,
    and a line's price is a share of the amount, so a role that hides it may not."""
    ensure_can(by, deal, "edit")
    policy.refuse_hidden_writes(by, "deal", {"amount"})
    return _lock(Deal, deal)


def _quantity(value: Any) -> Decimal:
    try:
        result = Decimal(str(value)).quantize(Decimal("0.01"))
        if not result.is_finite() or result <= 0:
            raise ValueError
    except Exception:
        raise ValidationError({"quantity": _("The quantity must be more than zero.")}) from None
    return result


@transaction.atomic
def add_deal_line(
    *,
    deal: Deal,
    by: User,
    product: Product | int | str,
    quantity: Decimal | int | str = 1,
    unit_price: Decimal | int | str | None = None,
    discount_pct: Decimal | int | str = 0,
) -> DealLine:
    """A product line on `deal`; without a unit price, the price list's (`unit_price_for`)."""
    deal = _deal_for_lines(deal, by)
    if not isinstance(product, Product):
        found: Product | None = (
            Product.objects.visible_to(by).filter(pk=product).first()
            if str(product).isdigit()
            else None
        )
        if found is None:
            raise ValidationError({"product": _("There is no such product that you may see.")})
        product = found
    if unit_price is None or unit_price == "":
        unit_price = unit_price_for(product, currency=str(deal.currency_id), deal=deal)
    line = DealLine(
        deal=deal,
        product=product,
        quantity=_quantity(quantity),
        unit_price=_amount(unit_price, "unit_price"),
        discount_pct=_pct(discount_pct, "discount_pct"),
    )
    line.save()
    audit.record(
        by=by,
        obj=deal,
        action=audit.Action.UPDATED,
        changes={"lines": {"old": None, "new": _describe(line)}},
    )
    return line


@transaction.atomic
def update_deal_line(*, line: DealLine, by: User, data: dict[str, Any]) -> DealLine:
    """Change a line's quantity, unit price or discount (the product stays: remove and
    add another)."""
    deal = _deal_for_lines(line.deal, by)
    line = DealLine.objects.select_for_update().get(pk=line.pk, deal=deal)
    unknown = set(data) - {"quantity", "unit_price", "discount_pct"}
    if unknown:
        raise ValidationError(
            _("These fields cannot be set: %(f)s.") % {"f": ", ".join(sorted(unknown))}
        )
    before = (_describe(line), line.unit_price, line.discount_pct)
    if "quantity" in data:
        line.quantity = _quantity(data["quantity"])
    if "unit_price" in data:
        line.unit_price = _amount(data["unit_price"], "unit_price")
    if "discount_pct" in data:
        line.discount_pct = _pct(data["discount_pct"], "discount_pct")
    if before == (_describe(line), line.unit_price, line.discount_pct):
        return line
    line.save()
    audit.record(
        by=by,
        obj=deal,
        action=audit.Action.UPDATED,
        changes={"lines": {"old": before[0], "new": _describe(line)}},
    )
    return line


@transaction.atomic
def remove_deal_line(*, line: DealLine, by: User) -> None:
    deal = _deal_for_lines(line.deal, by)
    line = DealLine.objects.select_for_update().get(pk=line.pk, deal=deal)
    described = _describe(line)
    line.delete()
    audit.record(
        by=by,
        obj=deal,
        action=audit.Action.UPDATED,
        changes={"lines": {"old": described, "new": None}},
    )
