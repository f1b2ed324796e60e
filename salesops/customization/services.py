"""The one validator of custom-field values (pages, API and imports all call it)."""

from __future__ import annotations

import ast
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from salesops.customization import registry
from salesops.customization.models import CustomField, Picklist, PicklistOption
from salesops.lib.cache import TTLCache
from salesops.lib.dedup import normalise_phone as normalise_phone

_PHONE = re.compile(r"^\+?[0-9]{5,20}$")
_url = URLValidator(schemes=["http", "https"])
_email = EmailValidator()
TEXT_MAX = 1000
LONG_TEXT_MAX = 20000


_definitions = TTLCache(5.0)
_picklists = TTLCache(5.0)
_picklist_options = TTLCache(5.0)


def definitions(object_type: str) -> list[CustomField]:
    """The active custom fields of `object_type` (cached a few seconds per process)."""
    return _definitions.get(
        object_type, lambda: list(CustomField.objects.filter(object_type=object_type, active=True))
    )


def picklist_values(key: str) -> set[str] | None:
    """The active option values of picklist `key`; None when there is no such picklist."""

    def load() -> set[str] | None:
        picklist = Picklist.objects.filter(key=key).first()
        if picklist is None:
            return None
        return set(picklist.options.filter(active=True).values_list("value", flat=True))

    return _picklists.get(key, load)


def picklist_options(key: str) -> list[tuple[str, str]]:
    """(value, label) of the active options of picklist `key`, in their order."""

    def load() -> list[tuple[str, str]]:
        return [
            (str(v), label)
            for v, label in PicklistOption.objects.filter(
                picklist__key=key, active=True
            ).values_list("value", "label")
        ]

    return _picklist_options.get(key, load)


def forget_definitions(**_kwargs: Any) -> None:
    from salesops.customization import computed

    computed.forget()
    _definitions.clear()
    _picklists.clear()
    _picklist_options.clear()
    _specs.clear()


#: Custom-field types as the registry's field types.
REGISTRY_TYPES = {
    CustomField.Type.TEXT: registry.TEXT,
    CustomField.Type.LONG_TEXT: registry.LONG_TEXT,
    CustomField.Type.NUMBER: registry.NUMBER,
    CustomField.Type.MONEY: registry.MONEY,
    CustomField.Type.DATE: registry.DATE,
    CustomField.Type.DATETIME: registry.DATETIME,
    CustomField.Type.SELECT: registry.CHOICE,
    CustomField.Type.MULTI_SELECT: registry.MULTI_CHOICE,
    CustomField.Type.USER: registry.REF,
    CustomField.Type.BOOLEAN: registry.BOOL,
    CustomField.Type.URL: registry.URL,
    CustomField.Type.EMAIL: registry.EMAIL,
    CustomField.Type.PHONE: registry.PHONE,
}


def field_spec(d: CustomField) -> registry.FieldSpec:
    """A custom-field definition as a registry field. A formula or roll-up is a read-only
    field of its result type (its values are computed: `customization.computed`)."""
    ftype = REGISTRY_TYPES.get(d.value_type, registry.TEXT)  # type: ignore[call-overload]
    return registry.FieldSpec(
        key=d.key,
        label=d.label,
        type=ftype,
        path=f"custom__{d.key}",
        ref="user" if ftype == registry.REF else "",
        choices=tuple(
            (str(o["value"]), o.get("label") or str(o["value"]))
            for o in d.all_options()
            if o.get("active", True) is not False
        ),
        required=d.required and not d.computed,
        default=None if d.computed else d.default,
        editable=not d.computed,
        sortable=ftype not in (registry.LONG_TEXT, registry.MULTI_CHOICE),
        filterable=ftype != registry.LONG_TEXT,
        searchable=False,
        aliases=(d.key, d.label),
        help_text=d.help_text,
        hidden_by=_read_fields(d),
        custom=d,
    )


def _read_fields(d: CustomField) -> tuple[tuple[str, str], ...]:
    """The fields a computed value is made of: a role hiding one of them hides the
    computed field too (a formula of the amount, a roll-up of deals' amounts)."""
    if d.field_type == CustomField.Type.ROLLUP and d.rollup_field:
        return ((d.rollup_object, d.rollup_field),)
    if d.field_type == CustomField.Type.FORMULA and d.expression:
        try:
            tree = ast.parse(d.expression, mode="eval")
        except SyntaxError:
            return ()
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        return tuple((d.object_type, name) for name in sorted(names))
    return ()


_specs = TTLCache(5.0)


def custom_field_specs(object_type: str) -> list[registry.FieldSpec]:
    """The active custom fields of `object_type` as registry fields (cached with the
    definitions)."""
    return _specs.get(object_type, lambda: [field_spec(d) for d in definitions(object_type)])


