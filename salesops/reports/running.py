"""Running a checked report: one grouped query (plus one per median), money converted
to the base currency as the KPI engine converts it, cells formatted for the reader.

Counts, sums and means come from one GROUP BY over the group keys (and, for money,
the currency and the rate date, so that each partial sum is converted at its own
rate). A median is exact on both databases: one more GROUP BY over the values gives
a histogram {value: how many records}, whose middle is found in Python
(`formulas.median_of_histogram`, as the sales-cycle KPI does).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, DateField, F, Q, QuerySet, Sum, Value, When
from django.utils import formats
from django.utils.translation import gettext as _

from salesops.analytics.formulas import MissingRate, RateTable, median_of_histogram
from salesops.customization import registry
from salesops.customization.registry import FieldSpec
from salesops.org.models import ExchangeRate, Organisation
from salesops.reports.catalogue import AGGREGATES, BUCKETS, options
from salesops.reports.query import (
    DATES,
    NUMERIC,
    Group,
    Measure,
    ReportInvalid,
    Spec,
    expression,
    filtered,
    group_expression,
)

#: Most groups a report shows; the rest are left out with a note.
MAX_ROWS = 2000
EMPTY_KEY = None


@dataclass
class ReportResult:
    """A report's output, ready to show, mail or export.

    `headers` and `rows` are text formatted in the reader's language (the last row is
    the total when the report is grouped); `values` holds the same cells as typed
    values (str labels, int counts, Decimal amounts, None for "undefined") for
    spreadsheets and charts; `keys[i]` are the group keys of row i (an empty list for
    the total row), which open the row's records (`services.report_records`).
    `error` says why there are no rows (invalid definition, missing exchange rate),
    `errors` says it per form input.
    """

    title: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    values: list[list[Any]] = field(default_factory=list)
    keys: list[list[Any]] = field(default_factory=list)
    group_columns: int = 0
    measure_ids: list[str] = field(default_factory=list)
    money_columns: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chart: str = "table"
    error: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    truncated: bool = False

    @property
    def has_total(self) -> bool:
        return self.group_columns > 0 and bool(self.rows)


@dataclass
class _Acc:
    n: int = 0
    sums: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    hists: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def merge(self, other: _Acc) -> None:
        self.n += other.n
        for k, v in other.sums.items():
            self.sums[k] += v
        for k, c in other.counts.items():
            self.counts[k] += c
        for k, h in other.hists.items():
            self.hists[k].update(h)


def base_queryset(spec: Spec, user: Any) -> QuerySet:
    """The records the report counts for `user`: their data scope, then the filters."""
    # `visible` narrows a custom object's shared table to its own records.
    return filtered(spec, spec.obj.visible(user), Organisation.get().tz)


def _in_python(g: Group) -> bool:
    """A stored date is grouped by its own value in SQL and put in its bucket here: the
    GROUP BY then follows the date's index (three times faster at 1M deals on SQLite
    than grouping by a computed month), and a few thousand days come back at most."""
    return g.field.type == registry.DATE and not g.field.is_custom


def _group_annotations(spec: Spec, *, for_grouping: bool) -> dict[str, Any]:
    org = Organisation.get()
    return {
        f"g{i}": F(g.field.path)
        if for_grouping and _in_python(g)
        else group_expression(g, org.tz, org.fiscal_year_start_month)
        for i, g in enumerate(spec.groups)
    }


def bucket_start(unit: str, day: dt.date, fiscal_start: int) -> dt.date:
    """The first day of the bucket `day` falls in (as `query.Bucket` computes in SQL)."""
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    shift = 0 if unit in ("month", "quarter", "year") else (fiscal_start - 1) % 12
    size = {"month": 1, "quarter": 3, "year": 12, "fiscal_quarter": 3, "fiscal_year": 12}[unit]
    relative = day.year * 12 + day.month - 1 - shift
    start = relative - relative % size + shift
    return dt.date(start // 12, start % 12 + 1, 1)


def bucket_end(unit: str, start: dt.date) -> dt.date:
    """The first day after the bucket that begins on `start`."""
    if unit in ("day", "week"):
        return start + dt.timedelta(days=1 if unit == "day" else 7)
    size = {"month": 1, "quarter": 3, "year": 12, "fiscal_quarter": 3, "fiscal_year": 12}[unit]
    months = start.year * 12 + start.month - 1 + size
    return dt.date(months // 12, months % 12 + 1, 1)


def records(spec: Spec, user: Any, keys: list[Any]) -> QuerySet:
    """The records one cell counts: the report's own query, narrowed to the row's group
    keys (raw, as `ReportResult.keys` holds them; [] for the total). A built-in date or
    datetime bucket becomes a range on the stored value, so its index serves."""
    if len(keys) not in (0, len(spec.groups)):
        raise ReportInvalid({"keys": _("This row is not part of the report.")})
    qs = base_queryset(spec, user)
    if not keys:
        return qs
    org = Organisation.get()
    annotations = _group_annotations(spec, for_grouping=False)
    for i, (g, raw) in enumerate(zip(spec.groups, keys, strict=True)):
        value = _read_key(g, raw)
        f = g.field
        if value is None:
            condition = Q(**{f"{f.path}__isnull": True}) if not f.is_custom else None
        elif f.type in DATES and not f.is_custom:
            start = dt.date.fromisoformat(value)
            low: Any = start
            high: Any = bucket_end(g.bucket, start)
            if f.type == registry.DATETIME:
                low = dt.datetime.combine(low, dt.time.min, tzinfo=org.tz)
                high = dt.datetime.combine(high, dt.time.min, tzinfo=org.tz)
            condition = Q(**{f"{f.path}__gte": low, f"{f.path}__lt": high})
        else:
            condition = None
        if condition is None:
            qs = qs.alias(**{f"g{i}": annotations[f"g{i}"]})
            condition = Q(**{f"g{i}__isnull": True}) if value is None else Q(**{f"g{i}": value})
        qs = qs.filter(condition)
    return qs


def _read_key(g: Group, raw: Any) -> Any:
    if raw is None:
        return None
    bad = ReportInvalid({"keys": _("This row is not part of the report.")})
    if not isinstance(raw, str | int | float | bool):
        raise bad
    f = g.field
    try:
        if f.type in DATES:
            return dt.date.fromisoformat(str(raw)).isoformat()
        if f.type == registry.REF:
            return int(raw)
        if f.type == registry.BOOL:
            if not isinstance(raw, bool):
                raise bad
            return raw
        if f.type in NUMERIC:
            return Decimal(str(raw))
    except (ValueError, TypeError, ArithmeticError):
        raise bad from None
    if not isinstance(raw, str):
        raise bad
    return raw


def key_json(value: Any) -> Any:
    """A group key as JSON can carry it (and `_read_key` reads it back)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def execute(spec: Spec, user: Any, *, title: str = "") -> ReportResult:
    org = Organisation.get()
    base = str(org.base_currency_id)
    today = org.local_date()
    result = ReportResult(title=title, chart=spec.chart, group_columns=len(spec.groups))
    result.measure_ids = [m.id for m in spec.measures]
    qs = base_queryset(spec, user).annotate(**_group_annotations(spec, for_grouping=True))
    group_keys = [f"g{i}" for i in range(len(spec.groups))]
    fiscal_start = org.fiscal_year_start_month
    in_python = [_in_python(g) for g in spec.groups]

    def key_of(row: dict[str, Any]) -> tuple[Any, ...]:
        out = []
        for i, g in enumerate(spec.groups):
            value = row[f"g{i}"]
            if in_python[i] and value is not None:
                value = bucket_start(g.bucket, value, fiscal_start)
            out.append(_norm(value))
        return tuple(out)

    money = next(
        (
            m.field
            for m in spec.measures
            if m.field is not None and m.field.type == registry.MONEY and not m.field.is_custom
        ),
        None,
    )
    conv_keys: list[str] = []
    if money is not None:
        qs = qs.annotate(_cur=F(money.currency_path))
        conv_keys.append("_cur")
        if money.rate_date_path:
            # Base-currency rows need no date: they collapse into one partial sum.
            qs = qs.annotate(
                _rd=Case(
                    When(**{money.currency_path: base}, then=Value(None)),
                    default=F(money.rate_date_path),
                    output_field=DateField(),
                )
            )
            conv_keys.append("_rd")
    keys = group_keys + conv_keys

    summed: dict[str, FieldSpec] = {}
    for m in spec.measures:
        if m.field is not None and m.agg in ("sum", "mean"):
            summed[m.field.key] = m.field
    aggregates: dict[str, Any] = {"_n": Count("pk")}
    for i, f in enumerate(summed.values()):
        aggregates[f"_s{i}"] = Sum(expression(f))
        aggregates[f"_c{i}"] = Count(expression(f))

    rates: RateTable | None = None
    if money is not None:
        rates = RateTable(
            base, ExchangeRate.objects.values_list("currency_id", "effective_on", "rate")
        )

    def rate(row: dict[str, Any], f: FieldSpec) -> Decimal:
        if f is not money or rates is None:
            return Decimal(1)
        code = row["_cur"]
        if code == base:
            return Decimal(1)
        return rates.rate_on(code, row.get("_rd") or today)

    accs: dict[tuple[Any, ...], _Acc] = defaultdict(_Acc)
    try:
        if keys:
            grouped = list(qs.values(*keys).annotate(**aggregates).order_by())
        else:
            grouped = [qs.aggregate(**aggregates)]
        for row in grouped:
            acc = accs[key_of(row)]
            acc.n += row["_n"] or 0
            for i, f in enumerate(summed.values()):
                if row[f"_s{i}"] is not None:
                    acc.sums[f.key] += Decimal(row[f"_s{i}"]) * rate(row, f)
                acc.counts[f.key] += row[f"_c{i}"] or 0
        for m in spec.measures:
            if m.agg != "median" or m.field is None:
                continue
            f = m.field
            expr = expression(f)
            hist_rows = (
                qs.alias(_mv=expr)
                .filter(_mv__isnull=False)
                .values(*keys, _v=expr)
                .annotate(_hn=Count("pk"))
                .order_by()
            )
            for row in hist_rows:
                acc = accs[key_of(row)]
                acc.hists[f.key][Decimal(row["_v"]) * rate(row, f)] += row["_hn"]
    except MissingRate as e:
        result.error = _(
            "There is no exchange rate for %(currency)s on or before %(day)s; add one."
        ) % {"currency": e.code, "day": e.day.isoformat()}
        return result

    if spec.groups and not any(a.n for a in accs.values()):
        accs.clear()
    _fill(result, spec, accs, money, base)
    return result


