"""Writing the organisation's configuration as a template folder.

The files have the shape `schema.load` reads; each text is the one the instance holds
(one language), so the export applies cleanly to an empty instance and, applied back,
changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from salesops.crm.models import PoolRule
from salesops.customization.models import CustomField, Layout, Picklist, ValidationRule
from salesops.objects.models import CustomObject
from salesops.org.models import Organisation
from salesops.orgtemplates import dashboards
from salesops.orgtemplates.schema import POOL_NUMBERS
from salesops.pipeline.models import Pipeline
from salesops.users.models import Role


def configuration() -> dict[str, dict[str, Any]]:
    """The data of each file of the export, by file name."""
    org = Organisation.get()
    picklists = [
        {
            "key": p.key,
            "name": p.name,
            "options": [
                {"value": o.value, "label": o.label} | ({} if o.active else {"active": False})
                for o in p.options.order_by("order", "value")
            ],
        }
        for p in Picklist.objects.order_by("key")
    ]
    pipelines = []
    for p in Pipeline.objects.order_by("order", "name").prefetch_related("stages"):
        stages = sorted(p.stages.all(), key=lambda s: s.order)
        entry: dict[str, Any] = {"name": p.name}
        if p.is_default:
            entry["default"] = True
        if not p.active:
            entry["active"] = False
        entry["stages"] = [
            {"name": s.name, "probability": s.probability, "forecast_category": s.forecast_category}
            | ({"required_fields": list(s.required_fields)} if s.required_fields else {})
            for s in stages
        ]
        for kind in ("won", "lost"):
            closing = next((s.name for s in stages if s.kind == kind), None)
            if closing is not None:
                entry[kind] = closing
        pipelines.append(entry)
    fields = []
    # Order within an object is the file's order; objects in the order of their keys.
    for f in CustomField.objects.order_by("object_type", "order", "key"):
        entry = {"object": f.object_type, "key": f.key, "label": f.label, "type": f.field_type}
        if f.all_options():
            entry["options"] = [
                {"value": str(o["value"]), "label": str(o.get("label") or o["value"])}
                | ({} if o.get("active", True) is not False else {"active": False})
                for o in f.all_options()
            ]
        if f.field_type == CustomField.Type.FORMULA:
            entry["formula"] = f.expression
            entry["result_type"] = f.result_type
        if f.field_type == CustomField.Type.ROLLUP:
            entry["rollup"] = {
                "object": f.rollup_object,
                "link": f.rollup_link,
                "aggregate": f.rollup_aggregate,
            }
            if f.rollup_field:
                entry["rollup"]["field"] = f.rollup_field
            if f.rollup_condition:
                entry["rollup"]["condition"] = f.rollup_condition
        if f.required:
            entry["required"] = True
        if f.help_text:
            entry["help"] = f.help_text
        if not f.active:
            entry["active"] = False
        fields.append(entry)
    objects = []
    for o in CustomObject.objects.order_by("order", "key"):
        item: dict[str, Any] = {"key": o.key, "name": o.label}
        if o.plural != o.label:
            item["plural"] = o.plural
        item["title"] = o.title_label
        if o.links:
            item["links"] = list(o.links)
        if not o.active:
            item["active"] = False
        objects.append(item)
    validation_rules = []
    for v in ValidationRule.objects.order_by("object_type", "order", "pk"):
        item = {"object": v.object_type, "name": v.name, "condition": v.condition}
        item["message"] = {"zh": v.message_zh, "en": v.message_en}
        if v.field:
            item["field"] = v.field
        if not v.active:
            item["active"] = False
        validation_rules.append(item)
    roles = dict(Role.objects.values_list("pk", "name"))
    layouts = []
    for layout in Layout.objects.select_related("pipeline").order_by(
        "object_type", "pipeline__order", "pipeline__name"
    ):
        item = {"object": layout.object_type}
        if layout.pipeline is not None:
            item["pipeline"] = layout.pipeline.name
        item["sections"] = [
            {
                "key": section["key"],
                "title": {"zh": section.get("title_zh", ""), "en": section.get("title_en", "")},
                "fields": list(section.get("fields") or []),
            }
            | (
                {"roles": sorted(roles[pk] for pk in section["roles"] if pk in roles)}
                if section.get("roles")
                else {}
            )
            for section in layout.sections or []
        ]
        layouts.append(item)
    rules = []
    for r in PoolRule.objects.filter(team__isnull=True).order_by("-active", "name"):
        rule: dict[str, Any] = {"name": r.name}
        rule |= {k: getattr(r, k) for k in POOL_NUMBERS if getattr(r, k) is not None}
        if not r.active:
            rule["active"] = False
        rules.append(rule)
    return {
        "template.yaml": {
            "key": "exported",
            "version": 1,
            "name": org.name,
            "description": "",
        },
        "picklists.yaml": {"picklists": picklists},
        "pipelines.yaml": {"pipelines": pipelines},
        "custom_objects.yaml": {"custom_objects": objects},
        "custom_fields.yaml": {"custom_fields": fields},
        "validation_rules.yaml": {"validation_rules": validation_rules},
        "layouts.yaml": {"layouts": layouts},
        "pool_rules.yaml": {"pool_rules": rules},
        "reports.yaml": {"reports": saved_reports()},
        "targets.yaml": targets(org.local_date().year),
        "dashboards.yaml": dashboards.configuration(),
    }


def saved_reports() -> list[dict[str, Any]]:
    """The reports administrators own (the organisation's shared reports; people's own
    reports stay theirs), each shared as it is."""
    from salesops.orgtemplates.extras import ORGANISATION
    from salesops.orgtemplates.loading import administrators
    from salesops.reports.models import SavedReport
    from salesops.users.models import Team

    tops = list(Team.objects.filter(parent__isnull=True).values_list("pk", flat=True))
    out = []
    for r in SavedReport.objects.filter(owner__in=administrators()).select_related("team"):
        d = r.definition or {}
        item: dict[str, Any] = {"name": r.name}
        if r.description:
            item["description"] = r.description
        item["object"] = r.object_type
        if d.get("filters"):
            item["filters"] = [dict(f) for f in d["filters"]]
        if d.get("group_by"):
            item["group_by"] = [
                {"field": g["field"]} | ({"bucket": g["bucket"]} if g.get("bucket") else {})
                for g in d["group_by"]
            ]
        measures = [
            {"agg": m["agg"]} | ({"field": m["field"]} if m.get("field") else {})
            for m in d.get("measures") or []
        ]
        if measures and measures != [{"agg": "count"}]:
            item["measures"] = measures
        if d.get("chart", "table") != "table":
            item["chart"] = d["chart"]
        if r.team is not None:
            item["shared_with"] = ORGANISATION if tops == [r.team_id] else r.team.name
        out.append(item)
    return out


def targets(year: int) -> dict[str, Any]:
    """The metrics the organisation sets targets on, and its teams' monthly and
    quarterly targets of `year` (each team and metric with all 12 months, or all 4
    quarters, set)."""
    from salesops.users.models import Target

    rows = Target.objects.filter(
        team__isnull=False, period_start__year=year, period_kind__in=["month", "quarter"]
    ).select_related("team")
    found: dict[tuple[str, str], dict[str, dict[int, Any]]] = {}
    for t in rows:
        cell = found.setdefault((t.metric, t.team.name), {"month": {}, "quarter": {}})
        cell[t.period_kind][t.period_start.month] = t.value
    entries = []
    for (metric, team), cell in sorted(found.items()):
        item: dict[str, Any] = {"metric": metric, "teams": [team]}
        for kind, months, n in (("month", range(1, 13), 12), ("quarter", (1, 4, 7, 10), 4)):
            if len(cell[kind]) == n:
                values = [cell[kind][m] for m in months]
                numbers = [int(v) if v == v.to_integral_value() else float(v) for v in values]
                item[kind] = numbers[0] if len(set(numbers)) == 1 else numbers
        if "month" in item or "quarter" in item:
            entries.append(item)
    metrics = sorted(set(Target.objects.values_list("metric", flat=True)))
    return {"metrics": metrics, "targets": entries}


def export(folder: Path | str, *, key: str | None = None) -> list[Path]:
    """Write the configuration into `folder` (created if needed); the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.width = 4096
    written = []
    for name, data in configuration().items():
        if name == "template.yaml":
            data["key"] = key or _key_of(folder)
        path = folder / name
        with path.open("w", encoding="utf-8") as out:
            yaml.dump(data, out)
        written.append(path)
    return written


def _key_of(folder: Path) -> str:
    import re

    key = re.sub(r"[^a-z0-9_]", "_", folder.resolve().name.lower()).strip("_")
    return key if key[:1].isalpha() else f"t_{key}" if key else "exported"
