"""The targets page (业绩目标): a grid of people (then their teams) by month for one
metric and one calendar or fiscal year, with actuals and attainment; edited inline,
by pasting a block from a spreadsheet, or by uploading the grid's XLSX template.

Reads go through `users.target_grid` (the viewer's data scope), actuals through
`analytics.target_actuals` (one grouped query per metric), writes through
`users.target_services.save_target_grid` (all or nothing, versions checked per cell).
A team outside the viewer's scope is a 404.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_POST

from salesops.analytics.engine import Filters, KpiContext
from salesops.analytics.formulas import MissingRate
from salesops.analytics.kpis import team_members, withheld
from salesops.analytics.periods import Period
from salesops.analytics.target_actuals import monthly_actuals
from salesops.imports.exporting import write_xlsx
from salesops.imports.reading import FileProblem, open_table
from salesops.imports.values import CellError, parse_amount
from salesops.lib.services import ensure_right
from salesops.users.models import Role, Target, Team
from salesops.users.target_grid import Grid, add_months, build_grid, team_choices, year_months
from salesops.users.target_import import BlockProblem, ReadRow, cells_of, read_block, split_paste
from salesops.users.target_services import COUNT_METRICS, GridCell, GridRejected, save_target_grid
from salesops.web.auth import me
from salesops.web.templatetags.web import SYMBOLS, format_money, format_number

MAX_UPLOAD = 5 * 1024 * 1024
MONEY_METRICS = {Target.Metric.BOOKINGS, Target.Metric.COLLECTIONS}


# -- what the page is about ---------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """The metric, year and scope of the page, read from the query or the form."""

    metric: str
    year: int
    fiscal: bool
    team: Team | None
    first_month: int

    @property
    def months(self) -> list[Any]:
        return year_months(self.year, self.first_month if self.fiscal else 1)

    def params(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "year": self.year,
            "basis": "fiscal" if self.fiscal else "calendar",
            "team": self.team.pk if self.team is not None else "",
        }

    def url(self, name: str = "targets") -> str:
        return f"{reverse(name)}?{urlencode(self.params())}"


def read_choice(request: HttpRequest, params: Any) -> Choice:
    """The page's choice; an unknown metric or year is a 400, a team outside the
    viewer's scope a 404."""
    viewer: Any = me(request)
    org: Any = request.org  # type: ignore[attr-defined]
    metric = params.get("metric") or Target.Metric.BOOKINGS
    if metric not in Target.Metric.values:
        raise ValidationError(_("Choose one of the metrics in the list."))
    fiscal = params.get("basis", "fiscal" if org.fiscal_year_start_month != 1 else "calendar")
    fiscal = fiscal == "fiscal"
    today = org.local_date()
    default_year = today.year
    if fiscal and today.month < org.fiscal_year_start_month:
        default_year -= 1
    year_text = str(params.get("year") or default_year)
    if not year_text.isdigit() or not 2000 <= int(year_text) <= 2100:
        raise ValidationError(_("Enter a year between 2000 and 2100."))
    choices = team_choices(viewer)
    team_text = params.get("team")
    if team_text is None:
        team = next((t for t in choices if t.pk == viewer.team_id), None)
        if team is None and choices and viewer.visible_owner_ids() is None:
            team = choices[0]
    elif team_text == "":
        team = None
    else:
        team = next((t for t in choices if str(t.pk) == str(team_text)), None)
        if team is None:
            raise Http404
    return Choice(metric, int(year_text), fiscal, team, org.fiscal_year_start_month)


# -- actuals and attainment ---------------------------------------------------------------------


