"""Record tables: the records behind a report's cell or a dashboard number, one row per
record, the columns read from the metadata registry as the reader may see them.

`columns` leaves out every field the field policy hides from the reader (their role's
list and `hidden_by`), so a hidden value never reaches a page, a CSV or a workbook.
`value` gives a cell as a typed value for spreadsheets and templates: choice labels
instead of stored codes, reference names, datetimes in the organisation's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.customization import policy, registry
from salesops.customization.registry import FieldSpec
from salesops.reports.catalogue import options

#: Field types a record table cannot show in one cell.
NOT_SHOWN = (registry.JSON, registry.MANY_REF)


def shown(f: FieldSpec) -> bool:
    return f.type not in NOT_SHOWN and not f.internal and bool(f.path)


def columns(user: Any, object_type: str, keys: Iterable[str] | None = None) -> list[FieldSpec]:
    """The fields of a record table of `object_type` that `user` may see: `keys` in that
    order (unknown ones skipped), or the object's default list columns."""
    spec = registry.get(object_type)
    hidden = policy.hidden_keys(user, object_type)
    if keys is None:
        fields = [f for f in spec.fields(derived=True) if f.list_default]
    else:
        fields = [f for f in (spec.field(k) for k in dict.fromkeys(keys)) if f is not None]
    return [f for f in fields if f.key not in hidden and shown(f)]


def related(fields: Iterable[FieldSpec]) -> list[str]:
    """`select_related` paths that let `value` read every column without a query."""
    out: list[str] = []
    for f in fields:
        if f.is_custom:
            continue
        if f.type == registry.REF:
            head = f.path.removesuffix("_id")
        elif "__" in f.path:
            head = f.path.rsplit("__", 1)[0]
        else:
            continue
        if head not in out:
            out.append(head)
    return out


def _walk(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    return obj


def value(obj: Any, f: FieldSpec, tz: dt.tzinfo | None = None) -> Any:
    """The cell of `f` for record `obj` (None when empty)."""
    if f.is_custom:
        raw = (obj.custom or {}).get(f.key)
    elif f.type == registry.REF:
        target = getattr(obj, f.path.removesuffix("_id"), None)
        if target is None:
            return None
        if f.ref == "user" or not f.name_path:
            return str(target)
        raw = _walk(obj, f.name_path)
    else:
        raw = _walk(obj, f.path)
    if raw is None or raw == "":
        return None
    if f.type == registry.MULTI_CHOICE and isinstance(raw, list):
        return ", ".join(str(f.choice_label(v)) for v in raw)
    labels = options(f)
    if labels:
        return str(next((label for v, label in labels if str(v) == str(raw)), raw))
    if f.type == registry.BOOL:
        return _("Yes") if raw else _("No")
    if isinstance(raw, dt.datetime):
        return timezone.localtime(raw, tz).replace(tzinfo=None)
    if f.type == registry.DATETIME and isinstance(raw, str):
        parsed = dt.datetime.fromisoformat(raw)
        return timezone.localtime(parsed, tz).replace(tzinfo=None) if parsed.tzinfo else parsed
    return raw
