"""Industry templates' saved reports, default targets and sample data: applied (reports
always, owned by the applying administrator; targets and sample records only when
asked), idempotent, exported round-trip, and refused with file:line when broken."""

from __future__ import annotations

import datetime as dt
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from salesops.audit.models import AuditEntry
from salesops.crm.models import Customer, Deal
from salesops.objects.models import CustomRecord
from salesops.orgtemplates import engine, exporting, schema
from salesops.orgtemplates.loading import SAMPLE_MARK
from salesops.reports import services as reports
from salesops.reports.models import SavedReport
from salesops.users import target_services
from salesops.users.models import Target

SHIPPED = ["b2b_saas", "education_training", "manufacturing_distribution", "professional_services"]
YEAR = 2026


def copy(tmp_path: Path, name: str = "b2b_saas") -> Path:
    folder = tmp_path / name
    shutil.copytree(schema.LIBRARY / name, folder)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refused(folder: Path) -> list[schema.Problem]:
    with pytest.raises(schema.TemplateError) as e:
        schema.load(folder)
    return e.value.problems


def line(problem: schema.Problem) -> str:
    return Path(problem.file).read_text(encoding="utf-8").splitlines()[problem.line - 1]


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_template_applies_its_reports_targets_and_sample_data_once(cast, name):
    template = schema.load(schema.LIBRARY / name)
    assert template.reports and template.targets.metrics and template.sample

    engine.apply(template, by=cast.admin, with_targets=True, with_sample_data=True, year=YEAR)

    assert SavedReport.objects.count() == len(template.reports)
    assert set(SavedReport.objects.values_list("owner_id", flat=True)) == {cast.admin.pk}
    assert Target.objects.filter(period_start__year=YEAR).exists()
    assert Customer.objects.count() == len(template.sample.customers)
    assert CustomRecord.objects.count() == len(template.sample.records)
    for report in SavedReport.objects.all():
        assert reports.run_report(report, user=cast.admin).error == ""
    snapshot = (
        sorted(SavedReport.objects.values_list("name", "definition", "team_id")),
        Target.objects.count(),
        Deal.objects.count(),
    )

    again = engine.apply(
        template, by=cast.admin, with_targets=True, with_sample_data=True, year=YEAR
    )

    assert again == []
    assert snapshot == (
        sorted(SavedReport.objects.values_list("name", "definition", "team_id")),
        Target.objects.count(),
        Deal.objects.count(),
    )
    assert AuditEntry.objects.filter(object_type=SAMPLE_MARK).count() == 1


def test_a_plain_apply_writes_the_reports_but_no_targets_and_no_sample_records(cast):
    engine.apply(schema.load(schema.LIBRARY / "b2b_saas"), by=cast.admin)
    assert SavedReport.objects.count() == 3
    assert not Target.objects.exists()
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.filter(object_type=SAMPLE_MARK).exists()


def test_the_sample_data_is_loaded_by_a_later_apply_only_once(cast):
    template = schema.load(schema.LIBRARY / "b2b_saas")
    engine.apply(template, by=cast.admin)
    changes = engine.apply(template, by=cast.admin, with_sample_data=True)
    assert {c.kind for c in changes} == {"sample"}
    count = Customer.objects.count()
    assert count == 3
    assert engine.plan(template, with_sample_data=True) == []
    engine.apply(template, by=cast.admin, with_sample_data=True)
    assert Customer.objects.count() == count


def test_sample_deals_sit_in_the_named_pipeline_and_stage_with_their_custom_values(cast):
    org = cast.org
    org.locale = "en"
    org.save()
    engine.apply(schema.load(schema.LIBRARY / "b2b_saas"), by=cast.admin, with_sample_data=True)
    deal = Deal.objects.get(name="Cloudsail Professional 200 seats")
    assert (deal.pipeline.name, deal.stage.name) == ("New business", "Trial")
    assert deal.custom["plan_tier"] == "professional"
    record = CustomRecord.objects.get(title="Competitor A (global CRM)")
    assert record.deal_id == deal.pk


def test_reports_shared_with_the_organisation_reach_a_rep_and_private_ones_do_not(cast):
    org = cast.org
    org.locale = "en"
    org.save()
    engine.apply(schema.load(schema.LIBRARY / "b2b_saas"), by=cast.admin)
    shared = SavedReport.objects.get(name="Open pipeline by stage")
    private = SavedReport.objects.get(name="Deals won per month")
    assert shared.team_id == cast.hq.pk
    assert private.team_id is None
    seen = set(SavedReport.objects.visible_to(cast.rep).values_list("name", flat=True))
    assert "Open pipeline by stage" in seen
    assert "Deals won per month" not in seen
    assert reports.run_report(shared, user=cast.rep).error == ""


