"""Administrators' writes on customisation: custom-field definitions (create, rename,
reorder, retire and restore, their options, default and help), picklists and
validation rules.

Same contract as the other services: keyword-only, atomic, administrators only, and a
refusal (ValidationError with a message per field, PermissionDenied) writes nothing.
Every change writes its audit entry. Layouts (how record pages and forms group the
fields, `layouts`) are saved here too.

Two rules keep stored data meaningful:
- a custom field's key, object and type never change, and its key may not be the name
  of a built-in field of its object (`registry.builtin_keys`);
- an option's value (custom-field option or picklist option) never changes and is never
  removed once created: it is relabelled, reordered or deactivated instead. Retiring a
  field keeps every record's value; restoring it shows them again.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from salesops.audit import services as audit
from salesops.customization import computed, layouts, registry, rules
from salesops.customization.expressions import ExpressionError, compile_expression
from salesops.customization.models import (
    CustomField,
    Layout,
    Picklist,
    PicklistOption,
    ValidationRule,
)
from salesops.customization.services import _clean_one
from salesops.lib.updates import apply, check_fields
from salesops.users import admin_services as users_admin
from salesops.users.admin_services import ensure_admin
from salesops.users.models import OBJECT_TYPES, Role, User

KEY = re.compile(r"[a-z][a-z0-9_]*")
OPTION_MAX = 100
SELECTS = (CustomField.Type.SELECT, CustomField.Type.MULTI_SELECT)
#: How a formula or roll-up computes its values.
COMPUTING = (
    "expression",
    "result_type",
    "rollup_object",
    "rollup_link",
    "rollup_aggregate",
    "rollup_field",
    "rollup_condition",
)
#: What may change on a definition; key, object type and field type may not.
FIELD_EDITABLE = {
    "label",
    "required",
    "options",
    "order",
    "active",
    "help_text",
    "default",
    *COMPUTING,
}


def _finish(obj: Any) -> None:
    # A custom field's object (and a roll-up's, and a layout's) may be a custom object,
    # which the model's choices (the built-in types) do not list: the services check
    # them (`field_object_types`, `computed.check_rollup`, `_layout_type`).
    exclude: list[str] | None = None
    if isinstance(obj, CustomField):
        exclude = ["object_type", "rollup_object"]
    elif isinstance(obj, Layout):
        exclude = ["object_type"]
    obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


def field_object_types() -> set[str]:
    """The object types custom fields may be added to: the built-in ones and the
    active custom objects."""
    custom = {k for k, spec in registry.dynamic().items() if spec.is_custom_object}
    return {t for t, _label in OBJECT_TYPES} | custom


def _check_key(object_type: str, key: str) -> None:
    if not KEY.fullmatch(key or "") or len(key) > 50:
        raise ValidationError(
            {"key": _("Use lower-case letters, digits and underscores, starting with a letter.")}
        )
    if key in registry.builtin_keys(object_type):
        raise ValidationError(
            {
                "key": _(
                    "“%(key)s” is the name of a built-in field of this kind of record; "
                    "choose another key."
                )
                % {"key": key}
            }
        )


def _options(field_type: str, raw: Any, *, before: list[dict[str, Any]] | None = None) -> list:
    """Options as stored: [{"value", "label", "active"}], in order. Values are unique
    and, once created, are kept (`before`): an option is deactivated, not removed."""
    if field_type not in SELECTS:
        if raw:
            raise ValidationError({"options": _("Only select fields have options.")})
        return []
    if not isinstance(raw, list):
        raise ValidationError({"options": _("Give the options as a list of {value, label}.")})
    out: list[dict[str, Any]] = []
    for o in raw:
        if not isinstance(o, dict):
            raise ValidationError({"options": _("Give the options as a list of {value, label}.")})
        value = str(o.get("value", "")).strip()
        label = str(o.get("label") or value).strip()
        if not value:
            raise ValidationError({"options": _("Every option needs a value.")})
        if len(value) > OPTION_MAX or len(label) > OPTION_MAX:
            raise ValidationError(
                {"options": _("Option values and labels may be at most 100 characters long.")}
            )
        out.append({"value": value, "label": label, "active": o.get("active", True) is not False})
    values = [o["value"] for o in out]
    if len(set(values)) != len(values):
        raise ValidationError({"options": _("Two options have the same value.")})
    missing = [str(o["value"]) for o in before or [] if str(o["value"]) not in set(values)]
    if missing:
        raise ValidationError(
            {
                "options": _(
                    "An option's value cannot change or be removed once created "
                    "(%(values)s); deactivate the option instead."
                )
                % {"values": ", ".join(missing)}
            }
        )
    if not any(o["active"] for o in out):
        raise ValidationError({"options": _("A select field needs at least one active option.")})
    return out


def _default(field: CustomField, raw: Any) -> Any:
    """The default as it will be stored, checked by the rules of the field's values."""
    if raw is None or raw == "" or raw == []:
        return None
    if field.field_type == CustomField.Type.MULTI_SELECT and isinstance(raw, str):
        raw = [v.strip() for v in raw.split(",") if v.strip()]
    try:
        return _clean_one(field, raw)
    except ValidationError as e:
        raise ValidationError({"default": e.messages}) from None


