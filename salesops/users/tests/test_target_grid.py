"""The targets grid below the pages: whose rows a viewer gets, the all-or-nothing save
with per-cell version checks and per-row permissions, and reading pasted blocks."""

import datetime as dt
from decimal import Decimal

import pytest

from salesops.imports.values import parse_amount
from salesops.users.models import Role, Target
from salesops.users.target_grid import build_grid, team_choices, year_months
from salesops.users.target_import import BlockProblem, cells_of, read_block, split_paste
from salesops.users.target_services import GridCell, GridRejected, save_target_grid
from salesops.users.tests.factories import RoleFactory, UserFactory

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)
MONTHS = year_months(2026)


def cell(key, start=JAN, value="1000", version=0, metric="bookings", **whom):
    return GridCell(
        key=key,
        metric=metric,
        period_kind="month",
        period_start=start,
        value=None if value is None else Decimal(value),
        version=version,
        **whom,
    )


def target(who, start=JAN, value="500", metric="bookings"):
    field = "team" if who.__class__.__name__ == "Team" else "user"
    return Target.objects.create(
        **{field: who}, metric=metric, period_kind="month", period_start=start, value=value
    )


def snapshot():
    return sorted(
        Target.all_objects.values_list(
            "user_id", "team_id", "period_start", "value", "version", "deleted_at"
        )
    )


# -- saving ---------------------------------------------------------------------------------


def test_a_manager_creates_changes_and_removes_targets_of_their_team_in_one_save(cast):
    changed = target(cast.rep, FEB, "700")
    removed = target(cast.rep_east1, MAR, "300")
    saved = save_target_grid(
        by=cast.manager,
        cells=[
            cell("a", JAN, "1000", user_id=cast.rep.pk),
            cell("b", FEB, "800", version=changed.version, user_id=cast.rep.pk),
            cell("c", MAR, None, version=removed.version, user_id=cast.rep_east1.pk),
            cell("d", JAN, "5000", team_id=cast.east.pk),
            cell("e", JAN, "2000", team_id=cast.east1.pk),
        ],
    )
    assert saved["c"] is None
    alive = {
        (t.user_id, t.team_id, t.period_start): t.value
        for t in Target.objects.filter(metric="bookings")
    }
    assert alive == {
        (cast.rep.pk, None, JAN): Decimal("1000"),
        (cast.rep.pk, None, FEB): Decimal("800"),
        (None, cast.east.pk, JAN): Decimal("5000"),
        (None, cast.east1.pk, JAN): Decimal("2000"),
    }
    changed.refresh_from_db()
    assert changed.version == 2
    assert Target.all_objects.get(pk=removed.pk).deleted_at is not None


def test_one_bad_cell_saves_nothing_and_names_that_cell(cast):
    target(cast.rep, FEB, "700")
    before = snapshot()
    with pytest.raises(GridRejected) as e:
        save_target_grid(
            by=cast.manager,
            cells=[
                cell("good", JAN, "1000", user_id=cast.rep.pk),
                cell("bad", MAR, "-5", user_id=cast.rep.pk),
            ],
        )
    assert set(e.value.errors) == {"bad"}
    assert "negative" in e.value.errors["bad"]
    assert not e.value.conflicts
    assert snapshot() == before


def test_a_cell_changed_by_someone_else_since_loading_is_a_conflict_and_nothing_is_saved(cast):
    mine = target(cast.rep, JAN, "700")
    loaded_version = mine.version
    # Someone else saves the same cell after the grid was loaded…
    save_target_grid(
        by=cast.admin,
        cells=[cell("x", JAN, "750", version=loaded_version, user_id=cast.rep.pk)],
    )
    before = snapshot()
    with pytest.raises(GridRejected) as e:
        save_target_grid(
            by=cast.manager,
            cells=[
                cell("stale", JAN, "900", version=loaded_version, user_id=cast.rep.pk),
                cell("fresh", FEB, "900", user_id=cast.rep.pk),
            ],
        )
    assert e.value.conflicts == {"stale"}
    assert "750" in e.value.errors["stale"]
    assert snapshot() == before


def test_a_target_created_or_removed_by_someone_else_since_loading_is_a_conflict(cast):
    # Loaded empty (version 0), but someone has set it since.
    target(cast.rep, JAN, "100")
    with pytest.raises(GridRejected) as e:
        save_target_grid(by=cast.manager, cells=[cell("new", JAN, "200", user_id=cast.rep.pk)])
    assert e.value.conflicts == {"new"}
    # Loaded at version 1, but someone has removed it since.
    gone = target(cast.rep, FEB, "100")
    gone.soft_delete()
    with pytest.raises(GridRejected) as e:
        save_target_grid(
            by=cast.manager, cells=[cell("gone", FEB, "200", version=1, user_id=cast.rep.pk)]
        )
    assert e.value.conflicts == {"gone"}


