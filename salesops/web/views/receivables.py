"""Collections pages: the receivables ageing (per customer, rep or team) with its
drill-down to the instalments and their export, the cash forecast with its accuracy,
and the reminders' settings. Thin: the figures come from `salesops.receivables`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from salesops.analytics import engine
from salesops.analytics.formulas import MissingRate, money_text
from salesops.analytics.periods import preset
from salesops.lib.services import ensure_export, ensure_right, may_export
from salesops.receivables import ageing as ag
from salesops.receivables import forecast as fc
from salesops.receivables.models import CollectionSettings
from salesops.receivables.services import update_settings
from salesops.web.auth import me
from salesops.web.templatetags.web import format_money
from salesops.web.views.dashboard_drill import export_response

#: Most instalments shown on the drill-down page; the exports have them all.
PAGE_ROWS = 500
#: Rows of the ageing table per page (most overdue first; the totals cover all).
ROWS = 100


def _key(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _viewer(request: HttpRequest) -> Any:
    viewer: Any = me(request)
    ensure_right(viewer, "payment", "view")
    return viewer


def _missing_rate(e: MissingRate) -> str:
    return _("There is no exchange rate for %(currency)s on or before %(day)s; add one.") % {
        "currency": e.code,
        "day": e.day.isoformat(),
    }


@login_required
def ageing(request: HttpRequest) -> HttpResponse:
    """The ageing table: one row per customer, rep or team, a cell per bucket linking
    to the instalments it adds up."""
    viewer = _viewer(request)
    group = request.GET.get("group", "customer")
    group = group if group in ag.GROUP_KEYS else "customer"
    context: dict[str, Any] = {
        "title": _("Receivables ageing"),
        "group": group,
        "groups": ag.GROUPS,
        "buckets": ag.BUCKETS,
        "can_export": may_export(viewer, "payment"),
        "hidden": ag.dates_hidden(viewer),
    }
    if context["hidden"]:
        return render(request, "web/receivables/ageing.html", context)
    page = max(_key(request.GET.get("page")) or 1, 1)
    try:
        table = ag.ageing(viewer, group=group, limit=ROWS, offset=(page - 1) * ROWS)
    except MissingRate as e:
        context["error"] = _missing_rate(e)
        return render(request, "web/receivables/ageing.html", context)
    money = table.money
    drill = reverse("receivables_instalments")

    def cell(row_key: Any, bucket: str, c: ag.Cell, *, total_row: bool = False) -> dict[str, Any]:
        params = {"group": group, "bucket": bucket}
        if row_key is not None:
            params["key"] = row_key
        # A row without a key (instalments of no owner or team) has no drill-down: it
        # would list every instalment of the bucket.
        linked = c.count and (total_row or row_key is not None)
        return {
            "count": c.count,
            "amount": format_money(c.amount, table.base_currency) if money else None,
            "url": f"{drill}?{urlencode(params)}" if linked else "",
        }

    rows = [
        {
            "name": r.name,
            "key": r.key,
            "cells": [cell(r.key, b, r.cells[b]) for b in ag.BUCKET_KEYS],
            "total": cell(r.key, "", r.total),
        }
        for r in table.rows
    ]
    totals = {
        "cells": [cell(None, b, table.totals.cells[b], total_row=True) for b in ag.BUCKET_KEYS],
        "total": cell(None, "", table.totals.total, total_row=True),
    }
    # The overdue_receivables KPI of any period that has not ended is exactly the
    # overdue buckets' total (the same statement, as of today, at today's rate).
    overdue = table.totals.overdue.amount
    pages = max((table.count + ROWS - 1) // ROWS, 1)
    context.update(
        {
            "rows": rows,
            "totals": totals,
            "money": money,
            "today": table.today,
            "base": table.base_currency,
            "overdue": format_money(overdue, table.base_currency) if money else None,
            "overdue_value": money_text(overdue) if money else "",
            "page": page,
            "pages": pages,
            "count": table.count,
            "prev_url": f"?{urlencode({'group': group, 'page': page - 1})}" if page > 1 else "",
            "next_url": f"?{urlencode({'group': group, 'page': page + 1})}" if page < pages else "",
            "export_csv": f"{drill}?format=csv",
            "export_xlsx": f"{drill}?format=xlsx",
        }
    )
    return render(request, "web/receivables/ageing.html", context)


def _headers(money: bool) -> list[str]:
    headers = [
        _("Instalment"),
        _("Customer"),
        _("Contract"),
        _("Owner"),
        _("Due on"),
        _("Days overdue"),
        pgettext("collections", "Ageing"),
    ]
    if money:
        headers += [_("Currency"), _("Amount"), _("Still owed"), _("Still owed (base currency)")]
    return headers


def _row(line: ag.Line, money: bool, labels: dict[str, str]) -> list[Any]:
    plan = line.plan
    row: list[Any] = [
        str(plan),
        plan.contract.customer.name,
        plan.contract.number,
        str(plan.owner) if plan.owner else "",
        plan.due_on,
        line.days_overdue,
        labels[line.bucket],
    ]
    if money:
        row += [
            line.currency,
            line.amount,
            line.outstanding,
            line.outstanding_base.quantize(Decimal("0.01")),
        ]
    return row


@login_required
def instalments(request: HttpRequest) -> HttpResponse:
    """The instalments behind one cell of the ageing table (or all of them), oldest due
    first; `?format=csv|xlsx` exports every one."""
    viewer = _viewer(request)
    if ag.dates_hidden(viewer):
        raise PermissionDenied(_("Your role does not allow you to see these records."))
    group = request.GET.get("group", "customer")
    group = group if group in ag.GROUP_KEYS else "customer"
    key = _key(request.GET.get("key"))
    bucket = request.GET.get("bucket", "")
    bucket = bucket if bucket in ag.BUCKET_KEYS else ""
    narrow = ag.narrow_for(group, key)
    money = not ag.money_hidden(viewer)
    labels = {k: str(label) for k, label in ag.BUCKETS}
    fmt = request.GET.get("format")
    org: Any = request.org  # type: ignore[attr-defined]
    if fmt in ("csv", "xlsx"):
        ensure_export(viewer, "payment")
        try:
            lines = ag.instalments(viewer, narrow=narrow, bucket=bucket)
        except MissingRate as e:
            return HttpResponse(_missing_rate(e), status=409, content_type="text/plain")
        rows = (_row(line, money, labels) for line in lines)
        today = org.local_date()
        return export_response(
            "receivables",
            _Day(today),
            _headers(money),
            rows,
            fmt=fmt,
        )
    error = ""
    try:
        lines = ag.instalments(viewer, narrow=narrow, bucket=bucket, limit=PAGE_ROWS + 1)
    except MissingRate as e:
        lines, error = [], _missing_rate(e)
    more = len(lines) > PAGE_ROWS
    lines = lines[:PAGE_ROWS]
    total = sum((ln.outstanding_base for ln in lines), Decimal(0))
    params = request.GET.copy()
    params.pop("format", None)
    title = _("Instalments still owed")
    subtitle = []
    if key is not None:
        subtitle.append(ag.name_of(viewer, group, key))
    if bucket:
        subtitle.append(labels[bucket])
    return render(
        request,
        "web/receivables/instalments.html",
        {
            "title": title,
            "subtitle": " · ".join(s for s in subtitle if s),
            "headers": _headers(money),
            "rows": [
                (reverse("contract_detail", args=[ln.plan.contract_id]), _row(ln, money, labels))
                for ln in lines
            ],
            "more": more,
            "money": money,
            "total": format_money(total, org.base_currency_id) if money and not more else "",
            "total_value": money_text(total),
            "error": error,
            "can_export": may_export(viewer, "payment"),
            "csv_url": f"?{urlencode({**params.dict(), 'format': 'csv'})}",
            "xlsx_url": f"?{urlencode({**params.dict(), 'format': 'xlsx'})}",
            "back": f"{reverse('receivables')}?{urlencode({'group': group})}",
        },
    )


class _Day:
    """An export's file is named after a period: the ageing's is one day."""

    def __init__(self, day: dt.date) -> None:
        self.start = self.last_day = day


@login_required
def forecast(request: HttpRequest) -> HttpResponse:
    """Expected collections per week and month for the next six months, beside the
    collections targets, and the accuracy of past forecasts."""
    viewer = _viewer(request)
    org: Any = request.org  # type: ignore[attr-defined]
    base = org.base_currency_id
    context: dict[str, Any] = {"title": _("Cash forecast"), "money": not ag.money_hidden(viewer)}
    if not context["money"] or not fc.may_see(viewer):
        context["withheld"] = True
        return render(request, "web/receivables/forecast.html", context)
    try:
        view = fc.forecast_for(viewer)
    except MissingRate as e:
        context["error"] = _missing_rate(e)
        return render(request, "web/receivables/forecast.html", context)
    quarter = preset(
        "this_quarter", today=org.local_date(), fiscal_start_month=org.fiscal_year_start_month
    )
    kpis, _errors = engine.compute(
        engine.KpiContext(viewer=viewer, period=quarter), ["dso", "overdue_receivables"]
    )
    context["dso"] = kpis.get("dso")
    context["quarter"] = quarter
    acc = fc.accuracy_for(viewer, kind="month")
    acc_weeks = fc.accuracy_for(viewer, kind="week")
    top = max([e for _w, e in view.weeks] + [Decimal(1)])
    context.update(
        {
            "made_on": view.made_on,
            "weeks": [
                {"start": w, "value": format_money(e, base), "pct": int(e * 100 / top)}
                for w, e in view.weeks
            ],
            "months": [
                {
                    "start": m,
                    "value": format_money(e, base),
                    "target": format_money(t, base) if t is not None else None,
                    "rate": f"{e / t:.0%}" if t else None,
                }
                for m, e, t in view.months
            ],
            "month_rows": [
                {
                    "start": s,
                    "made_on": m,
                    "forecast": format_money(f, base),
                    "actual": format_money(x, base),
                }
                for _k, s, m, f, x in acc.rows
            ],
            "week_rows": [
                {
                    "start": s,
                    "made_on": m,
                    "forecast": format_money(f, base),
                    "actual": format_money(x, base),
                }
                for _k, s, m, f, x in acc_weeks.rows
            ],
            "month_ape": acc.ape,
            "month_bias": acc.bias,
            "week_ape": acc_weeks.ape,
            "week_bias": acc_weeks.bias,
        }
    )
    return render(request, "web/receivables/forecast.html", context)


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    """The reminders' settings (administrators)."""
    viewer: Any = me(request)
    if not viewer.is_org_admin():
        raise PermissionDenied(_("Only an administrator may change the collections settings."))
    row = CollectionSettings.get()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            update_settings(
                by=viewer,
                manager_after_days=request.POST.get("manager_after_days", ""),
                remind_owner=request.POST.get("remind_owner") == "on",
            )
        except ValidationError as e:
            errors = e.message_dict
        else:
            messages.success(request, _("Saved."))
            return HttpResponseRedirect(reverse("receivables_settings"))
    return render(
        request,
        "web/receivables/settings.html",
        {
            "title": _("Collections settings"),
            "row": row,
            "value": request.POST.get("manager_after_days", row.manager_after_days),
            "errors": errors,
        },
        status=400 if errors else 200,
    )
