"""Due subscriptions are mailed over real SMTP, once per slot, as each recipient."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from salesops.subscriptions import sending
from salesops.subscriptions.models import Subscription, SubscriptionRun
from salesops.subscriptions.services import create_subscription
from salesops.subscriptions.tests.data import DEALS, MONDAY_8, WEEK_START, bookings

pytestmark = pytest.mark.django_db

LAST_WEEK = (WEEK_START, WEEK_START + dt.timedelta(days=7))
WEEK_BEFORE = (WEEK_START - dt.timedelta(days=7), WEEK_START)
HOUR = dt.timedelta(hours=1)


def subscribe(owner, recipients, *, since=MONDAY_8 - dt.timedelta(days=7), **values):
    values = {
        "name": "Weekly numbers",
        "what": "org",
        "period": "last_week",
        "cadence": "weekly",
        "weekday": 0,
        "hour": 8,
        **values,
    }
    sub = create_subscription(user=owner, recipients=recipients, **values)
    Subscription.objects.filter(pk=sub.pk).update(schedule_from=since)
    sub.refresh_from_db()
    return sub


def money(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def kpi_row(rows, label):
    return next(r for r in rows if r[0] == label)


def test_a_team_dashboard_is_mailed_with_the_teams_numbers(cast, week, smtp):
    subscribe(cast.manager, [cast.manager], what="team", team=cast.east, name="East weekly")
    assert sending.send_due(now=MONDAY_8 + dt.timedelta(minutes=5)) == 1

    [mail] = smtp.received
    assert mail.to == [cast.manager.email]
    assert mail.subject.startswith("East weekly: Team East")
    east = bookings(cast, {"rep", "rep_east1"}, *LAST_WEEK)
    before = bookings(cast, {"rep", "rep_east1"}, *WEEK_BEFORE)
    html = mail.part("text/html")
    assert money(east) in html and money(before) in html
    assert money(east) in mail.part("text/plain")
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "http://127.0.0.1:8000/dashboards/team/" in html  # the link back to the page
    rows = mail.workbook_rows()
    assert rows[0][:2] == ("KPI", "Value")
    bookings_row = kpi_row(rows, "Bookings")
    assert Decimal(str(bookings_row[1])) == east
    assert Decimal(str(bookings_row[2])) == before
    assert kpi_row(rows, "Won deals")[1] == 3
    run = SubscriptionRun.objects.get()
    assert run.status == "sent" and run.delivered == [cast.manager.pk]
    sub = Subscription.objects.get()
    assert sub.last_sent_at is not None and sub.last_error == ""


def test_each_recipient_gets_only_what_they_may_see(cast, week, smtp):
    """One org dashboard, three people: each one's numbers are computed as them."""
    subscribe(cast.admin, [cast.admin, cast.rep, cast.outsider])
    sending.send_due(now=MONDAY_8)

    assert len(smtp.received) == 3
    everyone = {"rep", "rep_east1", "outsider"}
    for user, owners in (
        (cast.admin, everyone),
        (cast.rep, {"rep"}),
        (cast.outsider, {"outsider"}),
    ):
        [mail] = smtp.to(user.email)
        assert mail.to == [user.email]
        expected = bookings(cast, owners, *LAST_WEEK)
        assert Decimal(str(kpi_row(mail.workbook_rows(), "Bookings")[1])) == expected
        assert money(expected) in mail.part("text/html")
    assert money(Decimal(5000)) not in smtp.to(cast.rep.email)[0].part("text/html")
    assert money(Decimal(1250)) not in smtp.to(cast.outsider.email)[0].part("text/html")


def test_each_recipient_reads_it_in_their_language(cast, week, smtp):
    cast.rep.language = "zh-hans"
    cast.rep.save()
    subscribe(cast.manager, [cast.manager, cast.rep], what="rep", rep=cast.rep, name="Rep")
    sending.send_due(now=MONDAY_8)

    [english] = smtp.to(cast.manager.email)
    [chinese] = smtp.to(cast.rep.email)
    with translation.override("zh-hans"):
        bookings_zh = str(translation.gettext("Bookings"))
        previous_zh = str(translation.gettext("Previous period"))
    assert bookings_zh != "Bookings"
    assert "Bookings" in english.part("text/html")
    assert bookings_zh in chinese.part("text/html") and previous_zh in chinese.part("text/html")
    assert kpi_row(chinese.workbook_rows(), bookings_zh)
    assert english.subject != chinese.subject
    assert chinese.subject.startswith("Rep")


