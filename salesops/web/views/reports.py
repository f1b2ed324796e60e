"""Report builder pages: the list of reports, the builder (new or saved), the records
behind a cell, and CSV/XLSX exports. Thin over `salesops.reports.services`.

A report's definition travels in the query string (`object`, `f0_field`, `f0_op`,
`f0_value`, `g0_field`, `g0_bucket`, `m0_agg`, `m0_field`, `chart`), so a run, its
drill-downs and its exports are plain links; saving posts the same inputs.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesops.lib.services import NotVisible, ensure_export, may_export
from salesops.org.models import Organisation
from salesops.reports import cells, services
from salesops.reports.catalogue import (
    AGGREGATES,
    BUCKETS,
    OPERATOR_LABELS,
    OPERATORS,
    fields_for,
    object_choices,
    objects,
    plain_key,
)
from salesops.reports.exporting import report_csv, report_xlsx
from salesops.reports.models import SavedReport
from salesops.reports.query import MAX_FILTERS, MAX_GROUPS, MAX_MEASURES
from salesops.reports.running import ReportResult
from salesops.users.models import Team
from salesops.web.auth import me

#: Most records the drill-down page lists.
PAGE_ROWS = 500
#: Group-by inputs read from a request: more than MAX_GROUPS is refused with a message.
GROUP_INPUTS = MAX_GROUPS + 2


# -- the definition in a query string -----------------------------------------------------------


def definition_from(params: QueryDict) -> tuple[str, dict[str, Any]]:
    """(object type, definition) from the builder's inputs."""

    def get(name: str) -> str:
        return str(params.get(name, "")).strip()

    filters = [
        {"field": get(f"f{i}_field"), "op": get(f"f{i}_op"), "value": get(f"f{i}_value")}
        for i in range(MAX_FILTERS + 1)
        if get(f"f{i}_field")
    ]
    groups = [
        {"field": get(f"g{i}_field"), "bucket": get(f"g{i}_bucket")}
        for i in range(GROUP_INPUTS)
        if get(f"g{i}_field")
    ]
    measures = [
        {"agg": get(f"m{i}_agg"), "field": get(f"m{i}_field")}
        for i in range(MAX_MEASURES + 1)
        if get(f"m{i}_agg")
    ]
    return get("object"), {
        "filters": filters,
        "group_by": groups,
        "measures": measures,
        "chart": get("chart") or "table",
    }


def params_of(object_type: str, definition: dict[str, Any]) -> dict[str, str]:
    """The query-string form of a definition (the inverse of `definition_from`)."""
    out = {"object": object_type, "chart": str(definition.get("chart") or "table")}
    for i, f in enumerate(definition.get("filters") or []):
        out |= {f"f{i}_field": f.get("field", ""), f"f{i}_op": f.get("op", "")}
        out[f"f{i}_value"] = str(f.get("value", ""))
    for i, g in enumerate(definition.get("group_by") or []):
        out |= {f"g{i}_field": g.get("field", ""), f"g{i}_bucket": g.get("bucket", "")}
    for i, m in enumerate(definition.get("measures") or []):
        out |= {f"m{i}_agg": m.get("agg", ""), f"m{i}_field": m.get("field") or ""}
    return out


# -- pages ----------------------------------------------------------------------------------


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    user = me(request)
    reports = SavedReport.objects.visible_to(user).select_related("owner", "team")
    names = dict(object_choices())
    rows = [
        (r, names.get(r.object_type, r.object_type), services.can_edit(user, r)) for r in reports
    ]
    return render(request, "web/reports/list.html", {"rows": rows})


