"""`/api/v1/forecasts`: the forecast of a rep, a team or the organisation for a month or
fiscal quarter (what the forecast page shows, from `forecasting.page.build`), the
submissions, and submitting a number or overriding a subordinate's.

A rep, team or organisation the caller may not see is a 404. Money is a decimal string
in the base currency; for a role from whom the deal amount is hidden, every figure and
submitted number is null (withheld)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from salesops.analytics.formulas import money_text
from salesops.analytics.kpis import withheld
from salesops.api.framework import READ_ERRORS, WRITE_ERRORS, json_response
from salesops.forecasting import page, queries, services
from salesops.forecasting.kpis import KPI_IDS
from salesops.lib.services import NotVisible
from salesops.users.models import User

router = Router()

PERIOD_HELP = "A month (2026-07) or a fiscal quarter (FY2026-Q3)."


class ForecastParams(Schema):
    period: str = Field(..., max_length=40, description=PERIOD_HELP)
    person: int | None = Field(None, description="A rep's forecast (a user id).")
    team: int | None = Field(None, description="A team's forecast (with its sub-teams).")
    org: bool = Field(False, description="The organisation's forecast.")


class NumbersOut(Schema):
    commit: str | None
    best_case: str | None


class SubmissionOut(Schema):
    id: int
    period: str
    person: int
    kind: str = Field(..., description="own: the person's number; override: a manager's.")
    commit: str | None = Field(None, description="Null when amounts are hidden for you.")
    best_case: str | None = None
    currency: str
    note: str
    original: int | None = Field(None, description="The own submission an override replaced.")
    by: int
    submitted_at: dt.datetime


class PersonOut(Schema):
    person: int
    name: str
    deals: dict[str, str | None] | None = Field(
        None, description="Their deals' closed, commit, best_case and pipeline."
    )
    own: SubmissionOut | None = None
    override: SubmissionOut | None = None
    effective: SubmissionOut | None = None


class ForecastTeamOut(Schema):
    team: int
    name: str
    number: NumbersOut | None = None


class ForecastOut(Schema):
    period: str
    start: dt.date
    end: dt.date
    scope: str = Field(..., description="rep, team or org")
    currency: str
    figures: dict[str, str | None] = Field(
        ...,
        description="bookings (closed so far), forecast_commit, forecast_best_case, "
        "forecast_pipeline; null when withheld.",
    )
    errors: dict[str, str]
    target: str | None
    gap: str | None = Field(None, description="target − commit")
    number: NumbersOut | None = Field(None, description="The submitted number (or roll-up).")
    people: list[PersonOut]
    teams: list[ForecastTeamOut]


class SubmissionsParams(Schema):
    period: str = Field(..., max_length=40, description=PERIOD_HELP)
    person: int | None = Field(None, description="Only this person's (default: your own).")


class SubmitIn(Schema):
    period: str = Field(..., max_length=40, description=PERIOD_HELP)
    commit: str = Field(..., max_length=30)
    best_case: str = Field(..., max_length=30)
    note: str = Field("", max_length=2000)


class OverrideIn(SubmitIn):
    person: int = Field(..., description="The subordinate whose number you override.")
    note: str = Field(..., min_length=1, max_length=2000, description="Why.")


def _money(value: Any, hidden: bool) -> str | None:
    return None if hidden or value is None else money_text(value)


def _submission(row: Any, hidden: bool) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.pk,
        "period": queries.ForecastPeriod(row.period_kind, row.period_start).label,
        "person": row.person_id,
        "kind": row.kind,
        "commit": _money(row.commit, hidden),
        "best_case": _money(row.best_case, hidden),
        "currency": row.currency,
        "note": row.note,
        "original": row.original_id,
        "by": row.by_id,
        "submitted_at": row.submitted_at,
    }


def _numbers(n: Any, hidden: bool) -> dict[str, Any] | None:
    if n is None or hidden:
        return None
    return {"commit": money_text(n.commit), "best_case": money_text(n.best_case)}


@router.get(
    "/forecasts",
    response={200: ForecastOut, **READ_ERRORS},
    tags=["Forecasts"],
    operation_id="forecast",
    summary="The forecast of a rep, a team or the organisation for a period",
    description="Closed so far, commit, best case and pipeline (KPIS.md Forecast), the "
    "bookings target and the gap, each person's submission with any override beside it, "
    "and the sub-teams' roll-ups. Without person, team or org: the organisation for those "
    "who see all data, else the team you manage, else your own.",
)
def forecast(request: HttpRequest, params: Query[ForecastParams]) -> HttpResponse:
    viewer: Any = request.user
    fp = queries.forecast_period(params.period)
    scope = page.resolve_scope(viewer, person=params.person, team=params.team, org=params.org)
    f = page.build(viewer, scope, fp)
    hidden = f.withheld
    return json_response(
        {
            "period": fp.label,
            "start": fp.start,
            "end": fp.last_day,
            "scope": scope.kind,
            "currency": f.currency,
            "figures": {k: _money(v, False) for k, v in f.figures.items()},
            "errors": f.errors,
            "target": _money(f.target, hidden),
            "gap": _money(f.gap, hidden),
            "number": _numbers(f.number, hidden),
            "people": [
                {
                    "person": r.person.pk,
                    "name": str(r.person),
                    "deals": None
                    if hidden
                    else {
                        k: money_text(r.system.get(k)) if r.system else "0.00"
                        for k in ("closed", "commit", "best_case", "pipeline")
                    },
                    "own": _submission(r.own, hidden),
                    "override": _submission(r.override, hidden),
                    "effective": _submission(r.effective, hidden),
                }
                for r in f.people
            ],
            "teams": [
                {"team": t.team.pk, "name": str(t.team), "number": _numbers(t.number, hidden)}
                for t in f.teams
            ],
        }
    )


@router.get(
    "/forecasts/submissions",
    response={200: list[SubmissionOut], **READ_ERRORS},
    tags=["Forecasts"],
    operation_id="forecast_submissions",
    summary="A person's forecast submissions for a period, newest first (history)",
)
def submissions(request: HttpRequest, params: Query[SubmissionsParams]) -> HttpResponse:
    viewer: Any = request.user
    fp = queries.forecast_period(params.period)
    person = params.person or viewer.pk
    if not queries.may_see_person(viewer, person):
        raise NotVisible("This record does not exist or you may not see it.")
    hidden = bool(withheld(viewer, KPI_IDS))
    return json_response([_submission(r, hidden) for r in queries.history(fp, [person])])


@router.post(
    "/forecasts/submissions",
    response={201: SubmissionOut, **WRITE_ERRORS},
    tags=["Forecasts"],
    operation_id="forecast_submit",
    summary="Submit your forecast (commit and best case) for a period",
    description="Each submit is a new row; the latest is current. Refused (422) after "
    "the period's deadline.",
)
def submit(request: HttpRequest, body: SubmitIn) -> HttpResponse:
    viewer: Any = request.user
    row = services.submit_forecast(
        by=viewer,
        period=queries.forecast_period(body.period),
        commit=body.commit,
        best_case=body.best_case,
        note=body.note,
    )
    return json_response(_submission(row, False), status=201)


@router.post(
    "/forecasts/overrides",
    response={201: SubmissionOut, **WRITE_ERRORS},
    tags=["Forecasts"],
    operation_id="forecast_override",
    summary="Override a subordinate's forecast, saying why",
    description="The person's own submission stays as it was; the override points to it.",
)
def override(request: HttpRequest, body: OverrideIn) -> HttpResponse:
    viewer: Any = request.user
    person = User.objects.filter(pk=body.person).first()
    if person is None:
        raise NotVisible("This record does not exist or you may not see it.")
    row = services.override_forecast(
        by=viewer,
        person=person,
        period=queries.forecast_period(body.period),
        commit=body.commit,
        best_case=body.best_case,
        note=body.note,
    )
    return json_response(_submission(row, False), status=201)
