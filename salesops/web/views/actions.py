"""Buttons on records: claim and release (公海), stage moves, won/lost/reopen, task done,
delete, and lead conversion. Each finds the record within `visible_to` (else 404) and
calls one service; its refusal comes back as the service's own message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as L
from django.views.decorators.http import require_POST

from salesops.activities import services as activities
from salesops.activities.models import FollowUp, Task
from salesops.crm import queries
from salesops.crm import services as crm
from salesops.crm.models import Contact, Contract, Customer, Deal, Lead, Product, Quote
from salesops.customization import policy
from salesops.org.models import Currency
from salesops.pipeline.models import Pipeline, Stage
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text, show_error
from salesops.web.views.records import masked
from salesops.web.views.recycle import deleted_message

DELETABLE = {
    "lead": (Lead, "lead_list"),
    "customer": (Customer, "customer_list"),
    "contact": (Contact, "contact_list"),
    "deal": (Deal, "deal_list"),
    "product": (Product, "product_list"),
    "quote": (Quote, "quote_list"),
    "contract": (Contract, "contract_list"),
    "task": (Task, "task_list"),
    "followup": (FollowUp, "followup_list"),
}


def back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = default
    return HttpResponseRedirect(target or default)


def visible_or_404(model: Any, request: HttpRequest, pk: int, **related: Any) -> Any:
    qs = model.objects.visible_to(me(request))
    return get_object_or_404(qs, pk=pk)


@login_required
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    customer = visible_or_404(Customer, request, pk)
    try:
        crm.claim_customer(customer=customer, by=me(request))
    except REFUSALS as e:
        messages.error(request, error_text(e))
    else:
        messages.success(request, _("“%(name)s” is now yours.") % {"name": customer.name})
    return back(request, reverse("customer_detail", args=[pk]))


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    customer = visible_or_404(Customer, request, pk)
    try:
        crm.release_customer(
            customer=customer, by=me(request), reason=request.POST.get("reason", "")
        )
    except REFUSALS as e:
        messages.error(request, error_text(e))
    else:
        messages.success(
            request, _("“%(name)s” is back in the public pool.") % {"name": customer.name}
        )
    return back(request, reverse("customer_mine"))


@login_required
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    task = visible_or_404(Task, request, pk)
    try:
        activities.complete_task(task=task, by=me(request), done=task.done_at is None)
    except REFUSALS as e:
        messages.error(request, error_text(e))
    else:
        messages.success(request, _("Task updated."))
    return back(request, reverse("task_detail", args=[pk]))


@login_required
@require_POST
def delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    if kind not in DELETABLE:
        raise Http404
    model, list_url = DELETABLE[kind]
    obj = visible_or_404(model, request, pk)
    try:
        crm.delete_record(obj=obj, by=me(request))
    except REFUSALS as e:
        messages.error(request, error_text(e))
        return HttpResponseRedirect(reverse(f"{kind}_detail", args=[pk]))
    messages.success(request, deleted_message(obj))
    return HttpResponseRedirect(reverse(list_url))


# -- deals: stages, won, lost ----------------------------------------------------------------


def _move(request: HttpRequest, deal: Deal, stage: Stage | None) -> str | None:
    """Move `deal` as the request asks; the refusal's message, or None when done."""
    if stage is None:
        return _("Choose a stage of the deal's own pipeline.")
    closed_on = None
    raw = request.POST.get("closed_on", "")
    if raw:
        try:
            closed_on = dt.date.fromisoformat(raw)
        except ValueError:
            return _("Write the date as YYYY-MM-DD.")
    version = request.POST.get("version", "")
    if version.isdigit() and int(version) != deal.version:
        return _(
            "Someone else changed this deal after you opened it. Reload it, then make your change again."
        )
    try:
        crm.move_deal_stage(
            deal=deal,
            stage=stage,
            by=me(request),
            lost_reason=request.POST.get("lost_reason", ""),
            lost_note=request.POST.get("lost_note", ""),
            closed_on=closed_on,
        )
    except REFUSALS as e:
        return error_text(e)
    return None


