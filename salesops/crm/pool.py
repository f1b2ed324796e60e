"""The public pool (公海): which rule applies to whom, and what it allows.

A customer returns to the pool on a business date (the organisation's time zone): the
earlier of

* the last follow-up, or the day the rep took it if that is later (a follow-up logged
  by a previous owner does not count against the new one), plus the rule's
  `reclaim_after_days_without_followup`;
* the day the rep took it or the last won deal, whichever is later, plus
  `reclaim_after_days_without_won_deal`.

`reclaim_due_on` states that rule for one customer; the query functions state the same
rule as set-based filters, one per pool rule, so the daily run scales to hundreds of
thousands of customers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesops.audit import services as audit
from salesops.crm.models import Customer, PoolEvent, PoolRule
from salesops.customization import computed
from salesops.org.models import Organisation
from salesops.users.models import Notification, Team, User

logger = logging.getLogger(__name__)

#: Customers are read and moved in pages of this size (memory stays flat).
PAGE = 500

#: Fields a reclaim decision reads; the conditional update checks they did not change.
_SNAPSHOT_FIELDS = (
    "id",
    "name",
    "owner_id",
    "owned_since",
    "created_at",
    "last_followup_at",
    "last_won_on",
    "deleted_at",
)


def rule_for_team(team: Any) -> PoolRule | None:
    """The active rule of the nearest team up the tree that has one, else the
    organisation-wide rule (no team), else None."""
    rules = {r.team_id: r for r in PoolRule.objects.filter(active=True)}
    node = team
    while node is not None:
        if node.pk in rules:
            return rules[node.pk]
        node = node.parent
    return rules.get(None)


def rule_for_user(user: Any) -> PoolRule | None:
    return rule_for_team(user.team if user is not None else None)


# -- the rule for one customer (pure) ---------------------------------------------------


def _local_date(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return timezone.localtime(moment, tz).date()


def _owned_since(customer: Customer) -> dt.datetime:
    # Rows made before `owned_since` existed fall back to their creation time.
    return customer.owned_since or customer.created_at


def _due_dates(
    customer: Customer, rule: PoolRule, tz: dt.tzinfo
) -> tuple[dt.date | None, dt.date | None]:
    """(due by the follow-up rule, due by the won-deal rule); None where a rule is off."""
    owned = _local_date(_owned_since(customer), tz)
    by_followup = by_won = None
    if rule.reclaim_after_days_without_followup is not None:
        base = owned
        if customer.last_followup_at is not None:
            base = max(base, _local_date(customer.last_followup_at, tz))
        by_followup = base + dt.timedelta(days=rule.reclaim_after_days_without_followup)
    if rule.reclaim_after_days_without_won_deal is not None:
        base = max(owned, customer.last_won_on) if customer.last_won_on else owned
        by_won = base + dt.timedelta(days=rule.reclaim_after_days_without_won_deal)
    return by_followup, by_won


def reclaim_due_on(
    *, customer: Customer, rule: PoolRule | None, tz: dt.tzinfo | None = None
) -> dt.date | None:
    """The business date on which an owned customer returns to the pool; None when it
    never does (in the pool already, deleted, no rule, or the rule reclaims nothing).

    `tz` defaults to the organisation's time zone."""
    if rule is None or customer.owner_id is None or customer.deleted_at is not None:
        return None
    dates = [d for d in _due_dates(customer, rule, tz or Organisation.get().tz) if d is not None]
    return min(dates) if dates else None


def days_left(
    *, customer: Customer, rule: PoolRule | None = None, today: dt.date | None = None
) -> int | None:
    """Whole days until the customer returns to the pool (0: today), None if never.

    Pages listing many customers of one rep pass the rep's `rule` to save look-ups."""
    if customer.owner_id is None:
        return None
    org = Organisation.get()
    rule = rule if rule is not None else rule_for_user(customer.owner)
    due = reclaim_due_on(customer=customer, rule=rule, tz=org.tz)
    if due is None:
        return None
    return max(0, (due - (today or org.local_date())).days)