def _computing(field: CustomField) -> None:
    """Check how a formula or roll-up computes (refusing, with the position of the error
    or the name that is unknown, what cannot be used) and set its result type; other
    fields have none of these settings."""
    if not field.computed:
        given = [name for name in COMPUTING if getattr(field, name)]
        if given:
            raise ValidationError(
                {given[0]: _("Only formula and roll-up fields have this setting.")}
            )
        return
    if field.required or field.default is not None:
        raise ValidationError(
            {
                "required": _(
                    "A formula or roll-up is computed: it cannot be required or have a default."
                )
            }
        )
    if field.field_type == CustomField.Type.FORMULA:
        for name in COMPUTING[2:]:
            setattr(field, name, "")
        field.expression = (field.expression or "").strip()
        try:
            computed.check_formula(field.object_type, field.key, field.expression)
        except ExpressionError as e:
            raise ValidationError({"expression": e.messages}) from None
        if field.result_type not in CustomField.ResultType.values:
            raise ValidationError({"result_type": _("Choose the type of the formula's value.")})
        return
    field.expression = ""
    field.rollup_condition = (field.rollup_condition or "").strip()
    field.result_type, _condition = computed.check_rollup(
        object_type=field.object_type,
        child=field.rollup_object,
        link=field.rollup_link,
        aggregate=field.rollup_aggregate,
        field="" if field.rollup_aggregate == CustomField.Aggregate.COUNT else field.rollup_field,
        condition=field.rollup_condition,
    )
    if field.rollup_aggregate == CustomField.Aggregate.COUNT:
        field.rollup_field = ""


def _next_order(object_type: str) -> int:
    top = CustomField.objects.filter(object_type=object_type).aggregate(m=Max("order"))["m"]
    return (top or 0) + 1


# -- custom fields ---------------------------------------------------------------------


