"""Drill-down: the exact records a dashboard number counts, with the same query as the
KPI (through the KPI context, so the viewer's scope and the filters apply), its total
in the base currency, and a CSV or XLSX export of every row.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.activities.models import FollowUp
from salesops.analytics import engine
from salesops.analytics import kpis as k
from salesops.analytics.formulas import MissingRate, money_text
from salesops.crm.models import Deal
from salesops.crm.models.deals import StageHistory
from salesops.customization import policy
from salesops.imports.exporting import write_csv, write_xlsx
from salesops.lib.services import ensure_export, may_export
from salesops.reports import cells
from salesops.web.auth import me
from salesops.web.templatetags.web import format_money
from salesops.web.views.dashboards import page_url, read_period, scope_from_params

#: Most rows shown on the page; the CSV export has them all.
PAGE_ROWS = 500


@dataclass
class Drill:
    title: Any
    #: "won", "closed", "open": deals; "payments"; "touchpoints"
    rows: Callable[[engine.KpiContext, Any], QuerySet]
    kind: str
    #: the date a money row converts at: the event's date, or None for the latest rate
    rate_date: str | None = None


def won(ctx: engine.KpiContext, params: Any) -> QuerySet:
    p = ctx.period
    qs = ctx.deals().filter(status=k.WON, closed_on__gte=p.start, closed_on__lt=p.end)
    low, high = params.get("cycle_min", ""), params.get("cycle_max", "")
    if not all(policy.can_see(ctx.viewer, "deal", k) for k in ("created_on", "closed_on")):
        low = high = ""  # a cycle filter would depend on a hidden date: ignored
    if low.isdigit() or high.isdigit():
        qs = qs.annotate(days=k.DaysBetween("created_on", "closed_on"))
        if low.isdigit():
            qs = qs.filter(days__gte=int(low))
        if high.isdigit():
            qs = qs.filter(days__lte=int(high))
    return qs


def closed(ctx: engine.KpiContext, params: Any) -> QuerySet:
    p = ctx.period
    return ctx.deals().filter(
        status__in=[k.WON, k.LOST], closed_on__gte=p.start, closed_on__lt=p.end
    )


def new_customers(ctx: engine.KpiContext, params: Any) -> QuerySet:
    """The first won deal in P of each customer with no earlier won deal (as
    `kpis.new_customer_deals`): one row per new customer."""
    p = ctx.period
    base = ctx.deals().filter(status=k.WON)
    earlier = base.filter(customer_id=OuterRef("customer_id"), closed_on__lt=p.start)
    firsts: dict[int, int] = {}
    for pk, customer in (
        base.filter(closed_on__gte=p.start, closed_on__lt=p.end)
        .filter(~Exists(earlier))
        .order_by("closed_on", "id")
        .values_list("id", "customer_id")
    ):
        firsts.setdefault(customer, pk)
    return ctx.deals().filter(pk__in=list(firsts.values()))


def open_deals(ctx: engine.KpiContext, params: Any) -> QuerySet:
    p = ctx.period
    qs = ctx.deals().filter(status=k.OPEN, expected_close__gte=p.start, expected_close__lt=p.end)
    if params.get("stage", "").isdigit() and policy.can_see(ctx.viewer, "deal", "stage"):
        qs = qs.filter(stage_id=int(params["stage"]))
    return qs


def entered(ctx: engine.KpiContext, params: Any) -> QuerySet:
    """Deals that entered the stage in P (stage history), as `stage_conversion` counts."""
    if not params.get("stage", "").isdigit() or not policy.can_see(ctx.viewer, "deal", "stage"):
        raise Http404
    start, end = ctx.bounds()
    ids = StageHistory.objects.filter(deal_id__in=ctx.deals().values("id")).filter(
        entered_at__gte=start, entered_at__lt=end, stage_id=int(params["stage"])
    )
    return Deal.objects.filter(pk__in=ids.values("deal_id"))


def payments(ctx: engine.KpiContext, params: Any) -> QuerySet:
    p = ctx.period
    return ctx.payments().filter(received_on__gte=p.start, received_on__lt=p.end)


def touchpoints(ctx: engine.KpiContext, params: Any) -> QuerySet:
    start, end = ctx.bounds()
    return FollowUp.objects.visible_to(ctx.viewer).filter(
        kind__in=FollowUp.TOUCHPOINT_KINDS,
        occurred_at__gte=start,
        occurred_at__lt=end,
        owner_id__in=ctx.reps,
    )


DRILLS: dict[str, Drill] = {
    "won": Drill(gettext_lazy("Won deals closed in the period"), won, "deal", "closed_on"),
    "closed": Drill(gettext_lazy("Deals won or lost in the period"), closed, "deal", "closed_on"),
    "new_customers": Drill(
        gettext_lazy("First won deals of new customers"), new_customers, "deal", "closed_on"
    ),
    "open": Drill(
        gettext_lazy("Open deals expected to close in the period"), open_deals, "deal", None
    ),
    "entered": Drill(gettext_lazy("Deals that entered the stage in the period"), entered, "deal"),
    "payments": Drill(
        gettext_lazy("Payments received in the period"), payments, "payment", "received_on"
    ),
    "touchpoints": Drill(gettext_lazy("Touchpoints in the period"), touchpoints, "followup"),
}


def in_base(ctx: engine.KpiContext, drill: Drill, obj: Any) -> Decimal | None:
    if drill.kind == "followup" or obj.amount is None:
        return None
    today = ctx.today or ctx.org.local_date()
    day = getattr(obj, drill.rate_date) if drill.rate_date else today
    if day is None:
        return None
    try:
        return Decimal(obj.amount) * ctx.rates.rate_on(obj.currency_id, day)
    except MissingRate:
        return None


#: The amount converted to the base currency: a column of its own, shown only beside a
#: visible amount.
IN_BASE = "amount_in_base"
#: The columns of each kind of drill-down, by registry key.
COLUMNS = {
    "deal": [
        "name",
        "customer",
        "owner",
        "stage",
        "status",
        "amount",
        "currency",
        IN_BASE,
        "expected_close",
        "closed_on",
        "created_on",
    ],
    "payment": ["received_on", "contract", "owner", "reference", "amount", "currency", IN_BASE],
    "followup": ["occurred_at", "kind", "subject", "customer", "owner"],
}


def amount_visible(viewer: Any, drill: Drill) -> bool:
    """Does the viewer see the amounts this drill-down sums?"""
    return drill.kind != "followup" and policy.can_see(viewer, drill.kind, "amount")


def table(ctx: engine.KpiContext, drill: Drill, qs: QuerySet) -> tuple[list[str], Callable]:
    """(headers, row function) for the drill's kind of record: the registry's fields
    the viewer may see (a hidden field has no column), choices shown by their labels."""
    base = str(ctx.org.base_currency_id)
    visible = {f.key: f for f in cells.columns(ctx.viewer, drill.kind, COLUMNS[drill.kind])}
    with_base = amount_visible(ctx.viewer, drill)
    columns: list[Any] = [
        visible.get(key, IN_BASE if key == IN_BASE and with_base else None)
        for key in COLUMNS[drill.kind]
    ]
    columns = [c for c in columns if c is not None]
    headers = [
        _("Amount in %(currency)s") % {"currency": base} if c == IN_BASE else c.title
        for c in columns
    ]

    def row(obj: Any) -> list[Any]:
        return [
            money_text(in_base(ctx, drill, obj)) if c == IN_BASE else cells.value(obj, c, ctx.tz)
            for c in columns
        ]

    return headers, row


def related_of(viewer: Any, drill: Drill) -> list[str]:
    return cells.related(cells.columns(viewer, drill.kind, COLUMNS[drill.kind]))


ORDER = {
    "deal": ["-closed_on", "-id"],
    "payment": ["-received_on", "-id"],
    "followup": ["-occurred_at"],
}


def total_of(ctx: engine.KpiContext, drill: Drill, qs: QuerySet) -> Decimal | None:
    """Σ amount in the base currency, converted as the KPI does (None for follow-ups
    and for a viewer who may not see the amounts)."""
    if not amount_visible(ctx.viewer, drill):
        return None
    today = ctx.today or ctx.org.local_date()
    fields = ["currency_id", "amount"] + ([drill.rate_date] if drill.rate_date else [])
    total = Decimal(0)
    for row in qs.order_by().values_list(*fields).iterator():
        if row[1]:
            total += Decimal(row[1]) * ctx.rates.rate_on(
                row[0], row[2] if drill.rate_date else today
            )
    return total


def link_of(drill: Drill, obj: Any) -> str:
    """The record's own page, opened from the first cell of its row."""
    if drill.kind == "payment":
        return reverse("contract_detail", args=[obj.contract_id])
    return reverse(f"{drill.kind}_detail", args=[obj.pk])


