"""Templates carry the dashboards' layout (dashboards.yaml): read with file and line,
compared, applied once, exported and applied back unchanged."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from salesops.analytics import admin_services
from salesops.analytics.dashboard import DEFAULT_LAYOUT, Layout, layout
from salesops.analytics.models import DashboardLayout
from salesops.orgtemplates import engine, exporting, schema

SHIPPED = ["b2b_saas", "education_training", "manufacturing_distribution", "professional_services"]


def copy(tmp_path: Path, name: str = "education_training") -> Path:
    folder = tmp_path / name
    shutil.copytree(schema.LIBRARY / name, folder)
    return folder


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_template_sets_its_dashboard_once(db, name):
    template = schema.load(schema.LIBRARY / name)
    want = Layout(tuple(template.dashboard.tiles), tuple(template.dashboard.charts))
    assert want.tiles and want.charts

    changes = engine.apply(template, lang="zh")

    assert layout() == want
    if want != DEFAULT_LAYOUT:
        assert [c.kind for c in changes].count("dashboard") == 1
    assert engine.apply(template, lang="zh") == []


def test_the_plan_shows_the_layout_before_and_after_and_writes_nothing(cast):
    admin_services.save_dashboard_layout(by=cast.admin, tiles=["bookings"], charts=["trend"])
    template = schema.load(schema.LIBRARY / "education_training")

    change = next(c for c in engine.plan(template, lang="en") if c.kind == "dashboard")

    assert change.before == {"tiles": "Bookings", "charts": "Bookings and collections by month"}
    assert change.after["tiles"].startswith("New customers, Won deals, Bookings")
    assert layout() == Layout(("bookings",), ("trend",))
    out = StringIO()
    call_command("template", "diff", "education_training", stdout=out)
    # (the command speaks the organisation's language)
    assert "每日接触次数" in out.getvalue()  # the heat map the template adds


def test_a_layout_equal_to_the_default_changes_nothing_on_a_new_instance(db, tmp_path):
    folder = copy(tmp_path)
    tiles = ", ".join(DEFAULT_LAYOUT.tiles)
    charts = ", ".join(DEFAULT_LAYOUT.charts)
    (folder / "dashboards.yaml").write_text(
        f"dashboard:\n  tiles: [{tiles}]\n  charts: [{charts}]\n", encoding="utf-8"
    )
    assert not [c for c in engine.plan(schema.load(folder), lang="en") if c.kind == "dashboard"]


def test_the_export_round_trips_the_dashboard(cast, tmp_path):
    admin_services.save_dashboard_layout(
        by=cast.admin, tiles=["win_rate", "bookings"], charts=["heatmap"]
    )
    exporting.export(tmp_path / "mine")
    exported = schema.load(tmp_path / "mine")
    assert (exported.dashboard.tiles, exported.dashboard.charts) == (
        ["win_rate", "bookings"],
        ["heatmap"],
    )
    assert engine.plan(exported, lang="en") == []

    DashboardLayout.objects.all().delete()
    engine.apply(exported, lang="en")
    assert layout() == Layout(("win_rate", "bookings"), ("heatmap",))


def test_unknown_or_repeated_ids_are_refused_with_file_and_line_and_nothing_is_applied(
    db, tmp_path
):
    folder = copy(tmp_path)
    (folder / "dashboards.yaml").write_text(
        "dashboard:\n  tiles:\n    - bookings\n    - revenue\n    - bookings\n  charts: [pie]\n",
        encoding="utf-8",
    )
    with pytest.raises(schema.TemplateError) as e:
        schema.load(folder)
    problems = {(Path(p.file).name, p.line): p.message for p in e.value.problems}
    assert "There is no “revenue”" in problems["dashboards.yaml", 4]
    assert "listed twice" in problems["dashboards.yaml", 5]
    assert "There is no “pie”" in problems["dashboards.yaml", 6]
    with pytest.raises(CommandError):
        call_command("template", "apply", str(folder), stdout=StringIO())
    assert not DashboardLayout.objects.exists()


def test_an_empty_dashboard_is_refused(db, tmp_path):
    folder = copy(tmp_path)
    (folder / "dashboards.yaml").write_text(
        "dashboard:\n  tiles: []\n  charts: []\n", encoding="utf-8"
    )
    with pytest.raises(schema.TemplateError) as e:
        schema.load(folder)
    assert "at least one tile or chart" in str(e.value)
