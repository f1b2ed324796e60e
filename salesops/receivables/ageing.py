"""Receivables ageing: what is still owed on each payment-plan instalment, and how late.

The matching rule (decision 0021): a payment linked to an instalment counts against it;
the payments of a contract linked to none (or to a deleted instalment) are allocated to
the contract's instalments oldest due first (FIFO: due date, then id), each taking what is
left of it after its linked payments. Deleted instalments, payments and contracts do not
count. Amounts are in the contract's currency (payments are recorded in it), in integer
cents in the database, and converted to the base currency at the rate of the day asked
about (today's for the ageing page).

All of it is one SQL statement with a window function, over the contracts that have an
instalment the viewer may see; only instalments the viewer may see are returned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from salesops.analytics.formulas import RateTable
from salesops.crm.models import PaymentPlan
from salesops.customization.policy import hidden_keys
from salesops.org.models import ExchangeRate, Organisation
from salesops.users.models import Team, User

#: Buckets of days overdue (today − due date, in the organisation's time zone).
BUCKETS: tuple[tuple[str, Any], ...] = (
    ("not_due", _("Not due")),
    ("d1_30", _("1–30 days")),
    ("d31_60", _("31–60 days")),
    ("d61_90", _("61–90 days")),
    ("d90_plus", _("Over 90 days")),
)
BUCKET_KEYS = tuple(k for k, _label in BUCKETS)
GROUPS: tuple[tuple[str, Any], ...] = (
    ("customer", _("Customer")),
    ("rep", _("Rep")),
    ("team", _("Team")),
)
GROUP_KEYS = tuple(k for k, _label in GROUPS)

#: Fields the amounts depend on: a viewer from whom one is hidden gets counts only.
MONEY_READS = frozenset(
    {("payment_plan", "amount"), ("payment", "amount"), ("payment", "received_on")}
)
#: Fields the buckets depend on: a viewer from whom one is hidden gets nothing.
DATE_READS = frozenset({("payment_plan", "due_on")})


def money_hidden(viewer: Any) -> bool:
    return any(key in hidden_keys(viewer, obj) for obj, key in MONEY_READS)


def dates_hidden(viewer: Any) -> bool:
    return any(key in hidden_keys(viewer, obj) for obj, key in DATE_READS)


def bucket_of(days_overdue: int) -> str:
    """The bucket of an instalment `days_overdue` days past its due date (≤ 0: not due)."""
    if days_overdue <= 0:
        return "not_due"
    if days_overdue <= 30:
        return "d1_30"
    if days_overdue <= 60:
        return "d31_60"
    if days_overdue <= 90:
        return "d61_90"
    return "d90_plus"


@dataclass
class Narrow:
    """What the instalments are narrowed to, besides the viewer's data scope."""

    owner_id: int | None = None
    team_id: int | None = None  # owners whose primary team it is
    customer_id: int | None = None
    region: str = ""
    industry: str = ""
    #: Only these owners (e.g. a KPI context's team filter); None: no restriction.
    owner_ids: set[int] | None = None


def visible_plans(viewer: Any, narrow: Narrow | None = None) -> QuerySet[PaymentPlan]:
    """The instalments `viewer` may see (alive, on an alive contract), narrowed."""
    n = narrow or Narrow()
    qs = PaymentPlan.objects.visible_to(viewer).filter(contract__deleted_at__isnull=True)
    if n.owner_id is not None:
        qs = qs.filter(owner_id=n.owner_id)
    if n.team_id is not None:
        # The owners whose primary team it is: the ageing's team rows (sub-teams have rows
        # of their own).
        qs = qs.filter(owner_id__in=User.objects.filter(team_id=n.team_id).values("id"))
    if n.customer_id is not None:
        qs = qs.filter(contract__customer_id=n.customer_id)
    if n.region:
        qs = qs.filter(contract__customer__region=n.region)
    if n.industry:
        qs = qs.filter(contract__customer__industry=n.industry)
    if n.owner_ids is not None:
        qs = qs.filter(owner_id__in=list(n.owner_ids))
    return qs


