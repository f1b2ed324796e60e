"""The statistical forecast of a period (pipeline-based expected bookings with an 80%
interval; monthly bookings and collections forecast by the time-series method the
backtest chose) and the forecast-accuracy ranking.

Figures are computed as the viewer: the pipeline-based forecast counts only the deals
they may see; a role hiding deal amount gets no figure; a team or rep outside their
scope is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from salesops.analytics.engine import KpiContext
from salesops.analytics.formulas import MissingRate
from salesops.analytics.kpis import WITHHELD_NOTE
from salesops.forecasting import accuracy, statistical
from salesops.forecasting.kpis_accuracy import accuracy_rows, submission_rows
from salesops.forecasting.stats_maths import AGE_BUCKETS
from salesops.pipeline.models import Stage
from salesops.users.models import Team, User
from salesops.web.auth import me
from salesops.web.views.dashboards import PRESET_LABELS, read_period, scope_from_params
from salesops.web.views.dashboards import choices as dashboard_choices


def bucket_label(b: int) -> str:
    low = AGE_BUCKETS[b]
    if b + 1 < len(AGE_BUCKETS):
        return _("%(low)d–%(high)d days") % {"low": low, "high": AGE_BUCKETS[b + 1] - 1}
    return _("%(low)d days or more") % {"low": low}


def chart_data(s: statistical.SeriesForecast) -> dict[str, Any]:
    """What static/web/forecast_stats.js draws: months, actual and forecast money."""
    return {
        "months": [m.strftime("%Y-%m") for m in s.months],
        "actual": [None if v is None else float(v) for v in s.actual],
        "forecast": [None if v is None else float(v) for v in s.forecast],
        "actual_label": _("Actual"),
        "forecast_label": _("Forecast"),
    }


def _page_context(request: HttpRequest, default: str) -> tuple[Any, dict[str, Any], Any]:
    viewer: Any = me(request)
    org: Any = request.org  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "presets": list(PRESET_LABELS.items()),
        "currency": org.base_currency_id,
    }
    params = request.GET.copy()
    params.setdefault("period", default)
    period, chosen, text = read_period(params, org, org.local_date())
    context.update(period=period, chosen=chosen, text="" if chosen else text)
    return viewer, context, period


def scope_choices(viewer: Any, here: str) -> list[tuple[str, str]]:
    """The forecasts the viewer may open (as the dashboards' choices): the organisation,
    teams with a visible member, visible reps."""
    out = []
    for url, label in dashboard_choices(viewer):
        for prefix, key in (("/dashboards/team/", "team"), ("/dashboards/rep/", "owner")):
            if url.startswith(prefix):
                url = f"{here}?{key}={url.removeprefix(prefix).strip('/')}"
                break
        else:
            url = here
        out.append((url, label))
    return out


def missing_rate(e: MissingRate) -> str:
    return _("There is no exchange rate for %(currency)s on or before %(day)s; add one.") % {
        "currency": e.code,
        "day": e.day.isoformat(),
    }


def current_url(here: str, scope: Any) -> str:
    if scope.team is not None:
        return f"{here}?team={scope.team.pk}"
    if scope.rep is not None:
        return f"{here}?owner={scope.rep.pk}"
    return here


def figures(ctx: KpiContext) -> dict[str, Any]:
    """The page's figures: the pipeline-based forecast by cohort and the monthly series
    (collections only for a role that may see payments). Raises MissingRate."""
    out = statistical.pipeline_forecast(ctx)
    series = [statistical.series_forecast(ctx, "bookings")]
    if not statistical.collections_withheld(ctx.viewer):
        series.append(statistical.series_forecast(ctx, "collections"))
    stages = dict(Stage.objects.values_list("id", "name"))
    return {
        "forecast": out,
        "lines": [
            {"line": ln, "stage": stages.get(ln.stage_id, "?"), "age": bucket_label(ln.bucket)}
            for ln in out.lines
        ],
        "series": [
            {
                "s": s,
                "chart": chart_data(s),
                "id": f"chart-{s.metric}",
                "data_id": f"chart-{s.metric}-data",
                "rows": list(zip(s.months, s.actual, s.forecast, strict=True)),
            }
            for s in series
        ],
    }


@login_required
def statistical_page(request: HttpRequest) -> HttpResponse:
    template = "web/forecast_stats/statistical.html"
    viewer: Any = me(request)
    scope = scope_from_params(viewer, request.GET)
    here = reverse("forecast_stats")
    context: dict[str, Any] = {"title": _("Statistical forecast"), "scope": scope, "here": here}
    try:
        viewer, more, period = _page_context(request, "this_month")
    except ValidationError as e:
        context.update(error=" ".join(e.messages), presets=list(PRESET_LABELS.items()))
        return render(request, template, context, status=400)
    context.update(
        more,
        scope_params=scope.params(),
        choices=scope_choices(viewer, here),
        current=current_url(here, scope),
    )
    if statistical.withheld(viewer):
        context["withheld"] = WITHHELD_NOTE
        return render(request, template, context)
    try:
        context.update(figures(KpiContext(viewer=viewer, period=period, filters=scope.filters())))
    except MissingRate as e:
        context["rate_error"] = missing_rate(e)
    return render(request, template, context)


def subject_names(subjects: set[str]) -> dict[str, str]:
    ids = {
        kind: {int(s.split(":")[1]) for s in subjects if s.startswith(kind + ":")}
        for kind in ("team", "owner")
    }
    names = {
        f"team:{pk}": name
        for pk, name in Team.objects.filter(pk__in=ids["team"]).values_list("id", "name")
    }
    names |= {f"owner:{u.pk}": str(u) for u in User.objects.filter(pk__in=ids["owner"])}
    names["org"] = _("Organisation")
    return names


@login_required
def accuracy_page(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        "title": _("Forecast accuracy"),
        "here": reverse("forecast_accuracy"),
    }
    try:
        viewer, more, period = _page_context(request, "last_month")
    except ValidationError as e:
        context.update(error=" ".join(e.messages), presets=list(PRESET_LABELS.items()))
        return render(request, "web/forecast_stats/accuracy.html", context, status=400)
    context.update(more)
    if statistical.withheld(viewer):
        context["withheld"] = WITHHELD_NOTE
        return render(request, "web/forecast_stats/accuracy.html", context)
    ctx = KpiContext(viewer=viewer, period=period)
    try:
        rows = accuracy_rows(ctx)
    except MissingRate as e:
        context["rate_error"] = missing_rate(e)
        return render(request, "web/forecast_stats/accuracy.html", context)
    submitted = submission_rows(ctx)
    names = subject_names({str(r.subject) for r in (*rows, *submitted)})
    subjects = accuracy.by_subject(rows)
    latest = {r.subject: r for r in submitted}  # rows come by week: the last is latest
    submitters = sorted(
        accuracy.by_subject(submitted).items(),
        key=lambda item: (item[1].mape is None, item[1].mape or 0.0, str(item[0])),
    )
    context.update(
        ended=ctx.today is not None and period.end <= ctx.today,
        ranking=[
            {"row": r, "name": names.get(str(r.subject), r.subject), "all": subjects[r.subject]}
            for r in accuracy.ranking(rows)
        ],
        weeks=list(accuracy.by_made([r for r in rows if r.subject == "org"]).items()),
        submitted=[
            {
                "subject": subject,
                "name": names.get(str(subject), subject),
                "all": summary,
                "latest": latest[subject],
            }
            for subject, summary in submitters
        ],
        submitted_weeks=list(accuracy.by_made(submitted).items()),
    )
    return render(request, "web/forecast_stats/accuracy.html", context)
