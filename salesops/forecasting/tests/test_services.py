"""Submissions, overrides, deadlines, permissions, the owner's forecast category and the
reminders."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from salesops.audit.models import AuditEntry
from salesops.crm import services as crm
from salesops.crm.models import Deal
from salesops.forecasting import reminders
from salesops.forecasting import services as svc
from salesops.forecasting.models import CategoryChange, Submission
from salesops.forecasting.queries import current, forecast_period, subordinate_ids
from salesops.lib.services import NotVisible
from salesops.notifications.models import Notification

from .conftest import make_deal


def submit(user, fp, commit, best, note=""):
    return svc.submit_forecast(by=user, period=fp, commit=commit, best_case=best, note=note)


@pytest.mark.django_db
def test_each_submit_is_a_new_row_and_the_latest_is_current(cast, q3):
    first = submit(cast.rep, q3, "1000", "2000", "first call")
    second = submit(cast.rep, q3, "1500", "2500")
    assert Submission.objects.count() == 2
    first.refresh_from_db()
    assert (first.commit, first.best_case, first.note) == (
        Decimal(1000),
        Decimal(2000),
        "first call",
    )
    now = current(q3, [cast.rep.pk])[cast.rep.pk]
    assert now.own == second and now.effective == second and now.override is None
    assert now.numbers.commit == Decimal(1500)
    entries = AuditEntry.objects.filter(object_type="forecasting.submission")
    assert entries.count() == 2


@pytest.mark.django_db
def test_bad_numbers_are_refused_with_nothing_written(cast, q3):
    with pytest.raises(ValidationError) as e:
        submit(cast.rep, q3, "abc", "2000")
    assert "number" in str(e.value)
    with pytest.raises(ValidationError) as e:
        submit(cast.rep, q3, "3000", "2000")
    assert "best case cannot be below the commit" in str(e.value)
    with pytest.raises(ValidationError):
        submit(cast.rep, q3, "-1", "2000")
    assert Submission.objects.count() == 0


@pytest.mark.django_db
def test_periods_are_months_and_fiscal_quarters(org):
    assert forecast_period("2026-07").label == "2026-07"
    assert forecast_period("FY2026-Q3").start == dt.date(2026, 7, 1)
    org.fiscal_year_start_month = 4
    org.save()
    fp = forecast_period("FY2026-Q1")
    assert (fp.start, fp.end, fp.label) == (dt.date(2026, 4, 1), dt.date(2026, 7, 1), "FY2026-Q1")
    assert forecast_period("2026-07-01..2026-09-30").label == "FY2026-Q2"
    with pytest.raises(ValidationError) as e:
        forecast_period("2026")
    assert "per month or per fiscal quarter" in str(e.value)
    with pytest.raises(ValidationError):
        forecast_period("2026-02-01..2026-04-30")  # not a quarter of an April year
    assert forecast_period("2026-Q1").label == "FY2025-Q4"


@pytest.mark.django_db
def test_override_keeps_the_original_beside_it(cast, q3):
    own = submit(cast.rep, q3, "1000", "2000", "my call")
    over = svc.override_forecast(
        by=cast.manager,
        person=cast.rep,
        period=q3,
        commit="800",
        best_case="1800",
        note="Acme slips to Q4",
    )
    own.refresh_from_db()
    assert (own.commit, own.kind) == (Decimal(1000), "own")
    assert over.original == own and over.by == cast.manager and over.note == "Acme slips to Q4"
    state = current(q3, [cast.rep.pk])[cast.rep.pk]
    assert state.own == own and state.override == over and state.effective == over
    # The rep submits again: their new number counts, the override stays in the history.
    again = submit(cast.rep, q3, "1200", "2100")
    state = current(q3, [cast.rep.pk])[cast.rep.pk]
    assert state.effective == again and state.override == over


@pytest.mark.django_db
def test_override_needs_a_reason_and_a_subordinate(cast, q3):
    with pytest.raises(ValidationError) as e:
        svc.override_forecast(
            by=cast.manager, person=cast.rep, period=q3, commit="1", best_case="2", note=" "
        )
    assert "Say why" in str(e.value)
    # Sub-team member (East-1) is below the manager; the outsider (West) is not.
    svc.override_forecast(
        by=cast.manager, person=cast.rep_east1, period=q3, commit="1", best_case="2", note="x"
    )
    with pytest.raises(NotVisible):
        svc.override_forecast(
            by=cast.manager, person=cast.outsider, period=q3, commit="1", best_case="2", note="x"
        )
    with pytest.raises(NotVisible):  # a rep adjusts nobody
        svc.override_forecast(
            by=cast.rep, person=cast.teammate, period=q3, commit="1", best_case="2", note="x"
        )
    with pytest.raises(NotVisible):  # a teammate is no manager
        svc.override_forecast(
            by=cast.teammate, person=cast.rep, period=q3, commit="1", best_case="2", note="x"
        )
    with pytest.raises(PermissionDenied):
        svc.override_forecast(
            by=cast.manager, person=cast.manager, period=q3, commit="1", best_case="2", note="x"
        )
    assert subordinate_ids(cast.manager) == {cast.rep.pk, cast.rep_east1.pk, cast.teammate.pk}
    assert Submission.objects.count() == 1


@pytest.mark.django_db
def test_only_reps_and_managers_submit(cast, q3):
    with pytest.raises(PermissionDenied):
        submit(cast.analyst, q3, "1", "2")
    submit(cast.manager, q3, "10", "20")  # manages East


@pytest.mark.django_db
def test_deadline_locks_submissions_and_overrides(cast, q3):
    with pytest.raises(PermissionDenied):
        svc.set_deadline(by=cast.manager, period=q3, locks_at=timezone.now())
    svc.set_deadline(by=cast.admin, period=q3, locks_at=timezone.now() + dt.timedelta(hours=1))
    submit(cast.rep, q3, "1", "2")
    svc.set_deadline(by=cast.admin, period=q3, locks_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(ValidationError) as e:
        submit(cast.rep, q3, "5", "6")
    assert "Submissions for FY2026-Q3 closed at" in str(e.value)
    with pytest.raises(ValidationError):
        svc.override_forecast(
            by=cast.manager, person=cast.rep, period=q3, commit="1", best_case="2", note="x"
        )
    assert Submission.objects.count() == 1
    # Another period is not locked; removing the deadline opens this one again.
    submit(cast.rep, forecast_period("2026-07"), "1", "2")
    svc.set_deadline(by=cast.admin, period=q3, locks_at=None)
    submit(cast.rep, q3, "5", "6")
    assert AuditEntry.objects.filter(object_type="forecasting.deadline").count() == 3


@pytest.mark.django_db
def test_owner_category_override_has_history_and_survives_stage_moves(cast, org, pipeline):
    deal = make_deal(pipeline, cast.rep, "1000", category="pipeline")
    deal.stage = pipeline.stages.get(name="Qualify")
    deal.save()
    with pytest.raises(PermissionDenied):  # the manager sees it but does not own it
        svc.override_forecast_category(deal=deal, category="commit", by=cast.manager)
    with pytest.raises(NotVisible):
        svc.override_forecast_category(deal=deal, category="commit", by=cast.outsider)
    with pytest.raises(ValidationError):
        svc.override_forecast_category(deal=deal, category="closed", by=cast.rep)
    deal = svc.override_forecast_category(deal=deal, category="commit", by=cast.rep)
    assert (deal.forecast_category, deal.forecast_category_overridden) == ("commit", True)
    change = CategoryChange.objects.get()
    assert (change.from_category, change.to_category, change.by) == ("pipeline", "commit", cast.rep)
    entry = AuditEntry.objects.filter(object_type="crm.deal", object_id=deal.pk).latest("at")
    assert entry.changes == {"forecast_category": {"old": "pipeline", "new": "commit"}}
    deal = crm.move_deal_stage(deal=deal, stage=pipeline.stages.get(name="Propose"), by=cast.rep)
    assert deal.forecast_category == "commit"
    # Won: Closed, and the override ends.
    deal = crm.move_deal_stage(deal=deal, stage=pipeline.stages.get(name="Won"), by=cast.rep)
    assert (deal.forecast_category, deal.forecast_category_overridden) == ("closed", False)


@pytest.mark.django_db
def test_a_category_changed_by_an_ordinary_edit_has_history_too(cast, org, pipeline, client):
    """The deal's edit form and the API change the category through the same update
    service: the history row is written there too, with the audit entry."""
    deal = make_deal(pipeline, cast.rep, "1000", category="pipeline")
    crm.update_record(obj=deal, by=cast.rep, data={"forecast_category": "best_case"})
    crm.update_record(obj=deal, by=cast.manager, data={"name": "Renamed"})  # no change
    client.force_login(cast.manager)
    response = client.patch(
        f"/api/v1/deals/{deal.pk}",
        data={"forecast_category": "commit"},
        content_type="application/json",
        headers={"If-Match": str(Deal.objects.get(pk=deal.pk).version)},
    )
    assert response.status_code == 200, response.content
    history = list(
        CategoryChange.objects.filter(deal=deal)
        .order_by("at", "id")
        .values_list("from_category", "to_category", "by")
    )
    assert history == [
        ("pipeline", "best_case", cast.rep.pk),
        ("best_case", "commit", cast.manager.pk),
    ]


@pytest.mark.django_db
def test_without_override_the_stage_default_applies(cast, org, pipeline):
    propose = pipeline.stages.get(name="Propose")
    propose.forecast_category = "best_case"
    propose.save()
    deal = make_deal(pipeline, cast.rep, "1000", category="pipeline")
    deal = crm.move_deal_stage(deal=deal, stage=propose, by=cast.rep)
    assert Deal.objects.get(pk=deal.pk).forecast_category == "best_case"


@pytest.mark.django_db
def test_reminders_weekly_and_end_of_period_once(cast, org, settings):
    settings.FORECAST_REMINDER_WEEKDAY = 0
    settings.FORECAST_REMINDER_DAYS_BEFORE_END = 3
    monday = dt.date(2026, 7, 6)  # month 2026-07, quarter FY2026-Q3
    submit(cast.rep, forecast_period("2026-07"), "1", "2")
    sent = reminders.send_forecast_reminders(today=monday)
    # Expected to submit: rep, rep_east1, teammate, outsider (reps) and manager (East).
    # For July all but rep; for the quarter all five: 4 + 5 weekly notices.
    assert sent == 9
    assert reminders.send_forecast_reminders(today=monday) == 0
    assert reminders.send_forecast_reminders(today=monday + dt.timedelta(days=1)) == 0
    assert Notification.objects.filter(recipient=cast.analyst).count() == 0
    # 2026-07-28 (a Tuesday) is 3 days before July's last day: the end-of-month one.
    assert reminders.send_forecast_reminders(today=dt.date(2026, 7, 28)) == 4
    assert reminders.send_forecast_reminders(today=dt.date(2026, 7, 29)) == 0
    notice = Notification.objects.filter(kind=reminders.END_OF_PERIOD).first()
    assert notice.params["period"] == "2026-07"


@pytest.mark.django_db
def test_no_reminders_after_the_deadline(cast, org):
    monday = dt.date(2026, 7, 6)
    for fp in (forecast_period("2026-07"), forecast_period("FY2026-Q3")):
        svc.set_deadline(by=cast.admin, period=fp, locks_at=timezone.now() - dt.timedelta(days=1))
    assert reminders.send_forecast_reminders(today=monday) == 0


def test_the_daily_job_is_on_the_schedule():
    from salesops.automation.schedule import all_jobs

    assert "forecasting.reminders" in {j.name for j in all_jobs()}


@pytest.mark.django_db
def test_a_category_set_by_a_record_edit_is_kept_too(cast, org, pipeline):
    deal = make_deal(pipeline, cast.rep, "1000", category="pipeline")
    deal.stage = pipeline.stages.get(name="Qualify")
    deal.save()
    deal = crm.update_record(obj=deal, by=cast.rep, data={"forecast_category": "best_case"})
    assert deal.forecast_category_overridden
    deal = crm.move_deal_stage(deal=deal, stage=pipeline.stages.get(name="Propose"), by=cast.rep)
    assert deal.forecast_category == "best_case"
