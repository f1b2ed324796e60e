"""Administrators write users, teams and price lists through the API; everyone else
reads them and gets 404 on every write, and nothing changes."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from salesops.api.models import ApiToken
from salesops.api.tests.conftest import ApiClient
from salesops.crm.models import PriceList, PriceListItem, Product
from salesops.users.models import Target, Team, User

PASSWORD = "a-long-Secret-42"


@pytest.fixture
def product(db):
    return Product.objects.create(name="Widget", price="100.00", currency_id="CNY")


def snapshot():
    return {
        "users": [model_to_dict(u) for u in User.objects.order_by("pk")],
        "teams": [model_to_dict(t) for t in Team.objects.order_by("pk")],
        "price_lists": [model_to_dict(p) for p in PriceList.objects.order_by("pk")],
        "items": list(PriceListItem.objects.order_by("pk").values()),
        "tokens": list(ApiToken.objects.order_by("pk").values("pk", "revoked_at")),
    }


# -- users -------------------------------------------------------------------------------


def test_an_administrator_adds_a_person_who_can_sign_in_with_that_password(cast, as_user):
    admin = as_user(cast.admin)
    role = cast.rep.role
    r = admin.post(
        "/users",
        {
            "username": "newrep",
            "display_name": "New Rep",
            "email": "new@example.com",
            "team": cast.west.pk,
            "role": role.pk,
            "reports_to": cast.manager.pk,
            "password": PASSWORD,
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert "password" not in body
    assert (body["team"], body["role"], body["is_active"]) == (cast.west.pk, role.pk, True)
    assert r["Location"].endswith(f"/users/{body['id']}")
    assert r["ETag"]
    user = User.objects.get(pk=body["id"])
    assert user.check_password(PASSWORD)
    assert user.visible_owner_ids() == {user.pk}


def test_a_new_person_needs_a_username_and_a_good_password_and_nothing_is_saved(cast, as_user):
    admin = as_user(cast.admin)
    before = User.objects.count()
    r = admin.post("/users", {"username": "nopass"})
    assert r.status_code == 422
    assert "password" in r.json()["errors"]
    r = admin.post("/users", {"username": "weak", "password": "123"})
    assert r.status_code == 422
    assert "password" in r.json()["errors"]
    r = admin.post("/users", {"username": "rep", "password": PASSWORD})
    assert r.status_code == 422
    assert "username" in r.json()["errors"]
    r = admin.post("/users", {"username": "x", "email": "not-an-email", "password": PASSWORD})
    assert r.status_code == 422
    assert "email" in r.json()["errors"]
    r = admin.post("/users", {"username": "x", "team": 999999, "password": PASSWORD})
    assert r.status_code == 422
    assert "team" in r.json()["errors"]
    r = admin.post("/users", {"username": "x", "password": PASSWORD, "is_superuser": True})
    assert r.status_code == 422
    assert "is_superuser" in r.json()["errors"]
    assert User.objects.count() == before


def test_moving_a_person_to_another_team_changes_what_they_see_at_once(cast, as_user):
    from salesops.crm import services

    services.create_customer(by=cast.outsider, name="West Co")
    teammate = as_user(cast.teammate)
    assert teammate.get("/customers").json()["data"] == []
    r = as_user(cast.admin).patch(f"/users/{cast.teammate.pk}", {"team": cast.west.pk})
    assert r.status_code == 200, r.content
    assert [c["name"] for c in teammate.get("/customers").json()["data"]] == ["West Co"]


def test_deactivating_a_person_revokes_their_tokens_and_reactivating_does_not_revive_them(
    cast, as_user
):
    rep = as_user(cast.rep)
    assert rep.get("/leads").status_code == 200
    admin = as_user(cast.admin)
    assert admin.patch(f"/users/{cast.rep.pk}", {"is_active": False}).json()["is_active"] is False
    assert rep.get("/leads").status_code == 401
    assert ApiToken.objects.get(pk=rep.token.token.pk).revoked_at is not None
    assert admin.patch(f"/users/{cast.rep.pk}", {"is_active": True}).status_code == 200
    assert rep.get("/leads").status_code == 401
    assert as_user(User.objects.get(pk=cast.rep.pk)).get("/leads").status_code == 200


def test_an_administrator_cannot_deactivate_or_demote_themselves(cast, as_user):
    admin = as_user(cast.admin)
    before = snapshot()
    assert admin.patch(f"/users/{cast.admin.pk}", {"is_active": False}).status_code == 422
    assert admin.patch(f"/users/{cast.admin.pk}", {"role": cast.rep.role.pk}).status_code == 422
    assert snapshot() == before


def test_a_role_change_changes_the_data_scope_on_the_next_request(cast, as_user):
    from salesops.crm import services

    services.create_customer(by=cast.outsider, name="West Co")
    rep = as_user(cast.rep)
    assert rep.get("/customers").json()["data"] == []
    analyst_role = cast.analyst.role
    r = as_user(cast.admin).patch(f"/users/{cast.rep.pk}", {"role": analyst_role.pk})
    assert r.status_code == 200
    assert [c["name"] for c in rep.get("/customers").json()["data"]] == ["West Co"]


# -- teams -------------------------------------------------------------------------------


def test_an_administrator_builds_and_moves_teams_and_paths_follow(cast, as_user):
    admin = as_user(cast.admin)
    r = admin.post("/teams", {"name": "South", "parent": cast.hq.pk, "manager": cast.manager.pk})
    assert r.status_code == 201, r.content
    south = r.json()["id"]
    r = admin.patch(f"/teams/{cast.east.pk}", {"parent": south})
    assert r.status_code == 200, r.content
    east1 = admin.get(f"/teams/{cast.east1.pk}").json()
    assert east1["path"].startswith(Team.objects.get(pk=south).path)


def test_a_team_cannot_go_under_its_own_sub_team(cast, as_user):
    admin = as_user(cast.admin)
    before = snapshot()
    r = admin.patch(f"/teams/{cast.east.pk}", {"parent": cast.east1.pk})
    assert r.status_code == 422
    assert "parent" in r.json()["errors"]
    assert snapshot() == before


def test_only_an_empty_team_can_be_deleted(cast, as_user):
    admin = as_user(cast.admin)
    before = snapshot()
    r = admin.delete(f"/teams/{cast.west.pk}")
    assert r.status_code == 422
    assert "move them" in r.json()["detail"]
    assert admin.delete(f"/teams/{cast.east.pk}").status_code == 422  # sub-team East-1
    assert snapshot() == before
    empty = Team.objects.create(name="Empty", parent=cast.hq)
    Target.objects.create(
        team=empty, metric="bookings", period_kind="year", period_start="2026-01-01", value=1
    )
    assert admin.delete(f"/teams/{empty.pk}").status_code == 422
    Target.all_objects.filter(team=empty).delete()
    assert admin.delete(f"/teams/{empty.pk}").status_code == 204
    assert not Team.objects.filter(pk=empty.pk).exists()


# -- price lists ----------------------------------------------------------------------------


def test_an_administrator_creates_changes_retires_and_restores_a_price_list(cast, as_user, product):
    admin = as_user(cast.admin)
    other = Product.objects.create(name="Gadget", price="5.00", currency_id="CNY")
    r = admin.post(
        "/price-lists",
        {
            "name": "Partners 2027",
            "valid_from": "2027-01-01",
            "items": [{"product": product.pk, "price": "90.00"}],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    pk = body["id"]
    assert body["currency"] == "CNY"
    assert body["items"] == [{"product": product.pk, "price": "90.00"}]
    r = admin.patch(
        f"/price-lists/{pk}",
        {"items": [{"product": other.pk, "price": "4.50"}]},
        **{"If-Match": r["ETag"]},
    )
    assert r.status_code == 200, r.content
    assert r.json()["items"] == [{"product": other.pk, "price": "4.50"}]
    assert admin.delete(f"/price-lists/{pk}").status_code == 204
    assert [p["id"] for p in admin.get("/price-lists", {"deleted": "true"}).json()["data"]] == [pk]
    assert admin.get(f"/price-lists/{pk}").json()["active"] is False
    r = admin.post(f"/price-lists/{pk}/restore")
    assert r.status_code == 200
    assert r.json()["active"] is True
    assert r.json()["items"] == [{"product": other.pk, "price": "4.50"}]


def test_bad_price_list_input_is_refused_per_field_and_nothing_is_saved(cast, as_user, product):
    admin = as_user(cast.admin)
    cases = [
        ({"name": "A", "currency": "XXX"}, "currency"),
        ({"name": "A", "valid_from": "2027-02-01", "valid_until": "2027-01-01"}, "valid_until"),
        ({"name": "A", "items": [{"product": 999999, "price": "1"}]}, "items.0.product"),
        ({"name": "A", "items": [{"product": product.pk, "price": "-1"}]}, "items.0.price"),
        (
            {
                "name": "A",
                "items": [
                    {"product": product.pk, "price": "1"},
                    {"product": product.pk, "price": "2"},
                ],
            },
            "items.1.product",
        ),
        ({"name": "A", "items": [{"product": product.pk}]}, "items.0.price"),
    ]
    for body, field in cases:
        r = admin.post("/price-lists", body)
        assert r.status_code == 422, (body, r.content)
        assert field in r.json()["errors"], (body, r.json())
    assert not PriceList.objects.exists()
    assert admin.post("/price-lists", {"name": "A"}).status_code == 201
    r = admin.post("/price-lists", {"name": "A"})
    assert r.status_code == 422
    assert "name" in r.json()["errors"]


# -- ETags and If-Match ---------------------------------------------------------------------


def test_a_stale_if_match_is_412_on_users_teams_and_price_lists_and_nothing_changes(cast, as_user):
    admin, other_admin = as_user(cast.admin), as_user(cast.admin)
    price_list = PriceList.objects.create(name="Base", currency_id="CNY")
    for path, change, later in [
        (f"/users/{cast.rep.pk}", {"display_name": "Old"}, {"display_name": "Mine"}),
        (f"/teams/{cast.west.pk}", {"name": "West 2"}, {"name": "Mine"}),
        (f"/price-lists/{price_list.pk}", {"name": "Base 2"}, {"name": "Mine"}),
    ]:
        read = admin.get(path)
        tag = read["ETag"]
        assert admin.get(path)["ETag"] == tag  # stable while nothing changes
        assert other_admin.patch(path, change).status_code == 200
        before = snapshot()
        r = admin.patch(path, later, **{"If-Match": tag})
        assert r.status_code == 412, (path, r.content)
        assert r["ETag"] == other_admin.get(path)["ETag"]
        assert snapshot() == before
        assert admin.patch(path, later, **{"If-Match": r["ETag"]}).status_code == 200
    tag = admin.get(f"/teams/{cast.west.pk}")["ETag"]
    assert admin.delete(f"/teams/{cast.west.pk}", **{"If-Match": '"stale"'}).status_code == 412
    assert admin.get(f"/teams/{cast.west.pk}")["ETag"] == tag


# -- who may write ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rep", "manager", "analyst", "outsider"])
def test_everyone_but_an_administrator_gets_404_on_every_write_and_nothing_changes(
    cast, who, product
):
    api = ApiClient(getattr(cast, who))
    price_list = PriceList.objects.create(name="Base", currency_id="CNY", active=False)
    before = snapshot()
    users = f"/users/{cast.rep.pk}"
    writes = [
        ("POST", "/users", {"username": "sneaky", "password": PASSWORD}),
        ("PATCH", users, {"display_name": "Taken"}),
        ("PATCH", users, {"role": cast.admin.role.pk}),
        ("PATCH", users, {"is_active": False}),
        ("POST", "/teams", {"name": "Mine"}),
        ("PATCH", f"/teams/{cast.east.pk}", {"name": "Taken"}),
        ("DELETE", f"/teams/{cast.east1.pk}", None),
        ("POST", "/price-lists", {"name": "Mine"}),
        ("PATCH", f"/price-lists/{price_list.pk}", {"name": "Taken"}),
        ("DELETE", f"/price-lists/{price_list.pk}", None),
        ("POST", f"/price-lists/{price_list.pk}/restore", None),
    ]
    for method, path, body in writes:
        r = api.request(
            method, path, body if body is not None else ({} if method == "POST" else None)
        )
        assert r.status_code == 404, (method, path, r.content)
    assert api.get(users).status_code == 200
    assert api.get(f"/teams/{cast.east.pk}").status_code == 200
    assert api.get("/roles").json()["data"] == []
    assert snapshot() == before


def test_roles_are_listed_for_administrators(cast, as_user):
    names = [r["name"] for r in as_user(cast.admin).get("/roles").json()["data"]]
    assert {"Admin", "Rep"} <= set(names)