# -- the same rule, set-based ------------------------------------------------------------


def _rule_groups() -> list[tuple[PoolRule, Q]]:
    """Each active rule with a filter on the customers whose owner it governs.

    The team tree is walked once in memory: a rule applies to its team and the sub-teams
    without a rule of their own; the organisation-wide rule to everyone else, including
    owners without a team."""
    rules = list(PoolRule.objects.filter(active=True))
    if not rules:
        return []
    by_team = {r.team_id: r for r in rules}
    parents: dict[int, int | None] = dict(Team.objects.values_list("id", "parent_id"))
    teams_of: dict[int, list[int]] = defaultdict(list)
    for team_id in parents:
        node: int | None = team_id
        seen: set[int] = set()
        while node is not None and node not in by_team and node not in seen:
            seen.add(node)
            node = parents.get(node)
        rule = by_team.get(node) if node is not None else None
        rule = rule or by_team.get(None)
        if rule is not None:
            teams_of[rule.pk].append(team_id)
    groups = []
    for rule in rules:
        owners = Q(owner__team_id__in=teams_of[rule.pk]) if teams_of[rule.pk] else Q(pk__in=[])
        if rule.team_id is None:
            owners |= Q(owner__team__isnull=True)
        groups.append((rule, owners))
    return groups


def _start_of(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def _owned_before(moment: dt.datetime) -> Q:
    return Q(owned_since__lt=moment) | Q(owned_since__isnull=True, created_at__lt=moment)


def _due_by(rule: PoolRule, day: dt.date, tz: dt.tzinfo) -> Q | None:
    """Customers (under `rule`) whose due date is on or before `day`; None if the rule
    reclaims nothing. max(a, b) ≤ d ⇔ a ≤ d and b ≤ d, so no per-row maths is needed."""
    parts = []
    n = rule.reclaim_after_days_without_followup
    if n is not None:
        cut = _start_of(day - dt.timedelta(days=n - 1), tz)
        parts.append(
            _owned_before(cut) & (Q(last_followup_at__isnull=True) | Q(last_followup_at__lt=cut))
        )
    m = rule.reclaim_after_days_without_won_deal
    if m is not None:
        last_day = day - dt.timedelta(days=m)
        cut = _start_of(last_day + dt.timedelta(days=1), tz)
        parts.append(
            _owned_before(cut) & (Q(last_won_on__isnull=True) | Q(last_won_on__lte=last_day))
        )
    if not parts:
        return None
    q = parts[0]
    for p in parts[1:]:
        q |= p
    return q


def _owned_customers() -> QuerySet[Customer]:
    return Customer.objects.filter(owner__isnull=False, deleted_at__isnull=True)


def _reclaim_filters(today: dt.date, tz: dt.tzinfo) -> Iterator[tuple[PoolRule, Q]]:
    for rule, owners in _rule_groups():
        due = _due_by(rule, today, tz)
        if due is not None:
            yield rule, owners & due


def _warning_filters(today: dt.date, tz: dt.tzinfo) -> Iterator[tuple[PoolRule, Q]]:
    """Customers due after today but within the rule's warning days."""
    for rule, owners in _rule_groups():
        if not rule.warning_days:
            continue
        soon = _due_by(rule, today + dt.timedelta(days=rule.warning_days), tz)
        now_due = _due_by(rule, today, tz)
        if soon is not None and now_due is not None:
            yield rule, owners & soon & ~now_due


def _any_of(filters: Iterator[tuple[PoolRule, Q]]) -> QuerySet[Customer]:
    q = None
    for _rule, f in filters:
        q = f if q is None else q | f
    return _owned_customers().filter(q) if q is not None else Customer.objects.none()


def customers_due_for_reclaim(*, now: dt.datetime) -> QuerySet[Customer]:
    """Owned, live customers whose return date is on or before the business date of `now`."""
    org = Organisation.get()
    return _any_of(_reclaim_filters(org.local_date(now), org.tz))


def customers_due_for_warning(*, now: dt.datetime) -> QuerySet[Customer]:
    """Owned, live customers that return to the pool after today but within their rule's
    `warning_days`."""
    org = Organisation.get()
    return _any_of(_warning_filters(org.local_date(now), org.tz))


def _pages(q: Q) -> Iterator[list[Customer]]:
    """The matching customers in id order, a page at a time (keyset paging: rows that
    leave the set while we work are not skipped over or read twice)."""
    qs = _owned_customers().filter(q).order_by("pk").only(*_SNAPSHOT_FIELDS)
    last = 0
    while True:
        page = list(qs.filter(pk__gt=last)[:PAGE])
        if not page:
            return
        last = page[-1].pk
        yield page


# -- messages ----------------------------------------------------------------------------


def _reason(customer: Customer, rule: PoolRule, tz: dt.tzinfo) -> str:
    """Why the customer returns, in the active language."""
    by_followup, by_won = _due_dates(customer, rule, tz)
    if by_followup is not None and (by_won is None or by_followup <= by_won):
        n = rule.reclaim_after_days_without_followup or 0
        return ngettext("no follow-up for %(days)d day", "no follow-up for %(days)d days", n) % {
            "days": n
        }
    m = rule.reclaim_after_days_without_won_deal or 0
    return ngettext("no deal won for %(days)d day", "no deal won for %(days)d days", m) % {
        "days": m
    }


def _users(ids: set[int | None]) -> dict[int | None, User]:
    return {u.pk: u for u in User.objects.filter(pk__in=ids).only("id", "language")}


# -- the daily jobs ----------------------------------------------------------------------


def _move_if_unchanged(customer: Customer, now: dt.datetime) -> bool:
    """The concurrency guard: one conditional UPDATE that succeeds only if the owner and
    every date the rule read are still as in the snapshot, and the row is not deleted."""
    if customer.owner_id is None:
        return False
    moved = Customer.all_objects.filter(
        pk=customer.pk,
        owner_id=customer.owner_id,
        owned_since=customer.owned_since,
        last_followup_at=customer.last_followup_at,
        last_won_on=customer.last_won_on,
        deleted_at__isnull=True,
    ).update(
        owner=None,
        owned_since=None,
        pool_entered_at=now,
        version=F("version") + 1,
        updated_at=now,
    )
    if moved:
        computed.refresh(Customer, [customer.pk])
    return moved == 1


def _record_reclaims(customers: list[Customer], rule: PoolRule, org: Organisation) -> None:
    """The pool history and the old owners' notices for customers just moved."""
    if not customers:
        return
    tz = org.tz
    owners = _users({c.owner_id for c in customers})
    events, notes = [], []
    for customer in customers:
        owner_id = customer.owner_id  # the owner it had until just now
        if owner_id is None:
            continue
        with translation.override(org.locale):
            reason = _reason(customer, rule, tz)
        events.append(
            PoolEvent(
                customer_id=customer.pk,
                user_id=owner_id,
                kind=PoolEvent.Kind.RECLAIMED,
                reason=reason[:200],
            )
        )
        owner = owners.get(owner_id)
        with translation.override(owner.language if owner else org.locale):
            message = _("Customer “%(name)s” has returned to the public pool: %(reason)s.") % {
                "name": customer.name,
                "reason": _reason(customer, rule, tz),
            }
        notes.append(Notification(recipient_id=owner_id, kind="pool_reclaimed", message=message))
    PoolEvent.objects.bulk_create(events)
    Notification.objects.bulk_create(notes)
    audit.record_many(
        by=None,
        objs=customers,
        action=audit.Action.RECLAIMED,
        changes=lambda c: {
            "owner": {
                "old": {"id": c.owner_id, "label": str(owners.get(c.owner_id, ""))},
                "new": None,
            }
        },
    )


def reclaim_customer(
    *, customer: Customer, rule: PoolRule, now: dt.datetime, org: Organisation | None = None
) -> bool:
    """Return one customer to the pool, if it is still exactly as read.

    `customer` is a snapshot taken when it was selected. The move is one conditional
    UPDATE on the owner and every date the rule reads, so a claim, hand-over, follow-up,
    won deal or deletion in between (or another worker doing the same run) leaves it
    alone. True if this call moved it."""
    with transaction.atomic():
        if not _move_if_unchanged(customer, now):
            return False
        _record_reclaims([customer], rule, org or Organisation.get())
    return True


def reclaim_customers(*, now: dt.datetime) -> int:
    """Return every customer due on the business date of `now` to the pool; how many moved.

    Idempotent and safe to run in several workers at once: each customer moves behind
    its own conditional UPDATE (see `reclaim_customer`); a page of customers, their
    pool events and notices commit together, so nothing is half-written."""
    org = Organisation.get()
    moved = 0
    for rule, q in _reclaim_filters(org.local_date(now), org.tz):
        for page in _pages(q):
            with transaction.atomic():
                done = [c for c in page if _move_if_unchanged(c, now)]
                _record_reclaims(done, rule, org)
            moved += len(done)
    if moved:
        logger.info("Returned %d customers to the public pool", moved)
    return moved


def warning_key(customer_id: int, due: dt.date) -> str:
    return f"pool-warning:{customer_id}:{due.isoformat()}"


def _warning_message(
    customer: Customer, rule: PoolRule, due: dt.date, today: dt.date, tz: dt.tzinfo
) -> str:
    days = (due - today).days
    values = {"name": customer.name, "date": formats.date_format(due), "days": days}
    by_followup, _by_won = _due_dates(customer, rule, tz)
    # Whole sentences per case (no message glued from pieces: word order and spacing
    # differ between the languages).
    if by_followup == due:
        return (
            ngettext(
                "Customer “%(name)s” returns to the public pool on %(date)s, in %(days)d day. "
                "Log a follow-up to keep it.",
                "Customer “%(name)s” returns to the public pool on %(date)s, in %(days)d days. "
                "Log a follow-up to keep it.",
                days,
            )
            % values
        )
    return (
        ngettext(
            "Customer “%(name)s” returns to the public pool on %(date)s, in %(days)d day. "
            "It has had no won deal for too long; talk to your manager to keep it.",
            "Customer “%(name)s” returns to the public pool on %(date)s, in %(days)d days. "
            "It has had no won deal for too long; talk to your manager to keep it.",
            days,
        )
        % values
    )


def warn_customers(*, now: dt.datetime) -> int:
    """Tell owners which of their customers return to the pool within the rule's warning
    days: one notification per customer and due date, however often this runs (the
    dedupe key makes a second insert a no-op). How many notifications were created."""
    org = Organisation.get()
    tz = org.tz
    today = org.local_date(now)
    created = 0
    for rule, q in _warning_filters(today, tz):
        for page in _pages(q):
            users = _users({c.owner_id for c in page})
            notes = []
            for customer in page:
                due = reclaim_due_on(customer=customer, rule=rule, tz=tz)
                owner = users.get(customer.owner_id)
                if due is None or owner is None:
                    continue
                with translation.override(owner.language):
                    message = _warning_message(customer, rule, due, today, tz)
                notes.append(
                    Notification(
                        recipient_id=owner.pk,
                        kind="pool_warning",
                        message=message,
                        dedupe_key=warning_key(customer.pk, due),
                    )
                )
            sent = set(
                Notification.objects.filter(
                    recipient_id__in=list(users), dedupe_key__in=[n.dedupe_key for n in notes]
                ).values_list("recipient_id", "dedupe_key")
            )
            fresh = [n for n in notes if (n.recipient_id, n.dedupe_key) not in sent]
            # A concurrent run may insert the same keys in between: the unique constraint
            # turns those into no-ops.
            Notification.objects.bulk_create(fresh, ignore_conflicts=True)
            created += len(fresh)
    return created


__all__ = [
    "customers_due_for_reclaim",
    "customers_due_for_warning",
    "days_left",
    "reclaim_customer",
    "reclaim_customers",
    "reclaim_due_on",
    "rule_for_team",
    "rule_for_user",
    "warn_customers",
    "warning_key",
]
