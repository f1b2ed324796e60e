"""Pages that create records: one flat class, one subclass per kind, each calling its
service. Bad input comes back with the message next to the field; nothing is saved
half, because the service writes all or nothing."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from salesops.activities import services as activities
from salesops.activities.models import FollowUp, Task
from salesops.crm import commerce_services as commerce
from salesops.crm import services as crm
from salesops.crm.models import (
    Contact,
    Contract,
    Customer,
    Deal,
    Lead,
    Payment,
    PaymentPlan,
    Product,
)
from salesops.org.models import Currency
from salesops.pipeline.models import Pipeline
from salesops.users.models import User
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, RecordForm, show_error
from salesops.web.views.listview import people
from salesops.web.views.timeline import timeline_context

L = gettext_lazy
#: How many records a chooser offers before the person searches.
CHOICES = 30


def chooser(user: Any, model: Any, label: Any, *, required: bool = True) -> forms.ModelChoiceField:
    """A choice of records `user` may see. Validation accepts any of them; the widget
    offers only a few (an htmx search fills in more), so a page never lists a million."""
    qs = model.objects.visible_to(user)
    field = forms.ModelChoiceField(queryset=qs, label=label, required=required)
    field.widget.attrs["data-lookup"] = model._meta.model_name
    field.widget.attrs["data-lookup-placeholder"] = _("Type to search")
    return field


def offer(field: forms.Field, user: Any, model: Any, chosen: Any = None) -> None:
    """Fill a chooser's options: the chosen record and the latest few."""
    rows = list(model.objects.visible_to(user).order_by("-id")[:CHOICES])
    if chosen is not None and chosen not in rows:
        rows.insert(0, chosen)
    widget: Any = field.widget
    widget.choices = [("", "—"), *((r.pk, str(r)) for r in rows)]


def owner_field(user: Any, label: Any = None) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label or L("Owner"),
        choices=people(user),
        coerce=int,
        initial=user.pk,
    )


def currency_field(required: bool = False) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Currency.objects.filter(active=True), label=L("Currency"), required=required
    )


class CreatePage(LoginRequiredMixin, View):
    model: ClassVar[Any]
    key: ClassVar[str]
    title: ClassVar[Any]
    names: ClassVar[list[str]] = []
    #: Records it may hang on, given as ?customer=<pk> etc.: name → model.
    parents: ClassVar[dict[str, Any]] = {}
    custom: ClassVar[bool] = True

    request: HttpRequest

    def build(self, data: Any = None) -> RecordForm:
        user = me(self.request)
        form = RecordForm(
            data,
            model=self.model,
            names=self.names,
            object_type=self.model.object_type if self.custom else None,
            extra=self.extra_fields(),
            initial=self.initial(),
        )
        for name, model in self.parents.items():
            if name in form.fields:
                offer(form.fields[name], user, model, self.preset().get(name))
        if "currency" in form.fields and isinstance(
            form.fields["currency"], forms.ModelChoiceField
        ):
            form.fields["currency"].queryset = Currency.objects.filter(active=True)
            form.fields["currency"].required = False
        return form

    def preset(self) -> dict[str, Any]:
        """Parents named in the query string, if the user may see them (else 404)."""
        if not hasattr(self, "_preset"):
            user = me(self.request)
            found = {}
            for name, model in self.parents.items():
                raw = self.request.GET.get(name, "")
                if raw.isdigit():
                    obj = model.objects.visible_to(user).filter(pk=raw).first()
                    if obj is None:
                        raise Http404
                    found[name] = obj
            self._preset = found
        return self._preset

    def extra_fields(self) -> dict[str, forms.Field]:
        user = me(self.request)
        return {
            name: chooser(user, model, model._meta.verbose_name)
            for name, model in self.parents.items()
        }

    def initial(self) -> dict[str, Any]:
        return {name: obj.pk for name, obj in self.preset().items()}

    def create(self, form: RecordForm) -> Any:
        raise NotImplementedError

    def success_url(self, obj: Any) -> str:
        return reverse(f"{self.key}_detail", args=[obj.pk])

    def check(self) -> None:
        if not me(self.request).has_right(self.model.object_type, "create"):
            raise PermissionDenied(_("Your role does not allow you to create this kind of record."))

    def get(self, request: HttpRequest) -> HttpResponse:
        self.check()
        return self.show(self.build())

    def post(self, request: HttpRequest) -> HttpResponse:
        self.check()
        form = self.build(request.POST)
        if form.is_valid():
            try:
                obj = self.create(form)
            except REFUSALS as e:
                show_error(form, e)
            else:
                messages.success(request, _("“%(name)s” was created.") % {"name": obj})
                return HttpResponseRedirect(self.success_url(obj))
        return self.show(form, status=422 if request.htmx else 200)  # type: ignore[attr-defined]

    def show(self, form: RecordForm, status: int = 200) -> HttpResponse:
        return render(
            self.request,
            "web/edit.html",
            {"form": form, "title": self.title, "cancel_url": self.request.GET.get("next", "")},
            status=status,
        )

    def fields(self, form: RecordForm) -> dict[str, Any]:
        """The model fields of the form, for the service (empty text stays empty)."""
        data = form.plain(self.names)
        for key, value in list(data.items()):
            if value is None and key not in ("owner",):
                model_field: Any = self.model._meta.get_field(key)
                if model_field.get_internal_type() in (
                    "CharField",
                    "TextField",
                    "EmailField",
                    "URLField",
                ):
                    data[key] = ""
        return data


