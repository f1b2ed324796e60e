"""Writes on custom objects: their definitions (administrators) and their records
(anyone whose role allows it, within their data scope). Pages, the API and imports
call these, so rights, data scopes, required and validated fields and the audit log
hold whichever way a change arrives."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from salesops.audit import services as audit
from salesops.crm.models import Contact, Customer, Deal
from salesops.crm.services import _check_owner
from salesops.customization import policy, registry
from salesops.customization.services import clean_custom_values
from salesops.lib.services import NotVisible, ensure_can, ensure_right
from salesops.lib.updates import check_version
from salesops.objects import indexes
from salesops.objects.models import LINKABLE, CustomObject, CustomRecord
from salesops.users.admin_services import is_admin
from salesops.users.models import Role, User

#: 2–20 characters: custom fields name their object in a 20-character column
#: (`CustomField.object_type`), as reports do.
_KEY = re.compile(r"^[a-z][a-z0-9_]{1,19}$")
#: Names a custom object may not take: the built-in object types and the URL words.
RESERVED = {"new", "objects", "custom", "record", "records", "all"}
LINK_MODELS: dict[str, Any] = {"customer": Customer, "contact": Contact, "deal": Deal}


def _ensure_admin(by: User) -> None:
    if not is_admin(by):
        raise PermissionDenied(_("Only an administrator may define custom objects."))


def _clean_definition(
    *, label: str, plural: str, title_label: str, links: list[str]
) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    data = {
        "label": (label or "").strip(),
        "plural": (plural or "").strip() or (label or "").strip(),
        "title_label": (title_label or "").strip(),
        "links": [link for link in LINKABLE if link in set(links or [])],
    }
    for name in ("label", "title_label"):
        if not data[name]:
            errors[name] = _("This field is required.")
        elif len(data[name]) > 100:
            errors[name] = _("Use at most 100 characters.")
    unknown = sorted(set(links or []) - set(LINKABLE))
    if unknown:
        errors["links"] = _("Records can link to customers, contacts or deals only.")
    if errors:
        raise ValidationError(errors)
    return data


@transaction.atomic
def define_object(
    *,
    by: User,
    key: str,
    label: str,
    plural: str = "",
    title_label: str,
    links: list[str] | None = None,
) -> CustomObject:
    """A new custom object. Every role gets on it the rights it has on customers (an
    administrator changes them on the role page afterwards)."""
    _ensure_admin(by)
    key = (key or "").strip()
    if not _KEY.match(key):
        raise ValidationError(
            {
                "key": _(
                    "Use 2–20 lower-case letters, digits and underscores, starting with a "
                    "letter, e.g. site_visit."
                )
            }
        )
    if key in registry.builtin_types() or key in RESERVED:
        raise ValidationError(
            {"key": _("“%(key)s” is a built-in name; choose another.") % {"key": key}}
        )
    if CustomObject.objects.filter(key=key).exists():
        raise ValidationError(
            {"key": _("There is already a custom object “%(key)s”.") % {"key": key}}
        )
    data = _clean_definition(label=label, plural=plural, title_label=title_label, links=links or [])
    obj = CustomObject.objects.create(key=key, **data)
    for role in Role.objects.select_for_update():
        rights = dict(role.rights or {})
        if key not in rights:
            rights[key] = list(rights.get("customer", []))
            Role.objects.filter(pk=role.pk).update(rights=rights)
    audit.record(by=by, obj=obj, action=audit.Action.CREATED, changes=audit.values(obj, data))
    return obj


@transaction.atomic
def update_object(
    *,
    by: User,
    obj: CustomObject,
    label: str,
    plural: str = "",
    title_label: str,
    links: list[str] | None = None,
    active: bool = True,
) -> CustomObject:
    """Rename a custom object, change its links, or retire it (`active=False`: its
    records are kept and come back when it is made active again). A link that records
    use cannot be removed."""
    _ensure_admin(by)
    obj = CustomObject.objects.select_for_update().get(pk=obj.pk)
    data = _clean_definition(label=label, plural=plural, title_label=title_label, links=links or [])
    for link in set(obj.links or []) - set(data["links"]):
        used = CustomRecord.all_objects.filter(kind=obj, **{f"{link}__isnull": False})
        if used.exists():
            raise ValidationError(
                {
                    "links": _("Records still link to a %(what)s; unlink them first.")
                    % {"what": registry.get(link).label}
                }
            )
    before = audit.snapshot(obj, [*data, "active"])
    for name, value in {**data, "active": bool(active)}.items():
        setattr(obj, name, value)
    obj.save()
    audit.record(by=by, obj=obj, action=audit.Action.UPDATED, changes=before.changes(obj))
    return obj


# -- records ------------------------------------------------------------------------------


def spec_of(key: str) -> registry.ObjectSpec:
    spec = registry.find(key)
    if spec is None or not spec.is_custom_object:
        raise NotVisible(_("There is no such kind of record."))
    return spec


def _owner(by: User, owner: Any) -> User:
    """The record's owner: the writer by default; else an active user in the writer's
    data scope (the crm services' rule)."""
    if owner is None or owner == "me":
        return by
    if not isinstance(owner, User):
        pk = str(owner)
        owner = User.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
    if owner is None:
        raise ValidationError({"owner": _("Choose an active user.")})
    _check_owner(by=by, owner=owner)
    return owner


def _links(by: User, spec: registry.ObjectSpec, data: dict[str, Any]) -> dict[str, Any]:
    """The linked records named in `data`, each one the writer may see."""
    out: dict[str, Any] = {}
    for link in LINKABLE:
        if link not in data:
            continue
        value = data[link]
        if link not in spec.links:
            raise ValidationError({link: _("This kind of record does not link to that.")})
        if value in (None, ""):
            out[link] = None
            continue
        model = LINK_MODELS[link]
        pk = value.pk if hasattr(value, "pk") else value
        try:
            found = model.objects.visible_to(by).filter(pk=int(pk)).first()
        except (TypeError, ValueError):
            found = None
        if found is None:
            raise ValidationError({link: _("Choose a record you can see.")})
        out[link] = found
    return out


def _title(raw: Any, spec: registry.ObjectSpec) -> str:
    title = str(raw or "").strip()
    label = spec.field("title").title  # type: ignore[union-attr]
    if not title:
        raise ValidationError({"title": _("%(label)s is required.") % {"label": label}})
    if len(title) > 200:
        raise ValidationError(
            {
                "title": _("%(label)s may be at most %(n)s characters long.")
                % {"label": label, "n": 200}
            }
        )
    return title


WRITABLE = {"title", "owner", *LINKABLE}


@transaction.atomic
def create_record(
    *,
    by: User,
    object_type: str,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
) -> CustomRecord:
    """A new record of custom object `object_type` owned by `data["owner"]` (default:
    the writer)."""
    spec = spec_of(object_type)
    ensure_right(by, object_type, "create")
    data = dict(data)
    policy.refuse_hidden_writes(by, object_type, set(data) | set(custom or {}))
    unknown = set(data) - WRITABLE
    if unknown:
        raise ValidationError(
            _("These fields cannot be set: %(f)s.") % {"f": ", ".join(sorted(unknown))}
        )
    assert spec.custom_object_id is not None
    record = CustomRecord(
        kind_id=spec.custom_object_id,
        title=_title(data.get("title"), spec),
        owner=_owner(by, data.get("owner")),
        **_links(by, spec, data),
    )
    record.custom = clean_custom_values(object_type=object_type, values=custom)
    record.full_clean(validate_unique=False, validate_constraints=False)
    record.save()
    audit.record(by=by, obj=record, action=audit.Action.CREATED)
    return record


@transaction.atomic
def update_record(
    *,
    by: User,
    record: CustomRecord,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    version: int | None = None,
) -> CustomRecord:
    """Change a record's title, links, owner or field values. `version`, when given,
    must be the version the writer read (else Conflict)."""
    spec = spec_of(record.kind.key)
    ensure_can(by, record, "edit")
    record = CustomRecord.objects.select_for_update().select_related("kind").get(pk=record.pk)
    check_version(record, version)
    data = dict(data)
    policy.refuse_hidden_writes(by, spec.key, set(data) | set(custom or {}))
    unknown = set(data) - WRITABLE
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    before = audit.snapshot(record, list(data), custom=custom is not None)
    if "title" in data:
        record.title = _title(data["title"], spec)
    if "owner" in data:
        record.owner = _owner(by, data["owner"])
    for link, value in _links(by, spec, data).items():
        setattr(record, link, value)
    if custom is not None:
        record.custom = clean_custom_values(
            object_type=spec.key, values=custom, existing=record.custom
        )
    record.full_clean(validate_unique=False, validate_constraints=False)
    record.version += 1
    record.save()
    audit.record(by=by, obj=record, action=audit.Action.UPDATED, changes=before.changes(record))
    return record


@transaction.atomic
def delete_record(*, by: User, record: CustomRecord) -> None:
    """Move the record to the recycle bin (restorable)."""
    ensure_can(by, record, "delete")
    record.soft_delete(by=by)
    audit.record(by=by, obj=record, action=audit.Action.DELETED)


@transaction.atomic
def restore_record(*, by: User, record: CustomRecord) -> CustomRecord:
    ensure_can(by, record, "restore")
    record.restore()
    audit.record(by=by, obj=record, action=audit.Action.RESTORED)
    return record


def ensure_indexes(object_type: str) -> list[str]:
    """Create the expression indexes the custom object's filterable fields need."""
    return indexes.ensure(spec_of(object_type))
