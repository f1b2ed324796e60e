"""Pipeline history (管道历史): the pipeline as of a past day, the waterfall between two
days with each bar's deals, and commit / best case over the weeks of a period against
the bookings. Thin: the figures come from `forecasting.snapshots` and
`forecasting.waterfall` (the page, its drill-down and the API run the same query);
rows follow the viewer's data scope, and a figure reading a deal field hidden from the
viewer's role is withheld, a hidden column left out.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from salesops.analytics.engine import KpiContext
from salesops.analytics.formulas import MissingRate
from salesops.analytics.kpis import WITHHELD_NOTE, withheld
from salesops.analytics.periods import Period, parse_period, preset
from salesops.crm.models import Deal
from salesops.customization.policy import hidden_keys
from salesops.forecasting import snapshot_services, snapshots
from salesops.forecasting import waterfall as wf
from salesops.forecasting.models import SnapshotSettings
from salesops.lib.models import visibility
from salesops.pipeline.models import ForecastCategory, Stage
from salesops.users.models import User
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text
from salesops.web.templatetags.web import format_money
from salesops.web.views.setup import require_admin

#: How many deals a list shows (the largest first).
SHOWN = 200

BAR_LABELS: dict[str, Any] = {
    "start": pgettext_lazy("waterfall", "Start"),
    "new": pgettext_lazy("waterfall", "New"),
    "increased": pgettext_lazy("waterfall", "Increased"),
    "decreased": pgettext_lazy("waterfall", "Decreased"),
    "pulled_in": pgettext_lazy("waterfall", "Pulled in"),
    "pushed_out": pgettext_lazy("waterfall", "Pushed out"),
    "transferred": pgettext_lazy("waterfall", "Transferred"),
    "won": pgettext_lazy("waterfall", "Won"),
    "lost": pgettext_lazy("waterfall", "Lost"),
    "deleted": pgettext_lazy("waterfall", "Deleted"),
    "end": pgettext_lazy("waterfall", "End"),
}
BAR_HELP: dict[str, Any] = {
    "start": gettext_lazy("The open pipeline on the first day."),
    "new": gettext_lazy("Deals created, reopened or restored since, open on the last day."),
    "increased": gettext_lazy("Deals in both: the amount grew (or the exchange rate rose)."),
    "decreased": gettext_lazy("Deals in both: the amount fell (or the exchange rate fell)."),
    "pulled_in": gettext_lazy("Expected close moved into the period."),
    "pushed_out": gettext_lazy("Expected close moved out of the period."),
    "transferred": gettext_lazy("Handed to or from an owner outside your data scope."),
    "won": gettext_lazy("Won since: their amount on the first day."),
    "lost": gettext_lazy("Lost since: their amount on the first day."),
    "deleted": gettext_lazy("Moved to the recycle bin or purged since."),
    "end": gettext_lazy("The open pipeline on the last day."),
}
WEEKDAYS = [
    gettext_lazy("Monday"),
    gettext_lazy("Tuesday"),
    gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"),
    gettext_lazy("Friday"),
    gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
]
#: The deal fields each view reads: hidden from the viewer, the figure is withheld.
WATERFALL_READS = frozenset({"amount", "currency", "status", "closed_on"})


def read_day(params: Any, name: str, default: dt.date) -> dt.date:
    text = (params.get(name) or "").strip()
    if not text:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(_("Write the date as year-month-day, such as 2026-07-01.")) from None


def read_window(params: Any, org: Any, today: dt.date) -> Period | None:
    """`?period=`: the period whose expected closes count ("" or "all": every open deal);
    default this quarter."""
    text = params.get("period")
    if text is None:
        return preset("this_quarter", today=today, fiscal_start_month=org.fiscal_year_start_month)
    text = text.strip()
    if text in ("", "all"):
        return None
    return parse_period(text, fiscal_start_month=org.fiscal_year_start_month)


def names(viewer: Any, deal_ids: list[int]) -> dict[int, tuple[str, bool]]:
    """(name, in the recycle bin) of these deals the viewer may see (deleted ones too,
    as the recycle bin shows them)."""
    rule = visibility(Deal, viewer)
    if rule is False or not deal_ids:
        return {}
    qs = Deal.all_objects.filter(pk__in=deal_ids)
    if rule is not True:
        qs = qs.filter(rule)
    return {
        pk: (name, gone is not None)
        for pk, name, gone in qs.values_list("pk", "name", "deleted_at")
    }


def deal_cell(viewer: Any, pk: int, known: dict[int, tuple[str, bool]]) -> dict[str, Any]:
    """The deal's name linked to its page; a deleted one unlinked; one the viewer may
    not see now (handed to someone outside their scope, purged) unnamed."""
    if pk not in known:
        return {"name": _("A deal you cannot see now (#%(id)s)") % {"id": pk}, "url": ""}
    name, deleted = known[pk]
    return {"name": name, "url": "" if deleted else reverse("deal_detail", args=[pk])}


# -- the pipeline as of a day -------------------------------------------------------------------


@login_required
def as_of_page(request: HttpRequest) -> HttpResponse:
    viewer: Any = me(request)
    org: Any = request.org  # type: ignore[attr-defined]
    today = org.local_date()
    currency = str(org.base_currency_id)
    hidden = hidden_keys(viewer, "deal")
    context: dict[str, Any] = {"title": _("Pipeline as of a day"), "today": today}
    try:
        day = read_day(request.GET, "day", today - dt.timedelta(days=7))
        result = snapshots.as_of(viewer=viewer, day=day, today=today)
    except ValidationError as e:
        context["error"] = " ".join(e.messages)
        return render(request, "web/pipeline_history/as_of.html", context, status=400)
    except MissingRate as e:
        context["error"] = missing_rate(e)
        return render(request, "web/pipeline_history/as_of.html", context)
    show_amount = not ({"amount", "currency"} & hidden)
    # The largest first; by deal (newest first) when the amount is hidden: never sorted
    # on a hidden field.
    if show_amount:
        rows = sorted(result.rows.values(), key=lambda r: (-r.amount, r.deal_id))
    else:
        rows = sorted(result.rows.values(), key=lambda r: -r.deal_id)
    shown = rows[:SHOWN]
    known = names(viewer, [r.deal_id for r in shown])
    owners = dict(
        User.objects.filter(pk__in={r.owner_id for r in shown}).values_list("pk", "username")
    )
    stages = dict(Stage.objects.values_list("pk", "name"))
    categories = dict(ForecastCategory.choices)
    columns = [
        ("owner", _("Owner")),
        ("stage", _("Stage")),
        ("forecast_category", _("Forecast category")),
        ("expected_close", _("Expected close date")),
        ("amount", _("Amount")),
    ]
    columns = [(k, label) for k, label in columns if k not in hidden]
    table = []
    for r in shown:
        values = {
            "owner": owners.get(r.owner_id, "—"),
            "stage": stages.get(r.stage_id, "—"),
            "forecast_category": categories.get(r.category, r.category),
            "expected_close": r.expected_close,
            "amount": format_money(r.amount, currency),
        }
        table.append(
            {
                "deal": deal_cell(viewer, r.deal_id, known),
                "cells": [values[k] for k, _label in columns],
            }
        )
    total = sum((r.amount for r in rows), Decimal(0))
    context.update(
        day=day,
        result=result,
        headers=[label for _k, label in columns],
        table=table,
        count=len(rows),
        shown=len(shown),
        total=format_money(total, currency) if show_amount else None,
        total_value=f"{total:.2f}" if show_amount else "",
        note="" if show_amount else WITHHELD_NOTE,
    )
    return render(request, "web/pipeline_history/as_of.html", context)


def missing_rate(e: MissingRate) -> str:
    return _("There is no exchange rate for %(currency)s on or before %(day)s; add one.") % {
        "currency": e.code,
        "day": e.day.isoformat(),
    }


# -- the waterfall ------------------------------------------------------------------------------


def waterfall_query(request: HttpRequest) -> tuple[dict[str, Any], wf.Result | None]:
    """The page's and the drill-down's shared reading of the query and the result
    (None: withheld or refused, with the reason in the context)."""
    viewer: Any = me(request)
    org: Any = request.org  # type: ignore[attr-defined]
    today = org.local_date()
    params = request.GET
    context: dict[str, Any] = {"currency": str(org.base_currency_id), "today": today}
    try:
        window = read_window(params, org, today)
        start = read_day(params, "start", window.start if window else today - dt.timedelta(30))
        end = read_day(params, "end", min(today, window.last_day) if window else today)
        if end <= start:
            raise ValidationError(_("The last day must come after the first day."))
    except ValidationError as e:
        context["error"] = " ".join(e.messages)
        return context, None
    period_text = params.get("period")
    if period_text is None:
        period_text = window.label if window else ""
    query = {"start": start.isoformat(), "end": end.isoformat(), "period": period_text}
    context.update(start=start, end=end, window=window, query=query, qs=urlencode(query))
    reads = WATERFALL_READS | ({"expected_close"} if window else set())
    if reads & hidden_keys(viewer, "deal"):
        context["withheld"] = WITHHELD_NOTE
        return context, None
    try:
        result = wf.between(viewer=viewer, start=start, end=end, window=window, today=today)
    except MissingRate as e:
        context["error"] = missing_rate(e)
        return context, None
    return context, result


@login_required
def waterfall_page(request: HttpRequest) -> HttpResponse:
    context, result = waterfall_query(request)
    context["title"] = _("Pipeline waterfall")
    status = 400 if context.get("error") and result is None and "start" not in context else 200
    if result is not None:
        currency = context["currency"]
        bars = []
        chart = []
        for key in wf.BARS:
            bar = result.waterfall.bars[key]
            url = f"{reverse('pipeline_waterfall_drill', args=[key])}?{context['qs']}"
            bars.append(
                {
                    "key": key,
                    "label": BAR_LABELS[key],
                    "help": BAR_HELP[key],
                    "amount": format_money(bar.amount, currency),
                    "value": f"{bar.amount:.2f}",
                    "count": len(bar.deal_ids),
                    "url": url,
                }
            )
            chart.append(
                {"key": key, "label": str(BAR_LABELS[key]), "value": float(bar.amount), "url": url}
            )
        context.update(
            bars=bars,
            chart={"bars": chart, "currency": currency, "title": str(_("Pipeline waterfall"))},
            result=result,
            exact=result.waterfall.check(),
        )
    return render(request, "web/pipeline_history/waterfall.html", context, status=status)


@login_required
def waterfall_drill(request: HttpRequest, bar: str) -> HttpResponse:
    if bar not in wf.BARS:
        raise Http404
    viewer: Any = me(request)
    context, result = waterfall_query(request)
    context.update(title=BAR_LABELS[bar], bar=bar, help=BAR_HELP[bar])
    if result is not None:
        currency = context["currency"]
        ids = result.waterfall.bars[bar].deal_ids
        a, b = result.start_rows, result.end_rows

        def amount(rows: dict[int, Any], pk: int) -> str:
            row = rows.get(pk)
            return format_money(row.amount, currency) if row is not None else "—"

        def change(pk: int) -> Decimal:
            """The deal's part of the bar (their sum is the bar)."""
            first = a[pk].amount if pk in a else Decimal(0)
            last = b[pk].amount if pk in b else Decimal(0)
            row = a.get(pk)
            counted_start = row is not None and row.visible and wf.in_window(row, result.window)
            if bar == "start":
                return first
            if bar in ("end", "new", "pulled_in"):
                return last
            if bar in ("increased", "decreased"):
                return last - first
            if bar == "transferred" and not counted_start:
                return last
            return -first

        changes = {pk: change(pk) for pk in ids}
        ordered = sorted(ids, key=lambda pk: (-abs(changes[pk]), pk))[:SHOWN]
        known = names(viewer, ordered)
        context.update(
            rows=[
                {
                    "deal": deal_cell(viewer, pk, known),
                    "first": amount(a, pk),
                    "last": amount(b, pk),
                    "change": format_money(changes[pk], currency),
                }
                for pk in ordered
            ],
            count=len(ids),
            shown=len(ordered),
            total=format_money(result.waterfall.bars[bar].amount, currency),
            total_value=f"{result.waterfall.bars[bar].amount:.2f}",
            back=f"{reverse('pipeline_waterfall')}?{context['qs']}",
        )
    return render(request, "web/pipeline_history/drill.html", context)


