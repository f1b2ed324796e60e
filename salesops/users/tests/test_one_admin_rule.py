""" "Is an organisation administrator" is decided in one place, `User.is_org_admin`
(with `User.administrators()`, the same rule as a query): every surface that asks
gives the same answer for the same person, and no other module writes the rule."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from salesops.customization.layouts import shown_to
from salesops.org.admin import is_org_admin
from salesops.users import admin_services
from salesops.users.models import Role, User
from salesops.web.templatetags.web import is_admin_filter

ROOT = Path(__file__).resolve().parents[2]
#: Where the rule may be written: the method and its query form.
HOME = {"users/models.py"}


def _people(cast):
    plain = Role.objects.create(name="Plain", data_scope="own")
    boss = Role.objects.create(name="Boss", data_scope="all", is_admin=True)
    return {
        "superuser": (User.objects.create(username="su", is_superuser=True), True),
        "admin role": (cast.admin, True),
        "inactive admin": (User.objects.create(username="gone", role=boss, is_active=False), False),
        "inactive superuser": (
            User.objects.create(username="gone-su", is_superuser=True, is_active=False),
            False,
        ),
        "rep": (cast.rep, False),
        "staff without the admin role": (
            User.objects.create(username="staff", role=plain, is_staff=True),
            False,
        ),
        "no role": (User.objects.create(username="norole"), False),
    }


def test_every_surface_gives_the_same_answer(cast):
    people = _people(cast)
    administrators = set(User.administrators())
    for label, (user, expected) in people.items():
        assert user.is_org_admin() is expected, label
        assert admin_services.is_admin(user) is expected, label
        assert is_admin_filter(user) is expected, label
        assert (user in administrators) is expected, label
        assert shown_to(user, {"roles": [-1]}) is expected, label
        user.is_staff = True
        assert is_org_admin(user) is expected, label
        try:
            admin_services.ensure_admin(user)
            allowed = True
        except PermissionDenied:
            allowed = False
        assert allowed is expected, label
    assert admin_services.is_admin(AnonymousUser()) is False
    assert admin_services.is_admin(None) is False
    assert is_admin_filter(AnonymousUser()) is False


def test_the_django_admin_also_needs_staff(cast):
    cast.admin.is_staff = False
    assert not is_org_admin(cast.admin)


@pytest.mark.parametrize("pattern", [r"role\.is_admin\b", r"role__is_admin", r"\.is_superuser\b"])
def test_no_other_module_writes_the_rule(pattern):
    allowed_elsewhere = {
        # whether a superuser may strip their own role of the admin right: about
        # superusers themselves, not "is an administrator".
        "users/admin_services.py",
        # superusers bypass hidden fields and scopes by definition
        "users/models.py",
    }
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if "/tests/" in rel or "/migrations/" in rel or "/management/" in rel:
            continue
        if rel in HOME | allowed_elsewhere or rel.startswith(("demo/", "analytics/bench")):
            continue
        if re.search(pattern, path.read_text()):
            offenders.append(rel)
    assert offenders == [], f"write `user.is_org_admin()` instead in {offenders}"
