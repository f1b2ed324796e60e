"""The custom objects in the OpenAPI document: each active custom object gets its own
paths (`/api/v1/objects/site_visit`, `/api/v1/objects/site_visit/{id}`, ...), copied
from the generic routes' operations, with typed schemas of its record, its page and its
create and change bodies (title, its links, owner, and `custom` with each field typed).

The document depends on the definitions, which administrators change while the app
runs: it is cached under a version computed from the definitions as the registry
serves them (`definitions_version`), so it is rebuilt when an object or a field
changes — in every process, within the registry's cache time — not once per start.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from salesops.customization import registry
from salesops.customization.models import CustomField
from salesops.customization.registry import FieldSpec, ObjectSpec

T = CustomField.Type
GENERIC = "/objects/{object_key}"
#: Component names of the generic routes' schemas, replaced per object.
GENERIC_SCHEMAS = (
    "CustomRecordOut",
    "CustomRecordPage",
    "CustomRecordCreate",
    "CustomRecordUpdate",
    "CustomRecordBulkCreate",
)


def definitions_version() -> str:
    """A digest of every active custom object and its fields as the registry serves
    them now: it changes whenever the document would."""
    parts: list[Any] = []
    for key, spec in sorted(registry.dynamic().items()):
        fields = [
            (
                f.key,
                f.type,
                f.custom.field_type,
                str(f.label),
                f.required,
                f.custom.default is not None,
                tuple((str(v), str(label)) for v, label in f.choices),
                str(f.help_text),
            )
            for f in spec.fields()
            if f.is_custom
        ]
        title = spec.field("title")
        parts.append(
            (
                key,
                spec.custom_object_id,
                str(spec.label),
                str(spec.plural),
                str(title.label) if title else "",
                spec.links,
                fields,
            )
        )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def schema_name(key: str, kind: str) -> str:
    return f"object.{key}.{kind}"


def _value(f: FieldSpec, *, for_input: bool) -> dict[str, Any]:
    kind = f.custom.field_type
    out: dict[str, Any]
    if kind == T.NUMBER:
        out = {"type": "number"}
    elif kind == T.MONEY:
        # Stored as a decimal string ("12.50"); a number is accepted as input.
        out = (
            {"anyOf": [{"type": "number"}, {"type": "string"}]} if for_input else {"type": "string"}
        )
    elif kind == T.DATE:
        out = {"type": "string", "format": "date"}
    elif kind == T.DATETIME:
        out = {"type": "string", "format": "date-time"}
    elif kind == T.BOOLEAN:
        out = {"type": "boolean"}
    elif kind == T.USER:
        out = {"type": "integer", "description": "A user's id."}
    elif kind in (T.SELECT, T.MULTI_SELECT):
        values = [str(v) for v, _label in f.choices]
        item: dict[str, Any] = {"type": "string"}
        if for_input and values:
            item["enum"] = values
        options = ", ".join(f"{v} ({label})" for v, label in f.choices)
        out = {"type": "array", "items": item} if kind == T.MULTI_SELECT else item
        if options:
            out = {**out, "description": f"Options: {options}."}
    else:
        out = {"type": "string"}
    out = {"title": str(f.label), **out}
    if f.help_text and "description" not in out:
        out["description"] = str(f.help_text)
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _custom(spec: ObjectSpec, *, for_input: bool, create: bool) -> dict[str, Any]:
    fields = [f for f in spec.fields() if f.is_custom]
    props = {
        f.key: (_nullable(_value(f, for_input=True)) if for_input else _value(f, for_input=False))
        for f in fields
    }
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    required = [f.key for f in fields if f.required and f.custom.default is None]
    if create and required:
        out["required"] = required
    return out


def _int_or_null() -> dict[str, Any]:
    return {"anyOf": [{"type": "integer"}, {"type": "null"}]}


def record_schema(spec: ObjectSpec) -> dict[str, Any]:
    title = spec.field("title")
    props: dict[str, Any] = {
        "id": {"type": "integer"},
        "title": {"type": "string", "title": str(title.label) if title else "title"},
    }
    for link in spec.links:
        props[link] = {**_int_or_null(), "title": str(registry.get(link).label)}
    props["owner"] = {**_int_or_null(), "title": "owner"}
    props["created_at"] = {"type": "string", "format": "date-time"}
    props["updated_at"] = {"type": "string", "format": "date-time"}
    props["custom"] = _custom(spec, for_input=False, create=False)
    props["version"] = {"type": "integer"}
    return {
        "title": str(spec.label),
        "type": "object",
        "properties": props,
        "required": ["id"],
        "additionalProperties": False,
        "description": "Fields hidden from you by your role are left out.",
    }


def input_schema(spec: ObjectSpec, *, create: bool) -> dict[str, Any]:
    title = spec.field("title")
    text: dict[str, Any] = {
        "type": "string",
        "maxLength": 200,
        "title": str(title.label) if title else "title",
    }
    props: dict[str, Any] = {"title": text if create else _nullable(text)}
    for link in spec.links:
        props[link] = {**_int_or_null(), "description": f"The id of a {link} you can see."}
    props["owner"] = {
        **_int_or_null(),
        "description": "A user's id (omit: you)." if create else "A user's id.",
    }
    props["custom"] = _nullable(_custom(spec, for_input=True, create=create))
    out: dict[str, Any] = {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
    if create:
        out["required"] = ["title"]
        if any(f.required and f.custom.default is None for f in spec.fields() if f.is_custom):
            out["required"] = ["title", "custom"]
            props["custom"] = _custom(spec, for_input=True, create=True)
    return out


def _replace_refs(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                name = v.rsplit("/", 1)[-1]
                out[k] = f"#/components/schemas/{names[name]}" if name in names else v
            else:
                out[k] = _replace_refs(v, names)
        return out
    if isinstance(node, list):
        return [_replace_refs(v, names) for v in node]
    return node


def add_objects(schema: dict[str, Any], prefix: str) -> None:
    """Add each active custom object's paths and schemas to `schema` (ninja's document,
    whose paths start with `prefix`)."""
    generic = f"{prefix.rstrip('/')}{GENERIC}"
    templates = {
        path[len(generic) :]: item
        for path, item in schema["paths"].items()
        if path == generic or path.startswith(generic + "/")
    }
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for key, spec in sorted(registry.dynamic().items()):
        names = {
            "CustomRecordOut": schema_name(key, "Record"),
            "CustomRecordPage": schema_name(key, "Page"),
            "CustomRecordCreate": schema_name(key, "Create"),
            "CustomRecordUpdate": schema_name(key, "Update"),
            "CustomRecordBulkCreate": schema_name(key, "BulkCreate"),
        }
        record = record_schema(spec)
        components[names["CustomRecordOut"]] = record
        components[names["CustomRecordPage"]] = {
            "type": "object",
            "properties": {
                "data": {
                    "type": "array",
                    "items": {"$ref": f"#/components/schemas/{names['CustomRecordOut']}"},
                },
                "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
            "required": ["data"],
        }
        components[names["CustomRecordCreate"]] = input_schema(spec, create=True)
        components[names["CustomRecordUpdate"]] = input_schema(spec, create=False)
        bulk = copy.deepcopy(components.get("CustomRecordBulkCreate", {}))
        components[names["CustomRecordBulkCreate"]] = _replace_refs(bulk, names)
        plural = str(spec.plural)
        for rest, item in templates.items():
            item = _replace_refs(copy.deepcopy(item), names)
            for op in item.values():
                op["parameters"] = [
                    p for p in op.get("parameters", []) if p.get("name") != "object_key"
                ]
                op["operationId"] = op["operationId"].replace("objects_", f"objects_{key}_", 1)
                op["tags"] = [plural]
                op["summary"] = op.get("summary", "").replace("a custom object", plural)
                if op["operationId"].endswith("_list"):
                    op["description"] = _describe_list(spec)
            schema["paths"][f"{prefix.rstrip('/')}/objects/{key}{rest}"] = item


def _describe_list(spec: ObjectSpec) -> str:
    custom = [f for f in spec.fields() if f.is_custom]
    filters = [f"custom.{f.key}" for f in custom if f.filterable]
    sorts = [f"custom.{f.key}" for f in custom if f.sortable]
    own = [f.key for f in spec.fields(custom=False) if f.filterable and not f.internal]
    return (
        f"The {spec.plural} you may see. Filters (field or field__lookup): "
        + ", ".join([*own, *filters])
        + ". Sort on: id, title, created_at, updated_at"
        + (", " + ", ".join(sorts) if sorts else "")
        + " (prefix - for descending; default -id)."
    )