class LeadCreate(CreatePage):
    model = Lead
    key = "lead"
    title = L("New lead")
    names = ["name", "company", "title", "phone", "email", "source", "industry", "region", "notes"]

    def extra_fields(self) -> dict[str, forms.Field]:
        return {"owner": owner_field(me(self.request))}

    def create(self, form: RecordForm) -> Any:
        user = me(self.request)
        owner = User.objects.get(pk=form.cleaned_data["owner"])
        return crm.create_lead(by=user, owner=owner, custom=form.custom(), **self.fields(form))


class CustomerCreate(CreatePage):
    model = Customer
    key = "customer"
    title = L("New customer")
    names = ["name", "industry", "size", "region", "phone", "email", "website", "address"]

    def create(self, form: RecordForm) -> Any:
        return crm.create_customer(by=me(self.request), custom=form.custom(), **self.fields(form))


class ContactCreate(CreatePage):
    model = Contact
    key = "contact"
    title = L("New contact")
    names = ["name", "title", "phone", "mobile", "email", "wechat", "is_primary", "notes"]
    parents = {"customer": Customer}

    def create(self, form: RecordForm) -> Any:
        data = self.fields(form)
        return crm.create_contact(
            by=me(self.request),
            customer=form.cleaned_data["customer"],
            custom=form.custom(),
            **data,
        )


class DealCreate(CreatePage):
    model = Deal
    key = "deal"
    title = L("New deal")
    names = ["name", "amount", "currency", "expected_close", "probability", "source"]
    parents = {"customer": Customer}

    def extra_fields(self) -> dict[str, forms.Field]:
        user = me(self.request)
        return {
            **super().extra_fields(),
            "pipeline": forms.ModelChoiceField(
                queryset=Pipeline.objects.filter(active=True),
                label=L("Pipeline"),
                required=False,
                initial=getattr(Pipeline.default(), "pk", None),
            ),
            "owner": owner_field(user),
        }

    def create(self, form: RecordForm) -> Any:
        d = form.cleaned_data
        return crm.create_deal(
            by=me(self.request),
            customer=d["customer"],
            name=d["name"],
            pipeline=d.get("pipeline"),
            amount=d.get("amount") or 0,
            currency=d["currency"].pk if d.get("currency") else None,
            expected_close=d.get("expected_close"),
            owner=User.objects.get(pk=d["owner"]),
            probability=d.get("probability"),
            source=d.get("source") or "",
            custom=form.custom(),
        )


class ProductCreate(CreatePage):
    model = Product
    key = "product"
    title = L("New product")
    names = ["name", "sku", "category", "unit", "price", "currency", "active", "description"]

    def create(self, form: RecordForm) -> Any:
        data = self.fields(form)
        data["currency"] = data["currency"].pk if data.get("currency") else None
        return crm.create_product(by=me(self.request), custom=form.custom(), **data)


LINKS = {"lead": Lead, "customer": Customer, "contact": Contact, "deal": Deal}


def followup_form(user: Any, data: Any = None, initial: dict | None = None) -> RecordForm:
    form = RecordForm(
        data,
        model=FollowUp,
        names=["kind", "subject", "outcome", "next_step", "occurred_at", "duration_minutes"],
        object_type="followup",
        initial={"kind": FollowUp.Kind.CALL, **(initial or {})},
        prefix="fu",
    )
    form.fields["occurred_at"].required = False
    form.fields["occurred_at"].help_text = _("Leave empty for now.")
    return form


