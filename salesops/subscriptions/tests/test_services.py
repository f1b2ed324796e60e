"""Writing subscriptions: every rule is checked by the service, each refusal names its
field and writes nothing; only the subscriber (or an administrator) sees or changes one."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from salesops.lib.services import NotVisible
from salesops.subscriptions import services
from salesops.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


def values(**changes):
    return {
        "name": "Weekly",
        "what": "org",
        "period": "last_week",
        "cadence": "weekly",
        "weekday": 0,
        "day_of_month": 1,
        "hour": 8,
        **changes,
    }


def refused(user, recipients, **changes):
    with pytest.raises(ValidationError) as caught:
        services.create_subscription(user=user, recipients=recipients, **values(**changes))
    assert not Subscription.objects.exists()
    return caught.value.message_dict


def test_no_recipients_is_refused(cast):
    assert refused(cast.manager, [])["recipients"] == ["Choose at least one recipient."]


@pytest.mark.parametrize("day", [0, 32])
def test_a_day_of_the_month_outside_1_to_31_is_refused(cast, day):
    errors = refused(cast.manager, [cast.manager], cadence="monthly", day_of_month=day)
    assert errors["day_of_month"] == ["Choose a day from 1 to 31 (31 means the last day)."]


def test_an_hour_outside_0_to_23_is_refused(cast):
    assert refused(cast.manager, [cast.manager], hour=24)["hour"] == [
        "Choose an hour from 0 to 23."
    ]


def test_a_recipient_who_cannot_see_the_team_is_refused(cast):
    errors = refused(cast.manager, [cast.manager, cast.outsider], what="team", team=cast.east)
    assert errors["recipients"] == [f"{cast.outsider} may not see the dashboard of Team East."]


def test_a_recipient_without_an_e_mail_address_is_refused(cast):
    cast.rep.email = ""
    cast.rep.save()
    assert refused(cast.manager, [cast.rep])["recipients"] == [f"{cast.rep} has no e-mail address."]


def test_a_dashboard_the_subscriber_may_not_see_is_refused(cast):
    errors = refused(cast.outsider, [cast.outsider], what="team", team=cast.east)
    assert errors["what"] == ["You may not open this yourself."]


def test_a_team_dashboard_needs_its_team(cast):
    assert refused(cast.manager, [cast.manager], what="team")["team"] == ["Choose the team."]


def test_a_report_the_recipient_may_not_open_is_refused(cast):
    from salesops.reports.services import create_report

    report = create_report(
        user=cast.manager, name="East deals", object_type="deal", definition={}, team=cast.east
    )
    errors = refused(cast.manager, [cast.outsider], what="report", report=report)
    assert errors["recipients"] == [f"{cast.outsider} may not open the report “East deals”."]


def test_fields_of_the_system_cannot_be_set(cast):
    with pytest.raises(ValidationError):
        services.create_subscription(
            user=cast.manager, recipients=[cast.manager], **values(last_error="x")
        )
    assert not Subscription.objects.exists()


def test_only_the_subscriber_or_an_administrator_sees_a_subscription(cast):
    sub = services.create_subscription(user=cast.manager, recipients=[cast.manager], **values())
    assert list(Subscription.objects.visible_to(cast.manager)) == [sub]
    assert list(Subscription.objects.visible_to(cast.admin)) == [sub]
    assert not Subscription.objects.visible_to(cast.rep).exists()
    with pytest.raises(NotVisible):
        services.set_active(user=cast.rep, subscription=sub, active=False)
    with pytest.raises(NotVisible):
        services.delete_subscription(user=cast.outsider, subscription=sub)
    sub.refresh_from_db()
    assert sub.is_active


def test_a_new_schedule_does_not_send_a_slot_already_past(cast):
    sub = services.create_subscription(user=cast.manager, recipients=[cast.manager], **values())
    long_ago = timezone.now() - dt.timedelta(days=30)
    Subscription.objects.filter(pk=sub.pk).update(schedule_from=long_ago)
    services.update_subscription(
        user=cast.manager, subscription=sub, recipients=[cast.manager], **values(name="Renamed")
    )
    sub.refresh_from_db()
    assert sub.schedule_from == long_ago  # a new name keeps the schedule
    services.update_subscription(
        user=cast.manager, subscription=sub, recipients=[cast.manager], **values(hour=6)
    )
    sub.refresh_from_db()
    assert sub.schedule_from > long_ago
