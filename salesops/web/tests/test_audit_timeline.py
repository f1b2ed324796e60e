"""Record pages show the audit log's edits in the timeline (values formatted for the
reader, hidden fields never shown, a page at a time at a constant query count); follow-ups
and tasks are edited inline on it; administrators read the whole log in Settings."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from salesops.activities import services as activities
from salesops.activities.models import FollowUp, Task
from salesops.audit.models import AuditEntry
from salesops.crm import services as crm
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization import admin_services as fields_admin
from salesops.lib.cache import forget_all
from salesops.org.models import Organisation
from salesops.users.models import Role


@pytest.fixture
def deal(cast):
    PipelineFactory(is_default=True)
    customer = crm.create_customer(by=cast.rep, name="Acme")
    return crm.create_deal(by=cast.rep, customer=customer, name="Big one", amount="10000")


def page(client, obj, key="deal", **params):
    response = client.get(reverse(f"{key}_detail", args=[obj.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def text(html):
    return re.sub(r"\s+", " ", html.replace("&#x27;", "'").replace("&quot;", '"'))


# -- edits in the timeline -----------------------------------------------------------------


def test_an_edit_shows_who_changed_what_from_what_to_what(cast, deal, signed_in):
    crm.update_record(obj=deal, by=cast.rep, data={"amount": "12000"})
    html = text(page(signed_in(cast.manager), deal))
    assert "rep changed Amount from ¥10,000.00 to ¥12,000.00." in html
    assert "rep created this record." in html


def test_dates_and_choices_are_shown_for_the_reader(cast, deal, signed_in):
    crm.update_record(
        obj=deal,
        by=cast.rep,
        data={"expected_close": dt.date(2030, 3, 5), "forecast_category": "commit"},
    )
    html = text(page(signed_in(cast.rep), deal))
    assert "rep set Expected close date to 03/05/2030." in html
    assert "rep changed Forecast category from Pipeline to Commit." in html


def test_custom_fields_show_with_their_label_and_option_labels(cast, deal, signed_in):
    fields_admin.create_custom_field(
        by=cast.admin,
        object_type="deal",
        key="tier",
        label="Customer tier",
        field_type="select",
        options=[{"value": "a", "label": "Tier A"}, {"value": "b", "label": "Tier B"}],
    )
    crm.update_record(obj=deal, by=cast.rep, data={}, custom={"tier": "a"})
    crm.update_record(obj=deal, by=cast.rep, data={}, custom={"tier": "b"})
    html = text(page(signed_in(cast.rep), deal))
    assert "rep changed Customer tier from Tier A to Tier B." in html


def test_a_field_the_readers_role_hides_is_never_shown(cast, deal, signed_in):
    Role.objects.filter(name="Team rep").update(hidden_fields={"deal": ["amount"]})
    crm.update_record(obj=deal, by=cast.rep, data={"amount": "12345"})
    html = text(page(signed_in(cast.teammate), deal))
    assert "rep changed a hidden field." in html
    assert "12,345" not in html
    assert "12,345" in text(page(signed_in(cast.manager), deal))


def test_a_record_outside_the_readers_scope_is_a_404_with_its_timeline(cast, deal, signed_in):
    client = signed_in(cast.outsider)
    assert client.get(reverse("deal_detail", args=[deal.pk])).status_code == 404
    assert client.get(reverse("deal_timeline", args=[deal.pk])).status_code == 404


def test_tasks_and_follow_ups_show_their_own_history(cast, deal, signed_in):
    task = activities.create_task(by=cast.rep, title="Call back", deal=deal)
    activities.complete_task(task=task, by=cast.rep)
    html = text(page(signed_in(cast.rep), task, key="task"))
    assert "rep marked it done." in html
    assert "rep created this record." in html


# -- paging and query count ---------------------------------------------------------------------


def _edits(cast, deal, n):
    for i in range(n):
        crm.update_record(obj=deal, by=cast.rep, data={"name": f"Name {i}"})


def _queries(client, deal):
    # Both measurements start with cold per-process caches (they expire after seconds,
    # and a loaded machine may take that long between the two).
    forget_all()
    with CaptureQueriesContext(connection) as captured:
        page(client, deal)
    return len(captured)


def test_the_record_page_costs_the_same_queries_whatever_the_number_of_edits(cast, deal, signed_in):
    client = signed_in(cast.rep)
    _edits(cast, deal, 2)
    few = _queries(client, deal)
    _edits(cast, deal, 40)
    assert _queries(client, deal) == few


def test_older_lines_come_a_page_at_a_time(cast, deal, signed_in):
    from salesops.web.views.timeline import PAGE

    _edits(cast, deal, PAGE + 5)
    client = signed_in(cast.rep)
    first = page(client, deal)
    assert first.count('class="t-audit') == PAGE
    cursor = re.search(r'\?before=([^"#]+)#timeline', first).group(1)
    older = client.get(reverse("deal_timeline", args=[deal.pk]) + f"?before={cursor}")
    html = older.content.decode()
    assert older.status_code == 200
    # The rest: 5 older edits, the creation and the first stage; no more "Older".
    assert html.count('class="t-audit') == 6
    assert "rep created this record." in text(html)
    assert "Name 0" in html and f"Name {PAGE + 4}" not in html
    assert "Older" not in html


def test_lines_at_the_same_moment_across_a_page_boundary_are_each_shown_once(cast, deal, signed_in):
    """An import or a bulk change writes many lines in one instant: paging through them
    shows every one exactly once (the cursor is moment, kind and id, not the moment)."""
    from salesops.web.views.timeline import PAGE

    _edits(cast, deal, PAGE + 5)
    same = timezone.now() - dt.timedelta(days=1)
    with connection.cursor() as cur:  # the log is append-only: move them in SQL
        cur.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET at = %s WHERE object_id = %s",  # noqa: S608
            [connection.ops.adapt_datetimefield_value(same), deal.pk],
        )
    assert AuditEntry.objects.of(deal).count() == PAGE + 6  # the edits and the creation
    client = signed_in(cast.rep)
    html = page(client, deal)
    pages, lines = 1, html.count('class="t-audit')
    url = reverse("deal_timeline", args=[deal.pk])
    while match := re.search(r'\?before=([^"#]+)#timeline', html):
        html = client.get(url + f"?before={match.group(1)}").content.decode()
        pages, lines = pages + 1, lines + html.count('class="t-audit')
    assert pages == 2
    assert lines == PAGE + 6  # each once: none skipped at the boundary, none repeated


def test_a_damaged_cursor_is_a_400(cast, deal, signed_in):
    client = signed_in(cast.rep)
    url = reverse("deal_timeline", args=[deal.pk])
    assert client.get(url, {"before": "yesterday"}).status_code == 400
    assert client.get(reverse("deal_detail", args=[deal.pk]), {"before": "x"}).status_code == 400


# -- inline edit of follow-ups and tasks -------------------------------------------------------------


@pytest.fixture
def followup(cast, deal):
    return activities.log_followup(
        by=cast.rep, kind="call", deal=deal, subject="First call", occurred_at=timezone.now()
    )


def _followup_post(followup, version, **changes):
    prefix = f"fu{followup.pk}-"
    local = timezone.localtime(followup.occurred_at, Organisation.get().tz).strftime(
        "%Y-%m-%dT%H:%M"
    )
    data = {
        "kind": followup.kind,
        "occurred_at": local,
        "subject": followup.subject,
        "outcome": "",
        "next_step": "",
        "duration_minutes": "",
        **changes,
    }
    return {"version": str(version), **{prefix + k: v for k, v in data.items()}}


def test_a_follow_up_is_edited_inline_and_the_edit_is_on_record(cast, followup, signed_in):
    client = signed_in(cast.rep)
    url = reverse("followup_inline", args=[followup.pk])
    form = client.get(url, HTTP_HX_REQUEST="true")
    assert form.status_code == 200
    assert 'name="version" value="1"' in form.content.decode()
    saved = client.post(url, _followup_post(followup, 1, subject="Second call"))
    assert saved.status_code == 200
    assert "Second call" in saved.content.decode()
    followup.refresh_from_db()
    assert (followup.subject, followup.version) == ("Second call", 2)
    entry = AuditEntry.objects.of(followup).first()
    assert entry.changes == {"subject": {"old": "First call", "new": "Second call"}}
    assert (entry.actor, entry.source) == (cast.rep, "web")


def test_a_stale_version_says_so_and_shows_the_fresh_values(cast, followup, signed_in):
    activities_update = __import__(
        "salesops.activities.update_services", fromlist=["update_followup"]
    )
    activities_update.update_followup(
        followup=followup, by=cast.manager, data={"subject": "Manager's words"}
    )
    client = signed_in(cast.rep)
    url = reverse("followup_inline", args=[followup.pk])
    response = client.post(url, _followup_post(followup, 1, subject="My words"))
    html = text(response.content.decode())
    assert response.status_code == 200
    assert "Someone else saved this record after you opened it." in html
    assert 'value="Manager\'s words"' in html
    assert 'name="version" value="2"' in html
    assert FollowUp.objects.get(pk=followup.pk).subject == "Manager's words"


def test_bad_input_comes_back_next_to_its_field_and_nothing_is_saved(cast, followup, signed_in):
    client = signed_in(cast.rep)
    url = reverse("followup_inline", args=[followup.pk])
    tz = Organisation.get().tz
    future = (timezone.localtime(timezone=tz) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, _followup_post(followup, 1, occurred_at=future, subject="X"))
    html = response.content.decode()
    assert 'class="form-field has-error"' in html
    assert "A follow-up cannot be in the future" in html
    followup.refresh_from_db()
    assert (followup.subject, followup.version) == ("First call", 1)
    assert AuditEntry.objects.of(followup).count() == 1


def test_someone_outside_the_scope_gets_404_and_a_viewer_without_the_right_403(
    cast, followup, signed_in
):
    url = reverse("followup_inline", args=[followup.pk])
    outsider = signed_in(cast.outsider)
    assert outsider.get(url).status_code == 404
    assert outsider.post(url, _followup_post(followup, 1, subject="Mine")).status_code == 404
    analyst = signed_in(cast.analyst)
    assert analyst.get(url).status_code == 403
    assert analyst.post(url, _followup_post(followup, 1, subject="Mine")).status_code == 403
    followup.refresh_from_db()
    assert followup.subject == "First call"


def test_a_task_is_edited_and_marked_done_inline(cast, deal, signed_in):
    task = activities.create_task(by=cast.rep, title="Send quote", deal=deal)
    client = signed_in(cast.rep)
    prefix = f"task{task.pk}-"
    response = client.post(
        reverse("task_inline", args=[task.pk]),
        {
            "version": "1",
            prefix + "title": "Send the quote",
            prefix + "priority": "high",
            prefix + "due_at": "",
            prefix + "description": "",
        },
    )
    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.title, task.priority) == ("Send the quote", "high")
    done = client.post(reverse("task_inline_done", args=[task.pk]))
    assert done.status_code == 200
    assert "Open again" in done.content.decode()
    assert Task.objects.get(pk=task.pk).done_at is not None
    outsider = signed_in(cast.outsider)
    assert outsider.post(reverse("task_inline_done", args=[task.pk])).status_code == 404


def test_the_record_page_offers_inline_edit_on_its_timeline(cast, followup, deal, signed_in):
    html = page(signed_in(cast.rep), deal)
    assert reverse("followup_inline", args=[followup.pk]) in html
    assert reverse("followup_inline", args=[followup.pk]) not in page(signed_in(cast.analyst), deal)


# -- the administrators' audit log ---------------------------------------------------------------------


def test_only_administrators_see_the_audit_log(cast, deal, signed_in):
    url = reverse("settings_audit")
    for user in (cast.rep, cast.manager, cast.analyst):
        assert signed_in(user).get(url).status_code == 404
    html = text(signed_in(cast.admin).get(url).content.decode())
    assert "rep created this record." in html
    assert reverse("deal_detail", args=[deal.pk]) in html


def test_the_audit_log_filters_by_kind_person_and_dates(cast, deal, signed_in):
    crm.update_record(obj=deal.customer, by=cast.manager, data={"phone": "+8613800000001"})
    client = signed_in(cast.admin)
    url = reverse("settings_audit")
    by_manager = text(client.get(url, {"actor": cast.manager.pk}).content.decode())
    assert "manager set Phone to +8613800000001." in by_manager
    assert "rep created this record." not in by_manager
    deals = text(client.get(url, {"object_type": "crm.deal"}).content.decode())
    assert "Big one" in deals and "+8613800000001" not in deals
    today = Organisation.get().local_date()
    later = client.get(url, {"start": str(today + dt.timedelta(days=1))}).content.decode()
    assert "No changes match these filters." in later
    until_today = text(client.get(url, {"start": str(today), "end": str(today)}).content.decode())
    assert "manager set Phone" in until_today
    bad = client.get(url, {"start": "2030-02-01", "end": "2030-01-01"}).content.decode()
    assert "The end date cannot be before the start date." in bad


def test_the_audit_log_pages_with_a_cursor(cast, deal, signed_in):
    from salesops.web.views.audit import PAGE

    _edits(cast, deal, PAGE + 3)
    client = signed_in(cast.admin)
    url = reverse("settings_audit")
    first = client.get(url, {"object_type": "crm.deal"}).content.decode()
    cursor = re.search(r"after=([^\"&]+)", first).group(1)
    second = client.get(url + f"?object_type=crm.deal&after={cursor}").content.decode()
    shown = first.count('class="audit-line"') + second.count('class="audit-line"')
    assert shown == AuditEntry.objects.filter(object_type="crm.deal").count()
    assert ">Older</a>" in first and ">Older</a>" not in second
    assert client.get(url, {"after": "nonsense"}).status_code == 400


def test_each_entry_says_whether_it_came_from_the_pages_or_the_api(cast, deal):
    from salesops.api.tests.conftest import ApiClient

    response = ApiClient(cast.rep).patch(
        f"/customers/{deal.customer_id}", {"phone": "+8613800000002"}
    )
    assert response.status_code == 200, response.content
    entry = AuditEntry.objects.of(deal.customer).first()
    assert (entry.action, entry.actor, entry.source) == ("updated", cast.rep, "api")
    assert entry.changes["phone"]["new"] == "+8613800000002"
