"""The report engine: grouped measures, money in the base currency, exact medians, date
buckets in the organisation's time zone, permissions, hidden fields, custom fields,
bad definitions, and drill-downs that count what the cell counts."""

import datetime as dt
import io
import statistics
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from salesops.activities.tests.factories import FollowUpFactory
from salesops.crm.models import Deal
from salesops.crm.tests.factories import CustomerFactory, DealFactory
from salesops.customization.models import CustomField
from salesops.customization.services import forget_definitions
from salesops.lib.services import NotVisible
from salesops.org.models import ExchangeRate
from salesops.reports import services
from salesops.reports.exporting import report_csv, report_xlsx
from salesops.reports.models import SavedReport
from salesops.reports.query import ReportInvalid, parse
from salesops.reports.running import bucket_label

D = dt.date
UTC = dt.UTC


@pytest.fixture
def org(cast):
    org = cast.org
    org.base_currency_id = "CNY"
    org.time_zone = "Asia/Shanghai"
    org.fiscal_year_start_month = 4
    org.save()
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 1, 1), rate=Decimal("7.0"))
    ExchangeRate.objects.create(currency_id="USD", effective_on=D(2026, 3, 1), rate=Decimal("7.2"))
    return org


def won(owner, amount, closed_on, currency="CNY", **kw):
    return DealFactory(
        owner=owner,
        amount=Decimal(amount),
        currency_id=currency,
        status=Deal.Status.WON,
        closed_on=closed_on,
        **kw,
    )


def run(user, definition, object_type="deal"):
    return services.run_definition(user=user, object_type=object_type, definition=definition)


def table(result):
    """{group labels: measure values} of the rows, the total row under "TOTAL"."""
    n = result.group_columns
    out = {}
    for row, keys in zip(result.values, result.keys, strict=True):
        out[tuple(row[:n]) if keys or not n else "TOTAL"] = row[n:]
    return out


BY_MONTH = {
    "filters": [{"field": "status", "op": "eq", "value": "won"}],
    "group_by": [{"field": "closed_on", "bucket": "month"}],
    "measures": [{"agg": "count"}, {"agg": "sum", "field": "amount"}],
}


def test_it_counts_and_sums_won_deals_per_month_in_the_base_currency(org, cast):
    won(cast.rep, "100", D(2026, 1, 5))
    won(cast.rep, "300", D(2026, 1, 20))
    won(cast.rep, "10", D(2026, 2, 2), currency="USD")  # 7.0 on 2026-02-02
    won(cast.rep, "10", D(2026, 3, 2), currency="USD")  # 7.2 from 2026-03-01
    DealFactory(owner=cast.rep, amount=Decimal("999"))  # open: filtered out
    result = run(cast.admin, BY_MONTH)
    assert not result.error
    got = table(result)
    assert got[("2026-01",)] == [2, Decimal("400.00")]
    assert got[("2026-02",)] == [1, Decimal(10) * Decimal("7.0")]
    assert got[("2026-03",)] == [1, Decimal(10) * Decimal("7.2")]
    assert got["TOTAL"] == [4, Decimal(400) + Decimal(70) + Decimal(72)]
    assert any("CNY" in note for note in result.notes)
    assert result.headers[0] == "closed on (month)"


def test_open_deals_convert_at_the_latest_rate_as_the_pipeline_kpis_do(org, cast):
    DealFactory(owner=cast.rep, amount=Decimal("10"), currency_id="USD")
    result = run(cast.admin, {"measures": [{"agg": "sum", "field": "amount"}]})
    assert result.values == [[Decimal("72.00")]]


def test_a_missing_exchange_rate_is_a_message_not_a_wrong_number(org, cast):
    won(cast.rep, "10", D(2025, 6, 1), currency="USD")  # before the first USD rate
    result = run(cast.admin, BY_MONTH)
    assert "exchange rate for USD" in result.error
    assert result.rows == []


