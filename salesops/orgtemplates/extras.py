"""Reading a template's saved reports, target metrics and sample data.

- ``reports.yaml``: ``reports: [{name, renamed_from?, description?, object, filters?:
  [{field, op, value}], group_by?: [{field, bucket?}], measures?: [{agg, field?}],
  chart?, shared_with?}]`` — the report builder's own definition (`reports.query`);
  ``shared_with`` is ``organisation`` (the organisation's top team) or a team's name;
  without it the report is private to the administrator who applies the template.
- ``targets.yaml``: ``metrics: [metric, ...]`` (the target metrics the template
  recommends) and ``targets: [{metric, teams?: [team names], month?: N | [12 numbers],
  quarter?: N | [4 numbers]}]`` — default targets for every month and/or quarter of a
  year, for each named team (without ``teams``: every team without sub-teams). Applied
  only when asked (``--with-targets``), never over a target already set.
- ``sample/data.yaml``: ``customers: [{name, industry?, region?, phone?, email?,
  website?, custom?, contacts?: [{name, title?, phone?, email?}], deals?: [{name,
  pipeline?, stage?, amount?, close_in_days?, custom?}], followups?: [{kind, subject,
  days_ago?}]}]`` and ``records: [{object, title, custom?, deal?}]`` (records of the
  template's custom objects; ``deal`` names a sample deal). Loaded only when asked
  (``--with-sample-data``), once.

Each function adds its problems (``file:line: what to fix``) to the reader's list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from salesops.customization import registry
from salesops.orgtemplates.schema import (
    Template,
    Text,
    Where,
    _Reader,
    _root,
    key_line,
    value_line,
)
from salesops.reports.catalogue import AGGREGATES, BUCKETS, OPERATORS
from salesops.reports.catalogue import objects as report_objects
from salesops.reports.query import CHARTS, MAX_FILTERS, MAX_GROUPS, MAX_MEASURES
from salesops.users.models import Target

ORGANISATION = "organisation"
#: A template custom field's type as the registry (and so a report) reads it.
FIELD_TYPES = {
    "text": registry.TEXT,
    "long_text": registry.LONG_TEXT,
    "number": registry.NUMBER,
    "money": registry.MONEY,
    "date": registry.DATE,
    "datetime": registry.DATETIME,
    "select": registry.CHOICE,
    "boolean": registry.BOOL,
    "url": registry.URL,
    "email": registry.EMAIL,
    "phone": registry.PHONE,
}
COUNT_METRICS = {Target.Metric.NEW_CUSTOMERS, Target.Metric.WON_DEALS, Target.Metric.FOLLOWUPS}
FOLLOWUP_KINDS = ("call", "visit", "meeting", "email", "message", "note")
CUSTOMER_FIELDS = ("industry", "region", "phone", "email", "website", "address")
CONTACT_FIELDS = ("title", "phone", "mobile", "email", "wechat")


@dataclass
class ReportSpec:
    name: Text
    renamed_from: Text | None
    description: Text
    object_type: str
    #: the definition in the stored (canonical) form, as far as it is known unapplied
    definition: dict[str, Any]
    shared_with: str  # "" (private), ORGANISATION or a team's name
    at: Where


@dataclass
class TargetSpec:
    metric: str
    teams: list[str]  # [] = every team without sub-teams
    months: list[Decimal] | None
    quarters: list[Decimal] | None
    at: Where


@dataclass
class TargetsSpec:
    metrics: list[str] = field(default_factory=list)
    targets: list[TargetSpec] = field(default_factory=list)


@dataclass
class SampleContact:
    name: Text
    fields: dict[str, Text]
    at: Where


@dataclass
class SampleDeal:
    name: Text
    pipeline: str
    stage: str
    amount: Decimal
    close_in_days: int | None
    custom: dict[str, Any]
    at: Where


@dataclass
class SampleFollowUp:
    kind: str
    subject: Text
    days_ago: int
    at: Where


@dataclass
class SampleCustomer:
    name: Text
    fields: dict[str, Text]
    custom: dict[str, Any]
    contacts: list[SampleContact]
    deals: list[SampleDeal]
    followups: list[SampleFollowUp]
    at: Where


@dataclass
class SampleRecord:
    object_type: str
    title: Text
    custom: dict[str, Any]
    deal: str
    at: Where


@dataclass
class SampleData:
    customers: list[SampleCustomer] = field(default_factory=list)
    records: list[SampleRecord] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.customers or self.records)

    def count(self) -> int:
        return (
            len(self.customers)
            + len(self.records)
            + sum(len(c.contacts) + len(c.deals) + len(c.followups) for c in self.customers)
        )


# -- reports ----------------------------------------------------------------------------------


def field_types(t: Template, object_type: str) -> dict[str, str]:
    """The field keys a report on `object_type` may name, with their registry types: the
    registry's built-in and derived fields and the template's own custom fields (as
    for stages, a template stands alone: it does not read the organisation's)."""
    spec = t.object_spec(object_type)
    out = {f.key: f.type for f in spec.fields(custom=False, derived=True)} if spec else {}
    for f in t.fields_of(object_type):
        out[f.key] = FIELD_TYPES.get(f.result_type if f.computed else f.type, "")
        if f.type == "rollup":
            out[f.key] = registry.NUMBER
    return out


def stored_value(v: Any) -> str:
    """A filter's value as the report builder stores it (`reports.services.canonical`)."""
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    return "" if v is None else str(v)


def read_reports(node: Any, r: _Reader, t: Template) -> list[ReportSpec]:
    out: list[ReportSpec] = []
    names: set[str] = set()
    allowed = {
        "name",
        "renamed_from",
        "description",
        "object",
        "filters",
        "group_by",
        "measures",
        "chart",
        "shared_with",
    }
    kinds = set(report_objects(custom=False)) | {o.key for o in t.custom_objects}
    for at, item in r.items(_root(node, "reports", r), "reports", 1):
        if not r.mapping(item, at, allowed, {"name", "object"}):
            continue
        name = r.text(item, "name", at)
        if names & name.names():
            r.fail(at, _("Two reports have the same name; give each its own."))
        names |= name.names()
        if any(len(n) > 200 for n in name.names()):
            r.fail(value_line(item, "name", at), _("A name may be at most 200 characters long."))
        obj = str(item.get("object") or "")
        if obj not in kinds:
            r.fail(
                value_line(item, "object", at),
                _("Unknown kind of record “%(value)s”; use one of %(allowed)s.")
                % {"value": obj, "allowed": ", ".join(sorted(kinds))},
            )
            continue
        types = field_types(t, obj)
        definition = _definition(item, at, r, types)
        shared = item.get("shared_with")
        if shared is not None and not (isinstance(shared, str) and shared.strip()):
            r.fail(
                value_line(item, "shared_with", at),
                _("“shared_with” is “organisation” or the name of a team."),
            )
            shared = ""
        out.append(
            ReportSpec(
                name,
                r.text(item, "renamed_from", at) if "renamed_from" in item else None,
                r.text(item, "description", at, blank=True),
                obj,
                definition,
                str(shared or "").strip(),
                r.where(item, at),
            )
        )
    return out


def _entries(item: dict, key: str, at: int, r: _Reader, allowed: set[str]) -> list[tuple]:
    out = []
    for line, entry in r.items(item, key, at):
        if r.mapping(entry, line, allowed, set()):
            out.append((line, entry))
    return out


def _definition(item: dict, at: int, r: _Reader, types: dict[str, str]) -> dict[str, Any]:
    def known(entry: dict, line: int) -> str | None:
        key = str(entry.get("field") or "")
        if key not in types:
            r.fail(
                value_line(entry, "field", line),
                _(
                    "There is no field “%(key)s” on this kind of record (neither built in nor "
                    "in custom_fields.yaml)."
                )
                % {"key": key or "-"},
            )
            return None
        return key

    filters = []
    entries = _entries(item, "filters", at, r, {"field", "op", "value"})
    if len(entries) > MAX_FILTERS:
        r.fail(at, _("A report takes at most %(n)s filters.") % {"n": MAX_FILTERS})
    for line, entry in entries:
        key = known(entry, line)
        op = str(entry.get("op") or "eq")
        if key is not None and types[key] in OPERATORS and op not in OPERATORS[types[key]]:
            r.fail(
                value_line(entry, "op", line),
                _("This condition does not fit a field of this type; use one of %(allowed)s.")
                % {"allowed": ", ".join(OPERATORS[types[key]])},
            )
        if op != "empty" and not stored_value(entry.get("value")).strip():
            r.fail(line, _("Enter a value."))
        filters.append({"field": key or "", "op": op, "value": stored_value(entry.get("value"))})
    groups = []
    entries = _entries(item, "group_by", at, r, {"field", "bucket"})
    if len(entries) > MAX_GROUPS:
        r.fail(at, _("A report groups by at most two fields."))
    for line, entry in entries:
        key = known(entry, line)
        bucket = str(entry.get("bucket") or "")
        is_date = key is not None and types[key] in (registry.DATE, registry.DATETIME)
        if is_date:
            bucket = bucket or "month"
            if bucket not in BUCKETS:
                r.fail(
                    value_line(entry, "bucket", line),
                    _("“bucket” must be one of %(allowed)s.") % {"allowed": ", ".join(BUCKETS)},
                )
        elif bucket and key is not None:
            r.fail(
                value_line(entry, "bucket", line),
                _("Only dates are grouped by day, week, month or year."),
            )
        groups.append({"field": key or "", "bucket": bucket})
    measures: list[dict[str, str]] = []
    entries = _entries(item, "measures", at, r, {"agg", "field"})
    if len(entries) > MAX_MEASURES:
        r.fail(at, _("A report shows at most %(n)s measures.") % {"n": MAX_MEASURES})
    for line, entry in entries:
        agg = str(entry.get("agg") or "")
        if agg not in AGGREGATES:
            r.fail(
                value_line(entry, "agg", line),
                _("“agg” must be one of %(allowed)s.") % {"allowed": ", ".join(AGGREGATES)},
            )
            continue
        key = "" if agg == "count" else known(entry, line) or ""
        if key and types[key] not in registry.NUMERIC:
            r.fail(
                value_line(entry, "field", line),
                _("Only numbers and amounts can be summed or averaged."),
            )
        m = {"agg": agg, "field": key}
        if m not in measures:
            measures.append(m)
    chart = str(item.get("chart") or "table")
    if chart not in CHARTS:
        r.fail(
            value_line(item, "chart", at),
            _("“chart” must be one of %(allowed)s.") % {"allowed": ", ".join(CHARTS)},
        )
    elif chart != "table" and not groups:
        r.fail(value_line(item, "chart", at), _("A chart needs at least one group-by."))
    return {
        "filters": filters,
        "group_by": groups,
        "measures": measures or [{"agg": "count", "field": ""}],
        "chart": chart,
    }


# -- targets ----------------------------------------------------------------------------------


def read_targets(node: Any, r: _Reader) -> TargetsSpec:
    out = TargetsSpec()
    if node is None:
        return out
    if not r.mapping(node, 1, {"metrics", "targets"}, set()):
        return out
    metrics = Target.Metric.values
    for line, m in r.items(node, "metrics", 1):
        if m not in metrics:
            r.fail(
                line,
                _("Unknown metric “%(value)s”; use one of %(allowed)s.")
                % {"value": m, "allowed": ", ".join(metrics)},
            )
        elif m in out.metrics:
            r.fail(line, _("The metric “%(value)s” appears twice.") % {"value": m})
        else:
            out.metrics.append(str(m))
    seen: set[tuple[str, str]] = set()
    for at, item in r.items(node, "targets", 1):
        if not r.mapping(item, at, {"metric", "teams", "month", "quarter"}, {"metric"}):
            continue
        metric = str(item.get("metric") or "")
        if metric not in metrics:
            r.fail(
                value_line(item, "metric", at),
                _("Unknown metric “%(value)s”; use one of %(allowed)s.")
                % {"value": metric, "allowed": ", ".join(metrics)},
            )
            continue
        if "month" not in item and "quarter" not in item:
            r.fail(at, _("Give the target per “month”, per “quarter”, or both."))
        teams = _names(item, "teams", at, r)
        for team in teams or [""]:
            if (metric, team) in seen:
                r.fail(at, _("This metric has two targets for the same teams; keep one."))
            seen.add((metric, team))
        out.targets.append(
            TargetSpec(
                metric,
                teams,
                _amounts(item, "month", 12, at, r, metric),
                _amounts(item, "quarter", 4, at, r, metric),
                r.where(item, at),
            )
        )
    return out


def _names(item: dict, key: str, at: int, r: _Reader) -> list[str]:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        r.fail(value_line(item, key, at), _("“%(key)s” must be a list of names.") % {"key": key})
        return []
    return [v.strip() for v in value]


def _amounts(
    item: dict, key: str, n: int, at: int, r: _Reader, metric: str
) -> list[Decimal] | None:
    if key not in item:
        return None
    value = item[key]
    values = value if isinstance(value, list) else [value] * n
    line = value_line(item, key, at)
    ok = len(values) == n and all(
        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values
    )
    if not ok:
        r.fail(
            line,
            _("“%(key)s” must be a number of at least 0, or a list of %(n)s such numbers.")
            % {"key": key, "n": n},
        )
        return None
    amounts = [Decimal(str(v)).quantize(Decimal("0.01")) for v in values]
    if metric in COUNT_METRICS and any(a != a.to_integral_value() for a in amounts):
        r.fail(line, _("This target counts things; enter whole numbers."))
    return amounts


# -- sample data ------------------------------------------------------------------------------


def read_sample(node: Any, r: _Reader, t: Template) -> SampleData:
    out = SampleData()
    if node is None:
        return out
    if not r.mapping(node, 1, {"customers", "records"}, set()):
        return out
    deals: set[str] = set()
    allowed = {"name", *CUSTOMER_FIELDS, "custom", "contacts", "deals", "followups"}
    for at, item in r.items(node, "customers", 1):
        if not r.mapping(item, at, allowed, {"name"}):
            continue
        customer = SampleCustomer(
            r.text(item, "name", at),
            {k: _plain(item, k, at, r) for k in CUSTOMER_FIELDS if k in item},
            _custom(item, at, r, t, "customer"),
            [],
            [],
            [],
            r.where(item, at),
        )
        for cat, c in r.items(item, "contacts", at):
            if r.mapping(c, cat, {"name", *CONTACT_FIELDS}, {"name"}):
                customer.contacts.append(
                    SampleContact(
                        r.text(c, "name", cat),
                        {k: _plain(c, k, cat, r) for k in CONTACT_FIELDS if k in c},
                        r.where(c, cat),
                    )
                )
        for dat, d in r.items(item, "deals", at):
            deal = _deal(d, dat, r, t)
            if deal is not None:
                if deals & deal.name.names():
                    r.fail(dat, _("Two sample deals have the same name; give each its own."))
                deals |= deal.name.names()
                customer.deals.append(deal)
        for fat, f in r.items(item, "followups", at):
            if not r.mapping(f, fat, {"kind", "subject", "days_ago"}, {"kind", "subject"}):
                continue
            if f.get("kind") not in FOLLOWUP_KINDS:
                r.fail(
                    value_line(f, "kind", fat),
                    _("“kind” must be one of %(allowed)s.")
                    % {"allowed": ", ".join(FOLLOWUP_KINDS)},
                )
            days = r.integer(f, "days_ago", fat, 0, 3650) if "days_ago" in f else 0
            customer.followups.append(
                SampleFollowUp(
                    str(f.get("kind")), r.text(f, "subject", fat), days or 0, r.where(f, fat)
                )
            )
        out.customers.append(customer)
    objects = {o.key for o in t.custom_objects}
    for at, item in r.items(node, "records", 1):
        if not r.mapping(item, at, {"object", "title", "custom", "deal"}, {"object", "title"}):
            continue
        obj = str(item.get("object") or "")
        if obj not in objects:
            r.fail(
                value_line(item, "object", at),
                _("“%(value)s” is no custom object of this template; use one of %(allowed)s.")
                % {"value": obj, "allowed": ", ".join(sorted(objects)) or "-"},
            )
            continue
        deal_name = str(item.get("deal") or "").strip()
        if deal_name and deal_name not in deals:
            r.fail(
                value_line(item, "deal", at),
                _("“%(value)s” names no sample deal.") % {"value": deal_name},
            )
        out.records.append(
            SampleRecord(
                obj,
                r.text(item, "title", at),
                _custom(item, at, r, t, obj),
                deal_name,
                r.where(item, at),
            )
        )
    return out


def _plain(node: dict, key: str, line: int, r: _Reader) -> Text:
    return r.text(node, key, line, blank=True)


def _custom(item: dict, at: int, r: _Reader, t: Template, object_type: str) -> dict[str, Any]:
    values = item.get("custom")
    if values is None:
        return {}
    line = value_line(item, "custom", at)
    if not isinstance(values, dict):
        r.fail(line, _("Expected a mapping of keys and values here."))
        return {}
    fields = {f.key: f for f in t.fields_of(object_type) if not f.computed}
    out: dict[str, Any] = {}
    for key, value in values.items():
        spec = fields.get(str(key))
        if spec is None:
            r.fail(
                key_line(values, key, line),
                _("There is no field “%(key)s” of this kind in custom_fields.yaml.") % {"key": key},
            )
            continue
        if spec.options and str(value) not in {o.value for o in spec.options}:
            r.fail(
                key_line(values, key, line),
                _("“%(value)s” is not one of the options: %(options)s.")
                % {"value": value, "options": ", ".join(o.value for o in spec.options)},
            )
        out[str(key)] = dict(value) if isinstance(value, dict) else value
    return out


def _deal(d: Any, at: int, r: _Reader, t: Template) -> SampleDeal | None:
    allowed = {"name", "pipeline", "stage", "amount", "close_in_days", "custom"}
    if not r.mapping(d, at, allowed, {"name"}):
        return None
    pipeline_name = str(d.get("pipeline") or "").strip()
    pipe = next((p for p in t.pipelines if pipeline_name in p.name.names()), None)
    if pipeline_name and pipe is None:
        r.fail(
            value_line(d, "pipeline", at),
            _("“%(value)s” names no pipeline of this template.") % {"value": pipeline_name},
        )
    if pipe is None and not pipeline_name:
        pipe = next((p for p in t.pipelines if p.default), t.pipelines[0] if t.pipelines else None)
    stage_name = str(d.get("stage") or "").strip()
    if stage_name and pipe is not None:
        stage = next((s for s in pipe.stages if stage_name in s.name.names()), None)
        if stage is None or stage.kind != "open":
            r.fail(
                value_line(d, "stage", at),
                _("“%(value)s” names no open stage of the deal's pipeline.")
                % {"value": stage_name},
            )
    amount = d.get("amount", 0)
    if not isinstance(amount, int | float) or isinstance(amount, bool) or amount < 0:
        r.fail(value_line(d, "amount", at), _("The amount must be a number of at least 0."))
        amount = 0
    days = r.integer(d, "close_in_days", at, 0, 3650) if "close_in_days" in d else None
    return SampleDeal(
        r.text(d, "name", at),
        pipeline_name,
        stage_name,
        Decimal(str(amount)),
        days,
        _custom(d, at, r, t, "deal"),
        r.where(d, at),
    )
