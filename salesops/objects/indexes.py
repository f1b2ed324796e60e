"""Expression indexes for custom objects' fields, created at run time.

A custom object's field values live in the records table's JSON column. Each field
that can be filtered or sorted gets an index on (object, value, id) — the value as
`customization.values.CustomValue` writes it, so the lists' filters and sorts read the
index on SQLite and PostgreSQL alike. Created when the field is created (or on demand
with `salesops objects-indexes`), dropped never: an index of a retired field costs
only disk and keeps a restored field fast.
"""

from __future__ import annotations

import hashlib

from django.db import connection, models
from django.db.models import F

from salesops.customization import registry
from salesops.customization.values import value_of

INDEXED = (
    registry.TEXT,
    registry.EMAIL,
    registry.PHONE,
    registry.URL,
    registry.INTEGER,
    registry.NUMBER,
    registry.MONEY,
    registry.DATE,
    registry.DATETIME,
    registry.CHOICE,
    registry.BOOL,
    registry.REF,
)


def index_name(spec: registry.ObjectSpec, key: str) -> str:
    digest = hashlib.sha256(f"{spec.custom_object_id}.{key}".encode()).hexdigest()[:10]
    return f"custrec_cf_{digest}"


def wanted(spec: registry.ObjectSpec) -> dict[str, models.Index]:
    """The indexes the custom object `spec` should have, by name."""
    out = {}
    for f in spec.fields():
        if f.is_custom and f.type in INDEXED and (f.filterable or f.sortable):
            name = index_name(spec, f.key)
            out[name] = models.Index(F("kind"), value_of(f), F("id"), name=name)
    return out


def existing() -> set[str]:
    from salesops.objects.models import CustomRecord

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, CustomRecord._meta.db_table)
    return {name for name, info in constraints.items() if info.get("index")}


def ensure(spec: registry.ObjectSpec) -> list[str]:
    """Create the indexes `spec` lacks; the names of those created."""
    from salesops.objects.models import CustomRecord

    missing = {n: i for n, i in wanted(spec).items() if n not in existing()}
    if not missing:
        return []
    # The statements only (not the editor's context, which SQLite refuses inside a
    # transaction): CREATE INDEX needs no table rebuild.
    editor = connection.schema_editor()
    with connection.cursor() as cursor:
        for index in missing.values():
            cursor.execute(str(index.create_sql(CustomRecord, editor)))
        if connection.vendor == "sqlite":
            cursor.execute(f"ANALYZE {CustomRecord._meta.db_table}")
    return sorted(missing)


def on_field_saved(sender: object, instance: object, **_kwargs: object) -> None:
    """A custom field of a custom object was saved: index it once the save commits."""
    from django.db import transaction

    object_type = getattr(instance, "object_type", "")
    spec = registry.find(object_type)
    if spec is not None and spec.is_custom_object:
        key = spec.key
        transaction.on_commit(lambda: _ensure_key(key))


def _ensure_key(key: str) -> None:
    from salesops.customization.services import forget_definitions

    forget_definitions()
    spec = registry.find(key)
    if spec is not None:
        ensure(spec)
