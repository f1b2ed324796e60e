"""The data-permission matrix: for every main model and every kind of user, the exact set
of rows `Model.objects.visible_to(user)` returns.

The expected sets are written out by hand (who sees whose records), then checked
row by row; a hypothesis test compares `visible_to` with an independent plain-Python
model of the scope rule on random team trees, reporting lines and roles.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.activities.models import FollowUp, Task
from salesops.activities.tests.factories import FollowUpFactory, TaskFactory
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
from salesops.crm.tests.factories import (
    ContactFactory,
    CustomerFactory,
    DealFactory,
    LeadFactory,
    PipelineFactory,
    ProductFactory,
)
from salesops.crm.tests.more_factories import (
    ContractFactory,
    PaymentFactory,
    PaymentPlanFactory,
    QuoteFactory,
)
from salesops.users.models import OBJECT_TYPES, Role, Target, Team, User
from salesops.users.tests.factories import RoleFactory, UserFactory

ALL_TYPES = [t for t, _label in OBJECT_TYPES]
VIEW_ALL = {t: ["view"] for t in ALL_TYPES}

#: The people who own one record of every model in the matrix.
OWNERS = ("rep", "rep_east1", "teammate", "manager", "outsider")
EVERYONE = "everyone"  # every row, including rows without an owner
NO_ONE: frozenset[str] = frozenset()

#: Whose records each user sees (Customer adds the public pool for everyone who sees any).
#:   teams: HQ ▸ East ▸ East-1, HQ ▸ West
#:   rep, teammate, manager in East; rep_east1 in East-1; outsider in West
#:   rep and rep_east1 report to manager, manager reports to director (HQ)
#:   liaison is in West and also in East-1 (extra team)
EXPECTED_OWNERS: dict[str, frozenset[str] | str] = {
    "admin": EVERYONE,  # role is_admin, scope all
    "analyst": EVERYONE,  # scope all, view and export only
    "manager": frozenset({"manager", "rep", "rep_east1", "teammate"}),  # team_tree of East
    "rep": frozenset({"rep"}),  # own
    "rep_east1": frozenset({"rep_east1"}),  # own
    "teammate": frozenset({"rep", "teammate", "manager"}),  # team East, not East-1
    "outsider": frozenset({"outsider"}),  # own, West
    "director": frozenset({"manager", "rep", "rep_east1"}),  # subordinates, recursively
    "liaison": frozenset({"outsider", "rep_east1"}),  # team, West + extra East-1
    "no_rights": NO_ONE,  # scope all, but a role without any right
    "inactive": NO_ONE,  # admin role, deactivated
    "anonymous": NO_ONE,
    "none": NO_ONE,
}


def make_lead(owner: User | None, w: World) -> Model:
    return LeadFactory.create(owner=owner)


def make_customer(owner: User | None, w: World) -> Model:
    if owner is None:
        return CustomerFactory.create(owner=None, owned_since=None, pool_entered_at=timezone.now())
    return CustomerFactory.create(owner=owner)


def make_contact(owner: User | None, w: World) -> Model:
    return ContactFactory.create(customer=w.customer_of(owner), owner=owner)


def make_deal(owner: User | None, w: World) -> Model:
    return DealFactory.create(owner=owner, customer=w.customer_of(owner), pipeline=w.pipeline)


def make_followup(owner: User | None, w: World) -> Model:
    return FollowUpFactory.create(owner=owner, customer=w.customer_of(owner))


def make_task(owner: User | None, w: World) -> Model:
    return TaskFactory.create(owner=owner, customer=w.customer_of(owner))


def make_quote(owner: User | None, w: World) -> Model:
    return QuoteFactory.create(owner=owner, customer=w.customer_of(owner))


def make_contract(owner: User | None, w: World) -> Model:
    return ContractFactory.create(owner=owner, customer=w.customer_of(owner))


def make_plan(owner: User | None, w: World) -> Model:
    return PaymentPlanFactory.create(owner=owner, contract=w.contract_of(owner))


def make_payment(owner: User | None, w: World) -> Model:
    return PaymentFactory.create(owner=owner, contract=w.contract_of(owner))


def make_target(owner: User | None, w: World) -> Model | None:
    if owner is None:
        return None  # a target belongs to a person or a team: see the team-target tests
    w.target_month += 1
    year, month = divmod(w.target_month, 12)
    return Target.objects.create(
        user=owner,
        metric=Target.Metric.BOOKINGS,
        period_kind=Target.PeriodKind.MONTH,
        period_start=dt.date(2026 + year, month + 1, 1),
        value=Decimal(1000),
    )


MAKERS: dict[type[Model], Any] = {
    Lead: make_lead,
    Customer: make_customer,
    Contact: make_contact,
    Deal: make_deal,
    FollowUp: make_followup,
    Task: make_task,
    Quote: make_quote,
    Contract: make_contract,
    PaymentPlan: make_plan,
    Payment: make_payment,
    Target: make_target,
}
MATRIX_MODELS = list(MAKERS)
WITH_PRODUCT: list[type[Model]] = [*MATRIX_MODELS, Product]


@dataclass
class World:
    """The cast, the extra people of the matrix, and every record of every model."""

    cast: Any
    users: dict[str, Any]
    pipeline: Any = None
    customers: dict[Any, Any] = field(default_factory=dict)
    contracts: dict[Any, Any] = field(default_factory=dict)
    deleted: dict[type[Model], Any] = field(default_factory=dict)
    target_month: int = 0

    def customer_of(self, owner: User | None) -> Customer:
        """One customer per owner, shared by that owner's contacts, deals, follow-ups..."""
        key = owner.pk if owner else None
        if key not in self.customers:
            self.customers[key] = make_customer(owner, self)
        return self.customers[key]

    def contract_of(self, owner: User | None) -> Contract:
        key = owner.pk if owner else None
        if key not in self.contracts:
            self.contracts[key] = make_contract(owner, self)
        return self.contracts[key]

    def ids(self, names: frozenset[str]) -> set[int]:
        return {self.users[n].pk for n in names}


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(cast: Any) -> dict[str, Any]:
    """The cast plus a director (scope subordinates) above the manager, a liaison with an
    extra team, a role without rights and an inactive admin."""
    director = UserFactory.create(
        username="director",
        team=cast.hq,
        role=RoleFactory.create(name="Director", data_scope=Role.Scope.SUBORDINATES),
    )
    cast.manager.reports_to = director
    cast.manager.save()
    liaison = UserFactory.create(
        username="liaison",
        team=cast.west,
        role=RoleFactory.create(name="Liaison", data_scope=Role.Scope.TEAM),
    )
    liaison.extra_teams.add(cast.east1)
    no_rights = UserFactory.create(
        username="no_rights",
        team=cast.east,
        role=RoleFactory.create(name="Nothing", data_scope=Role.Scope.ALL, rights={}),
    )
    inactive = UserFactory.create(
        username="inactive", team=cast.east, role=cast.admin.role, is_active=False
    )
    people = {name: getattr(cast, name) for name in (*OWNERS, "admin", "analyst")}
    people |= {
        "director": director,
        "liaison": liaison,
        "no_rights": no_rights,
        "inactive": inactive,
        "anonymous": AnonymousUser(),
        "none": None,
    }
    return people