def test_a_slot_is_sent_once_however_many_ticks_see_it(cast, week, smtp):
    subscribe(cast.manager, [cast.manager])
    assert sending.send_due(now=MONDAY_8) == 1
    assert sending.send_due(now=MONDAY_8) == 0
    assert sending.send_due(now=MONDAY_8 + HOUR) == 0
    assert sending.send_due(now=MONDAY_8 + 6 * 24 * HOUR) == 0
    assert len(smtp.received) == 1
    # The next Monday is the next slot.
    assert sending.send_due(now=MONDAY_8 + 7 * 24 * HOUR) == 1
    assert len(smtp.received) == 2
    assert SubscriptionRun.objects.count() == 2


def test_two_workers_racing_for_a_slot_send_it_once(cast, week, smtp):
    """Both read the subscription as due; the unique (subscription, slot) insert lets
    one through, and a run claimed by one worker cannot be claimed by the other."""
    subscribe(cast.manager, [cast.manager])
    first = sending.create_due_runs(now=MONDAY_8)
    second = sending.create_due_runs(now=MONDAY_8)
    assert len(first) == 1 and second == []
    [run] = first
    stale_copy = SubscriptionRun.objects.get(pk=run.pk)
    assert sending.claim(run, now=MONDAY_8)
    assert not sending.claim(stale_copy, now=MONDAY_8)
    sending.deliver(run, now=MONDAY_8)
    assert sending.send_due(now=MONDAY_8) == 0
    assert len(smtp.received) == 1


def test_a_worker_that_was_down_sends_the_latest_missed_slot_once(cast, week, smtp):
    subscribe(cast.manager, [cast.manager], since=MONDAY_8 - dt.timedelta(days=40))
    back = MONDAY_8 + dt.timedelta(days=2)  # Wednesday: three Mondays were missed
    assert sending.send_due(now=back) == 1
    assert sending.send_due(now=back + HOUR) == 0
    assert list(SubscriptionRun.objects.values_list("slot", flat=True)) == [MONDAY_8]
    assert len(smtp.received) == 1


def test_no_slot_before_the_subscription_existed_is_sent(cast, week, smtp):
    subscribe(cast.manager, [cast.manager], since=MONDAY_8 + HOUR)
    assert sending.send_due(now=MONDAY_8 + 2 * HOUR) == 0
    assert smtp.received == []


def test_a_paused_subscription_is_not_sent(cast, week, smtp):
    sub = subscribe(cast.manager, [cast.manager])
    Subscription.objects.filter(pk=sub.pk).update(is_active=False)
    assert sending.send_due(now=MONDAY_8) == 0
    assert smtp.received == [] and not SubscriptionRun.objects.exists()


def test_monthly_on_day_31_goes_out_on_the_last_day(cast, week, smtp):
    subscribe(
        cast.manager,
        [cast.manager],
        cadence="monthly",
        day_of_month=31,
        period="last_month",
        since=MONDAY_8 - dt.timedelta(days=60),
    )
    feb_27 = dt.datetime(2026, 2, 27, 9, tzinfo=MONDAY_8.tzinfo)
    feb_28 = dt.datetime(2026, 2, 28, 8, tzinfo=MONDAY_8.tzinfo)
    assert sending.send_due(now=feb_27) == 1  # catching up January's last day
    assert sending.send_due(now=feb_28 - HOUR) == 0
    assert sending.send_due(now=feb_28) == 1
    assert [r.slot for r in SubscriptionRun.objects.order_by("slot")] == [
        dt.datetime(2026, 1, 31, 8, tzinfo=MONDAY_8.tzinfo),
        feb_28,
    ]


