"""The recycle bin (回收站): which deleted records a person sees there, restoring them,
and the purge that removes them for good once the organisation's retention has passed.

Every object type of the registry with a recycle bin is one whose records are deleted
softly and scoped by `visible_to` (built-in and custom objects alike). A person sees the
records they deleted themselves; an organisation administrator sees everyone's. Records
deleted together with their customer are not listed on their own: restoring the
customer brings them back (`crm.services.restore_customer`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError, Q, RestrictedError
from django.utils import timezone

from salesops.audit import services as audit
from salesops.crm import services as crm
from salesops.customization import registry
from salesops.customization.registry import ObjectSpec
from salesops.lib.models import ScopedQuerySet
from salesops.objects import services as objects
from salesops.org.models import Organisation
from salesops.users.admin_services import is_admin

logger = logging.getLogger(__name__)

#: Rows the purge deletes in one statement (a refused batch is retried row by row).
PURGE_BATCH = 500


def has_bin(spec: ObjectSpec) -> bool:
    """Whether `spec`'s records go to the recycle bin: deleted softly, with data scopes."""
    manager = getattr(spec.model, "all_objects", None)
    return manager is not None and isinstance(manager.none(), ScopedQuerySet)


def bins() -> list[ObjectSpec]:
    """The object types with a recycle bin, in the registry's order."""
    return [s for s in registry.objects() if has_bin(s)]


def _has_customer(model: Any) -> bool:
    return any(f.name == "customer" and f.is_relation for f in model._meta.concrete_fields)


def deleted_rows(user: Any, spec: ObjectSpec) -> Any:
    """The deleted records of `spec` in `user`'s recycle bin, newest first: within their
    data scope, and (unless they administer the organisation) deleted by them."""
    model: Any = spec.model
    qs = model.all_objects.deleted().visible_to(user)
    if spec.custom_object_id is not None:
        qs = qs.filter(kind_id=spec.custom_object_id)
    if not is_admin(user):
        qs = qs.filter(deleted_by=user)
    if _has_customer(model):
        qs = qs.filter(Q(customer__isnull=True) | Q(customer__deleted_at__isnull=True))
    return qs.order_by("-deleted_at", "-id")


def restore(*, user: Any, spec: ObjectSpec, pk: int) -> Any:
    """Restore record `pk` of `spec` from `user`'s recycle bin (with the children deleted
    with it); NotVisible when it is not in their bin."""
    from salesops.lib.services import NotVisible

    obj = deleted_rows(user, spec).filter(pk=pk).first()
    if obj is None:
        raise NotVisible("not in the recycle bin")
    if spec.is_custom_object:
        objects.restore_record(by=user, record=obj)
    else:
        crm.restore_record(obj=obj, by=user)
    return obj


def retention_days() -> int:
    return Organisation.get().recycle_retention_days


def purge_on(deleted_at: dt.datetime) -> dt.datetime:
    """When a record deleted at `deleted_at` is removed for good."""
    return deleted_at + dt.timedelta(days=retention_days())


def _purge_model(model: Any, cutoff: dt.datetime) -> tuple[int, int]:
    """Delete for good `model`'s rows deleted before `cutoff`: (purged, kept because a
    live record still refers to them)."""
    purged = kept = 0
    pks = list(model.all_objects.deleted_before(cutoff).values_list("pk", flat=True))
    for start in range(0, len(pks), PURGE_BATCH):
        rows = list(model.all_objects.filter(pk__in=pks[start : start + PURGE_BATCH]))
        try:
            with transaction.atomic():
                model.all_objects.filter(pk__in=[r.pk for r in rows]).delete()
                audit.record_many(by=None, objs=rows, action=audit.Action.PURGED)
            purged += len(rows)
            continue
        except (ProtectedError, RestrictedError):
            pass
        for row in rows:
            try:
                with transaction.atomic():
                    model.all_objects.filter(pk=row.pk).delete()
                    audit.record(by=None, obj=row, action=audit.Action.PURGED)
                purged += 1
            except (ProtectedError, RestrictedError):
                kept += 1
    return purged, kept


def purge(*, now: dt.datetime | None = None) -> int:
    """Delete for good every record deleted longer ago than the retention, each with
    an audit entry; how many. A record something live still refers to (a deleted
    product on a live deal's line) stays in the bin, restorable, until that goes.
    Children go before their parents: a pass repeats while it removes anything."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=retention_days())
    models = list(dict.fromkeys(s.model for s in bins()))
    total = 0
    for _pass in range(len(models)):
        done = kept = 0
        for model in reversed(models):
            purged, refused = _purge_model(model, cutoff)
            done += purged
            kept += refused
        total += done
        if not done or not kept:
            break
    if total:
        logger.info("Purged %s records deleted before %s", total, cutoff)
    return total