@pytest.fixture
def world(cast: Any, people: dict[str, Any]) -> World:
    """One record of every matrix model per owner, one without an owner, and one
    soft-deleted record (of rep's) per model."""
    w = World(cast=cast, users=people, pipeline=PipelineFactory.create())
    for model, make in MAKERS.items():
        for name in (*OWNERS, None):
            make(people[name] if name else None, w)
        gone = make(cast.rep, w)
        gone.soft_delete()
        w.deleted[model] = gone
    return w


def fresh(user: Any) -> Any:
    """The user as a new request would load it (no cached scope)."""
    if isinstance(user, User):
        return User.objects.get(pk=user.pk)
    return user


def owner_id(model: type[Model], row: Any) -> Any:
    return getattr(row, f"{model.owner_field}_id")  # type: ignore[attr-defined]


def expected_ids(model: type[Model], w: World, viewer: str) -> set[int]:
    """Worked out from the table above, without `visible_to`."""
    rule = EXPECTED_OWNERS[viewer]
    rows = [row for row in model.all_objects.all() if row.deleted_at is None]  # type: ignore[attr-defined]
    if rule == EVERYONE:
        return {row.pk for row in rows}
    assert isinstance(rule, frozenset)
    if not rule:
        return set()
    owners = w.ids(rule)
    seen = {row.pk for row in rows if owner_id(model, row) in owners}
    if model in (Customer, Contact):
        # The public pool: customers without an owner, and their contacts.
        seen |= {row.pk for row in rows if row.owner_id is None}
    return seen