def attach_actuals(request: HttpRequest, grid: Grid) -> str:
    """Fill each cell's actual (months begun by today) from one grouped query over the
    owners the rows need (the people shown and the members of the teams shown); returns
    a message when they cannot be computed (a missing exchange rate)."""
    viewer: Any = me(request)
    org: Any = request.org  # type: ignore[attr-defined]
    today = org.local_date()
    months = Period(grid.months[0], add_months(grid.months[-1], 1))
    if grid.team is not None:
        filters = Filters(team=grid.team)
    elif viewer.data_scope == Role.Scope.OWN:
        filters = Filters(owner=viewer)
    else:
        filters = Filters()
    ctx = KpiContext(viewer=viewer, period=months, filters=filters, today=today)
    members = team_members([r.team.pk for r in grid.rows if r.team is not None])
    needed = {r.user.pk for r in grid.rows if r.user is not None}
    needed.update(*(members[r.team.pk] for r in grid.rows if r.team is not None))
    if withheld(viewer, [grid.metric]):
        for row in grid.rows:
            row.actuals = [None] * 12  # type: ignore[attr-defined]
        return _("Actuals are not shown: they read a field hidden for your role.")
    try:
        actuals = monthly_actuals(ctx, grid.metric, months, owners=needed)
    except MissingRate as e:
        for row in grid.rows:
            row.actuals = [None] * 12  # type: ignore[attr-defined]
        return _("Actuals are not shown: there is no exchange rate for %(c)s on %(d)s.") % {
            "c": e.code,
            "d": e.day.isoformat(),
        }
    begun = sum(1 for m in grid.months if m <= today)
    for row in grid.rows:
        owners = [row.user.pk] if row.user is not None else members[row.team.pk]  # type: ignore[union-attr]
        values: list[Decimal | None] = []
        for i in range(12):
            values.append(
                sum((actuals.get(o, {}).get(i, Decimal(0)) for o in owners), Decimal(0))
                if i < begun
                else None
            )
        row.actuals = values  # type: ignore[attr-defined]
    return ""


def ratio(actual: Decimal | None, target: Decimal | None) -> float | None:
    if actual is None or target is None or target == 0:
        return None
    return float(Decimal(actual) / target)


def show_value(metric: str, value: Any, currency: str) -> str:
    if value is None:
        return "—"
    if metric in MONEY_METRICS:
        return format_money(value, currency)
    return format_number(value, 0)


def fast_number(value: Decimal, places: int) -> str:
    """`analytics.display.format_number` for a Decimal, without its per-call settings
    look-ups (digits cut, not rounded, grouped by 3 with "," and "." as it does); a test
    holds the two equal."""
    if abs(value) < Decimal("0." + "1".rjust(places, "0")):
        value = Decimal(0)
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):,f}"


class Shown:
    """`show_value` and `percent` remembered per value: a grid of 300 people repeats
    the same few targets thousands of times."""

    def __init__(self, metric: str, currency: str) -> None:
        self.metric, self.currency = metric, currency
        self.values: dict[Any, str] = {}
        self.rates: dict[Any, str] = {}

        self.symbol = SYMBOLS.get(currency) if metric in MONEY_METRICS else None

    def value(self, value: Any) -> str:
        if value not in self.values:
            if self.symbol and isinstance(value, Decimal):
                text = fast_number(value, 2)
                sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
                self.values[value] = f"{sign}{self.symbol}{text}"
            elif isinstance(value, Decimal | int) and self.metric not in MONEY_METRICS:
                self.values[value] = fast_number(Decimal(value), 0)
            else:
                self.values[value] = show_value(self.metric, value, self.currency)
        return self.values[value]

    def rate(self, actual: Decimal | None, target: Decimal | None) -> str:
        if actual is None or not target:
            return ""
        return f"{fast_number(Decimal(actual) / target * 100, 0)}%"


def input_text(metric: str, value: Decimal | None) -> str:
    if value is None:
        return ""
    if metric in COUNT_METRICS or value == value.to_integral_value():
        return str(int(value))
    return f"{value:f}"


