import json

import pytest

from salesops.crm import services
from salesops.crm.models import Customer, Deal, Lead
from salesops.crm.models.deals import StageHistory
from salesops.crm.tests.factories import PipelineFactory


@pytest.fixture
def pipeline(db):
    return PipelineFactory(is_default=True)


def test_bad_input_is_a_422_with_a_message_per_field(cast, as_user):
    r = as_user(cast.rep).post("/leads", {"email": "not-an-email", "name": "x" * 500})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert set(errors) == {"name"}  # the schema refuses first: too long
    r = as_user(cast.rep).post("/leads", {"name": "Ada", "email": "not-an-email"})
    assert r.status_code == 422
    assert "email" in r.json()["errors"]
    assert not Lead.all_objects.exists()


@pytest.mark.parametrize(
    "field",
    [
        "owner",
        "team",
        "version",
        "deleted_at",
        "id",
        "status",
        "stage",
        "customer",
        "created_at",
        "closed_on",
    ],
)
def test_patch_refuses_fields_that_may_not_be_set_and_changes_nothing(
    cast, as_user, pipeline, field
):
    customer = services.create_customer(by=cast.rep, name="Acme")
    deal = services.create_deal(by=cast.rep, customer=customer, name="D")
    before = Deal.objects.values().get(pk=deal.pk)
    api = as_user(cast.rep)
    r = api.patch(f"/deals/{deal.pk}", {"name": "New", field: cast.outsider.pk})
    assert r.status_code == 422
    assert field in r.json()["errors"]
    assert Deal.objects.values().get(pk=deal.pk) == before


def test_bulk_update_refuses_an_owner_among_the_changes_and_changes_nothing(cast, as_user):
    lead = services.create_lead(by=cast.rep, name="A")
    api = as_user(cast.rep)
    r = api.patch(
        "/leads/bulk",
        {
            "items": [
                {"id": lead.pk, "changes": {"name": "B"}},
                {"id": lead.pk, "changes": {"owner": cast.outsider.pk}},
            ]
        },
    )
    assert r.status_code == 422
    assert "items.1.changes.owner" in r.json()["errors"]
    lead.refresh_from_db()
    assert (lead.name, lead.owner_id, lead.version) == ("A", cast.rep.pk, 1)


def test_a_stale_if_match_on_patch_is_412_and_the_first_write_stays(cast, as_user):
    lead = services.create_lead(by=cast.rep, name="A")
    first, second = as_user(cast.rep), as_user(cast.rep)
    etag = first.get(f"/leads/{lead.pk}")["ETag"]
    r = first.patch(f"/leads/{lead.pk}", {"name": "First"}, **{"If-Match": etag})
    assert r.status_code == 200
    assert r["ETag"] == '"2"'
    r = second.patch(f"/leads/{lead.pk}", {"name": "Second"}, **{"If-Match": etag})
    assert r.status_code == 412
    assert r["ETag"] == '"2"'
    assert "Reload" in r.json()["detail"]
    lead.refresh_from_db()
    assert lead.name == "First"


def test_a_stale_if_match_on_delete_is_412_and_nothing_is_deleted(cast, as_user):
    lead = services.create_lead(by=cast.rep, name="A")
    services.update_record(obj=lead, by=cast.rep, data={"name": "B"})
    r = as_user(cast.rep).delete(f"/leads/{lead.pk}", **{"If-Match": '"1"'})
    assert r.status_code == 412
    assert Lead.objects.filter(pk=lead.pk).exists()
    assert as_user(cast.rep).delete(f"/leads/{lead.pk}", **{"If-Match": '"2"'}).status_code == 204
    assert not Lead.objects.filter(pk=lead.pk).exists()


def test_delete_then_restore_brings_a_customer_back_with_its_deals(cast, as_user, pipeline):
    api = as_user(cast.rep)
    customer = services.create_customer(by=cast.rep, name="Acme")
    deal = services.create_deal(by=cast.rep, customer=customer, name="D")
    assert api.delete(f"/customers/{customer.pk}").status_code == 204
    assert api.get(f"/deals/{deal.pk}").status_code == 404
    r = api.post(f"/customers/{customer.pk}/restore")
    assert r.status_code == 200
    assert api.get(f"/deals/{deal.pk}").status_code == 200