def visible(model: type[Model], user: Any) -> set[int]:
    return set(model.objects.visible_to(fresh(user)).values_list("pk", flat=True))  # type: ignore[attr-defined]


# -- the matrix ----------------------------------------------------------------------


@pytest.mark.parametrize("model", MATRIX_MODELS, ids=[m.__name__ for m in MATRIX_MODELS])
def test_each_user_sees_exactly_the_records_their_scope_covers(
    model: type[Model], world: World
) -> None:
    alive = model.objects.count()  # type: ignore[attr-defined]
    assert alive >= len(OWNERS)
    owners_present = {owner_id(model, row) for row in model.objects.all()}  # type: ignore[attr-defined]
    assert world.ids(frozenset(OWNERS)) <= owners_present

    wrong = {}
    for viewer in EXPECTED_OWNERS:
        got, want = visible(model, world.users[viewer]), expected_ids(model, world, viewer)
        if got != want:
            wrong[viewer] = {"unexpected": got - want, "missing": want - got}
    assert wrong == {}


@pytest.mark.parametrize("model", MATRIX_MODELS, ids=[m.__name__ for m in MATRIX_MODELS])
def test_soft_deleted_records_are_never_visible(model: type[Model], world: World) -> None:
    gone = world.deleted[model].pk
    for viewer, user in world.users.items():
        assert gone not in visible(model, user), viewer
    assert model.all_objects.filter(pk=gone).exists()  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", WITH_PRODUCT, ids=lambda m: m.__name__)
@pytest.mark.parametrize("scope", [Role.Scope.ALL, Role.Scope.OWN])
def test_a_role_without_the_view_right_on_a_type_sees_none_of_it(
    model: type[Model], scope: str, world: World
) -> None:
    object_type = model.object_type  # type: ignore[attr-defined]
    rights = {t: ["view"] for t in ALL_TYPES if t != object_type}
    rights[object_type] = ["create", "edit", "delete", "export"]
    role = RoleFactory.create(data_scope=scope, rights=rights)
    user = UserFactory.create(role=role, team=world.cast.east)
    make = MAKERS.get(model, lambda owner, w: ProductFactory.create())
    make(user, world)  # even their own record

    assert visible(model, user) == set()
    other = Lead if model is not Lead else Customer
    make_other = MAKERS[other]
    make_other(user, world)
    assert visible(other, user) != set()


def test_an_inactive_user_sees_nothing_even_as_a_superuser(world: World) -> None:
    root = UserFactory.create(is_superuser=True, is_active=False, role=None)
    for model in WITH_PRODUCT:
        assert visible(model, root) == set(), model


def test_a_user_without_a_role_sees_nothing(world: World) -> None:
    nobody = UserFactory.create(role=None, team=world.cast.east)
    for model in WITH_PRODUCT:
        assert visible(model, nobody) == set(), model


def test_an_active_superuser_without_a_role_sees_everything(world: World) -> None:
    root = UserFactory.create(is_superuser=True, role=None)
    for model in MATRIX_MODELS:
        assert visible(model, root) == expected_ids(model, world, "admin"), model