@login_required
@require_POST
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal to the posted stage (the board's drag and drop, its menu, and the
    deal page all post here). An htmx post from the board gets the board back."""
    deal = visible_or_404(Deal, request, pk)
    raw = request.POST.get("stage", "")
    kind = request.POST.get("to", "")
    if kind in ("won", "lost"):
        stage = deal.pipeline.won_stage() if kind == "won" else deal.pipeline.lost_stage()
    elif kind == "reopen":
        stage = None
        try:
            crm.reopen_deal(deal=deal, by=me(request))
        except REFUSALS as e:
            error: str | None = error_text(e)
        else:
            error = None
        return _after_move(request, deal, error)
    else:
        stage = (
            Stage.objects.filter(pk=raw, pipeline_id=deal.pipeline_id).first()
            if raw.isdigit()
            else None
        )
    return _after_move(request, deal, _move(request, deal, stage))


def _after_move(request: HttpRequest, deal: Deal, error: str | None) -> HttpResponse:
    if request.htmx and request.POST.get("from") == "board":  # type: ignore[attr-defined]
        from salesops.web.views.board import render_board

        return render_board(request, deal.pipeline, error=error, moved=None if error else deal.pk)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("The deal was updated."))
    return back(request, reverse("deal_detail", args=[deal.pk]))


# -- leads: conversion -------------------------------------------------------------------------


class ConvertForm(forms.Form):
    customer = forms.TypedChoiceField(
        label=L("Customer"), coerce=int, required=False, empty_value=None
    )
    with_deal = forms.BooleanField(label=L("Create a deal too"), required=False, initial=True)
    deal_name = forms.CharField(label=L("Deal name"), max_length=200, required=False)
    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.filter(active=True), label=L("Pipeline"), required=False
    )
    amount = forms.DecimalField(label=L("Amount"), required=False, min_value=0, decimal_places=2)
    currency = forms.ModelChoiceField(
        queryset=Currency.objects.filter(active=True), label=L("Currency"), required=False
    )
    expected_close = forms.DateField(
        label=L("Expected close date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


@login_required
def convert(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn a lead into a customer (new, or one of the look-alikes), a contact and a
    deal, after showing the records that look like it."""
    lead = visible_or_404(Lead, request, pk)
    if lead.status == Lead.Status.CONVERTED:
        messages.info(request, _("This lead was already converted."))
        return HttpResponseRedirect(reverse("lead_detail", args=[pk]))
    dupes = queries.duplicates_of_lead(lead, me(request))
    form = ConvertForm(
        request.POST or None,
        initial={
            "deal_name": lead.company or lead.name,
            "pipeline": getattr(Pipeline.default(), "pk", None),
            "with_deal": True,
        },
    )
    # The new deal's fields the reader may not see are not offered (the service's
    # defaults apply).
    for name in ("amount", "currency", "expected_close", "pipeline"):
        if not policy.can_see(me(request), "deal", name):
            del form.fields[name]
    form.fields["customer"].choices = [  # type: ignore[attr-defined]
        ("", _("A new customer")),
        *((c.pk, str(c)) for c in dupes["customers"] if c.owner_id is not None),
    ]
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        chosen = None
        if d["customer"]:
            chosen = next((c for c in dupes["customers"] if c.pk == d["customer"]), None)
        try:
            result = crm.convert_lead(
                lead=lead,
                by=me(request),
                customer=chosen,
                with_deal=d["with_deal"],
                deal_name=d["deal_name"],
                pipeline=d.get("pipeline"),
                amount=d.get("amount") or 0,
                currency=d["currency"].pk if d.get("currency") else None,
                expected_close=d.get("expected_close"),
            )
        except REFUSALS as e:
            show_error(form, e)
        else:
            messages.success(request, _("The lead was converted."))
            if result.deal is not None:
                return HttpResponseRedirect(reverse("deal_detail", args=[result.deal.pk]))
            assert result.customer is not None
            return HttpResponseRedirect(reverse("customer_detail", args=[result.customer.pk]))
    # The look-alikes show only what the reader may see of a customer and a contact.
    shown = {
        "customers": masked(me(request), "customer", dupes["customers"]),
        "contacts": masked(me(request), "contact", dupes["contacts"]),
    }
    return render(
        request,
        "web/convert.html",
        {"lead": lead, "form": form, "dupes": shown, "title": _("Convert lead")},
    )
