"""The metadata registry: every object type and its fields, known once.

Each domain app declares its object types in its own `metadata.py` (loaded by its
AppConfig.ready). A declaration names the model and, per field, only what the model
cannot say itself: which list columns show by default, what can be sorted or searched,
the import header aliases. Type, label, choices, required, default and editability come
from the model field; custom fields join from their definitions at read time.

Every surface reads from here: forms, list columns, filters and sorts, record pages, the
board's cards, the API's schemas and filters, import mapping, export, the report
builder, drill-down tables, search and audit labels. Who may see which field is the
field policy's business (`customization.policy`), applied on top of this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

#: The field types a surface needs to know (how to show, parse, filter and sum).
TEXT = "text"
LONG_TEXT = "long_text"
INTEGER = "integer"
NUMBER = "number"
MONEY = "money"
DATE = "date"
DATETIME = "datetime"
CHOICE = "choice"
MULTI_CHOICE = "multi_choice"
BOOL = "bool"
REF = "ref"
MANY_REF = "many_ref"
EMAIL = "email"
PHONE = "phone"
URL = "url"
JSON = "json"
TYPES = (
    TEXT,
    LONG_TEXT,
    INTEGER,
    NUMBER,
    MONEY,
    DATE,
    DATETIME,
    CHOICE,
    MULTI_CHOICE,
    BOOL,
    REF,
    MANY_REF,
    EMAIL,
    PHONE,
    URL,
    JSON,
)
#: Types whose values are text to search and filter by containment.
TEXTUAL = (TEXT, LONG_TEXT, EMAIL, PHONE, URL)
#: Types that can be summed and averaged.
NUMERIC = (INTEGER, NUMBER, MONEY)

#: Model fields of every main record that no surface lists as a field of its own.
INTERNAL = frozenset(
    {
        "deleted_at",
        "deleted_by",
        "version",
        "custom",
        # Merged records' pointer and the duplicate finder's keys (crm.models.Mergeable).
        "merged_into",
        "dup_name",
        "dup_phone",
        "dup_mobile",
        "dup_email",
    }
)
#: Bookkeeping times every main record has: read-only, listed after its own fields.
STAMPS = ("created_at", "updated_at")


@dataclass(frozen=True)
class FieldSpec:
    """One field of an object type, as every surface sees it.

    `key` is the field's one name: in the API, exports, import mapping, reports, the
    roles' hidden fields and audit entries. A custom field's key is its definition's
    key (a built-in name is refused for it). `path` is the ORM path of the stored value
    (a reference's id column; `custom__<key>` for a custom field), chosen here and never
    by a user."""

    key: str
    label: Any
    type: str
    path: str
    #: The model attribute that holds the value ("owner_id"); "" for custom fields.
    attname: str = ""
    #: For references: the object type (or "user", "team", "stage", "pipeline",
    #: "currency", "tag") it points to, and the ORM path of its display name.
    ref: str = ""
    name_path: str = ""
    #: Fixed options (value, label) of a choice field.
    choices: tuple[tuple[str, Any], ...] = ()
    #: A choice field whose options are an organisation's picklist (by key).
    picklist: str = ""
    required: bool = False
    default: Any = None
    #: May a person set it (forms, API writes, import, automation)?
    editable: bool = True
    sortable: bool = False
    filterable: bool = True
    searchable: bool = False
    #: Column headers (中文 and English) that suggest this field when importing.
    aliases: tuple[str, ...] = ()
    help_text: Any = ""
    max_length: int | None = None
    #: A list column shown before the user chooses columns.
    list_default: bool = False
    #: Shown on the board's cards (deals).
    card: bool = False
    #: The object's owner field (data scope is checked against it).
    owner: bool = False
    #: For money: the currency column, and the date its rate is taken on (None: the
    #: latest rate, as open pipeline is converted).
    currency_path: str = ""
    rate_date_path: str | None = None
    #: (object type, key) pairs that hide this field too when a role hides them: a
    #: deal's "customer.industry" is hidden with the customer's industry.
    hidden_by: tuple[tuple[str, str], ...] = ()
    #: Read through another record (e.g. "customer.industry" on a deal): never written,
    #: not part of the record's own output; offered to reports and lists.
    derived: bool = False
    #: Kept out of the API, exports and forms (e.g. a denormalised sort column).
    internal: bool = False
    #: The record attribute people read, when it differs from the stored value (a
    #: deal's probability: its own, else its stage's) — lists and record pages alike.
    shown_as: str = ""
    #: A whole-number percentage (shown as "25%").
    percent: bool = False
    #: The custom-field definition this field comes from, if any.
    custom: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def is_custom(self) -> bool:
        return self.custom is not None

    @property
    def title(self) -> str:
        """The label as a heading ("Amount")."""
        return capfirst(str(self.label))

    @property
    def measure(self) -> bool:
        return self.type in NUMERIC

    @property
    def groupable(self) -> bool:
        return self.type not in (MONEY, LONG_TEXT, JSON, MANY_REF, MULTI_CHOICE)

    def choice_label(self, value: Any) -> Any:
        """The label of a fixed or picklist option (the value itself if unknown)."""
        if value in (None, ""):
            return ""
        for v, label in self.options():
            if str(v) == str(value):
                return label
        # A custom field's deactivated option still names the values stored under it.
        for o in self.custom.all_options() if self.custom is not None else ():
            if str(o["value"]) == str(value):
                return o.get("label") or value
        return value

    def options(self) -> list[tuple[str, Any]]:
        """(value, label) of the options a person may choose (active picklist options
        for picklist fields)."""
        if self.picklist:
            from salesops.customization.services import picklist_options

            return picklist_options(self.picklist)
        return list(self.choices)


@dataclass(frozen=True)
class Declare:
    """What a registration says about one field beyond the model's own metadata."""

    key: str
    label: Any = None
    type: str | None = None
    path: str | None = None
    ref: str | None = None
    name_path: str | None = None
    picklist: str | None = None
    required: bool | None = None
    editable: bool | None = None
    sortable: bool | None = None
    filterable: bool | None = None
    searchable: bool | None = None
    aliases: tuple[str, ...] = ()
    list_default: bool | None = None
    card: bool | None = None
    currency_path: str | None = None
    rate_date_path: str | None = "unset"
    hidden_by: tuple[tuple[str, str], ...] = ()
    derived: bool | None = None
    internal: bool | None = None
    shown_as: str | None = None
    percent: bool | None = None


@dataclass
class ObjectSpec:
    """One object type: its model, names, owner field and fields."""

    key: str
    model: type[models.Model]
    label: Any
    plural: Any
    owner_field: str | None
    #: The field that names a record (links, search results, references in imports).
    title_field: str
    base_fields: tuple[FieldSpec, ...]
    #: URL names of the record page and the list (taking no argument / the pk).
    detail_url: str = ""
    list_url: str = ""
    #: Import: targets beyond the record's own fields (e.g. a customer's first contact)
    #: and the keys whose normalised values identify a duplicate, strongest first.
    import_extras: tuple[FieldSpec, ...] = ()
    dedupe: tuple[str, ...] = ()
    #: Whether custom fields attach to this object type.
    customisable: bool = True
    #: Whether roles may hide this object's fields (not for targets: the number to reach
    #: is what a target is).
    field_security: bool = True
    #: For a custom object (自定义对象): the id of its definition; its records are the
    #: rows of the shared records table with this definition.
    custom_object_id: int | None = None
    #: Object types this one's records may link to (custom objects).
    links: tuple[str, ...] = ()

    @property
    def is_custom_object(self) -> bool:
        return self.custom_object_id is not None

    @property
    def rights_type(self) -> str:
        """The object type in roles' rights (a payment plan's is its payments')."""
        if self.is_custom_object:
            return self.key
        return str(getattr(self.model, "object_type", "") or self.key)

    def all_rows(self) -> Any:
        """Every live record of this object type, for anyone (system use)."""
        qs = self.model.objects.all()  # type: ignore[attr-defined]
        if self.custom_object_id is not None:
            qs = qs.filter(kind_id=self.custom_object_id)
        return qs

    def visible(self, user: Any) -> Any:
        """The records of this object type `user` may see (`visible_to`, and for a
        custom object only its own records)."""
        qs = self.model.objects.visible_to(user)  # type: ignore[attr-defined]
        if self.custom_object_id is not None:
            qs = qs.filter(kind_id=self.custom_object_id)
        return qs

    def record_url(self, pk: Any) -> str:
        """The record page of record `pk` ("" when the object has none)."""
        from django.urls import reverse

        if self.custom_object_id is not None:
            return reverse("object_record", args=[self.key, pk])
        return reverse(self.detail_url, args=[pk]) if self.detail_url else ""

    def list_path(self) -> str:
        from django.urls import reverse

        if self.custom_object_id is not None:
            return reverse("object_list", args=[self.key])
        return reverse(self.list_url) if self.list_url else ""

    def fields(self, *, custom: bool = True, derived: bool = False) -> list[FieldSpec]:
        """The fields in display order: built-in, then active custom fields. Derived
        fields (read through a related record) only when asked for."""
        out = [f for f in self.base_fields if derived or not f.derived]
        if custom and self.customisable:
            out.extend(custom_fields(self.key))
        return out

    def field(self, key: str, *, derived: bool = True) -> FieldSpec | None:
        for f in self.base_fields:
            if f.key == key and (derived or not f.derived):
                return f
        if self.customisable:
            for f in custom_fields(self.key):
                if f.key == key:
                    return f
        return None

    def keys(self) -> list[str]:
        return [f.key for f in self.fields()]

    def hideable(self, *, custom: bool = True) -> list[FieldSpec]:
        """The fields a role may hide: not the record's name or owner (they say which
        record and whose it is), nor fields read through another record (they follow
        that record's)."""
        if not self.field_security:
            return []
        return [
            f
            for f in self.fields(custom=custom)
            if not f.owner and f.key != self.title_field and not f.internal and not f.derived
        ]

    def owner(self) -> FieldSpec | None:
        return next((f for f in self.base_fields if f.owner), None)

    def searchable(self) -> list[FieldSpec]:
        return [f for f in self.fields() if f.searchable]

    def sortable(self) -> list[FieldSpec]:
        return [f for f in self.fields() if f.sortable]

    def filterable(self) -> list[FieldSpec]:
        return [f for f in self.fields() if f.filterable]

    def editable(self) -> list[FieldSpec]:
        return [f for f in self.fields() if f.editable and not f.derived and not f.internal]


_OBJECTS: dict[str, ObjectSpec] = {}
#: Custom-field provider: object type -> its active custom fields as FieldSpecs.
_custom_provider: Callable[[str], list[FieldSpec]] | None = None


def set_custom_provider(provider: Callable[[str], list[FieldSpec]]) -> None:
    global _custom_provider
    _custom_provider = provider


def custom_fields(object_type: str) -> list[FieldSpec]:
    return _custom_provider(object_type) if _custom_provider is not None else []


#: Custom-object provider: every active custom object as an ObjectSpec, by key.
_dynamic_provider: Callable[[], dict[str, ObjectSpec]] | None = None


def set_dynamic_provider(provider: Callable[[], dict[str, ObjectSpec]]) -> None:
    global _dynamic_provider
    _dynamic_provider = provider


def dynamic() -> dict[str, ObjectSpec]:
    """The custom objects (自定义对象) defined by administrators, by key: read from the
    database and cached a few seconds per process, so a new one is everywhere at once
    without a restart."""
    return _dynamic_provider() if _dynamic_provider is not None else {}


def get(object_type: str) -> ObjectSpec:
    """The object type `object_type`; KeyError names it when it is not registered."""
    spec = find(object_type)
    if spec is None:
        raise KeyError(f"no object type {object_type!r} in the registry")
    return spec


def find(object_type: str) -> ObjectSpec | None:
    spec = _OBJECTS.get(object_type)
    if spec is None and _dynamic_provider is not None:
        return dynamic().get(object_type)
    return spec


def objects(*, custom: bool = True) -> list[ObjectSpec]:
    """Every object type: built-in, then (`custom`) the custom objects."""
    out = list(_OBJECTS.values())
    if custom:
        out.extend(dynamic().values())
    return out


def builtin_types() -> set[str]:
    return set(_OBJECTS)


def type_of(obj: Any) -> str | None:
    """The object type of record `obj` (a custom record's is its custom object's key)."""
    if getattr(type(obj), "is_custom_record", False):
        kind_id = getattr(obj, "kind_id", None)
        return next((s.key for s in dynamic().values() if s.custom_object_id == kind_id), None)
    spec = for_model(type(obj))
    return spec.key if spec is not None else None


def for_model(model: type[models.Model]) -> ObjectSpec | None:
    """The built-in object type of `model` (custom objects share one model: ask by key)."""
    for spec in _OBJECTS.values():
        if spec.model is model or issubclass(model, spec.model):
            return spec
    return None


def label_of(object_type: str, key: str) -> str:
    """A field's heading for audit lines and messages ("Amount"); the key if unknown."""
    spec = find(object_type)
    f = spec.field(key) if spec else None
    return f.title if f else key


# -- building specs from models ----------------------------------------------------------


#: Model field classes and the type their values have, most specific first (a
#: DateTimeField is a DateField).
_TYPES: tuple[tuple[type, str], ...] = (
    (models.BooleanField, BOOL),
    (models.EmailField, EMAIL),
    (models.URLField, URL),
    (models.DateTimeField, DATETIME),
    (models.DateField, DATE),
    (models.DecimalField, NUMBER),
    (models.IntegerField, INTEGER),
    (models.FloatField, NUMBER),
    (models.TextField, LONG_TEXT),
    (models.JSONField, JSON),
)


def _type_of(mf: Any) -> str:
    if isinstance(mf, models.ManyToManyField):
        return MANY_REF
    if isinstance(mf, models.ForeignKey):
        return REF
    if mf.choices:
        return CHOICE
    return next((t for cls, t in _TYPES if isinstance(mf, cls)), TEXT)


#: Related models' object types, for references to records that are not object types.
_REF_NAMES = {
    "users.user": ("user", "username"),
    "users.team": ("team", "name"),
    "pipeline.stage": ("stage", "name"),
    "pipeline.pipeline": ("pipeline", "name"),
    "org.currency": ("currency", "code"),
    "crm.tag": ("tag", "name"),
    "crm.contract": ("contract", "number"),
    "crm.quote": ("quote", "number"),
    "crm.paymentplan": ("payment_plan", "due_on"),
}


def _ref_of(mf: Any) -> tuple[str, str]:
    related = mf.related_model
    label = related._meta.label_lower
    if label in _REF_NAMES:
        return _REF_NAMES[label]
    object_type = getattr(related, "object_type", "") or related._meta.model_name
    title = "name" if any(f.name == "name" for f in related._meta.fields) else "pk"
    return object_type, title


def _from_model(model: type[models.Model], mf: Any, owner_field: str | None) -> FieldSpec:
    ftype = _type_of(mf)
    ref, name_path, attname, path = "", "", getattr(mf, "attname", mf.name), mf.name
    if ftype in (REF, MANY_REF):
        ref, title = _ref_of(mf)
        name_path = f"{mf.name}__{title}"
        path = f"{mf.name}_id" if ftype == REF else mf.name
    default = mf.default if mf.has_default() and not callable(mf.default) else None
    required = not (mf.blank or mf.null or mf.has_default()) and ftype not in (BOOL, MANY_REF)
    stamp = mf.name in STAMPS
    return FieldSpec(
        key=mf.name,
        label=mf.verbose_name,
        type=ftype,
        path=path,
        attname=attname,
        ref=ref,
        name_path=name_path,
        choices=tuple((str(v), label) for v, label in (mf.choices or ())),
        required=required,
        default=default,
        editable=bool(mf.editable) and not mf.primary_key and not stamp,
        # API clients sync by the time of the last change.
        sortable=stamp,
        help_text=mf.help_text,
        max_length=getattr(mf, "max_length", None),
        owner=mf.name == owner_field,
    )


def _apply(spec: FieldSpec, d: Declare) -> FieldSpec:
    changes: dict[str, Any] = {}
    for name in (
        "label",
        "type",
        "path",
        "ref",
        "name_path",
        "picklist",
        "required",
        "editable",
        "sortable",
        "filterable",
        "searchable",
        "list_default",
        "card",
        "currency_path",
        "derived",
        "internal",
        "shown_as",
        "percent",
    ):
        value = getattr(d, name)
        if value is not None:
            changes[name] = value
    if d.rate_date_path != "unset":
        changes["rate_date_path"] = d.rate_date_path
    if d.aliases:
        changes["aliases"] = d.aliases
    if d.hidden_by:
        changes["hidden_by"] = d.hidden_by
    if d.picklist:
        changes["type"] = d.type or CHOICE
    return replace(spec, **changes)


def build_fields(
    model: type[models.Model],
    object_type: str,
    *,
    fields: Iterable[Declare] = (),
    exclude: Iterable[str] = (),
) -> list[FieldSpec]:
    """The fields of `model` as an object type's: every concrete field (less `exclude`
    and the bookkeeping columns) in the model's order, times last, with `fields`'
    declarations applied."""
    owner_field = getattr(model, "owner_field", None)
    declared = {d.key: d for d in fields}
    skip = set(exclude) | INTERNAL | {"id"}
    built: list[FieldSpec] = []
    model_fields = [*model._meta.concrete_fields, *model._meta.many_to_many]
    model_fields.sort(key=lambda mf: mf.name in STAMPS)
    for mf in model_fields:
        if mf.name in skip:
            continue
        spec = _from_model(model, mf, owner_field)
        if mf.name in declared:
            spec = _apply(spec, declared.pop(mf.name))
        built.append(spec)
    for d in list(declared.values()):
        if d.type is None:
            raise ValueError(f"{object_type}.{d.key}: not a field of {model.__name__}")
        built.append(
            _apply(FieldSpec(key=d.key, label=d.label or d.key, type=d.type, path=d.path or ""), d)
        )
    return built


def register(
    model: type[models.Model],
    *,
    key: str | None = None,
    label: Any = None,
    plural: Any = None,
    title_field: str = "name",
    fields: Iterable[Declare] = (),
    exclude: Iterable[str] = (),
    extra: Iterable[FieldSpec] = (),
    import_extras: Iterable[FieldSpec] = (),
    dedupe: Iterable[str] = (),
    detail_url: str = "",
    list_url: str = "",
    customisable: bool = True,
    field_security: bool = True,
) -> ObjectSpec:
    """Register `model` as an object type. Every concrete field of the model is a field
    of the object (less `exclude` and the internal bookkeeping columns), in the model's
    order; `fields` add what the model cannot say; `extra` adds fields the model does
    not have (derived or computed). Registering a key again replaces it."""
    object_type = key or model.object_type  # type: ignore[attr-defined]
    owner_field = getattr(model, "owner_field", None)
    built = build_fields(model, object_type, fields=fields, exclude=exclude)
    built.extend(extra)
    keys = [f.key for f in built]
    if len(keys) != len(set(keys)):
        raise ValueError(f"{object_type}: a field is declared twice")
    obj = ObjectSpec(
        key=object_type,
        model=model,
        label=label or capfirst(model._meta.verbose_name),
        plural=plural or capfirst(model._meta.verbose_name_plural),
        owner_field=owner_field,
        title_field=title_field,
        base_fields=tuple(built),
        detail_url=detail_url,
        list_url=list_url,
        import_extras=tuple(import_extras),
        dedupe=tuple(dedupe),
        customisable=customisable,
        field_security=field_security,
    )
    _OBJECTS[object_type] = obj
    return obj


def builtin_keys(object_type: str, *, spec: ObjectSpec | None = None) -> set[str]:
    """Names a custom field of `object_type` (described by `spec` when it is not
    registered yet, e.g. a template's custom object) may not take."""
    spec = spec or find(object_type)
    reserved = {
        "id",
        "custom",
        "owner",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted_by",
        "version",
    }
    if spec is None:
        return reserved
    return reserved | {f.key for f in spec.base_fields} | {f.key for f in spec.import_extras}


def derived(object_type: str, via: str, key: str, label: Any, *, type: str = TEXT) -> FieldSpec:
    """A field read through a related record: a deal's customer's industry is
    `derived("customer", "customer", "industry", ...)` keyed "customer.industry", and
    hidden whenever the customer's industry is hidden."""
    return FieldSpec(
        key=f"{via}.{key}",
        label=label,
        type=type,
        path=f"{via}__{key}",
        editable=False,
        derived=True,
        hidden_by=((object_type, key),),
    )


OWNER_LABEL = _("owner")
