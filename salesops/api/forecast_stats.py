"""`/api/v1/forecast/statistical` and `/api/v1/forecast/accuracy`: the statistical
forecast of a period and the forecast-accuracy rows, within the caller's data scope
(the same computations as the pages)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from salesops.analytics.dashboard import can_see_rep, can_see_team
from salesops.analytics.engine import Filters, KpiContext
from salesops.analytics.formulas import MissingRate, money_text
from salesops.analytics.kpis import WITHHELD_NOTE
from salesops.analytics.periods import Period, parse_period
from salesops.api.framework import READ_ERRORS, json_response
from salesops.forecasting import accuracy, statistical
from salesops.forecasting.kpis_accuracy import accuracy_rows, submission_rows
from salesops.org.models import Organisation
from salesops.users.models import Team, User

router = Router()

PERIOD = Field(..., max_length=40, description="2026, 2026-Q3, 2026-07, FY2026, FY2026-Q3 or a..b")


class StatParams(Schema):
    period: str = PERIOD
    team: int | None = Field(None, description="A team id (with its sub-teams).")
    owner: int | None = Field(None, description="A user id.")


class AccuracyParams(Schema):
    period: str = PERIOD


class StatPeriodOut(Schema):
    start: str
    end: str


class StatPipelineOut(Schema):
    booked: str = Field(description="Bookings so far in the period.")
    expected: str = Field(description="Booked plus the expected money of open deals.")
    low: str = Field(description="10th percentile (80% interval).")
    high: str = Field(description="90th percentile (80% interval).")
    open_deals: int
    without_history: int = Field(description="Open deals whose cohort has no history.")


class SeriesOut(Schema):
    method: str = Field(description="The time-series method the backtest chose.")
    backtest_mape: float | None = Field(description="Its rolling-origin backtest error, %.")
    months: list[str]
    actual: list[str | None]
    forecast: list[str | None]


class StatOut(Schema):
    period: StatPeriodOut
    currency: str
    withheld: str | None = Field(None, description="Why there are no figures, if none.")
    pipeline: StatPipelineOut | None = None
    series: dict[str, SeriesOut] = Field(default_factory=dict)


class AccuracyRowOut(Schema):
    subject: str = Field(description='"org", "team:<id>" or "owner:<id>".')
    made_on: str
    forecast: str
    actual: str
    accuracy: float | None
    bias: float | None


class AccuracyOut(Schema):
    period: StatPeriodOut
    currency: str
    withheld: str | None = None
    rows: list[AccuracyRowOut]
    submitted: list[AccuracyRowOut] = Field(
        description="The submitted forecasts (commit) by week: for each rep (owner:<id>) and "
        "manager's team (team:<id>), the number that stood at the end of each week in which "
        "one was submitted or overridden (made_on: that week's Monday)."
    )


def _period(text: str) -> Period:
    org = Organisation.get()
    return parse_period(text, fiscal_start_month=org.fiscal_year_start_month)


def _filters(viewer: Any, team: int | None, owner: int | None) -> Filters:
    """The team or rep the caller may look at (404 otherwise, as on the pages)."""
    filters = Filters()
    if team is not None:
        t = Team.objects.filter(pk=team).first()
        if t is None or not can_see_team(viewer, t):
            raise Http404
        filters.team = t
    if owner is not None:
        u = User.objects.filter(pk=owner).first()
        if u is None or not can_see_rep(viewer, u):
            raise Http404
        filters.owner = u
    return filters


def _missing_rate(e: MissingRate) -> ValidationError:
    return ValidationError(
        _("There is no exchange rate for %(currency)s on or before %(day)s; add one.")
        % {"currency": e.code, "day": e.day.isoformat()}
    )


def _series(s: statistical.SeriesForecast) -> dict[str, Any]:
    return {
        "method": s.method,
        "backtest_mape": None if s.error is None else round(s.error, 3),
        "months": [m.strftime("%Y-%m") for m in s.months],
        "actual": [money_text(v) for v in s.actual],
        "forecast": [money_text(v) for v in s.forecast],
    }


@router.get(
    "/forecast/statistical",
    response={200: StatOut, **READ_ERRORS},
    tags=["Forecast"],
    operation_id="forecast_statistical",
    summary="The statistical forecast of a period within the caller's data scope",
    description="Pipeline-based: bookings so far plus the expected money of the caller's "
    "visible open deals, by the organisation's history of how deals of each stage and age "
    "close, with an 80% interval. Time-series: monthly bookings (and collections) of the "
    "last 48 months and the next 12 forecast by the method a rolling-origin backtest chose. "
    "Money is a decimal string in the base currency; no figures for a role hiding deal "
    "amounts.",
)
def forecast_statistical(request: HttpRequest, params: Query[StatParams]) -> HttpResponse:
    viewer: Any = request.user
    period = _period(params.period)
    ctx = KpiContext(
        viewer=viewer, period=period, filters=_filters(viewer, params.team, params.owner)
    )
    out: dict[str, Any] = {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "currency": str(ctx.org.base_currency_id),
        "withheld": None,
        "pipeline": None,
        "series": {},
    }
    if statistical.withheld(viewer):
        out["withheld"] = str(WITHHELD_NOTE)
        return json_response(out)
    try:
        f = statistical.pipeline_forecast(ctx)
        out["series"]["bookings"] = _series(statistical.series_forecast(ctx, "bookings"))
        if not statistical.collections_withheld(viewer):
            out["series"]["collections"] = _series(statistical.series_forecast(ctx, "collections"))
    except MissingRate as e:
        raise _missing_rate(e) from e
    out["pipeline"] = {
        "booked": money_text(f.booked),
        "expected": money_text(f.expected),
        "low": money_text(f.low),
        "high": money_text(f.high),
        "open_deals": f.open_deals,
        "without_history": f.without_history,
    }
    return json_response(out)


@router.get(
    "/forecast/accuracy",
    response={200: AccuracyOut, **READ_ERRORS},
    tags=["Forecast"],
    operation_id="forecast_accuracy",
    summary="Forecast accuracy of a period: each recorded forecast against the bookings",
    description="Each statistical forecast recorded for exactly this period (the "
    "organisation's, a team's, a rep's; at its start and each Monday) and each week's "
    "submitted forecast (for a month or fiscal quarter) whose deals the caller "
    "sees all of, against the bookings of the period. accuracy = 1 − |forecast − actual| ÷ "
    "actual, bias = (forecast − actual) ÷ actual; null when actual is 0.",
)
def forecast_accuracy(request: HttpRequest, params: Query[AccuracyParams]) -> HttpResponse:
    viewer: Any = request.user
    period = _period(params.period)
    ctx = KpiContext(viewer=viewer, period=period)
    out: dict[str, Any] = {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "currency": str(ctx.org.base_currency_id),
        "withheld": str(WITHHELD_NOTE) if statistical.withheld(viewer) else None,
        "rows": [],
        "submitted": [],
    }
    try:
        rows: list[accuracy.Row] = accuracy_rows(ctx)
        submitted: list[accuracy.Row] = submission_rows(ctx)
    except MissingRate as e:
        raise _missing_rate(e) from e
    for key, found in (("rows", rows), ("submitted", submitted)):
        out[key] = [
            {
                "subject": str(r.subject),
                "made_on": r.made.isoformat(),
                "forecast": money_text(r.forecast),  # type: ignore[arg-type]
                "actual": money_text(r.actual),  # type: ignore[arg-type]
                "accuracy": r.accuracy,
                "bias": r.bias,
            }
            for r in found
        ]
    return json_response(out)
