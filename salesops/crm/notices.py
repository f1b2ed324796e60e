"""The public pool's notices: a customer about to return to the pool, and one that has
returned. Sent by `crm.pool`'s daily jobs through `notifications.services`."""

from __future__ import annotations

import datetime as dt

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from salesops.notifications.kinds import Kind, Notice, register

POOL_WARNING = "pool_warning"
POOL_RECLAIMED = "pool_reclaimed"
#: Why a customer returns: no follow-up, or no won deal, for so many days.
BY_FOLLOWUP = "followup"
BY_WON = "won"


def reason_text(reason: str, days: int) -> str:
    """Why a customer returns to the pool, in the active language."""
    if reason == BY_FOLLOWUP:
        return ngettext("no follow-up for %(days)d day", "no follow-up for %(days)d days", days) % {
            "days": days
        }
    return ngettext("no deal won for %(days)d day", "no deal won for %(days)d days", days) % {
        "days": days
    }


def _reclaimed(notice: Notice) -> tuple[str, str]:
    # Whole sentences per case: nothing glued from translated pieces.
    days = int(notice.params.get("days", 0))
    values = {"name": notice.name, "days": days}
    by_followup = notice.params.get("reason", "") == BY_FOLLOWUP
    if notice.name is None:
        if by_followup:
            text = ngettext(
                "A customer you can no longer open has returned to the public pool: no follow-up for %(days)d day.",
                "A customer you can no longer open has returned to the public pool: no follow-up for %(days)d days.",
                days,
            )
        else:
            text = ngettext(
                "A customer you can no longer open has returned to the public pool: no deal won for %(days)d day.",
                "A customer you can no longer open has returned to the public pool: no deal won for %(days)d days.",
                days,
            )
        return text % values, ""
    if by_followup:
        text = ngettext(
            "Customer “%(name)s” has returned to the public pool: no follow-up for %(days)d day.",
            "Customer “%(name)s” has returned to the public pool: no follow-up for %(days)d days.",
            days,
        )
    else:
        text = ngettext(
            "Customer “%(name)s” has returned to the public pool: no deal won for %(days)d day.",
            "Customer “%(name)s” has returned to the public pool: no deal won for %(days)d days.",
            days,
        )
    return text % values, ""


def _warning(notice: Notice) -> tuple[str, str]:
    due = dt.date.fromisoformat(notice.params["due"])
    days = int(notice.params.get("days", 0))
    values = {"name": notice.name, "date": formats.date_format(due), "days": days}
    if notice.name is None:
        return ngettext(
            "A customer you can no longer open was due to return to the public pool on %(date)s, in %(days)d day.",
            "A customer you can no longer open was due to return to the public pool on %(date)s, in %(days)d days.",
            days,
        ) % values, ""
    title = (
        ngettext(
            "Customer “%(name)s” returns to the public pool on %(date)s, in %(days)d day.",
            "Customer “%(name)s” returns to the public pool on %(date)s, in %(days)d days.",
            days,
        )
        % values
    )
    if notice.params.get("reason") == BY_FOLLOWUP:
        return title, _("Log a follow-up to keep it.")
    return title, _("It has had no won deal for too long; talk to your manager to keep it.")


def register_kinds() -> None:
    register(
        Kind(POOL_WARNING, gettext_lazy("A customer of mine returns to the pool soon"), _warning)
    )
    register(
        Kind(POOL_RECLAIMED, gettext_lazy("A customer of mine returned to the pool"), _reclaimed)
    )
