"""Read-side queries the pages need: a constant number of queries per page, whatever
the number of rows, and always within `visible_to(user)`."""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Q, QuerySet, Sum

from salesops.crm.models import Contact, Customer, Deal, Lead, PoolRule
from salesops.crm.pool import reclaim_due_on
from salesops.customization import policy, registry
from salesops.org.models import ExchangeRate, Organisation
from salesops.pipeline.models import Stage
from salesops.users.models import Team, User


def rules_by_owner(owner_ids: Iterable[int]) -> dict[int, PoolRule | None]:
    """The pool rule governing each owner (as `pool.rule_for_user`), in three queries."""
    ids = set(owner_ids)
    rules = {r.team_id: r for r in PoolRule.objects.filter(active=True)}
    if not rules or not ids:
        return dict.fromkeys(ids)
    parents: dict[int, int | None] = dict(Team.objects.values_list("id", "parent_id"))
    out: dict[int, PoolRule | None] = {}
    for uid, team_id in User.objects.filter(pk__in=ids).values_list("id", "team_id"):
        node, seen = team_id, set()
        while node is not None and node not in rules and node not in seen:
            seen.add(node)
            node = parents.get(node)
        out[uid] = rules[node] if node is not None and node in rules else rules.get(None)
    return out


def days_left_for(customers: list[Customer], today: dt.date | None = None) -> dict[int, int | None]:
    """Whole days before each owned customer returns to the public pool (None: never)."""
    org = Organisation.get()
    today = today or org.local_date()
    rules = rules_by_owner(c.owner_id for c in customers if c.owner_id)
    out: dict[int, int | None] = {}
    for c in customers:
        due = reclaim_due_on(
            customer=c, rule=rules.get(c.owner_id) if c.owner_id else None, tz=org.tz
        )
        out[c.pk] = None if due is None else max(0, (due - today).days)
    return out


def returning_soon(user: Any, *, within: int | None = None, limit: int = 10) -> list[Customer]:
    """The user's own customers that return to the pool within their rule's warning
    days (or `within`), soonest first, each with `days_left`."""
    rule = rules_by_owner([user.pk]).get(user.pk)
    if rule is None:
        return []
    window = within if within is not None else max(rule.warning_days, 7)
    mine = list(
        Customer.objects.visible_to(user)
        .filter(owner=user)
        .only(
            "id",
            "name",
            "owner_id",
            "owned_since",
            "created_at",
            "last_followup_at",
            "last_won_on",
            "deleted_at",
        )[:2000]
    )
    left = days_left_for(mine)
    soon = []
    for c in mine:
        days = left[c.pk]
        if days is not None and days <= window:
            c.days_left = days
            soon.append(c)
    soon.sort(key=lambda c: (left[c.pk] or 0, c.name))
    return soon[:limit]


def rates_today() -> dict[str, Decimal]:
    """The latest rate of every currency to the base currency (base: 1)."""
    org = Organisation.get()
    today = org.local_date()
    rates: dict[str, Decimal] = {str(org.base_currency_id): Decimal(1)}
    for code, rate in (
        ExchangeRate.objects.filter(effective_on__lte=today)
        .order_by("currency_id", "-effective_on")
        .values_list("currency_id", "rate")
    ):
        rates.setdefault(code, rate)
    return rates


def to_base(rows: Iterable[tuple[str, Decimal | None]], rates: dict[str, Decimal]) -> Decimal:
    """Σ amount × today's rate; a currency without a rate counts at 1 (and is reported
    by the KPI pages, which use dated rates)."""
    total = Decimal(0)
    for code, amount in rows:
        if amount:
            total += amount * rates.get(code, Decimal(1))
    return total.quantize(Decimal("0.01"))


def rates_since(day: dt.date) -> dict[str, list[tuple[dt.date, Decimal]]]:
    """Each currency's rates in force from `day` on: the one effective on `day` (the
    latest before it) and every later one, oldest first."""
    out: dict[str, list[tuple[dt.date, Decimal]]] = {}
    before = ExchangeRate.objects.filter(effective_on__lte=day).order_by(
        "currency_id", "-effective_on"
    )
    for code, on, rate in before.values_list("currency_id", "effective_on", "rate"):
        out.setdefault(code, [(on, rate)])
    later = ExchangeRate.objects.filter(effective_on__gt=day).order_by(
        "currency_id", "effective_on"
    )
    for code, on, rate in later.values_list("currency_id", "effective_on", "rate"):
        out.setdefault(code, []).append((on, rate))
    return out


def rate_on(rates: dict[str, list[tuple[dt.date, Decimal]]], code: str, day: dt.date) -> Decimal:
    """The rate of `code` effective on `day` (1 when none is known, as `to_base`)."""
    rate = Decimal(1)
    for on, value in rates.get(code, []):
        if on > day:
            break
        rate = value
    return rate


