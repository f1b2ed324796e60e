"""Pipeline snapshots: the job that takes them, and the pipeline as of a past day.

**When.** The worker's schedule ticks every hour (`ForecastingConfig.ready` registers one
job per hour, as the subscriptions do); `take_due_snapshot` takes today's snapshot when
today (organisation's time zone) is the weekday of `SnapshotSettings` or the last day of
a month (so every fiscal quarter end too: fiscal quarters are whole months), once the
hour of the settings has come. The unique `taken_on` makes each snapshot happen once
even when several workers, or a catching-up worker, run the tick. A day missed
altogether (no worker all day) is not made up later: the state of that day can no
longer be read, and the as-of rule below falls back to the stage history.

**How.** One INSERT … SELECT copies every open, not deleted deal into `SnapshotRow`
(owner, owner's team, stage, category letter, expected close, amount × the currency's
rate effective that day, rounded to cents), on SQLite and PostgreSQL alike.

**The pipeline as of day D** (the end of D in the organisation's time zone), `as_of`:

1. D today or later: the live pipeline (open deals now, at today's rate).
2. Else, when a snapshot was taken on or before D: the nearest such snapshot, as it was
   recorded (its day is the answer's `effective_on`; rows, amounts at that day's rate).
3. Else, reconstructed: the deals created on or before D, not deleted by the end of D,
   whose stage-history stay at the end of D is an open stage (deals without any
   stage history: not closed by D); their stage is that stay's, the amount, currency
   (at D's rate), expected close and owner today's values (the history keeps stages
   only: the reason snapshots exist), the category today's when the deal is still in
   that stage, else that stage's default category.

Visibility: a snapshot row is visible to a person when their data scope covers the
owner the row recorded (or they collaborate on the deal); reconstructed and live rows
follow the deal's current owner, like every deal query.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.tasks import task
from django.utils import timezone

from salesops.analytics.formulas import MissingRate, RateTable
from salesops.crm.models import Deal
from salesops.crm.models.deals import StageHistory
from salesops.forecasting.models_snapshots import (
    CATEGORY_CODES,
    CATEGORY_OF_CODE,
    PipelineSnapshot,
    SnapshotRow,
    SnapshotSettings,
)
from salesops.lib.models import visibility
from salesops.org.models import ExchangeRate, Organisation
from salesops.pipeline.models import Stage
from salesops.users.models import User

logger = logging.getLogger(__name__)

ONE_DAY = dt.timedelta(days=1)


# -- when ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reasons:
    weekly: bool
    month_end: bool
    quarter_end: bool

    def __bool__(self) -> bool:
        return self.weekly or self.month_end


def reasons_for(day: dt.date, *, weekday: int, fiscal_start_month: int) -> Reasons:
    """Why `day` gets a snapshot: its weekday is the weekly one, it ends a month, it ends
    a fiscal quarter (quarters of the fiscal year starting in `fiscal_start_month`)."""
    month_end = (day + ONE_DAY).day == 1
    quarter_end = month_end and (day.month - fiscal_start_month) % 3 == 2
    return Reasons(day.weekday() == weekday, month_end, quarter_end)


def rate_table() -> RateTable:
    org = Organisation.get()
    rows = ExchangeRate.objects.values_list("currency_id", "effective_on", "rate")
    return RateTable(str(org.base_currency_id), rows)


def take_snapshot(*, day: dt.date, reasons: Reasons | None = None) -> PipelineSnapshot | None:
    """Snapshot every open deal as `day`'s; None when `day` has one already. MissingRate
    when an open deal's currency has no rate on or before `day` (nothing is written)."""
    org = Organisation.get()
    if reasons is None:
        settings = SnapshotSettings.get()
        reasons = reasons_for(
            day, weekday=settings.weekday, fiscal_start_month=org.fiscal_year_start_month
        )
    rates = rate_table()
    codes = list(
        Deal.objects.filter(status=Deal.Status.OPEN)
        .order_by()
        .values_list("currency_id", flat=True)
        .distinct()
    )
    rate_of = {code: rates.rate_on(code, day) for code in codes}  # MissingRate: nothing written
    try:
        with transaction.atomic():
            snap = PipelineSnapshot.objects.create(
                taken_on=day,
                taken_at=timezone.now(),
                weekly=reasons.weekly,
                month_end=reasons.month_end,
                quarter_end=reasons.quarter_end,
                base_currency=str(org.base_currency_id),
            )
            count = _insert_rows(snap.pk, rate_of)
            snap.deals = count
            snap.save(update_fields=["deals"])
    except IntegrityError:
        return None  # another worker took it
    return snap


