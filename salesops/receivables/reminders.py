"""Overdue reminders: the owner of an instalment still owed is told when it becomes
overdue and again as it enters each later ageing bucket (31, 61 and 91 days); the
owner's manager (whom they report to, else their primary team's manager) is told once it
is `CollectionSettings.manager_after_days` days overdue.

Each notice's key is (instalment, recipient role, threshold): the notification centre's
unique (recipient, key) makes each one exactly-once across runs, workers and restarts.
A run that finds an instalment already past several thresholds (a worker down for
days) sends only the latest threshold it reached, and only if that threshold was crossed
in the last CATCH_UP_DAYS days: the first run after the reminders are switched on does
not send a notice for every instalment that went overdue months or years before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from salesops.crm.models import PaymentPlan
from salesops.notifications import kinds
from salesops.notifications import services as notifications
from salesops.org.models import Organisation
from salesops.receivables import ageing as ag
from salesops.receivables.models import CollectionSettings
from salesops.users.models import User

OVERDUE = "receivable_overdue"
OVERDUE_MANAGER = "receivable_overdue_manager"
#: Days overdue at which the owner is told (the first day of each overdue bucket).
OWNER_THRESHOLDS = (1, 31, 61, 91)
#: A threshold crossed longer ago than this is not reminded of any more.
CATCH_UP_DAYS = 7


def _body(notice: kinds.Notice) -> str:
    days = int(notice.params.get("days", 0))
    due = notice.params.get("due_on")
    text = ngettext(
        "Due on %(due)s, %(days)s day overdue.", "Due on %(due)s, %(days)s days overdue.", days
    ) % {
        "due": formats.date_format(dt.date.fromisoformat(due)) if due else "—",
        "days": days,
    }
    amount = notice.params.get("outstanding")
    if amount and notice.reader is not None and not ag.money_hidden(notice.reader):
        text += " " + _("Still owed: %(amount)s %(currency)s.") % {
            "amount": amount,
            "currency": notice.params.get("currency", ""),
        }
    if notice.reader is not None and ag.dates_hidden(notice.reader):
        return ""
    return text


def _owner_messages(notice: kinds.Notice) -> tuple[str, str]:
    if notice.name is None:
        return _("An instalment you can no longer open is overdue."), ""
    return _("Instalment “%(name)s” is overdue") % {"name": notice.name}, _body(notice)


def _manager_messages(notice: kinds.Notice) -> tuple[str, str]:
    owner = notice.params.get("owner") or _("Someone")
    if notice.name is None:
        return _("An instalment of %(owner)s you can no longer open is overdue.") % {
            "owner": owner
        }, ""
    return (
        _("%(owner)s's instalment “%(name)s” is overdue") % {"owner": owner, "name": notice.name},
        _body(notice),
    )


def register_kinds() -> None:
    kinds.register(
        kinds.Kind(OVERDUE, gettext_lazy("Overdue instalments of my customers"), _owner_messages)
    )
    kinds.register(
        kinds.Kind(
            OVERDUE_MANAGER, gettext_lazy("Overdue instalments of my team"), _manager_messages
        )
    )


def manager_of(user: User) -> User | None:
    """Whom `user` reports to, else their primary team's manager (never themselves)."""
    team = user.team
    for candidate in (user.reports_to, team.manager if team is not None else None):
        if candidate is not None and candidate.pk != user.pk and candidate.is_active:
            return candidate
    return None


def owner_threshold(days: int) -> int | None:
    reached = [t for t in OWNER_THRESHOLDS if days >= t]
    return reached[-1] if reached else None


def recent(days: int, threshold: int) -> bool:
    """Whether an instalment `days` overdue crossed `threshold` in the catch-up window."""
    return 0 <= days - threshold < CATCH_UP_DAYS


def overdue_lines(today: dt.date) -> list[tuple[int, int | None, str, dt.date, int]]:
    """(instalment, owner, currency, due date, cents owed) of every instalment overdue
    at `today` (the job sees all records: it is nobody's view)."""
    rows = ag.outstanding_rows_of(None, today)
    return [(pid, o, c, d, s) for o, c, d, s, _cu, pid in rows if d < today]


def send_overdue_reminders(*, today: dt.date | None = None) -> int:
    """Tell owners and managers about overdue instalments; how many notices were new."""
    today = today or Organisation.get().local_date()
    settings = CollectionSettings.get()
    lines = overdue_lines(today)
    owners = User.objects.select_related("team__manager", "reports_to").in_bulk(
        {o for _p, o, _c, _d, _s in lines if o is not None}
    )
    plans = PaymentPlan.objects.in_bulk([p for p, *_rest in lines])
    out: list[notifications.Outgoing] = []
    for pid, owner_id, code, due, cents in lines:
        owner = owners.get(owner_id) if owner_id is not None else None
        if owner is None or not owner.is_active:
            continue
        days = (today - due).days
        params = {
            "days": days,
            "due_on": due.isoformat(),
            "outstanding": f"{cents / 100:,.2f}",
            "currency": code,
        }
        threshold = owner_threshold(days)
        if settings.remind_owner and threshold is not None and recent(days, threshold):
            out.append(
                notifications.outgoing(
                    owner.pk,
                    OVERDUE,
                    plans[pid],
                    key=f"receivable:{pid}:owner:{threshold}",
                    **params,
                )
            )
        manager = manager_of(owner)
        after = settings.manager_after_days
        if manager is not None and days >= after and recent(days, after):
            out.append(
                notifications.outgoing(
                    manager.pk,
                    OVERDUE_MANAGER,
                    plans[pid],
                    key=f"receivable:{pid}:manager:{settings.manager_after_days}",
                    owner=str(owner),
                    **params,
                )
            )
    return sum(notifications.notify_many(chunk) for chunk in _chunks(out, 500))


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
