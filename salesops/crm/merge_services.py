"""Merging duplicate leads, customers or contacts into one record.

The person picks, field by field, which record's value survives (`mergeable_fields`:
only fields they may see and change; the others keep the winner's value). Every record
that points at a loser — found from the model graph (`child_links`), so a foreign key
added later is moved too — is moved to the winner; the losers are soft-deleted with
`merged_into` pointing at the winner. One audit entry, on the winner, says what was
merged, what moved and which values changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.audit import services as audit
from salesops.crm.models import Contact, Customer, Lead
from salesops.crm.services import _refresh_customer_wins, _validate, check_picklists, writable
from salesops.customization import computed, policy, registry
from salesops.customization.registry import FieldSpec
from salesops.customization.services import clean_custom_values
from salesops.lib.services import NotVisible, ensure_can
from salesops.users.models import User

#: The object types that can be merged, and their models.
MERGEABLE: dict[str, type[models.Model]] = {"lead": Lead, "customer": Customer, "contact": Contact}
#: At most this many records in one merge (a page shows them side by side).
MOST = 10


@dataclass
class Merged:
    winner: Any
    losers: list[Any]
    #: {"app_label.model": rows moved} for every kind of record that pointed at a loser.
    moved: dict[str, int] = field(default_factory=dict)


def model_for(object_type: str) -> type[models.Model]:
    model = MERGEABLE.get(object_type)
    if model is None:
        raise ValidationError(_("Only leads, customers and contacts can be merged."))
    return model


def child_links(model: type[models.Model]) -> list[models.ForeignKey]:
    """Every foreign key (of any app's model, hidden and many-to-many tables too) that
    points at `model`: what a merge moves from the losers to the winner."""
    links = []
    for rel in model._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        fk: Any = rel.field  # type: ignore[union-attr]
        links.append(fk)
    return links


def mergeable_fields(user: Any, object_type: str) -> list[FieldSpec]:
    """The fields whose surviving value `user` picks: the built-in fields a general
    update lets them set (visible, editable, not the owner nor what has its own service),
    less many-to-many ones (their values are united), and the custom fields they may
    change. Everything else keeps the winner's value."""
    allowed = writable(user, object_type)
    return [
        f
        for f in policy.editable_fields(user, object_type)
        if (f.is_custom or f.key in allowed) and f.type != registry.MANY_REF
    ]


def value_of(obj: Any, f: FieldSpec) -> Any:
    if f.is_custom:
        return (obj.custom or {}).get(f.key)
    return getattr(obj, f.attname or f.key)


def load(*, by: User, object_type: str, ids: Sequence[Any]) -> list[Any]:
    """The records to merge, in the order given, each visible to `by` (else NotVisible,
    as if it did not exist); at least two and at most MOST distinct ones."""
    model: Any = model_for(object_type)
    try:
        wanted = list(dict.fromkeys(int(pk) for pk in ids))
    except (TypeError, ValueError):
        raise ValidationError(_("Choose the records to merge by their numbers.")) from None
    if len(wanted) < 2:
        raise ValidationError(_("Choose at least two records to merge."))
    if len(wanted) > MOST:
        raise ValidationError(_("Merge at most %(most)s records at a time.") % {"most": MOST})
    found = {r.pk: r for r in model.objects.visible_to(by).filter(pk__in=wanted)}
    if len(found) < len(wanted):
        raise NotVisible(_("This record does not exist or you may not see it."))
    return [found[pk] for pk in wanted]


@transaction.atomic
def merge_records(
    *,
    by: User,
    object_type: str,
    winner_id: Any,
    loser_ids: Iterable[Any],
    choices: Mapping[str, Any] | None = None,
) -> Merged:
    """Merge the losers into the winner. `choices` maps a field's key to the id of the
    record (winner or loser) whose value survives; fields not named keep the winner's.
    A field the person may not change (hidden from them, or set by its own service) is
    refused when named. Needs the right to edit the winner and to delete each loser."""
    model: Any = model_for(object_type)
    losers_wanted = [pk for pk in loser_ids if str(pk) != str(winner_id)]
    records = load(by=by, object_type=object_type, ids=[winner_id, *losers_wanted])
    ensure_can(by, records[0], "edit")
    for loser in records[1:]:
        ensure_can(by, loser, "delete")
    ids = [r.pk for r in records]
    # Lock in id order, so two merges of overlapping records cannot deadlock.
    locked = {r.pk: r for r in model.objects.select_for_update().filter(pk__in=sorted(ids))}
    if len(locked) < len(ids):
        raise NotVisible(_("This record does not exist or you may not see it."))
    winner, losers = locked[ids[0]], [locked[pk] for pk in ids[1:]]
    _check_pair(object_type, winner, losers)
    picked = _picked_values(by, object_type, winner, losers, choices or {})

    before = audit.snapshot(winner, [k for k in picked if not k.startswith("custom.")], custom=True)
    merged_from = [{"id": r.pk, "label": str(r)[:200]} for r in losers]
    primaries = (
        set(
            Contact.all_objects.filter(customer=winner, is_primary=True).values_list(
                "pk", flat=True
            )
        )
        if object_type == "customer"
        else set()
    )
    moved = _move_children(model, winner, losers)
    _unite_many(model, winner, losers)
    _apply(object_type, winner, picked)

    now = timezone.now()
    model.all_objects.filter(pk__in=[r.pk for r in losers]).update(
        deleted_at=now, merged_into_id=winner.pk, version=F("version") + 1
    )
    _after_merge(object_type, winner, losers, primaries)
    changes = before.changes(winner)
    changes["merged_from"] = merged_from
    changes["moved"] = moved
    audit.record(by=by, obj=winner, action=audit.Action.MERGED, changes=changes, at=now)
    return Merged(winner=winner, losers=losers, moved=moved)


def _check_pair(object_type: str, winner: Any, losers: list[Any]) -> None:
    if object_type == "contact" and any(r.customer_id != winner.customer_id for r in losers):
        raise ValidationError(
            _("Only contacts of the same customer can be merged; move them to one customer first.")
        )
    if object_type == "lead":
        converted = Lead.Status.CONVERTED
        if winner.status != converted and any(r.status == converted for r in losers):
            raise ValidationError(
                _(
                    "Keep the converted lead: a converted lead can only be merged into another converted lead."
                )
            )


def _picked_values(
    by: User, object_type: str, winner: Any, losers: list[Any], choices: Mapping[str, Any]
) -> dict[str, Any]:
    """{field key (custom ones as "custom.<key>"): value} of the fields whose value comes
    from a loser."""
    fields = {f.key: f for f in mergeable_fields(by, object_type)}
    if object_type == "lead" and winner.status == Lead.Status.CONVERTED:
        fields.pop("status", None)
    policy.refuse_hidden_writes(by, object_type, set(choices))
    unknown = sorted(set(choices) - set(fields))
    if unknown:
        raise ValidationError(
            _("These fields cannot be chosen here: %(fields)s.") % {"fields": ", ".join(unknown)}
        )
    by_id = {str(r.pk): r for r in [winner, *losers]}
    picked: dict[str, Any] = {}
    for key, source_id in choices.items():
        source = by_id.get(str(source_id))
        if source is None:
            raise ValidationError(
                _("Take %(field)s from one of the records being merged.")
                % {"field": fields[key].title}
            )
        if source is winner:
            continue
        f = fields[key]
        picked[f"custom.{key}" if f.is_custom else key] = value_of(source, f)
    if object_type == "lead" and picked.get("status") == Lead.Status.CONVERTED:
        raise ValidationError({"status": _("Convert the lead to mark it converted.")})
    return picked


def _apply(object_type: str, winner: Any, picked: dict[str, Any]) -> None:
    plain = {k: v for k, v in picked.items() if not k.startswith("custom.")}
    custom = {k[7:]: v for k, v in picked.items() if k.startswith("custom.")}
    check_picklists(object_type, plain)
    for key, value in plain.items():
        setattr(winner, winner._meta.get_field(key).attname, value)
    if custom:
        winner.custom = clean_custom_values(
            object_type=object_type, values=custom, existing=winner.custom
        )
    _validate(winner)
    winner.version += 1
    winner.save()


def _move_children(model: Any, winner: Any, losers: list[Any]) -> dict[str, int]:
    """Point every row that points at a loser at the winner (soft-deleted rows too, so
    that restoring them later finds them under the winner)."""
    loser_ids = [r.pk for r in losers]
    moved: dict[str, int] = {}
    for fk in child_links(model):
        child: Any = fk.model
        rows = child._base_manager.filter(**{f"{fk.name}__in": loser_ids})
        if child._meta.auto_created:
            # A many-to-many table: a link the winner already has is dropped, not doubled.
            other = next(f for f in child._meta.fields if f.is_relation and f is not fk)
            held = child._base_manager.filter(**{fk.name: winner.pk}).values(other.attname)
            rows.filter(**{f"{other.attname}__in": held}).delete()
        if fk.one_to_one and child._base_manager.filter(**{fk.name: winner.pk}).exists():
            raise ValidationError(
                _(
                    "Two of these records each have a record only one may have (%(what)s); delete one of them first."
                )
                % {"what": child._meta.verbose_name}
            )
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            continue
        update: dict[str, Any] = {fk.attname: winner.pk}
        if any(f.name == "version" for f in child._meta.concrete_fields):
            update["version"] = F("version") + 1
        child._base_manager.filter(pk__in=ids).update(**update)
        if not child._meta.auto_created:
            moved[child._meta.label_lower] = moved.get(child._meta.label_lower, 0) + len(ids)
        computed.refresh(child, ids)
    return moved


def _unite_many(model: Any, winner: Any, losers: list[Any]) -> None:
    """Many-to-many fields of the model itself (a customer's tags): the winner gets the
    union."""
    for m2m in model._meta.many_to_many:
        through: Any = m2m.remote_field.through
        source = m2m.m2m_field_name()
        target = m2m.m2m_reverse_field_name()
        held = set(
            through.objects.filter(**{source: winner.pk}).values_list(f"{target}_id", flat=True)
        )
        extra = (
            through.objects.filter(**{f"{source}__in": [r.pk for r in losers]})
            .exclude(**{f"{target}_id__in": held})
            .values_list(f"{target}_id", flat=True)
            .distinct()
        )
        getattr(winner, m2m.name).add(*list(extra))


def _after_merge(object_type: str, winner: Any, losers: list[Any], primaries: set[int]) -> None:
    """What the winner's own bookkeeping reads from the records that moved to it.
    `primaries`: the winner's primary contacts before the merge."""
    if object_type == "customer":
        # Contacts follow their customer's owner; the winner keeps one primary contact.
        contacts = Contact.all_objects.filter(customer=winner)
        contacts.exclude(owner_id=winner.owner_id).update(
            owner_id=winner.owner_id, version=F("version") + 1
        )
        keep = min(primaries) if primaries else None
        if keep is None:
            keep = (
                contacts.filter(is_primary=True).order_by("pk").values_list("pk", flat=True).first()
            )
        if keep is not None:
            contacts.filter(is_primary=True).exclude(pk=keep).update(
                is_primary=False, version=F("version") + 1
            )
        latest = Customer.all_objects.filter(pk__in=[winner.pk, *[r.pk for r in losers]]).aggregate(
            at=Max("last_followup_at")
        )["at"]
        Customer.all_objects.filter(pk=winner.pk).update(last_followup_at=latest)
        _refresh_customer_wins(winner.pk)
        winner.refresh_from_db()
    computed.refresh(type(winner), [winner.pk])