def _insert_rows(snapshot_id: int, rate_of: dict[str, Decimal]) -> int:
    """The one INSERT … SELECT of a snapshot; the number of rows written."""
    row, deal, user = SnapshotRow._meta.db_table, Deal._meta.db_table, User._meta.db_table
    q = connection.ops.quote_name
    params: list[Any] = [snapshot_id]
    category = " ".join("WHEN %s THEN %s" for _ in CATEGORY_CODES)
    for value, code in CATEGORY_CODES.items():
        params += [str(value), code]
    # Rates are Decimals read from the database: written as numeric literals, so that
    # both databases multiply exact decimals (no parameter typed as text).
    rate = " ".join(f"WHEN %s THEN {Decimal(r)!s}" for r in rate_of.values())
    params += list(rate_of)
    rate_case = f"CASE d.currency_id {rate} ELSE 1 END" if rate_of else "1"
    params.append(Deal.Status.OPEN)
    # Table names quoted, rates Decimal literals, values as parameters.
    sql = f"""
        INSERT INTO {q(row)} (snapshot_id, deal_id, owner_id, team_id, stage_id, category,
                              expected_close, amount_base)
        SELECT %s, d.id, d.owner_id, u.team_id, d.stage_id,
               CASE d.forecast_category {category} ELSE 'P' END,
               d.expected_close, ROUND(d.amount * {rate_case}, 2)
        FROM {q(deal)} d LEFT JOIN {q(user)} u ON u.id = d.owner_id
        WHERE d.status = %s AND d.deleted_at IS NULL
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def take_due_snapshot_now(now: dt.datetime | None = None) -> PipelineSnapshot | None:
    """Today's snapshot when today is a snapshot day and its hour has come, once."""
    org = Organisation.get()
    local = timezone.localtime(now or timezone.now(), org.tz)
    settings = SnapshotSettings.get()
    if local.hour < settings.hour:
        return None
    day = local.date()
    reasons = reasons_for(
        day, weekday=settings.weekday, fiscal_start_month=org.fiscal_year_start_month
    )
    if not reasons or PipelineSnapshot.objects.filter(taken_on=day).exists():
        return None
    try:
        return take_snapshot(day=day, reasons=reasons)
    except MissingRate as e:
        logger.error("No pipeline snapshot for %s: no exchange rate for %s", day, e.code)
        return None


@task
def take_due_snapshot() -> None:
    take_due_snapshot_now()


# -- the pipeline as of a day ------------------------------------------------------------------


class Row(NamedTuple):
    """One open deal at a day; `visible`: to the person asking (rows fetched for others'
    deals, to tell where a deal went, are not)."""

    deal_id: int
    owner_id: int | None
    stage_id: int
    category: str
    expected_close: dt.date | None
    amount: Decimal
    visible: bool = True


@dataclass
class AsOf:
    day: dt.date  # asked for
    effective_on: dt.date  # the state read: the snapshot's day, or `day`
    source: str  # "live", "snapshot" or "history"
    rows: dict[int, Row]


def row_scope(viewer: Any) -> Q | bool:
    """`visibility(Deal, viewer)` stated on snapshot rows: the owner they recorded, or a
    deal the viewer collaborates on."""
    rule = visibility(Deal, viewer)
    if rule is True or rule is False:
        return rule
    owners = viewer.visible_owner_ids()
    condition = Q(owner_id__in=list(owners))
    extra = Deal.extra_visibility(viewer, prefix="deal__")
    return condition | extra if extra is not None else condition


def snapshot_at_or_before(day: dt.date) -> PipelineSnapshot | None:
    return PipelineSnapshot.objects.filter(taken_on__lte=day).order_by("-taken_on").first()


