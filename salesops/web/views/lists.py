"""The list of every kind of record: one `RecordList` subclass each, stating only what
differs (columns, filters, search, bulk actions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
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
from salesops.pipeline.models import Pipeline, Stage
from salesops.users.models import User
from salesops.web.auth import me
from salesops.web.listing import Column, Filter
from salesops.web.views.listview import RecordList, owner_filter, team_filter

L = gettext_lazy


def choices_of(field_choices: Any) -> Callable[[Any], Any]:
    return lambda user: field_choices


def stages(user: Any) -> list[tuple[int, str]]:
    return [(s.pk, str(s)) for s in Stage.objects.select_related("pipeline")]


def pipelines(user: Any) -> list[tuple[int, str]]:
    return list(Pipeline.objects.filter(active=True).values_list("id", "name"))


OWNER = Column("owner", L("Owner"), sort=None)
CREATED = Column("created_at", L("Created"), kind="moment", sort="created_at", default=False)


class LeadList(RecordList):
    key = "leads"
    model = Lead
    title = L("Leads")
    columns = [
        Column("name", L("Name"), kind="link", sort="name"),
        Column("company", L("Company"), sort="company"),
        Column("phone", L("Phone")),
        Column("email", L("E-mail"), default=False),
        Column("source", L("Source")),
        Column("status", L("Status"), attr="get_status_display", sort="status"),
        Column("region", L("Region"), default=False),
        Column("industry", L("Industry"), default=False),
        OWNER,
        Column("created_on", L("Created on"), kind="date", sort="created_on"),
    ]
    filters = [
        Filter("status", L("Status"), "status", choices=choices_of(Lead.Status.choices)),
        owner_filter(),
        team_filter(),
        Filter("source", L("Source"), "source__iexact", "text"),
        Filter("from", L("Created from"), "created_on__gte", "date_from"),
        Filter("to", L("Created until"), "created_on__lte", "date_to"),
    ]
    search_fields = ["name", "company", "phone", "email"]
    search_help = L("Name, company, phone or e-mail")
    related = ["owner"]
    bulk_actions = ["assign", "delete"]
    detail_url = "lead_detail"
    create_url = "lead_new"


class CustomerList(RecordList):
    key = "customers"
    model = Customer
    title = L("Customers")
    columns = [
        Column("name", L("Name"), kind="link", sort="name"),
        Column("industry", L("Industry")),
        Column("region", L("Region")),
        Column("lifecycle", L("Lifecycle stage"), attr="get_lifecycle_stage_display"),
        Column("phone", L("Phone"), default=False),
        Column("email", L("E-mail"), default=False),
        OWNER,
        Column("last_followup_at", L("Last follow-up"), kind="moment", sort="last_followup_at"),
        Column("days_left", L("Days before the pool"), kind="number"),
        CREATED,
    ]
    filters = [
        owner_filter(),
        team_filter(),
        Filter(
            "lifecycle",
            L("Lifecycle stage"),
            "lifecycle_stage",
            choices=choices_of(Customer.Lifecycle.choices),
        ),
        Filter("industry", L("Industry"), "industry__iexact", "text"),
        Filter("region", L("Region"), "region__iexact", "text"),
    ]
    search_fields = ["name", "phone", "email"]
    search_help = L("Name, phone or e-mail")
    related = ["owner"]
    bulk_actions = ["assign", "delete"]
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
    filters = [f for f in CustomerList.filters if f.key not in ("owner", "team")]
    bulk_actions = ["delete"]
    row_actions = [(L("Release to the pool"), "customer_release")]

    def base_queryset(self) -> QuerySet:
        return super().base_queryset().filter(owner=me(self.request))


class PoolList(RecordList):
    key = "pool"
    model = Customer
    title = L("Public pool")
    columns = [
        Column("name", L("Name"), kind="link", sort="name"),
        Column("industry", L("Industry")),
        Column("region", L("Region")),
        Column("lifecycle", L("Lifecycle stage"), attr="get_lifecycle_stage_display"),
        Column("pool_entered_at", L("In the pool since"), kind="moment", sort="pool_entered_at"),
        Column("last_followup_at", L("Last follow-up"), kind="moment", sort="last_followup_at"),
    ]
    filters = [
        Filter("industry", L("Industry"), "industry__iexact", "text"),
        Filter("region", L("Region"), "region__iexact", "text"),
    ]
    search_fields = ["name", "phone", "email"]
    search_help = L("Name, phone or e-mail")
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
    columns = [
        Column("name", L("Name"), kind="link", sort="name"),
        Column("customer", L("Customer")),
        Column("title", L("Job title")),
        Column("mobile", L("Mobile")),
        Column("phone", L("Phone"), default=False),
        Column("email", L("E-mail")),
        Column("wechat", L("WeChat"), default=False),
        OWNER,
        CREATED,
    ]
    filters = [owner_filter(), team_filter()]
    search_fields = ["name", "phone", "mobile", "email"]
    search_help = L("Name, phone or e-mail")
    related = ["owner", "customer"]
    bulk_actions = ["delete"]
    detail_url = "contact_detail"


def attach_stages(deals: list[Any]) -> None:
    """Give each deal its stage and customer, one query each for the whole page."""
    queries.attach_related(deals)


class DealList(RecordList):
    key = "deals"
    model = Deal
    title = L("Deals")
    columns = [
        Column("name", L("Name"), kind="link", sort="name"),
        Column("customer", L("Customer")),
        Column("stage", L("Stage"), attr="stage.name"),
        Column("amount", L("Amount"), kind="money", sort="amount"),
        Column("expected_close", L("Expected close"), kind="date", sort="expected_close"),
        Column("status", L("Status"), attr="get_status_display"),
        Column("probability", L("Probability"), attr="effective_probability", kind="percent"),
        Column("forecast", L("Forecast category"), attr="get_forecast_category_display"),
        OWNER,
        Column("closed_on", L("Closed on"), kind="date", sort="closed_on", default=False),
        Column("created_on", L("Created on"), kind="date", sort="created_on", default=False),
    ]
    filters = [
        Filter("status", L("Status"), "status", choices=choices_of(Deal.Status.choices)),
        Filter("pipeline", L("Pipeline"), "pipeline_id", choices=pipelines),
        Filter("stage", L("Stage"), "stage_id", choices=stages),
        owner_filter(),
        team_filter(),
        Filter("close_from", L("Expected close from"), "expected_close__gte", "date_from"),
        Filter("close_to", L("Expected close until"), "expected_close__lte", "date_to"),
    ]
    search_fields = ["name", "customer__name"]
    search_help = L("Deal or customer name")
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
    columns = [
        Column("occurred_at", L("When"), kind="moment", sort="occurred_at"),
        Column("kind", L("Kind"), attr="get_kind_display"),
        Column("subject", L("Subject"), kind="link"),
        Column("customer", L("Customer")),
        Column("deal", L("Deal"), default=False),
        Column("lead", L("Lead"), default=False),
        Column("next_step", L("Next step")),
        OWNER,
    ]
    filters = [
        Filter("kind", L("Kind"), "kind", choices=choices_of(FollowUp.Kind.choices)),
        owner_filter(),
        team_filter(),
        Filter("from", L("From"), "occurred_at__date__gte", "date_from"),
        Filter("to", L("Until"), "occurred_at__date__lte", "date_to"),
    ]
    search_fields = ["subject", "outcome"]
    search_help = L("Subject or outcome")
    default_sort = "-occurred_at"
    related = ["owner", "customer", "deal", "lead"]
    bulk_actions = ["delete"]
    detail_url = "followup_detail"
    create_url = "followup_new"


class TaskList(RecordList):
    key = "tasks"
    model = Task
    title = L("Tasks")
    columns = [
        Column("title", L("Title"), kind="link", sort="title"),
        Column("due_at", L("Due"), kind="moment", sort="due_at"),
        Column("priority", L("Priority"), attr="get_priority_display"),
        Column("done_at", L("Done"), kind="moment"),
        Column("customer", L("Customer")),
        Column("deal", L("Deal"), default=False),
        OWNER,
    ]
    filters = [
        Filter("open", L("Open"), "done_at__isnull", "bool"),
        Filter("priority", L("Priority"), "priority", choices=choices_of(Task.Priority.choices)),
        owner_filter(),
        team_filter(),
        Filter("due_to", L("Due until"), "due_at__date__lte", "date_to"),
    ]
    search_fields = ["title", "description"]
    search_help = L("Title or description")
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
    columns = [
        Column("name", L("Name"), kind="link", sort="name"),
        Column("sku", L("SKU"), sort="sku"),
        Column("category", L("Category")),
        Column("unit", L("Unit"), default=False),
        Column("price", L("List price"), kind="money", sort="price"),
        Column("active", L("Active"), kind="bool"),
    ]
    filters = [
        Filter("active", L("Active"), "active", "bool"),
        Filter("category", L("Category"), "category__iexact", "text"),
    ]
    search_fields = ["name", "sku", "category"]
    search_help = L("Name, SKU or category")
    default_sort = "name"
    bulk_actions = ["delete"]
    detail_url = "product_detail"
    create_url = "product_new"


class QuoteList(RecordList):
    key = "quotes"
    model = Quote
    title = L("Quotes")
    columns = [
        Column("number", L("Number"), kind="link", sort="number"),
        Column("customer", L("Customer")),
        Column("deal", L("Deal")),
        Column("status", L("Status"), attr="get_status_display"),
        Column("discount_pct", L("Discount (%)"), kind="number"),
        Column("valid_until", L("Valid until"), kind="date", sort="valid_until"),
        OWNER,
        CREATED,
    ]
    filters = [
        Filter("status", L("Status"), "status", choices=choices_of(Quote.Status.choices)),
        owner_filter(),
        team_filter(),
    ]
    search_fields = ["number", "customer__name"]
    search_help = L("Number or customer")
    related = ["owner", "customer", "deal"]
    bulk_actions = ["assign", "delete"]
    detail_url = "quote_detail"
    create_url = "quote_new"


class ContractList(RecordList):
    key = "contracts"
    model = Contract
    title = L("Contracts")
    columns = [
        Column("number", L("Number"), kind="link", sort="number"),
        Column("title", L("Title")),
        Column("customer", L("Customer")),
        Column("amount", L("Amount"), kind="money", sort="amount"),
        Column("status", L("Status"), attr="get_status_display"),
        Column("signed_on", L("Signed on"), kind="date", sort="signed_on"),
        Column("ends_on", L("Ends on"), kind="date", default=False),
        OWNER,
    ]
    filters = [
        Filter("status", L("Status"), "status", choices=choices_of(Contract.Status.choices)),
        owner_filter(),
        team_filter(),
        Filter("signed_from", L("Signed from"), "signed_on__gte", "date_from"),
    ]
    search_fields = ["number", "title", "customer__name"]
    search_help = L("Number, title or customer")
    related = ["owner", "customer"]
    bulk_actions = ["assign", "delete"]
    detail_url = "contract_detail"
    create_url = "contract_new"


class PaymentPlanList(RecordList):
    key = "payment_plans"
    model = PaymentPlan
    title = L("Payment plans")
    columns = [
        Column("contract", L("Contract"), kind="link"),
        Column("due_on", L("Due on"), kind="date", sort="due_on"),
        Column("amount", L("Amount"), kind="money", sort="amount", currency="contract.currency_id"),
        Column("note", L("Note")),
        OWNER,
    ]
    filters = [
        owner_filter(),
        team_filter(),
        Filter("due_from", L("Due from"), "due_on__gte", "date_from"),
        Filter("due_to", L("Due until"), "due_on__lte", "date_to"),
    ]
    search_fields = ["contract__number", "contract__title", "note"]
    search_help = L("Contract number or title")
    default_sort = "due_on"
    related = ["owner", "contract"]
    bulk_actions = ["delete"]

    def url_of(self, obj: Any) -> str:
        from django.urls import reverse

        return reverse("contract_detail", args=[obj.contract_id])


class PaymentList(RecordList):
    key = "payments"
    model = Payment
    title = L("Payments")
    columns = [
        Column("received_on", L("Received on"), kind="date", sort="received_on"),
        Column("contract", L("Contract"), kind="link"),
        Column("amount", L("Amount"), kind="money", sort="amount"),
        Column("method", L("Method"), attr="get_method_display"),
        Column("reference", L("Reference")),
        OWNER,
    ]
    filters = [
        Filter("method", L("Method"), "method", choices=choices_of(Payment.Method.choices)),
        owner_filter(),
        team_filter(),
        Filter("from", L("Received from"), "received_on__gte", "date_from"),
        Filter("to", L("Received until"), "received_on__lte", "date_to"),
    ]
    search_fields = ["reference", "contract__number"]
    search_help = L("Reference or contract number")
    default_sort = "-received_on"
    related = ["owner", "contract"]
    bulk_actions = ["delete"]

    def url_of(self, obj: Any) -> str:
        from django.urls import reverse

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
