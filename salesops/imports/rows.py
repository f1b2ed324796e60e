"""From a spreadsheet row to checked values: cells read by their target's kind,
references resolved within the importer's data scope, and the shared row validator.

`FieldRules` and `CustomRules` are the one row validator both import paths call: the
per-row path (which then calls the services, which check again) and the bulk path
(which writes directly). They apply exactly the checks `Model.full_clean` and
`customization.services.clean_custom_values` make — same validators, same messages —
compiled once per import instead of once per row; tests prove the equivalence.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from salesops.customization.models import CustomField
from salesops.customization.services import _clean_one, definitions
from salesops.imports.fields import ObjectSpec, Target
from salesops.imports.values import (
    CellError,
    clean_text,
    is_blank,
    parse_amount,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_email,
    parse_int,
    parse_phone,
    phone_key,
    restore,
)


@dataclass(frozen=True)
class Problem:
    """One reason a row cannot be imported (a line of the error file)."""

    column: str
    value: str
    reason: str


def shown(value: Any) -> str:
    """A cell as the error file shows it."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- choices --------------------------------------------------------------------------


def choice_lookup(choices: Any) -> dict[str, str]:
    """{value, English label, Chinese label (case-folded): value} for a choices list."""
    lookup: dict[str, str] = {}
    for value, label in choices:
        lookup[str(value).casefold()] = str(value)
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                lookup.setdefault(str(label).casefold(), str(value))
    return lookup


def _choice(raw: Any, lookup: dict[str, str]) -> str:
    text = clean_text(raw)
    if not text:
        return ""
    value = lookup.get(text.casefold())
    if value is None:
        options = sorted(set(lookup.values()))
        raise CellError(
            _("“%(value)s” is not one of the options: %(options)s.")
            % {"value": text, "options": ", ".join(options)}
        )
    return value


# -- reading a row ------------------------------------------------------------------------


class RowReader:
    """Reads the mapped cells of a row into {target key: value}."""

    def __init__(
        self,
        spec: ObjectSpec,
        headers: list[str],
        columns: dict[str, str],
        *,
        tz: dt.tzinfo,
        day_first: bool = False,
    ) -> None:
        self.spec = spec
        self.tz = tz
        self.day_first = day_first
        self.plan: list[tuple[int, str, Target]] = []
        seen: set[str] = set()
        for index, header in enumerate(headers):
            key = columns.get(header)
            target = spec.target(key) if key else None
            if target is None or header in seen or target.key in {t.key for _i, _h, t in self.plan}:
                continue
            seen.add(header)
            self.plan.append((index, header, target))
        self.header_of = {t.key: h for _i, h, t in self.plan}
        self.choices = {t.key: choice_lookup(t.choices) for t in spec.targets if t.choices}
        for t in spec.targets:
            if t.custom is not None and t.custom.field_type in ("select", "multi_select"):
                self.choices[t.key] = choice_lookup(
                    [(o["value"], o.get("label", o["value"])) for o in t.custom.options]
                )
            elif t.picklist and t.field is not None:
                # An organisation's picklist: its option's key or label (官网, Website)
                # gives the key. A picklist without options takes any text, as the
                # services do.
                options = t.field.options()
                if options:
                    self.choices[t.key] = choice_lookup(options)

    def missing_required(self) -> list[Target]:
        return [t for t in self.spec.targets if t.required and t.key not in self.header_of]

    def read(self, cells: list[Any]) -> tuple[dict[str, Any], list[Problem]]:
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        for index, header, target in self.plan:
            raw = cells[index]
            try:
                values[target.key] = self.convert(target, raw)
            except CellError as e:
                problems.append(Problem(header, shown(raw), str(e)))
        return values, problems

    def convert(self, target: Target, raw: Any) -> Any:
        kind = target.kind
        if isinstance(raw, str):
            stripped = raw.strip()
            raw = restore(stripped)
            if raw != stripped and kind == "text":
                return raw  # exactly what was exported, leading tab or CR included
        if kind == "custom":
            return self._custom(target, raw)
        if kind == "email":
            return parse_email(raw)
        if kind == "phone":
            return parse_phone(raw)
        if kind == "amount":
            return parse_amount(raw)
        if kind == "int":
            return parse_int(raw)
        if kind == "date":
            return parse_date(raw, day_first=self.day_first)
        if kind == "datetime":
            return parse_datetime(raw, tz=self.tz, day_first=self.day_first)
        if kind == "bool":
            return parse_bool(raw)
        if kind == "choice":
            lookup = self.choices.get(target.key)
            return _choice(raw, lookup) if lookup is not None else clean_text(raw)
        return clean_text(raw)

    def _custom(self, target: Target, raw: Any) -> Any:
        """A custom field's cell in the form `clean_custom_values` accepts."""
        assert target.custom is not None
        if is_blank(raw):
            return None
        t = CustomField.Type
        match target.custom.field_type:
            case t.DATE:
                day = parse_date(raw, day_first=self.day_first)
                return day.isoformat() if day else None
            case t.DATETIME:
                moment = parse_datetime(raw, tz=self.tz, day_first=self.day_first)
                return moment.isoformat() if moment else None
            case t.NUMBER | t.MONEY:
                number = parse_amount(raw)
                return str(number) if number is not None else None
            case t.BOOLEAN:
                return parse_bool(raw)
            case t.SELECT:
                return _choice(raw, self.choices[target.key])
            case t.MULTI_SELECT:
                parts = [p for p in re.split(r"[,;，；、|\n]+", clean_text(raw)) if p.strip()]
                return [_choice(p, self.choices[target.key]) for p in parts]
            case t.PHONE:
                return phone_key(parse_phone(raw))
            case t.EMAIL:
                return parse_email(raw)
            case t.USER:
                return clean_text(raw)  # resolved to an id with the owners
        return clean_text(raw)


