"""The submitted forecasts' accuracy (issue 13 §3): for each rep and each manager's
team, the commit that stood at the end of every week in which one was submitted or
overridden, against the bookings of the period; on the accuracy page and in the API, for
the viewers who see all of the subject's deals only.

July 2026 (a forecast month), organisation time zone Asia/Shanghai:
  rep:      commit 1000 (Mon 07-06), 1200 (Wed 07-08)  -> week of 07-06: 1200
            commit 1500 (07-15), manager's override 1300 (07-16) -> week of 07-13: 1300
            won 1250 in July.           errors: |1200-1250|/1250 = 4%, |1300-1250|/1250 = 4%
  manager:  own number 3000 (07-20), for East with East-1 -> week of 07-20
            East's bookings: rep 1250 + rep_east1 500 = 1750; error 1250/1750 = 71.4%
  outsider: commit 900 (07-31 23:30 Shanghai: still July) and 5000 (08-01 00:30: too late);
            won 1000 in July.           error 10%
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from salesops.analytics.engine import KpiContext
from salesops.analytics.periods import Period
from salesops.crm.models import Deal
from salesops.crm.tests.factories import DealFactory, PipelineFactory
from salesops.forecasting.kpis_accuracy import submission_rows
from salesops.forecasting.models import Submission

SH = ZoneInfo("Asia/Shanghai")
JULY = Period(dt.date(2026, 7, 1), dt.date(2026, 8, 1))


def at(day: int, hour: int = 12, month: int = 7) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=SH)


def submit(person, commit, when, *, by=None, original=None):
    return Submission.objects.create(
        period_kind="month", period_start=JULY.start, person=person,
        kind="override" if by else "own", commit=Decimal(commit), best_case=Decimal(commit),
        currency="CNY", by=by or person, original=original, submitted_at=when,
    )  # fmt: skip


@pytest.fixture
def july(cast):
    cast.org.time_zone = "Asia/Shanghai"
    cast.org.save()
    pipeline = PipelineFactory()
    won = pipeline.stages.get(name="Won")
    for owner, amount in ((cast.rep, 1250), (cast.rep_east1, 500), (cast.outsider, 1000)):
        DealFactory(
            pipeline=pipeline, owner=owner, stage=won, status=Deal.Status.WON,
            closed_on=dt.date(2026, 7, 10), amount=Decimal(amount), currency_id="CNY",
            created_on=dt.date(2026, 6, 1),
        )  # fmt: skip
    submit(cast.rep, 1000, at(6))
    own = submit(cast.rep, 1200, at(8))
    own = submit(cast.rep, 1500, at(15))
    submit(cast.rep, 1300, at(16), by=cast.manager, original=own)
    submit(cast.manager, 3000, at(20))
    submit(cast.outsider, 900, at(31, 23))
    submit(cast.outsider, 5000, at(1, 0, month=8) + dt.timedelta(minutes=30))
    # Another period's number never counts here.
    Submission.objects.create(
        period_kind="month",
        period_start=dt.date(2026, 8, 1),
        person=cast.rep,
        kind="own",
        commit=Decimal(1),
        best_case=Decimal(1),
        currency="CNY",
        by=cast.rep,
        submitted_at=at(20),
    )


def rows_for(viewer):
    ctx = KpiContext(viewer=viewer, period=JULY, today=dt.date(2026, 8, 5))
    return {(r.subject, r.made): (r.forecast, r.actual) for r in submission_rows(ctx)}


def test_each_weeks_standing_number_against_the_bookings(cast, july):
    rep, east, west = f"owner:{cast.rep.pk}", f"team:{cast.east.pk}", f"owner:{cast.outsider.pk}"
    assert rows_for(cast.admin) == {
        (rep, dt.date(2026, 7, 6)): (Decimal(1200), Decimal(1250)),
        (rep, dt.date(2026, 7, 13)): (Decimal(1300), Decimal(1250)),
        (east, dt.date(2026, 7, 20)): (Decimal(3000), Decimal(1750)),
        (west, dt.date(2026, 7, 27)): (Decimal(900), Decimal(1000)),
    }


def test_each_viewer_compares_only_subjects_whose_deals_they_all_see(cast, july):
    assert {s for s, _w in rows_for(cast.rep)} == {f"owner:{cast.rep.pk}"}
    assert {s for s, _w in rows_for(cast.manager)} == {
        f"owner:{cast.rep.pk}",
        f"team:{cast.east.pk}",
    }
    assert {s for s, _w in rows_for(cast.outsider)} == {f"owner:{cast.outsider.pk}"}


def test_a_period_that_is_no_forecast_period_has_no_submitted_rows(cast, july):
    ctx = KpiContext(viewer=cast.admin, period=Period(dt.date(2026, 7, 1), dt.date(2026, 7, 16)))
    assert submission_rows(ctx) == []


def test_the_page_and_the_api_rank_the_submitted_forecasts(cast, july, client):
    client.force_login(cast.manager)
    html = client.get("/forecasts/accuracy/", {"period": "2026-07"}).content.decode()
    table = html.split('id="submitted"', 1)[1].split("</table>", 1)[0]
    # The rep (4% off) ranks before East (71.4% off); nothing of West.
    assert table.index(f'data-subject="owner:{cast.rep.pk}"') < table.index(
        f'data-subject="team:{cast.east.pk}"'
    )
    assert "4.0%" in table and "71.4%" in table
    assert f"owner:{cast.outsider.pk}" not in html and "5,000" not in table
    client.force_login(cast.outsider)
    body = client.get("/api/v1/forecast/accuracy", {"period": "2026-07"}).json()
    assert [(r["subject"], r["forecast"]) for r in body["submitted"]] == [
        (f"owner:{cast.outsider.pk}", "900.00")
    ]
