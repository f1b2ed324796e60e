"""The notification centre's pages: the bell, the list, opening and marking read, and
the preferences. Each person sees only their own notices, and a notice about a record
they may no longer see neither names nor links it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesops.activities import reminders
from salesops.activities.tests.factories import TaskFactory
from salesops.crm import services
from salesops.crm.tests.factories import CustomerFactory, DealFactory
from salesops.notifications import services as notifications
from salesops.notifications.models import Notification, Preference

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(cast):
    for u in (cast.rep, cast.outsider, cast.manager):
        u.language = "en"
        u.save()
    return cast


def signed_in(client, user):
    client.force_login(user)
    return client


def handed(cast, to, name="Acme Ltd"):
    customer = CustomerFactory(owner=cast.rep_east1 if to != cast.outsider else None, name=name)
    services.assign_customer(customer=customer, to=to, by=cast.admin)
    return customer


def test_the_bell_counts_my_unread_notices_on_every_page(client, en):
    handed(en, en.rep, "One")
    handed(en, en.rep, "Two")
    handed(en, en.outsider, "Theirs")
    signed_in(client, en.rep)
    for path in ("/", "/customers/", "/notifications/"):
        html = client.get(path).content.decode()
        assert 'id="bell-count">2<' in html, path
    Notification.objects.filter(recipient=en.rep).update(read_at=timezone.now())
    assert 'id="bell-count"' not in client.get("/").content.decode()


def test_the_bell_costs_one_count_query(client, en):
    handed(en, en.rep)
    signed_in(client, en.rep)
    client.get("/notifications/settings/")
    with CaptureQueriesContext(connection) as captured:
        client.get("/notifications/settings/")
    counts = [
        q["sql"] for q in captured.captured_queries if "notifications_notification" in q["sql"]
    ]
    assert len(counts) == 1 and "COUNT" in counts[0].upper()


def test_the_list_shows_my_notices_only_newest_first_with_links(client, en):
    first = handed(en, en.rep, "First Co")
    second = handed(en, en.rep, "Second Co")
    handed(en, en.outsider, "Not yours Co")
    html = signed_in(client, en.rep).get("/notifications/").content.decode()
    assert html.index("Second Co") < html.index("First Co")
    assert "Not yours Co" not in html
    notes = Notification.objects.filter(recipient=en.rep).order_by("created_at")
    assert f'href="/notifications/{notes[0].pk}/"' in html
    response = client.get(f"/notifications/{notes[1].pk}/")
    assert response.status_code == 302 and response["Location"] == f"/customers/{second.pk}/"
    assert Notification.objects.get(pk=notes[1].pk).read_at is not None
    assert first.pk


def test_anothers_notice_is_a_404_for_open_and_mark_read(client, en):
    handed(en, en.outsider, "Theirs")
    theirs = Notification.objects.get(recipient=en.outsider)
    signed_in(client, en.rep)
    assert client.get(f"/notifications/{theirs.pk}/").status_code == 404
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    client.post("/notifications/read-all/")
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert "Theirs" not in client.get(f"/notifications/?before={theirs.pk}").content.decode()


def test_mark_one_and_mark_all_read(client, en):
    handed(en, en.rep, "One")
    handed(en, en.rep, "Two")
    one, _two = Notification.objects.filter(recipient=en.rep).order_by("id")
    signed_in(client, en.rep)
    response = client.post(f"/notifications/{one.pk}/read/", {"next": "/notifications/"})
    assert response.status_code == 302
    assert notifications.unread_count(en.rep) == 1
    response = client.post("/notifications/read-all/", {"next": "https://evil.example/"})
    assert response["Location"] == "/notifications/"
    assert notifications.unread_count(en.rep) == 0
    assert client.get("/notifications/read-all/").status_code == 405


def test_a_record_i_can_no_longer_see_is_neither_named_nor_linked(client, en):
    deal = DealFactory(owner=en.rep, name="Secret merger")
    notifications.notify(en.rep, "assigned", deal, key="k", by="Boss")
    deal.owner = en.outsider
    deal.save()
    note = Notification.objects.get()
    signed_in(client, en.rep)
    html = client.get("/notifications/").content.decode()
    assert "Secret merger" not in html
    assert f"/deals/{deal.pk}/" not in html
    assert f'href="/notifications/{note.pk}/"' not in html  # no link to open
    assert "Boss handed you a record you can no longer open." in html
    response = client.get(f"/notifications/{note.pk}/", follow=True)
    assert response.redirect_chain[-1][0] == "/notifications/"
    assert "Secret merger" not in response.content.decode()


def test_a_deleted_record_is_no_longer_linked(client, en):
    task = TaskFactory(
        owner=en.rep, title="Gone task", remind_at=timezone.now() - dt.timedelta(minutes=1)
    )
    reminders.send_due_reminders()
    task.soft_delete()
    html = signed_in(client, en.rep).get("/notifications/").content.decode()
    assert "Gone task" not in html and f"/tasks/{task.pk}/" not in html


def test_the_list_pages_thirty_at_a_time(client, en):
    deal = DealFactory(owner=en.rep)
    for i in range(35):
        notifications.notify(en.rep, "assigned", deal, key=f"k{i}", by=f"Sender{i:02d}")
    signed_in(client, en.rep)
    html = client.get("/notifications/").content.decode()
    assert "Sender34" in html and "Sender05" in html and "Sender04" not in html
    older = client.get(f"/notifications/?before={Notification.objects.get(key='k5').pk}")
    page2 = older.content.decode()
    assert "Sender04" in page2 and "Sender00" in page2 and "Sender05" not in page2


def test_preferences_are_saved_from_the_settings_page(client, en):
    signed_in(client, en.rep)
    html = client.get("/notifications/settings/").content.decode()
    assert "Task reminders" in html and "Daily digest e-mail" in html
    form = {
        "in_app:task_reminder": "on",
        "email:task_reminder": "digest",
        "email:assigned": "immediate",
    }
    response = client.post("/notifications/settings/", form)
    assert response.status_code == 302
    prefs = {p.kind: (p.in_app, p.email) for p in Preference.objects.filter(user=en.rep)}
    assert prefs["task_reminder"] == (True, "digest")
    assert prefs["assigned"] == (False, "immediate")


def test_a_bad_preference_is_refused_with_a_message_and_nothing_saved(client, en):
    signed_in(client, en.rep)
    response = client.post("/notifications/settings/", {"email:task_reminder": "hourly"})
    assert response.status_code == 400
    assert "Choose how “Task reminders” is e-mailed" in response.content.decode()
    assert not Preference.objects.exists()


def test_pages_need_a_sign_in(client, db):
    for path in ("/notifications/", "/notifications/settings/", "/notifications/1/"):
        response = client.get(path)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_centre_reads_in_zh_hans(client, cast, settings):
    catalogue = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES" / "django.mo"
    if not catalogue.exists():
        pytest.skip("the zh-Hans catalogue is not compiled (make compiles it)")
    from salesops.crm import pool
    from salesops.crm.models import PoolRule

    PoolRule.objects.create(name="Org", reclaim_after_days_without_followup=30)
    CustomerFactory(
        owner=cast.rep, name="甲公司", owned_since=timezone.now() - dt.timedelta(days=60)
    )
    pool.reclaim_customers(now=timezone.now())
    assert cast.rep.language == "zh-hans"
    html = signed_in(client, cast.rep).get("/notifications/").content.decode()
    assert "客户“甲公司”" in html or "甲公司" in html
    assert "公海" in html
    assert "no follow-up" not in html