@login_required
def drill(request: HttpRequest, metric: str) -> HttpResponse:
    definition = DRILLS.get(metric)
    if definition is None:
        raise Http404
    viewer: Any = me(request)
    org: Any = request.org  # type: ignore[attr-defined]
    scope = scope_from_params(viewer, request.GET)
    try:
        period, _preset, text = read_period(request.GET, org, org.local_date())
    except ValidationError as e:
        return render(
            request,
            "web/dashboards/drill.html",
            {"title": definition.title, "error": " ".join(e.messages)},
            status=400,
        )
    ctx = engine.KpiContext(viewer=viewer, period=period, filters=scope.filters())
    qs = definition.rows(ctx, request.GET).select_related(*related_of(viewer, definition))
    qs = qs.order_by(*ORDER[definition.kind])
    headers, row_of = table(ctx, definition, qs)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        ensure_export(viewer, definition.kind)
        rows_out = (row_of(obj) for obj in qs.iterator())
        return export_response(metric, period, headers, rows_out, fmt=fmt)
    try:
        total = total_of(ctx, definition, qs)
    except MissingRate as e:
        total = None
        messages = _("There is no exchange rate for %(currency)s on or before %(day)s; add one.")
        error = messages % {"currency": e.code, "day": e.day.isoformat()}
    else:
        error = ""
    count = qs.count()
    rows = [(link_of(definition, obj), row_of(obj)) for obj in qs[:PAGE_ROWS]]
    pipeline = {"pipeline": scope.pipeline.pk} if scope.pipeline is not None else {}
    params = request.GET.copy()
    params["format"] = "csv"
    xlsx = request.GET.copy()
    xlsx["format"] = "xlsx"
    return render(
        request,
        "web/dashboards/drill.html",
        {
            "title": definition.title,
            "scope": scope,
            "period": period,
            "count": count,
            "total": format_money(total, org.base_currency_id) if total is not None else "",
            "total_value": money_text(total) if total is not None else "",
            "headers": headers,
            "rows": rows,
            "shown": len(rows),
            "error": error,
            "can_export": may_export(viewer, definition.kind),
            "csv_url": f"{reverse('dashboard_drill', args=[metric])}?{urlencode(params)}",
            "xlsx_url": f"{reverse('dashboard_drill', args=[metric])}?{urlencode(xlsx)}",
            "back": f"{page_url(scope)}?{urlencode({'period': text, **pipeline})}",
        },
    )


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_response(
    metric: str, period: Any, headers: list[str], rows: Iterator[list[Any]], *, fmt: str
) -> HttpResponse:
    """Every row of the drill-down as an attachment; formula-like text is neutralised."""
    typed = ([str(v) if hasattr(v, "pk") else v for v in r] for r in rows)
    if fmt == "xlsx":
        binary = io.BytesIO()
        write_xlsx(headers, typed, binary)
        response = HttpResponse(binary.getvalue(), content_type=XLSX_TYPE)
    else:
        out = io.StringIO()
        write_csv(headers, typed, out)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"{metric}-{period.start.isoformat()}-{period.last_day.isoformat()}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