@pytest.mark.parametrize(
    "amounts",
    [
        ["5"],
        ["1", "9", "3"],
        ["1", "2", "3", "10"],
        ["7", "7", "7", "1", "100", "2"],
        ["0.5", "0.25", "1000000"],
    ],
)
def test_the_median_is_exact_for_odd_and_even_counts(org, cast, amounts):
    for a in amounts:
        won(cast.rep, a, D(2026, 4, 1))
    won(cast.outsider, "50", D(2026, 4, 1))
    definition = {
        "group_by": [{"field": "owner"}],
        "measures": [{"agg": "median", "field": "amount"}, {"agg": "mean", "field": "amount"}],
    }
    got = table(run(cast.admin, definition))
    mine = [Decimal(a) for a in amounts]
    assert got[("rep",)] == [
        statistics.median(mine).quantize(Decimal("0.01")),
        (sum(mine) / len(mine)).quantize(Decimal("0.01")),
    ]
    everyone = [*mine, Decimal(50)]
    assert got["TOTAL"][0] == statistics.median(everyone).quantize(Decimal("0.01"))


def test_a_median_of_money_converts_each_record_before_ranking(org, cast):
    won(cast.rep, "100", D(2026, 4, 1))  # 100 CNY
    won(cast.rep, "10", D(2026, 4, 1), currency="USD")  # 72 CNY
    won(cast.rep, "80", D(2026, 4, 1))  # 80 CNY
    result = run(cast.admin, {"measures": [{"agg": "median", "field": "amount"}]})
    assert result.values == [[Decimal("80.00")]]


def test_mean_and_median_of_nothing_are_undefined_not_zero(org, cast):
    DealFactory(owner=cast.rep, probability=None)
    result = run(
        cast.admin,
        {
            "measures": [
                {"agg": "mean", "field": "probability"},
                {"agg": "median", "field": "probability"},
            ]
        },
    )
    assert result.values == [[None, None]]
    assert result.rows == [["—", "—"]]


@pytest.mark.parametrize(
    ("bucket", "day", "start"),
    [
        ("day", D(2026, 5, 17), D(2026, 5, 17)),
        ("week", D(2026, 5, 17), D(2026, 5, 11)),  # a Sunday: its ISO week began Monday
        ("week", D(2026, 5, 11), D(2026, 5, 11)),
        ("month", D(2026, 5, 31), D(2026, 5, 1)),
        ("quarter", D(2026, 6, 30), D(2026, 4, 1)),
        ("year", D(2026, 12, 31), D(2026, 1, 1)),
        ("fiscal_quarter", D(2026, 3, 31), D(2026, 1, 1)),  # FY starts in April
        ("fiscal_quarter", D(2026, 4, 1), D(2026, 4, 1)),
        ("fiscal_quarter", D(2026, 12, 15), D(2026, 10, 1)),
        ("fiscal_year", D(2026, 3, 31), D(2025, 4, 1)),
        ("fiscal_year", D(2026, 4, 1), D(2026, 4, 1)),
    ],
)
def test_dates_fall_into_the_bucket_that_contains_them(org, cast, bucket, day, start):
    won(cast.rep, "1", day)
    result = run(cast.admin, {"group_by": [{"field": "closed_on", "bucket": bucket}]})
    assert result.keys[0] == [start.isoformat()]
    assert result.values[0][0] == bucket_label(bucket, start)


def test_datetimes_are_bucketed_by_the_organisations_local_day(org, cast):
    # 2026-03-31 17:30 UTC is 2026-04-01 01:30 in Shanghai: April, fiscal Q1 of FY2026.
    FollowUpFactory(owner=cast.rep, occurred_at=dt.datetime(2026, 3, 31, 17, 30, tzinfo=UTC))
    FollowUpFactory(owner=cast.rep, occurred_at=dt.datetime(2026, 3, 31, 15, 30, tzinfo=UTC))
    for bucket, expected in [
        ("month", ["2026-03", "2026-04"]),
        ("fiscal_year", ["FY2025", "FY2026"]),
    ]:
        result = run(
            cast.admin, {"group_by": [{"field": "occurred_at", "bucket": bucket}]}, "followup"
        )
        assert [row[0] for row in result.values[:-1]] == expected
        assert [row[1] for row in result.values[:-1]] == [1, 1]