def test_the_command_line_gives_new_reports_to_the_first_administrator_or_to_user(cast):
    call_command("template", "apply", "b2b_saas", stdout=StringIO())
    assert set(SavedReport.objects.values_list("owner__username", flat=True)) == {"admin"}


def test_the_command_applies_targets_and_sample_data_only_when_asked(cast):
    out = StringIO()
    call_command("template", "apply", "manufacturing_distribution", "--user", "admin", stdout=out)
    assert not Target.objects.exists()
    call_command(
        "template",
        "apply",
        "manufacturing_distribution",
        "--with-targets",
        "--year",
        str(YEAR),
        "--with-sample-data",
        stdout=out,
    )
    # Default targets go to the teams without sub-teams (East-1 and West here).
    teams = set(Target.objects.values_list("team__name", flat=True))
    assert teams == {"East-1", "West"}
    bookings = Target.objects.filter(team=cast.west, metric="bookings", period_kind="month")
    assert bookings.get(period_start=dt.date(YEAR, 12, 1)).value == 800000
    assert Customer.objects.count() == 2


def test_someone_who_does_not_administer_may_not_apply_targets(cast):
    template = schema.load(schema.LIBRARY / "b2b_saas")
    with pytest.raises(PermissionDenied):
        engine.apply(template, by=cast.manager, with_targets=True, year=YEAR)
    assert not Target.objects.exists()
    assert not SavedReport.objects.exists()


def test_a_target_already_set_is_never_overwritten(cast):
    target_services.create_target(
        by=cast.admin,
        metric="bookings",
        period_kind="month",
        period_start=dt.date(YEAR, 3, 1),
        value=1,
        team=cast.west,
    )
    engine.apply(
        schema.load(schema.LIBRARY / "b2b_saas"), by=cast.admin, with_targets=True, year=YEAR
    )
    assert Target.objects.get(team=cast.west, period_start=dt.date(YEAR, 3, 1), metric="bookings",
                              period_kind="month").value == 1  # fmt: skip
    assert (
        Target.objects.filter(team=cast.west, metric="bookings", period_kind="month").count() == 12
    )


def test_a_renamed_report_keeps_its_row(cast, tmp_path):
    folder = copy(tmp_path)
    engine.apply(schema.load(folder), by=cast.admin, lang="en")
    pk = SavedReport.objects.get(name="ARR by plan").pk
    edit(
        folder / "reports.yaml",
        "name: {zh: 按订阅版本的年度经常性收入, en: ARR by plan}",
        "name: {zh: 各版本 ARR, en: ARR per plan}\n"
        "    renamed_from: {zh: 按订阅版本的年度经常性收入, en: ARR by plan}",
    )
    changes = engine.apply(schema.load(folder), by=cast.admin, lang="en")
    assert [(c.action, c.kind) for c in changes] == [("rename", "report")]
    assert SavedReport.objects.get(pk=pk).name == "ARR per plan"
    assert SavedReport.objects.count() == 3


def test_an_export_round_trips_reports_and_targets(cast, tmp_path):
    template = schema.load(schema.LIBRARY / "b2b_saas")
    engine.apply(template, by=cast.admin, lang="en", with_targets=True)
    call_command("template", "export", str(tmp_path / "mine"), stdout=StringIO())
    text = (tmp_path / "mine" / "reports.yaml").read_text(encoding="utf-8")
    assert "shared_with: organisation" in text
    exported = schema.load(tmp_path / "mine")
    assert [r.name.en for r in exported.reports] == sorted(r.name.en for r in template.reports)
    assert set(exported.targets.metrics) == {"bookings", "new_customers", "followups"}
    assert engine.plan(exported, lang="en", with_targets=True) == []

    SavedReport.objects.all().delete()
    Target.all_objects.all().delete()
    engine.apply(exported, by=cast.admin, lang="en", with_targets=True)
    exporting.export(tmp_path / "again", key="mine")
    for name in ("reports.yaml", "targets.yaml"):
        assert (tmp_path / "again" / name).read_text(encoding="utf-8") == (
            tmp_path / "mine" / name
        ).read_text(encoding="utf-8")


def test_a_report_naming_an_unknown_field_is_refused_with_file_and_line(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "reports.yaml", "- {field: plan_tier}", "- {field: plan_colour}")
    (problem,) = refused(folder)
    assert problem.file.endswith("reports.yaml")
    assert "plan_colour" in line(problem)
    assert "There is no field “plan_colour”" in problem.message


