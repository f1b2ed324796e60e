"""Writing the audit log: the services of every other app call these inside their own
transaction, so a change that rolls back leaves no entry.

There is no update or delete here, on purpose: the log is append-only.

Values in `AuditEntry.changes` are JSON, captured at the time of the change:
- text, numbers, booleans, choice values: as stored (choices are shown with their label
  in the reader's language when displayed);
- money (a decimal field of a model with a currency): {"amount": "12000.00", "currency": "CNY"};
- other decimals: their text;
- datetimes: ISO 8601 in UTC; dates: ISO 8601;
- foreign keys: {"id": 3, "label": "Acme"} (the label as it read then), None when empty;
- many-to-many (tags): a list of such pairs;
- custom fields: under "custom.<key>", their stored JSON value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

from salesops.audit.models import AuditEntry

Action = AuditEntry.Action

#: Decimal fields that are amounts of money in the record's `currency`.
MONEY_FIELDS = frozenset({"amount", "price", "unit_price"})

_source: ContextVar[str] = ContextVar("audit_source", default="")


@contextlib.contextmanager
def source(name: str) -> Iterator[None]:
    """Entries written inside this block say they came from `name` (web, api, import…)."""
    token = _source.set(name)
    try:
        yield
    finally:
        _source.reset(token)


def object_type_of(obj: models.Model | type[models.Model]) -> str:
    """The audit object type of a record or model: `app_label.model_name`."""
    return obj._meta.label_lower


def _label(obj: Any) -> str:
    return str(obj)[:200]


def _actor(by: Any) -> tuple[Any, str]:
    if by is None or not getattr(by, "pk", None):
        return None, ""
    return by.pk, str(by)[:150]


def _entry(by: Any, obj: Any, action: str, changes: dict[str, Any], at: dt.datetime) -> AuditEntry:
    actor_id, actor_name = _actor(by)
    return AuditEntry(
        at=at,
        actor_id=actor_id,
        actor_name=actor_name,
        object_type=object_type_of(obj),
        object_id=obj.pk,
        object_label=_label(obj),
        action=action,
        changes=changes,
        source=_source.get() or ("" if actor_id else "system"),
    )


def record(
    *,
    by: Any,
    obj: models.Model,
    action: str,
    changes: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry | None:
    """Write one entry about `obj`. An update that changed nothing writes nothing."""
    if action == Action.UPDATED and not changes:
        return None
    entry = _entry(by, obj, action, changes or {}, at or timezone.now())
    entry.save()
    return entry


def record_many(
    *,
    by: Any,
    objs: Iterable[models.Model],
    action: str,
    changes: Callable[[Any], dict[str, Any]] | None = None,
    at: dt.datetime | None = None,
) -> int:
    """One entry per record, written in one statement (e.g. the nightly pool job);
    `changes(obj)` gives each record's changes."""
    moment = at or timezone.now()
    entries = [_entry(by, obj, action, changes(obj) if changes else {}, moment) for obj in objs]
    AuditEntry.objects.bulk_create(entries, batch_size=500)
    return len(entries)


def record_import(
    *,
    by: Any,
    object_type: str,
    created: int,
    updated: int = 0,
    job_id: int | None = None,
    rolled_back: bool = False,
) -> AuditEntry | None:
    """One entry for a whole bulk import (instead of one per row, which would cost the
    bulk path its speed). `object_type` is the import's ("contact") or a model label.
    Nothing is written for an import that committed nothing."""
    if rolled_back or (created <= 0 and updated <= 0):
        return None
    actor_id, actor_name = _actor(by)
    label = object_type if "." in object_type else _IMPORT_TYPES.get(object_type, object_type)
    entry = AuditEntry(
        at=timezone.now(),
        actor_id=actor_id,
        actor_name=actor_name,
        object_type=label,
        object_id=None,
        object_label="",
        action=Action.IMPORTED,
        changes={"created": created, "updated": updated, "count": created + updated}
        | ({"job_id": job_id} if job_id is not None else {}),
        source=_source.get() or "import",
    )
    entry.save()
    return entry


_IMPORT_TYPES = {
    "lead": "crm.lead",
    "customer": "crm.customer",
    "contact": "crm.contact",
    "deal": "crm.deal",
    "product": "crm.product",
    "payment": "crm.payment",
    "followup": "activities.followup",
    "task": "activities.task",
}


# -- values and differences -------------------------------------------------------------


