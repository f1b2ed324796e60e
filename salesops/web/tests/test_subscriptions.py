"""The subscription pages (list, new, edit, pause, delete) and the drill-down's XLSX
export. Bad input is answered next to its field and writes nothing; someone else's
subscription or a drill-down outside the viewer's scope is a 404."""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from salesops.subscriptions import sending
from salesops.subscriptions.models import Subscription, SubscriptionRun
from salesops.subscriptions.services import create_subscription
from salesops.subscriptions.tests.data import MONDAY_8, WEEK_START, week  # noqa: F401
from salesops.subscriptions.tests.smtp import smtp_down  # noqa: F401

pytestmark = pytest.mark.django_db


def form(cast, **changes):
    data = {
        "name": "Monday numbers",
        "what": f"team:{cast.east.pk}",
        "period": "last_week",
        "cadence": "weekly",
        "weekday": "0",
        "day_of_month": "1",
        "hour": "8",
        "recipients": [cast.manager.pk],
        "is_active": "on",
    }
    data.update(changes)
    return data


def errors_of(response, field):
    return [str(e) for e in response.context["form"].errors.get(field, [])]


def make(owner, recipients, **values):
    values = {
        "name": "Weekly",
        "what": "org",
        "period": "last_week",
        "cadence": "weekly",
        "weekday": 0,
        "day_of_month": 1,
        "hour": 8,
        **values,
    }
    return create_subscription(user=owner, recipients=recipients, **values)


def test_a_manager_subscribes_to_their_teams_dashboard(cast, signed_in):
    client = signed_in(cast.manager)
    page = client.get(reverse("subscription_new") + f"?what=team:{cast.east.pk}")
    assert page.status_code == 200
    assert f'value="team:{cast.east.pk}" selected' in page.content.decode()
    response = client.post(reverse("subscription_new"), form(cast))
    assert response.status_code == 302
    sub = Subscription.objects.get()
    assert (sub.owner, sub.what, sub.team, sub.cadence, sub.hour) == (
        cast.manager,
        "team",
        cast.east,
        "weekly",
        8,
    )
    assert list(sub.recipients.all()) == [cast.manager]
    listing = client.get(reverse("subscription_list")).content.decode()
    assert "Monday numbers" in listing and "Every Monday at 08:00" in listing


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"recipients": []}, "recipients", "Choose at least one recipient."),
        ({"cadence": "monthly", "day_of_month": "0"}, "day_of_month", "Choose a day from 1 to 31"),
        ({"cadence": "monthly", "day_of_month": "32"}, "day_of_month", "Choose a day from 1 to 31"),
        ({"hour": "24"}, "hour", "Choose an hour from 0 to 23."),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_bad_input_is_answered_next_to_its_field(cast, signed_in, changes, field, message):
    client = signed_in(cast.manager)
    response = client.post(reverse("subscription_new"), form(cast, **changes))
    assert response.status_code == 400
    assert any(message in e for e in errors_of(response, field))
    assert 'class="form-field has-error"' in response.content.decode()
    assert not Subscription.objects.exists()


def test_a_recipient_who_may_not_see_the_team_is_refused(cast, signed_in):
    client = signed_in(cast.manager)
    response = client.post(
        reverse("subscription_new"), form(cast, recipients=[cast.manager.pk, cast.outsider.pk])
    )
    assert response.status_code == 400
    [error] = errors_of(response, "recipients")
    assert str(cast.outsider) in error and "may not see the dashboard of Team East" in error
    assert not Subscription.objects.exists()


def test_a_team_outside_the_subscribers_scope_cannot_be_chosen(cast, signed_in):
    client = signed_in(cast.outsider)
    response = client.post(reverse("subscription_new"), form(cast, recipients=[cast.outsider.pk]))
    assert response.status_code == 400
    assert errors_of(response, "what")
    assert not Subscription.objects.exists()


def test_someone_elses_subscription_is_404(cast, signed_in):
    sub = make(cast.manager, [cast.manager])
    client = signed_in(cast.outsider)
    assert client.get(reverse("subscription_edit", args=[sub.pk])).status_code == 404
    assert client.post(reverse("subscription_edit", args=[sub.pk]), form(cast)).status_code == 404
    assert (
        client.post(reverse("subscription_active", args=[sub.pk]), {"active": "0"}).status_code
        == 404
    )
    assert client.post(reverse("subscription_delete", args=[sub.pk])).status_code == 404
    assert "Weekly" not in client.get(reverse("subscription_list")).content.decode()
    sub.refresh_from_db()
    assert sub.is_active and sub.name == "Weekly"


def test_the_subscriber_edits_pauses_and_deletes(cast, signed_in):
    sub = make(cast.manager, [cast.manager])
    client = signed_in(cast.manager)
    page = client.get(reverse("subscription_edit", args=[sub.pk]))
    assert page.status_code == 200 and 'value="Weekly"' in page.content.decode()
    changed = form(cast, name="Monthly", cadence="monthly", day_of_month="31")
    assert client.post(reverse("subscription_edit", args=[sub.pk]), changed).status_code == 302
    sub.refresh_from_db()
    assert (sub.name, sub.cadence, sub.day_of_month) == ("Monthly", "monthly", 31)
    assert (
        "Monthly on the last day at 08:00"
        in client.get(reverse("subscription_list")).content.decode()
    )
    client.post(reverse("subscription_active", args=[sub.pk]), {"active": "0"})
    sub.refresh_from_db()
    assert not sub.is_active
    client.post(reverse("subscription_delete", args=[sub.pk]))
    assert not Subscription.objects.exists()


