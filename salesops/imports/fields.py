"""What can be imported into each kind of record, read from the metadata registry: the
targets a column can map to (the object's editable fields, its import extras such as a
customer's first contact, and its active custom fields as `custom.<key>`), how each
cell is read, and the header words (Chinese and English) that suggest it.

Nothing here lists an object's fields: a field added to a model (or declared in its
`metadata.py`) becomes an import target, with its aliases, by itself. What this module
states is only what the import services do beyond the registry: the fields they set
themselves (left out) and the ones they choose when no column gives them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import translation

from salesops.customization import policy, registry
from salesops.customization.registry import FieldSpec

#: The built-in object types that can be imported (each has a handler in
#: `engine.HANDLERS`); every active custom object can be too (`importable`).
IMPORTABLE = ("lead", "customer", "contact", "deal", "followup", "product", "payment")


def importable(object_type: str) -> bool:
    """Can records of `object_type` be imported and exported? The built-in types above
    and every active custom object (自定义对象), defined while the app runs."""
    if object_type in IMPORTABLE:
        return True
    spec = registry.find(object_type)
    return spec is not None and spec.is_custom_object


def importable_types() -> list[tuple[str, Any]]:
    """(object type, plural label) of everything that can be imported: the built-in
    types, then the active custom objects."""
    out = [(key, registry.get(key).plural) for key in IMPORTABLE]
    out += [(s.key, s.plural) for s in registry.objects() if s.is_custom_object]
    return out


#: Editable fields the create services set themselves, so no column maps to them: a
#: lead starts new; a customer's tags are set on its page; a contact follows its
#: customer's owner; a deal's forecast category comes from its stage; a follow-up is the
#: importer's; a payment belongs to its contract's owner, currency and plan. A price
#: list is chosen on the customer's or deal's page.
LEFT_OUT: dict[str, frozenset[str]] = {
    "lead": frozenset({"status"}),
    "customer": frozenset({"tags", "price_list"}),
    "contact": frozenset({"owner"}),
    "deal": frozenset({"forecast_category", "price_list"}),
    "followup": frozenset({"owner"}),
    "payment": frozenset({"owner", "plan", "currency"}),
}
#: Required fields the create services fill in when no column gives them (the default
#: pipeline and its first stage, the base currency, the time of the import).
DEFAULTED: dict[str, frozenset[str]] = {
    "deal": frozenset({"pipeline", "stage", "currency"}),
    "product": frozenset({"currency"}),
    "followup": frozenset({"occurred_at"}),
}

#: How a registry type is read from a cell (references: by the type they point to).
KINDS = {
    registry.TEXT: "text",
    registry.LONG_TEXT: "text",
    registry.URL: "text",
    registry.EMAIL: "email",
    registry.PHONE: "phone",
    registry.MONEY: "amount",
    registry.NUMBER: "amount",
    registry.INTEGER: "int",
    registry.DATE: "date",
    registry.DATETIME: "datetime",
    registry.BOOL: "bool",
    registry.CHOICE: "choice",
}
#: References the import looks up by name (`rows.Resolver`).
REFERENCES = frozenset(
    {"customer", "contact", "deal", "lead", "contract", "pipeline", "stage", "currency"}
)


@dataclass(frozen=True)
class Target:
    """A place a column's values can go: a registry field as the import reads it."""

    key: str
    label: Any
    #: How the cell is read: text, email, phone, amount, int, date, datetime, bool,
    #: choice, owner, or a reference: customer, contact, deal, lead, contract,
    #: pipeline, stage, currency; "custom" for custom fields.
    kind: str = "text"
    required: bool = False
    aliases: tuple[str, ...] = ()
    #: The model field whose validators apply (default: `key`); "" for none.
    model_field: str | None = None
    choices: tuple[tuple[str, Any], ...] = ()
    custom: Any = field(default=None, compare=False)
    #: The registry field it comes from.
    field: FieldSpec | None = field(default=None, compare=False, repr=False)

    @property
    def picklist(self) -> str:
        return self.field.picklist if self.field is not None else ""