def test_rows_outside_the_managers_scope_are_refused_per_row(cast):
    before = snapshot()
    with pytest.raises(GridRejected) as e:
        save_target_grid(
            by=cast.manager,
            cells=[
                cell("mine", JAN, user_id=cast.rep.pk),
                cell("person", JAN, user_id=cast.outsider.pk),
                cell("team", JAN, team_id=cast.west.pk),
                cell("above", JAN, team_id=cast.hq.pk),
                cell("nobody", JAN, user_id=987654),
            ],
        )
    assert set(e.value.errors) == {"person", "team", "above", "nobody"}
    assert "data scope" in e.value.errors["person"]
    assert "own teams" in e.value.errors["team"]
    assert snapshot() == before


def test_an_outsider_cannot_set_east_targets_and_an_admin_can_set_anyones(cast):
    with pytest.raises(GridRejected) as e:
        save_target_grid(by=cast.outsider, cells=[cell("x", JAN, user_id=cast.rep.pk)])
    assert set(e.value.errors) == {"x"}
    assert not Target.objects.exists()
    save_target_grid(
        by=cast.admin,
        cells=[cell("a", JAN, user_id=cast.outsider.pk), cell("b", JAN, team_id=cast.hq.pk)],
    )
    assert Target.objects.count() == 2


def test_a_role_that_may_only_view_targets_cannot_save_them(cast):
    with pytest.raises(GridRejected) as e:
        save_target_grid(by=cast.analyst, cells=[cell("x", JAN, user_id=cast.rep.pk)])
    assert "does not allow" in e.value.errors["x"]
    assert not Target.objects.exists()


def test_counted_metrics_take_whole_numbers_and_periods_start_on_the_first(cast):
    with pytest.raises(GridRejected) as e:
        save_target_grid(
            by=cast.admin,
            cells=[
                cell("half", JAN, "2.5", metric="won_deals", user_id=cast.rep.pk),
                cell("mid", dt.date(2026, 1, 15), "3", user_id=cast.rep.pk),
                cell("metric", JAN, "3", metric="nonsense", user_id=cast.rep.pk),
            ],
        )
    assert "whole number" in e.value.errors["half"]
    assert "first day" in e.value.errors["mid"]
    assert "metric" in e.value.errors["metric"].lower()
    save_target_grid(
        by=cast.admin, cells=[cell("ok", JAN, "3", metric="won_deals", user_id=cast.rep.pk)]
    )
    assert Target.objects.get().value == 3


def test_a_dry_run_checks_everything_and_writes_nothing(cast):
    result = save_target_grid(
        by=cast.manager, cells=[cell("a", JAN, user_id=cast.rep.pk)], dry_run=True
    )
    assert set(result) == {"a"}
    assert not Target.objects.exists()


# -- whose rows -----------------------------------------------------------------------------


def test_a_manager_sees_the_reps_of_east_and_its_sub_team_then_the_team_rows(cast):
    target(cast.rep, JAN, "100")
    target(cast.rep_east1, JAN, "50")
    target(cast.east, JAN, "200")
    target(cast.outsider, JAN, "999")
    grid = build_grid(viewer=cast.manager, metric="bookings", months=MONTHS, team=cast.east)
    people = {r.user.username for r in grid.people()}
    assert people == {"rep", "rep_east1", "teammate"}
    east, east1 = [r for r in grid.rows if r.team is not None]
    assert (east.team, east1.team) == (cast.east, cast.east1)
    assert east.cells[0].value == Decimal("200")
    assert east.member_sums[0] == Decimal("150")  # rep 100 + rep_east1 50
    assert east1.member_sums[0] == Decimal("50")
    assert east1.cells[0].value is None
    assert all(r.editable for r in grid.rows)
    assert [t.name for t in team_choices(cast.manager)] == ["East", "East-1"]


def test_a_rep_sees_only_their_own_row_and_a_view_only_role_reads_it(cast):
    view_only = RoleFactory(
        name="Viewer rep", data_scope=Role.Scope.OWN, is_sales_rep=True, rights={"target": ["view"]}
    )
    reader = UserFactory(username="reader", role=view_only, team=cast.east)
    target(reader, JAN, "100")
    target(cast.rep, JAN, "100")
    assert team_choices(reader) == []
    grid = build_grid(viewer=reader, metric="bookings", months=MONTHS, team=None)
    assert [r.user for r in grid.rows] == [reader]
    assert grid.rows[0].cells[0].value == Decimal("100")
    assert not grid.editable


