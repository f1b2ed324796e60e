"""The cast every test can use (after healthchecks' hc/test.py): one organisation with
HQ ▸ East ▸ East-1 and HQ ▸ West, and people whose roles cover each data scope."""

from dataclasses import dataclass

import pytest

from salesops.org.models import Organisation
from salesops.users.models import Role, Team, User
from salesops.users.tests.factories import RoleFactory, UserFactory


@dataclass
class Cast:
    org: Organisation
    hq: Team
    east: Team
    east1: Team
    west: Team
    admin: User  # role is_admin, scope all
    analyst: User  # scope all, view/export only
    manager: User  # East's manager, scope team_tree (East and East-1)
    rep: User  # in East, scope own, reports to manager
    rep_east1: User  # in East-1, scope own, reports to manager
    teammate: User  # in East, scope team
    outsider: User  # in West, scope own: must never see East's data


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Process-level caches must not carry rows across tests' rolled-back transactions."""
    from salesops.lib.cache import forget_all

    forget_all()
    yield
    forget_all()


@pytest.fixture(autouse=True)
def _english(settings):
    """Tests read messages in English unless they switch language themselves; the
    product's default language stays zh-Hans."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is the production hasher; tests hash hundreds of passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(db) -> Cast:
    org = Organisation.get()
    hq = Team.objects.create(name="HQ")
    east = Team.objects.create(name="East", parent=hq)
    east1 = Team.objects.create(name="East-1", parent=east)
    west = Team.objects.create(name="West", parent=hq)
    admin_role = RoleFactory.create(name="Admin", data_scope=Role.Scope.ALL, is_admin=True)
    analyst_role = RoleFactory.create(
        name="Analyst",
        data_scope=Role.Scope.ALL,
        rights={
            t: ["view", "export"]
            for t in (
                "lead",
                "customer",
                "contact",
                "deal",
                "followup",
                "task",
                "product",
                "quote",
                "contract",
                "payment",
                "target",
            )
        },
    )
    manager_role = RoleFactory.create(name="Manager", data_scope=Role.Scope.TEAM_TREE)
    rep_role = RoleFactory.create(name="Rep", data_scope=Role.Scope.OWN, is_sales_rep=True)
    team_role = RoleFactory.create(name="Team rep", data_scope=Role.Scope.TEAM, is_sales_rep=True)
    admin = UserFactory.create(username="admin", role=admin_role, is_staff=True)
    analyst = UserFactory.create(username="analyst", role=analyst_role, team=hq)
    manager = UserFactory.create(username="manager", role=manager_role, team=east)
    east.manager = manager
    east.save()
    rep = UserFactory.create(username="rep", role=rep_role, team=east, reports_to=manager)
    rep_east1 = UserFactory.create(
        username="rep_east1", role=rep_role, team=east1, reports_to=manager
    )
    teammate = UserFactory.create(username="teammate", role=team_role, team=east)
    outsider = UserFactory.create(username="outsider", role=rep_role, team=west)
    return Cast(
        org, hq, east, east1, west, admin, analyst, manager, rep, rep_east1, teammate, outsider
    )
