"""Pipeline history pages: the as-of list, the waterfall and its drill-downs, the trend
and the snapshot settings, on the crafted history of `forecasting/tests/history.py`,
with people who must not see the data."""

import re
from decimal import Decimal

import pytest

from salesops.analytics.engine import KpiContext, compute
from salesops.audit.models import AuditEntry
from salesops.customization import policy
from salesops.forecasting.models import SnapshotSettings
from salesops.forecasting.tests import history as made


@pytest.fixture
def history(cast):
    made.set_up_org(cast)
    return made.build_history(cast)


WATERFALL = "/pipeline-history/waterfall/?start=2026-07-10&end=2026-08-20&period=2026-Q3"
QUERY = "?start=2026-07-10&end=2026-08-20&period=2026-Q3"


def bar_values(html):
    return {
        key: Decimal(value)
        for key, value in re.findall(r'data-bar="(\w+)">.*?data-value="([-\d.]+)"', html)
    }


def test_the_waterfall_page_shows_each_bar_and_the_end_is_the_start_plus_the_moves(
    cast, history, signed_in
):
    html = signed_in(cast.rep).get(WATERFALL).content.decode()
    bars = bar_values(html)
    assert bars["start"] == Decimal("16300.00") and bars["end"] == Decimal("5820.00")
    assert (
        bars["start"] + sum(v for k, v in bars.items() if k not in ("start", "end")) == bars["end"]
    )
    assert 'id="waterfall-data"' in html and 'id="waterfall-exact"' in html


def test_a_bar_drills_to_its_deals_with_the_same_query(cast, history, signed_in):
    client = signed_in(cast.rep)
    html = client.get(f"/pipeline-history/waterfall/increased/{QUERY}").content.decode()
    assert 'data-value="520.00"' in html
    assert ">a<" in html and ">c<" in html and ">b<" not in html
    won = client.get(f"/pipeline-history/waterfall/won/{QUERY}").content.decode()
    assert ">e<" in won and 'data-value="-4000.00"' in won
    deleted = client.get(f"/pipeline-history/waterfall/deleted/{QUERY}").content.decode()
    assert ">g<" in deleted  # in the recycle bin: still named for its owner, not linked
    assert f'href="/deals/{history.deals["g"].pk}/"' not in deleted
    assert f'href="/deals/{history.deals["e"].pk}/"' in won
    assert client.get(f"/pipeline-history/waterfall/nonsense/{QUERY}").status_code == 404


def test_the_outsider_sees_none_of_easts_deals_on_any_page(cast, history, signed_in):
    client = signed_in(cast.outsider)
    html = client.get(WATERFALL).content.decode()
    assert bar_values(html)["start"] == Decimal("99999.00")
    for bar in ("start", "won", "increased", "end"):
        page = client.get(f"/pipeline-history/waterfall/{bar}/{QUERY}").content.decode()
        assert ">a<" not in page and ">e<" not in page and "16300" not in page
    as_of = client.get("/pipeline-history/?day=2026-07-10").content.decode()
    assert ">z<" in as_of and ">a<" not in as_of and 'data-value="99999.00"' in as_of
    trend = client.get("/pipeline-history/trend/?period=2026-Q3").content.decode()
    assert "1,000" not in trend and "16,300" not in trend


def test_the_as_of_page_lists_the_snapshot_nearest_before_the_day(cast, history, signed_in):
    html = signed_in(cast.manager).get("/pipeline-history/?day=2026-08-01").content.decode()
    assert 'id="as-of-count">9<' not in html  # the outsider's z is not the manager's
    assert 'id="as-of-count">8<' in html and 'data-value="17100.00"' in html  # + h (November)
    assert "2026" in html and 'id="as-of-source"' in html


