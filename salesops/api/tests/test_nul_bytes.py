"""A NUL character in any text is refused with a message naming the field, the same on
SQLite and PostgreSQL (which cannot store it): through the API (fields, custom values,
bulk rows, query strings), the services (every model's text fields) and imports."""

import pytest
from django.core.exceptions import ValidationError

from salesops.crm import services
from salesops.crm.models import Customer, Lead
from salesops.customization.models import CustomField
from salesops.imports.reading import FileProblem
from salesops.imports.tests.helpers import run
from salesops.users.models import Team

BAD = "Ac\x00me"


def test_the_api_refuses_a_nul_in_a_field_naming_it(cast, as_user):
    r = as_user(cast.rep).post("/leads", {"name": BAD})
    assert r.status_code == 422
    assert "NUL" in r.json()["errors"]["name"][0]
    assert not Lead.all_objects.exists()


def test_the_api_refuses_a_nul_in_a_custom_value_and_in_a_bulk_row(cast, as_user):
    CustomField.objects.create(object_type="lead", key="note", label="Note", field_type="text")
    api = as_user(cast.rep)
    r = api.post("/leads", {"name": "Acme", "custom": {"note": BAD}})
    assert r.status_code == 422
    assert "custom.note" in r.json()["errors"]
    r = api.post("/leads/bulk", {"items": [{"name": "Fine"}, {"name": BAD}]})
    assert r.status_code == 422
    assert "items.1.name" in r.json()["errors"]
    assert not Lead.all_objects.exists()


def test_the_api_refuses_a_nul_in_a_query_string(cast, as_user):
    services.create_lead(by=cast.rep, name="Acme")
    r = as_user(cast.rep).get("/leads", {"search": BAD})
    assert r.status_code == 422
    assert "search" in r.json()["errors"]


def test_a_service_refuses_a_nul_in_any_models_text(cast):
    with pytest.raises(ValidationError) as caught:
        services.create_customer(by=cast.rep, name=BAD)
    assert "name" in caught.value.message_dict
    assert not Customer.all_objects.exists()
    team = Team(name=BAD)
    with pytest.raises(ValidationError):
        team.full_clean()


def test_an_import_refuses_a_file_with_a_nul_and_names_its_line(cast):
    cast.rep.language = "en"
    good = "".join(f"Good {i},1380013{i:04d}\n" for i in range(1, 600))
    data = f"name,phone\n{good}Ac\x00me,13900139000\n".encode()
    with pytest.raises(FileProblem, match="NUL") as caught:
        run(data, user=cast.rep, object_type="customer", mode="all-or-nothing")
    assert "601" in str(caught.value)
    assert not Customer.all_objects.exists()
