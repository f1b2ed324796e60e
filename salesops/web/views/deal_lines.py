"""A deal's product lines, edited on the deal page. Writes go through
`commerce_services.add_deal_line` / `update_deal_line` / `remove_deal_line`, which check
the right to edit the deal, the field policy and every value, and write the audit entry."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesops.crm import commerce_services as commerce
from salesops.crm.models import Deal, DealLine, Product
from salesops.customization import policy
from salesops.lib.services import ensure_can
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text
from salesops.web.views.actions import back, visible_or_404


def may_edit_lines(user: Any, deal: Deal) -> bool:
    """Whether the deal page offers the lines' forms: the same checks as the services."""
    try:
        ensure_can(user, deal, "edit")
    except REFUSALS:
        return False
    return policy.can_see(user, "deal", "amount")


def line_products(user: Any) -> Any:
    return Product.objects.visible_to(user).filter(active=True).order_by("name")[:500]


def _deal(request: HttpRequest, pk: int) -> Deal:
    deal = visible_or_404(Deal, request, pk)
    if not may_edit_lines(me(request), deal):
        raise PermissionDenied(_("You may not change this deal's products."))
    return deal


def _done(request: HttpRequest, deal: Deal, error: Exception | None, ok: str) -> HttpResponse:
    if error is not None:
        messages.error(request, error_text(error))
    else:
        messages.success(request, ok)
    return back(request, reverse("deal_detail", args=[deal.pk]) + "#deal-lines")


def _posted(request: HttpRequest, *keys: str) -> dict[str, str]:
    return {k: request.POST[k].strip() for k in keys if request.POST.get(k, "").strip() != ""}


@login_required
@require_POST
def line_add(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal(request, pk)
    data = _posted(request, "product", "quantity", "unit_price", "discount_pct")
    if "product" not in data:
        return _done(request, deal, ValueError(_("Choose a product.")), "")
    try:
        commerce.add_deal_line(deal=deal, by=me(request), **data)
    except REFUSALS as e:
        return _done(request, deal, e, "")
    return _done(request, deal, None, _("The product line was added."))


@login_required
@require_POST
def line_change(request: HttpRequest, pk: int, line: int) -> HttpResponse:
    deal = _deal(request, pk)
    row = get_object_or_404(DealLine, pk=line, deal=deal)
    try:
        commerce.update_deal_line(
            line=row,
            by=me(request),
            data=_posted(request, "quantity", "unit_price", "discount_pct"),
        )
    except REFUSALS as e:
        return _done(request, deal, e, "")
    return _done(request, deal, None, _("The product line was changed."))


@login_required
@require_POST
def line_remove(request: HttpRequest, pk: int, line: int) -> HttpResponse:
    deal = _deal(request, pk)
    row = get_object_or_404(DealLine, pk=line, deal=deal)
    try:
        commerce.remove_deal_line(line=row, by=me(request))
    except REFUSALS as e:
        return _done(request, deal, e, "")
    return _done(request, deal, None, _("The product line was removed."))