@login_required
def report_new(request: HttpRequest) -> HttpResponse:
    user = me(request)
    source = request.POST if request.method == "POST" else request.GET
    object_type, definition = definition_from(source)
    object_type = object_type or "deal"
    if object_type in objects() and not user.has_right(object_type, "view"):
        raise Http404
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            report = services.create_report(
                user=user,
                name=request.POST.get("name", ""),
                object_type=object_type,
                definition=definition,
                team=_team(request.POST.get("team", "")),
                description=request.POST.get("description", ""),
            )
        except ValidationError as e:
            errors = {k: " ".join(v) for k, v in e.message_dict.items()}
        else:
            messages.success(request, _("The report is saved."))
            return redirect("report_detail", pk=report.pk)
    ran = request.method == "POST" or "object" in request.GET
    return _builder(request, None, object_type, definition, errors, run=ran)


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = me(request)
    report = _report(user, pk)
    if request.method == "POST":
        _object, definition = definition_from(request.POST)
        try:
            services.update_report(
                user=user,
                report=report,
                name=request.POST.get("name", ""),
                definition=definition,
                team=_team(request.POST.get("team", "")),
                description=request.POST.get("description", ""),
            )
        except PermissionDenied as e:
            return _builder(request, report, report.object_type, definition, {"save": str(e)})
        except ValidationError as e:
            errors = {k: " ".join(v) for k, v in e.message_dict.items()}
            return _builder(request, report, report.object_type, definition, errors)
        messages.success(request, _("The report is saved."))
        return redirect("report_detail", pk=report.pk)
    if "object" in request.GET:
        _object, definition = definition_from(request.GET)
    else:
        definition = report.definition or {}
    return _builder(request, report, report.object_type, definition, {})


@login_required
@require_POST
def report_copy(request: HttpRequest, pk: int) -> HttpResponse:
    user = me(request)
    copy = services.copy_report(user=user, report=_report(user, pk))
    messages.success(request, _("A copy is saved as “%(name)s”.") % {"name": copy.name})
    return redirect("report_detail", pk=copy.pk)


@login_required
@require_POST
def report_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = me(request)
    report = _report(user, pk)
    try:
        services.delete_report(user=user, report=report)
    except PermissionDenied as e:
        messages.error(request, str(e))
        return redirect("report_detail", pk=pk)
    messages.success(request, _("The report is deleted."))
    return redirect("report_list")