def test_the_same_idempotency_key_replays_the_first_response_and_creates_once(cast, as_user):
    api = as_user(cast.rep)
    first = api.post("/leads", {"name": "Ada"}, **{"Idempotency-Key": "k1"})
    again = api.post("/leads", {"name": "Ada"}, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert json.loads(first.content) == json.loads(again.content)
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Lead.objects.count() == 1


def test_an_idempotency_key_reused_with_another_body_is_refused(cast, as_user):
    api = as_user(cast.rep)
    api.post("/leads", {"name": "Ada"}, **{"Idempotency-Key": "k1"})
    r = api.post("/leads", {"name": "Bob"}, **{"Idempotency-Key": "k1"})
    assert r.status_code == 422
    assert "Idempotency-Key" in r.json()["errors"]
    assert Lead.objects.count() == 1


def test_idempotency_keys_are_per_caller(cast, as_user):
    as_user(cast.rep).post("/leads", {"name": "Ada"}, **{"Idempotency-Key": "k1"})
    r = as_user(cast.teammate).post("/leads", {"name": "Ada"}, **{"Idempotency-Key": "k1"})
    assert r.status_code == 201
    assert Lead.objects.count() == 2


def test_a_refused_request_is_replayed_as_refused(cast, as_user):
    api = as_user(cast.analyst)
    assert api.post("/leads", {"name": "A"}, **{"Idempotency-Key": "k"}).status_code == 403
    assert api.post("/leads", {"name": "A"}, **{"Idempotency-Key": "k"}).status_code == 403


def test_bulk_create_all_or_nothing_saves_nothing_when_one_item_is_bad(cast, as_user):
    items = [{"name": f"L{i}"} for i in range(50)]
    items[37]["email"] = "broken"
    r = as_user(cast.rep).post("/leads/bulk", {"items": items})
    assert r.status_code == 422
    assert "items.37.email" in r.json()["errors"]
    assert not Lead.all_objects.exists()


def test_bulk_create_per_item_saves_the_good_ones_and_reports_the_bad(cast, as_user):
    items = [{"name": "A"}, {"name": "B", "email": "broken"}, {"name": "C"}]
    r = as_user(cast.rep).post("/leads/bulk", {"items": items, "atomic": False})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["status"] for x in results] == [201, 422, 201]
    assert "email" in results[1]["errors"]
    assert sorted(Lead.objects.values_list("name", flat=True)) == ["A", "C"]


def test_bulk_takes_a_thousand_records_and_refuses_more(cast, as_user):
    api = as_user(cast.rep)
    r = api.post("/leads/bulk", {"items": [{"name": f"L{i}"} for i in range(1001)]})
    assert r.status_code == 422
    r = api.post("/leads/bulk", {"items": [{"name": f"L{i}"} for i in range(1000)]})
    assert r.status_code == 200
    assert Lead.objects.count() == 1000


def test_bulk_update_with_a_stale_version_refuses_that_item(cast, as_user):
    a = services.create_lead(by=cast.rep, name="A")
    b = services.create_lead(by=cast.rep, name="B")
    r = as_user(cast.rep).patch(
        "/leads/bulk",
        {
            "atomic": False,
            "items": [
                {"id": a.pk, "if_match": 1, "changes": {"name": "A2"}},
                {"id": b.pk, "if_match": 7, "changes": {"name": "B2"}},
            ],
        },
    )
    assert [x["status"] for x in r.json()["results"]] == [200, 412]
    assert sorted(Lead.objects.values_list("name", flat=True)) == ["A2", "B"]


def test_actions_convert_a_lead_once_and_move_a_deal_with_history(cast, as_user, pipeline):
    api = as_user(cast.rep)
    lead = services.create_lead(by=cast.rep, name="Ada", company="Acme")
    r = api.post(f"/leads/{lead.pk}/convert", {"amount": "1200"})
    assert r.status_code == 200, r.content
    assert r.json()["created"] is True
    deal_id = r.json()["deal"]
    again = api.post(f"/leads/{lead.pk}/convert", {})
    assert again.json()["created"] is False
    assert again.json()["deal"] == deal_id
    stage = pipeline.stages.get(name="Negotiate")
    r = api.post(f"/deals/{deal_id}/move-stage", {"stage": stage.pk})
    assert r.json()["stage"] == stage.pk
    r = api.post(f"/deals/{deal_id}/lost", {"reason": "price"})
    assert r.json()["status"] == "lost"
    r = api.post(f"/deals/{deal_id}/reopen", {})
    assert r.json()["stage"] == stage.pk
    assert StageHistory.objects.filter(deal_id=deal_id).count() == 4


def test_a_stale_if_match_on_an_action_is_412(cast, as_user, pipeline):
    customer = services.create_customer(by=cast.rep, name="Acme")
    deal = services.create_deal(by=cast.rep, customer=customer, name="D")
    services.update_record(obj=deal, by=cast.rep, data={"name": "D2"})
    r = as_user(cast.rep).post(f"/deals/{deal.pk}/won", {}, **{"If-Match": '"1"'})
    assert r.status_code == 412
    assert Deal.objects.get(pk=deal.pk).status == "open"


def test_claim_release_and_assign_a_pool_customer(cast, as_user):
    pooled = services.create_customer(by=cast.admin, owner=None, name="Pool")
    rep = as_user(cast.rep)
    r = rep.post(f"/customers/{pooled.pk}/claim", {})
    assert r.status_code == 200
    assert r.json()["owner"] == cast.rep.pk
    r = rep.post(f"/customers/{pooled.pk}/claim", {})
    assert r.status_code == 422
    r = rep.post(f"/customers/{pooled.pk}/release", {"reason": "no budget"})
    assert r.json()["in_pool"] is True
    r = as_user(cast.manager).post(f"/customers/{pooled.pk}/assign", {"to": cast.rep_east1.pk})
    assert r.json()["owner"] == cast.rep_east1.pk
    assert Customer.objects.get(pk=pooled.pk).owner == cast.rep_east1