def clean_custom_values(
    *,
    object_type: str,
    values: dict[str, Any] | None,
    existing: dict[str, Any] | None = None,
    creating: bool | None = None,
) -> dict[str, Any]:
    """Validate `values` (a partial update) against the active custom fields of
    `object_type` and return the full JSON to store, `existing` merged with `values`.

    Unknown keys, wrong types, options not offered, and required fields left empty
    raise one ValidationError keyed `custom.<key>`; nothing is returned half-done.
    A value of None or "" clears the field.

    When `creating` (by default: when there is no `existing`, as for a new record), a
    field left without a value takes its definition's default. Values kept in
    `existing` under the key of a retired field stay as they are.

    Formula and roll-up values are never written here: a value sent for one is refused
    as for an unknown key, and the stored one is kept (the record's save computes it)."""
    if creating is None:
        creating = existing is None
    if values is not None and not isinstance(values, dict):
        raise ValidationError({"custom": _("Custom fields must be given as name–value pairs.")})
    fields = {f.key: f for f in definitions(object_type)}
    result = dict(existing or {})
    errors: dict[str, list[Any]] = {}
    for key, raw in (values or {}).items():
        field = fields.get(key)
        if field is None or field.computed:
            errors[f"custom.{key}"] = [
                _("There is no custom field “%(key)s” on this kind of record.") % {"key": key}
            ]
            continue
        if raw is None or raw == "" or raw == []:
            result.pop(key, None)
            continue
        try:
            result[key] = _clean_one(field, raw)
        except ValidationError as e:
            errors[f"custom.{key}"] = e.messages
    if creating:
        for key, field in fields.items():
            if (
                key not in result
                and f"custom.{key}" not in errors
                and field.default is not None
                and not field.computed
            ):
                result[key] = field.default
    for key, field in fields.items():
        if (
            field.required
            and not field.computed
            and key not in result
            and f"custom.{key}" not in errors
        ):
            errors[f"custom.{key}"] = [_("%(label)s is required.") % {"label": field.label}]
    if errors:
        raise ValidationError(errors)
    return result


def _clean_one(field: CustomField, raw: Any) -> Any:
    t = CustomField.Type
    label = field.label
    match field.field_type:
        case t.TEXT | t.LONG_TEXT:
            limit = TEXT_MAX if field.field_type == t.TEXT else LONG_TEXT_MAX
            if not isinstance(raw, str):
                raw = str(raw)
            if len(raw) > limit:
                raise ValidationError(
                    _("%(label)s may be at most %(n)s characters long.")
                    % {"label": label, "n": limit}
                )
            return raw
        case t.NUMBER | t.MONEY:
            if isinstance(raw, bool):
                raise ValidationError(_("%(label)s must be a number.") % {"label": label})
            try:
                number = Decimal(str(raw).replace(",", "").strip())
            except InvalidOperation:
                raise ValidationError(
                    _("%(label)s must be a number, such as 12 or 12.5.") % {"label": label}
                ) from None
            if not number.is_finite():
                raise ValidationError(_("%(label)s must be a number.") % {"label": label})
            if field.field_type == t.MONEY:
                return str(number.quantize(Decimal("0.01")))
            return int(number) if number == number.to_integral_value() else float(number)
        case t.DATE:
            day = raw if isinstance(raw, dt.date) else parse_date(str(raw))
            if day is None:
                raise ValidationError(
                    _("%(label)s must be a date written as YYYY-MM-DD.") % {"label": label}
                )
            return day.isoformat()
        case t.DATETIME:
            try:
                moment = raw if isinstance(raw, dt.datetime) else parse_datetime(str(raw))
            except ValueError:
                moment = None
            if moment is None:
                raise ValidationError(
                    _("%(label)s must be a date and time written as YYYY-MM-DDTHH:MM.")
                    % {"label": label}
                )
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment, dt.UTC)
            return moment.astimezone(dt.UTC).isoformat()
        case t.SELECT:
            value = str(raw)
            if value not in field.option_values():
                raise ValidationError(
                    _("“%(value)s” is not one of the options of %(label)s.")
                    % {"value": value, "label": label}
                )
            return value
        case t.MULTI_SELECT:
            items = raw if isinstance(raw, list) else [raw]
            allowed = field.option_values()
            bad = [str(v) for v in items if str(v) not in allowed]
            if bad:
                raise ValidationError(
                    _("“%(value)s” is not one of the options of %(label)s.")
                    % {"value": ", ".join(bad), "label": label}
                )
            return sorted({str(v) for v in items}, key=allowed.index)
        case t.USER:
            from salesops.users.models import User

            try:
                uid = int(raw)
            except (TypeError, ValueError):
                uid = -1
            if not User.objects.filter(pk=uid, is_active=True).exists():
                raise ValidationError(_("%(label)s must be an active user.") % {"label": label})
            return uid
        case t.BOOLEAN:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"true", "1", "yes", "y", "是", "对"}:
                return True
            if text in {"false", "0", "no", "n", "否", "不"}:
                return False
            raise ValidationError(_("%(label)s must be yes or no.") % {"label": label})
        case t.URL:
            value = str(raw).strip()
            try:
                _url(value)
            except ValidationError:
                raise ValidationError(
                    _("%(label)s must be a web address starting with http:// or https://.")
                    % {"label": label}
                ) from None
            return value
        case t.EMAIL:
            value = str(raw).strip()
            try:
                _email(value)
            except ValidationError:
                raise ValidationError(
                    _("%(label)s must be an e-mail address such as name@example.com.")
                    % {"label": label}
                ) from None
            return value
        case t.PHONE:
            value = normalise_phone(str(raw))
            if not _PHONE.match(value):
                raise ValidationError(
                    _("%(label)s must be a phone number, such as +86 138 0013 8000.")
                    % {"label": label}
                )
            return value
    raise ValidationError(_("%(label)s has an unknown type.") % {"label": label})


def check_picklist_value(key: str, value: str, *, field: str) -> None:
    """`value` must be an active option of picklist `key`, when that picklist has options."""
    if not value:
        return
    options = picklist_values(key)
    if options and value not in options:
        raise ValidationError(
            {
                field: _("“%(value)s” is not one of the options; choose one from the list.")
                % {"value": value}
            }
        )