def test_smtp_down_is_retried_then_recorded_and_never_doubled(cast, week, smtp_down, settings):
    settings.SUBSCRIPTION_SEND_ATTEMPTS = 3
    settings.SUBSCRIPTION_RETRY_MINUTES = 10
    sub = subscribe(cast.manager, [cast.manager])
    assert sending.send_due(now=MONDAY_8) == 0
    run = SubscriptionRun.objects.get()
    assert run.status == "retry" and run.attempts == 1
    assert "attempt 1 of 3" in run.error
    sub.refresh_from_db()
    assert "attempt 1 of 3" in sub.last_error
    # A retry is enqueued for when it is due, not left to the next hourly tick.
    assert DBTaskResult.objects.filter(
        task_path="salesops.subscriptions.tasks.send_subscriptions"
    ).exists()
    # Not before its time...
    sending.send_due(now=MONDAY_8 + dt.timedelta(minutes=5))
    assert SubscriptionRun.objects.get().attempts == 1
    # ...then twice more, and then it is given up and shown.
    sending.send_due(now=MONDAY_8 + dt.timedelta(minutes=10))
    sending.send_due(now=MONDAY_8 + dt.timedelta(minutes=40))
    run.refresh_from_db()
    sub.refresh_from_db()
    assert run.status == "failed" and run.attempts == 3
    assert "attempt 3 of 3" in sub.last_error
    sending.send_due(now=MONDAY_8 + dt.timedelta(hours=5))
    assert SubscriptionRun.objects.get().attempts == 3


def test_a_retry_mails_only_those_who_did_not_get_it(cast, week, smtp):
    subscribe(cast.admin, [cast.admin, cast.manager])
    smtp.handler.refuse = {cast.manager.email}
    sending.send_due(now=MONDAY_8)
    run = SubscriptionRun.objects.get()
    assert run.status == "retry" and run.delivered == [cast.admin.pk]
    assert cast.manager.email in run.error

    smtp.handler.refuse = set()
    sending.send_due(now=MONDAY_8 + dt.timedelta(minutes=10))
    run.refresh_from_db()
    assert run.status == "sent" and run.error == ""
    assert len(smtp.to(cast.admin.email)) == 1
    assert len(smtp.to(cast.manager.email)) == 1
    assert Subscription.objects.get().last_error == ""


def test_a_recipient_who_lost_access_gets_nothing(cast, week, smtp):
    subscribe(cast.manager, [cast.manager, cast.rep], what="team", team=cast.east)
    cast.rep.team = cast.west  # moved: their own scope no longer holds anyone in East
    cast.rep.save()
    sending.send_due(now=MONDAY_8)
    assert smtp.to(cast.rep.email) == []
    assert len(smtp.to(cast.manager.email)) == 1
    run = SubscriptionRun.objects.get()
    assert run.status == "sent" and run.skipped == [cast.rep.pk]
    assert "may not see the dashboard" in Subscription.objects.get().last_error


def test_the_worker_ticks_on_the_hour():
    from salesops.automation.schedule import all_jobs

    ticks = [j for j in all_jobs() if j.name.startswith("subscriptions.send.")]
    assert sorted(j.at.hour for j in ticks) == list(range(24))
    assert {j.task.module_path for j in ticks} == {
        "salesops.subscriptions.tasks.send_subscriptions"
    }


def test_the_schedule_enqueues_the_hours_tick_once(cast):
    from salesops.automation.schedule import all_jobs, enqueue_due_jobs

    ticks = [j for j in all_jobs() if j.name.startswith("subscriptions.send.")]
    assert "subscriptions.send.08" in enqueue_due_jobs(now=MONDAY_8, schedule=ticks)
    assert enqueue_due_jobs(now=MONDAY_8 + dt.timedelta(minutes=10), schedule=ticks) == []
    assert enqueue_due_jobs(now=MONDAY_8 + HOUR, schedule=ticks) == ["subscriptions.send.09"]