def _cents(expr: str) -> str:
    return f"cast(round({expr} * 100) as bigint)"


def open_sql(visible: QuerySet[PaymentPlan] | None, as_of: dt.date) -> tuple[str, list[Any]]:
    """SQL of the instalments of `visible` (None: every one) still owed at the end of
    `as_of` (payments received on or before it), one row each: id, contract_id,
    customer_id, owner_id, currency_id, due_on, amount_cents, outstanding_cents."""
    if visible is None:
        # Every instalment: the same statement without its two permission subqueries.
        scope_cte, in_scope_pay, in_scope_pl, final = "", "", "", ""
        head: list[Any] = []
        tail: list[Any] = []
    else:
        vis_sql, vis_params = visible.order_by().values("id").query.sql_with_params()
        scope_cte = f"""scope as (
          select distinct v.contract_id from crm_paymentplan v where v.id in ({vis_sql})
        ),"""  # noqa: S608 (the ORM's own SQL; values are parameters)
        in_scope_pay = "and y.contract_id in (select contract_id from scope)"
        in_scope_pl = "and p.contract_id in (select contract_id from scope)"
        final = f"and o.id in ({vis_sql})"
        head, tail = list(vis_params), list(vis_params)
    sql = f"""
    with {scope_cte}
    linked as (
      select y.plan_id, {_cents("sum(y.amount)")} as s from crm_payment y
      where y.deleted_at is null and y.received_on <= %s and y.plan_id is not null {in_scope_pay}
      group by y.plan_id
    ),
    pl as (
      select p.id, p.contract_id, c.customer_id, p.owner_id, c.currency_id, p.due_on,
        {_cents("p.amount")} as amount_c,
        {_cents("p.amount")} - coalesce(linked.s, 0) as rem
      from crm_paymentplan p join crm_contract c on c.id = p.contract_id
      left join linked on linked.plan_id = p.id
      where p.deleted_at is null and c.deleted_at is null {in_scope_pl}
    ),
    pool as (
      select y.contract_id, {_cents("sum(y.amount)")} as s from crm_payment y
      where y.deleted_at is null and y.received_on <= %s {in_scope_pay}
        and (y.plan_id is null or y.plan_id in (
          select q.id from crm_paymentplan q where q.deleted_at is not null))
      group by y.contract_id
    ),
    w as (
      select pl.*, case when pl.rem > 0 then pl.rem else 0 end as r,
        coalesce(pool.s, 0) as pooled,
        sum(case when pl.rem > 0 then pl.rem else 0 end) over (
          partition by pl.contract_id order by pl.due_on, pl.id
          rows between unbounded preceding and current row) as cum
      from pl left join pool on pool.contract_id = pl.contract_id
    ),
    o as (
      select w.id, w.contract_id, w.customer_id, w.owner_id, w.currency_id, w.due_on,
        w.amount_c,
        case when w.pooled >= w.cum then 0 when w.pooled <= w.cum - w.r then w.r
             else w.cum - w.pooled end as outstanding_c
      from w
    )
    select o.id, o.contract_id, o.customer_id, o.owner_id, o.currency_id, o.due_on,
      o.amount_c, o.outstanding_c from o
    where o.outstanding_c > 0 {final}
    """  # noqa: S608 (fixed names; values are parameters)
    return sql, [*head, as_of, as_of, *tail]


def sees_all(viewer: Any, narrow: Narrow | None) -> bool:
    """Whether `viewer` sees every instalment and nothing narrows them."""
    from salesops.lib.models import visibility

    return (narrow is None or narrow == Narrow()) and visibility(PaymentPlan, viewer) is True