@dataclass(frozen=True)
class ObjectSpec:
    object_type: str
    model: type[models.Model]
    targets: tuple[Target, ...]
    #: Targets whose normalised values identify a duplicate, in order of strength.
    dedupe: tuple[str, ...] = ()

    def target(self, key: str) -> Target | None:
        for t in self.targets:
            if t.key == key:
                return t
        return None

    def plain(self) -> list[str]:
        """The keys of the record's own non-reference fields (what a create service
        takes as keyword arguments), in the registry's order."""
        return [
            t.key
            for t in self.targets
            if t.kind not in REFERENCES and t.kind not in ("owner", "custom") and "." not in t.key
        ]


def _kind(f: FieldSpec) -> str:
    if f.type == registry.REF:
        if f.owner or f.ref == "user":
            return "owner"
        if f.ref in REFERENCES:
            return f.ref
        raise ValueError(f"{f.key}: the import cannot look up a {f.ref!r}")
    try:
        return KINDS[f.type]
    except KeyError:
        raise ValueError(f"{f.key}: the import cannot read a {f.type!r} field") from None


def _target(object_type: str, f: FieldSpec, *, extra: bool = False) -> Target:
    kind = _kind(f)
    checked = not extra and kind not in REFERENCES and kind not in ("owner", "amount")
    defaulted = f.key in DEFAULTED.get(object_type, ())
    return Target(
        key=f.key,
        label=f.label,
        kind=kind,
        required=f.required and not defaulted,
        aliases=f.aliases,
        model_field=None if checked and not defaulted else "",
        # Picklist options are read when a row is (they change while a job waits).
        choices=f.choices if kind == "choice" and not f.picklist else (),
        field=f,
    )


def _custom_target(f: FieldSpec) -> Target:
    return Target(
        key=f"custom.{f.key}",
        label=f.label,
        kind="custom",
        required=f.required,
        aliases=f.aliases,
        model_field="",
        custom=f.custom,
        field=f,
    )


def spec_for(object_type: str, *, with_custom: bool = True, user: Any = None) -> ObjectSpec:
    """The import targets of `object_type`: its editable fields (less those its create
    service sets itself), its import extras, then its active custom fields as
    `custom.<key>`. With `user`, the fields hidden from them are left out: a column
    cannot be mapped to them. KeyError for an object type that cannot be imported."""
    if not importable(object_type):
        raise KeyError(object_type)
    spec = registry.get(object_type)
    left_out = LEFT_OUT.get(object_type, frozenset())
    hidden = policy.hidden_keys(user, object_type) if user is not None else frozenset()
    targets: list[Target] = []
    for f in spec.fields(custom=with_custom):
        if not f.editable or f.derived or f.internal or f.key in left_out or f.key in hidden:
            continue
        targets.append(_custom_target(f) if f.is_custom else _target(object_type, f))
    # The owner after the record's own fields (a file starts with what the record is).
    plain = sorted((t for t in targets if t.kind != "custom"), key=lambda t: t.kind == "owner")
    custom = [t for t in targets if t.kind == "custom"]
    extras = [_target(object_type, f, extra=True) for f in spec.import_extras]
    return ObjectSpec(object_type, spec.model, (*plain, *extras, *custom), spec.dedupe)


# -- suggesting a mapping from headers ---------------------------------------------------


def header_key(text: str) -> str:
    """A header as compared with aliases: width, case, spaces, marks of required
    fields and a trailing unit in brackets do not count."""
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = re.sub(r"[*＊:：]|[(（]\s*(必填|required|选填|optional)\s*[)）]", "", text)
    return re.sub(r"[\s_\-.]+", "", text)


def _words(target: Target) -> list[str]:
    words = [target.key, *target.aliases]
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            words.append(str(target.label))
    return words


def suggest_mapping(headers: list[str], spec: ObjectSpec) -> dict[str, str]:
    """{header: target key} for the headers a target's words match; each target is
    used at most once, and an exact match beats a match of the words without spaces."""
    lookup: dict[str, str] = {}
    for target in spec.targets:
        for word in _words(target):
            lookup.setdefault(header_key(word), target.key)
    result: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        key = lookup.get(header_key(header)) if header else None
        if key and key not in used and header not in result:
            result[header] = key
            used.add(key)
    return result
