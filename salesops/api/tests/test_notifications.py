"""`/notifications` in the API: the caller's own notices only, rendered in their
language, a record they may no longer see not identified; every answer fits the spec."""

from __future__ import annotations

import pytest

from salesops.crm.tests.factories import DealFactory
from salesops.notifications import services as notifications
from salesops.notifications.models import Notification

pytestmark = pytest.mark.django_db


def english(*users):
    for u in users:
        u.language = "en"
        u.save()


def test_i_list_my_notices_with_the_unread_count(cast, as_user):
    english(cast.rep)
    deal = DealFactory(owner=cast.rep, name="Acme deal")
    for i in range(3):
        notifications.notify(cast.rep, "assigned", deal, key=f"k{i}", by=f"Boss{i}")
    notifications.notify(
        cast.outsider, "assigned", DealFactory(owner=cast.outsider), key="x", by="B"
    )
    api = as_user(cast.rep)
    page = api.get("/notifications", {"limit": 2}).json()
    assert page["unread"] == 3
    assert [n["title"] for n in page["items"]] == [
        "Boss2 handed “Acme deal” to you.",
        "Boss1 handed “Acme deal” to you.",
    ]
    assert page["items"][0]["object_type"] == "deal" and page["items"][0]["object_id"] == deal.pk
    assert page["items"][0]["url"] == f"/deals/{deal.pk}/"
    rest = api.get("/notifications", {"limit": 2, "before": page["next_before"]}).json()
    assert [n["title"][:5] for n in rest["items"]] == ["Boss0"] and rest["next_before"] is None


def test_marking_read_one_and_all(cast, as_user):
    deal = DealFactory(owner=cast.rep)
    notifications.notify(cast.rep, "assigned", deal, key="a", by="B")
    notifications.notify(cast.rep, "assigned", deal, key="b", by="B")
    api = as_user(cast.rep)
    first = Notification.objects.get(key="a")
    r = api.post(f"/notifications/{first.pk}/read")
    assert r.status_code == 200 and r.json()["read_at"] is not None
    assert api.get("/notifications", {"unread": True}).json()["unread"] == 1
    assert api.post("/notifications/read-all").json() == {"marked": 1}
    assert api.get("/notifications").json()["unread"] == 0


def test_anothers_notice_is_a_404_and_never_listed(cast, as_user):
    notifications.notify(
        cast.outsider, "assigned", DealFactory(owner=cast.outsider), key="x", by="B"
    )
    theirs = Notification.objects.get()
    api = as_user(cast.rep)
    assert api.post(f"/notifications/{theirs.pk}/read").status_code == 404
    assert api.get("/notifications", {"before": theirs.pk}).json()["items"] == []
    assert api.get("/notifications").json() == {"unread": 0, "items": [], "next_before": None}
    api.post("/notifications/read-all")
    assert Notification.objects.get().read_at is None


def test_a_record_i_no_longer_see_is_not_identified(cast, as_user):
    english(cast.rep)
    deal = DealFactory(owner=cast.rep, name="Secret merger")
    notifications.notify(cast.rep, "assigned", deal, key="k", by="Boss")
    deal.owner = cast.outsider
    deal.save()
    [item] = as_user(cast.rep).get("/notifications").json()["items"]
    assert item["title"] == "Boss handed you a record you can no longer open."
    assert (item["object_type"], item["object_id"], item["url"]) == (None, None, None)


def test_a_read_only_token_lists_but_cannot_mark_read(cast, as_user):
    notifications.notify(cast.rep, "assigned", DealFactory(owner=cast.rep), key="k", by="B")
    api = as_user(cast.rep, scope="read")
    assert api.get("/notifications").status_code == 200
    assert api.post("/notifications/read-all").status_code == 403


def test_marking_read_repeats_safely_with_an_idempotency_key(cast, as_user):
    notifications.notify(cast.rep, "assigned", DealFactory(owner=cast.rep), key="k", by="B")
    api = as_user(cast.rep)
    first = api.post("/notifications/read-all", **{"Idempotency-Key": "read-1"})
    again = api.post("/notifications/read-all", **{"Idempotency-Key": "read-1"})
    assert first.json() == again.json() == {"marked": 1}
