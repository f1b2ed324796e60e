"""The KPIs `forecast_accuracy` and `forecast_bias` (docs/kpis.md), registered with the
engine: the forecast as it stood at P.start against the bookings of P.

The forecast is the stored statistical forecast (`StatForecast`) of exactly P, made on
or before P.start, of the subject the filters name (the organisation, a team, a rep).
The accuracy page and API also rank the submitted forecasts (`submission_rows`) the same
way, week by week.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from salesops.analytics import kpis
from salesops.analytics.engine import Kind, KpiContext, kpi
from salesops.forecasting import accuracy
from salesops.forecasting.models_stats import StatForecast

#: What the statistical forecast (and so its accuracy) reads. Defined here, not in
#: `statistical` (which imports it), so that registering these KPIs at start-up does not
#: import numpy with the statistical maths.
READS = kpis.READS["bookings"] | kpis.READS["open_pipeline"] | {("deal", "stage")}

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
    actual_of = _actuals(ctx, {s for s, _m, _e in stored})

    return [
        accuracy.Row(subject, made, expected, a)
        for subject, made, expected in stored
        if (a := actual_of(subject)) is not None
    ]


def _actuals(ctx: KpiContext, subjects: set[str]) -> Callable[[str], Decimal | None]:
    """The bookings of ctx.period of each subject ("org", "team:<id>" with sub-teams,
    "owner:<id>"), or None for one whose deals the viewer does not all see."""
    p = ctx.period
    visible = ctx.viewer.visible_owner_ids()
    visible_set = None if visible is None else set(visible)
    by_owner = kpis.bookings_by_owner(ctx, p)
    team_ids = {int(s.split(":")[1]) for s in subjects if s.startswith("team:")}
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

    return actual_of


def submission_rows(ctx: KpiContext) -> list[accuracy.Row]:
    """The submitted forecasts of ctx.period (a month or a fiscal quarter), by week: for
    each subject, the commit number that stood at the end of each week in which one was
    submitted (a manager's override of a person's number replaces it, as on the forecast
    page), against the bookings of the period. A rep's number is theirs ("owner:<id>");
    a manager's own number is their team's with its sub-teams ("team:<id>", the roll-up
    rule of the forecast page). made = the Monday of the week (organisation's time zone).
    Only subjects whose deals the viewer sees all of; empty for a role that may not see
    deal amounts, or a period that is no forecast period."""
    from salesops.forecasting.models import Submission
    from salesops.forecasting.queries import forecast_period
    from salesops.forecasting.statistical import withheld
    from salesops.users.models import Team

    if withheld(ctx.viewer):
        return []
    p = ctx.period
    last = p.end - dt.timedelta(days=1)
    try:
        fp = forecast_period(f"{p.start:%Y-%m-%d}..{last:%Y-%m-%d}")
    except ValidationError:
        return []
    ends = dt.datetime.combine(p.end, dt.time(), tzinfo=ctx.tz)
    submitted = list(
        Submission.objects.filter(period_kind=fp.kind, period_start=fp.start, submitted_at__lt=ends)
        .order_by("submitted_at", "id")
        .values_list("person_id", "commit", "submitted_at")
    )
    managers = dict(
        Team.objects.filter(manager_id__in={person for person, _c, _t in submitted})
        .order_by("-path")  # a manager of nested teams: the topmost one, kept last
        .values_list("manager_id", "id")
    )
    latest: dict[tuple[str, dt.date], Decimal] = {}
    for person, commit, at in submitted:
        subject = f"team:{managers[person]}" if person in managers else f"owner:{person}"
        day = at.astimezone(ctx.tz).date()
        latest[subject, day - dt.timedelta(days=day.weekday())] = commit
    actual_of = _actuals(ctx, {subject for subject, _week in latest})
    return [
        accuracy.Row(subject, week, commit, a)
        for (subject, week), commit in sorted(latest.items())
        if (a := actual_of(subject)) is not None
    ]