def _norm(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _fill(
    result: ReportResult,
    spec: Spec,
    accs: dict[tuple[Any, ...], _Acc],
    money: FieldSpec | None,
    base: str,
) -> None:
    labels = [_Labeller(g, spec.obj.model) for g in spec.groups]
    for i in range(len(spec.groups)):
        labels[i].prepare({key[i] for key in accs})
    result.headers = [_group_header(g) for g in spec.groups] + [
        _measure_header(m, base) for m in spec.measures
    ]
    result.money_columns = [
        len(spec.groups) + j
        for j, m in enumerate(spec.measures)
        if m.field is not None and m.field.type == registry.MONEY
    ]

    def sort_key(item: tuple[tuple[Any, ...], _Acc]) -> tuple[Any, ...]:
        key = item[0]
        parts: list[Any] = []
        for i in range(len(spec.groups)):
            value = key[i]
            shown = labels[i].label(value) if labels[i].names else value
            parts.append((value is None, "" if value is None else shown))
        return tuple(parts)

    items = sorted(accs.items(), key=sort_key) if spec.groups else []
    if len(items) > MAX_ROWS:
        result.truncated = True
        result.notes.append(
            _("Only the first %(n)s groups are shown; narrow the filters to see the rest.")
            % {"n": MAX_ROWS}
        )
        items = items[:MAX_ROWS]
    total = _Acc()
    for key, acc in items:
        total.merge(acc)
        cells = [labels[i].label(v) for i, v in enumerate(key)]
        measured = [_measure_value(m, acc) for m in spec.measures]
        result.values.append([*cells, *measured])
        result.rows.append(
            [*cells, *(_fmt(m, v) for m, v in zip(spec.measures, measured, strict=True))]
        )
        result.keys.append([key_json(v) for v in key])
    if spec.groups and items:
        measured = [_measure_value(m, total) for m in spec.measures]
        cells = [_("Total")] + [""] * (len(spec.groups) - 1)
        result.values.append([*cells, *measured])
        result.rows.append(
            [*cells, *(_fmt(m, v) for m, v in zip(spec.measures, measured, strict=True))]
        )
        result.keys.append([])
    if not spec.groups:
        acc = accs.get((), _Acc())
        measured = [_measure_value(m, acc) for m in spec.measures]
        result.values.append(measured)
        result.rows.append([_fmt(m, v) for m, v in zip(spec.measures, measured, strict=True)])
        result.keys.append([])
    if money is not None:
        if money.rate_date_path:
            dated = spec.obj.field(money.rate_date_path)
            date_label = str(dated.label) if dated is not None else money.rate_date_path
            result.notes.append(
                _(
                    "Amounts are in %(base)s, converted at the exchange rate effective on "
                    "the record's “%(date)s” (the latest rate where it is empty), as the "
                    "KPIs are."
                )
                % {"base": base, "date": date_label}
            )
        else:
            result.notes.append(
                _("Amounts are in %(base)s, converted at the latest exchange rate.")
                % {"base": base}
            )
    if any(
        m.field is not None and m.field.is_custom and m.field.type == registry.MONEY
        for m in spec.measures
    ):
        result.notes.append(
            _("Custom money fields have no currency of their own; they are taken as %(base)s.")
            % {"base": base}
        )


def _measure_value(m: Measure, acc: _Acc) -> Any:
    if m.agg == "count" or m.field is None:
        return acc.n
    key = m.field.key
    if m.agg == "sum":
        value = acc.sums.get(key, Decimal(0)) if acc.counts.get(key) else None
        if value is None:
            return None
    elif m.agg == "mean":
        n = acc.counts.get(key, 0)
        if not n:
            return None
        value = acc.sums[key] / n
    else:
        median = median_of_histogram(acc.hists.get(key, Counter()))
        if median is None:
            return None
        value = Decimal(median)
    return value.quantize(Decimal("0.01"))


def _fmt(m: Measure, value: Any) -> str:
    if value is None:
        return "—"
    if m.agg == "count":
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    return formats.number_format(value, 2, use_l10n=True, force_grouping=True)


def _group_header(g: Group) -> str:
    if g.bucket:
        return _("%(field)s (%(bucket)s)") % {
            "field": str(g.field.label),
            "bucket": str(BUCKETS[g.bucket]).lower(),
        }
    return str(g.field.label)


def _measure_header(m: Measure, base: str) -> str:
    if m.field is None:
        return _("Record count")
    label = str(m.field.label)
    if m.field.type == registry.MONEY:
        label = _("%(field)s in %(currency)s") % {"field": label, "currency": base}
    return _("%(aggregate)s of %(field)s") % {"aggregate": str(AGGREGATES[m.agg]), "field": label}


class _Labeller:
    """Labels of one group-by's keys, looked up once for all of them."""

    def __init__(self, g: Group, model: Any) -> None:
        self.g = g
        self.model = model
        self.names: dict[Any, str] = {}

    def prepare(self, keys: set[Any]) -> None:
        f = self.g.field
        offered = options(f)
        if offered:
            self.names = {str(v): str(label) for v, label in offered}
        elif f.type == registry.REF:
            ids = [k for k in keys if k is not None]
            if not ids:
                return
            related: Any = self.model._meta.get_field(f.path.removesuffix("_id")).related_model
            self.names = {o.pk: str(o) for o in related._base_manager.filter(pk__in=ids)}

    def label(self, value: Any) -> str:
        if value is None or value == "":
            return _("(empty)")
        f = self.g.field
        if f.type in DATES:
            return bucket_label(self.g.bucket, dt.date.fromisoformat(str(value)))
        if f.type == registry.BOOL:
            return _("Yes") if value in (True, 1, "true") else _("No")
        if self.names:
            return self.names.get(value, self.names.get(str(value), str(value)))
        if isinstance(value, Decimal):
            return formats.number_format(value.normalize(), use_l10n=True)
        return str(value)


def bucket_label(unit: str, start: dt.date) -> str:
    """How a date bucket is named: 2026-03-02, 2026-03, 2026 Q1, FY2026 Q1 ..."""
    org = Organisation.get()
    if unit == "day":
        return start.isoformat()
    if unit == "week":
        return _("Week of %(day)s") % {"day": start.isoformat()}
    if unit == "month":
        return f"{start.year}-{start.month:02d}"
    if unit == "quarter":
        return _("%(year)s Q%(quarter)s") % {
            "year": start.year,
            "quarter": (start.month - 1) // 3 + 1,
        }
    if unit == "year":
        return str(start.year)
    fiscal_start = org.fiscal_year_start_month
    months_in = (start.month - fiscal_start) % 12
    fy = start.year if start.month >= fiscal_start else start.year - 1
    if unit == "fiscal_year":
        return _("FY%(year)s") % {"year": fy}
    return _("FY%(year)s Q%(quarter)s") % {"year": fy, "quarter": months_in // 3 + 1}
