"""Pages that create records: one flat class, one subclass per kind, each calling its
service. The form offers the registry's fields that the person may see and set and
that the service takes (required when the spec is and the service has no default);
a page states only what is its own (records given in the query string, a label).
Bad input comes back with the message next to the field; nothing is saved half,
because the service writes all or nothing."""

from __future__ import annotations

from collections.abc import Callable
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
from salesops.customization import layouts, policy
from salesops.customization.registry import FieldSpec
from salesops.pipeline.models import Pipeline
from salesops.web.auth import me
from salesops.web.forms import (
    REFUSALS,
    RecordForm,
    allows_duplicate,
    form_name,
    service_defaults,
    service_takes,
    show_error,
    takes_fields,
)
from salesops.web.views.records import object_type_of
from salesops.web.views.timeline import timeline_context

L = gettext_lazy


def create_specs(
    user: Any,
    object_type: str,
    service: Callable[..., Any],
    *,
    leave_out: Any = (),
) -> list[FieldSpec]:
    """The fields a create form offers `user`: editable in the registry, visible to
    them, taken by `service` (by name, or the fields `writable` on a create for a
    service taking `**fields`), custom ones when it takes custom values; required only
    when the service has no default for it."""
    from salesops.crm.services import writable

    names = service_takes(service)
    if takes_fields(service):
        names |= writable(user, object_type, creating=True)
    names = names - set(leave_out) - {"by"}
    optional = service_defaults(service)
    out = []
    for f in policy.editable_fields(user, object_type):
        if f.is_custom:
            if "custom" in names:
                out.append(f)
        elif f.key in names:
            out.append(f if f.key not in optional else _optional(f))
    return out


def _optional(f: FieldSpec) -> FieldSpec:
    from dataclasses import replace

    return replace(f, required=False) if f.required else f


class CreatePage(LoginRequiredMixin, View):
    model: ClassVar[Any]
    key: ClassVar[str]
    title: ClassVar[Any]
    #: The create service, called with the form's values as keywords.
    service: ClassVar[Callable[..., Any]]
    #: Records it may hang on, given as ?customer=<pk> etc.: name → model. Those that
    #: are fields of the record are offered in the form, chosen as given.
    parents: ClassVar[dict[str, Any]] = {}
    #: Service arguments the page fills itself (not offered in the form).
    leave_out: ClassVar[Any] = ()
    #: Labels of this page's own (e.g. a task's owner is who it is "assigned to").
    labels: ClassVar[dict[str, Any]] = {}
    #: Whether the service warns of duplicates (`crm.duplicate_warnings`) unless the person
    #: ticked "save anyway".
    checks_duplicates: ClassVar[bool] = False

    request: HttpRequest

    def specs(self) -> list[FieldSpec]:
        return create_specs(
            me(self.request),
            object_type_of(self.model),
            type(self).service,
            leave_out=self.leave_out,
        )

    def layout_pipeline(self) -> Any:
        """The pipeline whose layout the new record's form follows (deals), else None."""
        return None

    def sections(self) -> list[layouts.Section]:
        """The form's fields grouped and ordered by the object's layout; fields of a
        section not shown to the person's role are not in their form."""
        return layouts.arrange(
            me(self.request),
            object_type_of(self.model),
            self.specs(),
            pipeline=self.layout_pipeline(),
        )

    def build(self, data: Any = None) -> RecordForm:
        form = RecordForm(
            data, sections=self.sections(), user=me(self.request), initial=self.initial()
        )
        for name, label in self.labels.items():
            if name in form.fields:
                form.fields[name].label = label
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

    def initial(self) -> dict[str, Any]:
        user = me(self.request)
        return {"owner": user.pk, **{name: obj.pk for name, obj in self.preset().items()}}

    def values(self, form: RecordForm) -> dict[str, Any]:
        """The service's keywords: the form's values (an empty optional one left to the
        service's default) and the custom values."""
        optional = service_defaults(type(self).service)
        data = {
            k: v
            for k, v in form.values().items()
            if v is not None and not (v == "" and k in optional)
        }
        if any(s.is_custom for s in form.specs.values()):
            data["custom"] = form.custom()
        return data

    def create(self, form: RecordForm) -> Any:
        values = self.values(form)
        if self.checks_duplicates:
            values["allow_duplicate"] = allows_duplicate(self.request)
        return type(self).service(by=me(self.request), **values)

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


class LeadCreate(CreatePage):
    model = Lead
    key = "lead"
    title = L("New lead")
    service = crm.create_lead
    checks_duplicates = True