# -- the shared row validator -------------------------------------------------------------


class FieldRules:
    """What `Model.full_clean` checks on plain (non-relation) fields: blank, choices,
    max length and the field's validators, with Django's own messages."""

    def __init__(self, model: type[models.Model], names: list[str]) -> None:
        self.rules: list[tuple[str, Any, bool, int | None, set[str] | None, bool]] = []
        for name in names:
            f: Any = model._meta.get_field(name)
            others = any(not isinstance(v, MaxLengthValidator) for v in f.validators)
            choices = {str(c[0]) for c in f.choices} if f.choices else None
            max_length = f.max_length if isinstance(f, models.CharField) else None
            self.rules.append((name, f, f.blank, max_length, choices, others))

    def errors(self, values: dict[str, Any]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, f, blank, max_length, choices, others in self.rules:
            value = values.get(name)
            if value is None:
                # An empty cell leaves the field to its default, as the services do
                # (they are given only the values that are not None).
                value = f.get_default()
            if value is None or value == "":
                if not blank:
                    message = f.error_messages["null" if value is None and not f.null else "blank"]
                    found[name] = [str(message)]
                continue
            try:
                if choices is not None and str(value) not in choices:
                    f.validate(value, None)
                if others or (max_length is not None and len(value) > max_length):
                    f.run_validators(f.to_python(value))
            except ValidationError as e:
                found[name] = [str(m) for m in e.messages]
        return found


class CustomRules:
    """`clean_custom_values` for many rows: the definitions are read once."""

    def __init__(self, object_type: str) -> None:
        #: Formulas and roll-ups are computed, never imported: a column for one is refused.
        self.fields = {f.key: f for f in definitions(object_type) if not f.computed}
        self.required = [f for f in self.fields.values() if f.required]

    def clean(self, values: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, list]]:
        result: dict[str, Any] = {}
        errors: dict[str, list] = {}
        for key, raw in (values or {}).items():
            field = self.fields.get(key)
            if field is None:
                errors[f"custom.{key}"] = [
                    _("There is no custom field “%(key)s” on this kind of record.") % {"key": key}
                ]
                continue
            if raw is None or raw == "" or raw == []:
                continue
            try:
                result[key] = _clean_one(field, raw)
            except ValidationError as e:
                errors[f"custom.{key}"] = list(e.messages)
        for field in self.required:
            if field.key not in result and f"custom.{field.key}" not in errors:
                errors[f"custom.{field.key}"] = [
                    _("%(label)s is required.") % {"label": field.label}
                ]
        return result, errors