@transaction.atomic
def create_custom_field(
    *,
    by: User,
    object_type: str,
    key: str,
    label: str,
    field_type: str,
    required: bool = False,
    options: list[dict[str, Any]] | None = None,
    order: int | None = None,
    active: bool = True,
    help_text: str = "",
    default: Any = None,
    expression: str = "",
    result_type: str = "",
    rollup_object: str = "",
    rollup_link: str = "",
    rollup_aggregate: str = "",
    rollup_field: str = "",
    rollup_condition: str = "",
) -> CustomField:
    """A custom field on `object_type` (any of `users.models.OBJECT_TYPES` or an active
    custom object's key), placed last unless `order` is given. A formula (`expression`,
    `result_type`) or roll-up (`rollup_*`) is computed for every record at once."""
    ensure_admin(by)
    if object_type not in field_object_types():
        raise ValidationError({"object_type": _("Choose the kind of record the field is on.")})
    if field_type not in CustomField.Type.values:
        raise ValidationError({"field_type": _("Choose the type of the field.")})
    _check_key(object_type, key)
    if CustomField.objects.filter(object_type=object_type, key=key).exists():
        raise ValidationError(
            {
                "key": _(
                    "This kind of record already has a field “%(k)s” (perhaps retired: "
                    "restore it instead)."
                )
                % {"k": key}
            }
        )
    if not (label or "").strip():
        raise ValidationError({"label": _("Give the field a label.")})
    field = CustomField(
        object_type=object_type,
        key=key,
        label=label.strip(),
        field_type=field_type,
        required=required,
        options=_options(field_type, options or []),
        order=_next_order(object_type) if order is None else order,
        active=active,
        help_text=help_text,
        expression=expression or "",
        result_type=result_type or "",
        rollup_object=rollup_object or "",
        rollup_link=rollup_link or "",
        rollup_aggregate=rollup_aggregate or "",
        rollup_field=rollup_field or "",
        rollup_condition=rollup_condition or "",
    )
    if field.computed and not registry.get(object_type).customisable:
        raise ValidationError({"object_type": _("This kind of record has no custom fields.")})
    field.default = None if field.computed else _default(field, default)
    _computing(field)
    _finish(field)
    field.save()
    audit.record(
        by=by,
        obj=field,
        action=audit.Action.CREATED,
        changes=audit.values(
            field,
            ["object_type", "key", "label", "field_type", "default"]
            + [name for name in COMPUTING if getattr(field, name)],
        ),
    )
    if field.computed and field.active:
        computed.recompute_field(field)
    return field


@transaction.atomic
def update_custom_field(*, field: CustomField, by: User, data: dict[str, Any]) -> CustomField:
    """Label, options, order, required, active, help and default may change; the key,
    object and type may not (stored values and integrations depend on them)."""
    ensure_admin(by)
    field = CustomField.objects.select_for_update().get(pk=field.pk)
    check_fields(data, FIELD_EDITABLE)
    data = dict(data)
    if "label" in data and not str(data["label"] or "").strip():
        raise ValidationError({"label": _("Give the field a label.")})
    if "options" in data:
        data["options"] = _options(field.field_type, data["options"], before=field.all_options())
    if data.get("active") and not field.active:
        _check_key(field.object_type, field.key)
    for name in COMPUTING:
        if name in data:
            data[name] = str(data[name] or "")
    before = {name: getattr(field, name) for name in (*COMPUTING, "active")}
    shot = audit.snapshot(field, data)
    apply(field, {k: v for k, v in data.items() if k != "default"})
    if field.computed:
        if data.get("default") not in (None, "", []):
            raise ValidationError({"default": _("A formula or roll-up has no default value.")})
    elif "default" in data:
        field.default = _default(field, data["default"])
    elif "options" in data and field.default is not None:
        field.default = _default(field, field.default)
    if field.computed or any(data.get(name) for name in COMPUTING):
        _computing(field)
    _finish(field)
    field.save()
    audit.record(by=by, obj=field, action=audit.Action.UPDATED, changes=shot.changes(field))
    after = {name: getattr(field, name) for name in (*COMPUTING, "active")}
    if field.computed and field.active and after != before:
        computed.recompute_field(field)
    return field


def retire_custom_field(*, field: CustomField, by: User) -> CustomField:
    """Hide the field everywhere; the values stay in every record's JSON."""
    return update_custom_field(field=field, by=by, data={"active": False})


def restore_custom_field(*, field: CustomField, by: User) -> CustomField:
    """Bring a retired field back with the values records kept. Refused when a
    built-in field has taken its name meanwhile."""
    return update_custom_field(field=field, by=by, data={"active": True})


def _swap(rows: list[Any], index: int, step: int) -> list[Any]:
    other = index + step
    if 0 <= index < len(rows) and 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]
    return rows


