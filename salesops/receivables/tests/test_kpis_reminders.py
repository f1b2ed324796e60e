"""The collections KPIs by hand, and the reminders sent once."""

import datetime as dt

import pytest

from salesops.analytics.engine import Filters, KpiContext, compute
from salesops.analytics.periods import Period, parse_period
from salesops.notifications.models import Notification
from salesops.receivables import reminders
from salesops.receivables.models import CollectionSettings
from salesops.receivables.tests.crafted import TODAY, D, build


@pytest.fixture
def data(cast):
    return build(cast)


def kpis(viewer, period, today=TODAY, **filters):
    ctx = KpiContext(viewer=viewer, period=period, today=today, filters=Filters(**filters))
    return compute(ctx, ["overdue_receivables", "dso"])


def test_overdue_receivables_today(data):
    values, errors = kpis(data.cast.admin, parse_period("2026-12"))
    # As of 12-07: due before 12-07 and owed: A2 1,500; B1 10,800; B2 7,200; B3 7,200;
    # B4 3,600; G1 2,000 = 32,300.
    assert values["overdue_receivables"] == "32300.00"
    assert errors == {}


def test_overdue_receivables_at_a_past_period_end(data):
    # November: as of 11-30, rate 7.2. Owed then: A2 (3,000 − 1,000 linked = 2,000, and
    # the 3,500 unlinked of 11-20 filled A1 3,000 first, 500 to A2 → 1,500);
    # B1 1,500×7.2 = 10,800; B2 7,200; B3 7,200; G1 2,000 (due 11-01). B4/B5 not yet due.
    values, _ = kpis(data.cast.admin, parse_period("2026-11"))
    assert values["overdue_receivables"] == "28700.00"


def test_dso_by_hand(data):
    # November 2026, as of 11-30: receivables (due ≤ 11-30, owed) = 28,700 (as above);
    # billed in November: A2 3,000 + G1 2,000 = 5,000; days 30 → 28,700 ÷ 5,000 × 30 = 172.2
    values, _ = kpis(data.cast.admin, parse_period("2026-11"))
    assert values["dso"] == pytest.approx(172.2)


def test_dso_undefined_without_billing(data):
    values, _ = kpis(data.cast.admin, Period(D(2027, 3, 1), D(2027, 4, 1)), today=D(2027, 3, 31))
    assert values["dso"] is None


def test_kpis_row_permissions(data):
    values, _ = kpis(data.cast.outsider, parse_period("2026-12"))
    assert values["overdue_receivables"] == "2000.00"
    values, _ = kpis(data.cast.admin, parse_period("2026-12"), owner=data.cast.outsider)
    assert values["overdue_receivables"] == "2000.00"


def test_kpis_withheld_when_amount_hidden(data):
    role = data.cast.rep.role
    role.hidden_fields = {"payment_plan": ["amount"]}
    role.save()
    data.cast.rep.forget_permissions()
    values, errors = kpis(data.cast.rep, parse_period("2026-12"))
    assert values["overdue_receivables"] is None
    assert "overdue_receivables" in errors


def test_reminders_once_per_instalment_and_threshold(data):
    c = data.cast
    CollectionSettings.objects.create(manager_after_days=60)
    sent = reminders.send_overdue_reminders(today=TODAY)
    rep = Notification.objects.filter(recipient=c.rep, kind=reminders.OVERDUE)
    # The rep's overdue instalments and the latest threshold each reached, sent when it
    # was crossed in the last 7 days: B1 (91 → 91, today) and B4 (1 → 1, today); not A2
    # (27 → 1, crossed 26 days ago), B2 (60 → 31, 29 days ago), B3 (90 → 61, 29 ago).
    assert set(rep.values_list("key", flat=True)) == {
        f"receivable:{data.plans['B1'].pk}:owner:91",
        f"receivable:{data.plans['B4'].pk}:owner:1",
    }
    # The manager: those 60 days overdue crossed in the last 7 days: B2 (60, today).
    mgr = Notification.objects.filter(recipient=c.manager, kind=reminders.OVERDUE_MANAGER)
    assert {n.object_id for n in mgr} == {data.plans["B2"].pk}
    # The outsider's G1 (36 → 31, 5 days ago); the outsider reports to nobody and West
    # has no manager.
    assert Notification.objects.filter(recipient=c.outsider).count() == 1
    assert sent == 4
    # Again (a restart, a second worker): nothing new.
    assert reminders.send_overdue_reminders(today=TODAY) == 0
    # A day later: B2 61 days (threshold 61), B3 91 (threshold 91), B5 1 (threshold 1):
    # three new owner notices; the manager's B2 was sent already.
    assert reminders.send_overdue_reminders(today=TODAY + dt.timedelta(days=1)) == 3
    # A worker down for three days catches up on 12-11: A2 reached 31 days that day.
    assert reminders.send_overdue_reminders(today=TODAY + dt.timedelta(days=4)) == 1


def test_catch_up_window():
    assert reminders.recent(31, 31) and reminders.recent(37, 31)
    assert not reminders.recent(38, 31) and not reminders.recent(30, 31)


def test_reminder_text_hides_the_amount_from_a_role_that_hides_it(data):
    from salesops.notifications import kinds

    reminders.send_overdue_reminders(today=TODAY)
    n = Notification.objects.filter(recipient=data.cast.rep, object_id=data.plans["B1"].pk).get()
    notice = kinds.Notice(n.params, "C-B #1", data.cast.rep)
    _title, body = kinds.get(reminders.OVERDUE).messages(notice)
    assert "Still owed: 1,500.00 USD" in body
    role = data.cast.rep.role
    role.hidden_fields = {"payment": ["amount"]}
    role.save()
    data.cast.rep.forget_permissions()
    from salesops.customization.policy import forget

    forget(data.cast.rep)
    _title, body = kinds.get(reminders.OVERDUE).messages(notice)
    assert "1,500" not in body and "91 days overdue" in body


def test_settings_service(data):
    from django.core.exceptions import PermissionDenied, ValidationError

    from salesops.audit.models import AuditEntry
    from salesops.receivables.services import update_settings

    with pytest.raises(PermissionDenied):
        update_settings(by=data.cast.rep, manager_after_days=10)
    with pytest.raises(ValidationError):
        update_settings(by=data.cast.admin, manager_after_days="abc")
    row = update_settings(by=data.cast.admin, manager_after_days=10)
    assert CollectionSettings.get().manager_after_days == 10 == row.manager_after_days
    assert AuditEntry.objects.count() >= 1


def test_the_daily_job_is_scheduled_and_does_both(data):
    from unittest import mock

    from salesops.automation import schedule
    from salesops.receivables.models import ForecastSnapshot
    from salesops.receivables.tasks import collections_daily

    job = next(j for j in schedule.all_jobs() if j.name == "receivables.daily")
    assert job.task is collections_daily
    moment = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        # B1, B4, G1 for their owners; the manager (default 30 days) none: B2 crossed
        # 30 days on 11-07, B1 and B3 earlier still.
        assert collections_daily.call() == 3
        assert ForecastSnapshot.objects.filter(made_on=D(2026, 12, 7)).exists()
        assert collections_daily.call() == 0