def test_a_broken_report_definition_is_refused_with_every_problem(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "reports.yaml", "object: deal", "object: spaceship")
    edit(folder / "reports.yaml", "chart: pie", "chart: radar")
    edit(folder / "reports.yaml", "{agg: mean, field: seats}", "{agg: mode, field: seats}")
    found = refused(folder)
    texts = [line(p) for p in found]
    assert any("spaceship" in t for t in texts)
    assert any("radar" in t for t in texts)
    assert any("mode" in t for t in texts)


def test_a_chart_without_a_group_by_is_refused(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "reports.yaml", "    group_by:\n      - {field: closed_on, bucket: month}\n", "")
    (problem,) = refused(folder)
    assert "chart: line" in line(problem)


def test_a_filter_value_the_report_builder_rejects_is_refused_at_apply_and_writes_nothing(
    cast, tmp_path
):
    folder = copy(tmp_path)
    edit(folder / "reports.yaml", "{field: status, op: eq, value: open}", "{field: status, op: eq, value: halfway}")  # fmt: skip
    template = schema.load(folder)
    with pytest.raises(schema.TemplateError) as e:
        engine.apply(template, by=cast.admin)
    (problem,) = e.value.problems
    assert problem.file.endswith("reports.yaml")
    assert "Open pipeline by stage" in line(problem)
    assert "halfway" in problem.message
    assert not SavedReport.objects.exists()
    assert not AuditEntry.objects.filter(object_type="orgtemplates.template").exists()


def test_a_report_shared_with_an_unknown_team_is_refused_with_its_line(cast, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "reports.yaml", "shared_with: organisation", "shared_with: Atlantis")
    with pytest.raises(CommandError) as e:
        call_command("template", "apply", str(folder), "--user", "admin", stdout=StringIO())
    # In the organisation's language (zh-Hans here), naming the team and the line.
    assert "reports.yaml:2:" in str(e.value)
    assert "“Atlantis”" in str(e.value) and "本组织没有团队" in str(e.value)
    assert not SavedReport.objects.exists()


def test_unknown_metrics_and_bad_target_values_are_refused_with_file_and_line(db, tmp_path):
    folder = copy(tmp_path)
    edit(folder / "targets.yaml", "metrics: [bookings,", "metrics: [revenue, bookings,")
    edit(folder / "targets.yaml", "month: 4", "month: 4.5")
    edit(folder / "targets.yaml", "quarter: 900000", "quarter: [1, 2, 3]")
    found = refused(folder)
    assert all(p.file.endswith("targets.yaml") for p in found)
    messages = " ".join(p.message for p in found)
    assert "Unknown metric “revenue”" in messages
    assert "whole numbers" in messages
    assert "list of 4" in messages


def test_targets_for_an_unknown_team_are_refused_when_applied(cast, tmp_path):
    folder = copy(tmp_path)
    edit(
        folder / "targets.yaml",
        "  - metric: followups\n",
        "  - metric: followups\n    teams: [Mars]\n",
    )
    template = schema.load(folder)
    engine.apply(template, by=cast.admin)  # targets not asked: nothing checks the team
    with pytest.raises(schema.TemplateError) as e:
        engine.apply(template, by=cast.admin, with_targets=True, year=YEAR)
    assert "There is no team “Mars”" in e.value.problems[0].message
    assert not Target.objects.exists()


def test_sample_data_naming_unknown_fields_options_or_stages_is_refused(db, tmp_path):
    folder = copy(tmp_path)
    sample = folder / "sample" / "data.yaml"
    edit(sample, "health_score: 82", "happiness: 82")
    edit(sample, "plan_tier: starter", "plan_tier: platinum")
    edit(sample, "stage: Trial", "stage: Closed won")
    edit(sample, "deal: Cloudsail Professional 200 seats", "deal: Nobody's deal")
    found = refused(folder)
    assert all(p.file.endswith("data.yaml") for p in found)
    assert len(found) == 4
    texts = [line(p) for p in found]
    assert any("happiness" in t for t in texts)
    assert any("platinum" in t for t in texts)
    assert any("Closed won" in t for t in texts)
    assert any("Nobody" in t for t in texts)


def test_sample_data_the_services_refuse_rolls_back_the_whole_apply(cast, tmp_path):
    folder = copy(tmp_path, "manufacturing_distribution")
    edit(folder / "sample" / "data.yaml", "delivery_terms: exw", "dealer: x")
    template = schema.load(folder)
    with pytest.raises(schema.TemplateError) as e:
        engine.apply(template, by=cast.admin, with_sample_data=True)
    (problem,) = e.value.problems
    assert problem.file.endswith("data.yaml")
    assert "Hengli automation line upgrade" in line(problem)
    assert not Customer.objects.exists()
    assert not SavedReport.objects.exists()
    assert not AuditEntry.objects.filter(object_type=SAMPLE_MARK).exists()