# -- the special rules ---------------------------------------------------------------


def test_customers_in_the_public_pool_are_visible_to_everyone_who_may_view_customers(
    cast: Any, people: dict[str, Any]
) -> None:
    pooled = CustomerFactory.create(owner=None, owned_since=None, pool_entered_at=timezone.now())
    owned = CustomerFactory.create(owner=cast.rep)
    deleted_pooled = CustomerFactory.create(owner=None, owned_since=None)
    deleted_pooled.soft_delete()
    deals_only = UserFactory.create(
        role=RoleFactory.create(data_scope=Role.Scope.ALL, rights={"deal": ["view"]})
    )
    for name in ("rep", "rep_east1", "teammate", "manager", "outsider", "director", "liaison"):
        seen = visible(Customer, people[name])
        assert pooled.pk in seen, name
        assert deleted_pooled.pk not in seen, name
    assert visible(Customer, cast.outsider) == {pooled.pk}
    assert visible(Customer, cast.rep) == {pooled.pk, owned.pk}
    for user in (people["no_rights"], people["inactive"], AnonymousUser(), None, deals_only):
        assert visible(Customer, user) == set()


def test_a_deal_collaborator_sees_that_deal_and_no_other(cast: Any) -> None:
    shared = DealFactory.create(owner=cast.rep)
    DealFactory.create(owner=cast.rep)
    own = DealFactory.create(owner=cast.outsider)
    shared.collaborators.add(cast.outsider)
    assert visible(Deal, cast.outsider) == {shared.pk, own.pk}

    shared.soft_delete()
    assert visible(Deal, cast.outsider) == {own.pk}


def test_a_collaborator_whose_role_cannot_view_deals_does_not_see_the_deal(cast: Any) -> None:
    blind = UserFactory.create(role=RoleFactory.create(rights={"customer": ["view"]}))
    deal = DealFactory.create(owner=cast.rep)
    deal.collaborators.add(blind)
    assert visible(Deal, blind) == set()


def test_collaborating_on_a_deal_does_not_open_its_customer_or_quotes(cast: Any) -> None:
    deal = DealFactory.create(owner=cast.rep)
    deal.collaborators.add(cast.outsider)
    quote = QuoteFactory.create(owner=cast.rep, customer=deal.customer, deal=deal)
    assert deal.pk in visible(Deal, cast.outsider)
    assert deal.customer_id not in visible(Customer, cast.outsider)
    assert quote.pk not in visible(Quote, cast.outsider)


def test_products_are_visible_to_anyone_with_the_product_view_right(
    cast: Any, people: dict[str, Any]
) -> None:
    products = {ProductFactory.create().pk for _i in range(3)}
    gone = ProductFactory.create()
    gone.soft_delete()
    no_products = UserFactory.create(
        role=RoleFactory.create(
            data_scope=Role.Scope.ALL, rights={t: ["view"] for t in ALL_TYPES if t != "product"}
        )
    )
    for name in ("admin", "analyst", "manager", "rep", "rep_east1", "teammate", "outsider"):
        assert visible(Product, people[name]) == products, name
    for name in ("director", "liaison"):
        assert visible(Product, people[name]) == products, name
    for user in (people["no_rights"], people["inactive"], AnonymousUser(), None, no_products):
        assert visible(Product, user) == set()


def make_team_target(team: Team, month: int = 1) -> Target:
    return Target.objects.create(
        team=team,
        metric=Target.Metric.BOOKINGS,
        period_kind=Target.PeriodKind.QUARTER,
        period_start=dt.date(2026, month, 1),
        value=Decimal(100000),
    )