@login_required
def report_records(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The records one cell of the report counts: the report's query and the row's keys."""
    user = me(request)
    object_type, definition, report = _source(request, user, pk)
    try:
        keys = json.loads(request.GET.get("keys") or "[]")
        if not isinstance(keys, list):
            raise ValueError
        qs = services.report_records(
            user=user, object_type=object_type, definition=definition, keys=keys
        )
    except (ValueError, ValidationError):
        raise Http404 from None
    except PermissionDenied:
        raise Http404 from None
    obj = objects()[object_type]
    fields = _record_fields(object_type, definition, user)
    related = cells.related(fields)
    qs = (qs.select_related(*related) if related else qs).order_by("-pk")
    count = qs.count()
    tz = Organisation.get().tz
    rows = [(_link(obj, r), [cells.value(r, f, tz) for f in fields]) for r in qs[:PAGE_ROWS]]
    back = reverse("report_detail", args=[pk]) if pk else reverse("report_new")
    query = "" if pk else "?" + urlencode(params_of(object_type, definition))
    return render(
        request,
        "web/reports/records.html",
        {
            "title": report.name if report else _("Report"),
            "object_label": obj.plural,
            "headers": [f.title for f in fields],
            "rows": rows,
            "count": count,
            "shown": len(rows),
            "back": back + query,
        },
    )


@login_required
def report_export(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = me(request)
    object_type, definition, report = _source(request, user, pk)
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise Http404
    ensure_export(user, object_type)  # 403: the report is visible, its file is not
    title = report.name if report else str(objects()[object_type].plural)
    result = services.run_definition(
        user=user, object_type=object_type, definition=definition, title=title
    )
    if result.error:
        return HttpResponse(result.error, status=400, content_type="text/plain; charset=utf-8")
    if fmt == "xlsx":
        body = report_xlsx(result)
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, kind = report_csv(result), "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=kind)
    name = f"report-{report.pk if report else object_type}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# -- helpers --------------------------------------------------------------------------------


def _report(user: Any, pk: int) -> SavedReport:
    try:
        return services.get_report(user=user, pk=pk)
    except NotVisible:
        raise Http404 from None


def _team(raw: str) -> Team | None:
    if not raw.strip():
        return None
    if not raw.isdigit():
        return Team(pk=-1)
    return Team.objects.filter(pk=int(raw)).first() or Team(pk=-1)


def _source(
    request: HttpRequest, user: Any, pk: int | None
) -> tuple[str, dict[str, Any], SavedReport | None]:
    if pk is not None:
        report = _report(user, pk)
        return report.object_type, report.definition or {}, report
    object_type, definition = definition_from(request.GET)
    if object_type not in objects() or not user.has_right(object_type, "view"):
        raise Http404
    return object_type, definition, None


def _record_fields(object_type: str, definition: dict[str, Any], user: Any) -> list[Any]:
    """The columns of the records behind a cell: the object's default list columns, then
    the fields the report uses, each only if the reader may see it."""
    used: list[str] = []
    for part in ("group_by", "measures", "filters"):
        for item in definition.get(part) or []:
            key = item.get("field") if isinstance(item, dict) else None
            if isinstance(key, str) and key:
                used.append(plain_key(key))
    defaults = [f.key for f in cells.columns(user, object_type)]
    allowed = fields_for(object_type, user)
    return cells.columns(user, object_type, [*defaults, *(k for k in used if k in allowed)])


def _link(spec: Any, obj: Any) -> str:
    """The record's page (`spec.record_url`: a custom object's records open on the
    custom-object record page); a payment opens its contract."""
    url = spec.record_url(obj.pk)
    if url:
        return url
    if getattr(obj, "contract_id", None):
        return reverse("contract_detail", args=[obj.contract_id])
    return ""


def _builder(
    request: HttpRequest,
    report: SavedReport | None,
    object_type: str,
    definition: dict[str, Any],
    errors: dict[str, str],
    *,
    run: bool = True,
) -> HttpResponse:
    user = me(request)
    if object_type not in objects():
        errors = {**errors, "object": _("Choose one of the kinds of record offered.")}
        object_type = "deal"
    result: ReportResult | None = None
    if run:
        result = services.run_definition(
            user=user,
            object_type=object_type,
            definition=definition,
            title=report.name if report else "",
        )
        errors = {**result.errors, **errors}
    params = params_of(object_type, definition)
    if report is not None:
        base = reverse("report_detail", args=[report.pk])
        records_url = reverse("report_records", args=[report.pk]) + "?"
        export_url = reverse("report_export", args=[report.pk]) + "?"
    else:
        base = reverse("report_new")
        records_url = reverse("report_run_records") + "?" + urlencode(params) + "&"
        export_url = reverse("report_run_export") + "?" + urlencode(params) + "&"
    if report is not None and "object" in request.GET:
        # An unsaved change of a saved report drills and exports what is shown.
        records_url = reverse("report_run_records") + "?" + urlencode(params) + "&"
        export_url = reverse("report_run_export") + "?" + urlencode(params) + "&"
    context = _form_context(user, object_type, definition, errors)
    context |= {
        "report": report,
        "can_edit": report is None or services.can_edit(user, report),
        "result": result,
        "table": _table(result, records_url) if result and not result.error else None,
        "chart": _chart(result, records_url) if result and not result.error else None,
        "can_export": may_export(user, object_type),
        "export_url": export_url,
        "action": base,
        "teams": services.shareable_teams(user),
        "name": request.POST.get("name", report.name if report else ""),
        "description": request.POST.get("description", report.description if report else ""),
        "team_id": str(
            request.POST.get("team", report.team_id if report and report.team_id else "")
        ),
        "currency": Organisation.get().base_currency_id,
        "hidden_params": sorted(params.items()),
    }
    status = 400 if request.method == "POST" and errors else 200
    return render(request, "web/reports/builder.html", context, status=status)


def _form_context(
    user: Any, object_type: str, definition: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    fields = list(fields_for(object_type, user).values())
    filters = list(definition.get("filters") or [])
    groups = list(definition.get("group_by") or [])
    measures = list(definition.get("measures") or []) or [{"agg": "count", "field": ""}]

    def rows(items: list[Any], least: int, most: int, prefix: str, names: list[str]) -> list[Any]:
        count = min(max(len(items) + 1, least), most)
        count = max(count, len(items))
        out = []
        for i in range(count):
            item = items[i] if i < len(items) and isinstance(items[i], dict) else {}
            values = {n: str(item.get(n) or "") for n in names}
            if "field" in values:
                values["field"] = plain_key(values["field"])
            problems = [errors[f"{prefix}{i}_{n}"] for n in names if f"{prefix}{i}_{n}" in errors]
            out.append({"i": i, **values, "errors": problems})
        return out

    return {
        "object_type": object_type,
        "object_choices": object_choices(),
        "filter_fields": [f for f in fields if f.filterable],
        "group_fields": [f for f in fields if f.groupable],
        "measure_fields": [f for f in fields if f.measure],
        "operators": [(op, OPERATOR_LABELS[op]) for op in OPERATOR_LABELS],
        "operators_by_type": json.dumps({t: list(ops) for t, ops in OPERATORS.items()}),
        "buckets": list(BUCKETS.items()),
        "aggregates": list(AGGREGATES.items()),
        "filter_rows": rows(filters, 2, MAX_FILTERS, "f", ["field", "op", "value"]),
        "group_rows": rows(groups, MAX_GROUPS, GROUP_INPUTS, "g", ["field", "bucket"])[
            : max(MAX_GROUPS, len(groups))
        ],
        "measure_rows": rows(measures, 3, MAX_MEASURES, "m", ["agg", "field"]),
        "chart_value": str(definition.get("chart") or "table"),
        "errors": errors,
        "general_errors": [
            errors[k]
            for k in ("save", "object", "filters", "group_by", "measures", "keys")
            if k in errors
        ],
    }


def _cell_url(records_url: str, keys: list[Any]) -> str:
    return records_url + urlencode({"keys": json.dumps(keys)})


def _table(result: ReportResult, records_url: str) -> dict[str, Any]:
    rows = []
    n = result.group_columns
    for i, row in enumerate(result.rows):
        url = _cell_url(records_url, result.keys[i])
        total = n > 0 and i == len(result.rows) - 1
        rows.append({"labels": row[:n], "cells": row[n:], "url": url, "total": total})
    return {"headers": result.headers, "group_headers": result.headers[:n], "rows": rows}


def _chart(result: ReportResult, records_url: str) -> dict[str, Any] | None:
    """What reports.js draws: the first measure (one scale: a count beside a sum would
    flatten it), by the first group-by, one series per value of the second."""
    n = result.group_columns
    if result.chart == "table" or n == 0 or not result.rows:
        return None
    body = list(zip(result.rows[:-1], result.values[:-1], result.keys[:-1], strict=True))
    categories: list[str] = []
    for row, _v, _k in body:
        if row[0] not in categories:
            categories.append(row[0])
    series: list[dict[str, Any]] = []

    def number(value: Any) -> float | None:
        return None if value is None else float(value)

    if n == 1:
        line = [{"value": number(v[1]), "url": _cell_url(records_url, k)} for _r, v, k in body]
        series.append({"name": result.headers[1], "points": line})
    else:
        names: list[str] = []
        for row, _v, _k in body:
            if row[1] not in names:
                names.append(row[1])
        for name in names:
            points: list[dict[str, Any] | None] = [None] * len(categories)
            for row, v, k in body:
                if row[1] == name:
                    points[categories.index(row[0])] = {
                        "value": number(v[2]),
                        "url": _cell_url(records_url, k),
                    }
            series.append({"name": name, "points": points})
    return {
        "type": result.chart,
        "title": result.headers[n],
        "labels": categories,
        "series": series,
        "money": n in result.money_columns,
    }
