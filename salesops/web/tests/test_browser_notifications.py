"""In Chromium: a task reminder sent by the worker's round shows in the bell; the list
opens the task and the bell empties; the bell stays visible at phone width."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from salesops.activities.tests.factories import TaskFactory
from salesops.automation.tasks import notices_round
from salesops.notifications.models import Notification
from salesops.users.models import User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_task_reminder_arrives_in_the_bell_and_opens_the_task(
    cast, live_server, new_page, screenshot, sign_in
):
    User.objects.filter(pk=cast.rep.pk).update(language="en")
    task = TaskFactory(
        owner=cast.rep, title="Call Acme back", remind_at=timezone.now() - dt.timedelta(minutes=1)
    )
    page = new_page(locale="en-GB")
    sign_in(page, live_server.url, "rep")
    expect(page.locator("#bell-count")).to_have_count(0)

    notices_round()  # what every worker does each housekeeping round

    page.reload()
    expect(page.locator("#bell-count")).to_have_text("1")
    page.locator("#bell").click()
    expect(page).to_have_url(f"{live_server.url}/notifications/")
    notice = page.locator("#notices li.notice.unread")
    expect(notice).to_contain_text("Reminder: task “Call Acme back”")
    screenshot(page, "notifications-list")
    notice.get_by_role("link", name="Reminder: task “Call Acme back”").click()
    expect(page).to_have_url(f"{live_server.url}/tasks/{task.pk}/")
    expect(page.locator("#bell-count")).to_have_count(0)
    assert Notification.objects.get().read_at is not None

    page.set_viewport_size({"width": 390, "height": 800})
    notices_round()  # nothing new: the reminder went out once
    page.goto(f"{live_server.url}/notifications/")
    expect(page.locator("#bell")).to_be_visible()
    expect(page.locator("#notices li.notice")).to_have_count(1)
    screenshot(page, "notifications-phone")