def test_a_team_target_is_visible_to_members_of_that_team_and_of_every_team_above_it(
    cast: Any, people: dict[str, Any]
) -> None:
    """What `Target.extra_visibility` does: a user sees the targets of their own teams
    (primary and extra) and of every team below them, whatever their data scope."""
    east1 = make_team_target(cast.east1)
    east = make_team_target(cast.east)
    hq = make_team_target(cast.hq)
    west = make_team_target(cast.west)
    everything = {east1.pk, east.pk, hq.pk, west.pk}

    expected = {
        "admin": everything,
        "analyst": everything,  # scope all (and a member of HQ)
        "director": everything,  # member of HQ: every team is below it
        "manager": {east.pk, east1.pk},
        "rep": {east.pk, east1.pk},  # scope own, yet East-1's team target is visible
        "teammate": {east.pk, east1.pk},
        "rep_east1": {east1.pk},  # a sub-team does not see the team above
        "outsider": {west.pk},
        "liaison": {west.pk, east1.pk},  # West plus the extra team East-1
        "no_rights": set(),
        "inactive": set(),
        "anonymous": set(),
        "none": set(),
    }
    got = {name: visible(Target, user) for name, user in people.items()}
    assert got == expected


def test_a_user_without_a_team_sees_no_team_targets(cast: Any) -> None:
    make_team_target(cast.east)
    loner = UserFactory.create(role=RoleFactory.create(data_scope=Role.Scope.TEAM_TREE))
    mine = Target.objects.create(
        user=loner,
        metric=Target.Metric.WON_DEALS,
        period_kind=Target.PeriodKind.YEAR,
        period_start=dt.date(2026, 1, 1),
        value=Decimal(10),
    )
    assert visible(Target, loner) == {mine.pk}


def test_moving_a_team_moves_the_visibility_of_its_team_targets(cast: Any) -> None:
    target = make_team_target(cast.east1)
    assert target.pk not in visible(Target, cast.outsider)
    east1 = Team.objects.get(pk=cast.east1.pk)
    east1.parent = Team.objects.get(pk=cast.west.pk)
    east1.save()
    assert target.pk in visible(Target, cast.outsider)
    assert target.pk not in visible(Target, cast.rep)


def test_extra_teams_widen_a_team_scope(cast: Any) -> None:
    west_deal = DealFactory.create(owner=cast.outsider)
    assert west_deal.pk not in visible(Deal, cast.teammate)
    cast.teammate.extra_teams.add(cast.west)
    assert west_deal.pk in visible(Deal, cast.teammate)


def test_a_change_of_scope_shows_after_the_user_is_loaded_again(cast: Any) -> None:
    """`visible_owner_ids` is cached on the user object: one request, one answer."""
    west_deal = DealFactory.create(owner=cast.outsider)
    rep = fresh(cast.rep)
    assert west_deal.pk not in set(Deal.objects.visible_to(rep).values_list("pk", flat=True))
    rep.role = RoleFactory.create(data_scope=Role.Scope.ALL)
    rep.save()
    rep.forget_permissions()
    assert west_deal.pk in set(Deal.objects.visible_to(rep).values_list("pk", flat=True))


# -- cost and SQL --------------------------------------------------------------------

SCOPED = ("rep", "teammate", "manager", "director", "liaison")


def count_queries(model: type[Model], user: Any) -> int:
    user = fresh(user)
    with CaptureQueriesContext(connection) as queries:
        list(model.objects.visible_to(user))  # type: ignore[attr-defined]
    return len(queries)