class FollowUpCreate(CreatePage):
    """Log a follow-up on a lead, customer, contact or deal (the record page's quick form
    posts here too; an htmx post gets the record's activity box back)."""

    model = FollowUp
    key = "followup"
    title = L("Log a follow-up")
    parents = LINKS

    def build(self, data: Any = None) -> RecordForm:
        return followup_form(me(self.request), data)

    def links(self) -> dict[str, Any]:
        preset = self.preset()
        if not preset:
            raise Http404
        return preset

    def create(self, form: RecordForm) -> Any:
        d = form.cleaned_data
        return activities.log_followup(
            by=me(self.request),
            kind=d["kind"],
            occurred_at=d.get("occurred_at") or timezone.now(),
            subject=d.get("subject") or "",
            outcome=d.get("outcome") or "",
            next_step=d.get("next_step") or "",
            duration_minutes=d.get("duration_minutes"),
            custom=form.custom(),
            **self.links(),
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        self.check()
        self.links()
        return self.show(self.build())

    def post(self, request: HttpRequest) -> HttpResponse:
        self.check()
        links = self.links()
        form = self.build(request.POST)
        saved = False
        if form.is_valid():
            try:
                self.create(form)
            except REFUSALS as e:
                show_error(form, e)
            else:
                saved = True
        (name, record), *_rest = links.items()
        if not request.htmx:  # type: ignore[attr-defined]
            if saved:
                messages.success(request, _("The follow-up was logged."))
                return HttpResponseRedirect(reverse(f"{name}_detail", args=[record.pk]))
            return self.show(form)
        return render(
            request,
            "web/activity.html",
            {
                "followup_form": self.build() if saved else form,
                "followup_url": request.get_full_path(),
                **timeline_context(me(request), record, name),
                "timeline_url": reverse(f"{name}_timeline", args=[record.pk]),
                "followup_saved": saved,
            },
        )

    def success_url(self, obj: Any) -> str:
        return reverse("followup_list")


class TaskCreate(CreatePage):
    model = Task
    key = "task"
    title = L("New task")
    names = ["title", "description", "due_at", "remind_at", "priority"]
    parents = LINKS
    custom = False

    def extra_fields(self) -> dict[str, forms.Field]:
        return {"owner": owner_field(me(self.request), L("Assigned to"))}

    def create(self, form: RecordForm) -> Any:
        d = form.cleaned_data
        return activities.create_task(
            by=me(self.request),
            title=d["title"],
            owner=User.objects.get(pk=d["owner"]),
            due_at=d.get("due_at"),
            remind_at=d.get("remind_at"),
            description=d.get("description") or "",
            priority=d.get("priority") or Task.Priority.NORMAL,
            **self.preset(),
        )


class ContractCreate(CreatePage):
    model = Contract
    key = "contract"
    title = L("New contract")
    names = ["title", "amount", "currency", "status", "signed_on", "starts_on", "ends_on"]
    parents = {"customer": Customer, "deal": Deal}

    def extra_fields(self) -> dict[str, forms.Field]:
        fields = super().extra_fields()
        fields["deal"].required = False
        return fields

    def create(self, form: RecordForm) -> Any:
        d = form.cleaned_data
        return commerce.create_contract(
            by=me(self.request),
            customer=d["customer"],
            deal=d.get("deal"),
            title=d["title"],
            amount=d["amount"],
            currency=d["currency"].pk if d.get("currency") else None,
            status=d.get("status") or Contract.Status.DRAFT,
            signed_on=d.get("signed_on"),
            starts_on=d.get("starts_on"),
            ends_on=d.get("ends_on"),
            custom=form.custom(),
        )


class PaymentPlanCreate(CreatePage):
    model = PaymentPlan
    key = "paymentplan"
    title = L("New instalment")
    names = ["due_on", "amount", "note"]
    parents = {"contract": Contract}
    custom = False

    def create(self, form: RecordForm) -> Any:
        d = form.cleaned_data
        return commerce.create_payment_plan(
            by=me(self.request),
            contract=d["contract"],
            due_on=d["due_on"],
            amount=d["amount"],
            note=d.get("note") or "",
        )

    def success_url(self, obj: Any) -> str:
        return reverse("contract_detail", args=[obj.contract_id])


class PaymentCreate(CreatePage):
    model = Payment
    key = "payment"
    title = L("Record a payment")
    names = ["amount", "received_on", "method", "reference"]
    parents = {"contract": Contract, "plan": PaymentPlan}
    custom = False

    def extra_fields(self) -> dict[str, forms.Field]:
        fields = super().extra_fields()
        fields["plan"].required = False
        fields["plan"].label = L("Instalment")
        return fields

    def initial(self) -> dict[str, Any]:
        return {**super().initial(), "received_on": timezone.localdate()}

    def create(self, form: RecordForm) -> Any:
        d = form.cleaned_data
        return crm.record_payment(
            by=me(self.request),
            amount=d["amount"],
            received_on=d["received_on"],
            contract=d["contract"],
            plan=d.get("plan"),
            method=d.get("method") or Payment.Method.BANK,
            reference=d.get("reference") or "",
        )

    def success_url(self, obj: Any) -> str:
        return reverse("contract_detail", args=[obj.contract_id])
