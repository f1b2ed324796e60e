"""Industry templates: the shipped ones validate and apply; apply is atomic and
idempotent; upgrades keep data; broken templates are refused with file and line."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from salesops.audit.models import AuditEntry
from salesops.crm.models import Customer, Deal, PoolRule
from salesops.crm.tests.factories import CustomerFactory
from salesops.customization.models import CustomField, Picklist, PicklistOption
from salesops.org.models import Organisation
from salesops.orgtemplates import engine, exporting, schema
from salesops.pipeline.models import Pipeline, Stage

SHIPPED = ["b2b_saas", "education_training", "manufacturing_distribution", "professional_services"]


def configuration() -> dict:
    """Everything a template writes, as comparable data."""
    return {
        "picklists": sorted(Picklist.objects.values_list("key", "name")),
        "options": sorted(
            PicklistOption.objects.values_list("picklist__key", "value", "label", "order", "active")
        ),
        "pipelines": sorted(Pipeline.objects.values_list("name", "is_default", "active", "order")),
        "stages": sorted(
            Stage.objects.values_list(
                "pipeline__name", "name", "order", "probability", "forecast_category", "kind"
            )
        ),
        "fields": sorted(
            (
                f.object_type,
                f.key,
                f.label,
                f.field_type,
                f.required,
                f.order,
                f.active,
                f.help_text,
                repr(f.options),
            )
            for f in CustomField.objects.all()
        ),
        "pool": sorted(
            PoolRule.objects.values_list(
                "name",
                "reclaim_after_days_without_followup",
                "reclaim_after_days_without_won_deal",
                "max_customers_per_rep",
                "reclaim_block_days",
                "warning_days",
                "active",
            )
        ),
    }


def template_objects(template: schema.Template) -> set[str]:
    return {o.key for o in template.custom_objects}


def copy(tmp_path: Path, name: str = "b2b_saas") -> Path:
    folder = tmp_path / name
    shutil.copytree(schema.LIBRARY / name, folder)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refusal(folder: Path) -> schema.Problem:
    with pytest.raises(schema.TemplateError) as e:
        schema.load(folder)
    return e.value.problems[0]


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_template_validates_and_applies_to_an_empty_instance(db, name):
    template = schema.load(schema.LIBRARY / name)
    assert template.key == name
    builtin = [f for f in template.custom_fields if f.object_type not in template_objects(template)]
    assert 5 <= len(builtin) <= 10
    assert all(5 <= len(p.stages) <= 7 for p in template.pipelines)
    assert template.name.zh != template.name.en

    changes = engine.apply(template)

    assert changes
    assert Pipeline.objects.count() == len(template.pipelines)
    assert CustomField.objects.count() == len(template.custom_fields)
    assert PoolRule.objects.filter(active=True, team__isnull=True).count() == 1
    for pipeline in Pipeline.objects.all():
        assert pipeline.won_stage() is not None
        assert pipeline.lost_stage() is not None
    assert engine.plan(template) == []


def test_it_lists_the_shipped_templates():
    assert [t.key for t in schema.library()] == SHIPPED


def test_it_writes_labels_in_the_instance_language(db):
    org = Organisation.get()
    org.locale = "en"
    org.save()
    engine.apply(schema.load(schema.LIBRARY / "b2b_saas"))
    assert Pipeline.objects.get(is_default=True).name == "New business"
    assert CustomField.objects.get(key="arr").label == "ARR"


def test_it_matches_names_in_the_other_language_instead_of_duplicating(db):
    template = schema.load(schema.LIBRARY / "b2b_saas")
    engine.apply(template, lang="zh")
    changes = engine.plan(template, lang="en")
    assert {c.action for c in changes} == {"rename", "update"}
    engine.apply(template, lang="en")
    assert Pipeline.objects.count() == 2
    assert Pipeline.objects.get(is_default=True).name == "New business"


def test_applying_twice_changes_nothing_and_writes_one_audit_entry(cast):
    template = schema.load(schema.LIBRARY / "manufacturing_distribution")
    engine.apply(template, by=cast.admin)
    before = configuration()
    entries = AuditEntry.objects.filter(object_type="orgtemplates.template")
    assert entries.count() == 1
    assert entries.get().actor_id == cast.admin.pk
    assert entries.get().changes["template"] == "manufacturing_distribution"

    assert engine.apply(template, by=cast.admin) == []

    assert configuration() == before
    assert AuditEntry.objects.filter(object_type="orgtemplates.template").count() == 1
    assert AuditEntry.objects.count() == 1


def test_a_dry_run_shows_the_changes_and_writes_nothing(db):
    out = StringIO()
    call_command("template", "apply", "b2b_saas", "--dry-run", stdout=out)
    assert "Closed won" in out.getvalue() or "赢单" in out.getvalue()
    assert "nothing was written" in out.getvalue() or "未写入" in out.getvalue()
    assert Pipeline.objects.count() == 0
    assert CustomField.objects.count() == 0
    assert Picklist.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_diff_lists_only_what_differs(db):
    template = schema.load(schema.LIBRARY / "b2b_saas")
    engine.apply(template, lang="en")
    stage = Stage.objects.get(name="Demo")
    stage.probability = 30
    stage.save()
    changes = engine.plan(template, lang="en")
    assert [(c.action, c.kind, c.before, c.after) for c in changes] == [
        ("update", "stage", {"probability": 30}, {"probability": 25})
    ]
    out = StringIO()
    call_command("template", "diff", "b2b_saas", stdout=out)
    assert "30 → 25" in out.getvalue()


def test_an_upgrade_with_a_renamed_field_keeps_every_value(db, tmp_path):
    folder = copy(tmp_path)
    engine.apply(schema.load(folder), lang="en")
    kept = CustomerFactory.create(custom={"health_score": 72, "employee_band": "51_200"})
    other = CustomerFactory.create(custom={"employee_band": "1_50"})
    deleted = CustomerFactory.create(custom={"health_score": 10})
    Customer.all_objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    edit(folder / "template.yaml", "version: 1", "version: 2")
    shutil.rmtree(folder / "sample")  # its records name the field by its old key
    edit(
        folder / "custom_fields.yaml",
        "key: health_score",
        "key: health\n    renamed_from: health_score",
    )
    edit(folder / "custom_fields.yaml", "en: Health score}", "en: Account health}")
    upgraded = schema.load(folder)

    changes = engine.plan(upgraded, lang="en")
    assert [(c.action, c.before.get("key"), c.after.get("key")) for c in changes] == [
        ("rename", "health_score", "health")
    ]
    engine.apply(upgraded, lang="en")

    field = CustomField.objects.get(object_type="customer", key="health")
    assert field.label == "Account health"
    assert not CustomField.objects.filter(key="health_score").exists()
    assert Customer.objects.get(pk=kept.pk).custom == {"health": 72, "employee_band": "51_200"}
    assert Customer.objects.get(pk=other.pk).custom == {"employee_band": "1_50"}
    raw = Customer.all_objects.get(pk=deleted.pk).custom
    assert raw == {"health": 10}
    assert engine.plan(upgraded, lang="en") == []


def test_an_upgrade_renames_a_stage_in_place_keeping_its_deals(db, tmp_path):
    from salesops.crm.tests.factories import DealFactory

    folder = copy(tmp_path)
    engine.apply(schema.load(folder), lang="en")
    demo = Stage.objects.get(name="Demo")
    deal = DealFactory.create(pipeline=demo.pipeline, stage=demo, owner=None)
    edit(
        folder / "pipelines.yaml",
        "{name: {zh: 产品演示, en: Demo},",
        "{name: {zh: 方案演示, en: Solution demo}, renamed_from: Demo,",
    )
    engine.apply(schema.load(folder), lang="en")
    assert Deal.objects.get(pk=deal.pk).stage.name == "Solution demo"
    assert Stage.objects.filter(pipeline=demo.pipeline).count() == 7


def test_a_template_with_broken_yaml_is_refused_with_file_and_line(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "pipelines.yaml", "    won: 赢单", "    won: [赢单")
    problem = refusal(folder)
    assert problem.file.endswith("pipelines.yaml")
    assert problem.line >= 12
    assert "not valid YAML" in problem.message


def test_an_unknown_field_type_is_refused_with_file_line_and_the_allowed_types(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "custom_fields.yaml", "type: money", "type: currency")
    problem = refusal(folder)
    assert problem.file.endswith("custom_fields.yaml")
    lines = (folder / "custom_fields.yaml").read_text(encoding="utf-8").splitlines()
    assert "type: currency" in lines[problem.line - 1]
    assert "Unknown field type “currency”" in problem.message
    assert "multi_select" in problem.message


def test_a_reference_to_a_missing_stage_is_refused(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "pipelines.yaml", "won: Renewed", "won: Signed")
    problem = refusal(folder)
    lines = (folder / "pipelines.yaml").read_text(encoding="utf-8").splitlines()
    assert "won: Signed" in lines[problem.line - 1]
    assert "names no stage of this pipeline" in problem.message


def test_an_unknown_key_is_refused_with_its_line(db, tmp_path):
    folder = copy(tmp_path)
    edit(
        folder / "pool_rules.yaml",
        "    warning_days: 5",
        "    warning_days: 5\n    reclaim_days: 9",
    )
    problem = refusal(folder)
    assert problem.file.endswith("pool_rules.yaml")
    assert problem.line == 8
    assert "Unknown key “reclaim_days”" in problem.message


def test_unknown_object_types_and_duplicate_keys_are_refused(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "custom_fields.yaml", "object: lead", "object: opportunity")
    edit(folder / "custom_fields.yaml", "key: seats", "key: arr")
    with pytest.raises(schema.TemplateError) as e:
        schema.load(folder)
    messages = " ".join(p.message for p in e.value.problems)
    assert "Unknown kind of record “opportunity”" in messages
    assert "The field “arr” appears twice" in messages


def test_a_refused_template_writes_nothing_through_the_command(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "custom_fields.yaml", "type: money", "type: currency")
    with pytest.raises(CommandError) as e:
        call_command("template", "apply", str(folder), stdout=StringIO())
    assert "custom_fields.yaml:" in str(e.value)
    assert "nothing was applied" in str(e.value) or "未应用" in str(e.value)
    assert Pipeline.objects.count() == 0
    assert Picklist.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_a_failure_while_applying_rolls_everything_back(db, tmp_path, monkeypatch):
    template = schema.load(schema.LIBRARY / "b2b_saas")

    def boom(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(engine._Sync, "pool_rules", boom)
    with pytest.raises(RuntimeError):
        engine.apply(template)
    assert Pipeline.objects.count() == 0
    assert CustomField.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_only_an_administrator_may_apply_as_a_user(cast):
    with pytest.raises(CommandError):
        call_command("template", "apply", "b2b_saas", "--user", "rep", stdout=StringIO())
    assert Pipeline.objects.count() == 0
    call_command("template", "apply", "b2b_saas", "--user", "admin", stdout=StringIO())
    assert Pipeline.objects.count() == 2


def test_an_export_applies_to_an_empty_instance_with_the_same_configuration(
    db, tmp_path, django_db_blocker
):
    engine.apply(schema.load(schema.LIBRARY / "education_training"), lang="en")
    engine.apply(schema.load(schema.LIBRARY / "b2b_saas"), lang="en")
    applied = configuration()
    call_command("template", "export", str(tmp_path / "mine"), stdout=StringIO())
    exported = schema.load(tmp_path / "mine")
    assert exported.key == "mine"
    assert engine.plan(exported, lang="en") == []

    for model in (Stage, Pipeline, PicklistOption, Picklist, CustomField, PoolRule):
        model.objects.all().delete()
    engine.apply(exported, lang="en")

    assert configuration() == applied
    exporting.export(tmp_path / "again", key="mine")
    for name in schema.FILES:
        assert (tmp_path / "again" / name).read_text(encoding="utf-8") == (
            tmp_path / "mine" / name
        ).read_text(encoding="utf-8")


def test_export_of_a_freshly_applied_template_round_trips_unchanged(db, tmp_path):
    template = schema.load(schema.LIBRARY / "professional_services")
    engine.apply(template, lang="zh")
    exporting.export(tmp_path / "out")
    assert engine.plan(schema.load(tmp_path / "out"), lang="zh") == []
    assert engine.plan(template, lang="zh") == []


def test_show_and_list_print_the_template(db):
    out = StringIO()
    call_command("template", "list", stdout=out)
    assert "b2b_saas" in out.getvalue()
    assert "professional_services" in out.getvalue()
    out = StringIO()
    call_command("template", "show", "b2b_saas", stdout=out)
    assert "contract_term_months" in out.getvalue()