def test_datetime_filters_take_whole_local_days(org, cast):
    FollowUpFactory(owner=cast.rep, occurred_at=dt.datetime(2026, 3, 31, 17, 30, tzinfo=UTC))
    FollowUpFactory(owner=cast.rep, occurred_at=dt.datetime(2026, 3, 31, 15, 30, tzinfo=UTC))
    definition = {"filters": [{"field": "occurred_at", "op": "eq", "value": "2026-04-01"}]}
    assert run(cast.admin, definition, "followup").values == [[1]]
    definition["filters"][0] |= {"op": "between", "value": "2026-03-31..2026-04-01"}
    assert run(cast.admin, definition, "followup").values == [[2]]


def test_each_reader_counts_only_the_records_they_may_see(org, cast):
    won(cast.rep, "100", D(2026, 1, 5))
    won(cast.rep_east1, "200", D(2026, 1, 5))
    won(cast.outsider, "400", D(2026, 1, 5))
    definition = {"measures": [{"agg": "count"}, {"agg": "sum", "field": "amount"}]}
    assert run(cast.admin, definition).values == [[3, Decimal("700.00")]]
    assert run(cast.manager, definition).values == [[2, Decimal("300.00")]]
    assert run(cast.rep, definition).values == [[1, Decimal("100.00")]]
    assert run(cast.outsider, definition).values == [[1, Decimal("400.00")]]


def test_a_role_without_the_view_right_cannot_run_a_report_on_that_object(org, cast):
    cast.rep.role.rights = {"deal": ["view"]}
    cast.rep.role.save()
    with pytest.raises(PermissionDenied):
        run(cast.rep, {}, "payment")


def test_hidden_fields_can_be_neither_filtered_grouped_nor_measured(org, cast):
    cast.rep.role.hidden_fields = {"deal": ["amount", "source"], "customer": ["industry"]}
    cast.rep.role.save()
    won(cast.rep, "100", D(2026, 1, 5), source="web")
    for definition, key in [
        ({"measures": [{"agg": "sum", "field": "amount"}]}, "m0_field"),
        ({"group_by": [{"field": "source"}]}, "g0_field"),
        ({"filters": [{"field": "amount", "op": "gte", "value": "1"}]}, "f0_field"),
        ({"group_by": [{"field": "customer.industry"}]}, "g0_field"),
    ]:
        result = run(cast.rep, definition)
        assert key in result.errors
        assert result.rows == []
    # the administrator, who hides nothing, still can
    assert run(cast.admin, {"measures": [{"agg": "sum", "field": "amount"}]}).values == [
        [Decimal("100.00")]
    ]


