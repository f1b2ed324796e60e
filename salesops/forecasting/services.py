"""Writes of forecasting: an owner's forecast category on a deal, submitting a forecast,
a manager's override of a subordinate's, and a period's deadline. Each writes its audit
entry; submissions are never updated (each submit is a new row)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from salesops.audit import services as audit
from salesops.crm.models import Deal
from salesops.forecasting.models import CategoryChange, Deadline, Submission
from salesops.forecasting.queries import (
    ForecastPeriod,
    current,
    deadline_of,
    managed_team_ids,
    may_adjust,
)
from salesops.lib.money import money
from salesops.lib.services import NotVisible, ensure_can
from salesops.org.models import Organisation
from salesops.pipeline.models import ForecastCategory
from salesops.users.models import User

#: What an owner may choose for an open deal (Closed follows from winning it).
CHOOSABLE = (
    ForecastCategory.PIPELINE,
    ForecastCategory.BEST_CASE,
    ForecastCategory.COMMIT,
    ForecastCategory.OMITTED,
)


@transaction.atomic
def override_forecast_category(*, deal: Deal, category: str, by: User) -> Deal:
    """The owner puts their open deal in a forecast category; later moves between open
    stages keep it (choosing the stage's default ends the override). History row and
    audit entry."""
    ensure_can(by, deal, "edit")
    deal = Deal.objects.select_for_update(of=("self",)).select_related("stage").get(pk=deal.pk)
    if deal.owner_id != by.pk and not by.is_org_admin():
        raise PermissionDenied(_("Only the deal's owner chooses its forecast category."))
    if deal.status != Deal.Status.OPEN:
        raise ValidationError(
            {"category": _("The deal is closed: its forecast category follows from that.")}
        )
    if category not in CHOOSABLE:
        raise ValidationError({"category": _("Choose Pipeline, Best case, Commit or Omitted.")})
    if deal.forecast_category == category:
        return deal
    shot = audit.snapshot(deal, ["forecast_category"])
    before = deal.override_forecast_category(category)
    deal.version += 1
    deal.save(update_fields=["forecast_category", "forecast_category_overridden", "version"])
    CategoryChange.objects.create(deal=deal, from_category=before, to_category=category, by=by)
    audit.record(by=by, obj=deal, action=audit.Action.UPDATED, changes=shot.changes(deal))
    return deal


def _amount(value: Any, field: str) -> Decimal:
    try:
        out = money(value)
    except Exception:
        raise ValidationError(
            {field: _("Enter the amount as a number, such as 12000 or 12000.50.")}
        ) from None
    if out < 0:
        raise ValidationError({field: _("The amount cannot be negative.")})
    return out


def _check_open(fp: ForecastPeriod, now: dt.datetime) -> None:
    deadline = deadline_of(fp)
    if deadline is not None and now >= deadline.locks_at:
        moment = timezone.localtime(deadline.locks_at, Organisation.get().tz)
        raise ValidationError(
            _(
                "Submissions for %(period)s closed at %(when)s. Ask an administrator to "
                "move the deadline if the number must change."
            )
            % {"period": fp.label, "when": formats.date_format(moment, "DATETIME_FORMAT")}
        )


def _numbers(commit: Any, best_case: Any) -> tuple[Decimal, Decimal]:
    c, b = _amount(commit, "commit"), _amount(best_case, "best_case")
    if b < c:
        raise ValidationError(
            {
                "best_case": _(
                    "The best case cannot be below the commit; raise it or lower the commit."
                )
            }
        )
    return c, b


def _may_submit(user: User) -> bool:
    return bool(
        user.is_active
        and ((user.role is not None and user.role.is_sales_rep) or managed_team_ids(user))
    )


def _record(by: User, row: Submission) -> None:
    audit.record(
        by=by,
        obj=row,
        action=audit.Action.CREATED,
        changes={
            "period": {"old": None, "new": f"{row.period_kind}:{row.period_start.isoformat()}"},
            "person": {"old": None, "new": {"id": row.person_id, "label": str(row.person)}},
            "commit": {"old": None, "new": {"amount": str(row.commit), "currency": row.currency}},
            "best_case": {
                "old": None,
                "new": {"amount": str(row.best_case), "currency": row.currency},
            },
            "note": {"old": None, "new": row.note},
        },
    )


@transaction.atomic
def submit_forecast(
    *, by: User, period: ForecastPeriod, commit: Any, best_case: Any, note: str = ""
) -> Submission:
    """`by` submits their own number for `period` (base currency): a new row, which
    becomes their current number. Refused after the period's deadline."""
    if not _may_submit(by):
        raise PermissionDenied(_("Only sales reps and team managers submit a forecast."))
    now = timezone.now()
    _check_open(period, now)
    c, b = _numbers(commit, best_case)
    row = Submission.objects.create(
        period_kind=period.kind,
        period_start=period.start,
        person=by,
        kind=Submission.Kind.OWN,
        commit=c,
        best_case=b,
        currency=str(Organisation.get().base_currency_id),
        note=(note or "").strip(),
        by=by,
        submitted_at=now,
    )
    _record(by, row)
    return row


@transaction.atomic
def override_forecast(
    *, by: User, person: User, period: ForecastPeriod, commit: Any, best_case: Any, note: str
) -> Submission:
    """A manager sets the number of someone below them, saying why; the person's own
    submission stays as it was, and the override points to it."""
    if not may_adjust(by, person.pk):
        if person.pk == by.pk:
            raise PermissionDenied(_("Submit your own number instead of overriding it."))
        raise NotVisible(_("This record does not exist or you may not see it."))
    now = timezone.now()
    _check_open(period, now)
    c, b = _numbers(commit, best_case)
    if not (note or "").strip():
        raise ValidationError({"note": _("Say why you override this number.")})
    state = current(period, [person.pk]).get(person.pk)
    row = Submission.objects.create(
        period_kind=period.kind,
        period_start=period.start,
        person=person,
        kind=Submission.Kind.OVERRIDE,
        commit=c,
        best_case=b,
        currency=str(Organisation.get().base_currency_id),
        note=note.strip(),
        original=state.own if state else None,
        by=by,
        submitted_at=now,
    )
    _record(by, row)
    return row


@transaction.atomic
def set_deadline(
    *, by: User, period: ForecastPeriod, locks_at: dt.datetime | None
) -> Deadline | None:
    """An administrator sets (or, with None, removes) the moment after which
    submissions for `period` are refused."""
    if not by.is_org_admin():
        raise PermissionDenied(_("Only an administrator sets forecast deadlines."))
    existing = deadline_of(period)
    if locks_at is None:
        if existing is not None:
            audit.record(by=by, obj=existing, action=audit.Action.DELETED)
            existing.delete()
        return None
    if existing is None:
        existing = Deadline.objects.create(
            period_kind=period.kind, period_start=period.start, locks_at=locks_at, set_by=by
        )
        audit.record(
            by=by,
            obj=existing,
            action=audit.Action.CREATED,
            changes={"locks_at": {"old": None, "new": audit.plain(locks_at)}},
        )
        return existing
    shot = audit.snapshot(existing, ["locks_at"])
    existing.locks_at = locks_at
    existing.set_by = by
    existing.set_at = timezone.now()
    existing.save()
    audit.record(by=by, obj=existing, action=audit.Action.UPDATED, changes=shot.changes(existing))
    return existing