def test_an_outsider_cannot_open_east_and_sees_none_of_its_people(cast):
    assert cast.east not in team_choices(cast.outsider)
    grid = build_grid(viewer=cast.outsider, metric="bookings", months=MONTHS, team=None)
    assert [r.user for r in grid.rows] == [cast.outsider]


def test_a_fiscal_year_runs_twelve_months_from_its_first_month():
    months = year_months(2026, 4)
    assert months[0] == dt.date(2026, 4, 1)
    assert months[-1] == dt.date(2027, 3, 1)


# -- pasting --------------------------------------------------------------------------------

TAB = "\t"


def paste_row(who, *values):
    return TAB.join([who, *values])


def test_a_pasted_block_is_matched_to_people_and_months_with_a_message_per_bad_cell(cast):
    UserFactory(username="elsewhere", role=cast.rep.role, team=cast.west)
    grid = build_grid(viewer=cast.manager, metric="bookings", months=MONTHS, team=cast.east)
    text = "\n".join(
        [
            paste_row("Person", *(f"2026-{m:02d}" for m in range(1, 13))),
            paste_row("rep", "¥1,234.50", "12.5万", "1 234,50", "", "-5"),
            paste_row("REP_EAST1@example.com", "abc"),
            paste_row("nobody-here", "100"),
            paste_row("outsider", "100"),
            paste_row("East-1", "300"),
        ]
    )
    read = read_block(split_paste(text), grid=grid, parse_amount=parse_amount)
    assert [r.label for r in read] == [
        "rep",
        "REP_EAST1@example.com",
        "nobody-here",
        "outsider",
        "East-1",
    ]
    rep, east1_rep, nobody, outsider, team = read
    assert rep.values[:4] == [Decimal("1234.50"), Decimal("125000"), Decimal("1234.50"), None]
    assert rep.errors == {5: "A target cannot be negative."}
    assert east1_rep.row is not None and "not an amount" in east1_rep.errors[1]
    assert "No person or team" in nobody.errors[0]
    assert "not in the grid" in outsider.errors[0]
    assert team.row is not None and team.row.team == cast.east1 and team.ok


def test_pasted_values_become_cells_only_where_they_change_something(cast):
    target(cast.rep, JAN, "100")
    grid = build_grid(viewer=cast.manager, metric="bookings", months=MONTHS, team=cast.east)
    read = read_block(
        split_paste(paste_row("rep", "100", "200", "")), grid=grid, parse_amount=parse_amount
    )
    cells = cells_of(read, grid=grid)
    assert [(c.period_start, c.value, c.version) for c in cells] == [(FEB, Decimal("200"), 0)]
    assert cells[0].user_id == cast.rep.pk


def test_an_ambiguous_name_asks_for_the_username(cast):
    UserFactory(username="wang1", display_name="Wang Wei", role=cast.rep.role, team=cast.east)
    UserFactory(username="wang2", display_name="Wang Wei", role=cast.rep.role, team=cast.east)
    grid = build_grid(viewer=cast.manager, metric="bookings", months=MONTHS, team=cast.east)
    read = read_block(split_paste(paste_row("Wang Wei", "1")), grid=grid, parse_amount=parse_amount)
    assert "More than one person" in read[0].errors[0]


def test_a_huge_paste_is_refused_as_a_whole(cast):
    grid = build_grid(viewer=cast.manager, metric="bookings", months=MONTHS, team=cast.east)
    with pytest.raises(BlockProblem):
        read_block([(i, ["rep", "1"]) for i in range(3000)], grid=grid, parse_amount=parse_amount)


def test_every_saved_cell_is_on_record_and_a_refused_save_writes_no_entry(cast):
    from salesops.audit.models import AuditEntry

    changed = target(cast.rep, FEB, "700")
    removed = target(cast.rep, MAR, "300")
    with pytest.raises(GridRejected):
        save_target_grid(
            by=cast.manager,
            cells=[cell("ok", JAN, user_id=cast.rep.pk), cell("no", JAN, user_id=cast.outsider.pk)],
        )
    assert not AuditEntry.objects.exists()
    saved = save_target_grid(
        by=cast.manager,
        cells=[
            cell("a", JAN, "1000", user_id=cast.rep.pk),
            cell("b", FEB, "800", version=1, user_id=cast.rep.pk),
            cell("c", MAR, None, version=1, user_id=cast.rep.pk),
        ],
    )
    entries = {
        (e.object_id, e.action): e.changes
        for e in AuditEntry.objects.filter(actor=cast.manager, object_type="users.target")
    }
    assert entries == {
        (saved["a"].pk, "created"): {},
        (changed.pk, "updated"): {"value": {"old": "700.00", "new": "800.00"}},
        (removed.pk, "deleted"): {},
    }