@pytest.mark.parametrize(
    ("definition", "key"),
    [
        ({"filters": [{"field": "password", "op": "eq", "value": "x"}]}, "f0_field"),
        ({"filters": [{"field": "amount", "op": "contains", "value": "1"}]}, "f0_op"),
        ({"filters": [{"field": "amount", "op": "gte", "value": "lots"}]}, "f0_value"),
        ({"filters": [{"field": "closed_on", "op": "eq", "value": "2026-13-01"}]}, "f0_value"),
        ({"filters": [{"field": "closed_on", "op": "between", "value": "2026-02-01"}]}, "f0_value"),
        ({"filters": [{"field": "amount", "op": "between", "value": "9..1"}]}, "f0_value"),
        ({"filters": [{"field": "status", "op": "eq", "value": "maybe"}]}, "f0_value"),
        ({"filters": [{"field": "status", "op": "eq", "value": "1; DROP TABLE x"}]}, "f0_value"),
        ({"group_by": [{"field": "owner"}, {"field": "stage"}, {"field": "status"}]}, "group_by"),
        ({"group_by": [{"field": "amount"}]}, "g0_field"),
        ({"group_by": [{"field": "closed_on", "bucket": "century"}]}, "g0_bucket"),
        ({"group_by": [{"field": "owner", "bucket": "month"}]}, "g0_bucket"),
        ({"measures": [{"agg": "stddev", "field": "amount"}]}, "m0_agg"),
        ({"measures": [{"agg": "sum", "field": "name"}]}, "m0_field"),
        ({"chart": "bar"}, "chart"),
        ({"group_by": [{"field": "owner__password"}]}, "g0_field"),
    ],
)
def test_bad_definitions_are_refused_with_a_message_for_the_input(cast, definition, key):
    with pytest.raises(ReportInvalid) as caught:
        parse("deal", definition, cast.admin)
    assert key in caught.value.errors
    assert all(isinstance(m, str) and m for m in caught.value.errors.values())


def test_labels_are_matched_to_choices_in_the_readers_language(cast):
    spec = parse(
        "deal", {"filters": [{"field": "status", "op": "in", "value": "Won, lost"}]}, cast.admin
    )
    assert spec.filters[0].value == ["won", "lost"]


@pytest.fixture
def custom_fields(db):
    forget_definitions()
    CustomField.objects.create(
        object_type="deal",
        key="segment",
        label="Segment",
        field_type="select",
        options=[{"value": "smb", "label": "SMB"}, {"value": "ent", "label": "Enterprise"}],
    )
    CustomField.objects.create(object_type="deal", key="seats", label="Seats", field_type="number")
    CustomField.objects.create(
        object_type="deal", key="kickoff", label="Kick-off", field_type="date"
    )
    yield
    forget_definitions()


def test_custom_fields_filter_group_and_measure_like_built_in_ones(org, cast, custom_fields):
    won(
        cast.rep, "1", D(2026, 1, 1), custom={"segment": "smb", "seats": 5, "kickoff": "2026-02-03"}
    )
    won(cast.rep, "1", D(2026, 1, 1), custom={"segment": "smb", "seats": 7})
    won(
        cast.rep,
        "1",
        D(2026, 1, 1),
        custom={"segment": "ent", "seats": 100, "kickoff": "2026-05-01"},
    )
    won(cast.rep, "1", D(2026, 1, 1), custom={})
    definition = {
        "group_by": [{"field": "custom.segment"}],
        "measures": [
            {"agg": "count"},
            {"agg": "sum", "field": "custom.seats"},
            {"agg": "median", "field": "custom.seats"},
        ],
    }
    got = table(run(cast.admin, definition))
    assert got[("Enterprise",)] == [1, Decimal("100.00"), Decimal("100.00")]
    assert got[("SMB",)] == [2, Decimal("12.00"), Decimal("6.00")]
    assert got[("(empty)",)] == [1, None, None]
    filtered = {
        "filters": [
            {"field": "custom.seats", "op": "gte", "value": "6"},
            {"field": "custom.kickoff", "op": "empty", "value": ""},
        ]
    }
    assert run(cast.admin, filtered).values == [[1]]
    by_quarter = {"group_by": [{"field": "custom.kickoff", "bucket": "quarter"}]}
    assert [r[:2] for r in run(cast.admin, by_quarter).values[:-1]] == [
        ["2026 Q1", 1],
        ["2026 Q2", 1],
        ["(empty)", 2],
    ]


def test_a_saved_report_whose_custom_field_was_deleted_says_so(org, cast, custom_fields):
    report = services.create_report(
        user=cast.admin,
        name="Seats",
        object_type="deal",
        definition={"measures": [{"agg": "sum", "field": "custom.seats"}]},
    )
    CustomField.objects.filter(key="seats").delete()
    forget_definitions()
    result = services.run_report(report, user=cast.admin)
    assert "seats" in result.error and "no longer exists" in result.error
    assert result.rows == []