@transaction.atomic
def move_custom_field(*, field: CustomField, by: User, step: int) -> CustomField:
    """Move the field one place up (`step=-1`) or down (`step=1`) among the fields of
    its object; the object's fields are numbered 1, 2, 3… afterwards."""
    ensure_admin(by)
    rows = list(
        CustomField.objects.select_for_update()
        .filter(object_type=field.object_type)
        .order_by("order", "key")
    )
    _renumber(rows, field.pk, step, by=by)
    return CustomField.objects.get(pk=field.pk)


def _renumber(rows: list[Any], pk: int, step: int, *, by: User) -> None:
    """Move row `pk` of the ordered `rows` one place (step -1: up, 1: down), number
    them 1, 2, 3… and audit each row whose number changed."""
    index = next(i for i, row in enumerate(rows) if row.pk == pk)
    for number, row in enumerate(_swap(rows, index, 1 if step > 0 else -1), start=1):
        if row.order != number:
            old = row.order
            row.order = number
            row.save(update_fields=["order"])
            audit.record(
                by=by,
                obj=row,
                action=audit.Action.UPDATED,
                changes={"order": {"old": old, "new": number}},
            )


# -- a custom field's options ------------------------------------------------------------


@transaction.atomic
def add_option(*, field: CustomField, by: User, value: str, label: str = "") -> CustomField:
    """A new option at the end of a select field's options."""
    ensure_admin(by)
    field = CustomField.objects.select_for_update().get(pk=field.pk)
    options = [*field.all_options(), {"value": value, "label": label or value}]
    return update_custom_field(field=field, by=by, data={"options": options})


@transaction.atomic
def change_option(
    *,
    field: CustomField,
    by: User,
    value: str,
    label: str | None = None,
    active: bool | None = None,
    step: int = 0,
) -> CustomField:
    """Relabel, (de)activate or move (`step` -1/1) the option `value`; its value stays."""
    ensure_admin(by)
    field = CustomField.objects.select_for_update().get(pk=field.pk)
    options = [dict(o) for o in field.all_options()]
    index = next((i for i, o in enumerate(options) if str(o["value"]) == str(value)), None)
    if index is None:
        raise ValidationError({"options": _("There is no such option.")})
    if label is not None:
        options[index]["label"] = label.strip() or str(value)
    if active is not None:
        options[index]["active"] = active
    if step:
        _swap(options, index, 1 if step > 0 else -1)
    return update_custom_field(field=field, by=by, data={"options": options})


# -- picklists ---------------------------------------------------------------------------


@transaction.atomic
def save_picklist(*, by: User, data: dict[str, Any], picklist: Picklist | None = None) -> Picklist:
    """Create a picklist (key and name) or rename one; a key never changes."""
    ensure_admin(by)
    data = dict(data)
    if picklist is not None:
        data.pop("key", None)
    check_fields(data, {"key", "name"} if picklist is None else {"name"})
    target = (
        Picklist() if picklist is None else Picklist.objects.select_for_update().get(pk=picklist.pk)
    )
    shot = audit.snapshot(target, ["name"])
    apply(target, data)
    if not (target.name or "").strip():
        raise ValidationError({"name": _("Give the list a name.")})
    if picklist is None:
        if not KEY.fullmatch(target.key or ""):
            raise ValidationError(
                {
                    "key": _(
                        "Use lower-case letters, digits and underscores, starting with a letter."
                    )
                }
            )
        if Picklist.objects.filter(key=target.key).exists():
            raise ValidationError({"key": _("There is already a list with this key.")})
    _finish(target)
    target.save()
    if picklist is None:
        audit.record(
            by=by,
            obj=target,
            action=audit.Action.CREATED,
            changes=audit.values(target, ["key", "name"]),
        )
    else:
        audit.record(by=by, obj=target, action=audit.Action.UPDATED, changes=shot.changes(target))
    return target