def test_the_task_sends_what_is_due(cast, week, smtp):
    from salesops.subscriptions.tasks import send_subscriptions

    subscribe(cast.manager, [cast.manager], since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert send_subscriptions.call() == 1
    assert len(smtp.received) == 1


# -- saved reports ---------------------------------------------------------------------------


def owner_totals(rows):
    """{owner label: amount} of the report's rows (the total row left out)."""
    return {r[0]: Decimal(str(r[-1])) for r in rows[1:] if r[0] in {"rep", "rep_east1", "outsider"}}


def test_a_saved_report_is_mailed_as_each_recipient_sees_it(cast, week, smtp):
    from salesops.reports.services import create_report

    report = create_report(
        user=cast.manager,
        name="Amount by owner",
        object_type="deal",
        definition={
            "group_by": [{"field": "owner"}],
            "measures": [{"agg": "sum", "field": "amount"}],
        },
        team=cast.east,
    )
    subscribe(cast.manager, [cast.manager, cast.rep], what="report", report=report, name="Owners")
    assert sending.send_due(now=MONDAY_8) == 1

    def total(who):
        return sum((Decimal(a) for w, a, _s, _d in DEALS if w == who), Decimal(0))

    [manager_mail] = smtp.to(cast.manager.email)
    [rep_mail] = smtp.to(cast.rep.email)
    assert manager_mail.subject.startswith("Owners: Amount by owner")
    assert owner_totals(manager_mail.workbook_rows()) == {
        "rep": total("rep"),
        "rep_east1": total("rep_east1"),
    }
    assert owner_totals(rep_mail.workbook_rows()) == {"rep": total("rep")}
    html = rep_mail.part("text/html")
    assert "Amount by owner" in html and "rep_east1" not in html
    assert "rep_east1" not in rep_mail.part("text/plain")


def test_a_recipient_without_the_export_right_gets_the_report_without_its_workbook(
    cast, week, smtp
):
    from salesops.reports.services import create_report

    report = create_report(
        user=cast.manager,
        name="Amount by owner",
        object_type="deal",
        definition={
            "group_by": [{"field": "owner"}],
            "measures": [{"agg": "sum", "field": "amount"}],
        },
        team=cast.east,
    )
    role = cast.rep.role
    role.rights = {**role.rights, "deal": [r for r in role.rights.get("deal", []) if r != "export"]}
    role.save()
    subscribe(cast.manager, [cast.manager, cast.rep], what="report", report=report, name="Owners")
    assert sending.send_due(now=MONDAY_8) == 1
    [manager_mail] = smtp.to(cast.manager.email)
    [rep_mail] = smtp.to(cast.rep.email)
    assert manager_mail.workbook_rows()  # the manager may export
    assert "Amount by owner" in rep_mail.part("text/html")
    assert not [p for p in rep_mail.message.walk() if p.get_filename()]


def test_names_in_the_e_mail_are_text_not_markup(cast, week, smtp):
    subscribe(cast.manager, [cast.manager], name='<svg onload="alert(1)">')
    sending.send_due(now=MONDAY_8)
    [mail] = smtp.received
    html = mail.part("text/html")
    assert "<svg" not in html and "&lt;svg onload=" in html
    assert mail.subject.startswith('<svg onload="alert(1)">')  # a subject is plain text


def test_the_mail_holds_the_tiles_of_the_dashboard_layout_in_its_order(cast, week, smtp):
    from salesops.analytics.admin_services import save_dashboard_layout

    save_dashboard_layout(by=cast.admin, tiles=["won_deals", "bookings"], charts=[])
    subscribe(cast.manager, [cast.manager])
    assert sending.send_due(now=MONDAY_8 + dt.timedelta(minutes=5)) == 1

    [mail] = smtp.received
    rows = mail.workbook_rows()
    assert [r[0] for r in rows[1:]] == ["Won deals", "Bookings"]
    assert "Win rate" not in mail.part("text/html")


def test_a_recipient_whose_role_hides_the_amount_gets_no_amount_figure(cast, week, smtp):
    from salesops.customization import policy

    role = cast.manager.role
    role.hidden_fields = {"deal": ["amount"]}
    role.save()
    policy.forget(cast.manager)
    subscribe(cast.manager, [cast.manager], what="team", team=cast.east, name="East weekly")
    assert sending.send_due(now=MONDAY_8 + dt.timedelta(minutes=5)) == 1

    [mail] = smtp.received
    east = bookings(cast, {"rep", "rep_east1"}, *LAST_WEEK)
    html, text = mail.part("text/html"), mail.part("text/plain")
    for part in (html, text):
        assert money(east) not in part
        assert "hidden for your role" in part
    rows = mail.workbook_rows()
    assert kpi_row(rows, "Bookings")[1:] == (None, None, None, None)
    assert kpi_row(rows, "Won deals")[1] == 3
