"""The forecast pages on the crafted data set (conftest.py): the figures by hand, the
drill-downs list exactly the deals behind them, submissions and overrides, and who sees
what."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.crm.models import Deal
from salesops.forecasting import services as svc
from salesops.forecasting.models import CategoryChange, Submission
from salesops.users.models import Role, Target


@pytest.fixture(autouse=True)
def _pages_in_english(cast):
    """These tests read the pages in English (people's saved language; the product's
    default is zh-Hans)."""
    type(cast.admin).objects.update(language="en")


def page(client, user, **params):
    client.force_login(user)
    return client.get(reverse("forecast"), {"period": "FY2026-Q3", **params})


def figure(html, key):
    m = re.search(rf'id="fc-{key}".*?data-value="([^"]*)"', html, re.S)
    return m and m.group(1)


@pytest.mark.django_db
def test_rep_page_figures_target_and_gap(client, cast, data, q3):
    Target.objects.create(
        user=cast.rep,
        metric="bookings",
        period_kind="quarter",
        period_start=q3.start,
        value=Decimal("10000"),
    )
    html = page(client, cast.rep).content.decode()
    assert figure(html, "closed") == "1700.00"
    assert figure(html, "commit") == "3700.00"
    assert figure(html, "best_case") == "6700.00"
    assert figure(html, "pipeline") == "7420.00"
    assert figure(html, "target") == "10000.00"
    assert figure(html, "gap") == "6300.00"  # 10000 − 3700


@pytest.mark.django_db
def test_team_and_org_pages(client, cast, data):
    html = page(client, cast.manager).content.decode()  # default: the team they manage
    assert "East" in html
    assert figure(html, "commit") == "5200.00"
    assert figure(html, "pipeline") == "8920.00"
    html = page(client, cast.admin).content.decode()  # default: the organisation
    assert figure(html, "commit") == "35200.00"
    assert figure(html, "closed") == "12200.00"


@pytest.mark.django_db
@pytest.mark.parametrize("fig", ["closed", "commit", "best_case", "pipeline"])
def test_drill_down_lists_exactly_the_deals_behind_each_figure(client, cast, data, fig):
    expected = {
        "closed": ["r_won1", "r_won2"],
        "commit": ["r_won1", "r_won2", "r_commit"],
        "best_case": ["r_won1", "r_won2", "r_commit", "r_best"],
        "pipeline": ["r_won1", "r_won2", "r_commit", "r_best", "r_pipe"],
    }[fig]
    client.force_login(cast.rep)
    r = client.get(
        reverse("forecast_deals", args=[fig]), {"period": "FY2026-Q3", "person": cast.rep.pk}
    )
    html = r.content.decode()
    linked = {int(pk) for pk in re.findall(r'href="/deals/(\d+)/"', html)}
    assert linked == {data[k].pk for k in expected}
    assert re.search(r'id="drill-count">(\d+)<', html).group(1) == str(len(expected))
    total = re.search(r'id="drill-total" data-value="([^"]+)"', html).group(1)
    assert (
        total
        == {
            "closed": "1700.00",
            "commit": "3700.00",
            "best_case": "6700.00",
            "pipeline": "7420.00",
        }[fig]
    )


@pytest.mark.django_db
def test_outsider_sees_nothing_of_east(client, cast, data):
    client.force_login(cast.outsider)
    for params in ({"person": cast.rep.pk}, {"team": cast.east.pk}, {"org": "1"}):
        assert client.get(reverse("forecast"), {"period": "FY2026-Q3", **params}).status_code == 404
        r = client.get(
            reverse("forecast_deals", args=["pipeline"]), {"period": "FY2026-Q3", **params}
        )
        assert r.status_code == 404
    html = page(client, cast.outsider).content.decode()  # their own page
    assert figure(html, "commit") == "30000.00"
    # A rep does not see a teammate's page either.
    client.force_login(cast.rep)
    assert client.get(reverse("forecast"), {"person": cast.teammate.pk}).status_code == 404


@pytest.mark.django_db
def test_hidden_amount_gets_no_figures(client, cast, data, q3):
    svc.submit_forecast(by=cast.rep, period=q3, commit="1234", best_case="2345")
    Role.objects.filter(name="Rep").update(hidden_fields={"deal": ["amount"]})
    html = page(client, cast.rep).content.decode()
    assert 'id="forecast-withheld"' in html
    for key in ("closed", "commit", "best_case", "pipeline", "target", "gap"):
        assert figure(html, key) == "", key
    assert "1,234" not in html and "1234" not in html
    r = client.get(reverse("forecast_deals", args=["commit"]), {"period": "FY2026-Q3"})
    body = r.content.decode()
    assert 'id="drill-total"' not in body and "2,000.00" not in body


@pytest.mark.django_db
def test_submit_override_and_roll_up_through_the_pages(client, cast, data, q3):
    client.force_login(cast.rep)
    r = client.post(
        reverse("forecast_submit"),
        {"period": "FY2026-Q3", "commit": "3000", "best_case": "5000", "note": "steady"},
    )
    assert r.status_code == 302
    client.force_login(cast.rep_east1)
    client.post(
        reverse("forecast_submit"), {"period": "FY2026-Q3", "commit": "100", "best_case": "200"}
    )
    client.force_login(cast.manager)
    r = client.post(
        reverse("forecast_override"),
        {
            "period": "FY2026-Q3",
            "person": cast.rep.pk,
            "commit": "2500",
            "best_case": "4000",
            "note": "Acme slips",
        },
    )
    assert r.status_code == 302
    html = page(client, cast.manager).content.decode()
    # East's roll-up: rep (overridden 2500/4000) + East-1's roll-up (100/200).
    assert 'data-value="2600.00"' in html
    assert re.search(rf'data-team="{cast.east1.pk}".*?data-value="100.00"', html, re.S)
    assert "Acme slips" in html and "steady" in html
    # The outsider can't override East's rep: a 404, nothing written.
    client.force_login(cast.outsider)
    r = client.post(
        reverse("forecast_override"),
        {
            "period": "FY2026-Q3",
            "person": cast.rep.pk,
            "commit": "1",
            "best_case": "1",
            "note": "x",
        },
    )
    assert r.status_code == 404
    assert Submission.objects.count() == 3


@pytest.mark.django_db
def test_bad_input_says_what_to_fix(client, cast, data):
    client.force_login(cast.rep)
    r = client.post(
        reverse("forecast_submit"),
        {"period": "FY2026-Q3", "commit": "9000", "best_case": "10"},
        follow=True,
    )
    assert "The best case cannot be below the commit" in r.content.decode()
    r = client.get(reverse("forecast"), {"period": "2026"})
    assert r.status_code == 400 and "per month or per fiscal quarter" in r.content.decode()
    assert Submission.objects.count() == 0


@pytest.mark.django_db
def test_deal_page_category_control(client, cast, data):
    deal = data["r_pipe"]
    client.force_login(cast.rep)
    html = client.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert 'id="deal-forecast-category"' in html
    client.post(reverse("deal_forecast_category", args=[deal.pk]), {"category": "commit"})
    assert Deal.objects.get(pk=deal.pk).forecast_category == "commit"
    html = client.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert 'id="forecast-category-history"' in html
    client.force_login(cast.outsider)
    r = client.post(reverse("deal_forecast_category", args=[deal.pk]), {"category": "omitted"})
    assert r.status_code == 404
    assert CategoryChange.objects.count() == 1


@pytest.mark.django_db
def test_manager_sees_each_direct_report(client, cast, data, q3):
    svc.submit_forecast(by=cast.rep_east1, period=q3, commit="100", best_case="200", note="e1")
    html = page(client, cast.manager).content.decode()
    people = set(map(int, re.findall(r'tr class="forecast-person" data-person="(\d+)"', html)))
    # East's members and the manager's direct reports (rep_east1 is in East-1).
    assert people == {cast.rep.pk, cast.teammate.pk, cast.rep_east1.pk}
    assert "e1" in html
