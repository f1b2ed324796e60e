"""The KPIs `forecast_accuracy` and `forecast_bias` (docs/kpis.md), registered with the
engine: the forecast as it stood at P.start against the bookings of P.

For now the forecast is the stored statistical forecast (`StatForecast`) of exactly P,
made on or before P.start, of the subject the filters name (the organisation, a team,
a rep); forecast submissions will feed the same KPIs later.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from salesops.analytics import kpis
from salesops.analytics.engine import Kind, KpiContext, kpi
from salesops.forecasting import accuracy
from salesops.forecasting.models_stats import StatForecast
from salesops.forecasting.statistical import READS

kpis.READS["forecast_accuracy"] = READS
kpis.READS["forecast_bias"] = READS


def subject_of(ctx: KpiContext) -> str | None:
    """Whose stored forecast the context asks for: "org", "team:<id>" or "owner:<id>";
    None when the filters cut deals in a way no stored forecast was (pipeline, region,
    industry, product, or both a team and an owner)."""
    f = ctx.filters
    if f.pipeline or f.region or f.industry or f.product_id is not None:
        return None
    if f.owner is not None and f.team is not None:
        return None
    return StatForecast.subject_of(
        team_id=f.team.pk if f.team else None, owner_id=f.owner.pk if f.owner else None
    )


def sees_all_of(ctx: KpiContext, subject: str) -> bool:
    """Whether the viewer sees every deal of the subject: the stored forecast was made
    over all of them, and must not stand beside bookings the viewer sees only part of."""
    visible = ctx.viewer.visible_owner_ids()
    if visible is None:
        return True
    if subject.startswith("owner:"):
        return int(subject.split(":")[1]) in visible
    if subject.startswith("team:"):
        return bool(ctx.team_member_ids) and set(ctx.team_member_ids or ()) <= set(visible)
    return False


def stood_at_start(ctx: KpiContext) -> tuple[Decimal, Decimal] | None:
    """(forecast as it stood at P.start, bookings of P), once P has ended; None when
    there is no such forecast or P is not over."""

    def load() -> tuple[Decimal, Decimal] | None:
        p, today = ctx.period, ctx.today
        if today is None or p.end > today:
            return None
        subject = subject_of(ctx)
        if subject is None or not sees_all_of(ctx, subject):
            return None
        row = (
            StatForecast.objects.filter(
                period_start=p.start, period_end=p.end, subject=subject, made_on__lte=p.start
            )
            .order_by("-made_on")
            .values_list("expected", flat=True)
            .first()
        )
        if row is None:
            return None
        return row, kpis.bookings(ctx, p)

    return ctx.memo("forecast_stood_at_start", load)


@kpi("forecast_accuracy", Kind.RATE, _("Forecast accuracy"), module="forecasting")
def k_forecast_accuracy(ctx: KpiContext) -> float | None:
    """1 − |forecast − actual| ÷ actual, the forecast as it stood at P.start; undefined
    when actual = 0, when P has not ended, or without a forecast."""
    pair = stood_at_start(ctx)
    return None if pair is None else accuracy.accuracy(*pair)


@kpi("forecast_bias", Kind.RATE, _("Forecast bias"), module="forecasting")
def k_forecast_bias(ctx: KpiContext) -> float | None:
    """(forecast − actual) ÷ actual, the forecast as it stood at P.start: positive when it
    was too high; undefined like `forecast_accuracy`."""
    pair = stood_at_start(ctx)
    return None if pair is None else accuracy.bias(*pair)


# -- the accuracy ranking ---------------------------------------------------------------------


def accuracy_rows(ctx: KpiContext) -> list[accuracy.Row]:
    """Every stored statistical forecast of exactly ctx.period made on or before its end,
    of the subjects whose deals the viewer sees all of (the organisation, teams, reps),
    each against the bookings of the period: subject "org", "team:<id>" or "owner:<id>",
    made = the day it was made. Empty for a role that may not see deal amounts."""
    from salesops.forecasting.statistical import withheld

    if withheld(ctx.viewer):
        return []
    p = ctx.period
    stored = list(
        StatForecast.objects.filter(period_start=p.start, period_end=p.end, made_on__lt=p.end)
        .order_by("subject", "made_on")
        .values_list("subject", "made_on", "expected")
    )
    visible = ctx.viewer.visible_owner_ids()
    visible_set = None if visible is None else set(visible)
    by_owner = kpis.bookings_by_owner(ctx, p)
    team_ids = {int(s.split(":")[1]) for s, _m, _e in stored if s.startswith("team:")}
    members = kpis.team_members(sorted(team_ids))
    actual: dict[str, Decimal | None] = {}

    def actual_of(subject: str) -> Decimal | None:
        if subject in actual:
            return actual[subject]
        kind, _sep, key = subject.partition(":")
        value: Decimal | None
        if kind == "org":
            value = kpis.bookings(ctx, p) if visible_set is None else None
        elif kind == "owner":
            owner = int(key)
            seen = visible_set is None or owner in visible_set
            value = by_owner.get(owner, Decimal(0)) if seen else None
        else:
            team = members.get(int(key), set())
            seen = bool(team) and (visible_set is None or team <= visible_set)
            value = sum((by_owner.get(u, Decimal(0)) for u in team), Decimal(0)) if seen else None
        actual[subject] = value
        return value

    return [
        accuracy.Row(subject, made, expected, a)
        for subject, made, expected in stored
        if (a := actual_of(subject)) is not None
    ]
