"""The validation rules' settings pages: administrators list, write, switch off and
try rules; anyone else is refused (403) whatever they post. A rule refuses a record
page's save with its message next to its field, in the person's language."""

import pytest
from django.urls import reverse

from salesops.audit.models import AuditEntry
from salesops.crm.models import Lead
from salesops.customization import admin_services as fields_admin
from salesops.customization.models import ValidationRule

LIST = reverse("settings_rules")
NEW = reverse("settings_rule_new") + "?object_type=lead"


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


def form(**kw):
    return {
        "object_type": "lead",
        "name": "Company",
        "condition": "empty(company)",
        "message_zh": "请填写公司。",
        "message_en": "Fill in the company.",
        "field": "company",
        "active": "on",
    } | kw


def test_an_administrator_writes_a_rule_from_the_pages(cast, signed_in):
    client = signed_in(cast.admin)
    assert "Validation rules" in client.get(reverse("settings")).content.decode()
    assert client.get(LIST).status_code == 200
    page = client.get(NEW).content.decode()
    assert "<code>company</code>" in page  # the fields a condition may name
    response = client.post(NEW, form())
    rule = ValidationRule.objects.get()
    assert response["Location"] == reverse("settings_rule", args=[rule.pk])
    assert (rule.object_type, rule.condition, rule.field, rule.active) == ("lead", "empty(company)", "company", True)  # fmt: skip
    assert "empty(company)" in client.get(LIST).content.decode()
    response = client.post(
        reverse("settings_rule", args=[rule.pk]), form(name="Renamed", active="")
    )
    rule.refresh_from_db()
    assert (rule.name, rule.active) == ("Renamed", False)
    assert AuditEntry.objects.filter(object_type="customization.validationrule").count() == 2


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "At character 19: there is no field “nonsense” on this object."),
        ("zh-hans", "第 19 个字符处"),
    ],
)
def test_a_broken_condition_comes_back_with_its_position(cast, signed_in, language, expected):
    client = signed_in(cast.admin, language=language)
    response = client.post(NEW, form(condition="empty(company) or nonsense"))
    assert response.status_code == 200
    (message,) = response.context["form"].errors["condition"]
    assert expected in message
    assert message in response.content.decode()
    assert not ValidationRule.objects.exists()


def test_the_list_switches_a_rule_off_and_on_and_deletes_it(cast, signed_in, company_rule):
    client = signed_in(cast.admin)
    client.post(LIST, {"rule": company_rule.pk, "action": "deactivate"})
    company_rule.refresh_from_db()
    assert not company_rule.active
    client.post(LIST, {"rule": company_rule.pk, "action": "activate"})
    company_rule.refresh_from_db()
    assert company_rule.active
    client.post(LIST, {"rule": company_rule.pk, "action": "delete"})
    assert not ValidationRule.objects.exists()


def test_an_administrator_tries_a_rule_on_a_record(cast, signed_in, company_rule):
    from salesops.crm import services as crm

    refused = Lead.objects.create(
        name="Raw", source="web", owner=cast.rep
    )  # written before the rule
    accepted = crm.create_lead(by=cast.rep, name="Fine", company="Acme", source="web")
    client = signed_in(cast.admin)
    url = reverse("settings_rule", args=[company_rule.pk])
    assert "would refuse “Raw”" in client.get(url, {"record": refused.pk}).content.decode()
    assert "would accept “Fine”" in client.get(url, {"record": accepted.pk}).content.decode()
    assert "There is no record #999999" in client.get(url, {"record": "999999"}).content.decode()


def test_no_one_else_may_see_or_change_rules(cast, signed_in, company_rule):
    item = reverse("settings_rule", args=[company_rule.pk])
    for user in (cast.rep, cast.manager, cast.analyst):
        client = signed_in(user)
        assert client.get(LIST).status_code == 403
        assert client.get(NEW).status_code == 403
        assert client.get(item).status_code == 403
        assert client.post(NEW, form(name="Sneaky")).status_code == 403
        assert client.post(item, form(condition="True")).status_code == 403
        for action in ("deactivate", "delete"):
            assert client.post(LIST, {"rule": company_rule.pk, "action": action}).status_code == 403
    company_rule.refresh_from_db()
    assert company_rule.active and company_rule.condition.startswith("empty(company)")
    assert ValidationRule.objects.count() == 1


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "A lead from the website needs its company."), ("zh-hans", "网站线索必须填写公司。")],
)
def test_a_rule_refuses_a_record_pages_save_next_to_its_field(
    cast, signed_in, company_rule, language, message
):
    client = signed_in(cast.rep, language=language)
    response = client.post(
        reverse("lead_new"), {"name": "Ada", "source": "web", "owner": cast.rep.pk}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["company"] == [message]
    assert not Lead.objects.filter(name="Ada").exists()
    response = client.post(
        reverse("lead_new"),
        {"name": "Ada", "source": "web", "company": "Acme", "owner": cast.rep.pk},
    )
    assert response.status_code == 302
    assert Lead.objects.filter(name="Ada").exists()
