"""Measuring the ageing at scale beside its limits (DESIGN.md, performance budgets: the
ageing page ≤ 1 s at the bench scale).

Timed in the same run on the same data:
- the ageing page as an administrator sees it (the whole request: the table per customer
  and the two KPI tiles), and as the first sales rep;
- `ageing.ageing` alone (the SQL statement of decision 0021 and the conversion);
- the same rule hand-written in SQL over every instalment, without the permission
  subquery (the database's own cost of the rule);
- a plain Σ of the instalments per customer and currency, with no payments matched (a
  floor: what any ageing must read at least).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection

RULE_SQL = """
with linked as (
  select plan_id, round(sum(amount) * 100) as s from crm_payment
  where deleted_at is null and received_on <= %(today)s and plan_id is not null
  group by plan_id
),
pl as (
  select p.id, p.contract_id, c.customer_id, c.currency_id, p.due_on,
    round(p.amount * 100) - coalesce(linked.s, 0) as rem
  from crm_paymentplan p join crm_contract c on c.id = p.contract_id
  left join linked on linked.plan_id = p.id
  where p.deleted_at is null and c.deleted_at is null
),
pool as (
  select contract_id, round(sum(amount) * 100) as s from crm_payment
  where deleted_at is null and received_on <= %(today)s and (plan_id is null
    or plan_id in (select id from crm_paymentplan where deleted_at is not null))
  group by contract_id
),
w as (
  select pl.*, case when rem > 0 then rem else 0 end as r, coalesce(pool.s, 0) as pooled,
    sum(case when rem > 0 then rem else 0 end) over (partition by pl.contract_id
      order by pl.due_on, pl.id rows between unbounded preceding and current row) as cum
  from pl left join pool on pool.contract_id = pl.contract_id
),
o as (
  select customer_id, currency_id, due_on,
    case when pooled >= cum then 0 when pooled <= cum - r then r else cum - pooled end as owed
  from w
)
select customer_id, case when due_on >= %(d0)s then 0 when due_on >= %(d30)s then 1
  when due_on >= %(d60)s then 2 when due_on >= %(d90)s then 3 else 4 end as b,
  currency_id, count(*), sum(owed)
from o where owed > 0 group by 1, 2, 3
"""

FLOOR_SQL = """select c.customer_id, c.currency_id, sum(p.amount) from crm_paymentplan p
join crm_contract c on c.id = p.contract_id where p.deleted_at is null
and c.deleted_at is null group by 1, 2"""


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def run_sql(sql: str, params: dict[str, Any], repeat: int) -> tuple[float, int]:
    """Median seconds of `sql` (with the same work_mem as the product's statement)."""
    from django.db import transaction

    def once() -> int:
        with transaction.atomic(), connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute("set local work_mem = '64MB'")
            cur.execute(sql, params)
            return len(cur.fetchall())

    return timed(once, repeat)