def scoped(viewer: Any, narrow: Narrow | None) -> QuerySet[PaymentPlan] | None:
    """What `open_sql` reads for `viewer`: None when it is every instalment."""
    return None if sees_all(viewer, narrow) else visible_plans(viewer, narrow)


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run one of these statements; on PostgreSQL with room to sort in memory (its
    window and groupings sort every instalment in scope: the default work_mem spills
    them to disk at scale)."""
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("set local work_mem = '64MB'")
        cur.execute(sql, params)
        return list(cur.fetchall())


def _bucket_sql(today: dt.date) -> tuple[str, list[Any]]:
    days = [today - dt.timedelta(days=n) for n in (0, 30, 60, 90)]
    sql = (
        "case when t.due_on >= %s then 'not_due' when t.due_on >= %s then 'd1_30' "
        "when t.due_on >= %s then 'd31_60' when t.due_on >= %s then 'd61_90' "
        "else 'd90_plus' end"
    )
    return sql, list(days)


_GROUP_SQL = {
    "customer": ("t.customer_id", ""),
    "rep": ("t.owner_id", ""),
    "team": ("u.team_id", "left join users_user u on u.id = t.owner_id"),
}


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def rate_table() -> RateTable:
    org = Organisation.get()
    rows = ExchangeRate.objects.values_list("currency_id", "effective_on", "rate")
    return RateTable(str(org.base_currency_id), rows)


@dataclass
class Cell:
    count: int = 0
    amount: Decimal = Decimal(0)  # base currency


@dataclass
class Row:
    key: int | None
    name: str
    cells: dict[str, Cell] = field(default_factory=lambda: {k: Cell() for k in BUCKET_KEYS})

    @property
    def total(self) -> Cell:
        return Cell(
            sum(c.count for c in self.cells.values()),
            sum((c.amount for c in self.cells.values()), Decimal(0)),
        )

    @property
    def overdue(self) -> Cell:
        cells = [c for k, c in self.cells.items() if k != "not_due"]
        return Cell(sum(c.count for c in cells), sum((c.amount for c in cells), Decimal(0)))


@dataclass
class Ageing:
    today: dt.date
    group: str
    rows: list[Row]
    totals: Row
    base_currency: str
    money: bool  # False: amounts are withheld from this viewer
    count: int = 0  # rows in all (`rows` may be one page of them)


def ageing(
    viewer: Any,
    *,
    group: str = "customer",
    today: dt.date | None = None,
    narrow: Narrow | None = None,
    rates: RateTable | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Ageing:
    """Σ outstanding per (group, bucket) in the base currency at `today`'s rate (rows
    sorted by the overdue amount, then the total; `limit` of them from `offset`, the
    totals over all). Aggregated in SQL per group, bucket and currency; converted here."""
    if group not in GROUP_KEYS:
        group = "customer"
    org = Organisation.get()
    today = today or org.local_date()
    rates = rates or rate_table()
    column, join = _GROUP_SQL[group]
    inner, params = open_sql(scoped(viewer, narrow), today)
    bucket, bparams = _bucket_sql(today)
    sql = f"""with t as ({inner}) select {column}, {bucket} as b, t.currency_id, count(*),
        sum(t.outstanding_c) from t {join} group by {column}, b, t.currency_id"""  # noqa: S608
    found = _fetch(sql, [*params, *bparams])
    rows: dict[Any, Row] = {}
    totals = Row(None, "")
    for key, b, code, n, cents in found:
        amount = Decimal(int(cents)) / 100 * rates.latest(str(code), today)
        row = rows.setdefault(key, Row(key, ""))
        for target in (row.cells[b], totals.cells[b]):
            target.count += n
            target.amount += amount

    def rank(r: Row) -> tuple[Decimal, Decimal, bool, int]:
        owed = Decimal(0)
        overdue = Decimal(0)
        for k, c in r.cells.items():
            owed += c.amount
            if k != "not_due":
                overdue += c.amount
        return (-overdue, -owed, r.key is None, r.key or 0)

    ordered = sorted(rows.values(), key=rank)
    shown = ordered[offset : offset + limit] if limit is not None else ordered[offset:]
    names = _names(group, {r.key for r in shown})
    for r in shown:
        r.name = names.get(r.key, "—")
    return Ageing(
        today,
        group,
        shown,
        totals,
        str(org.base_currency_id),
        not money_hidden(viewer),
        count=len(ordered),
    )


def _names(group: str, keys: set[Any]) -> dict[Any, str]:
    from salesops.crm.models import Customer

    ids = [k for k in keys if k is not None]
    if group == "customer":
        return dict(Customer.all_objects.filter(pk__in=ids).values_list("pk", "name"))
    if group == "rep":
        return {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}
    return dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))


def name_of(viewer: Any, group: str, key: int) -> str:
    """The name of one row's customer, person or team, if `viewer` may see a customer
    of that id ("" otherwise: a drill-down to someone else's customer names nobody)."""
    from salesops.crm.models import Customer

    if group == "customer":
        found = Customer.objects.visible_to(viewer).filter(pk=key).values_list("name", flat=True)
        return next(iter(found), "")
    return _names(group, {key}).get(key, "")


def narrow_for(group: str, key: int | None, base: Narrow | None = None) -> Narrow:
    """`base` further narrowed to one row of the ageing table."""
    n = Narrow(**vars(base)) if base is not None else Narrow()
    if key is None:
        return n
    if group == "customer":
        n.customer_id = key
    elif group == "rep":
        n.owner_id = key
    elif group == "team":
        n.team_id = key
    return n


@dataclass
class Line:
    """One instalment still owed."""

    plan: PaymentPlan
    currency: str
    amount: Decimal
    outstanding: Decimal
    outstanding_base: Decimal
    days_overdue: int
    bucket: str


def instalments(
    viewer: Any,
    *,
    today: dt.date | None = None,
    narrow: Narrow | None = None,
    bucket: str = "",
    limit: int | None = None,
    rates: RateTable | None = None,
    team_exact: bool = False,
) -> list[Line]:
    """The instalments still owed (of one bucket, when given), oldest due first."""
    org = Organisation.get()
    today = today or org.local_date()
    rates = rates or rate_table()
    inner, params = open_sql(scoped(viewer, narrow), today)
    sql = f"with t as ({inner}) select t.* from t"  # noqa: S608
    extra: list[Any] = []
    if bucket in BUCKET_KEYS:
        bsql, bparams = _bucket_sql(today)
        sql += f" where {bsql} = %s"
        extra = [*bparams, bucket]
    sql += " order by t.due_on, t.id"
    if limit is not None:
        sql += f" limit {int(limit)}"
    found = _fetch(sql, [*params, *extra])
    plans = PaymentPlan.objects.select_related("contract__customer", "owner").in_bulk(
        [r[0] for r in found]
    )
    out = []
    for pid, _c, _cu, _o, code, due, amount_c, outstanding_c in found:
        days = (today - _date(due)).days
        outstanding = Decimal(int(outstanding_c)) / 100
        out.append(
            Line(
                plan=plans[pid],
                currency=str(code),
                amount=Decimal(int(amount_c)) / 100,
                outstanding=outstanding,
                outstanding_base=outstanding * rates.latest(str(code), today),
                days_overdue=max(days, 0),
                bucket=bucket_of(days),
            )
        )
    return out


def outstanding_rows(
    viewer: Any, as_of: dt.date, narrow: Narrow | None = None
) -> list[tuple[int | None, str, dt.date, int, int, int]]:
    """(owner, currency, due date, outstanding cents, customer, instalment) per
    instalment still owed at the end of `as_of`: what the KPIs and the forecast read."""
    return outstanding_rows_of(scoped(viewer, narrow), as_of)


def outstanding_rows_of(
    plans: QuerySet[PaymentPlan] | None, as_of: dt.date
) -> list[tuple[int | None, str, dt.date, int, int, int]]:
    """`outstanding_rows` of these instalments, whoever asks (jobs)."""
    inner, params = open_sql(plans, as_of)
    found = _fetch(
        f"with t as ({inner}) select t.owner_id, t.currency_id, t.due_on, t.outstanding_c, "  # noqa: S608
        "t.customer_id, t.id from t",
        params,
    )
    return [(o, str(c), _date(d), int(s), cu, i) for o, c, d, s, cu, i in found]
