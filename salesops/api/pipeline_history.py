"""`/api/v1/pipeline/as-of` and `/api/v1/pipeline/waterfall`: the pipeline history pages'
figures (`forecasting.snapshots.as_of`, `forecasting.waterfall.between`) for the
caller's data scope. A deal field hidden from the caller's role is null (`as-of`), and
the waterfall, which reads the amounts, answers no bars but the reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from salesops.analytics.formulas import MissingRate, money_text
from salesops.analytics.kpis import WITHHELD_NOTE
from salesops.analytics.periods import Period, parse_period
from salesops.api.framework import READ_ERRORS, json_response
from salesops.customization.policy import hidden_keys
from salesops.forecasting import snapshots
from salesops.forecasting import waterfall as wf
from salesops.org.models import Organisation

router = Router()


class AsOfParams(Schema):
    day: dt.date = Field(..., description="The business day (end of it, organisation's time zone).")


class AsOfRow(Schema):
    deal: int
    owner: int | None = None
    stage: int | None = None
    forecast_category: str | None = None
    expected_close: str | None = None
    amount: str | None = Field(None, description="In the base currency, at the day's rate.")


class AsOfOut(Schema):
    day: str
    effective_on: str = Field(..., description="The snapshot's day, or `day` when rebuilt.")
    source: str = Field(..., description="snapshot, history (rebuilt) or live")
    currency: str
    count: int
    total: str | None = None
    deals: list[AsOfRow]
    withheld: list[str] | None = Field(None, description="Fields hidden for your role.")


def _rate_error(e: MissingRate) -> ValidationError:
    return ValidationError(
        _("There is no exchange rate for %(currency)s on or before %(day)s; add one.")
        % {"currency": e.code, "day": e.day.isoformat()}
    )


@router.get(
    "/pipeline/as-of",
    response={200: AsOfOut, **READ_ERRORS},
    tags=["Pipeline history"],
    operation_id="pipeline_as_of",
    summary="The open pipeline at the end of a past day",
    description="From the nearest snapshot on or before the day, else rebuilt from the "
    "stage history (decision 0020); today or later: the pipeline now. Deals within the "
    "caller's data scope (for snapshots: the owner then).",
)
def as_of(request: HttpRequest, params: Query[AsOfParams]) -> HttpResponse:
    viewer: Any = request.user
    org = Organisation.get()
    try:
        result = snapshots.as_of(viewer=viewer, day=params.day)
    except MissingRate as e:
        raise _rate_error(e) from None
    hidden = hidden_keys(viewer, "deal")
    show = {
        "owner": "owner" not in hidden,
        "stage": "stage" not in hidden,
        "forecast_category": "forecast_category" not in hidden,
        "expected_close": "expected_close" not in hidden,
        "amount": not ({"amount", "currency"} & hidden),
    }
    rows = sorted(result.rows.values(), key=lambda r: r.deal_id)
    deals = [
        {
            "deal": r.deal_id,
            "owner": r.owner_id if show["owner"] else None,
            "stage": r.stage_id if show["stage"] else None,
            "forecast_category": r.category if show["forecast_category"] else None,
            "expected_close": (
                r.expected_close.isoformat()
                if r.expected_close and show["expected_close"]
                else None
            ),
            "amount": money_text(r.amount) if show["amount"] else None,
        }
        for r in rows
    ]
    payload: dict[str, Any] = {
        "day": result.day.isoformat(),
        "effective_on": result.effective_on.isoformat(),
        "source": result.source,
        "currency": str(org.base_currency_id),
        "count": len(rows),
        "total": money_text(sum((r.amount for r in rows), Decimal(0))) if show["amount"] else None,
        "deals": deals,
    }
    if not all(show.values()):
        payload["withheld"] = sorted(k for k, v in show.items() if not v)
    return json_response(payload)


class WaterfallParams(Schema):
    start: dt.date = Field(..., description="The first day.")
    end: dt.date = Field(..., description="The last day (after the first).")
    period: str | None = Field(
        None,
        max_length=40,
        description="Count only deals expected to close in this period (2026-Q3, FY2026-Q3, "
        "2026-07, a..b); absent: every open deal.",
    )


class BarOut(Schema):
    key: str
    amount: str
    deals: list[int]


class WaterfallOut(Schema):
    start: str
    end: str
    effective_start: str
    effective_end: str
    period: str | None = None
    currency: str
    bars: list[BarOut] | None = Field(
        None,
        description="start, new, increased, decreased, pulled_in, pushed_out, transferred, "
        "won, lost, deleted, end: end = start + the moves, exactly. Null when withheld.",
    )
    withheld: str | None = None


@router.get(
    "/pipeline/waterfall",
    response={200: WaterfallOut, **READ_ERRORS},
    tags=["Pipeline history"],
    operation_id="pipeline_waterfall",
    summary="How the open pipeline changed between two days, bar by bar with the deals",
    description="The same query as the waterfall page and its drill-downs (decision 0020).",
)
def waterfall(request: HttpRequest, params: Query[WaterfallParams]) -> HttpResponse:
    viewer: Any = request.user
    org = Organisation.get()
    if params.end <= params.start:
        raise ValidationError({"end": [_("The last day must come after the first day.")]})
    window: Period | None = None
    if params.period:
        window = parse_period(params.period, fiscal_start_month=org.fiscal_year_start_month)
    payload: dict[str, Any] = {
        "start": params.start.isoformat(),
        "end": params.end.isoformat(),
        "effective_start": params.start.isoformat(),
        "effective_end": params.end.isoformat(),
        "period": str(window) if window else None,
        "currency": str(org.base_currency_id),
    }
    reads = {"amount", "currency", "status", "closed_on"} | (
        {"expected_close"} if window else set()
    )
    if reads & hidden_keys(viewer, "deal"):
        payload.update(bars=None, withheld=str(WITHHELD_NOTE))
        return json_response(payload)
    try:
        result = wf.between(viewer=viewer, start=params.start, end=params.end, window=window)
    except MissingRate as e:
        raise _rate_error(e) from None
    payload.update(
        effective_start=result.start.effective_on.isoformat(),
        effective_end=result.end.effective_on.isoformat(),
        bars=[
            {
                "key": k,
                "amount": money_text(result.waterfall.bars[k].amount),
                "deals": result.waterfall.bars[k].deal_ids,
            }
            for k in wf.BARS
        ],
    )
    return json_response(payload)
