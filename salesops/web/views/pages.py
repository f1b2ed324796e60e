"""The record page of each kind: which service saves it, what is related, which
template. The fields come from the metadata registry through the field policy; related
lists go through `visible_to` and show only the fields of the related records that the
reader may see (their own object type's policy)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Sum

from salesops.activities import page_services as activity_pages
from salesops.activities import update_services
from salesops.activities.models import FollowUp, Task
from salesops.crm import commerce_services as commerce
from salesops.crm import queries
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
    Quote,
)
from salesops.customization import policy, registry
from salesops.forecasting.models import CategoryChange
from salesops.forecasting.services import CHOOSABLE
from salesops.web.auth import me
from salesops.web.forms import RecordForm, allows_duplicate
from salesops.web.views import deal_lines
from salesops.web.views.objects import linked_sections
from salesops.web.views.records import RecordPage

#: Related rows shown on a record page (the lists page the rest).
RELATED = 20


def crm_update(page: RecordPage, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
    return crm.update_record(
        obj=obj,
        by=me(page.request),
        data=data,
        custom=custom,
        version=version,
        allow_duplicate=allows_duplicate(page.request),
    )


def visible(model: Any, user: Any, **filters: Any) -> list[Any]:
    if not user.has_right(model.object_type, "view"):
        return []
    return list(model.objects.visible_to(user).filter(**filters)[:RELATED])


def lost_reasons(user: Any) -> list[tuple[str, Any]]:
    """The lost-reason picklist's options (value, label), as the deal's field offers them."""
    spec = registry.get("deal").field("lost_reason")
    return spec.options() if spec is not None else []


class LeadPage(RecordPage):
    model = Lead
    key = "lead"
    list_url = "lead_list"
    template_name = "web/lead.html"
    timeline_link = "lead"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return crm_update(self, obj, data, custom, version)


class CustomerPage(RecordPage):
    model = Customer
    key = "customer"
    list_url = "customer_list"
    template_name = "web/customer.html"
    timeline_link = "customer"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return crm_update(self, obj, data, custom, version)

    def extra_context(self, obj: Any) -> dict[str, Any]:
        user = me(self.request)
        days = queries.days_left_for([obj]).get(obj.pk) if obj.owner_id else None
        deals = (
            Deal.objects.visible_to(user).filter(customer=obj).select_related("stage")[:RELATED]
            if user.has_right("deal", "view")
            else []
        )
        return {
            "contacts": self.masked("contact", visible(Contact, user, customer=obj)),
            "deals": self.masked("deal", deals),
            "quotes": self.masked("quote", visible(Quote, user, customer=obj)),
            "contracts": self.masked("contract", visible(Contract, user, customer=obj)),
            "days_left": days,
            "is_mine": obj.owner_id == user.pk,
            "object_sections": linked_sections(user, "customer", obj),
        }


class ContactPage(RecordPage):
    model = Contact
    key = "contact"
    list_url = "contact_list"
    template_name = "web/contact.html"
    timeline_link = "contact"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return crm_update(self, obj, data, custom, version)

    def extra_context(self, obj: Any) -> dict[str, Any]:
        user = me(self.request)
        return {
            "deals": self.masked("deal", visible(Deal, user, contact=obj)),
            "object_sections": linked_sections(user, "contact", obj),
        }


class DealPage(RecordPage):
    model = Deal
    key = "deal"
    list_url = "deal_list"
    template_name = "web/deal.html"
    timeline_link = "deal"

    def layout_pipeline(self, obj: Any) -> Any:
        return obj.pipeline_id

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        if isinstance(data.get("contact"), Contact):
            data["contact"] = data["contact"].pk
        return crm_update(self, obj, data, custom, version)

    def fix_choices(self, form: RecordForm, obj: Any) -> None:
        field = form.fields.get("contact")
        if isinstance(field, forms.ModelChoiceField):
            contacts = Contact.objects.visible_to(me(self.request)).filter(
                customer_id=obj.customer_id
            )
            field.queryset = contacts
            field.widget.choices = [("", "—"), *((c.pk, str(c)) for c in contacts[:100])]

    def extra_context(self, obj: Any) -> dict[str, Any]:
        user = me(self.request)
        stages = list(obj.pipeline.stages.order_by("order"))
        return {
            "stages": stages,
            "open_stages": [s for s in stages if s.kind == "open"],
            "lost_reasons": lost_reasons(user),
            "quotes": self.masked("quote", visible(Quote, user, deal=obj)),
            "contracts": self.masked("contract", visible(Contract, user, deal=obj)),
            # A line's total is a share of the deal's amount: hidden with it.
            "lines": list(obj.lines.select_related("product"))
            if policy.can_see(user, "deal", "amount")
            else [],
            "can_edit_lines": (can_lines := deal_lines.may_edit_lines(user, obj)),
            "line_products": deal_lines.line_products(user) if can_lines else [],
            "object_sections": linked_sections(user, "deal", obj),
            **forecast_category_context(user, obj),
        }


def forecast_category_context(user: Any, obj: Any) -> dict[str, Any]:
    """The owner's forecast category control and its history (only for whoever sees
    the category)."""
    if not policy.can_see(user, "deal", "forecast_category"):
        return {}
    return {
        "forecast_choices": [(c.value, c.label) for c in CHOOSABLE]
        if obj.status == "open" and (obj.owner_id == user.pk or user.is_org_admin())
        else [],
        "forecast_history": list(CategoryChange.objects.filter(deal=obj).select_related("by")[:20]),
    }


class ProductPage(RecordPage):
    model = Product
    key = "product"
    list_url = "product_list"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return crm_update(self, obj, data, custom, version)


class ContractPage(RecordPage):
    model = Contract
    key = "contract"
    list_url = "contract_list"
    template_name = "web/contract.html"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return commerce.update_contract(
            contract=obj, by=me(self.request), data=data, custom=custom, version=version
        )

    def fix_choices(self, form: RecordForm, obj: Any) -> None:
        field = form.fields.get("deal")
        if isinstance(field, forms.ModelChoiceField):
            deals = Deal.objects.visible_to(me(self.request)).filter(customer_id=obj.customer_id)
            field.queryset = deals
            field.widget.choices = [("", "—"), *((d.pk, str(d)) for d in deals[:100])]

    def extra_context(self, obj: Any) -> dict[str, Any]:
        user = me(self.request)
        payments = visible(Payment, user, contract=obj)
        sees_amount = policy.can_see(user, "contract", "amount")
        sees_received = policy.can_see(user, "payment", "amount")
        received = (
            Payment.objects.filter(contract=obj).aggregate(s=Sum("amount"))["s"] or 0
            if sees_received
            else None
        )
        return {
            "plans": self.masked("payment_plan", visible(PaymentPlan, user, contract=obj)),
            "payments": self.masked("payment", payments),
            "received": received,
            "outstanding": obj.amount - received if sees_amount and received is not None else None,
        }


class TaskPage(RecordPage):
    model = Task
    key = "task"
    list_url = "task_list"
    template_name = "web/task.html"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return activity_pages.update_task(
            task=obj, by=me(self.request), data=data, custom=custom, version=version
        )


class FollowUpPage(RecordPage):
    model = FollowUp
    key = "followup"
    list_url = "followup_list"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return update_services.update_followup(
            followup=obj, by=me(self.request), data=data, custom=custom, version=version
        )


PAGES: list[type[RecordPage]] = [
    LeadPage,
    CustomerPage,
    ContactPage,
    DealPage,
    ProductPage,
    ContractPage,
    TaskPage,
    FollowUpPage,
]