def as_of(
    *,
    viewer: Any,
    day: dt.date,
    deal_ids: Iterable[int] | None = None,
    today: dt.date | None = None,
    rates: RateTable | None = None,
    closing: tuple[dt.date, dt.date] | None = None,
) -> AsOf:
    """The open pipeline at the end of `day` (module docstring's rule), visible to
    `viewer`; `viewer=None`: everyone's, each row marked not visible (used with
    `deal_ids` to tell where a few deals went); `closing` (start, end): only deals
    expected to close in [start, end). MissingRate without a rate."""
    org = Organisation.get()
    today = today or org.local_date()
    ids = None if deal_ids is None else list(deal_ids)
    if day < today:
        snap = snapshot_at_or_before(day)
        if snap is not None:
            rows = _snapshot_rows(snap, viewer, ids, closing)
            return AsOf(day, snap.taken_on, "snapshot", rows)
        rows = _history_rows(day, viewer, ids, rates or rate_table(), closing)
        return AsOf(day, day, "history", rows)
    return AsOf(day, today, "live", _live_rows(today, viewer, ids, rates or rate_table(), closing))


def _closing_q(closing: tuple[dt.date, dt.date] | None) -> Q:
    if closing is None:
        return Q()
    return Q(expected_close__gte=closing[0], expected_close__lt=closing[1])


def _snapshot_rows(
    snap: PipelineSnapshot,
    viewer: Any,
    ids: list[int] | None,
    closing: tuple[dt.date, dt.date] | None = None,
) -> dict[int, Row]:
    qs = SnapshotRow.objects.filter(snapshot=snap).filter(_closing_q(closing))
    visible = viewer is not None
    if visible:
        rule = row_scope(viewer)
        if rule is False:
            return {}
        if rule is not True:
            qs = qs.filter(rule)
    if ids is not None:
        qs = qs.filter(deal_id__in=ids)
    rows = qs.values_list(
        "deal_id", "owner_id", "stage_id", "category", "expected_close", "amount_base"
    ).order_by()
    return {
        d: Row(d, o, s, CATEGORY_OF_CODE.get(c, c), e, Decimal(a), visible)
        for d, o, s, c, e, a in rows.iterator(chunk_size=10000)
    }


def _deals(viewer: Any, ids: list[int] | None, manager: Any) -> Any:
    qs = manager.all()
    if viewer is not None:
        rule = visibility(Deal, viewer)
        if rule is False:
            return qs.none()
        if rule is not True:
            qs = qs.filter(rule)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.order_by()


def _live_rows(
    today: dt.date,
    viewer: Any,
    ids: list[int] | None,
    rates: RateTable,
    closing: tuple[dt.date, dt.date] | None = None,
) -> dict[int, Row]:
    qs = _deals(viewer, ids, Deal.objects).filter(status=Deal.Status.OPEN)
    qs = qs.filter(_closing_q(closing))
    out = {}
    for d, o, s, c, e, cur, a in qs.values_list(
        "id", "owner_id", "stage_id", "forecast_category", "expected_close", "currency_id", "amount"
    ).iterator(chunk_size=10000):
        amount = (Decimal(a) * rates.rate_on(cur, today)).quantize(Decimal("0.01"))
        out[d] = Row(d, o, s, c, e, amount, viewer is not None)
    return out


def end_of(day: dt.date) -> dt.datetime:
    """The end of business day `day` (midnight after it, organisation's time zone)."""
    return dt.datetime.combine(day + ONE_DAY, dt.time.min, tzinfo=Organisation.get().tz)


def _history_rows(
    day: dt.date,
    viewer: Any,
    ids: list[int] | None,
    rates: RateTable,
    closing: tuple[dt.date, dt.date] | None = None,
) -> dict[int, Row]:
    end = end_of(day)
    stay = StageHistory.objects.filter(deal=OuterRef("pk"), entered_at__lt=end).filter(
        Q(left_at__isnull=True) | Q(left_at__gte=end)
    )
    any_stay = StageHistory.objects.filter(deal=OuterRef("pk"))
    qs = (
        _deals(viewer, ids, Deal.all_objects)
        .filter(created_on__lte=day)
        .filter(_closing_q(closing))
        .filter(Q(deleted_at__isnull=True) | Q(deleted_at__gte=end))
        .annotate(
            stay_stage=Subquery(stay.order_by("-entered_at", "-id").values("stage_id")[:1]),
            has_history=Exists(any_stay),
        )
        .filter(
            Q(stay_stage__in=Stage.objects.filter(kind=Stage.Kind.OPEN).values("pk"))
            | (Q(has_history=False) & (Q(closed_on__isnull=True) | Q(closed_on__gt=day)))
        )
    )
    default_category = dict(Stage.objects.values_list("pk", "forecast_category"))
    out = {}
    for d, o, s, stay_stage, c, e, cur, a in qs.values_list(
        "id",
        "owner_id",
        "stage_id",
        "stay_stage",
        "forecast_category",
        "expected_close",
        "currency_id",
        "amount",
    ).iterator(chunk_size=10000):
        stage = stay_stage if stay_stage is not None else s
        category = c if stage == s else default_category.get(stage, c)
        amount = (Decimal(a) * rates.rate_on(cur, day)).quantize(Decimal("0.01"))
        out[d] = Row(d, o, stage, category, e, amount, viewer is not None)
    return out


