"""The cash forecast: expected collections per week and month for the next six months,
from the instalments still owed, weighted by each payer's history (`forecast_math`).

Profiles are estimated from every instalment due 60 to 730 days ago (all records: a
payer's habits are not anybody's view); the forecast is summed per owner and stored
each week (`take_snapshot`, from the daily job), so that a viewer sees the sum over the
owners they may see, and its accuracy is the stored forecast beside the collections KPI
of each period once it has passed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from salesops.analytics.engine import KpiContext
from salesops.analytics.kpis import collections_by_owner
from salesops.analytics.periods import Period
from salesops.crm.models import Customer, Payment, PaymentPlan
from salesops.org.models import Organisation
from salesops.receivables import ageing as ag
from salesops.receivables import forecast_math as fm
from salesops.receivables.models import ForecastSnapshot
from salesops.users.models import Target

HISTORY_FROM, HISTORY_TO = 730, 60
MONTHS = 6


def _cents(value: Any) -> int:
    return int((Decimal(value) * 100).to_integral_value())


def history(today: dt.date) -> dict[int, list[fm.Settled]]:
    """Settled instalments per customer (due 60 to 730 days before today)."""
    start, end = today - dt.timedelta(days=HISTORY_FROM), today - dt.timedelta(days=HISTORY_TO)
    plans = PaymentPlan.objects.filter(
        due_on__gte=start, due_on__lte=end, contract__deleted_at__isnull=True
    )
    contracts: dict[int, list[tuple[int, dt.date, int]]] = defaultdict(list)
    customer_of: dict[int, int] = {}
    for pid, cid, due, amount, cust in plans.values_list(
        "id", "contract_id", "due_on", "amount", "contract__customer_id"
    ):
        contracts[cid].append((pid, due, _cents(amount)))
        customer_of[cid] = cust
    alive = set(
        PaymentPlan.objects.filter(contract_id__in=list(contracts)).values_list("id", flat=True)
    )
    paid: dict[int, list[tuple[int | None, dt.date, int]]] = defaultdict(list)
    for cid, plan, day, amount in Payment.objects.filter(
        contract_id__in=list(contracts), received_on__lte=today
    ).values_list("contract_id", "plan_id", "received_on", "amount"):
        paid[cid].append((plan if plan in alive else None, day, _cents(amount)))
    # Instalments of those contracts due after the window take their share too.
    later: dict[int, list[tuple[int, dt.date, int]]] = defaultdict(list)
    for pid, cid, due, amount in PaymentPlan.objects.filter(
        contract_id__in=list(contracts), due_on__gt=end
    ).values_list("id", "contract_id", "due_on", "amount"):
        later[cid].append((pid, due, _cents(amount)))
    out: dict[int, list[fm.Settled]] = defaultdict(list)
    for cid, rows in contracts.items():
        settled = fm.settle(rows + later.get(cid, []), paid.get(cid, []))
        for pid, due, cents in rows:
            got, done = settled[pid]
            out[customer_of[cid]].append(
                fm.Settled(got / cents, (done - due).days if done is not None else None)
            )
    return out


@dataclass
class Profiles:
    customer: dict[int, fm.Profile]
    segment: dict[str, fm.Profile]
    organisation: fm.Profile | None

    def of(self, customer_id: int, industry: str) -> fm.Profile:
        return fm.choose(
            self.customer.get(customer_id), self.segment.get(industry), self.organisation
        )


def profiles(today: dt.date) -> Profiles:
    hist = history(today)
    industry = dict(Customer.all_objects.filter(pk__in=list(hist)).values_list("pk", "industry"))
    by_customer = {c: p for c, rows in hist.items() if (p := fm.estimate(rows)) is not None}
    by_segment: dict[str, list[fm.Settled]] = defaultdict(list)
    for c, rows in hist.items():
        by_segment[industry.get(c) or ""].extend(rows)
    segment = {s: p for s, rows in by_segment.items() if s and (p := fm.estimate(rows, "segment"))}
    everything = [r for rows in hist.values() for r in rows]
    return Profiles(by_customer, segment, fm.estimate(everything, "organisation"))


def forecast_by_owner(
    today: dt.date, plans: Any = None
) -> dict[int | None, dict[tuple[str, dt.date], Decimal]]:
    """Expected collections per owner, per ("week"|"month", start), base currency at
    today's rate."""
    rows = ag.outstanding_rows_of(plans, today)
    prof = profiles(today)
    industry = dict(
        Customer.all_objects.filter(pk__in={r[4] for r in rows}).values_list("pk", "industry")
    )
    rates = ag.rate_table()
    receipts: dict[int | None, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for owner, code, due, cents, cust, _pid in rows:
        owed = Decimal(cents) / 100 * rates.latest(code, today)
        receipts[owner].extend(
            fm.expected_receipts(owed, due, today, prof.of(cust, industry.get(cust) or ""))
        )
    return {owner: fm.bucket(r, today, MONTHS) for owner, r in receipts.items()}


@transaction.atomic
def take_snapshot(*, today: dt.date | None = None) -> int:
    """Store this week's forecast (made on its Monday) unless it is stored; rows written."""
    today = today or Organisation.get().local_date()
    made_on = fm.week_start(today)
    if ForecastSnapshot.objects.filter(made_on=made_on).exists():
        return 0
    rows = [
        ForecastSnapshot(
            made_on=made_on,
            owner_id=owner,
            kind=kind,
            period_start=start,
            expected=amount.quantize(Decimal("0.01")),
        )
        for owner, values in forecast_by_owner(today).items()
        for (kind, start), amount in values.items()
    ]
    ForecastSnapshot.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _visible_owner_filter(viewer: Any) -> Any:
    owners = viewer.visible_owner_ids()
    return {} if owners is None else {"owner_id__in": list(owners)}


def may_see(viewer: Any) -> bool:
    return bool(viewer.has_right("payment", "view")) and not ag.dates_hidden(viewer)


@dataclass
class ForecastView:
    made_on: dt.date
    weeks: list[tuple[dt.date, Decimal]]
    months: list[tuple[dt.date, Decimal, Decimal | None]]  # (month, expected, target)


def forecast_for(viewer: Any, *, today: dt.date | None = None) -> ForecastView:
    """The latest stored forecast, summed over the owners `viewer` may see, with the
    collections targets of those people per month."""
    today = today or Organisation.get().local_date()
    # This week's forecast, else the latest before it (the daily job makes this week's:
    # a minute at a million deals, not for a page to wait on); made now only when there
    # has never been one.
    made_on = (
        ForecastSnapshot.objects.filter(made_on__lte=fm.week_start(today))
        .order_by("-made_on")
        .values_list("made_on", flat=True)
        .first()
    )
    if made_on is None:
        take_snapshot(today=today)
        made_on = fm.week_start(today)
    sums: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    qs = ForecastSnapshot.objects.filter(made_on=made_on, **_visible_owner_filter(viewer))
    if not may_see(viewer):
        qs = qs.none()
    for kind, start, amount in qs.values_list("kind", "period_start", "expected"):
        sums[(kind, start)] += amount
    weeks_, months_ = fm.periods(today, MONTHS)
    targets: dict[dt.date, Decimal] = defaultdict(Decimal)
    tq = Target.objects.filter(
        metric=Target.Metric.COLLECTIONS,
        period_kind=Target.PeriodKind.MONTH,
        period_start__in=months_,
        user__isnull=False,
    )
    owners = viewer.visible_owner_ids()
    if owners is not None:
        tq = tq.filter(user_id__in=list(owners))
    for start, value in tq.values_list("period_start", "value"):
        targets[start] += Decimal(value)
    return ForecastView(
        made_on,
        [(w, sums.get(("week", w), Decimal(0))) for w in weeks_],
        [(m, sums.get(("month", m), Decimal(0)), targets.get(m)) for m in months_],
    )


@dataclass
class Accuracy:
    rows: list[tuple[str, dt.date, dt.date, Decimal, Decimal]]  # kind, start, made_on, f, a
    ape: float | None
    bias: float | None


def accuracy_for(viewer: Any, *, today: dt.date | None = None, kind: str = "month") -> Accuracy:
    """For each period of `kind` that has passed and was forecast: the forecast made at
    the latest week on or before its start, beside the collections KPI of the period
    (the same computation as everywhere), for the owners `viewer` may see."""
    today = today or Organisation.get().local_date()
    out = []
    if may_see(viewer):
        snaps = ForecastSnapshot.objects.filter(kind=kind, **_visible_owner_filter(viewer))
        starts = sorted(set(snaps.values_list("period_start", flat=True)), reverse=True)
        for start in starts:
            end = fm.add_months(start, 1) if kind == "month" else start + dt.timedelta(days=7)
            if end > today:
                continue
            made = (
                snaps.filter(period_start=start, made_on__lte=start)
                .order_by("-made_on")
                .values_list("made_on", flat=True)
                .first()
            )
            if made is None:
                continue
            forecast = sum(
                snaps.filter(period_start=start, made_on=made).values_list("expected", flat=True),
                Decimal(0),
            )
            ctx = KpiContext(viewer=viewer, period=Period(start, end), today=today)
            actual = sum(collections_by_owner(ctx, ctx.period).values(), Decimal(0))
            out.append((kind, start, made, forecast, actual))
            if len(out) >= 12:
                break
    ape, bias = fm.accuracy((f, a) for _k, _s, _m, f, a in out)
    return Accuracy(out, ape, bias)