def test_every_cell_opens_exactly_the_records_it_counts(org, cast):
    customer = CustomerFactory(owner=cast.rep)
    for day, owner in [
        (D(2026, 1, 3), cast.rep),
        (D(2026, 1, 30), cast.rep_east1),
        (D(2026, 2, 1), cast.rep),
        (D(2026, 5, 5), cast.rep),
    ]:
        won(owner, "10", day, customer=customer)
    FollowUpFactory(owner=cast.rep, occurred_at=dt.datetime(2026, 3, 31, 17, 30, tzinfo=UTC))
    definition = {
        "group_by": [{"field": "closed_on", "bucket": "quarter"}, {"field": "owner"}],
        "measures": [{"agg": "count"}],
    }
    for user in (cast.admin, cast.manager, cast.rep):
        result = run(user, definition)
        for row, keys in zip(result.values, result.keys, strict=True):
            records = services.report_records(
                user=user, object_type="deal", definition=definition, keys=keys
            )
            assert records.count() == row[-1]
    followups = {"group_by": [{"field": "occurred_at", "bucket": "week"}]}
    result = run(cast.rep, followups, "followup")
    records = services.report_records(
        user=cast.rep, object_type="followup", definition=followups, keys=result.keys[0]
    )
    assert records.count() == 1


def test_drilling_with_keys_that_do_not_fit_is_refused(org, cast):
    definition = {"group_by": [{"field": "owner"}]}
    for keys in (["x"], [1, 2], [{"a": 1}]):
        with pytest.raises(ValidationError):
            services.report_records(
                user=cast.admin, object_type="deal", definition=definition, keys=keys
            )


# -- saving and sharing -------------------------------------------------------------------------


def test_a_report_shared_with_a_team_reaches_its_sub_teams_but_nobody_else(org, cast):
    report = services.create_report(
        user=cast.manager, name="East deals", object_type="deal", definition={}, team=cast.east
    )
    visible = SavedReport.objects.visible_to
    assert visible(cast.rep).filter(pk=report.pk).exists()  # East
    assert visible(cast.rep_east1).filter(pk=report.pk).exists()  # East-1, below East
    assert visible(cast.admin).filter(pk=report.pk).exists()
    assert not visible(cast.outsider).filter(pk=report.pk).exists()  # West
    assert not visible(cast.analyst).filter(pk=report.pk).exists()  # HQ, above East
    with pytest.raises(NotVisible):
        services.run_report(report, user=cast.outsider)


def test_only_the_owner_or_an_administrator_changes_a_shared_report(org, cast):
    report = services.create_report(
        user=cast.manager, name="East deals", object_type="deal", definition={}, team=cast.east
    )
    with pytest.raises(PermissionDenied):
        services.update_report(
            user=cast.rep, report=report, name="Mine now", definition={}, team=None
        )
    with pytest.raises(PermissionDenied):
        services.delete_report(user=cast.rep, report=report)
    report.refresh_from_db()
    assert (report.name, report.team_id) == ("East deals", cast.east.pk)
    copy = services.copy_report(user=cast.rep, report=report)
    assert (copy.owner_id, copy.team_id, copy.definition) == (cast.rep.pk, None, report.definition)
    services.update_report(
        user=cast.admin, report=report, name="Renamed", definition={}, team=cast.east
    )
    services.delete_report(user=cast.manager, report=report)
    assert not SavedReport.objects.filter(pk=report.pk).exists()


def test_a_report_can_be_shared_only_with_the_owners_teams_or_below(org, cast):
    with pytest.raises(ValidationError) as caught:
        services.create_report(
            user=cast.rep, name="x", object_type="deal", definition={}, team=cast.west
        )
    assert "team" in caught.value.message_dict
    assert not SavedReport.objects.exists()


