"""The API obeys the organisation's validation rules: a refused create or change is a
422 with the rule's message under its field, in the caller's language, and writes
nothing."""

import pytest

from salesops.crm import services
from salesops.crm.models import Lead
from salesops.customization import admin_services as fields_admin


@pytest.fixture
def company_rule(cast):
    return fields_admin.create_validation_rule(
        by=cast.admin,
        object_type="lead",
        name="Company for web leads",
        condition='empty(company) and source == "web"',
        message_zh="网站线索必须填写公司。",
        message_en="A lead from the website needs its company.",
        field="company",
    )


def test_a_create_a_rule_refuses_is_a_422_with_the_message_at_its_field(
    cast, as_user, company_rule
):
    api = as_user(cast.rep)
    r = api.post("/leads", {"name": "Ada", "source": "web"}, **{"Accept-Language": "en"})
    assert r.status_code == 422
    assert r.json()["errors"] == {"company": ["A lead from the website needs its company."]}
    assert not Lead.all_objects.exists()
    r = api.post("/leads", {"name": "Ada", "source": "web"}, **{"Accept-Language": "zh-hans"})
    assert r.json()["errors"] == {"company": ["网站线索必须填写公司。"]}
    r = api.post("/leads", {"name": "Ada", "source": "web", "company": "Acme"})
    assert r.status_code == 201


def test_a_change_a_rule_refuses_is_a_422_and_changes_nothing(cast, as_user, company_rule):
    lead = services.create_lead(by=cast.rep, name="Ada", source="web", company="Acme")
    r = as_user(cast.rep).patch(f"/leads/{lead.pk}", {"company": ""}, **{"Accept-Language": "en"})
    assert r.status_code == 422
    assert r.json()["errors"] == {"company": ["A lead from the website needs its company."]}
    lead.refresh_from_db()
    assert (lead.company, lead.version) == ("Acme", 1)


def test_a_deactivated_rule_does_not_refuse_api_writes(cast, as_user, company_rule):
    fields_admin.deactivate_validation_rule(rule=company_rule, by=cast.admin)
    assert as_user(cast.rep).post("/leads", {"name": "Ada", "source": "web"}).status_code == 201
