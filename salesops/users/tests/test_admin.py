"""The Django admin: who gets in, every model's pages open in few queries, soft delete."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Model
from django.tasks import task
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesops.activities.tests.factories import FollowUpFactory, TaskFactory
from salesops.crm.models import Customer, Deal, Product
from salesops.crm.tests.factories import (
    ContactFactory,
    CustomerFactory,
    DealFactory,
    LeadFactory,
    ProductFactory,
)
from salesops.crm.tests.more_factories import (
    ContractFactory,
    DealLineFactory,
    PaymentFactory,
    PaymentPlanFactory,
    PoolEventFactory,
    PoolRuleFactory,
    PriceListFactory,
    PriceListItemFactory,
    QuoteFactory,
    QuoteLineFactory,
    StageHistoryFactory,
    TagFactory,
)
from salesops.customization.models import CustomField, Picklist, PicklistOption
from salesops.lib.cache import forget_all
from salesops.notifications.models import Notification, Preference
from salesops.org.admin import AdminOnlyMixin
from salesops.org.models import Currency, ExchangeRate, Holiday, Organisation
from salesops.users.models import Target
from salesops.users.tests.factories import RoleFactory, TeamFactory, UserFactory

SALESOPS_APPS = (
    "org",
    "users",
    "customization",
    "notifications",
    "pipeline",
    "crm",
    "activities",
)
REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
MAX_QUERIES = 20


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def is_ours(model_admin: admin.ModelAdmin) -> bool:
    """Built on the Salesops admin rule (administrators by role, not Django permissions)."""
    return isinstance(model_admin, AdminOnlyMixin)


def make_rows(cast: Any, n: int = 1) -> dict[type[Model], Model]:
    """One row of every registered model (and the links between them); `n` > 1 makes
    another set beside the first."""
    rep = cast.rep if n == 1 else UserFactory.create(role=cast.rep.role, team=cast.east)
    deal = DealFactory.create(owner=rep)
    customer = deal.customer
    product = ProductFactory.create(sku=f"SKU-{n}")
    tag = TagFactory.create()
    customer.tags.add(tag)
    deal.collaborators.add(cast.teammate)
    quote = QuoteFactory.create(owner=rep, customer=customer, deal=deal)
    contract = ContractFactory.create(owner=rep, customer=customer, deal=deal)
    plan = PaymentPlanFactory.create(owner=rep, contract=contract)
    price_list = PriceListFactory.create()
    picklist = Picklist.objects.create(key=f"sources{n}", name=f"Sources {n}")
    team = TeamFactory.create(parent=cast.east1 if n == 1 else cast.west)
    rows: list[Model] = [
        Currency.objects.get(code=["USD", "EUR", "HKD"][n - 1]),
        ExchangeRate.objects.create(
            currency_id="USD", effective_on=dt.date(2026, n, 1), rate=Decimal("7.1")
        ),
        Holiday.objects.create(day=dt.date(2026, 10, n), name="National Day"),
        team,
        RoleFactory.create(),
        rep,
        Notification.objects.create(recipient=rep, kind="assigned", key=f"test:{n}"),
        Preference.objects.create(user=rep, kind="assigned", email="digest"),
        Target.objects.create(
            user=rep,
            metric=Target.Metric.BOOKINGS,
            period_kind=Target.PeriodKind.MONTH,
            period_start=dt.date(2026, 1, 1),
            value=Decimal(1000),
        ),
        picklist,
        PicklistOption.objects.create(picklist=picklist, value="web", label="Web"),
        CustomField.objects.create(
            object_type="deal", key=f"region_code_{n}", label="Region code", field_type="text"
        ),
        deal.pipeline,
        deal.stage,
        tag,
        LeadFactory.create(owner=rep),
        customer,
        ContactFactory.create(customer=customer),
        PoolRuleFactory.create(team=None if n == 1 else team),
        PoolEventFactory.create(customer=customer, user=rep),
        product,
        price_list,
        PriceListItemFactory.create(price_list=price_list, product=product),
        deal,
        DealLineFactory.create(deal=deal, product=product),
        StageHistoryFactory.create(deal=deal, entered_by=rep),
        quote,
        QuoteLineFactory.create(quote=quote, product=product),
        contract,
        plan,
        PaymentFactory.create(owner=rep, contract=contract, plan=plan),
        FollowUpFactory.create(owner=rep, customer=customer, deal=deal),
        TaskFactory.create(owner=rep, customer=customer, deal=deal, created_by=cast.manager),
        Group.objects.create(name=f"Sales ops {n}"),
    ]
    if n == 1:
        rows.append(cast.org)
    return {type(row): row for row in rows}


@task
def noop() -> None:
    """A task to enqueue, so that the task-result admin has a row to show."""


@pytest.fixture
def one_of_each(cast: Any) -> dict[type[Model], Model]:
    rows = make_rows(cast)
    noop.enqueue()
    return rows


@pytest.fixture
def superuser(db: Any) -> Any:
    return UserFactory.create(username="root", is_staff=True, is_superuser=True, role=None)


def client_for(model_admin: admin.ModelAdmin, cast: Any, superuser: Any) -> Client:
    """Salesops' admins open to an admin-role user; third-party ones go by Django's
    permissions, so a superuser opens those."""
    client = Client()
    client.force_login(cast.admin if is_ours(model_admin) else superuser)
    return client


# -- who gets in ---------------------------------------------------------------------


def test_every_salesops_model_is_registered() -> None:
    missing = [
        model._meta.label
        for app in SALESOPS_APPS
        for model in apps.get_app_config(app).get_models()
        if not admin.site.is_registered(model)
    ]
    assert missing == []


def test_every_salesops_admin_is_open_to_administrators_only() -> None:
    plain = [
        model._meta.label
        for model, model_admin in REGISTRY
        if type(model_admin).__module__.startswith("salesops.") and not is_ours(model_admin)
    ]
    assert plain == [], "build these on salesops.org.admin's classes"


def test_an_anonymous_visitor_is_sent_to_the_login_page(client: Client, db: Any) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_rep_without_staff_status_is_sent_to_the_login_page(client: Client, cast: Any) -> None:
    client.force_login(cast.rep)
    for path in ("/admin/", url(Deal, "changelist"), url(Customer, "changelist")):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/"), path


@pytest.mark.parametrize("who", ["rep", "analyst", "manager"])
def test_staff_status_without_an_admin_role_opens_no_data(
    client: Client, cast: Any, one_of_each: Any, who: str
) -> None:
    user = getattr(cast, who)
    user.is_staff = True
    user.save()
    client.force_login(user)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert index.context["app_list"] == []
    for model, model_admin in REGISTRY:
        if not is_ours(model_admin):
            continue
        assert client.get(url(model, "changelist")).status_code == 403, model
        row = one_of_each.get(model)
        if row is not None:
            assert client.get(url(model, "change", row.pk)).status_code == 403, model


def test_an_inactive_admin_cannot_get_in(client: Client, cast: Any) -> None:
    cast.admin.is_active = False
    cast.admin.save()
    client.force_login(cast.admin)
    assert client.get("/admin/").status_code == 302


def test_the_admin_index_lists_every_salesops_app_for_an_admin(client: Client, cast: Any) -> None:
    client.force_login(cast.admin)
    response = client.get("/admin/")
    assert response.status_code == 200
    labels = {app["app_label"] for app in response.context["app_list"]}
    assert set(SALESOPS_APPS) <= labels


# -- every page opens in few queries -------------------------------------------------


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTRY, ids=[m._meta.label for m, _a in REGISTRY]
)
def test_an_admin_can_open_the_changelist_in_few_queries(
    model: type[Model],
    model_admin: admin.ModelAdmin,
    cast: Any,
    superuser: Any,
    one_of_each: Any,
    django_assert_max_num_queries: Any,
) -> None:
    client = client_for(model_admin, cast, superuser)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url(model, "changelist"))
    assert response.status_code == 200
    if model in one_of_each:
        assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTRY, ids=[m._meta.label for m, _a in REGISTRY]
)
def test_an_admin_can_open_the_change_page_in_few_queries(
    model: type[Model],
    model_admin: admin.ModelAdmin,
    cast: Any,
    superuser: Any,
    one_of_each: Any,
    django_assert_max_num_queries: Any,
) -> None:
    row = one_of_each.get(model) or model._default_manager.first()
    if row is None:
        pytest.skip(f"no {model._meta.label} row can be made here")
    client = client_for(model_admin, cast, superuser)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url(model, "change", row.pk))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTRY, ids=[m._meta.label for m, _a in REGISTRY]
)
def test_an_admin_can_open_the_add_page_where_adding_is_allowed(
    model: type[Model],
    model_admin: admin.ModelAdmin,
    cast: Any,
    superuser: Any,
    one_of_each: Any,
) -> None:
    client = client_for(model_admin, cast, superuser)
    response = client.get(url(model, "add"))
    request = RequestFactory().get("/")
    request.user = cast.admin if is_ours(model_admin) else superuser
    expected = 200 if model_admin.has_add_permission(request) else 403
    assert response.status_code == expected


def test_no_changelist_makes_more_queries_when_it_lists_more_rows(
    client: Client, cast: Any, superuser: Any
) -> None:
    make_rows(cast, 1)

    def counts() -> dict[str, int]:
        result = {}
        for model, model_admin in REGISTRY:
            client.force_login(cast.admin if is_ours(model_admin) else superuser)
            # Cold per-process caches for every measurement: their seconds-long TTL may
            # run out between two measurements on a loaded machine.
            forget_all()
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url(model, "changelist")).status_code == 200
            result[model._meta.label] = len(queries)
        return result

    before = counts()
    make_rows(cast, 2)
    make_rows(cast, 3)
    assert counts() == before


# -- soft delete and restore ---------------------------------------------------------


def post_action(client: Client, model: type[Model], action: str, *pks: Any) -> Any:
    """Run an action from the changelist; restore runs where deleted rows are listed."""
    query = "?deleted=yes" if action == "restore" else ""
    return client.post(
        url(model, "changelist") + query,
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
    )


def test_the_soft_delete_action_hides_a_deal_and_restore_brings_it_back(
    client: Client, cast: Any
) -> None:
    deal = DealFactory.create(owner=cast.rep)
    other = DealFactory.create(owner=cast.rep)
    client.force_login(cast.admin)

    assert post_action(client, Deal, "soft_delete", deal.pk).status_code == 302
    deal = Deal.all_objects.get(pk=deal.pk)
    assert deal.deleted_at is not None
    assert deal.version == 2
    assert not Deal.objects.filter(pk=deal.pk).exists()
    assert Deal.objects.filter(pk=other.pk).exists()

    listed = client.get(url(Deal, "changelist")).context["cl"].result_list
    assert [d.pk for d in listed] == [other.pk]
    deleted = client.get(url(Deal, "changelist"), {"deleted": "yes"}).context["cl"].result_list
    assert [d.pk for d in deleted] == [deal.pk]
    both = client.get(url(Deal, "changelist"), {"deleted": "any"}).context["cl"].result_list
    assert {d.pk for d in both} == {deal.pk, other.pk}
    assert client.get(url(Deal, "change", deal.pk)).status_code == 200

    assert post_action(client, Deal, "restore", deal.pk).status_code == 302
    deal.refresh_from_db()
    assert deal.deleted_at is None
    assert deal.version == 3
    assert Deal.objects.filter(pk=deal.pk).exists()


def test_soft_delete_and_restore_are_written_to_the_admin_log(client: Client, cast: Any) -> None:
    from django.contrib.admin.models import LogEntry

    customer = CustomerFactory.create(owner=cast.rep)
    client.force_login(cast.admin)
    post_action(client, Customer, "soft_delete", customer.pk)
    post_action(client, Customer, "restore", customer.pk)
    messages = list(
        LogEntry.objects.filter(object_id=str(customer.pk)).values_list("change_message", flat=True)
    )
    assert len(messages) == 2


def test_restore_refuses_a_row_that_clashes_with_a_live_one(client: Client, cast: Any) -> None:
    old = ProductFactory.create(sku="A-1")
    old.soft_delete()
    ProductFactory.create(sku="A-1")
    client.force_login(cast.admin)
    response = post_action(client, Product, "restore", old.pk)
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.deleted_at is not None
    shown = [str(m) for m in client.get(url(Product, "changelist")).context["messages"]]
    assert any(str(old) in m for m in shown)


def test_hard_delete_is_not_offered_for_soft_deletable_models(
    client: Client, cast: Any, one_of_each: Any
) -> None:
    client.force_login(cast.admin)
    request = RequestFactory().get("/")
    request.user = cast.admin
    soft: list[Any] = [
        m for m, _a in REGISTRY if hasattr(m, "all_objects") and m._meta.app_label != "users"
    ]
    assert len(soft) >= 11
    for model in [*soft, Target]:
        model_admin = admin.site.get_model_admin(model)
        actions = model_admin.get_actions(request)
        assert "delete_selected" not in actions, model
        # Soft-delete and restore go through the record's services (none for targets).
        assert ({"soft_delete", "restore"} <= set(actions)) is (model is not Target), model
        row = one_of_each[model]
        assert client.get(url(model, "delete", row.pk)).status_code == 403, model
        assert client.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
        assert model.all_objects.filter(pk=row.pk).exists()


def test_autocomplete_does_not_offer_deleted_customers(client: Client, cast: Any) -> None:
    alive = CustomerFactory.create(name="Acme alive", owner=cast.rep)
    gone = CustomerFactory.create(name="Acme gone", owner=cast.rep)
    gone.soft_delete()
    client.force_login(cast.admin)
    response = client.get(
        "/admin/autocomplete/",
        {"term": "Acme", "app_label": "crm", "model_name": "deal", "field_name": "customer"},
    )
    assert response.status_code == 200
    ids = {int(r["id"]) for r in response.json()["results"]}
    assert ids == {alive.pk}


# -- search, filters and the special cases -------------------------------------------


def test_search_finds_records_by_name_phone_email_and_number(client: Client, cast: Any) -> None:
    customer = CustomerFactory.create(name="Zhongshan Tools", phone="13800138000", owner=cast.rep)
    deal = DealFactory.create(owner=cast.rep, customer=customer, name="Lathes")
    contact = ContactFactory.create(customer=customer, email="li.wei@zs-tools.cn")
    contract = ContractFactory.create(owner=cast.rep, customer=customer, number="HT-2026-0042")
    CustomerFactory.create(name="Other", owner=cast.rep)
    client.force_login(cast.admin)

    def found(model: type[Model], term: str) -> set[Any]:
        response = client.get(url(model, "changelist"), {"q": term})
        return {row.pk for row in response.context["cl"].result_list}

    assert found(Customer, "13800138000") == {customer.pk}
    assert found(Deal, "Zhongshan") == {deal.pk}
    assert found(contact.__class__, "li.wei@") == {contact.pk}
    assert found(contract.__class__, "HT-2026-0042") == {contract.pk}


def test_the_deal_list_filters_by_stage_and_owners_team(client: Client, cast: Any) -> None:
    east = DealFactory.create(owner=cast.rep)
    west = DealFactory.create(owner=cast.outsider)
    client.force_login(cast.admin)
    response = client.get(url(Deal, "changelist"), {"owner__team__id__exact": cast.east.pk})
    assert [d.pk for d in response.context["cl"].result_list] == [east.pk]
    response = client.get(url(Deal, "changelist"), {"stage__id__exact": west.stage_id})
    assert [d.pk for d in response.context["cl"].result_list] == [west.pk]


def test_the_organisation_cannot_be_added_twice_or_deleted(client: Client, cast: Any) -> None:
    client.force_login(cast.admin)
    assert client.get(url(Organisation, "add")).status_code == 403
    assert client.get(url(Organisation, "delete", cast.org.pk)).status_code == 403
    assert client.get(url(Organisation, "change", cast.org.pk)).status_code == 200  # to look
    assert Organisation.objects.count() == 1


def test_the_team_page_shows_its_place_in_the_tree(client: Client, cast: Any) -> None:
    from salesops.users.models import Team

    client.force_login(cast.admin)
    response = client.get(url(Team, "change", cast.east1.pk))
    assert "HQ ▸ East ▸ East-1" in response.content.decode()


def test_the_user_page_shows_team_role_manager_and_profile(client: Client, cast: Any) -> None:
    """Shown, not edited: people are changed at Settings ▸ People (audited)."""
    client.force_login(cast.admin)
    response = client.get(url(type(cast.rep), "change", cast.rep.pk))
    shown = set(response.context["adminform"].readonly_fields)
    expected = {"team", "extra_teams", "reports_to", "role", "language", "display_name", "phone"}
    assert expected <= shown
    assert set(response.context["adminform"].form.fields) <= {"password"}  # a read-only hash


def test_saving_a_record_in_the_admin_is_refused(cast: Any) -> None:
    from django.core.exceptions import PermissionDenied

    customer = CustomerFactory.create(owner=cast.rep)
    request = RequestFactory().post("/")
    request.user = cast.admin
    model_admin = admin.site.get_model_admin(Customer)
    customer.name = "Renamed"
    with pytest.raises(PermissionDenied):
        model_admin.save_model(request, customer, form=None, change=True)
    customer.refresh_from_db()
    assert (customer.name, customer.version) == (customer.name, 1)
