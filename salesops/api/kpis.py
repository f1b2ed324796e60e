"""`/api/v1/kpis`: exactly what `salesops kpi --format json --as-user <caller>` prints."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from salesops.analytics.report import kpi_payload
from salesops.api.framework import READ_ERRORS, json_response

router = Router()


class KpiParams(Schema):
    period: str = Field(
        ..., max_length=40, description="2026, 2026-Q3, 2026-07, FY2026, FY2026-Q3 or a..b"
    )
    team: int | None = Field(None, description="A team id (with its sub-teams).")
    owner: int | None = Field(None, description="A user id.")
    pipeline: int | None = Field(None, description="A pipeline id.")
    kpi: list[str] | None = Field(None, description="Only these KPI ids (repeat the parameter).")


class PeriodOut(Schema):
    label: str
    start: str
    end: str


class KpisOut(Schema):
    period: PeriodOut
    currency: str
    filters: dict[str, Any]
    kpis: dict[str, Any]
    errors: dict[str, str] | None = None


@router.get(
    "/kpis",
    response={200: KpisOut, **READ_ERRORS},
    tags=["KPIs"],
    operation_id="kpis",
    summary="KPIs of a period within the caller's data scope (KPIS.md)",
    description="Money is a decimal string in the base currency, a rate a fraction, an "
    "undefined ratio null; per-stage, per-rep and per-team KPIs are objects keyed by id.",
)
def kpis(request: HttpRequest, params: Query[KpiParams]) -> HttpResponse:
    payload, _values, _errors = kpi_payload(
        viewer=request.user,  # type: ignore[arg-type]
        period=params.period,
        team=params.team,
        owner=params.owner,
        pipeline=params.pipeline,
        kpis=params.kpi,
    )
    return json_response(payload)