@pytest.mark.parametrize("model", [Deal, Customer, Target], ids=lambda m: m.__name__)
def test_visible_to_costs_the_same_few_queries_however_much_data_there_is(
    model: type[Model], cast: Any, people: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    w = World(cast=cast, users=people, pipeline=PipelineFactory.create())
    make = MAKERS[model]
    for name in OWNERS:
        make(people[name], w)
    before = {name: count_queries(model, people[name]) for name in SCOPED}

    for _i in range(5):
        team = Team.objects.create(name=f"Sub {_i}", parent=cast.east1)
        user = UserFactory.create(team=team, reports_to=cast.manager, role=cast.rep.role)
        for owner in (user, cast.rep, cast.outsider):
            make(owner, w)
    after = {name: count_queries(model, people[name]) for name in SCOPED}
    assert after == before, before

    # role, extra teams, team paths, sub-teams, members, the list; Target's team rule
    # looks up the teams and their paths again; Deal reads the user's collaborations.
    most = 8 if model is Target else 7 if model is Deal else 6
    for name in SCOPED:
        user = fresh(people[name])
        with django_assert_max_num_queries(most):
            list(model.objects.visible_to(user))  # type: ignore[attr-defined]


def test_a_second_list_for_the_same_user_costs_one_query(cast: Any) -> None:
    DealFactory.create(owner=cast.rep)
    manager = fresh(cast.manager)
    list(Deal.objects.visible_to(manager))
    with CaptureQueriesContext(connection) as queries:
        list(Deal.objects.visible_to(manager))
    assert len(queries) == 1


def test_an_own_scope_deal_list_filters_on_the_owner_in_sql(cast: Any) -> None:
    rep = fresh(cast.rep)
    sql = str(Deal.objects.visible_to(rep).query)
    assert f'"crm_deal"."owner_id" IN ({rep.pk})' in sql
    assert '"crm_deal"."deleted_at" IS NULL' in sql
    # The collaborator rule is OR-ed as a list of ids, and only when there are any.
    shared = DealFactory.create(owner=cast.outsider)
    shared.collaborators.add(cast.rep)
    sql = str(Deal.objects.visible_to(fresh(cast.rep)).query)
    assert f'"crm_deal"."owner_id" IN ({rep.pk}) OR "crm_deal"."id" IN ({shared.pk})' in sql


def test_a_scope_all_deal_list_has_no_owner_filter_in_sql(cast: Any) -> None:
    sql = str(Deal.objects.visible_to(fresh(cast.analyst)).query)
    assert "owner_id" not in sql.split("WHERE", 1)[-1]


def test_a_user_without_the_right_gets_an_empty_query_without_touching_the_table(
    cast: Any, people: dict[str, Any]
) -> None:
    DealFactory.create(owner=cast.rep)
    user = fresh(people["no_rights"])
    qs = Deal.objects.visible_to(user)
    with CaptureQueriesContext(connection) as queries:
        assert list(qs) == []
    assert len(queries) == 0


# -- random organisations against a plain-Python model of the rule -----------------

SCOPES = [s.value for s in Role.Scope]


@st.composite
def organisations(draw: Any) -> dict[str, Any]:
    n_teams = draw(st.integers(1, 6))
    parents = [draw(st.sampled_from([None, *range(i)])) for i in range(n_teams)]
    moves = draw(
        st.lists(
            st.tuples(st.integers(0, n_teams - 1), st.one_of(st.none(), st.integers(0, 5))),
            max_size=2,
        )
    )
    n_users = draw(st.integers(1, 6))
    team_choice = st.one_of(st.none(), st.integers(0, n_teams - 1))
    users = [
        {
            "team": draw(team_choice),
            "extra": draw(st.sets(st.integers(0, n_teams - 1), max_size=2)),
            "reports_to": draw(st.one_of(st.none(), st.integers(0, n_users - 1))),
            "scope": draw(st.sampled_from(SCOPES)),
            "lead_view": draw(st.booleans() | st.just(True)),
            "customer_view": draw(st.booleans() | st.just(True)),
            "active": draw(st.booleans() | st.just(True) | st.just(True)),
        }
        for _u in range(n_users)
    ]
    return {"parents": parents, "moves": moves, "users": users}


def apply_moves(parents: list[int | None], moves: list[tuple[int, int | None]]) -> list[Any]:
    """The moves that keep a tree (no team under itself), and the parents after them."""
    parents = list(parents)
    kept = []
    for team, new_parent in moves:
        if new_parent is not None and new_parent >= len(parents):
            continue
        node = new_parent
        while node is not None and node != team:
            node = parents[node]
        if node == team:
            continue
        parents[team] = new_parent
        kept.append((team, new_parent))
    return [parents, kept]


def expected_visible_owners(org: dict[str, Any], parents: list[Any], viewer: int) -> Any:
    """The scope rule in plain Python. Returns a set of user indexes, or "all"."""
    users = org["users"]
    me = users[viewer]
    scope = me["scope"]
    if scope == "all":
        return "all"
    if scope == "own":
        return {viewer}
    if scope == "subordinates":
        seen, stack = {viewer}, [viewer]
        while stack:
            boss = stack.pop()
            for i, u in enumerate(users):
                if u["reports_to"] == boss and i not in seen:
                    seen.add(i)
                    stack.append(i)
        return seen

    def teams_of(u: dict[str, Any]) -> set[int]:
        return set(u["extra"]) | ({u["team"]} if u["team"] is not None else set())

    mine = teams_of(me)
    if scope == "team_tree":
        below = set(mine)
        grew = True
        while grew:
            more = {t for t, p in enumerate(parents) if p in below} - below
            below |= more
            grew = bool(more)
        mine = below
    return {i for i, u in enumerate(users) if i == viewer or teams_of(u) & mine}


def build(org: dict[str, Any]) -> tuple[list[Team], list[User], list[Any]]:
    teams: list[Team] = []
    for i, parent in enumerate(org["parents"]):
        teams.append(
            Team.objects.create(name=f"T{i}", parent=teams[parent] if parent is not None else None)
        )
    parents, moves = apply_moves(org["parents"], org["moves"])
    for team_i, parent_i in moves:
        team = Team.objects.get(pk=teams[team_i].pk)
        team.parent = Team.objects.get(pk=teams[parent_i].pk) if parent_i is not None else None
        team.save()

    users: list[User] = []
    for i, spec in enumerate(org["users"]):
        rights = {t: ["view"] for t in ALL_TYPES}
        if not spec["lead_view"]:
            del rights["lead"]
        if not spec["customer_view"]:
            del rights["customer"]
        role = Role.objects.create(name=f"R{i}", data_scope=spec["scope"], rights=rights)
        user = User.objects.create(
            username=f"u{i}",
            is_active=spec["active"],
            role=role,
            team=teams[spec["team"]] if spec["team"] is not None else None,
        )
        user.extra_teams.set([teams[t] for t in spec["extra"]])
        users.append(user)
    for user, spec in zip(users, org["users"], strict=True):
        if spec["reports_to"] is not None:
            user.reports_to = users[spec["reports_to"]]
            user.save(update_fields=["reports_to"])
    return teams, users, parents


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(org=organisations())
def test_visible_to_agrees_with_a_plain_python_model_of_the_scope_rule(
    db: Any, org: dict[str, Any]
) -> None:
    with transaction.atomic():
        _teams, users, parents = build(org)
        leads = {LeadFactory.create(owner=u).pk: i for i, u in enumerate(users)}
        unowned_lead = LeadFactory.create(owner=None).pk
        customers = {CustomerFactory.create(owner=u).pk: i for i, u in enumerate(users)}
        pool = CustomerFactory.create(owner=None, owned_since=None).pk
        gone = LeadFactory.create(owner=users[0])
        gone.soft_delete()

        for viewer, user in enumerate(users):
            spec = org["users"][viewer]
            rule = expected_visible_owners(org, parents, viewer)

            def allowed(i: int, rule: Any = rule) -> bool:
                return rule == "all" or i in rule

            want_leads: set[int] = set()
            if spec["active"] and spec["lead_view"]:
                want_leads = {pk for pk, i in leads.items() if allowed(i)}
                if rule == "all":
                    want_leads.add(unowned_lead)
            want_customers: set[int] = set()
            if spec["active"] and spec["customer_view"]:
                want_customers = {pk for pk, i in customers.items() if allowed(i)} | {pool}

            fresh_user = User.objects.get(pk=user.pk)
            assert visible(Lead, fresh_user) == want_leads, (viewer, org)
            assert visible(Customer, fresh_user) == want_customers, (viewer, org)
        transaction.set_rollback(True)
