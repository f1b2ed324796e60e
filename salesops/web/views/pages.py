"""The record page of each kind: which fields, which service saves them, what is
related. Related lists go through `visible_to` like everything else."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Sum

from salesops.activities import page_services as activity_pages
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
from salesops.customization.models import PicklistOption
from salesops.web.auth import me
from salesops.web.forms import RecordForm
from salesops.web.views.records import RecordPage

#: Related rows shown on a record page (the lists page the rest).
RELATED = 20


def crm_update(page: RecordPage, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
    return crm.update_record(
        obj=obj, by=me(page.request), data=data, custom=custom, version=version
    )


def visible(model: Any, user: Any, **filters: Any) -> list[Any]:
    if not user.has_right(model.object_type, "view"):
        return []
    return list(model.objects.visible_to(user).filter(**filters)[:RELATED])


def lost_reasons() -> list[tuple[str, str]]:
    return list(
        PicklistOption.objects.filter(picklist__key="lost_reason", active=True).values_list(
            "value", "label"
        )
    )


class LeadPage(RecordPage):
    model = Lead
    key = "lead"
    list_url = "lead_list"
    fields = ["name", "company", "title", "phone", "email", "source", "industry", "region", "status", "notes", "created_on"]  # fmt: skip
    editable = ["name", "company", "title", "phone", "email", "source", "industry", "region", "status", "notes"]  # fmt: skip
    related_names = ["owner", "converted_customer", "converted_deal"]
    template_name = "web/lead.html"
    timeline_link = "lead"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return crm_update(self, obj, data, custom, version)


class CustomerPage(RecordPage):
    model = Customer
    key = "customer"
    list_url = "customer_list"
    fields = ["name", "industry", "size", "region", "lifecycle_stage", "phone", "email", "website", "address", "last_followup_at", "owned_since"]  # fmt: skip
    editable = ["name", "industry", "size", "region", "lifecycle_stage", "phone", "email", "website", "address"]  # fmt: skip
    related_names = ["owner"]
    template_name = "web/customer.html"
    timeline_link = "customer"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return crm_update(self, obj, data, custom, version)

    def extra_context(self, obj: Any) -> dict[str, Any]:
        user = me(self.request)
        days = queries.days_left_for([obj]).get(obj.pk) if obj.owner_id else None
        return {
            "contacts": visible(Contact, user, customer=obj),
            "deals": list(
                Deal.objects.visible_to(user).filter(customer=obj).select_related("stage")[:RELATED]
            )
            if user.has_right("deal", "view")
            else [],
            "quotes": visible(Quote, user, customer=obj),
            "contracts": visible(Contract, user, customer=obj),
            "days_left": days,
            "is_mine": obj.owner_id == user.pk,
        }


class ContactPage(RecordPage):
    model = Contact
    key = "contact"
    list_url = "contact_list"
    fields = ["name", "customer", "title", "phone", "mobile", "email", "wechat", "is_primary", "notes"]  # fmt: skip
    editable = ["name", "title", "phone", "mobile", "email", "wechat", "is_primary", "notes"]
    related_names = ["owner", "customer"]
    template_name = "web/contact.html"
    timeline_link = "contact"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return crm_update(self, obj, data, custom, version)

    def extra_context(self, obj: Any) -> dict[str, Any]:
        return {"deals": visible(Deal, me(self.request), contact=obj)}


class DealPage(RecordPage):
    model = Deal
    key = "deal"
    list_url = "deal_list"
    fields = ["name", "customer", "contact", "pipeline", "stage", "status", "amount", "expected_close", "probability", "forecast_category", "source", "closed_on", "lost_reason", "lost_note"]  # fmt: skip
    editable = ["name", "contact", "amount", "currency", "expected_close", "probability", "forecast_category", "source"]  # fmt: skip
    related_names = ["owner", "customer", "contact", "pipeline", "stage"]
    template_name = "web/deal.html"
    timeline_link = "deal"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        if "contact" in data and isinstance(data["contact"], Contact):
            data["contact"] = data["contact"].pk
        return crm_update(self, obj, data, custom, version)

    def fix_choices(self, form: RecordForm, obj: Any) -> None:
        super().fix_choices(form, obj)
        field = form.fields.get("contact")
        if isinstance(field, forms.ModelChoiceField):
            field.queryset = Contact.objects.visible_to(me(self.request)).filter(
                customer_id=obj.customer_id
            )

    def extra_context(self, obj: Any) -> dict[str, Any]:
        user = me(self.request)
        stages = list(obj.pipeline.stages.order_by("order"))
        return {
            "stages": stages,
            "open_stages": [s for s in stages if s.kind == "open"],
            "lost_reasons": lost_reasons(),
            "quotes": visible(Quote, user, deal=obj),
            "contracts": visible(Contract, user, deal=obj),
            "lines": list(obj.lines.select_related("product")),
        }


class ProductPage(RecordPage):
    model = Product
    key = "product"
    list_url = "product_list"
    fields = ["name", "sku", "category", "unit", "price", "currency", "active", "description"]
    editable = ["name", "sku", "category", "unit", "price", "currency", "active", "description"]

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return crm_update(self, obj, data, custom, version)


class ContractPage(RecordPage):
    model = Contract
    key = "contract"
    list_url = "contract_list"
    fields = ["number", "title", "customer", "deal", "amount", "status", "signed_on", "starts_on", "ends_on"]  # fmt: skip
    editable = ["title", "amount", "status", "signed_on", "starts_on", "ends_on"]
    related_names = ["owner", "customer", "deal"]
    template_name = "web/contract.html"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return commerce.update_contract(
            contract=obj, by=me(self.request), data=data, custom=custom, version=version
        )

    def extra_context(self, obj: Any) -> dict[str, Any]:
        user = me(self.request)
        payments = visible(Payment, user, contract=obj)
        received = Payment.objects.filter(contract=obj).aggregate(s=Sum("amount"))["s"] or 0
        return {
            "plans": visible(PaymentPlan, user, contract=obj),
            "payments": payments,
            "received": received,
            "outstanding": obj.amount - received,
        }


class TaskPage(RecordPage):
    model = Task
    key = "task"
    list_url = "task_list"
    fields = ["title", "description", "due_at", "remind_at", "priority", "done_at", "customer", "deal", "lead", "contact"]  # fmt: skip
    editable = ["title", "description", "due_at", "remind_at", "priority"]
    related_names = ["owner", "customer", "deal", "lead", "contact"]
    has_custom = False
    template_name = "web/task.html"

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return activity_pages.update_task(task=obj, by=me(self.request), data=data, version=version)


class FollowUpPage(RecordPage):
    model = FollowUp
    key = "followup"
    list_url = "followup_list"
    fields = ["kind", "occurred_at", "duration_minutes", "subject", "outcome", "next_step", "lead", "customer", "contact", "deal"]  # fmt: skip
    related_names = ["owner", "customer", "deal", "lead", "contact"]


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