@transaction.atomic
def add_picklist_option(
    *, by: User, picklist: Picklist, value: str, label: str = ""
) -> PicklistOption:
    """A new option at the end of the list."""
    ensure_admin(by)
    picklist = Picklist.objects.select_for_update().get(pk=picklist.pk)
    value = (value or "").strip()
    if not value:
        raise ValidationError({"value": _("Every option needs a value.")})
    if picklist.options.filter(value=value).exists():
        raise ValidationError(
            {"value": _("This list already has the option “%(v)s”.") % {"v": value}}
        )
    top = picklist.options.aggregate(m=Max("order"))["m"]
    option = PicklistOption(
        picklist=picklist, value=value, label=(label or value).strip(), order=(top or 0) + 1
    )
    _finish(option)
    option.save()
    audit.record(
        by=by,
        obj=option,
        action=audit.Action.CREATED,
        changes=audit.values(option, ["picklist", "value", "label"]),
    )
    return option


@transaction.atomic
def update_picklist_option(
    *, by: User, option: PicklistOption, data: dict[str, Any]
) -> PicklistOption:
    """Relabel or (de)activate an option; its value never changes."""
    ensure_admin(by)
    option = PicklistOption.objects.select_for_update().get(pk=option.pk)
    check_fields(data, {"label", "active"})
    shot = audit.snapshot(option, data)
    apply(option, data)
    if not (option.label or "").strip():
        option.label = option.value
    _finish(option)
    option.save()
    audit.record(by=by, obj=option, action=audit.Action.UPDATED, changes=shot.changes(option))
    return option


@transaction.atomic
def move_picklist_option(*, by: User, option: PicklistOption, step: int) -> PicklistOption:
    """Move an option one place up (-1) or down (1); the list is numbered 1, 2, 3…"""
    ensure_admin(by)
    rows = list(
        PicklistOption.objects.select_for_update()
        .filter(picklist_id=option.picklist_id)
        .order_by("order", "value")
    )
    _renumber(rows, option.pk, step, by=by)
    return PicklistOption.objects.get(pk=option.pk)


# -- roles' hidden fields ----------------------------------------------------------------


def hideable_fields(object_type: str) -> list[registry.FieldSpec]:
    """The fields of `object_type` a role may hide: its own (built-in and active
    custom), not those read through another record (they follow that record's)."""
    return registry.get(object_type).hideable()


def hidden_field_types() -> list[registry.ObjectSpec]:
    return [s for s in registry.objects() if s.field_security]


