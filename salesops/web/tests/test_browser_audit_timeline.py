"""Inline edit on a record's timeline in a real browser (Debian's Chromium): a follow-up
edited in place with htmx, a stale edit told apart, a task marked done; the edit then
reads in the audit log."""

import re

import pytest
from playwright.sync_api import expect

from salesops.activities import services as activities
from salesops.activities import update_services
from salesops.activities.models import FollowUp, Task
from salesops.crm import services as crm
from salesops.crm.tests.factories import PipelineFactory
from salesops.users.models import User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-for-tests-0"


@pytest.fixture
def patient():
    """A loaded shared machine: the live server's first answers can take seconds."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def sign_in(page, url, username):
    page.set_default_timeout(30_000)
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def test_a_rep_edits_a_follow_up_and_ticks_a_task_on_the_timeline(
    cast, live_server, new_page, screenshot, patient
):
    User.objects.filter(pk__in=[cast.rep.pk, cast.admin.pk]).update(language="en")
    PipelineFactory(is_default=True)
    customer = crm.create_customer(by=cast.rep, name="Acme")
    deal = crm.create_deal(by=cast.rep, customer=customer, name="Big one", amount="10000")
    followup = activities.log_followup(by=cast.rep, kind="call", deal=deal, subject="First call")
    task = activities.create_task(by=cast.rep, title="Send the quote", deal=deal)
    crm.update_record(obj=deal, by=cast.rep, data={"amount": "12000"})

    page = new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server.url, "rep")
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("rep changed Amount from ¥10,000.00 to ¥12,000.00.")

    line = page.locator(f"#tl-followup-{followup.pk}")
    line.get_by_role("link", name="Edit").click()
    form = page.locator(f"#tl-followup-{followup.pk} form")
    form.get_by_label("Subject").fill("Second call")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(f"#tl-followup-{followup.pk}")).to_contain_text("Second call")
    expect(page.locator(f"#tl-followup-{followup.pk} form")).to_have_count(0)
    assert FollowUp.objects.get(pk=followup.pk).subject == "Second call"

    # Someone else saves while the form is open: the rep is told, with their values.
    page.locator(f"#tl-followup-{followup.pk}").get_by_role("link", name="Edit").click()
    # The form (with the version it was read at) must be on the page before the other
    # save, or it would already carry the newer version.
    expect(page.locator(f"#tl-followup-{followup.pk} form").get_by_label("Subject")).to_be_visible()
    update_services.update_followup(
        followup=FollowUp.objects.get(pk=followup.pk), by=cast.manager, data={"subject": "Third"}
    )
    form = page.locator(f"#tl-followup-{followup.pk} form")
    form.get_by_label("Subject").fill("Mine")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(f"#tl-followup-{followup.pk}")).to_contain_text(
        "Someone else saved this record"
    )
    expect(page.locator(f"#tl-followup-{followup.pk} form").get_by_label("Subject")).to_have_value(
        "Third"
    )
    screenshot(page, "timeline-inline-conflict")

    page.locator(f"#tl-task-{task.pk}").get_by_role("button", name="Mark done").click()
    expect(page.locator(f"#tl-task-{task.pk}")).to_contain_text("done")
    expect(page.locator(f"#tl-task-{task.pk}").get_by_role("button")).to_have_text("Open again")
    assert Task.objects.get(pk=task.pk).done_at is not None
    assert errors == []

    admin = new_page()
    sign_in(admin, live_server.url, "admin")
    admin.goto(f"{live_server.url}/settings/audit/?object_type=activities.followup")
    expect(admin.locator("main")).to_contain_text(
        "rep changed Subject from First call to Second call."
    )
    expect(admin.locator("main")).to_contain_text(
        "manager changed Subject from Second call to Third."
    )
    screenshot(admin, "audit-log")
