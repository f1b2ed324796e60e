"""The API's duplicate check: 409 with the candidates (ids and names the caller may
see, no hidden field) unless `?allow_duplicate=true`; documented in the spec."""

from salesops.api.tests.conftest import spec
from salesops.crm.models import Contact, Customer, Lead
from salesops.crm.tests.factories import ContactFactory, CustomerFactory, LeadFactory
from salesops.users.models import Role


def test_a_customer_like_an_existing_one_is_a_409_with_the_candidates(cast, as_user):
    acme = CustomerFactory.create(owner=cast.rep, name="北京星辰科技有限公司", phone="13800138000")
    api = as_user(cast.rep)
    r = api.post("/customers", {"name": "北京星辰科技", "phone": "+86 138 0013 8000"})
    assert r.status_code == 409
    body = r.json()
    assert body["duplicates"] == [
        {"id": acme.pk, "name": "北京星辰科技有限公司", "matched": ["name", "phone"]}
    ]
    assert "北京星辰科技有限公司" in body["detail"]
    assert Customer.objects.count() == 1
    r = api.post("/customers?allow_duplicate=true", {"name": "北京星辰科技"})
    assert r.status_code == 201
    assert Customer.objects.count() == 2


def test_someone_who_may_not_see_the_record_creates_it_without_learning_of_it(cast, as_user):
    CustomerFactory.create(owner=cast.rep, name="Acme")
    r = as_user(cast.outsider).post("/customers", {"name": "Acme"})
    assert r.status_code == 201
    assert "duplicates" not in r.json()


def test_a_hidden_field_is_neither_compared_nor_returned(cast, as_user):
    CustomerFactory.create(owner=cast.rep, name="Acme", phone="13800138000", email="a@acme.cn")
    Role.objects.filter(name="Rep").update(hidden_fields={"customer": ["phone"]})
    api = as_user(cast.rep)
    # Naming the hidden field is refused as an unknown one: it cannot probe.
    r = api.post("/customers", {"name": "Other", "phone": "13800138000"})
    assert r.status_code == 422 and "duplicates" not in r.json()
    r = api.post("/customers", {"name": "ACME Ltd"})
    assert r.status_code == 409
    assert "13800138000" not in r.content.decode() and "a@acme.cn" not in r.content.decode()


def test_patching_a_contacts_email_to_anothers_is_a_409(cast, as_user):
    customer = CustomerFactory.create(owner=cast.rep)
    zhang = ContactFactory.create(customer=customer, name="Zhang", email="zhang@acme.cn")
    li = ContactFactory.create(customer=customer, name="Li", email="li@acme.cn")
    api = as_user(cast.rep)
    r = api.patch(f"/contacts/{li.pk}", {"email": "Zhang@acme.cn"})
    assert r.status_code == 409
    assert [d["id"] for d in r.json()["duplicates"]] == [zhang.pk]
    assert Contact.objects.get(pk=li.pk).email == "li@acme.cn"
    r = api.patch(f"/contacts/{li.pk}?allow_duplicate=true", {"email": "Zhang@acme.cn"})
    assert r.status_code == 200


def test_bulk_creates_say_which_item_looks_like_a_duplicate(cast, as_user):
    LeadFactory.create(owner=cast.rep, email="ada@example.com")
    items = [{"name": "New"}, {"name": "Ada", "email": "ADA@example.com"}]
    r = as_user(cast.rep).post("/leads/bulk", {"items": items, "atomic": False})
    assert [x["status"] for x in r.json()["results"]] == [201, 409]
    assert Lead.objects.count() == 2


def test_the_spec_documents_the_check(db):
    document = spec()
    for path, method in (("/api/v1/customers", "post"), ("/api/v1/contacts/{id}", "patch")):
        operation = document["paths"][path][method]
        assert "allow_duplicate" in operation["description"]
        assert any(p["name"] == "allow_duplicate" for p in operation["parameters"])
    error = document["components"]["schemas"]["ErrorOut"]["properties"]
    assert "duplicates" in error
