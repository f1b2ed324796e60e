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
from salesops.customization.models import CustomField, Picklist
from salesops.org.models import Organisation
from salesops.orgtemplates.schema import POOL_NUMBERS
from salesops.pipeline.models import Pipeline


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
            for s in stages
        ]
        for kind in ("won", "lost"):
            closing = next((s.name for s in stages if s.kind == kind), None)
            if closing is not None:
                entry[kind] = closing
        pipelines.append(entry)
    fields = []
    for f in CustomField.objects.order_by("object_type", "order", "key"):
        entry = {"object": f.object_type, "key": f.key, "label": f.label, "type": f.field_type}
        if f.all_options():
            entry["options"] = [
                {"value": str(o["value"]), "label": str(o.get("label") or o["value"])}
                | ({} if o.get("active", True) is not False else {"active": False})
                for o in f.all_options()
            ]
        if f.required:
            entry["required"] = True
        if f.help_text:
            entry["help"] = f.help_text
        if not f.active:
            entry["active"] = False
        fields.append(entry)
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
        "custom_fields.yaml": {"custom_fields": fields},
        "pool_rules.yaml": {"pool_rules": rules},
    }


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