def stage_totals(deals: QuerySet[Deal], *, closed_since: dt.date) -> dict[int, dict[str, Any]]:
    """Per stage: how many deals and their amount in the base currency, for the open
    deals and those closed on or after `closed_since` (two grouped queries, read from
    the `deal_board` index). Open deals count at today's rate, closed ones at the rate
    of the day they closed, as the KPIs do."""
    base = str(Organisation.get().base_currency_id)
    today_rates = rates_today()
    dated = rates_since(closed_since)
    out: dict[int, dict[str, Any]] = {}

    def add(stage_id: int, n: int, amount: Decimal) -> None:
        slot = out.setdefault(stage_id, {"count": 0, "amount": Decimal(0)})
        slot["count"] += n
        slot["amount"] += amount

    # Both queries group in the order of the `deal_board` index (pipeline, status,
    # closed_on, stage, currency), so no database sorts the rows to group them: open
    # deals have no closing day (a check constraint), which the first query says so
    # that SQLite sees `closed_on` fixed; the second groups by status and day first.
    open_rows = (
        deals.filter(status=Deal.Status.OPEN, closed_on__isnull=True)
        .order_by()
        .values_list("stage_id", "currency_id")
        .annotate(n=Count("*"), total=Sum("amount"))
    )
    for stage_id, code, n, total in open_rows:
        add(stage_id, n, to_base([(code, total)], today_rates))
    closed_rows = (
        deals.filter(status__in=[Deal.Status.WON, Deal.Status.LOST], closed_on__gte=closed_since)
        .order_by()
        .values_list("status", "closed_on", "stage_id", "currency_id")
        .annotate(n=Count("*"), total=Sum("amount"))
    )
    for _status, day, stage_id, code, n, total in closed_rows:
        rate = Decimal(1) if code == base else rate_on(dated, code, day)
        add(stage_id, n, ((total or Decimal(0)) * rate).quantize(Decimal("0.01")))
    return out


def duplicates_of_lead(lead: Lead, user: Any, limit: int = 10) -> dict[str, list[Any]]:
    """Customers and contacts that look like the lead (same company name, phone or
    e-mail), among those `user` may see."""
    customer_q = Q()
    contact_q = Q()
    if lead.company:
        customer_q |= Q(name__iexact=lead.company.strip())
    if lead.phone:
        customer_q |= Q(phone=lead.phone)
        contact_q |= Q(phone=lead.phone) | Q(mobile=lead.phone)
    if lead.email:
        customer_q |= Q(email__iexact=lead.email)
        contact_q |= Q(email__iexact=lead.email)
    customers = (
        list(Customer.objects.visible_to(user).filter(customer_q).select_related("owner")[:limit])
        if customer_q
        else []
    )
    contacts = (
        list(Contact.objects.visible_to(user).filter(contact_q).select_related("customer")[:limit])
        if contact_q
        else []
    )
    return {"customers": customers, "contacts": contacts}


#: The kinds global search looks in, and their object types in the metadata registry.
SEARCH_KINDS: dict[str, str] = {
    "leads": "lead",
    "customers": "customer",
    "contacts": "contact",
    "deals": "deal",
}


def search_paths(user: Any, kind: str) -> list[str]:
    """The columns global search looks in for `kind`: the registry's searchable fields
    that `user` may see (a hidden phone number is never matched), those of the record
    itself only. A reference's name (a deal's customer) is searched by the kind's list;
    joined here, no trigram index of crm 0006 would answer it."""
    return [p for p in policy.searchable_paths(user, SEARCH_KINDS[kind]) if "__" not in p]


#: Global search first looks among this many of the newest rows of each kind.
RECENT_WINDOW = 5_000

#: Where no index answers the term (SQLite; terms of two characters on PostgreSQL),
#: global search reads at most this many of the newest records of each kind the user
#: may see, so that a rare term costs what a common one costs.
SEARCH_WINDOW = 20_000


class SearchResults(dict[str, list[Any]]):
    """The records found per kind; `partial` names the kinds of which only the newest
    `SEARCH_WINDOW` records the user may see were searched and fewer than the limit
    matched (older records may match too: the kind's list searches all of them)."""

    def __init__(self, found: dict[str, list[Any]], partial: Iterable[str] = ()) -> None:
        super().__init__(found)
        self.partial = [kind for kind in found if kind in set(partial)]


