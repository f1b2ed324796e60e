import pytest
from django.core.exceptions import ValidationError

from salesops.crm import services
from salesops.crm.models import Deal
from salesops.crm.tests.factories import LeadFactory, PipelineFactory
from salesops.lib.services import NotVisible
from salesops.lib.updates import Conflict


@pytest.fixture
def deal(cast):
    PipelineFactory(is_default=True)
    customer = services.create_customer(by=cast.rep, name="Acme")
    return services.create_deal(by=cast.rep, customer=customer, name="D", amount="100")


def row(deal):
    return Deal.all_objects.filter(pk=deal.pk).values().get()


def test_allowed_fields_change_and_the_version_moves(cast, deal):
    services.update_record(
        obj=deal,
        by=cast.rep,
        data={"name": "Bigger", "amount": "250.5", "currency": "usd"},
        version=1,
    )
    deal.refresh_from_db()
    assert (deal.name, deal.amount, deal.currency_id, deal.version) == ("Bigger", 250.5, "USD", 2)


@pytest.mark.parametrize(
    "field",
    [
        "owner",
        "owner_id",
        "status",
        "closed_on",
        "stage",
        "deleted_at",
        "version",
        "id",
        "created_at",
        "customer",
        "pipeline",
    ],
)
def test_protected_fields_are_refused_and_nothing_changes(cast, deal, field):
    before = row(deal)
    with pytest.raises(ValidationError, match=field):
        services.update_record(obj=deal, by=cast.rep, data={"name": "x", field: cast.outsider.pk})
    assert row(deal) == before


def test_a_stale_version_is_a_conflict_and_nothing_changes(cast, deal):
    services.update_record(obj=deal, by=cast.rep, data={"name": "first"}, version=1)
    before = row(deal)
    with pytest.raises(Conflict) as e:
        services.update_record(obj=deal, by=cast.rep, data={"name": "second"}, version=1)
    assert e.value.current_version == 2
    assert row(deal) == before


def test_bad_values_name_their_field(cast, deal):
    before = row(deal)
    for data, field in [
        ({"amount": "lots"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"probability": 101}, "probability"),
        ({"forecast_category": "dream"}, "forecast_category"),
        ({"currency": "ZZZ"}, "currency"),
    ]:
        with pytest.raises(ValidationError) as e:
            services.update_record(obj=deal, by=cast.rep, data=data)
        assert field in e.value.message_dict, data
    assert row(deal) == before


def test_another_teams_rep_cannot_update(cast, deal):
    before = row(deal)
    with pytest.raises(NotVisible):
        services.update_record(obj=deal, by=cast.outsider, data={"name": "mine now"})
    assert row(deal) == before


def test_a_lead_cannot_be_marked_converted_by_update(cast):
    lead = LeadFactory(owner=cast.rep)
    with pytest.raises(ValidationError):
        services.update_record(obj=lead, by=cast.rep, data={"status": "converted"})
    services.update_record(obj=lead, by=cast.rep, data={"status": "qualified"})
    lead.refresh_from_db()
    assert lead.status == "qualified"