def split_values(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain fields, custom values without the `custom.` prefix)."""
    plain = {k: v for k, v in values.items() if not k.startswith("custom.")}
    custom = {k[7:]: v for k, v in values.items() if k.startswith("custom.")}
    return plain, custom


# -- references -----------------------------------------------------------------------------


def not_one(what: Any, text: str, found: int) -> CellError:
    """Why a reference does not name exactly one record (`found` of them are visible)."""
    if found > 1:
        return CellError(
            _(
                "Several %(what)s are called “%(name)s” in what you can see; make the name unique or use its id."
            )
            % {"what": what, "name": text}
        )
    return CellError(
        _("There is no %(what)s “%(name)s” that you can see.") % {"what": what, "name": text}
    )


class Resolver:
    """Finds the records and people a row names, within the importer's data scope.
    Answers are cached for the import (files repeat the same customers and owners)."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.cache: dict[tuple[str, Any], Any] = {}

    def _cached(self, kind: str, key: Any, find: Any) -> Any:
        k = (kind, key)
        if k not in self.cache:
            self.cache[k] = find()
        return self.cache[k]

    def owner(self, text: str) -> Any:
        """An active user by username, e-mail or display name (case does not count)."""
        from salesops.users.models import User

        def find() -> Any:
            people = list(
                User.objects.filter(
                    Q(username__iexact=text) | Q(email__iexact=text) | Q(display_name__iexact=text)
                )[:3]
            )
            exact = [p for p in people if p.username.casefold() == text.casefold()]
            people = exact or people
            if not people:
                full = text.replace(" ", "")
                people = [
                    u
                    for u in User.objects.filter(is_active=True, last_name__isnull=False)
                    if (u.last_name + u.first_name).replace(" ", "").casefold() == full.casefold()
                    or u.get_full_name().replace(" ", "").casefold() == full.casefold()
                ][:3]
            if len(people) > 1:
                raise CellError(
                    _("Several people are called “%(name)s”; use their username or e-mail.")
                    % {"name": text}
                )
            if not people:
                raise CellError(_("No user is called “%(name)s”.") % {"name": text})
            return people[0]

        return self._cached("owner", text.casefold(), find)

    def _one(self, kind: str, qs: Any, text: str, what: Any) -> Any:
        found = list(qs[:2])
        if len(found) != 1:
            raise not_one(what, text, len(found))
        return found[0]

    def customer(self, text: str) -> Any:
        from salesops.crm.models import Customer

        def find() -> Any:
            qs = Customer.objects.visible_to(self.user)
            if text.startswith("#") and text[1:].isdigit():
                qs = qs.filter(pk=int(text[1:]))
            else:
                qs = qs.filter(name=text)
            return self._one("customer", qs, text, _("customer"))

        return self._cached("customer", text, find)

    def contact(self, text: str, customer: Any = None) -> Any:
        from salesops.crm.models import Contact

        def find() -> Any:
            qs = Contact.objects.visible_to(self.user).filter(Q(name=text) | Q(email=text.lower()))
            if customer is not None:
                qs = qs.filter(customer=customer)
            return self._one("contact", qs, text, _("contact"))

        return self._cached("contact", (text, getattr(customer, "pk", None)), find)

    def deal(self, text: str, customer: Any = None) -> Any:
        from salesops.crm.models import Deal

        def find() -> Any:
            qs = Deal.objects.visible_to(self.user).filter(name=text)
            if customer is not None:
                qs = qs.filter(customer=customer)
            return self._one("deal", qs, text, _("deal"))

        return self._cached("deal", (text, getattr(customer, "pk", None)), find)

    def lead(self, text: str) -> Any:
        from salesops.crm.models import Lead

        def find() -> Any:
            qs = Lead.objects.visible_to(self.user).filter(Q(name=text) | Q(email=text.lower()))
            return self._one("lead", qs, text, _("lead"))

        return self._cached("lead", text, find)

    def contract(self, text: str) -> Any:
        from salesops.crm.models import Contract

        def find() -> Any:
            qs = Contract.objects.visible_to(self.user).filter(number=text)
            return self._one("contract", qs, text, _("contract"))

        return self._cached("contract", text, find)

    def pipeline(self, text: str) -> Any:
        from salesops.pipeline.models import Pipeline

        def find() -> Any:
            return self._one("pipeline", Pipeline.objects.filter(name=text), text, _("pipeline"))

        return self._cached("pipeline", text, find)

    def stage(self, text: str, pipeline: Any) -> Any:
        from salesops.pipeline.models import Pipeline, Stage

        def find() -> Any:
            the_pipeline = pipeline or Pipeline.default()
            qs = Stage.objects.filter(pipeline=the_pipeline, name=text)
            return self._one("stage", qs, text, _("stage"))

        return self._cached("stage", (text, getattr(pipeline, "pk", None)), find)

    def currency(self, text: str) -> str:
        from salesops.org.models import Currency

        def find() -> str:
            code = {
                "¥": "CNY",
                "￥": "CNY",
                "人民币": "CNY",
                "RMB": "CNY",
                "元": "CNY",
                "$": "USD",
                "美元": "USD",
                "€": "EUR",
                "欧元": "EUR",
            }.get(text.upper(), text)
            found = Currency.objects.filter(Q(code__iexact=code) | Q(name=text)).first()
            if found is None:
                raise CellError(_("“%(code)s” is not a currency.") % {"code": text})
            return str(found.code)

        return self._cached("currency", text, find)