def global_search(user: Any, text: str, limit: int = 10) -> SearchResults:
    """Leads, customers, contacts and deals whose name, phone or e-mail contains `text`
    (any case; only the fields `search_paths` lets the user search), within the user's
    data scope: the `limit` newest of each kind, at most
    four queries per kind (none when the role may not view the kind).

    On PostgreSQL, a term of three or more characters is looked for among all records:
    first among the `RECENT_WINDOW` newest rows (read backwards by id until `limit`
    hits); when they do not hold enough hits the term is rare, and the trigram index of
    migration crm 0006 lists every match (asked without ORDER BY/LIMIT, so the planner
    does not walk the primary key through a million rows instead).

    No index answers other terms (SQLite has no trigram index; two characters make no
    trigram), so they are looked for among the `SEARCH_WINDOW` newest records of each
    kind the user may see (two queries: where that window starts, then the matches in
    it). Without the bound, a rare term read every row of four tables; the result says
    which kinds were cut short (`SearchResults.partial`)."""
    text = text.strip()[:100]
    partial: list[str] = []
    if len(text) < 2:
        return SearchResults({"leads": [], "customers": [], "contacts": [], "deals": []})
    indexed = connection.vendor == "postgresql" and len(text) >= 3

    def like(paths: list[str]) -> Q:
        q = Q()
        for f in paths:
            q |= Q(**{f"{f}__icontains": text})
        return q

    def found(model: Any, right: str, kind: str, *related: str) -> list[Any]:
        paths = search_paths(user, kind)
        if not user.has_right(right, "view") or not paths:
            return []
        visible = model.objects.visible_to(user)
        qs = visible.filter(like(paths))
        rows = qs.select_related(*related) if related else qs
        if not indexed:
            edge = list(
                visible.order_by("-pk").values_list("pk", flat=True)[
                    SEARCH_WINDOW - 1 : SEARCH_WINDOW
                ]
            )
            if edge:
                rows = rows.filter(pk__gte=edge[0])
            hits = list(rows.order_by("-pk")[:limit])
            if edge and len(hits) < limit:
                partial.append(kind)
            return hits
        newest = model.all_objects.aggregate(top=Max("pk"))["top"] or 0
        recent = list(rows.filter(pk__gt=newest - RECENT_WINDOW).order_by("-pk")[:limit])
        if len(recent) == limit:
            return recent
        ids = heapq.nlargest(limit, qs.order_by().values_list("pk", flat=True))
        return list(rows.filter(pk__in=ids).order_by("-pk"))

    return SearchResults(
        {
            "leads": found(Lead, "lead", "leads"),
            "customers": found(Customer, "customer", "customers"),
            "contacts": found(Contact, "contact", "contacts", "customer"),
            "deals": attach_related(found(Deal, "deal", "deals")),
        },
        partial,
    )


@dataclass
class ObjectResults:
    """One custom object's search hits: `partial` when only its `SEARCH_WINDOW`
    newest records the user may see were searched and fewer than the limit matched."""

    spec: Any
    rows: list[Any]
    partial: bool = False


def search_custom_objects(user: Any, text: str, limit: int = 10) -> list[ObjectResults]:
    """The custom objects' records (自定义对象) whose title (or another searchable field
    the user may see) contains `text`, per object the user may view, within their data
    scope (`spec.visible`): the `limit` newest among the `SEARCH_WINDOW` newest records
    of each, two queries per object (no trigram index serves these titles). Objects
    without a hit (and searched whole) are left out."""
    text = text.strip()[:100]
    if len(text) < 2:
        return []
    out: list[ObjectResults] = []
    for spec in registry.objects():
        if not spec.is_custom_object or not user.has_right(spec.rights_type, "view"):
            continue
        paths = [p for p in policy.searchable_paths(user, spec.key) if "__" not in p]
        if not paths:
            continue
        condition = Q()
        for path in paths:
            condition |= Q(**{f"{path}__icontains": text})
        visible = spec.visible(user)
        edge = list(
            visible.order_by("-pk").values_list("pk", flat=True)[SEARCH_WINDOW - 1 : SEARCH_WINDOW]
        )
        rows = visible.filter(condition)
        if edge:
            rows = rows.filter(pk__gte=edge[0])
        hits = list(rows.order_by("-pk")[:limit])
        partial = bool(edge) and len(hits) < limit
        if hits or partial:
            out.append(ObjectResults(spec, hits, partial=partial))
    return out


def attach_related(deals: list[Deal]) -> list[Deal]:
    """The deals with their stage and customer objects, one query each. Joined
    instead, the few stages (or the customers) made SQLite's planner loop over them
    and sort every deal before the LIMIT. Customers are read without the visibility
    rule, as `select_related` did: a visible deal names its customer."""
    if not deals:
        return deals
    stages = Stage.objects.in_bulk({d.stage_id for d in deals})
    customers = Customer.all_objects.in_bulk({d.customer_id for d in deals})
    for d in deals:
        d.stage = stages[d.stage_id]
        d.customer = customers[d.customer_id]
    return deals
