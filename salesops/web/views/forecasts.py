"""The forecast pages (销售预测): a rep's, a team's or the organisation's forecast for a
month or fiscal quarter — closed so far, commit, best case, pipeline (the forecast KPIs),
target and gap — with the deals behind each figure, the submissions (own numbers,
managers' overrides beside the originals) and the forms to submit and override.

Everything shown comes from `forecasting.page.build` (the API's forecast too); writes go
through `forecasting.services`. A page the viewer may not see is a 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Case, DateField, F, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.analytics.engine import KpiContext, compute
from salesops.analytics.formulas import MissingRate, money_text
from salesops.crm.models import Deal
from salesops.forecasting import kpis as fk
from salesops.forecasting import page, services
from salesops.forecasting import queries as fq
from salesops.forecasting.models import CategoryChange
from salesops.pipeline.models import ForecastCategory as Cat
from salesops.users.models import User
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, error_text
from salesops.web.templatetags.web import format_money
from salesops.web.views.actions import back, visible_or_404
from salesops.web.views.dashboard_drill import Drill, link_of, related_of, table

#: Rows per page of a drill-down.
PAGE_ROWS = 50

FIGURE_TITLES = {
    "closed": gettext_lazy("Closed so far"),
    "commit": Cat.COMMIT.label,
    "best_case": Cat.BEST_CASE.label,
    "pipeline": Cat.PIPELINE.label,
}
KPI_OF = {
    "closed": "bookings",
    "commit": "forecast_commit",
    "best_case": "forecast_best_case",
    "pipeline": "forecast_pipeline",
}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def read(request: HttpRequest) -> tuple[page.Scope, fq.ForecastPeriod, str]:
    """The scope and period asked for (default: the current fiscal quarter)."""
    viewer = me(request)
    params = request.GET if request.method == "GET" else request.POST
    scope = page.resolve_scope(
        viewer,
        person=_int(params.get("person")),
        team=_int(params.get("team")),
        org=params.get("org") == "1",
    )
    text = (params.get("period") or "").strip()
    if not text:
        today = request.org.local_date()  # type: ignore[attr-defined]
        return scope, fq.current_periods(today)[1], ""
    return scope, fq.forecast_period(text), ""


def page_url(scope: page.Scope, period: fq.ForecastPeriod) -> str:
    return f"{reverse('forecast')}?{urlencode({'period': period.label, **scope.params()})}"


@login_required
def forecast(request: HttpRequest) -> HttpResponse:
    viewer = me(request)
    try:
        scope, period, _e = read(request)
    except ValidationError as e:
        return render(
            request,
            "web/forecasts/forecast.html",
            {"error": " ".join(e.messages), "period_text": request.GET.get("period", "")},
            status=400,
        )
    data = page.build(viewer, scope, period)
    params = {"period": period.label, **scope.params()}
    today = request.org.local_date()  # type: ignore[attr-defined]
    deadline = fq.deadline_of(period)
    tiles = [
        {
            "key": key,
            "label": FIGURE_TITLES[key],
            "value": data.figures.get(KPI_OF[key]),
            "error": data.errors.get(KPI_OF[key], ""),
            "url": f"{reverse('forecast_deals', args=[key])}?{urlencode(params)}",
        }
        for key in ("closed", "commit", "best_case", "pipeline")
    ]
    return render(
        request,
        "web/forecasts/forecast.html",
        {
            "f": data,
            "tiles": tiles,
            "params": params,
            "period_text": period.label,
            "periods": [p.label for p in fq.current_periods(today)],
            "deadline": deadline,
            "locked": deadline is not None and timezone.now() >= deadline.locks_at,
            "is_admin": viewer.is_org_admin(),
            "this_url": page_url(scope, period),
        },
    )


@login_required
def forecast_deals(request: HttpRequest, figure: str) -> HttpResponse:
    """The deals behind one figure, a page at a time (`forecasting.kpis.forecast_deals`,
    the query the figure sums)."""
    if figure not in fk.FIGURES:
        raise Http404
    viewer = me(request)
    try:
        scope, period, _e = read(request)
    except ValidationError as e:
        return render(
            request, "web/forecasts/deals.html", {"error": " ".join(e.messages)}, status=400
        )
    ctx = KpiContext(viewer=viewer, period=period.period, filters=scope.filters())
    today = ctx.today or ctx.org.local_date()
    drill = Drill(
        FIGURE_TITLES[figure], lambda c, p: fk.forecast_deals(c, figure), "deal", "rate_day"
    )
    qs = (
        fk.forecast_deals(ctx, figure)
        .annotate(
            rate_day=Case(
                When(status=Deal.Status.WON, then=F("closed_on")),
                default=Value(today),
                output_field=DateField(),
            )
        )
        .select_related(*related_of(viewer, drill))
        .order_by("-closed_on", "expected_close", "id")
    )
    headers, row_of = table(ctx, drill, qs)
    number = max(1, _int(request.GET.get("page")) or 1)
    count = qs.count()
    chunk = list(qs[(number - 1) * PAGE_ROWS : number * PAGE_ROWS])
    try:
        rows = [(link_of(drill, obj), row_of(obj)) for obj in chunk]
        error = ""
    except MissingRate as e:
        rows, error = (
            [],
            _("There is no exchange rate for %(currency)s on or before %(day)s; add one.")
            % {"currency": e.code, "day": e.day.isoformat()},
        )
    # The figure itself, as the page shows it (withheld: no total).
    shown = compute(ctx, [KPI_OF[figure]])[0][KPI_OF[figure]]
    values = Decimal(shown) if shown is not None else None
    params = {"period": period.label, **scope.params()}
    base = reverse("forecast_deals", args=[figure])
    return render(
        request,
        "web/forecasts/deals.html",
        {
            "title": FIGURE_TITLES[figure],
            "scope": scope,
            "period": period,
            "count": count,
            "total": format_money(values, ctx.org.base_currency_id) if values is not None else "",
            "total_value": money_text(values) if values is not None else "",
            "headers": headers,
            "rows": rows,
            "error": error,
            "previous": f"{base}?{urlencode({**params, 'page': number - 1})}" if number > 1 else "",
            "next": f"{base}?{urlencode({**params, 'page': number + 1})}"
            if number * PAGE_ROWS < count
            else "",
            "page": number,
            "back": page_url(scope, period),
        },
    )


def _done(request: HttpRequest, default: str, error: str | None, ok: str) -> HttpResponse:
    if error:
        messages.error(request, error)
    else:
        messages.success(request, ok)
    return back(request, default)


@login_required
@require_POST
def forecast_submit(request: HttpRequest) -> HttpResponse:
    viewer = me(request)
    post = request.POST
    default = reverse("forecast")
    try:
        period = fq.forecast_period(post.get("period", ""))
        services.submit_forecast(
            by=viewer,
            period=period,
            commit=post.get("commit", ""),
            best_case=post.get("best_case", ""),
            note=post.get("note", ""),
        )
    except REFUSALS as e:
        return _done(request, default, error_text(e), "")
    return _done(request, default, None, _("Your forecast was submitted."))


@login_required
@require_POST
def forecast_override(request: HttpRequest) -> HttpResponse:
    viewer = me(request)
    post = request.POST
    default = reverse("forecast")
    person = User.objects.filter(pk=_int(post.get("person")) or 0).first()
    if person is None:
        raise Http404
    try:
        period = fq.forecast_period(post.get("period", ""))
        services.override_forecast(
            by=viewer,
            person=person,
            period=period,
            commit=post.get("commit", ""),
            best_case=post.get("best_case", ""),
            note=post.get("note", ""),
        )
    except REFUSALS as e:
        if not fq.may_see_person(viewer, person.pk):
            raise Http404 from None
        return _done(request, default, error_text(e), "")
    return _done(
        request,
        default,
        None,
        _("Your override of the forecast of %(name)s was saved.") % {"name": person},
    )


@login_required
@require_POST
def forecast_deadline(request: HttpRequest) -> HttpResponse:
    viewer = me(request)
    post = request.POST
    default = reverse("forecast")
    raw = (post.get("locks_at") or "").strip()
    try:
        period = fq.forecast_period(post.get("period", ""))
        locks_at = None
        if raw:
            try:
                naive = dt.datetime.fromisoformat(raw)
            except ValueError:
                raise ValidationError(
                    _("Enter the deadline as a date and time, such as 2026-09-25 18:00.")
                ) from None
            locks_at = timezone.make_aware(naive, request.org.tz)  # type: ignore[attr-defined]
        services.set_deadline(by=viewer, period=period, locks_at=locks_at)
    except REFUSALS as e:
        return _done(request, default, error_text(e), "")
    return _done(request, default, None, _("The deadline was saved."))


@login_required
@require_POST
def deal_forecast_category(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner's forecast category control on the deal page."""
    deal = visible_or_404(Deal, request, pk)
    default = reverse("deal_detail", args=[deal.pk])
    try:
        services.override_forecast_category(
            deal=deal, category=request.POST.get("category", ""), by=me(request)
        )
    except REFUSALS as e:
        return _done(request, default, error_text(e), "")
    return _done(request, default, None, _("The forecast category was changed."))


def category_history(deal: Any) -> list[CategoryChange]:
    return list(CategoryChange.objects.filter(deal=deal).select_related("by")[:20])
