"""Validation rules: an administrator writes a condition over a record's fields; every
write of such a record where the condition is true is refused with the rule's message,
in the writer's language. Broken conditions are refused when saved; a rule that cannot
be evaluated on a record never blocks its save."""

import logging
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.utils import translation

from salesops.activities import services as activities
from salesops.audit.models import AuditEntry
from salesops.crm import services as crm
from salesops.crm.models import Deal, Lead
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization import admin_services as fields_admin
from salesops.customization import rules
from salesops.customization.models import CustomField, ValidationRule

T = CustomField.Type


def rule(by, **kw):
    args = {
        "object_type": "lead",
        "name": "Company for big leads",
        "condition": 'empty(company) and source == "web"',
        "message_zh": "网站线索必须填写公司。",
        "message_en": "A lead from the website needs its company.",
        "field": "company",
    }
    return fields_admin.create_validation_rule(by=by, **(args | kw))


def test_a_rule_refuses_a_record_whose_condition_is_true_with_the_message_at_its_field(cast):
    rule(cast.admin)
    with pytest.raises(ValidationError) as e:
        crm.create_lead(by=cast.rep, name="Ada", source="web")
    assert e.value.message_dict == {"company": ["A lead from the website needs its company."]}
    assert not Lead.all_objects.exists()
    lead = crm.create_lead(by=cast.rep, name="Ada", source="web", company="Acme")
    assert lead.pk
    with pytest.raises(ValidationError):
        crm.update_record(obj=lead, by=cast.rep, data={"company": ""})
    lead.refresh_from_db()
    assert lead.company == "Acme"


def test_the_message_is_in_the_writers_language_or_the_other_when_one_is_empty(cast):
    r = rule(cast.admin)
    for language, expected in [("zh-hans", "网站线索必须填写公司。"), ("en", "A lead from the website needs its company.")]:  # fmt: skip
        with translation.override(language), pytest.raises(ValidationError) as e:
            crm.create_lead(by=cast.rep, name="Ada", source="web")
        assert e.value.message_dict["company"] == [expected]
    fields_admin.update_validation_rule(rule=r, by=cast.admin, data={"message_en": ""})
    with translation.override("en"), pytest.raises(ValidationError) as e:
        crm.create_lead(by=cast.rep, name="Ada", source="web")
    assert e.value.message_dict["company"] == ["网站线索必须填写公司。"]


def test_every_failing_rule_is_listed_and_a_rule_without_field_is_about_the_whole_record(cast):
    rule(cast.admin)
    rule(cast.admin, name="No test leads", condition='contains(name, "test")', field="",
         message_en="No test leads, please.")  # fmt: skip
    with translation.override("en"), pytest.raises(ValidationError) as e:
        crm.create_lead(by=cast.rep, name="A test", source="web")
    assert e.value.message_dict == {
        "company": ["A lead from the website needs its company."],
        NON_FIELD_ERRORS: ["No test leads, please."],
    }


def test_a_rule_over_a_custom_field_is_keyed_like_the_custom_fields_errors(cast):
    fields_admin.create_custom_field(
        by=cast.admin, object_type="deal", key="discount", label="Discount", field_type=T.NUMBER
    )
    fields_admin.create_custom_field(
        by=cast.admin, object_type="deal", key="approved", label="Approved", field_type=T.BOOLEAN
    )
    rule(cast.admin, object_type="deal", name="Discount approval", field="discount",
         condition="discount > 0.2 and not approved", message_en="A discount over 20% needs approval.")  # fmt: skip
    PipelineFactory(is_default=True)
    customer = crm.create_customer(by=cast.rep, name="Acme")
    with translation.override("en"), pytest.raises(ValidationError) as e:
        crm.create_deal(by=cast.rep, customer=customer, name="D", custom={"discount": "0.25"})
    assert e.value.message_dict == {"custom.discount": ["A discount over 20% needs approval."]}
    deal = crm.create_deal(
        by=cast.rep, customer=customer, name="D", custom={"discount": "0.25", "approved": True}
    )
    crm.create_deal(by=cast.rep, customer=customer, name="Small", custom={"discount": 0.1})
    with pytest.raises(ValidationError):
        crm.update_record(obj=deal, by=cast.rep, data={}, custom={"approved": False})
    assert Deal.objects.get(pk=deal.pk).custom["approved"] is True


def test_a_rule_naming_a_retired_custom_field_stops_applying(cast):
    field = fields_admin.create_custom_field(
        by=cast.admin, object_type="lead", key="budget", label="Budget", field_type=T.NUMBER
    )
    rule(cast.admin, condition="budget > 100", field="")
    with pytest.raises(ValidationError):
        crm.create_lead(by=cast.rep, name="Ada", custom={"budget": 500})
    fields_admin.retire_custom_field(field=field, by=cast.admin)
    assert crm.create_lead(by=cast.rep, name="Ada").pk