def test_the_last_error_shows_on_the_pages(cast, week, smtp_down, signed_in):  # noqa: F811
    sub = make(cast.manager, [cast.manager])
    Subscription.objects.filter(pk=sub.pk).update(schedule_from=MONDAY_8 - dt.timedelta(days=1))
    sending.send_due(now=MONDAY_8)
    assert SubscriptionRun.objects.get().status == "retry"
    client = signed_in(cast.manager)
    listing = client.get(reverse("subscription_list")).content.decode()
    assert "Sending failed (attempt 1 of 3)" in listing
    detail = client.get(reverse("subscription_edit", args=[sub.pk])).content.decode()
    assert 'id="last-error"' in detail and "Will retry" in detail


def test_the_menu_links_to_subscriptions(cast, signed_in):
    page = signed_in(cast.rep).get(reverse("home")).content.decode()
    assert reverse("subscription_list") in page


# -- the drill-down's XLSX export --------------------------------------------------------------


def drill(metric, **params):
    period = f"{WEEK_START.isoformat()}..{(WEEK_START + dt.timedelta(days=6)).isoformat()}"
    return f"{reverse('dashboard_drill', args=[metric])}?{urlencode({'period': period, **params})}"


def test_the_drill_down_exports_the_same_rows_as_xlsx(cast, week, signed_in):  # noqa: F811
    client = signed_in(cast.manager)
    url = drill("won", team=cast.east.pk)
    page = client.get(url)
    listed = [row for _url, row in page.context["rows"]]
    assert page.context["xlsx_url"].endswith("format=xlsx")
    text = client.get(url + "&format=csv").content.decode("utf-8-sig")
    csv_rows = list(csv.reader(io.StringIO(text)))
    response = client.get(url + "&format=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="won-2026-03-02-2026-03-08.xlsx"' in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    xlsx_rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert xlsx_rows[0] == csv_rows[0]
    assert len(xlsx_rows) == len(csv_rows) == len(listed) + 1 == 4
    assert [r[0] for r in xlsx_rows[1:]] == [r[0] for r in csv_rows[1:]] == [r[0] for r in listed]
    assert sorted(float(r[5]) for r in xlsx_rows[1:]) == sorted(float(r[5]) for r in csv_rows[1:])


def test_a_formula_in_a_name_is_neutralised_in_the_xlsx(cast, week, signed_in):  # noqa: F811
    deal = week[0]
    deal.name = '=HYPERLINK("http://evil")'
    deal.save()
    client = signed_in(cast.manager)
    response = client.get(drill("won", team=cast.east.pk, format="xlsx"))
    names = [
        r[0] for r in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)
    ]
    assert '\'=HYPERLINK("http://evil")' in names


def test_the_xlsx_export_outside_the_viewers_scope_is_404(cast, week, signed_in):  # noqa: F811
    client = signed_in(cast.outsider)
    assert client.get(drill("won", team=cast.east.pk, format="xlsx")).status_code == 404
    assert client.get(drill("won", owner=cast.rep.pk, format="xlsx")).status_code == 404
    own = client.get(drill("won", format="xlsx"))
    rows = list(load_workbook(io.BytesIO(own.content)).active.iter_rows(values_only=True))
    assert [r[2] for r in rows[1:]] == [str(cast.outsider)]


def test_a_dashboard_offers_to_e_mail_itself(cast, signed_in):
    page = signed_in(cast.manager).get(reverse("dashboard_team", args=[cast.east.pk]))
    assert page.context["subscribe_url"] == (
        f"{reverse('subscription_new')}?what=team%3A{cast.east.pk}"
    )


def test_a_saved_report_can_be_chosen_by_those_who_may_open_it(cast, signed_in):
    from salesops.reports.services import create_report

    report = create_report(
        user=cast.manager, name="East deals", object_type="deal", definition={}, team=cast.east
    )
    data = form(cast, what=f"report:{report.pk}", recipients=[cast.manager.pk, cast.rep.pk])
    assert signed_in(cast.manager).post(reverse("subscription_new"), data).status_code == 302
    sub = Subscription.objects.get()
    assert (sub.what, sub.report, sub.team) == ("report", report, None)
    assert (
        "Report: East deals"
        in signed_in(cast.manager).get(reverse("subscription_list")).content.decode()
    )
    # The outsider is offered no such choice, and posting it is refused.
    outsider = signed_in(cast.outsider)
    assert f"report:{report.pk}" not in outsider.get(reverse("subscription_new")).content.decode()
    refused = outsider.post(
        reverse("subscription_new"),
        form(cast, what=f"report:{report.pk}", recipients=[cast.outsider.pk]),
    )
    assert refused.status_code == 400 and errors_of(refused, "what")
    assert Subscription.objects.count() == 1


# -- the e-mail in a browser -------------------------------------------------------------------

XSS = '<img src=x onerror="alert(1)"><svg onload="alert(2)">'


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # as the other browser tests
def test_the_e_mail_runs_no_script_from_data_in_a_browser(cast, week, new_page, screenshot):  # noqa: F811
    from salesops.subscriptions import content

    cast.rep.display_name = f"Rep {XSS}"
    cast.rep.save()
    sub = make(cast.manager, [cast.manager], what="rep", rep=cast.rep, name=f"Weekly {XSS}")
    html = content.dashboard_content(sub, cast.manager, MONDAY_8.date()).html
    page = new_page("en-US")
    dialogs, requests = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    page.set_content(html, wait_until="load")
    assert dialogs == []
    assert [u for u in requests if not u.startswith(("data:", "about:"))] == []
    assert "Weekly <img" in page.locator("p").first.inner_text()
    assert page.locator("tr[data-kpi=bookings]").count() == 1
    screenshot(page, "subscription-email")
