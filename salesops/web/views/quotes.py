"""Quotes (报价): lines with discounts and totals, a printable page. Writes go through
`commerce_services.create_quote` / `update_quote`, which check every line."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as L

from salesops.crm import commerce_services as commerce
from salesops.crm.models import Customer, Deal, Product, Quote
from salesops.customization import layouts, policy
from salesops.customization.registry import FieldSpec
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, RecordForm, initial_of
from salesops.web.forms import show_error as show_form_error
from salesops.web.views.create import create_specs
from salesops.web.views.records import RecordPage

#: Empty line rows offered on a new quote (more on request).
LINES = 5
MAX_LINES = 100


class LineForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), label=L("Product"), required=False
    )
    description = forms.CharField(label=L("Description"), max_length=300, required=False)
    quantity = forms.DecimalField(label=L("Quantity"), required=False, initial=1)
    unit_price = forms.DecimalField(label=L("Unit price"), required=False)
    discount_pct = forms.DecimalField(label=L("Discount (%)"), required=False, initial=0)

    def is_blank(self) -> bool:
        d = self.cleaned_data
        return not d.get("product") and not d.get("description")


LineFormSet = forms.formset_factory(LineForm, extra=0, max_num=MAX_LINES, absolute_max=MAX_LINES)


def _line_formset(request: HttpRequest, data: Any = None, initial: list | None = None) -> Any:
    rows = request.GET.get("rows", "")
    extra = min(int(rows), MAX_LINES) if rows.isdigit() else LINES
    formset = forms.formset_factory(
        LineForm, extra=extra, max_num=MAX_LINES, absolute_max=MAX_LINES
    )(data, initial=initial, prefix="line")
    products = Product.objects.visible_to(me(request)).filter(active=True).order_by("name")[:500]
    for form in formset.forms:
        chooser: Any = form.fields["product"]
        chooser.queryset = Product.objects.visible_to(me(request))
        chooser.widget.choices = [
            ("", "—"),
            *((p.pk, f"{p.name} · {p.price} {p.currency_id}") for p in products),
        ]
    return formset


def _lines(formset: Any) -> list[dict[str, Any]]:
    out = []
    for form in formset.forms:
        if not form.is_valid() or form.is_blank():
            continue
        d = form.cleaned_data
        line: dict[str, Any] = {
            "product": d.get("product"),
            "description": d.get("description") or "",
            "quantity": d["quantity"] if d.get("quantity") is not None else 1,
            "discount_pct": d.get("discount_pct") or 0,
        }
        if d.get("unit_price") is not None:
            line["unit_price"] = d["unit_price"]
        out.append(line)
    return out


def _line_errors(formset: Any, error: Exception) -> None:
    """Service errors keyed lines.<i>.<field> go next to that line's field; the index is
    of the non-blank lines sent, so map it back to the form row."""
    from django.core.exceptions import ValidationError

    if not isinstance(error, ValidationError) or not hasattr(error, "error_dict"):
        return
    rows = [f for f in formset.forms if f.is_valid() and not f.is_blank()]
    for key, messages_ in error.message_dict.items():
        if not key.startswith("lines."):
            continue
        parts = key.split(".")
        index = int(parts[1]) if parts[1].isdigit() else -1
        if 0 <= index < len(rows):
            field = parts[2] if len(parts) > 2 and parts[2] in rows[index].fields else None
            for m in messages_:
                rows[index].add_error(field, m)


def _page(request: HttpRequest, template: str, **context: Any) -> HttpResponse:
    return render(request, template, context)


#: A quote stays on the customer (and deal) it was started from; its lines have a form
#: of their own.
FIXED = ("customer", "deal", "lines")


def quote_specs(user: Any, quote: Quote | None) -> list[FieldSpec]:
    """The quote's fields the person may see and set: as the create service takes them
    for a new quote, as the update service takes them for one that exists."""
    if quote is None:
        return create_specs(user, "quote", commerce.create_quote, leave_out=FIXED)
    from salesops.crm.services import writable

    allowed = writable(user, "quote") - set(FIXED)
    return [f for f in policy.editable_fields(user, "quote") if f.is_custom or f.key in allowed]


def _context(request: HttpRequest, quote: Quote | None) -> tuple[Any, Any]:
    """The customer and deal of a new quote (from the query string) or of `quote`."""
    user: Any = me(request)
    if quote is not None:
        return quote.customer, quote.deal
    if not user.has_right("quote", "create"):
        raise PermissionDenied(_("Your role does not allow you to create this kind of record."))
    raw = request.GET.get("customer", "")
    customer = Customer.objects.visible_to(user).filter(pk=raw).first() if raw.isdigit() else None
    if customer is None:
        raise Http404(_("Open a customer and create the quote from there."))
    raw = request.GET.get("deal", "")
    deal = None
    if raw.isdigit():
        deal = get_object_or_404(Deal.objects.visible_to(user), pk=raw, customer=customer)
    return customer, deal


def _save(
    request: HttpRequest, quote: Quote | None, form: RecordForm, formset: Any, **to: Any
) -> Quote:
    user: Any = me(request)
    data = {k: v for k, v in form.values().items() if v is not None}
    if quote is None:
        return commerce.create_quote(
            by=user, **to, **data, lines=_lines(formset), custom=form.custom()
        )
    version = request.POST.get("version", "")
    return commerce.update_quote(
        quote=quote,
        by=user,
        data=data,
        lines=_lines(formset),
        custom=form.custom(),
        version=int(version) if version.isdigit() else -1,
    )


def _edit_quote(request: HttpRequest, quote: Quote | None) -> HttpResponse:
    user: Any = me(request)
    customer, deal = _context(request, quote)
    specs = quote_specs(user, quote)
    initial: dict[str, Any] = {}
    line_initial = None
    if quote is not None:
        initial = initial_of(quote, specs)
        line_initial = [
            {
                "product": line.product_id,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount_pct": line.discount_pct,
            }
            for line in quote.lines.all()
        ]
    elif deal is not None:
        initial["currency"] = deal.currency_id
    form = RecordForm(
        request.POST or None,
        sections=layouts.arrange(user, "quote", specs),
        user=user,
        initial=initial,
    )
    formset = _line_formset(request, request.POST or None, line_initial)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            quote = _save(request, quote, form, formset, customer=customer, deal=deal)
        except REFUSALS as e:
            show_form_error(form, e)
            _line_errors(formset, e)
        else:
            messages.success(request, _("The quote was saved."))
            return HttpResponseRedirect(reverse("quote_detail", args=[quote.pk]))
    return _page(
        request,
        "web/quote_form.html",
        form=form,
        formset=formset,
        quote=quote,
        customer=customer,
        deal=deal,
        title=_("Edit quote %(number)s") % {"number": quote.number} if quote else _("New quote"),
        version=request.POST.get("version") or (quote.version if quote else ""),
        more_rows=min(len(formset.forms) + LINES, MAX_LINES),
    )


@login_required
def quote_new(request: HttpRequest) -> HttpResponse:
    return _edit_quote(request, None)


@login_required
def quote_edit(request: HttpRequest, pk: int) -> HttpResponse:
    quote = get_object_or_404(
        Quote.objects.visible_to(me(request)).select_related("customer", "deal"), pk=pk
    )
    if not me(request).has_right("quote", "edit"):
        raise Http404
    return _edit_quote(request, quote)


class QuotePage(RecordPage):
    model = Quote
    key = "quote"
    list_url = "quote_list"
    template_name = "web/quote.html"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return commerce.update_quote(
            quote=obj, by=me(self.request), data=data, custom=custom, version=version
        )

    def edit_url(self, obj: Any) -> str:
        return reverse("quote_edit", args=[obj.pk])

    def fix_choices(self, form: RecordForm, obj: Any) -> None:
        field = form.fields.get("deal")
        if isinstance(field, forms.ModelChoiceField):
            deals = Deal.objects.visible_to(me(self.request)).filter(customer_id=obj.customer_id)
            field.queryset = deals
            field.widget.choices = [("", "—"), *((d.pk, str(d)) for d in deals[:100])]

    def extra_context(self, obj: Any) -> dict[str, Any]:
        lines = list(obj.lines.select_related("product"))
        obj._prefetched_objects_cache = {"lines": lines}
        return {
            "lines": lines,
            "totals": obj.totals(),
            "discount_shown": policy.can_see(me(self.request), "quote", "discount_pct"),
        }

    def print(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object(pk)
        return render(
            request,
            "web/quote_print.html",
            {
                "obj": self.context_obj(obj),
                "org": request.org,  # type: ignore[attr-defined]
                **self.extra_context(obj),
            },
        )