def test_a_rule_that_cannot_be_evaluated_does_not_block_the_save_and_is_logged(cast, caplog):
    rule(cast.admin, condition="name > 5", field="")  # text compared with a number
    with caplog.at_level(logging.WARNING, logger="salesops.customization.rules"):
        lead = crm.create_lead(by=cast.rep, name="Ada")
    assert lead.pk
    assert "could not be evaluated" in caplog.text


def test_a_deactivated_rule_does_not_apply_and_applies_again_when_switched_on(cast):
    r = rule(cast.admin)
    fields_admin.deactivate_validation_rule(rule=r, by=cast.admin)
    assert crm.create_lead(by=cast.rep, name="Ada", source="web").pk
    fields_admin.deactivate_validation_rule(rule=r, by=cast.admin, active=True)
    with pytest.raises(ValidationError):
        crm.create_lead(by=cast.rep, name="Bob", source="web")
    fields_admin.delete_validation_rule(rule=r, by=cast.admin)
    assert crm.create_lead(by=cast.rep, name="Bob", source="web").pk


def test_a_stage_move_is_checked_against_the_deal_rules(cast):
    pipeline = PipelineFactory(is_default=True)
    won = pipeline.stages.get(kind="won")
    customer = crm.create_customer(by=cast.rep, name="Acme")
    deal = crm.create_deal(by=cast.rep, customer=customer, name="D", amount=0)
    rule(cast.admin, object_type="deal", name="No empty wins", field="amount",
         condition='status == "won" and amount == 0', message_en="A won deal needs its amount.")  # fmt: skip
    with translation.override("en"), pytest.raises(ValidationError) as e:
        crm.move_deal_stage(deal=deal, stage=won, by=cast.rep)
    assert e.value.message_dict == {"amount": ["A won deal needs its amount."]}
    deal.refresh_from_db()
    assert deal.status == "open" and deal.stage_history.count() == 1
    crm.update_record(obj=deal, by=cast.rep, data={"amount": 100})
    assert crm.move_deal_stage(deal=deal, stage=won, by=cast.rep).status == "won"


def test_activities_are_checked_too(cast):
    rule(cast.admin, object_type="task", name="Title", condition="len(title) < 3", field="title",
         message_en="Say what the task is.")  # fmt: skip
    with pytest.raises(ValidationError) as e:
        activities.create_task(by=cast.rep, title="x")
    assert e.value.message_dict == {"title": ["Say what the task is."]}


def test_a_django_admin_form_shows_a_message_for_a_field_it_lacks_above_the_form(cast):
    """Model forms (the Django admin) call full_clean with the fields they lack
    excluded: a rule's message keyed by such a field goes above the form."""
    rule(cast.admin)

    class LeadForm(forms.ModelForm):
        class Meta:
            model = Lead
            fields = ["name", "source"]

    with translation.override("en"):
        form = LeadForm({"name": "Ada", "source": "web"})
        assert not form.is_valid()
        assert form.errors == {"__all__": ["A lead from the website needs its company."]}

        class FullLeadForm(LeadForm):
            class Meta(LeadForm.Meta):
                fields = ["name", "source", "company"]

        form = FullLeadForm({"name": "Ada", "source": "web", "company": ""})
        assert not form.is_valid()
        assert form.errors == {"company": ["A lead from the website needs its company."]}


def test_a_broken_condition_is_refused_with_its_position_and_nothing_is_saved(cast):
    broken = "len(name) > 10 and nonsense"
    with translation.override("en"), pytest.raises(ValidationError) as e:
        rule(cast.admin, condition=broken)
    (message,) = e.value.message_dict["condition"]
    assert message == "At character 20: there is no field “nonsense” on this object."
    with translation.override("en"), pytest.raises(ValidationError) as e:
        rule(cast.admin, condition="(name ==")
    assert "At character" in e.value.message_dict["condition"][0]
    with translation.override("zh-hans"), pytest.raises(ValidationError) as e:
        rule(cast.admin, condition=broken)
    assert "20" in e.value.message_dict["condition"][0]
    assert "At character" not in e.value.message_dict["condition"][0]
    assert not ValidationRule.objects.exists()


