"""`/api/v1/receivables/...`: the receivables ageing, the instalments behind it and the
cash forecast, within the caller's data scope; amounts are null when the caller's role
hides the payment or instalment amounts."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from salesops.analytics.formulas import money_text
from salesops.api.framework import READ_ERRORS, json_response
from salesops.lib.services import ensure_right
from salesops.receivables import ageing as ag
from salesops.receivables import forecast as fc

router = Router()


class AgeingParams(Schema):
    group: str = Field(
        "customer", pattern="^(customer|rep|team)$", description="customer, rep or team"
    )


class InstalmentParams(Schema):
    group: str = Field("customer", pattern="^(customer|rep|team)$")
    key: int | None = Field(None, description="The customer, user or team id of a row.")
    bucket: str = Field(
        "", pattern="^(|not_due|d1_30|d31_60|d61_90|d90_plus)$", description="An ageing bucket."
    )
    limit: int = Field(500, ge=1, le=1000)


class CellOut(Schema):
    count: int
    amount: str | None


class AgeingRowOut(Schema):
    key: int | None
    name: str
    buckets: dict[str, CellOut]
    total: CellOut


class AgeingOut(Schema):
    as_of: str
    currency: str
    group: str
    amounts_withheld: bool
    rows: list[AgeingRowOut]
    totals: AgeingRowOut


class InstalmentOut(Schema):
    id: int
    contract: str
    customer: str
    owner: int | None
    due_on: str
    days_overdue: int
    bucket: str
    currency: str
    amount: str | None
    outstanding: str | None
    outstanding_base: str | None


class InstalmentsOut(Schema):
    as_of: str
    instalments: list[InstalmentOut]


class PeriodValueOut(Schema):
    start: str
    expected: str
    target: str | None = None


class CashAccuracyRowOut(Schema):
    kind: str
    start: str
    made_on: str
    forecast: str
    actual: str


class CashForecastOut(Schema):
    made_on: str
    currency: str
    weeks: list[PeriodValueOut]
    months: list[PeriodValueOut]
    accuracy: list[CashAccuracyRowOut]
    ape: dict[str, float | None]
    bias: dict[str, float | None]


def _viewer(request: HttpRequest) -> Any:
    viewer: Any = request.user
    ensure_right(viewer, "payment", "view")
    if ag.dates_hidden(viewer):
        raise PermissionDenied(_("Your role does not allow you to see these records."))
    return viewer


def _cell(c: ag.Cell, money: bool) -> dict[str, Any]:
    return {"count": c.count, "amount": money_text(c.amount) if money else None}


def _row(r: ag.Row, money: bool) -> dict[str, Any]:
    return {
        "key": r.key,
        "name": r.name,
        "buckets": {b: _cell(r.cells[b], money) for b in ag.BUCKET_KEYS},
        "total": _cell(r.total, money),
    }


@router.get(
    "/receivables/ageing",
    response={200: AgeingOut, **READ_ERRORS},
    tags=["Collections"],
    operation_id="receivables_ageing",
    summary="Receivables ageing per customer, rep or team",
    description="Still owed on payment-plan instalments (decision 0021) per bucket of days "
    "overdue, in the base currency at today's rate; amounts are null when hidden for the "
    "caller's role.",
)
def ageing(request: HttpRequest, params: Query[AgeingParams]) -> HttpResponse:
    viewer = _viewer(request)
    table = ag.ageing(viewer, group=params.group)
    money = table.money
    return json_response(
        {
            "as_of": table.today.isoformat(),
            "currency": table.base_currency,
            "group": table.group,
            "amounts_withheld": not money,
            "rows": [_row(r, money) for r in table.rows],
            "totals": _row(table.totals, money),
        }
    )


@router.get(
    "/receivables/instalments",
    response={200: InstalmentsOut, **READ_ERRORS},
    tags=["Collections"],
    operation_id="receivables_instalments",
    summary="The instalments still owed behind a cell of the ageing",
    description="Oldest due first; `group` and `key` pick a row, `bucket` a column.",
)
def instalments(request: HttpRequest, params: Query[InstalmentParams]) -> HttpResponse:
    viewer = _viewer(request)
    money = not ag.money_hidden(viewer)
    from salesops.org.models import Organisation

    today = Organisation.get().local_date()
    lines = ag.instalments(
        viewer,
        today=today,
        narrow=ag.narrow_for(params.group, params.key),
        bucket=params.bucket,
        limit=params.limit,
    )
    return json_response(
        {
            "as_of": today.isoformat(),
            "instalments": [
                {
                    "id": ln.plan.pk,
                    "contract": ln.plan.contract.number,
                    "customer": ln.plan.contract.customer.name,
                    "owner": ln.plan.owner_id,
                    "due_on": ln.plan.due_on.isoformat(),
                    "days_overdue": ln.days_overdue,
                    "bucket": ln.bucket,
                    "currency": ln.currency,
                    "amount": money_text(ln.amount) if money else None,
                    "outstanding": money_text(ln.outstanding) if money else None,
                    "outstanding_base": money_text(ln.outstanding_base) if money else None,
                }
                for ln in lines
            ],
        }
    )


@router.get(
    "/receivables/forecast",
    response={200: CashForecastOut, **READ_ERRORS},
    tags=["Collections"],
    operation_id="receivables_forecast",
    summary="Cash forecast for the next six months, with its past accuracy",
    description="Expected collections per week (Mondays) and month in the base currency, "
    "beside the collections targets of the people in scope; past forecasts beside the "
    "collections KPI, with mean absolute percentage error and bias.",
)
def forecast(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if ag.money_hidden(viewer):
        raise PermissionDenied(_("The cash forecast reads amounts hidden for your role."))
    from salesops.org.models import Organisation

    view = fc.forecast_for(viewer)
    months, weeks = fc.accuracy_for(viewer, kind="month"), fc.accuracy_for(viewer, kind="week")
    return json_response(
        {
            "made_on": view.made_on.isoformat(),
            "currency": str(Organisation.get().base_currency_id),
            "weeks": [{"start": w.isoformat(), "expected": money_text(e)} for w, e in view.weeks],
            "months": [
                {
                    "start": m.isoformat(),
                    "expected": money_text(e),
                    "target": money_text(t) if t is not None else None,
                }
                for m, e, t in view.months
            ],
            "accuracy": [
                {
                    "kind": k,
                    "start": s.isoformat(),
                    "made_on": md.isoformat(),
                    "forecast": money_text(f),
                    "actual": money_text(a),
                }
                for acc in (months, weeks)
                for k, s, md, f, a in acc.rows
            ],
            "ape": {"month": months.ape, "week": weeks.ape},
            "bias": {"month": months.bias, "week": weeks.bias},
        }
    )
