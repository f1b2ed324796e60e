"""Actions on one record — the same services the pages call: convert a lead, move a
deal's stage, mark it won or lost, reopen it, claim / release / assign a pool
customer, complete a task — and a deal's stage history (read only)."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from pydantic import Field

from salesops.activities import services as activities
from salesops.api import resources as r
from salesops.api.errors import NOT_FOUND, ApiError, field_errors
from salesops.api.framework import (
    READ_ERRORS,
    WRITE_ERRORS,
    Resource,
    _check_version,
    _locked,
    if_match,
    json_response,
    one,
    refuse_hidden_writes,
    serialize,
)
from salesops.api.schemas import Strict
from salesops.crm import services as crm
from salesops.crm.models import Customer
from salesops.crm.models.deals import StageHistory
from salesops.pipeline.models import Pipeline, Stage
from salesops.users.models import User

router = Router()


def _act(request: HttpRequest, resource: Resource, pk: int, fn: Any) -> Any:
    """Lock the visible record, honour If-Match, run the service."""
    version = if_match(request)
    with transaction.atomic():
        obj = _locked(resource, request.user, pk)
        _check_version(obj, version)
        return fn(obj)


def _ref(model: Any, pk: int | None, field: str) -> Any:
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise field_errors(field, NOT_FOUND)
    return obj


# -- leads ------------------------------------------------------------------------------


class ConvertIn(Strict):
    customer: int | None = Field(None, description="Attach to this customer instead of a new one.")
    with_deal: bool = True
    deal_name: str = Field("", max_length=200)
    pipeline: int | None = None
    amount: Decimal = Field(Decimal(0), ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, min_length=3, max_length=3)
    expected_close: dt.date | None = None


#: ConvertIn's fields that set a field of the new deal: name in the body -> deal field.
CONVERT_DEAL_FIELDS = {
    "deal_name": "name",
    "pipeline": "pipeline",
    "amount": "amount",
    "currency": "currency",
    "expected_close": "expected_close",
}


class ConvertOut(Schema):
    created: bool
    lead: r.leads.out  # type: ignore[name-defined]
    customer: int | None
    contact: int | None
    deal: int | None


@router.post(
    "/leads/{int:id}/convert",
    response={200: ConvertOut, **WRITE_ERRORS},
    tags=["Leads"],
    operation_id="leads_convert",
    summary="Convert a lead to a customer, a contact and a deal",
    description="Converting a converted lead returns what it became (created: false).",
)
def convert_lead(request: HttpRequest, id: int, payload: ConvertIn) -> HttpResponse:
    user: Any = request.user
    # The new deal's fields the caller may not see cannot be set either.
    sent = payload.model_fields_set & set(CONVERT_DEAL_FIELDS)
    refuse_hidden_writes(r.deals, user, {CONVERT_DEAL_FIELDS[k]: True for k in sent})
    customer = None
    if payload.customer is not None:
        customer = Customer.objects.visible_to(user).filter(pk=payload.customer).first()
        if customer is None:
            raise field_errors("customer", NOT_FOUND)
    pipeline = _ref(Pipeline, payload.pipeline, "pipeline")
    result = _act(
        request,
        r.leads,
        id,
        lambda lead: crm.convert_lead(
            lead=lead,
            by=user,
            customer=customer,
            with_deal=payload.with_deal,
            deal_name=payload.deal_name,
            pipeline=pipeline,
            amount=payload.amount,
            currency=payload.currency,
            expected_close=payload.expected_close,
        ),
    )
    return json_response(
        {
            "created": result.created,
            "lead": serialize([result.lead], r.leads, user)[0],
            "customer": result.customer.pk if result.customer else None,
            "contact": result.contact.pk if result.contact else None,
            "deal": result.deal.pk if result.deal else None,
        }
    )


# -- deals ------------------------------------------------------------------------------


class MoveIn(Strict):
    stage: int
    lost_reason: str = Field("", max_length=100)
    lost_note: str = ""
    closed_on: dt.date | None = None


class WonIn(Strict):
    closed_on: dt.date | None = None


class LostIn(Strict):
    reason: str = Field(..., min_length=1, max_length=100)
    note: str = ""
    closed_on: dt.date | None = None


class ReopenIn(Strict):
    stage: int | None = Field(None, description="Default: the last open stage it was in.")


#: The deal actions' body fields that set a field of the deal: body name -> deal field.
DEAL_ACTION_FIELDS = {
    "lost_reason": "lost_reason",
    "reason": "lost_reason",
    "lost_note": "lost_note",
    "note": "lost_note",
    "closed_on": "closed_on",
}


def _deal_action(path: str, schema: Any, summary: str, call: Any) -> None:
    @router.post(
        f"/deals/{{int:id}}/{path}",
        response={200: r.deals.out, **WRITE_ERRORS},
        tags=["Deals"],
        operation_id=f"deals_{path.replace('-', '_')}",
        summary=summary,
        description="Send If-Match with the deal's ETag to refuse a stale change (412).",
    )
    def view(request: HttpRequest, id: int, payload: schema) -> HttpResponse:
        user = request.user
        sent = payload.model_fields_set & set(DEAL_ACTION_FIELDS)
        refuse_hidden_writes(r.deals, user, {DEAL_ACTION_FIELDS[k]: True for k in sent})
        deal = _act(request, r.deals, id, lambda d: call(d, user, payload))
        return one(r.deals, user, deal)


_deal_action(
    "move-stage",
    MoveIn,
    "Move a deal to another stage of its pipeline",
    lambda d, u, p: crm.move_deal_stage(
        deal=d,
        stage=_ref(Stage, p.stage, "stage"),
        by=u,
        lost_reason=p.lost_reason,
        lost_note=p.lost_note,
        closed_on=p.closed_on,
    ),
)
_deal_action(
    "won",
    WonIn,
    "Mark a deal won",
    lambda d, u, p: crm.mark_deal_won(deal=d, by=u, closed_on=p.closed_on),
)
_deal_action(
    "lost",
    LostIn,
    "Mark a deal lost",
    lambda d, u, p: crm.mark_deal_lost(
        deal=d, by=u, reason=p.reason, note=p.note, closed_on=p.closed_on
    ),
)
_deal_action(
    "reopen",
    ReopenIn,
    "Reopen a won or lost deal",
    lambda d, u, p: crm.reopen_deal(deal=d, by=u, stage=_ref(Stage, p.stage, "stage")),
)


class StageHistoryOut(Schema):
    id: int
    stage: int
    entered_at: dt.datetime
    left_at: dt.datetime | None
    entered_by: int | None


class StageHistoryPage(Schema):
    data: list[StageHistoryOut]


@router.get(
    "/deals/{int:id}/stage-history",
    response={200: StageHistoryPage, **READ_ERRORS},
    tags=["Deals"],
    operation_id="deals_stage_history",
    summary="A deal's stage history, oldest first (read only)",
)
def stage_history(request: HttpRequest, id: int) -> HttpResponse:
    if not r.deals.queryset(request.user).filter(pk=id).exists():
        raise ApiError(404, NOT_FOUND)
    if "stage" in r.deals.hidden(request.user):
        raise ApiError(403, _("Your role hides the stage of deals, so their history too."))
    rows = StageHistory.objects.filter(deal_id=id).order_by("entered_at", "id")
    data = [
        {
            "id": h.pk,
            "stage": h.stage_id,
            "entered_at": h.entered_at,
            "left_at": h.left_at,
            "entered_by": h.entered_by_id,
        }
        for h in rows
    ]
    return json_response({"data": data})


# -- the public pool --------------------------------------------------------------------


class ClaimIn(Strict):
    pass


class ReleaseIn(Strict):
    reason: str = Field("", max_length=200)


class AssignIn(Strict):
    to: int = Field(..., description="The user who gets the customer.")


def _customer_action(path: str, schema: Any, summary: str, call: Any) -> None:
    @router.post(
        f"/customers/{{int:id}}/{path}",
        response={200: r.customers.out, **WRITE_ERRORS},
        tags=["Customers"],
        operation_id=f"customers_{path}",
        summary=summary,
    )
    def view(request: HttpRequest, id: int, payload: schema) -> HttpResponse:
        user = request.user
        customer = _act(request, r.customers, id, lambda c: call(c, user, payload))
        fresh = r.customers.queryset(user).prefetch_related("tags").filter(pk=customer.pk).first()
        if fresh is None:  # released out of the caller's scope: show what they sent
            fresh = customer
        return one(r.customers, user, fresh)


_customer_action(
    "claim",
    ClaimIn,
    "Claim a customer from the public pool",
    lambda c, u, p: crm.claim_customer(customer=c, by=u),
)
_customer_action(
    "release",
    ReleaseIn,
    "Release a customer to the public pool",
    lambda c, u, p: crm.release_customer(customer=c, by=u, reason=p.reason),
)
_customer_action(
    "assign",
    AssignIn,
    "Give a customer to someone in your data scope",
    lambda c, u, p: crm.assign_customer(customer=c, to=_ref(User, p.to, "to"), by=u),
)


# -- tasks ------------------------------------------------------------------------------


class CompleteIn(Strict):
    done: bool = True


@router.post(
    "/tasks/{int:id}/complete",
    response={200: r.tasks.out, **WRITE_ERRORS},
    tags=["Follow-ups and tasks"],
    operation_id="tasks_complete",
    summary="Mark a task done (or not done with done: false)",
)
def complete_task(request: HttpRequest, id: int, payload: CompleteIn) -> HttpResponse:
    user = request.user
    task = _act(
        request,
        r.tasks,
        id,
        lambda t: activities.complete_task(task=t, by=user, done=payload.done),  # type: ignore[arg-type]
    )
    return one(r.tasks, user, task)
