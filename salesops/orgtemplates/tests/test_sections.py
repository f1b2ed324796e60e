"""Industry templates' later sections: custom objects, formula and roll-up fields, stage
required fields, validation rules and layouts. Each shipped template applies to an
empty instance (a second apply changes nothing), an export round-trips them, broken
sections are refused with file:line, and the settings gallery previews and applies a
template for an administrator only."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from salesops.audit.models import AuditEntry
from salesops.crm import services as crm
from salesops.crm.models import Deal, PoolRule
from salesops.crm.tests.factories import CustomerFactory
from salesops.customization.models import (
    CustomField,
    Layout,
    Picklist,
    PicklistOption,
    ValidationRule,
)
from salesops.objects.models import CustomObject
from salesops.orgtemplates import engine, exporting, schema
from salesops.pipeline.models import Pipeline, Stage
from salesops.users.models import Role

SHIPPED = ["b2b_saas", "education_training", "manufacturing_distribution", "professional_services"]


def configuration() -> dict:
    """Everything the new sections write, as comparable data (roles and pipelines by
    name, since ids differ between databases)."""
    roles = dict(Role.objects.values_list("pk", "name"))
    return {
        "objects": sorted(
            CustomObject.objects.values_list(
                "key", "label", "plural", "title_label", "links", "active", "order"
            )
        ),
        "fields": sorted(
            CustomField.objects.values_list(
                "object_type",
                "key",
                "label",
                "field_type",
                "order",
                "active",
                "required",
                "expression",
                "result_type",
                "rollup_object",
                "rollup_link",
                "rollup_aggregate",
                "rollup_field",
                "rollup_condition",
            )
        ),
        "stages": sorted(
            (s.pipeline.name, s.name, s.order, s.kind, tuple(s.required_fields))
            for s in Stage.objects.select_related("pipeline")
        ),
        "rules": sorted(
            ValidationRule.objects.values_list(
                "object_type", "name", "condition", "message_zh", "message_en", "field", "active"
            )
        ),
        "layouts": sorted(
            (
                layout.object_type,
                layout.pipeline.name if layout.pipeline else "",
                repr(
                    [
                        {**s, "roles": sorted(roles[r] for r in s.get("roles") or [])}
                        for s in layout.sections
                    ]
                ),
            )
            for layout in Layout.objects.select_related("pipeline")
        ),
    }


def wipe() -> None:
    for model in (Layout, ValidationRule, Stage, Pipeline, PicklistOption, Picklist):
        model.objects.all().delete()
    CustomField.objects.all().delete()
    CustomObject.objects.all().delete()
    PoolRule.objects.all().delete()


def copy(tmp_path: Path, name: str = "b2b_saas") -> Path:
    folder = tmp_path / name
    shutil.copytree(schema.LIBRARY / name, folder)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(folder: Path) -> list[schema.Problem]:
    with pytest.raises(schema.TemplateError) as e:
        schema.load(folder)
    return e.value.problems


def line(folder: Path, problem: schema.Problem) -> str:
    return (
        (folder / Path(problem.file).name)
        .read_text(encoding="utf-8")
        .splitlines()[problem.line - 1]
    )


# -- the shipped templates --------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_template_brings_an_object_a_formula_a_rule_a_layout_and_a_gated_stage(
    db, name
):
    template = schema.load(schema.LIBRARY / name)
    assert len(template.custom_objects) == 1
    obj = template.custom_objects[0]
    assert obj.label.zh != obj.label.en and obj.links
    assert 3 <= len(template.fields_of(obj.key)) <= 5
    assert any(f.type == "formula" for f in template.custom_fields)
    assert len(template.validation_rules) == 1
    assert template.validation_rules[0].message.zh and template.validation_rules[0].message.en
    assert [layout.object_type for layout in template.layouts] == ["deal"]
    assert any(s.required_fields for p in template.pipelines for s in p.stages)

    engine.apply(template, lang="zh")

    assert CustomObject.objects.get(key=obj.key).label == obj.label.zh
    assert CustomField.objects.filter(object_type=obj.key).count() == len(
        template.fields_of(obj.key)
    )
    assert ValidationRule.objects.count() == 1
    assert Layout.objects.get(object_type="deal").sections[0]["title_zh"]
    assert Stage.objects.exclude(required_fields=[]).count() == 1
    assert engine.plan(template, lang="zh") == []
    assert engine.apply(template, lang="zh") == []


def test_a_new_custom_object_gives_every_role_its_customer_rights(cast):
    engine.apply(schema.load(schema.LIBRARY / "b2b_saas"), by=cast.admin)
    for role in Role.objects.all():
        assert role.rights.get("competitor") == role.rights.get("customer", [])


def test_the_applied_formula_rule_and_gate_work_on_deals(cast):
    engine.apply(schema.load(schema.LIBRARY / "b2b_saas"), by=cast.admin, lang="en")
    customer = CustomerFactory.create(owner=cast.rep)
    pipeline = Pipeline.objects.get(is_default=True)
    first = pipeline.first_stage()
    deal = crm.create_deal(
        by=cast.rep,
        name="Seats",
        customer=customer,
        pipeline=pipeline,
        stage=first,
        amount=Decimal("1000"),
        custom={"arr": "12000", "seats": 10, "contract_term_months": 12},
    )
    assert Decimal(str(Deal.objects.get(pk=deal.pk).custom["arr_per_seat"])) == Decimal("1200")
    with pytest.raises(ValidationError) as e:
        crm.update_record(obj=deal, by=cast.rep, data={}, custom={"contract_term_months": 99})
    assert "1 to 60 months" in " ".join(e.value.messages)
    proposal = Stage.objects.get(pipeline=pipeline, name="Proposal")
    assert proposal.required_fields == ["amount", "plan_tier", "seats"]


# -- export round trip ------------------------------------------------------------------


def test_an_export_round_trips_objects_computed_fields_gates_rules_and_layouts(cast, tmp_path):
    folder = copy(tmp_path, "professional_services")
    edit(
        folder / "layouts.yaml",
        "        fields: [status, closed_on, lost_reason, lost_note]",
        "        fields: [status, closed_on, lost_reason, lost_note]\n        roles: [Manager, Admin]",
    )
    edit(
        folder / "custom_fields.yaml",
        "  - object: milestone\n    key: due_on",
        "  - object: deal\n    key: milestones_billed\n    label: {zh: 里程碑结算额, en: Milestones billed}\n"
        "    type: rollup\n    rollup: {object: milestone, link: deal, aggregate: sum, "
        "field: billing_amount, condition: 'milestone_status == \"invoiced\"'}\n"
        "  - object: milestone\n    key: due_on",
    )
    edit(
        folder / "layouts.yaml",
        "  - object: deal\n",
        "  - object: deal\n    pipeline: Retainer renewals\n    sections:\n"
        "      - {key: renewal, title: {zh: 续签, en: Renewal}, fields: [name, amount]}\n"
        "  - object: milestone\n    sections:\n"
        "      - {key: money, title: {zh: 结算, en: Billing}, fields: [billing_amount, deal, title]}\n"
        "  - object: deal\n",
    )
    engine.apply(schema.load(folder), by=cast.admin, lang="en")
    assert CustomField.objects.get(key="milestones_billed").result_type == "money"
    assert Layout.objects.get(object_type="milestone").sections[0]["fields"] == [
        "billing_amount",
        "deal",
        "title",
    ]
    applied = configuration()
    exporting.export(tmp_path / "mine", key="mine")
    exported = schema.load(tmp_path / "mine")
    assert engine.plan(exported, lang="en") == []

    wipe()
    engine.apply(exported, lang="en")

    assert configuration() == applied
    exporting.export(tmp_path / "again", key="mine")
    for name in schema.FILES:
        assert (tmp_path / "again" / name).read_text(encoding="utf-8") == (
            tmp_path / "mine" / name
        ).read_text(encoding="utf-8"), name


def test_an_upgrade_renames_a_rule_in_place(db, tmp_path):
    folder = copy(tmp_path)
    engine.apply(schema.load(folder), lang="en")
    rule = ValidationRule.objects.get()
    edit(
        folder / "validation_rules.yaml",
        "name: {zh: 合同期限上限, en: Contract term limit}",
        "name: {zh: 合同期限范围, en: Contract term range}\n    renamed_from: Contract term limit",
    )
    changes = engine.plan(schema.load(folder), lang="en")
    assert [(c.action, c.kind, c.after.get("name")) for c in changes] == [
        ("rename", "rule", "Contract term range")
    ]
    engine.apply(schema.load(folder), lang="en")
    assert ValidationRule.objects.get().pk == rule.pk


# -- refusals ---------------------------------------------------------------------------


def test_a_rule_whose_condition_does_not_compile_is_refused_with_line_and_position(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "validation_rules.yaml", "contract_term_months > 60", "contract_term > 60")
    (problem,) = problems(folder)
    assert problem.file.endswith("validation_rules.yaml")
    assert "condition:" in line(folder, problem)
    condition = line(folder, problem).split("condition: ", 1)[1]
    assert f"At character {condition.index('contract_term >') + 1}:" in problem.message
    assert "there is no field “contract_term”" in problem.message


def test_a_formula_naming_an_unknown_field_is_refused_with_its_position(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "custom_fields.yaml", "formula: arr / seats", "formula: arr / licences")
    (problem,) = problems(folder)
    assert "formula:" in line(folder, problem)
    assert "At character 7" in problem.message


def test_a_layout_placing_an_unknown_field_is_refused(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "layouts.yaml", "fields: [plan_tier,", "fields: [plan_level,")
    (problem,) = problems(folder)
    assert problem.file.endswith("layouts.yaml")
    assert "plan_level" in line(folder, problem)
    assert "There is no field “plan_level”" in problem.message


def test_a_layout_naming_an_unknown_role_is_refused_when_compared_and_writes_nothing(
    cast, tmp_path
):
    folder = copy(tmp_path)
    edit(
        folder / "layouts.yaml",
        "        title: {zh: 结果, en: Outcome}",
        "        title: {zh: 结果, en: Outcome}\n        roles: [Manager, Treasurer]",
    )
    template = schema.load(folder)
    with pytest.raises(schema.TemplateError) as e:
        engine.apply(template, by=cast.admin)
    (problem,) = e.value.problems
    assert problem.file.endswith("layouts.yaml")
    assert "key: outcome" in line(folder, problem)
    assert "There is no role “Treasurer”" in problem.message
    assert not Pipeline.objects.exists()
    assert not CustomObject.objects.exists()
    assert not AuditEntry.objects.filter(object_type="orgtemplates.template").exists()


def test_a_field_on_an_undefined_custom_object_is_refused(db, tmp_path):
    folder = copy(tmp_path)
    (folder / "custom_objects.yaml").unlink()
    found = problems(folder)
    assert all(
        p.file.endswith(("custom_fields.yaml", "validation_rules.yaml", "sample/data.yaml"))
        for p in found
    )
    first = found[0]
    assert "object: competitor" in line(folder, first)
    assert "Unknown kind of record “competitor”" in first.message
    assert "custom_objects.yaml" in first.message


def test_a_stage_requiring_an_unknown_field_is_refused(db, tmp_path):
    folder = copy(tmp_path)
    edit(
        folder / "pipelines.yaml",
        "required_fields: [amount, plan_tier, seats]",
        "required_fields: [amount, budget]",
    )
    (problem,) = problems(folder)
    assert "required_fields" in line(folder, problem)
    assert "“budget” is not a deal field a stage can require" in problem.message


def test_a_custom_object_with_a_bad_key_or_link_is_refused(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "custom_objects.yaml", "links: [deal]", "links: [deal, invoice]")
    (problem,) = problems(folder)
    assert "links:" in line(folder, problem)
    assert "customer, contact, deal" in problem.message


def test_only_an_administrator_may_apply_a_template(cast):
    with pytest.raises(PermissionDenied):
        engine.apply(schema.load(schema.LIBRARY / "b2b_saas"), by=cast.rep)
    assert not Pipeline.objects.exists()


# -- the settings gallery ---------------------------------------------------------------

GALLERY = "/settings/templates/"


def test_the_gallery_lists_the_templates_in_the_readers_language_with_their_contents(cast, client):
    type(cast.admin).objects.filter(pk=cast.admin.pk).update(language="en")
    client.force_login(cast.admin)
    html = client.get(GALLERY).content.decode()
    assert reverse("settings_templates") == GALLERY
    for name in ("B2B SaaS subscription", "Professional services"):
        assert name in html
    assert "Selling software subscriptions to companies" in html
    assert "Custom objects: 1" in html
    assert "Validation rules: 1" in html
    assert 'href="/settings/templates/b2b_saas/"' in html
    assert GALLERY in client.get("/settings/").content.decode()

    type(cast.admin).objects.filter(pk=cast.admin.pk).update(language="zh-hans")
    html = client.get(GALLERY).content.decode()
    assert "B2B SaaS 订阅" in html
    assert "B2B SaaS subscription" not in html


def test_the_preview_shows_the_plan_and_apply_applies_it_once(cast, client):
    client.force_login(cast.admin)
    url = reverse("settings_template", args=["b2b_saas"])
    html = client.get(url).content.decode()
    assert "competitor" in html
    assert 'type="submit"' in html and "csrfmiddlewaretoken" in html
    assert not Pipeline.objects.exists()

    html = client.post(url).content.decode()

    assert CustomObject.objects.filter(key="competitor").exists()
    assert Pipeline.objects.count() == 2
    entry = AuditEntry.objects.get(object_type="orgtemplates.template")
    assert entry.actor_id == cast.admin.pk
    assert 'id="applied"' in html

    again = client.post(url).content.decode()
    assert AuditEntry.objects.filter(object_type="orgtemplates.template").count() == 1
    assert 'id="applied"' in again
    assert "Nothing to change" in again or "无需更改" in again


def test_the_preview_shows_a_change_with_its_value_before_and_after(cast, client):
    engine.apply(schema.load(schema.LIBRARY / "b2b_saas"), lang="en")
    stage = Stage.objects.get(name="Demo")
    stage.probability = 30
    stage.save()
    client.force_login(cast.admin)
    html = client.get(reverse("settings_template", args=["b2b_saas"])).content.decode()
    assert "30 → 25" in html


def test_a_broken_template_shows_its_problems_and_cannot_be_applied(
    cast, client, tmp_path, monkeypatch
):
    library = tmp_path / "library"
    library.mkdir()
    folder = copy(library)
    edit(folder / "custom_fields.yaml", "type: money", "type: currency")
    monkeypatch.setattr(schema, "LIBRARY", library)
    client.force_login(cast.admin)
    gallery = client.get(GALLERY).content.decode()
    assert "custom_fields.yaml:" in gallery
    url = reverse("settings_template", args=["b2b_saas"])
    html = client.get(url).content.decode()
    assert "custom_fields.yaml:" in html
    assert "Apply the template" not in html and "应用模板" not in html
    client.post(url)
    assert not Pipeline.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_gallery_is_refused_to_anyone_but_an_administrator(cast, client):
    url = reverse("settings_template", args=["b2b_saas"])
    for user in (cast.rep, cast.manager, cast.analyst):
        client.force_login(user)
        assert client.get(GALLERY).status_code == 403
        assert client.get(url).status_code == 403
        assert client.post(url).status_code == 403
    assert not Pipeline.objects.exists()


def test_an_unknown_template_is_not_found(cast, client):
    client.force_login(cast.admin)
    assert client.get(reverse("settings_template", args=["nothing_here"])).status_code == 404