class CustomerCreate(CreatePage):
    model = Customer
    key = "customer"
    title = L("New customer")
    service = crm.create_customer
    checks_duplicates = True


class ContactCreate(CreatePage):
    model = Contact
    key = "contact"
    title = L("New contact")
    service = crm.create_contact
    parents = {"customer": Customer}
    checks_duplicates = True


class DealCreate(CreatePage):
    model = Deal
    key = "deal"
    title = L("New deal")
    service = crm.create_deal
    parents = {"customer": Customer}
    #: A new deal starts in its pipeline's first stage.
    leave_out = ("stage",)

    def layout_pipeline(self) -> Any:
        """The pipeline chosen (posted, or given as ?pipeline=), else the default one."""
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        raw = source.get("pipeline", "")
        if raw.isdigit():
            return int(raw)
        if not hasattr(self, "_default_pipeline"):
            self._default_pipeline = getattr(Pipeline.default(), "pk", None)
        return self._default_pipeline

    def initial(self) -> dict[str, Any]:
        return {**super().initial(), "pipeline": self.layout_pipeline()}

    def build(self, data: Any = None) -> RecordForm:
        form = super().build(data)
        customer = self.preset().get("customer")
        field = form.fields.get("contact")
        if customer is not None and isinstance(field, forms.ModelChoiceField):
            contacts = Contact.objects.visible_to(me(self.request)).filter(customer=customer)
            field.queryset = contacts
            field.widget.choices = [("", "—"), *((c.pk, str(c)) for c in contacts[:100])]
        return form


class ProductCreate(CreatePage):
    model = Product
    key = "product"
    title = L("New product")
    service = crm.create_product


LINKS = {"lead": Lead, "customer": Customer, "contact": Contact, "deal": Deal}


def followup_form(user: Any, data: Any = None, initial: dict | None = None) -> RecordForm:
    """A new follow-up's form (also the quick form on record pages): what it hangs on
    comes from the page, the time defaults to now."""
    specs = create_specs(user, "followup", activities.log_followup, leave_out=LINKS)
    form = RecordForm(
        data,
        sections=layouts.arrange(user, "followup", specs),
        user=user,
        initial={"kind": FollowUp.Kind.CALL, **(initial or {})},
        prefix="fu",
    )
    if "occurred_at" in form.fields:
        form.fields["occurred_at"].help_text = _("Leave empty for now.")
    return form


class FollowUpCreate(CreatePage):
    """Log a follow-up on a lead, customer, contact or deal (the record page's quick form
    posts here too; an htmx post gets the record's activity box back)."""

    model = FollowUp
    key = "followup"
    title = L("Log a follow-up")
    service = activities.log_followup
    parents = LINKS

    def build(self, data: Any = None) -> RecordForm:
        return followup_form(me(self.request), data)

    def links(self) -> dict[str, Any]:
        preset = self.preset()
        if not preset:
            raise Http404
        return preset

    def create(self, form: RecordForm) -> Any:
        values = self.values(form)
        values.setdefault("occurred_at", timezone.now())
        return activities.log_followup(by=me(self.request), **values, **self.links())

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
    service = activities.create_task
    parents = LINKS
    #: What a task hangs on comes from the page it was started on.
    leave_out = tuple(LINKS)
    labels = {"owner": L("Assigned to")}

    def create(self, form: RecordForm) -> Any:
        return activities.create_task(by=me(self.request), **self.values(form), **self.preset())


class ContractCreate(CreatePage):
    model = Contract
    key = "contract"
    title = L("New contract")
    service = commerce.create_contract
    parents = {"customer": Customer, "deal": Deal}


class PaymentPlanCreate(CreatePage):
    model = PaymentPlan
    key = "paymentplan"
    title = L("New instalment")
    service = commerce.create_payment_plan
    parents = {"contract": Contract}

    def success_url(self, obj: Any) -> str:
        return reverse("contract_detail", args=[obj.contract_id])


class PaymentCreate(CreatePage):
    model = Payment
    key = "payment"
    title = L("Record a payment")
    service = crm.record_payment
    parents = {"contract": Contract, "plan": PaymentPlan}
    labels = {"plan": L("Instalment")}

    def initial(self) -> dict[str, Any]:
        return {**super().initial(), "received_on": timezone.localdate()}

    def success_url(self, obj: Any) -> str:
        return reverse("contract_detail", args=[obj.contract_id])


__all__ = ["CreatePage", "create_specs", "followup_form", "form_name"]