# -- commit and best case over the weeks ---------------------------------------------------------


@login_required
def trend_page(request: HttpRequest) -> HttpResponse:
    viewer: Any = me(request)
    org: Any = request.org  # type: ignore[attr-defined]
    today = org.local_date()
    currency = str(org.base_currency_id)
    context: dict[str, Any] = {"title": _("Commit and best case over the weeks")}
    try:
        text = (request.GET.get("period") or "").strip()
        period = (
            parse_period(text, fiscal_start_month=org.fiscal_year_start_month)
            if text
            else preset("this_quarter", today=today, fiscal_start_month=org.fiscal_year_start_month)
        )
    except ValidationError as e:
        context["error"] = " ".join(e.messages)
        return render(request, "web/pipeline_history/trend.html", context, status=400)
    context.update(period=period, text=text or str(period))
    hidden = hidden_keys(viewer, "deal")
    if {k for _o, k in snapshots.TREND_READS} & hidden or withheld(viewer, ["bookings"]):
        context["withheld"] = WITHHELD_NOTE
        return render(request, "web/pipeline_history/trend.html", context)
    ctx = KpiContext(viewer=viewer, period=period, today=today)
    try:
        trend = snapshots.trend(ctx)
    except MissingRate as e:
        context["error"] = missing_rate(e)
        return render(request, "web/pipeline_history/trend.html", context)
    context.update(
        points=[
            {
                "day": p.day,
                "commit": format_money(p.commit, currency),
                "best_case": format_money(p.best_case, currency),
                "booked": format_money(p.booked, currency),
            }
            for p in trend.points
        ],
        actual=format_money(trend.actual, currency),
        actual_value=f"{trend.actual:.2f}",
        final=trend.final,
        chart={
            "title": str(_("Commit and best case over the weeks")),
            "currency": currency,
            "labels": [p.day.isoformat() for p in trend.points],
            "series": [
                {
                    "name": str(_("Commit + booked")),
                    "values": [float(p.commit) for p in trend.points],
                },
                {
                    "name": str(_("Best case + booked")),
                    "values": [float(p.best_case) for p in trend.points],
                },
                {
                    "name": str(_("Booked so far")),
                    "values": [float(p.booked) for p in trend.points],
                },
                {
                    "name": str(
                        _("Bookings of the period") if trend.final else _("Bookings so far")
                    ),
                    "values": [float(trend.actual) for _p in trend.points],
                },
            ],
        },
    )
    return render(request, "web/pipeline_history/trend.html", context)


# -- settings: when the weekly snapshot is taken -------------------------------------------------


@login_required
def snapshot_settings(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    current = SnapshotSettings.get()
    error = ""
    if request.method == "POST":
        try:
            weekday = int(request.POST.get("weekday", ""))
            hour = int(request.POST.get("hour", ""))
        except ValueError:
            error = _("Choose a day of the week and an hour from 0 to 23.")
        else:
            try:
                snapshot_services.save_snapshot_settings(by=me(request), weekday=weekday, hour=hour)
            except REFUSALS as e:
                error = error_text(e)
            else:
                messages.success(request, _("The snapshot schedule is saved."))
                return HttpResponseRedirect(reverse("settings_snapshots"))
    return render(
        request,
        "web/pipeline_history/settings.html",
        {
            "title": _("Pipeline snapshots"),
            "current": current,
            "weekdays": list(enumerate(WEEKDAYS)),
            "hours": list(range(24)),
            "error": error,
        },
        status=400 if error else 200,
    )
