"""The list of every kind of record: one `RecordList` subclass each, stating only what
is its own (base rows, list-only columns, bulk and row actions); the fields come from
the metadata registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.activities import page_services as activity_pages
from salesops.activities.models import FollowUp, Task
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
from salesops.pipeline.models import Stage
from salesops.users.models import User
from salesops.web.auth import me
from salesops.web.listing import Column, Filter
from salesops.web.views.listview import RecordList

L = gettext_lazy


def stages(user: Any) -> list[tuple[int, str]]:
    return [(s.pk, str(s)) for s in Stage.objects.select_related("pipeline")]


class LeadList(RecordList):
    key = "leads"
    model = Lead
    title = L("Leads")
    related = ["owner"]
    bulk_actions = ["assign", "delete", "merge"]
    detail_url = "lead_detail"
    create_url = "lead_new"


class CustomerList(RecordList):
    key = "customers"
    model = Customer
    title = L("Customers")
    extra_columns = [Column("days_left", L("Days before the pool"), kind="number")]
    related = ["owner"]
    bulk_actions = ["assign", "delete", "merge"]
    detail_url = "customer_detail"
    create_url = "customer_new"

    def base_queryset(self) -> QuerySet:
        return super().base_queryset().filter(owner__isnull=False)

    def decorate(self, rows: list[Any]) -> None:
        left = queries.days_left_for(rows)
        for row in rows:
            row.days_left = left.get(row.pk)


class MyCustomerList(CustomerList):
    """The signed-in rep's own customers, soonest back to the pool first is one click."""

    key = "my_customers"
    title = L("My customers")
    without_filters = ("owner", "team")
    bulk_actions = ["delete", "merge"]
    row_actions = [(L("Release to the pool"), "customer_release")]

    def base_queryset(self) -> QuerySet:
        return super().base_queryset().filter(owner=me(self.request))


class PoolList(RecordList):
    key = "pool"
    model = Customer
    title = L("Public pool")
    order = ["name", "industry", "region", "lifecycle_stage", "pool_entered_at", "last_followup_at"]
    without_filters = ("owner", "team")
    bulk_actions = []
    detail_url = "customer_detail"
    row_actions = [(L("Claim"), "customer_claim")]
    template_name = "web/pool.html"

    def base_queryset(self) -> QuerySet:
        return super().base_queryset().filter(owner__isnull=True)

    def context(self, *args: Any, **extra: Any) -> dict:
        user = me(self.request)
        rule = queries.rules_by_owner([user.pk]).get(user.pk)
        cap = rule.max_customers_per_rep if rule is not None else None
        held = Customer.objects.filter(owner=user).count() if cap else None
        return super().context(*args, cap=cap, held=held, **extra)


class ContactList(RecordList):
    key = "contacts"
    model = Contact
    title = L("Contacts")
    related = ["owner", "customer"]
    bulk_actions = ["delete", "merge"]
    detail_url = "contact_detail"


def attach_stages(deals: list[Any]) -> None:
    """Give each deal its stage and customer, one query each for the whole page."""
    queries.attach_related(deals)


class DealList(RecordList):
    key = "deals"
    model = Deal
    title = L("Deals")
    # Not "stage" nor "customer": joined, SQLite's planner looped over the stages (or
    # the customers) and sorted every deal; `decorate` attaches them for the page.
    related = ["owner"]
    bulk_actions = ["assign", "stage", "delete"]
    detail_url = "deal_detail"
    create_url = "deal_new"

    def decorate(self, rows: list[Any]) -> None:
        attach_stages(rows)

    def stage_options(self) -> list[tuple[int, str]]:
        return stages(me(self.request))

    def stage_handler(self, stage_id: str) -> Callable[[Any], Any]:
        stage = Stage.objects.filter(pk=stage_id).first() if stage_id.isdigit() else None
        if stage is None:
            raise ValueError(_("Choose the stage to move the deals to."))
        user = me(self.request)
        reason = self.request.POST.get("lost_reason", "")
        return lambda deal: crm.move_deal_stage(deal=deal, stage=stage, by=user, lost_reason=reason)


class FollowUpList(RecordList):
    key = "followups"
    model = FollowUp
    title = L("Follow-ups")
    default_sort = "-occurred_at"
    related = ["owner", "customer", "deal", "lead"]
    bulk_actions = ["delete"]
    detail_url = "followup_detail"
    create_url = "followup_new"


class TaskList(RecordList):
    key = "tasks"
    model = Task
    title = L("Tasks")
    extra_filters = [Filter("open", L("Open"), "done_at__isnull", "bool", field="done_at")]
    default_sort = "due_at"
    related = ["owner", "customer", "deal"]
    bulk_actions = ["assign", "delete"]
    detail_url = "task_detail"
    row_actions = [(L("Done"), "task_done")]
    create_url = "task_new"

    def assign(self, obj: Any, to: User) -> Any:
        return activity_pages.assign_task(task=obj, to=to, by=me(self.request))


class ProductList(RecordList):
    key = "products"
    model = Product
    title = L("Products")
    default_sort = "name"
    bulk_actions = ["delete"]
    detail_url = "product_detail"
    create_url = "product_new"


class QuoteList(RecordList):
    key = "quotes"
    model = Quote
    title = L("Quotes")
    related = ["owner", "customer", "deal"]
    bulk_actions = ["assign", "delete"]
    detail_url = "quote_detail"
    create_url = "quote_new"


class ContractList(RecordList):
    key = "contracts"
    model = Contract
    title = L("Contracts")
    related = ["owner", "customer"]
    bulk_actions = ["assign", "delete"]
    detail_url = "contract_detail"
    create_url = "contract_new"


class PaymentPlanList(RecordList):
    key = "payment_plans"
    model = PaymentPlan
    title = L("Payment plans")
    link_field = "contract"
    default_sort = "due_on"
    related = ["owner", "contract"]
    bulk_actions = ["delete"]

    def url_of(self, obj: Any) -> str:
        return reverse("contract_detail", args=[obj.contract_id])


class PaymentList(RecordList):
    key = "payments"
    model = Payment
    title = L("Payments")
    link_field = "contract"
    default_sort = "-received_on"
    related = ["owner", "contract"]
    bulk_actions = ["delete"]

    def url_of(self, obj: Any) -> str:
        return reverse("contract_detail", args=[obj.contract_id])


LISTS: list[type[RecordList]] = [
    LeadList,
    CustomerList,
    MyCustomerList,
    PoolList,
    ContactList,
    DealList,
    FollowUpList,
    TaskList,
    ProductList,
    QuoteList,
    ContractList,
    PaymentPlanList,
    PaymentList,
]

__all__ = ["LISTS"]