def test_saving_an_invalid_definition_writes_nothing(org, cast):
    with pytest.raises(ValidationError) as caught:
        services.create_report(
            user=cast.rep,
            name="",
            object_type="deal",
            definition={"filters": [{"field": "amount", "op": "gte", "value": "x"}]},
        )
    assert {"name", "f0_value"} <= set(caught.value.message_dict)
    assert not SavedReport.objects.exists()


def test_a_shared_report_shows_each_reader_their_own_records(org, cast):
    won(cast.rep, "100", D(2026, 1, 5))
    won(cast.rep_east1, "200", D(2026, 1, 5))
    report = services.create_report(
        user=cast.manager,
        name="Bookings",
        object_type="deal",
        definition={"measures": [{"agg": "sum", "field": "amount"}]},
        team=cast.east,
    )
    assert services.run_report(report, user=cast.manager).values == [[Decimal("300.00")]]
    assert services.run_report(report, user=cast.rep).values == [[Decimal("100.00")]]
    assert services.run_report(report, user=cast.rep_east1).values == [[Decimal("200.00")]]


# -- exports --------------------------------------------------------------------------------------


def test_spreadsheets_keep_numbers_as_numbers_and_neutralise_formulas(org, cast):
    from openpyxl import load_workbook

    won(cast.rep, "100.50", D(2026, 1, 5), source='=HYPERLINK("http://x")')
    won(cast.rep, "200", D(2026, 1, 5), source="web")
    result = run(
        cast.admin,
        {
            "group_by": [{"field": "source"}],
            "measures": [{"agg": "count"}, {"agg": "sum", "field": "amount"}],
        },
    )
    sheet = load_workbook(io.BytesIO(report_xlsx(result))).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == result.headers
    cells = {r[0]: r[1:] for r in rows[1:]}
    assert cells['\'=HYPERLINK("http://x")'] == [1, 100.5]
    assert cells["web"] == [1, 200]
    assert cells["Total"] == [2, 300.5]
    text = report_csv(result).decode("utf-8")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text


def test_cells_are_formatted_for_reading_and_kept_typed_for_spreadsheets(org, cast):
    won(cast.rep, "1234.5", D(2026, 1, 5))
    result = run(
        cast.admin,
        {
            "group_by": [{"field": "closed_on", "bucket": "quarter"}],
            "measures": [{"agg": "count"}, {"agg": "sum", "field": "amount"}],
        },
    )
    assert result.rows[0] == ["2026 Q1", "1", "1,234.50"]
    assert result.values[0] == ["2026 Q1", 1, Decimal("1234.50")]


@pytest.mark.parametrize(
    "bucket", ["day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year"]
)
def test_the_database_and_python_put_a_date_in_the_same_bucket(org, cast, custom_fields, bucket):
    """Stored dates are bucketed in Python, custom dates by SQL: both must agree."""
    from salesops.reports.running import bucket_end, bucket_start

    days = [D(2026, 1, 1), D(2026, 3, 31), D(2026, 4, 1), D(2026, 5, 17), D(2026, 12, 31)]
    for day in days:
        won(cast.rep, "1", day, custom={"kickoff": day.isoformat()})
    by_sql = run(cast.admin, {"group_by": [{"field": "custom.kickoff", "bucket": bucket}]})
    by_python = run(cast.admin, {"group_by": [{"field": "closed_on", "bucket": bucket}]})
    assert by_sql.keys == by_python.keys
    assert by_sql.values == by_python.values
    expected = Counter(bucket_start(bucket, d, 4) for d in days)
    assert {k[0]: v[1] for k, v in zip(by_sql.keys[:-1], by_sql.values, strict=False)} == {
        s.isoformat(): n for s, n in expected.items()
    }
    for start in expected:
        assert start <= bucket_end(bucket, start) - dt.timedelta(days=1)
