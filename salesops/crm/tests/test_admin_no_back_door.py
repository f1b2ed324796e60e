"""The Django admin is no back door: every Salesops table (main records, and the
people, teams, roles, organisation, rates, holidays, pipelines, fields and rules that
the settings pages change through audited services) is read-only there, so no admin
edit skips the stage history, the audit log, validation or the public-pool cap;
soft-delete and restore there go through the services and are on record."""

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from salesops.audit.models import AuditEntry
from salesops.crm.models import Customer, Deal, DealLine, PoolRule, QuoteLine
from salesops.crm.tests.factories import CustomerFactory, DealFactory
from salesops.org.admin import AdminOnlyMixin

READ_ONLY = sorted(
    [
        model
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, AdminOnlyMixin)
    ],
    key=lambda m: m._meta.label,
)


def url(model: Any, view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def staff_admin(cast: Any) -> Client:
    cast.admin.is_staff = True
    cast.admin.save()
    client = Client()
    client.force_login(cast.admin)
    return client


def test_the_main_records_are_all_covered():
    labels = {m._meta.label for m in READ_ONLY}
    assert {"crm.Customer", "crm.Deal", "crm.Lead", "activities.Task", "users.Target"} <= labels
    assert {"users.User", "users.Team", "users.Role", "org.Organisation", "org.Holiday"} <= labels
    assert {m._meta.label for m in (PoolRule, DealLine, QuoteLine)} <= labels


@pytest.mark.parametrize("model", READ_ONLY, ids=[m._meta.label for m in READ_ONLY])
def test_nothing_can_be_added_or_changed_there(model, staff_admin, cast):
    assert staff_admin.get(url(model, "add")).status_code == 403
    model_admin = admin.site.get_model_admin(model)
    request = type("R", (), {"user": cast.admin})()
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)


def test_a_posted_change_to_a_deal_changes_nothing(staff_admin, cast):
    deal = DealFactory.create(owner=cast.rep, name="Before")
    before = Deal.all_objects.values().get(pk=deal.pk)
    response = staff_admin.post(url(Deal, "change", deal.pk), {"name": "After"})
    assert response.status_code == 403
    assert Deal.all_objects.values().get(pk=deal.pk) == before
    assert staff_admin.get(url(Deal, "change", deal.pk)).status_code == 200  # still viewable


def test_soft_delete_and_restore_in_the_admin_go_through_the_services(staff_admin, cast):
    customer = CustomerFactory.create(owner=cast.rep)
    for action in ("soft_delete", "restore"):
        response = staff_admin.post(
            url(Customer, "changelist") + "?deleted=any",
            {"action": action, "_selected_action": [str(customer.pk)]},
        )
        assert response.status_code == 302
    actions = list(
        AuditEntry.objects.filter(object_type="crm.customer", object_id=customer.pk)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["deleted", "restored"]
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_a_posted_change_to_a_person_or_a_role_changes_nothing(staff_admin, cast):
    from salesops.users.models import Role, User

    before = User.objects.values().get(pk=cast.rep.pk)
    response = staff_admin.post(
        url(User, "change", cast.rep.pk), {"username": "rep", "is_staff": "on", "role": ""}
    )
    assert response.status_code == 403
    assert User.objects.values().get(pk=cast.rep.pk) == before
    password = reverse("admin:auth_user_password_change", args=[cast.rep.pk])
    assert staff_admin.post(password, {"password1": "x", "password2": "x"}).status_code == 403
    role = cast.rep.role
    response = staff_admin.post(url(Role, "change", role.pk), {"name": "Boss", "is_admin": "on"})
    assert response.status_code == 403
    role.refresh_from_db()
    assert not role.is_admin
    assert staff_admin.get(url(User, "change", cast.rep.pk)).status_code == 200  # viewable
