"""Two users in different teams try each other's ids on every resource and verb: the
answer is 404, never 403, and the row, its history and its version do not change."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from salesops.activities.models import FollowUp, Task
from salesops.api.tests.worlds import build_world, shared_setup
from salesops.crm.models import (
    Contact,
    Contract,
    Customer,
    Deal,
    Lead,
    Payment,
    PaymentPlan,
    PoolEvent,
    Quote,
    QuoteLine,
)
from salesops.crm.models.deals import StageHistory
from salesops.users.models import Target

MODELS = {
    "leads": Lead,
    "customers": Customer,
    "contacts": Contact,
    "deals": Deal,
    "followups": FollowUp,
    "tasks": Task,
    "quotes": Quote,
    "contracts": Contract,
    "payment-plans": PaymentPlan,
    "payments": Payment,
    "targets": Target,
}

PATCHES = {
    "leads": {"name": "Taken"},
    "customers": {"name": "Taken"},
    "contacts": {"name": "Taken"},
    "deals": {"amount": "1"},
    "followups": {"subject": "Taken"},
    "tasks": {"title": "Taken"},
    "quotes": {"notes": "Taken"},
    "contracts": {"title": "Taken"},
    "payment-plans": {"note": "Taken"},
    "targets": {"value": "1"},
}

ACTIONS = {
    "leads": [("convert", {})],
    "customers": [("claim", {}), ("release", {}), ("assign", {"to": None})],
    "deals": [("won", {}), ("lost", {"reason": "price"}), ("reopen", {}), ("move-stage", None)],
    "tasks": [("complete", {})],
}


def snapshot():
    state = {}
    for name, model in MODELS.items():
        for obj in model.all_objects.all():
            state[(name, obj.pk)] = model_to_dict(obj)
            state[(name, obj.pk, "version")] = obj.version
    state["history"] = list(StageHistory.objects.order_by("id").values())
    state["pool"] = list(PoolEvent.objects.order_by("id").values())
    state["lines"] = list(QuoteLine.objects.order_by("id").values())
    return state


@pytest.fixture
def two_worlds(cast, as_user):
    shared = shared_setup()
    east, west = as_user(cast.rep), as_user(cast.outsider)
    return (
        (east, build_world(east, cast.rep, shared, "east")),
        (west, build_world(west, cast.outsider, shared, "west")),
        shared,
    )


@pytest.mark.parametrize("direction", ["east tries west", "west tries east"])
def test_each_user_gets_404_on_every_resource_and_verb_of_the_other_team_and_nothing_changes(
    two_worlds, cast, direction
):
    (east, east_world), (west, west_world), shared = two_worlds
    me, theirs = (east, west_world) if direction == "east tries west" else (west, east_world)
    before = snapshot()
    stage = shared["pipeline"].stages.order_by("order")[1]
    for name, pk in theirs.ids.items():
        assert me.get(f"/{name}/{pk}").status_code == 404, name
        assert me.get(f"/{name}/{pk}", {"expand": ""}).status_code == 404, name
        listed = [row["id"] for row in me.get(f"/{name}", {"limit": 500}).json()["data"]]
        assert pk not in listed, name
        if name in PATCHES:
            r = me.patch(f"/{name}/{pk}", PATCHES[name], **{"If-Match": '"1"'})
            assert r.status_code == 404, (name, r.content)
        assert me.delete(f"/{name}/{pk}").status_code == 404, name
        assert me.post(f"/{name}/{pk}/restore").status_code == 404, name
        for action, body in ACTIONS.get(name, []):
            if body is None:
                body = {"stage": stage.pk}
            if "to" in body:
                body = {"to": me.user.pk}
            r = me.post(f"/{name}/{pk}/{action}", body)
            assert r.status_code == 404, (name, action, r.content)
    assert me.get(f"/deals/{theirs.ids['deals']}/stage-history").status_code == 404
    assert snapshot() == before


def test_ids_of_another_team_in_a_body_are_refused_as_unknown_and_nothing_is_written(
    two_worlds,
):
    (east, _east_world), (_west, west_world), _shared = two_worlds
    before = snapshot()
    customer = west_world.ids["customers"]
    cases = [
        ("/contacts", {"customer": customer, "name": "Spy"}),
        ("/deals", {"customer": customer, "name": "Spy"}),
        ("/followups", {"kind": "call", "customer": customer}),
        ("/tasks", {"title": "Spy", "deal": west_world.ids["deals"]}),
        ("/quotes", {"customer": customer}),
        ("/contracts", {"customer": customer, "title": "Spy", "amount": "1"}),
        (
            "/payment-plans",
            {"contract": west_world.ids["contracts"], "due_on": "2030-01-01", "amount": "1"},
        ),
        (
            "/payments",
            {"contract": west_world.ids["contracts"], "amount": "1", "received_on": "2020-01-01"},
        ),
    ]
    for path, body in cases:
        r = east.post(path, body)
        assert r.status_code == 422, (path, r.content)
        assert "may see" in r.json()["detail"] or "may see" in str(r.json()["errors"]), path
    assert snapshot() == before


def test_a_deleted_record_of_another_team_cannot_be_restored_or_listed(two_worlds):
    (east, _east_world), (west, west_world), _shared = two_worlds
    pk = west_world.ids["leads"]
    assert west.delete(f"/leads/{pk}").status_code == 204
    assert east.post(f"/leads/{pk}/restore").status_code == 404
    assert pk not in [row["id"] for row in east.get("/leads", {"deleted": "true"}).json()["data"]]
    assert pk in [row["id"] for row in west.get("/leads", {"deleted": "true"}).json()["data"]]
    assert west.post(f"/leads/{pk}/restore").status_code == 200


def test_every_administrators_only_write_is_404_for_both_users_and_changes_nothing(
    two_worlds, cast
):
    from salesops.api.framework import REGISTRY
    from salesops.crm.models import PriceList
    from salesops.users.models import Team, User

    (east, _e), (west, _w), _shared = two_worlds
    price_list = PriceList.objects.create(name="Base", currency_id="CNY", active=False)
    ids = {"users": cast.manager.pk, "teams": cast.east1.pk, "price-lists": price_list.pk}
    guarded = {name for name, r in REGISTRY.items() if r.can_write is not None}
    assert guarded >= set(ids)

    def state():
        return (
            [model_to_dict(u) for u in User.objects.order_by("pk")],
            [model_to_dict(t) for t in Team.objects.order_by("pk")],
            [model_to_dict(p) for p in PriceList.objects.order_by("pk")],
        )

    before = state()
    for me in (east, west):
        for name in sorted(guarded & set(ids)):
            resource, pk = REGISTRY[name], ids[name]
            if resource.update is not None:
                assert me.patch(f"/{name}/{pk}", {}).status_code == 404, name
            if resource.delete is not None:
                assert me.delete(f"/{name}/{pk}").status_code == 404, name
            if resource.restore is not None:
                assert me.post(f"/{name}/{pk}/restore").status_code == 404, name
    assert state() == before