def test_it_refuses_an_unknown_field_object_type_empty_messages_and_a_taken_name(cast):
    with pytest.raises(ValidationError) as e:
        rule(cast.admin, field="nope")
    assert set(e.value.message_dict) == {"field"}
    with pytest.raises(ValidationError) as e:
        rule(cast.admin, object_type="target", condition="value > 1")
    assert set(e.value.message_dict) == {"object_type"}
    with pytest.raises(ValidationError) as e:
        rule(cast.admin, message_zh="", message_en=" ")
    assert set(e.value.message_dict) == {"message_en"}
    rule(cast.admin)
    with pytest.raises(ValidationError) as e:
        rule(cast.admin)
    assert set(e.value.message_dict) == {"name"}
    assert ValidationRule.objects.count() == 1


def test_only_an_administrator_manages_rules(cast):
    for user in (cast.rep, cast.manager, cast.analyst):
        with pytest.raises(PermissionDenied):
            rule(user)
    r = rule(cast.admin)
    for call in (
        lambda u: fields_admin.update_validation_rule(rule=r, by=u, data={"condition": "True"}),
        lambda u: fields_admin.deactivate_validation_rule(rule=r, by=u),
        lambda u: fields_admin.delete_validation_rule(rule=r, by=u),
    ):
        with pytest.raises(PermissionDenied):
            call(cast.rep)
    r.refresh_from_db()
    assert r.active and r.condition == 'empty(company) and source == "web"'


def test_every_change_to_a_rule_is_audited(cast):
    r = rule(cast.admin)
    fields_admin.update_validation_rule(rule=r, by=cast.admin, data={"condition": "empty(company)"})
    fields_admin.deactivate_validation_rule(rule=r, by=cast.admin)
    fields_admin.delete_validation_rule(rule=r, by=cast.admin)
    entries = AuditEntry.objects.filter(object_type="customization.validationrule", object_id=r.pk)
    assert [e.action for e in entries.order_by("pk")] == [
        "created",
        "updated",
        "updated",
        "deleted",
    ]
    assert entries.order_by("pk")[1].changes["condition"]["new"] == "empty(company)"
    assert not ValidationRule.objects.exists()


def test_check_values_reads_plain_values_and_custom_ones_as_stored(cast):
    fields_admin.create_custom_field(
        by=cast.admin, object_type="contact", key="budget", label="Budget", field_type=T.MONEY
    )
    rule(cast.admin, object_type="contact", name="Budget", field="budget",
         condition='budget > 1000 and empty(email)', message_en="Big budgets need an e-mail.")  # fmt: skip
    with translation.override("en"), pytest.raises(ValidationError) as e:
        rules.check_values({"name": "Ann", "custom.budget": "2000.00"}, "contact")
    assert e.value.message_dict == {"custom.budget": ["Big budgets need an e-mail."]}
    rules.check_values({"name": "Ann", "budget": Decimal(2000), "email": "a@b.cn"}, "contact")
    rules.check_values({"name": "Ann"}, "contact")


def test_rules_are_cached_and_a_saved_rule_applies_at_once(cast, django_assert_num_queries):
    rule(cast.admin)
    rules.active_rules("lead")
    with django_assert_num_queries(0):
        assert len(rules.active_rules("lead")) == 1
    r = rule(cast.admin, name="Second", condition="False")
    assert len(rules.active_rules("lead")) == 2
    fields_admin.deactivate_validation_rule(rule=r, by=cast.admin)
    assert len(rules.active_rules("lead")) == 1


def test_a_hand_over_is_checked_like_any_edit(cast):
    from salesops.crm import page_services
    from salesops.crm.models import Customer
    from salesops.crm.tests.factories import CustomerFactory, LeadFactory

    lead = LeadFactory(owner=cast.rep, company="Acme")
    customer = CustomerFactory(owner=cast.rep)
    for object_type in ("lead", "customer"):
        rule(
            cast.admin,
            object_type=object_type,
            name=f"Not to {cast.rep_east1} ({object_type})",
            condition=f'owner == "{cast.rep_east1}"',
            message_en="Records of this kind do not go to that rep.",
            field="",
        )
    with pytest.raises(ValidationError, match="do not go to that rep"):
        page_services.assign_owner(obj=lead, to=cast.rep_east1, by=cast.manager)
    with pytest.raises(ValidationError, match="do not go to that rep"):
        crm.assign_customer(customer=customer, to=cast.rep_east1, by=cast.manager)
    assert Lead.objects.get(pk=lead.pk).owner == cast.rep
    assert Customer.objects.get(pk=customer.pk).owner == cast.rep
    # to anyone else, the same hand-overs go through
    page_services.assign_owner(obj=lead, to=cast.manager, by=cast.manager)
    assert Lead.objects.get(pk=lead.pk).owner == cast.manager