def fates(deal_ids: Iterable[int], day: dt.date) -> dict[int, str]:
    """What became of these deals by the end of `day` when they are not open then: "won"
    or "lost" (their stage at the end of `day`, else their status now), "deleted"
    (in the recycle bin or purged now)."""
    ids = list(deal_ids)
    end = end_of(day)
    out = dict.fromkeys(ids, "deleted")
    alive = dict(
        Deal.objects.filter(pk__in=ids).order_by().values_list("pk", "status")
    )  # soft-deleted and purged deals stay "deleted"
    kinds = dict(
        StageHistory.objects.filter(deal_id__in=list(alive), entered_at__lt=end)
        .filter(Q(left_at__isnull=True) | Q(left_at__gte=end))
        .values_list("deal_id", "stage__kind")
    )
    for pk, status in alive.items():
        kind = kinds.get(pk)
        if kind in (Stage.Kind.WON, Stage.Kind.LOST):
            out[pk] = str(kind)
        elif status in (Deal.Status.WON, Deal.Status.LOST):
            out[pk] = str(status)
    return out


# -- commit and best case over the weeks of a period -------------------------------------------


@dataclass
class TrendPoint:
    day: dt.date  # the snapshot's
    commit: Decimal  # Σ commit expected in the period + bookings so far
    best_case: Decimal  # Σ commit and best case expected in the period + bookings so far
    booked: Decimal  # bookings from the period's start to the end of `day`


@dataclass
class Trend:
    period: Any
    points: list[TrendPoint]
    actual: Decimal  # bookings of the period (so far, when it has not ended)
    final: bool  # the period has ended


#: The fields the trend reads (besides the bookings': `kpis.READS["bookings"]`).
TREND_READS = frozenset(
    {
        ("deal", "amount"),
        ("deal", "currency"),
        ("deal", "forecast_category"),
        ("deal", "expected_close"),
        ("deal", "status"),
        ("deal", "closed_on"),
    }
)


def trend(ctx: Any) -> Trend:
    """For each snapshot taken in `ctx.period`: Σ amount of the viewer's deals in commit
    (and in commit or best case) expected to close in the period, each plus the bookings
    from the period's start to the snapshot's day — against the bookings of the period.
    Bookings come from the KPI engine (`kpis.bookings`), so they agree with the
    dashboards'. `ctx`: an `analytics.engine.KpiContext` (viewer, period, filters)."""
    from django.db.models import Sum

    from salesops.analytics.kpis import bookings
    from salesops.analytics.periods import Period

    p = ctx.period
    snaps = list(
        PipelineSnapshot.objects.filter(taken_on__gte=p.start, taken_on__lt=p.end).order_by(
            "taken_on"
        )
    )
    sums: dict[tuple[int, str], Decimal] = {}
    rule = row_scope(ctx.viewer)
    if snaps and rule is not False:
        qs = SnapshotRow.objects.filter(
            snapshot__in=[s.pk for s in snaps],
            category__in=[CATEGORY_CODES["commit"], CATEGORY_CODES["best_case"]],
            expected_close__gte=p.start,
            expected_close__lt=p.end,
        )
        if rule is not True:
            qs = qs.filter(rule)
        owners = ctx._owner_q("owner_id")
        if owners:
            qs = qs.filter(owners)
        for sid, cat, total in (
            qs.values_list("snapshot_id", "category").annotate(t=Sum("amount_base")).order_by()
        ):
            sums[(sid, cat)] = Decimal(total or 0)
    points = []
    for s in snaps:
        booked = bookings(ctx, Period(p.start, s.taken_on + ONE_DAY))
        commit = sums.get((s.pk, CATEGORY_CODES["commit"]), Decimal(0))
        best = sums.get((s.pk, CATEGORY_CODES["best_case"]), Decimal(0))
        points.append(TrendPoint(s.taken_on, commit + booked, commit + best + booked, booked))
    return Trend(p, points, bookings(ctx, p), ctx.today >= p.end)
