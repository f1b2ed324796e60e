"""POST /api/v1/{leads,customers,contacts}/merge: the merge service through the API."""

from salesops.audit.models import AuditEntry
from salesops.crm.models import Contact, Customer
from salesops.crm.tests.factories import ContactFactory, CustomerFactory, LeadFactory
from salesops.objects.tests.helpers import hide


def test_customers_merge_and_the_answer_is_the_winner_with_what_moved(cast, as_user):
    winner = CustomerFactory(owner=cast.rep, name="Acme", phone="")
    loser = CustomerFactory(owner=cast.rep, name="ACME Ltd", phone="13800138000")
    ContactFactory(customer=loser)
    response = as_user(cast.rep).post(
        "/customers/merge",
        {"winner": winner.pk, "losers": [loser.pk], "choices": {"phone": loser.pk}},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["record"]["id"] == winner.pk and body["record"]["phone"] == "13800138000"
    assert body["merged"] == [loser.pk] and body["moved"] == {"crm.contact": 1}
    assert Customer.all_objects.get(pk=loser.pk).merged_into_id == winner.pk
    assert AuditEntry.objects.filter(action="merged", object_id=winner.pk).count() == 1


def test_a_record_the_caller_cannot_see_is_a_404_and_nothing_changes(cast, as_user):
    mine = CustomerFactory(owner=cast.rep)
    theirs = CustomerFactory(owner=cast.outsider)
    response = as_user(cast.rep).post(
        "/customers/merge", {"winner": mine.pk, "losers": [theirs.pk]}
    )
    assert response.status_code == 404
    assert Customer.objects.filter(pk=theirs.pk).exists()


def test_a_hidden_field_cannot_be_chosen_and_the_answer_does_not_show_it(cast, as_user):
    hide(cast.rep.role, "contact", "mobile", users=(cast.rep,))
    customer = CustomerFactory(owner=cast.rep)
    a = ContactFactory(customer=customer, mobile="13800138000")
    b = ContactFactory(customer=customer, mobile="13900139000")
    client = as_user(cast.rep)
    refused = client.post(
        "/contacts/merge", {"winner": a.pk, "losers": [b.pk], "choices": {"mobile": b.pk}}
    )
    assert refused.status_code == 422 and Contact.objects.filter(pk=b.pk).exists()
    done = client.post("/contacts/merge", {"winner": a.pk, "losers": [b.pk]})
    assert done.status_code == 200 and "mobile" not in done.json()["record"]
    a.refresh_from_db()
    assert a.mobile == "13800138000"


def test_a_read_only_role_and_a_read_token_cannot_merge(cast, as_user):
    a = LeadFactory(owner=cast.rep)
    b = LeadFactory(owner=cast.rep)
    assert (
        as_user(cast.analyst).post("/leads/merge", {"winner": a.pk, "losers": [b.pk]}).status_code
        == 403
    )
    read = as_user(cast.rep, scope="read")
    assert read.post("/leads/merge", {"winner": a.pk, "losers": [b.pk]}).status_code == 403
    assert not AuditEntry.objects.filter(action="merged").exists()