def test_a_role_hiding_the_amount_gets_no_amounts(cast, history, signed_in):
    role = cast.rep.role
    role.hidden_fields = {"deal": ["amount"]}
    role.save()
    policy.forget(cast.rep)
    client = signed_in(cast.rep)
    waterfall = client.get(WATERFALL).content.decode()
    assert 'id="waterfall-withheld"' in waterfall and "16,300" not in waterfall
    assert 'data-bar="' not in waterfall
    drill = client.get(f"/pipeline-history/waterfall/won/{QUERY}").content.decode()
    assert "4,000" not in drill and "drill-table" not in drill
    as_of = client.get("/pipeline-history/?day=2026-08-01").content.decode()
    assert "1,000" not in as_of and "as-of-total" not in as_of and ">a<" in as_of
    trend = client.get("/pipeline-history/trend/?period=2026-Q3").content.decode()
    assert 'id="trend-withheld"' in trend and "trend-data" not in trend


def test_the_trend_adds_bookings_so_far_to_commit_and_best_case(cast, history, signed_in):
    from salesops.crm.models import Deal
    from salesops.forecasting.models import SnapshotRow

    a, b = history.deals["a"], history.deals["b"]
    # In the second snapshot: a in commit (1500), b in best case (1200), both in Q3
    SnapshotRow.objects.filter(snapshot__taken_on="2026-08-20", deal_id=a.pk).update(category="C")
    SnapshotRow.objects.filter(snapshot__taken_on="2026-08-20", deal_id=b.pk).update(category="B")
    # e won on 2026-08-05: booked by the second snapshot, not by the first
    Deal.objects.filter(pk=history.deals["e"].pk).update(closed_on="2026-08-05")
    html = signed_in(cast.rep).get("/pipeline-history/trend/?period=2026-Q3").content.decode()
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", html)
    assert rows == [
        ("¥0.00", "¥0.00", "¥0.00"),
        ("¥5,500.00", "¥6,700.00", "¥4,000.00"),  # 1500 + 4000; 1500 + 1200 + 4000
    ]
    assert 'data-value="4000.00"' in html  # the bookings of Q3 (KPI engine)
    ctx = KpiContext(viewer=cast.rep, period=made.Q3, today=made.TODAY)
    assert compute(ctx, ["bookings"])[0]["bookings"] == "4000.00"  # one number everywhere


def test_the_pages_render_in_chinese_at_their_urls(cast, history, signed_in):
    client = signed_in(cast.manager, "zh-hans")
    for url in (
        "/pipeline-history/?day=2026-08-01",
        WATERFALL,
        f"/pipeline-history/waterfall/won/{QUERY}",
        "/pipeline-history/trend/?period=2026-Q3",
    ):
        r = client.get(url)
        assert r.status_code == 200 and '<html lang="zh-hans">' in r.content.decode(), url


def test_an_admin_sets_the_snapshot_day_and_hour_and_others_may_not(cast, signed_in):
    r = signed_in(cast.admin).post("/settings/snapshots/", {"weekday": "0", "hour": "6"})
    assert r.status_code == 302
    row = SnapshotSettings.get()
    assert (row.weekday, row.hour) == (0, 6)
    assert AuditEntry.objects.filter(object_type="forecasting.snapshotsettings").exists()
    bad = signed_in(cast.admin).post("/settings/snapshots/", {"weekday": "0", "hour": "25"})
    assert bad.status_code == 400 and "0 to 23" in bad.content.decode()
    assert (
        signed_in(cast.rep).post("/settings/snapshots/", {"weekday": "1", "hour": "1"}).status_code
        == 403
    )
    assert SnapshotSettings.get().hour == 6
    assert "/settings/snapshots/" in signed_in(cast.admin).get("/settings/").content.decode()


def test_a_bad_date_says_how_to_write_it(cast, signed_in):
    r = signed_in(cast.rep).get("/pipeline-history/?day=yesterday")
    assert r.status_code == 400 and "2026-07-01" in r.content.decode()
    r = signed_in(cast.rep).get("/pipeline-history/waterfall/?start=2026-08-01&end=2026-07-01")
    assert "must come after" in r.content.decode()