def _sum(values: list[Any]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def table(grid: Grid, currency: str, typed: dict[str, str], errors: dict[str, str]) -> list:
    """Rows for the template: per month the input text, target, actual and attainment,
    then the quarter and year totals (a quarter or year target if one is set, else the
    sum of the months)."""
    shown = Shown(grid.metric, currency)
    out = []
    for row in grid.rows:
        actuals: list[Any] = getattr(row, "actuals", [None] * 12)
        cells = []
        for i, cell in enumerate(row.cells):
            key = f"{row.key}-{cell.start:%Y-%m}"
            member_sum = row.member_sums[i] if row.team is not None else None
            original = input_text(grid.metric, cell.value)
            cells.append(
                {
                    "key": key,
                    "start": cell.start,
                    "text": typed.get(key, original),
                    "original": original,
                    "version": cell.version,
                    "target": shown.value(cell.value),
                    "actual": None if actuals[i] is None else shown.value(actuals[i]),
                    "rate": shown.rate(actuals[i], cell.value),
                    "members": None if member_sum is None else shown.value(member_sum),
                    "mismatch": member_sum is not None
                    and cell.value is not None
                    and member_sum != cell.value,
                    "error": errors.get(key, ""),
                }
            )
        totals = []
        for quarter, first, count, kind in TOTALS:
            months = row.cells[first : first + count]
            explicit = grid.longer.get((row.key, kind, months[0].start))
            summed = _sum([c.value for c in months])
            target = explicit.value if explicit is not None else summed
            begun = [a for a in actuals[first : first + count] if a is not None]
            actual = sum(begun, Decimal(0)) if begun else None
            totals.append(
                {
                    "label": total_label(quarter),
                    "target": shown.value(target),
                    "actual": None if actual is None else shown.value(actual),
                    "rate": shown.rate(actual, target),
                    "set": explicit is not None,
                    "mismatch": explicit is not None
                    and summed is not None
                    and summed != explicit.value,
                }
            )
        out.append({"row": row, "cells": cells, "totals": totals})
    return out


#: (quarter number or 0 for the year, first month index, months, target kind).
TOTALS: list[tuple[int, int, int, str]] = [
    *((q + 1, 3 * q, 3, "quarter") for q in range(4)),
    (0, 0, 12, "year"),
]


def total_label(quarter: int) -> str:
    if quarter:
        return pgettext("quarter", "Q%(n)s") % {"n": quarter}
    return pgettext("whole year", "Year")


def rows_html(rows: list[dict[str, Any]]) -> str:
    """The grid's body as HTML, built here rather than by the template engine: a grid
    of 300 people has 3,600 cells, which the engine renders about fifty times slower.
    Everything that comes from data is escaped."""
    team_word = escape(_("Team"))
    set_word = escape(_("(set)"))
    differs = escape(_("≠ sum of months"))
    out: list[str] = []
    for r, item in enumerate(rows):
        row = item["row"]
        who = escape(row.label)
        out.append(
            f'<tr class="{"team-row" if row.team is not None else ""}" id="row-{row.key}">'
            f'<th scope="row" class="who depth-{row.depth}">'
            f"{team_word + ': ' if row.team is not None else ''}{who}</th>"
        )
        for c, cell in enumerate(item["cells"]):
            key = cell["key"]
            error = cell["error"]
            out.append(f'<td class="num cell{" has-error" if error else ""}">')
            if row.editable:
                invalid = f' aria-invalid="true" aria-describedby="err-{key}"' if error else ""
                out.append(
                    f'<input name="c-{key}" value="{escape(cell["text"])}" '
                    f'data-original="{escape(cell["original"])}" data-row="{r}" data-col="{c}" '
                    f'inputmode="decimal" aria-label="{who} {cell["start"]:%Y-%m}"{invalid}>'
                )
            else:
                out.append(f'<span class="target">{escape(cell["target"])}</span>')
            if cell["actual"] is not None:
                rate = f' · <b class="rate">{escape(cell["rate"])}</b>' if cell["rate"] else ""
                out.append(f'<small class="actual">{escape(cell["actual"])}{rate}</small>')
            if cell["members"] is not None:
                mismatch = " mismatch" if cell["mismatch"] else ""
                out.append(
                    f'<small class="members{mismatch}">'
                    f"Σ {escape(cell['members'])}{' ≠' if mismatch else ''}</small>"
                )
            if error:
                out.append(
                    f'<span class="cell-error" id="err-{key}" role="alert">{escape(error)}</span>'
                )
            out.append("</td>")
        for t in item["totals"]:
            out.append(f'<td class="num total"><span class="target">{escape(t["target"])}</span>')
            if t["set"]:
                out.append(f' <small class="muted">{set_word}</small>')
            if t["actual"] is not None:
                rate = f' · <b class="rate">{escape(t["rate"])}</b>' if t["rate"] else ""
                out.append(f'<small class="actual">{escape(t["actual"])}{rate}</small>')
            if t["mismatch"]:
                out.append(f'<small class="mismatch">{differs}</small>')
            out.append("</td>")
        out.append("</tr>")
    # Safe: every value from data above is escaped.
    return mark_safe("".join(out))


# -- the page -----------------------------------------------------------------------------------


def page_context(request: HttpRequest, choice: Choice) -> dict[str, Any]:
    viewer: Any = me(request)
    org: Any = request.org  # type: ignore[attr-defined]
    grid = build_grid(viewer=viewer, metric=choice.metric, months=choice.months, team=choice.team)
    choices = team_choices(viewer)
    base_depth = min((t.path.count(".") for t in choices), default=0)
    return {
        "title": _("Targets"),
        "choice": choice,
        "choice_query": urlencode(choice.params()),
        "choice_url": choice.url(),
        "grid": grid,
        "currency": org.base_currency_id,
        "metrics": Target.Metric.choices,
        "teams": [(t.pk, "· " * (t.path.count(".") - base_depth) + t.name) for t in choices],
        "fiscal_month": org.fiscal_year_start_month,
        "years": range(choice.year - 3, choice.year + 3),
    }


#: Rows (people and teams) per page of the grid: a whole organisation of hundreds of
#: reps would be a page of several megabytes, slow to serve and to use.
ROWS_PER_PAGE = 50


def page_of(request: HttpRequest, grid: Grid) -> tuple[int, int]:
    """(page shown, number of pages): the `page` asked for (GET, or the grid's form),
    kept within range; anything unreadable is the first page."""
    pages = max(1, -(-len(grid.rows) // ROWS_PER_PAGE))
    text = str(request.POST.get("page") or request.GET.get("page") or "1")
    page = int(text) if text.isdigit() else 1
    return min(max(page, 1), pages), pages


def render_grid(
    request: HttpRequest,
    choice: Choice,
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    context = page_context(request, choice)
    grid = context["grid"]
    page, pages = page_of(request, grid)
    shown = replace(grid, rows=grid.rows[(page - 1) * ROWS_PER_PAGE : page * ROWS_PER_PAGE])
    context["note"] = attach_actuals(request, shown)
    context["rows"] = table(shown, context["currency"], typed or {}, errors or {})
    context["rows_html"] = rows_html(context["rows"])
    context["state"] = page_state(shown)
    context["page"] = page
    if pages > 1:
        context["pager"] = {
            "text": _("Rows %(first)s–%(last)s of %(n)s")
            % {
                "first": (page - 1) * ROWS_PER_PAGE + 1,
                "last": min(page * ROWS_PER_PAGE, len(grid.rows)),
                "n": len(grid.rows),
            },
            "previous": f"{choice.url()}&page={page - 1}" if page > 1 else "",
            "next": f"{choice.url()}&page={page + 1}" if page < pages else "",
        }
    context["totals"] = [total_label(quarter) for quarter, *_rest in TOTALS]
    context.update(extra)
    return render(request, "web/targets/grid.html", context, status=status)


@login_required
def targets(request: HttpRequest) -> HttpResponse:
    ensure_right(me(request), "target", "view")
    try:
        choice = read_choice(request, request.GET)
    except ValidationError as e:
        return render(
            request,
            "web/targets/grid.html",
            {"title": _("Targets"), "error": " ".join(e.messages)},
            status=400,
        )
    return render_grid(request, choice)


def _loaded(text: str) -> dict[str, tuple[int, str]]:
    """The page state sent back by the form: {cell key: (version, text shown)}; junk is
    ignored (the cell then counts as loaded now, which can only refuse more)."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    out: dict[str, tuple[int, str]] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if (
                isinstance(value, list)
                and len(value) == 2
                and isinstance(value[0], int)
                and isinstance(value[1], str)
            ):
                out[str(key)] = (value[0], value[1])
    return out


def _form_choice(request: HttpRequest) -> Choice:
    ensure_right(me(request), "target", "view")
    try:
        return read_choice(request, request.POST)
    except ValidationError as e:
        # Only a tampered form gets here: the page offers valid choices only.
        raise BadRequest(" ".join(e.messages)) from None


def _saved(request: HttpRequest, choice: Choice, saved: dict[str, Any]) -> HttpResponse:
    n = len(saved)
    if n:
        messages.success(
            request, ngettext("%(n)s target saved.", "%(n)s targets saved.", n) % {"n": n}
        )
    else:
        messages.info(request, _("Nothing was changed."))
    page = str(request.POST.get("page") or "")
    suffix = f"&page={page}" if page.isdigit() and page != "1" else ""
    return HttpResponseRedirect(choice.url() + suffix)


@login_required
@require_POST
def save(request: HttpRequest) -> HttpResponse:
    """The grid's form: the cells whose text differs from what was loaded are saved
    together, or none is (errors and conflicts shown on their cells)."""
    choice = _form_choice(request)
    grid = build_grid(
        viewer=me(request), metric=choice.metric, months=choice.months, team=choice.team
    )
    loaded = _loaded(request.POST.get("state", ""))
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    cells: list[GridCell] = []
    for row in grid.rows:
        for cell in row.cells:
            key = f"{row.key}-{cell.start:%Y-%m}"
            name = f"c-{key}"
            if name not in request.POST:
                continue
            text = request.POST[name].strip()
            version, original = loaded.get(
                key, (cell.version, input_text(choice.metric, cell.value))
            )
            if text == original.strip():
                continue
            typed[key] = text
            try:
                value = parse_amount(text)
            except CellError as e:
                errors[key] = str(e)
                continue
            cells.append(
                GridCell(
                    key=key,
                    metric=choice.metric,
                    period_kind=Target.PeriodKind.MONTH,
                    period_start=cell.start,
                    value=value,
                    user_id=row.user.pk if row.user is not None else None,
                    team_id=row.team.pk if row.team is not None else None,
                    version=version,
                )
            )
    conflicts: set[str] = set()
    if not errors:
        try:
            return _saved(request, choice, save_target_grid(by=me(request), cells=cells))
        except GridRejected as e:
            errors, conflicts = e.errors, e.conflicts
    status = 409 if conflicts and conflicts == set(errors) else 400
    return render_grid(
        request,
        choice,
        typed=typed,
        errors=errors,
        status=status,
        form_error=ngettext(
            "Nothing was saved: %(n)s cell needs your attention.",
            "Nothing was saved: %(n)s cells need your attention.",
            len(errors),
        )
        % {"n": len(errors)},
    )


# -- paste and upload ---------------------------------------------------------------------------


def _preview(
    request: HttpRequest, choice: Choice, rows: list[tuple[int, list[Any]]], text: str
) -> HttpResponse:
    """Read a block, check it with the save service (nothing written) and show it; or,
    when asked to save, save it all or nothing."""
    viewer: Any = me(request)
    grid = build_grid(viewer=viewer, metric=choice.metric, months=choice.months, team=choice.team)
    try:
        read = read_block(rows, grid=grid, parse_amount=parse_amount)
    except BlockProblem as e:
        return render_grid(request, choice, status=400, paste_error=str(e), paste_text=text)
    loaded = _loaded(request.POST.get("state", ""))
    cells = [
        GridCell(**{**c.__dict__, "version": loaded.get(c.key, (c.version, ""))[0]})
        for c in cells_of(read, grid=grid)
    ]
    problems = any(not r.ok for r in read)
    if not problems and request.POST.get("confirm") == "1":
        try:
            return _saved(request, choice, save_target_grid(by=viewer, cells=cells))
        except GridRejected as e:
            _place(read, e.errors)
            problems = True
    elif not problems:
        try:
            save_target_grid(by=viewer, cells=cells, dry_run=True)
        except GridRejected as e:
            _place(read, e.errors)
            problems = True
    changed = {c.key for c in cells}
    return render_grid(
        request,
        choice,
        status=400 if problems else 200,
        preview=_preview_rows(read, grid, changed, choice),
        preview_ok=not problems and bool(cells),
        preview_changes=len(cells),
        preview_problems=sum(len(r.errors) for r in read),
        paste_text=text,
        preview_state=request.POST.get("state") or page_state(grid),
    )


def page_state(grid: Grid) -> str:
    """What the page was loaded with, sent back on save: per cell [version, text]."""
    return json.dumps(
        {
            f"{r.key}-{c.start:%Y-%m}": [c.version, input_text(grid.metric, c.value)]
            for r in grid.rows
            for c in r.cells
        },
        separators=(",", ":"),
    )


def _place(read: list[ReadRow], errors: dict[str, str]) -> None:
    """Put the save service's per-cell messages on the rows they belong to."""
    for r in read:
        if r.row is None:
            continue
        for i, cell in enumerate(r.row.cells, start=1):
            key = f"{r.row.key}-{cell.start:%Y-%m}"
            if key in errors:
                r.errors[i] = errors[key]


def _preview_rows(read: list[ReadRow], grid: Grid, changed: set[str], choice: Choice) -> list:
    out = []
    for r in read:
        cells = []
        for i in range(12):
            old = r.row.cells[i].value if r.row is not None else None
            key = f"{r.row.key}-{grid.months[i]:%Y-%m}" if r.row is not None else ""
            cells.append(
                {
                    "raw": r.raw[i],
                    "old": input_text(choice.metric, old),
                    "new": input_text(choice.metric, r.values[i]),
                    "changed": key in changed,
                    "error": r.errors.get(i + 1, ""),
                }
            )
        out.append(
            {
                "line": r.line,
                "label": r.label,
                "who": r.row.label if r.row is not None else "",
                "error": r.errors.get(0, ""),
                "cells": cells,
            }
        )
    return out


@login_required
@require_POST
def paste(request: HttpRequest) -> HttpResponse:
    choice = _form_choice(request)
    text = request.POST.get("text", "")
    try:
        rows = split_paste(text)
    except BlockProblem as e:
        return render_grid(request, choice, status=400, paste_error=str(e), paste_text="")
    if not rows:
        return render_grid(
            request,
            choice,
            status=400,
            paste_error=_("Paste the rows copied from your spreadsheet first."),
        )
    return _preview(request, choice, rows, text)


@login_required
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """The filled-in template: read like a paste (its header row skipped)."""
    choice = _form_choice(request)
    upload = request.FILES.get("file")
    if upload is None:
        return render_grid(request, choice, status=400, upload_error=_("Choose a file first."))
    if upload.size is not None and upload.size > MAX_UPLOAD:
        return render_grid(
            request, choice, status=400, upload_error=_("The file is larger than 5 MB.")
        )
    try:
        rows = _xlsx_rows(upload)
    except FileProblem as e:
        return render_grid(request, choice, status=400, upload_error=str(e))
    # Shown and re-sent as text, so that saving after the preview reads the same rows.
    text = "\n".join("\t".join(_tsv(c) for c in cells) for cells in rows)
    return _preview(request, choice, split_paste(text), text)


def _tsv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _xlsx_rows(upload: Any) -> list[list[Any]]:
    """The workbook's first sheet, header row first; FileProblem when it is not an
    .xlsx workbook (whatever its name says) or cannot be read."""
    data = io.BytesIO(upload.read())
    with open_table(data, upload.name or "targets.xlsx") as table:
        if table.kind != "xlsx":
            raise FileProblem(
                _("“%(name)s” is not an Excel workbook; upload the .xlsx template.")
                % {"name": upload.name}
            )
        rows: list[list[Any]] = [list(table.headers)]
        for row in table.rows:
            rows.append(row.cells)
            if len(rows) > 2001:
                raise FileProblem(_("The file has more than 2,000 rows."))
    return rows


@login_required
def template(request: HttpRequest) -> HttpResponse:
    """The current grid as a workbook: a row per person and team, a column per month."""
    ensure_right(me(request), "target", "view")
    try:
        choice = read_choice(request, request.GET)
    except ValidationError as e:
        return HttpResponse(" ".join(e.messages), status=400, content_type="text/plain")
    grid = build_grid(
        viewer=me(request), metric=choice.metric, months=choice.months, team=choice.team
    )
    headers = [_("Person or team"), *(f"{m:%Y-%m}" for m in grid.months)]
    rows = (
        [
            r.user.username if r.user is not None else r.team.name,  # type: ignore[union-attr]
            *(c.value for c in r.cells),
        ]
        for r in grid.rows
        if r.editable
    )
    out = io.BytesIO()
    write_xlsx(headers, rows, out)
    name = f"targets-{choice.metric}-{'FY' if choice.fiscal else ''}{choice.year}.xlsx"
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# -- attainment elsewhere: the home page ----------------------------------------------------------


def period_label(kind: str, start: Any) -> str:
    if kind == Target.PeriodKind.MONTH:
        return f"{start:%Y-%m}"
    if kind == Target.PeriodKind.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year) if start.month == 1 else f"FY{start.year}"


def current_progress(
    viewer: Any, today: Any, *, user: Any = None, team: Any = None
) -> list[dict[str, Any]]:
    """The targets of a person or a team whose month, quarter or year includes `today`,
    each with its actual and attainment from the KPI engine (as the viewer, for exactly
    that period) and a meter value. One KPI run per period."""
    from salesops.analytics.formulas import MissingRate
    from salesops.analytics.kpis import period_of, target_actuals

    qs = Target.objects.visible_to(viewer).filter(
        period_start__lte=today, period_start__gt=add_months(today.replace(day=1), -12)
    )
    qs = qs.filter(user=user) if user is not None else qs.filter(team=team)
    order = {k: i for i, k in enumerate(Target.PeriodKind.values)}
    found = sorted(
        ((t, period_of(t.period_kind, t.period_start)) for t in qs),
        key=lambda tp: (order[tp[0].period_kind], tp[0].metric),
    )
    bucket, key = ("users", str(user.pk)) if user is not None else ("teams", str(team.pk))
    filters = Filters(owner=user) if user is not None else Filters(team=team)
    facts: dict[Period, dict[str, Any]] = {}
    out = []
    for t, period in found:
        if period.end <= today:
            continue
        if period not in facts:
            ctx = KpiContext(viewer=viewer, period=period, filters=filters, today=today)
            ctx.wanted = {"attainment"}
            try:
                facts[period] = target_actuals(ctx)
            except MissingRate:  # the dashboards say which rate to add
                facts[period] = {}
        attained = facts[period].get(t.metric, {}).get(bucket, {}).get(key)
        rate = attained.rate if attained is not None else None
        out.append(
            {
                "target": t,
                "period": period_label(t.period_kind, t.period_start),
                "rate": rate,
                "actual": attained.actual if attained is not None else None,
                "money": t.metric in MONEY_METRICS,
                "meter": min(rate or 0, 1.5),
            }
        )
    return out
