"""The write services allow the registry's editable fields less what is set elsewhere,
exactly as strictly as their old allow-lists, and refuse a field hidden from the writer
as if it did not exist (built-in or custom); the manager, who sees it, may still set it."""

import pytest
from django.core.exceptions import ValidationError

from salesops.crm import commerce_services as commerce
from salesops.crm import services
from salesops.crm.models import Customer, Deal
from salesops.crm.tests.factories import CustomerFactory, PipelineFactory
from salesops.crm.tests.more_factories import ContractFactory, QuoteFactory
from salesops.customization.models import CustomField

pytestmark = pytest.mark.django_db

#: What each general write allowed before the registry (owner, ids, status, timestamps
#: and what a record belongs to were never among them).
BEFORE = {
    ("lead", True): {"name", "company", "title", "phone", "email", "source", "industry",
                     "region", "notes"},
    ("lead", False): {"name", "company", "title", "phone", "email", "source", "industry",
                      "region", "notes", "status"},
    ("customer", True): {"name", "industry", "size", "region", "lifecycle_stage", "phone",
                         "email", "website", "address", "price_list"},
    ("customer", False): {"name", "industry", "size", "region", "lifecycle_stage", "phone",
                          "email", "website", "address", "tags", "price_list"},
    ("contact", True): {"name", "title", "phone", "mobile", "email", "wechat", "is_primary",
                        "notes"},
    ("contact", False): {"name", "title", "phone", "mobile", "email", "wechat", "is_primary",
                         "notes"},
    ("product", True): {"name", "sku", "category", "unit", "price", "currency", "active",
                        "description"},
    ("deal", False): {"name", "contact", "amount", "currency", "expected_close", "probability",
                      "forecast_category", "source", "price_list"},
    ("quote", False): {"deal", "currency", "status", "discount_pct", "valid_until", "notes",
                       "number"},
    ("contract", False): {"number", "title", "deal", "amount", "currency", "status",
                          "signed_on", "starts_on", "ends_on"},
    ("payment_plan", False): {"due_on", "amount", "note"},
    ("followup", False): {"kind", "occurred_at", "duration_minutes", "subject", "outcome",
                          "next_step"},
    ("task", False): {"title", "description", "due_at", "remind_at", "priority"},
}  # fmt: skip


@pytest.mark.parametrize(("object_type", "creating"), list(BEFORE), ids=str)
def test_the_allowed_fields_are_exactly_the_old_allow_lists(cast, object_type, creating):
    assert (
        services.writable(cast.admin, object_type, creating=creating)
        == BEFORE[(object_type, creating)]
    )


@pytest.mark.parametrize(
    "field", ["owner_id", "id", "status", "created_at", "version", "deleted_at", "bogus"]
)
def test_unknown_and_protected_fields_are_refused_on_create(cast, field):
    with pytest.raises(ValidationError, match="cannot be set"):
        services.create_lead(by=cast.rep, name="X", **{field: 1})
    with pytest.raises(ValidationError, match="cannot be set"):
        services.create_customer(by=cast.rep, name="X", **{field: 1})


@pytest.mark.parametrize("field", ["owner", "customer", "pipeline", "stage", "status", "id"])
def test_protected_deal_fields_are_refused_on_update(cast, field):
    PipelineFactory(is_default=True)
    customer = services.create_customer(by=cast.rep, name="Acme")
    deal = services.create_deal(by=cast.rep, customer=customer, name="D", amount="100")
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.update_record(obj=deal, by=cast.rep, data={field: 1})


@pytest.fixture
def hides_phone(cast):
    cast.rep.role.hidden_fields = {"customer": ["phone", "secret"], "deal": ["amount"]}
    cast.rep.role.save()
    CustomField.objects.create(object_type="customer", key="secret", label="Secret")
    return cast.rep


def test_a_create_naming_a_hidden_field_is_refused(cast, hides_phone):
    with pytest.raises(ValidationError, match="phone"):
        services.create_customer(by=cast.rep, name="Hidden", phone="+8613800138000")
    with pytest.raises(ValidationError, match="secret"):
        services.create_customer(by=cast.rep, name="Hidden", custom={"secret": "x"})
    assert not Customer.objects.filter(name="Hidden").exists()
    services.create_customer(by=cast.manager, name="Seen", phone="+8613800138000")


def test_an_update_naming_a_hidden_field_is_refused_and_writes_nothing(cast, hides_phone):
    customer = CustomerFactory(owner=cast.rep, phone="+8613800000000")
    with pytest.raises(ValidationError, match="phone"):
        services.update_record(obj=customer, by=cast.rep, data={"name": "New", "phone": "1"})
    with pytest.raises(ValidationError, match="secret"):
        services.update_record(obj=customer, by=cast.rep, data={}, custom={"secret": "x"})
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.custom) == (
        customer.name,
        "+8613800000000",
        {},
    )
    services.update_record(obj=customer, by=cast.rep, data={"name": "Renamed"})
    services.update_record(obj=customer, by=cast.manager, data={"phone": "+8613900000000"})


def test_a_hidden_deal_amount_cannot_be_changed_by_the_rep(cast, hides_phone):
    PipelineFactory(is_default=True)
    customer = services.create_customer(by=cast.manager, name="Acme", owner=cast.rep)
    deal = services.create_deal(
        by=cast.manager, customer=customer, name="D", amount="100", owner=cast.rep
    )
    with pytest.raises(ValidationError, match="amount"):
        services.update_record(obj=deal, by=cast.rep, data={"amount": "1"})
    assert Deal.objects.get(pk=deal.pk).amount == 100


def test_quote_and_contract_updates_refuse_hidden_and_protected_fields(cast):
    cast.rep.role.hidden_fields = {"quote": ["discount_pct"], "contract": ["amount"]}
    cast.rep.role.save()
    quote = QuoteFactory(owner=cast.rep)
    contract = ContractFactory(owner=cast.rep)
    with pytest.raises(ValidationError, match="discount_pct"):
        commerce.update_quote(quote=quote, by=cast.rep, data={"discount_pct": 5})
    with pytest.raises(ValidationError, match="customer"):
        commerce.update_quote(quote=quote, by=cast.rep, data={"customer": 1})
    with pytest.raises(ValidationError, match="amount"):
        commerce.update_contract(contract=contract, by=cast.rep, data={"amount": 5})
    with pytest.raises(ValidationError, match="owner"):
        commerce.update_contract(contract=contract, by=cast.rep, data={"owner": 1})


def test_a_picklist_value_is_checked_from_the_registry_on_create_and_update(cast):
    from salesops.customization.models import Picklist, PicklistOption

    regions = Picklist.objects.create(key="region", name="Regions")
    PicklistOption.objects.create(picklist=regions, value="east", label="华东")
    with pytest.raises(ValidationError, match="Mars"):
        services.create_lead(by=cast.rep, name="L", region="Mars")
    lead = services.create_lead(by=cast.rep, name="L", region="east")
    with pytest.raises(ValidationError, match="Mars"):
        services.update_record(obj=lead, by=cast.rep, data={"region": "Mars"})