def plain(value: Any) -> Any:
    """A value in the log's JSON format (datetimes in UTC, decimals as text)."""
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _ref(model: Any, pk: Any, obj: Any = None) -> dict[str, Any] | None:
    if pk is None:
        return None
    if obj is None:
        obj = model._base_manager.filter(pk=pk).first()
    return {"id": pk, "label": _label(obj) if obj is not None else ""}


class Snapshot:
    """The values of some fields of a record before a change; `changes(obj)` compares
    them with the record afterwards. Only what differs is serialised (a changed foreign
    key costs one query for its old label)."""

    def __init__(self, obj: models.Model, names: Iterable[str], *, custom: bool = False) -> None:
        self.meta = obj._meta
        names = list(names)
        if "currency" in names:  # a new currency changes what the amounts mean
            names += sorted(MONEY_FIELDS)
        self.names = [n for n in dict.fromkeys(names) if self._has(n)]
        self.labels: dict[str, Any] = {}  # filled by _raw for many-to-many fields
        self.raw = {n: self._raw(obj, n) for n in self.names}
        self.currency = getattr(obj, "currency_id", None)
        self.custom = dict(getattr(obj, "custom", None) or {}) if custom else None

    def _has(self, name: str) -> bool:
        try:
            self.meta.get_field(name)
        except Exception:
            return False
        return True

    def _raw(self, obj: Any, name: str) -> Any:
        field: Any = self.meta.get_field(name)
        if field.many_to_many:
            if obj.pk is None:
                return []
            rows = list(getattr(obj, name).all())
            self.labels[name] = {r.pk: _label(r) for r in rows}
            return sorted(r.pk for r in rows)
        return getattr(obj, field.attname)

    def _value(self, obj: Any, name: str, raw: Any, currency: Any, labels: Any) -> Any:
        field: Any = self.meta.get_field(name)
        if field.many_to_many:
            return [{"id": pk, "label": labels.get(pk, "")} for pk in raw]
        if field.is_relation:
            cached = field.get_cached_value(obj, None) if field.is_cached(obj) else None
            return _ref(
                field.related_model, raw, cached if getattr(cached, "pk", None) == raw else None
            )
        if isinstance(field, models.DecimalField) and name in MONEY_FIELDS and currency:
            return None if raw is None else {"amount": str(raw), "currency": str(currency)}
        return _plain(raw)

    def changes(self, obj: models.Model) -> dict[str, Any]:
        out: dict[str, Any] = {}
        after = Snapshot(obj, self.names)
        currency_after = getattr(obj, "currency_id", None)
        for name in self.names:
            old, new = self.raw[name], after.raw[name]
            money_moved = (
                name in MONEY_FIELDS and self.currency != currency_after and old is not None
            )
            if old == new and not money_moved:
                continue
            out[name] = {
                "old": self._value(obj, name, old, self.currency, self.labels.get(name, {})),
                "new": self._value(obj, name, new, currency_after, after.labels.get(name, {})),
            }
        if self.custom is not None:
            now = dict(getattr(obj, "custom", None) or {})
            for key in sorted(set(self.custom) | set(now)):
                if self.custom.get(key) != now.get(key):
                    out[f"custom.{key}"] = {
                        "old": _plain(self.custom.get(key)),
                        "new": _plain(now.get(key)),
                    }
        return out


def snapshot(obj: models.Model, names: Iterable[str], *, custom: bool = False) -> Snapshot:
    return Snapshot(obj, names, custom=custom)


def values(obj: models.Model, names: Iterable[str]) -> dict[str, Any]:
    """{field: value} of `obj` now, in the log's format (facts of a create, a move…)."""
    shot = Snapshot(obj, names)
    currency = getattr(obj, "currency_id", None)
    return {
        n: shot._value(obj, n, shot.raw[n], currency, shot.labels.get(n, {})) for n in shot.names
    }


__all__ = [
    "Action",
    "Snapshot",
    "object_type_of",
    "plain",
    "record",
    "record_import",
    "record_many",
    "record_saved",
    "snapshot",
    "source",
    "values",
]


def record_saved(*, by: Any, obj: models.Model, shot: Snapshot, created: bool) -> AuditEntry | None:
    """The entry of a create-or-change service: `shot` was taken before the fields
    were set. A create records the values set; a change what changed (nothing: no entry)."""
    if created:
        return record(by=by, obj=obj, action=Action.CREATED, changes=values(obj, shot.names))
    return record(by=by, obj=obj, action=Action.UPDATED, changes=shot.changes(obj))
