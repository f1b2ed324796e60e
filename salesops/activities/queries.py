"""Read-side queries over activities for the pages: a record's timeline and a person's
day. A constant number of queries whatever the size of the data, always within
`visible_to(user)`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from salesops.activities.models import FollowUp, Task
from salesops.crm.models import PoolEvent, StageHistory


@dataclass
class Entry:
    """One line of a timeline."""

    kind: str  # followup · task · task_done · stage · pool
    at: dt.datetime
    obj: Any
    by: Any = None
    #: The reader's role hides the field the time comes from: the line shows no time.
    time_hidden: bool = False

    @property
    def key(self) -> Cursor:
        """Its place in a timeline (newest first): time, then kind and id, so entries
        at the same moment still have one order and a page boundary among them loses
        none."""
        return (self.at, self.kind, self.obj.pk)


#: A timeline position: (moment, kind, id), as `Entry.key`.
Cursor = tuple[dt.datetime, str, int]


def timeline(
    user: Any,
    *,
    lead: Any = None,
    customer: Any = None,
    contact: Any = None,
    deal: Any = None,
    limit: int = 30,
    before: Cursor | None = None,
) -> list[Entry]:
    """Follow-ups, tasks, stage changes and pool events of one record (the caller has
    checked the record is visible), newest first (`Entry.key`). A customer's timeline
    includes what was logged on its contacts and deals. `before` pages it: only the
    entries after that position (earlier, or at the same moment and later in order)."""
    moment = before[0] if before is not None else None
    fetch = limit if before is None else 2 * limit  # entries tied with `before` drop out

    def earlier(field: str) -> Q:
        return Q(**{f"{field}__lte": moment}) if moment is not None else Q()

    links = Q()
    for name, obj in (("lead", lead), ("customer", customer), ("contact", contact), ("deal", deal)):
        if obj is not None:
            links |= Q(**{name: obj})
    entries: list[Entry] = []
    if user.has_right("followup", "view"):
        for f in (
            FollowUp.objects.visible_to(user)
            .filter(links, earlier("occurred_at"))
            .select_related("owner")
            .order_by("-occurred_at", "-id")[:fetch]
        ):
            entries.append(Entry("followup", f.occurred_at, f, f.owner))
    if user.has_right("task", "view"):
        for t in (
            Task.objects.visible_to(user)
            .filter(links, earlier("created_at"))
            .select_related("owner")
            .order_by("-created_at", "-id")[:fetch]
        ):
            entries.append(Entry("task", t.created_at, t, t.owner))
            if t.done_at:
                entries.append(Entry("task_done", t.done_at, t, t.owner))
    if deal is not None:
        for h in (
            StageHistory.objects.filter(earlier("entered_at"), deal=deal)
            .select_related("stage", "entered_by")
            .order_by("-entered_at", "-id")[:fetch]
        ):
            entries.append(Entry("stage", h.entered_at, h, h.entered_by))
    if customer is not None:
        events = PoolEvent.objects.filter(earlier("at"), customer=customer).order_by("-at", "-id")
        for e in events.select_related("user")[:fetch]:
            entries.append(Entry("pool", e.at, e, e.user))
    if before is not None:
        entries = [e for e in entries if e.key < before]
    entries.sort(key=lambda e: e.key, reverse=True)
    return entries[:limit]


def tasks_due(user: Any, *, until: dt.datetime, limit: int = 20) -> list[Task]:
    """The user's own open tasks due before `until` (overdue and today), oldest first."""
    return list(
        Task.objects.visible_to(user)
        .pending()
        .filter(owner=user, due_at__lt=until)
        .select_related("customer", "deal", "lead")
        .order_by("due_at")[:limit]
    )


def next_steps(user: Any, *, limit: int = 10) -> list[FollowUp]:
    """The user's latest follow-ups that name a next step: what to follow up on."""
    return list(
        FollowUp.objects.visible_to(user)
        .filter(owner=user)
        .exclude(next_step="")
        .select_related("customer", "deal", "lead")
        .order_by("-occurred_at")[:limit]
    )