def merge_hidden_fields(
    current: dict[str, list[str]], chosen: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The role's hidden fields after choosing `chosen` among the fields offered now.
    Keys that are not offered (a retired custom field's) are kept: restoring the field
    hides it again. Unknown object types and keys in `chosen` are refused."""
    out: dict[str, list[str]] = {}
    types = {s.key for s in hidden_field_types()}
    for object_type in set(current) | set(chosen):
        if object_type not in types:
            if chosen.get(object_type):
                raise ValidationError(
                    {"hidden_fields": _("Unknown object type “%(t)s”.") % {"t": object_type}}
                )
            kept = list(current.get(object_type, []))
            if kept:
                out[object_type] = kept
            continue
        offered = [f.key for f in hideable_fields(object_type)]
        picked = set(chosen.get(object_type, current.get(object_type, [])))
        unknown = picked - set(offered) - set(current.get(object_type, []))
        if unknown:
            raise ValidationError(
                {
                    "hidden_fields": _("There is no field %(f)s on this kind of record.")
                    % {"f": ", ".join(sorted(unknown))}
                }
            )
        # A field new records must have, hidden from a role, would stop that role from
        # creating any: refused (a field already hidden stays so).
        newly = picked - set(current.get(object_type, []))
        required = [
            f.title
            for f in hideable_fields(object_type)
            if f.key in newly and f.required and f.editable and f.default in (None, "")
        ]
        if required:
            raise ValidationError(
                {
                    "hidden_fields": _(
                        "%(f)s must be filled in on new records, so a role that cannot see "
                        "it could not create one: make it optional or give it a default "
                        "first."
                    )
                    % {"f": ", ".join(required)}
                }
            )
        kept = [k for k in current.get(object_type, []) if k not in offered]
        result = [k for k in offered if k in picked] + sorted(set(kept))
        if result:
            out[object_type] = result
    return out


@transaction.atomic
def save_role(
    *,
    by: User,
    data: dict[str, Any],
    role: Role | None = None,
    hidden: dict[str, list[str]] | None = None,
) -> Role:
    """Create or change a role (`users.admin_services.save_role`) together with the
    fields it hides: `hidden` lists the checked keys of each object type given (types
    not given keep theirs; keys of retired custom fields are kept). One transaction,
    administrators only, audited."""
    ensure_admin(by)
    if "rights" in data:
        _check_rights(data["rights"], role)
    if hidden is not None:
        current = {}
        if role is not None:
            current = dict(Role.objects.select_for_update().get(pk=role.pk).hidden_fields or {})
        data = {**data, "hidden_fields": merge_hidden_fields(current, hidden)}
    return users_admin.save_role(by=by, data=data, role=role)


# -- layouts ----------------------------------------------------------------------------

TITLE_MAX = 100


def _layout_type(object_type: str) -> None:
    if object_type not in {s.key for s in layouts.layout_types()}:
        raise ValidationError(
            {
                "object_type": _("There is no record page for “%(t)s” to lay out.")
                % {"t": object_type}
            }
        )


def _pipeline_pk(object_type: str, pipeline: Any) -> int | None:
    pk = getattr(pipeline, "pk", pipeline)
    if pk in (None, ""):
        return None
    if object_type != "deal":
        raise ValidationError({"pipeline": _("Only deals have a layout per pipeline.")})
    model: Any = Layout._meta.get_field("pipeline").related_model
    if not str(pk).isdigit() or not model.objects.filter(pk=pk).exists():
        raise ValidationError({"pipeline": _("There is no such pipeline.")})
    return int(pk)


def clean_sections(object_type: str, sections: Any) -> list[dict[str, Any]]:
    """The sections as stored, or a ValidationError keyed "sections" naming what to fix:
    an unknown field, a field placed twice, a section without a title, an unknown role.
    A retired custom field may stay placed (it shows again when restored)."""
    if not isinstance(sections, list) or not all(isinstance(s, dict) for s in sections):
        raise ValidationError(
            {"sections": _("Give the sections as a list of {key, titles, fields, roles}.")}
        )
    known = {f.key for f in layouts.placeable(object_type)}
    retired = set(
        CustomField.objects.filter(object_type=object_type, active=False).values_list(
            "key", flat=True
        )
    )
    role_ids = set(Role.objects.values_list("pk", flat=True))
    keys: set[str] = set()
    placed: set[str] = set()
    out: list[dict[str, Any]] = []
    for s in sections:
        key = str(s.get("key") or "")
        if not layouts.SECTION_KEY.fullmatch(key):
            raise ValidationError(
                {
                    "sections": _(
                        "A section's key “%(key)s” must be lower-case letters, digits and "
                        "underscores, starting with a letter."
                    )
                    % {"key": key}
                }
            )
        if key in keys:
            raise ValidationError(
                {"sections": _("Two sections have the key “%(key)s”.") % {"key": key}}
            )
        keys.add(key)
        title_zh = str(s.get("title_zh") or "").strip()
        title_en = str(s.get("title_en") or "").strip()
        if not title_zh and not title_en:
            raise ValidationError(
                {"sections": _("Give the section “%(key)s” a title.") % {"key": key}}
            )
        if len(title_zh) > TITLE_MAX or len(title_en) > TITLE_MAX:
            raise ValidationError(
                {
                    "sections": _("A section's title may be at most %(n)s characters long.")
                    % {"n": TITLE_MAX}
                }
            )
        fields = s.get("fields") or []
        roles = s.get("roles") or []
        if not isinstance(fields, list) or not isinstance(roles, list):
            raise ValidationError(
                {"sections": _("Give the fields and roles of “%(key)s” as lists.") % {"key": key}}
            )
        for field_key in fields:
            field_key = str(field_key)
            if field_key not in known and field_key not in retired:
                raise ValidationError(
                    {
                        "sections": _("There is no field “%(key)s” on this kind of record.")
                        % {"key": field_key}
                    }
                )
            if field_key in placed:
                raise ValidationError(
                    {
                        "sections": _(
                            "The field “%(key)s” is placed twice; place each field in one section."
                        )
                        % {"key": field_key}
                    }
                )
            placed.add(field_key)
        clean_roles: list[int] = []
        for role in roles:
            if isinstance(role, bool) or not str(role).isdigit() or int(role) not in role_ids:
                raise ValidationError(
                    {"sections": _("There is no role “%(role)s”.") % {"role": role}}
                )
            clean_roles.append(int(role))
        out.append(
            {
                "key": key,
                "title_zh": title_zh,
                "title_en": title_en,
                "fields": [str(k) for k in fields],
                "roles": sorted(set(clean_roles)),
            }
        )
    return out


@transaction.atomic
def save_layout(*, by: User, object_type: str, sections: Any, pipeline: Any = None) -> Layout:
    """Create or replace the layout of `object_type` (of `pipeline`'s deals when
    given): its sections in order, each with titles in both languages, its fields and
    the roles it is shown to (none: everyone). Administrators only; audited."""
    ensure_admin(by)
    _layout_type(object_type)
    pipeline_id = _pipeline_pk(object_type, pipeline)
    clean = clean_sections(object_type, sections)
    rows = Layout.objects.select_for_update().filter(object_type=object_type)
    if pipeline_id is None:
        rows = rows.filter(pipeline__isnull=True)
    else:
        rows = rows.filter(pipeline_id=pipeline_id)
    layout = rows.first()
    if layout is None:
        layout = Layout(object_type=object_type, pipeline_id=pipeline_id, sections=clean)
        _finish(layout)
        layout.save()
        audit.record(
            by=by,
            obj=layout,
            action=audit.Action.CREATED,
            changes=audit.values(layout, ["object_type", "pipeline", "sections"]),
        )
        return layout
    shot = audit.snapshot(layout, ["sections"])
    layout.sections = clean
    _finish(layout)
    layout.save()
    audit.record(by=by, obj=layout, action=audit.Action.UPDATED, changes=shot.changes(layout))
    return layout


@transaction.atomic
def delete_layout(*, by: User, layout: Layout) -> None:
    """Drop a layout: the object's pages go back to one section of every field in the
    registry's order (a pipeline's deals to the deals' layout)."""
    ensure_admin(by)
    layout = Layout.objects.select_for_update().get(pk=layout.pk)
    audit.record(
        by=by,
        obj=layout,
        action=audit.Action.DELETED,
        changes=audit.values(layout, ["object_type", "pipeline", "sections"]),
    )
    layout.delete()


# -- validation rules ---------------------------------------------------------------------

#: What may change on a rule; its object type may not (its condition reads its fields).
RULE_EDITABLE = {"name", "condition", "message_zh", "message_en", "field", "active", "order"}
RULE_AUDITED = ["object_type", "name", "condition", "message_zh", "message_en", "field", "active"]


def _check_rule(rule: ValidationRule) -> None:
    """Everything a rule needs before it is saved, each refusal keyed by its field:
    a name unique on its object, a condition that compiles (with the position of the
    first problem), a message in at least one language and a field of the object."""
    errors: dict[str, list[Any]] = {}
    rule.name = (rule.name or "").strip()
    rule.condition = (rule.condition or "").strip()
    rule.message_zh = (rule.message_zh or "").strip()
    rule.message_en = (rule.message_en or "").strip()
    rule.field = (rule.field or "").strip()
    if not rule.name:
        errors["name"] = [_("Give the rule a name.")]
    elif (
        ValidationRule.objects.filter(object_type=rule.object_type, name=rule.name)
        .exclude(pk=rule.pk)
        .exists()
    ):
        errors["name"] = [_("This kind of record already has a rule with this name.")]
    try:
        compile_expression(rule.condition, object_type=rule.object_type)
    except ExpressionError as e:
        errors["condition"] = list(e.messages)
    if not rule.message_zh and not rule.message_en:
        errors["message_en"] = [
            _(
                "Write the message people see when the rule refuses a record, in at least one language."
            )
        ]
    if rule.field and rule.field not in {f.key for f in rules.rule_fields(rule.object_type)}:
        errors["field"] = [
            _("There is no field “%(key)s” on this kind of record.") % {"key": rule.field}
        ]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_validation_rule(
    *,
    by: User,
    object_type: str,
    name: str,
    condition: str,
    message_zh: str = "",
    message_en: str = "",
    field: str = "",
    active: bool = True,
    order: int | None = None,
) -> ValidationRule:
    """A rule on `object_type` (`rules.rule_object_types`) refusing a record whose
    `condition` is true, with its message; placed last unless `order` is given."""
    ensure_admin(by)
    if object_type not in {s.key for s in rules.rule_object_types()}:
        raise ValidationError({"object_type": _("Choose the kind of record the rule is on.")})
    if order is None:
        top = ValidationRule.objects.filter(object_type=object_type).aggregate(m=Max("order"))
        order = (top["m"] or 0) + 1
    rule = ValidationRule(
        object_type=object_type,
        name=name,
        condition=condition,
        message_zh=message_zh,
        message_en=message_en,
        field=field,
        active=active,
        order=order,
    )
    _check_rule(rule)
    _finish(rule)
    rule.save()
    audit.record(
        by=by, obj=rule, action=audit.Action.CREATED, changes=audit.values(rule, RULE_AUDITED)
    )
    return rule


@transaction.atomic
def update_validation_rule(
    *, rule: ValidationRule, by: User, data: dict[str, Any]
) -> ValidationRule:
    """Change a rule's name, condition, messages, field, order or whether it applies;
    its object type never changes."""
    ensure_admin(by)
    rule = ValidationRule.objects.select_for_update().get(pk=rule.pk)
    check_fields(data, RULE_EDITABLE)
    shot = audit.snapshot(rule, data)
    apply(rule, data)
    _check_rule(rule)
    _finish(rule)
    rule.save()
    audit.record(by=by, obj=rule, action=audit.Action.UPDATED, changes=shot.changes(rule))
    return rule


def deactivate_validation_rule(
    *, rule: ValidationRule, by: User, active: bool = False
) -> ValidationRule:
    """Stop applying a rule (kept, to be switched on again with `active=True`)."""
    return update_validation_rule(rule=rule, by=by, data={"active": active})


@transaction.atomic
def delete_validation_rule(*, rule: ValidationRule, by: User) -> None:
    ensure_admin(by)
    rule = ValidationRule.objects.select_for_update().get(pk=rule.pk)
    audit.record(
        by=by, obj=rule, action=audit.Action.DELETED, changes=audit.values(rule, RULE_AUDITED)
    )
    rule.delete()


def _check_rights(rights: Any, role: Role | None) -> None:
    """Rights may be given on the built-in object types and the active custom objects;
    a retired custom object's rights, already the role's, are kept as they are."""
    if not isinstance(rights, dict):
        return  # the role's own check says what is wrong
    kept = set((role.rights or {}) if role is not None else {})
    known = {t for t, _label in OBJECT_TYPES} | set(registry.dynamic())
    unknown = sorted(str(t) for t, values in rights.items() if values and t not in known | kept)
    if unknown:
        raise ValidationError(
            {"rights": _("Unknown object type “%(t)s”.") % {"t": ", ".join(unknown)}}
        )
