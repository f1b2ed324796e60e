"""Notices are sent once per key, as each person chose, and hand-overs notify the new
owner in the hand-over's own transaction."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from salesops.activities import page_services as task_pages
from salesops.activities import services as activities
from salesops.activities.tests.factories import TaskFactory
from salesops.crm import page_services, services
from salesops.crm.tests.factories import CustomerFactory, DealFactory
from salesops.notifications import services as notifications
from salesops.notifications.models import Notification, Preference
from salesops.notifications.render import as_recipient

pytestmark = pytest.mark.django_db


def english(*users):
    for u in users:
        u.language = "en"
        u.save()


def test_the_same_key_sends_one_notice_however_often_it_is_sent(cast):
    deal = DealFactory(owner=cast.rep)
    assert notifications.notify(cast.rep, "assigned", deal, key="k1", by="Boss") is True
    assert notifications.notify(cast.rep, "assigned", deal, key="k1", by="Boss") is False
    assert notifications.notify(cast.manager, "assigned", deal, key="k1", by="Boss") is True
    assert Notification.objects.filter(key="k1").count() == 2
    many = [
        notifications.outgoing(cast.rep.pk, "assigned", deal, key=f"k{i % 2}") for i in range(6)
    ]
    assert notifications.notify_many(many) == 1  # k0 is new once; k1 was there


def test_a_notice_stores_its_kind_and_record_not_sentences(cast):
    english(cast.rep)
    deal = DealFactory(owner=cast.rep, name="Big one")
    notifications.notify(cast.rep, "assigned", deal, key="k", by="Manager M")
    note = Notification.objects.get()
    assert (note.object_type, note.object_id, note.params) == ("deal", deal.pk, {"by": "Manager M"})
    assert "Big one" not in str(note.params)
    deal.name = "Renamed"
    deal.save()
    assert as_recipient(note) == "Manager M handed “Renamed” to you."


def test_preferences_decide_where_a_notice_goes(cast):
    Preference.objects.create(user=cast.rep, kind="assigned", in_app=False, email="immediate")
    Preference.objects.create(user=cast.manager, kind="assigned", in_app=False, email="")
    deal = DealFactory(owner=cast.rep)
    notifications.notify(cast.rep, "assigned", deal, key="k", by="x")
    notifications.notify(cast.manager, "assigned", deal, key="k", by="x")
    notifications.notify(cast.teammate, "assigned", deal, key="k", by="x")
    rep_note = Notification.objects.get(recipient=cast.rep)
    assert (rep_note.in_app, rep_note.email) == (False, "immediate")
    assert not Notification.objects.filter(recipient=cast.manager).exists()  # wants neither
    mate = Notification.objects.get(recipient=cast.teammate)
    assert (mate.in_app, mate.email) == (True, "")  # the default
    assert notifications.unread_count(cast.rep) == 0  # not under the bell


def test_bad_preferences_are_refused_whole_with_a_message(cast):
    with pytest.raises(ValidationError) as e:
        notifications.set_preferences(
            user=cast.rep, values={"assigned": (True, "digest"), "task_reminder": (True, "hourly")}
        )
    assert "Task reminders" in " ".join(e.value.messages)
    with pytest.raises(ValidationError, match="no kind of notification called nonsense"):
        notifications.set_preferences(user=cast.rep, values={"nonsense": (True, "")})
    assert not Preference.objects.exists()
    notifications.set_preferences(user=cast.rep, values={"assigned": (False, "digest")})
    [(_kind, in_app, email)] = [
        p for p in notifications.preferences(cast.rep) if p[0].key == "assigned"
    ]
    assert (in_app, email) == (False, "digest")


def test_handing_a_customer_over_tells_the_new_owner_once(cast):
    english(cast.rep)
    customer = CustomerFactory(owner=cast.rep_east1, name="Acme")
    services.assign_customer(customer=customer, to=cast.rep, by=cast.manager)
    services.assign_customer(customer=customer, to=cast.rep, by=cast.manager)  # no change
    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.object_type) == (cast.rep, "assigned", "customer")
    assert as_recipient(note) == "manager handed “Acme” to you."


def test_every_hand_over_path_notifies_and_taking_for_oneself_does_not(cast):
    deal = DealFactory(owner=cast.rep_east1)
    page_services.assign_owner(obj=deal, to=cast.rep, by=cast.manager)
    task = TaskFactory(owner=cast.rep_east1)
    task_pages.assign_task(task=task, to=cast.rep, by=cast.manager)
    activities.create_task(by=cast.manager, owner=cast.rep, title="Call back")
    activities.create_task(by=cast.rep, title="My own")
    page_services.assign_owner(
        obj=DealFactory(owner=cast.manager), to=cast.manager, by=cast.manager
    )
    kinds = sorted(Notification.objects.values_list("recipient__username", "object_type"))
    assert kinds == [("rep", "deal"), ("rep", "task"), ("rep", "task")]


def test_a_hand_over_that_is_rolled_back_notifies_no_one(cast):
    customer = CustomerFactory(owner=cast.rep_east1)

    def hand_over_then_fail():
        with transaction.atomic():
            services.assign_customer(customer=customer, to=cast.rep, by=cast.manager)
            raise RuntimeError("the page failed after the service")

    with pytest.raises(RuntimeError):
        hand_over_then_fail()
    assert not Notification.objects.exists()


def test_a_refused_hand_over_notifies_no_one(cast):
    deal = DealFactory(owner=cast.rep)
    with pytest.raises(ValidationError):
        page_services.assign_owner(obj=deal, to=cast.outsider, by=cast.manager)
    assert not Notification.objects.exists()
