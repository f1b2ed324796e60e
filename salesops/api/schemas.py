"""Pydantic schemas built from the models' own fields, so the OpenAPI document states
each field's type, choices and length exactly as the database does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal, Optional, Union

from django.db import models
from ninja import Schema
from pydantic import ConfigDict, Field, create_model


class Strict(Schema):
    """An input body: unknown fields (owner, team, version, ids…) are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Out(Schema):
    """A record as returned: no field beyond those documented."""

    model_config = ConfigDict(extra="forbid")


class DuplicateOut(Schema):
    """An existing record the one sent looks like (only what the caller may see)."""

    id: int
    name: str
    #: Keys of the fields that matched (name, phone, e-mail...).
    matched: list[str]


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None
    #: On 409 for a possible duplicate: the records it looks like. Send the request
    #: again with `?allow_duplicate=true` to save it anyway.
    duplicates: list[DuplicateOut] | None = None


def base_type(field: models.Field, *, for_input: bool) -> Any:
    if isinstance(field, models.ForeignKey):
        return base_type(field.target_field, for_input=for_input)
    if field.choices and for_input and not isinstance(field, models.BooleanField):
        return Literal[tuple(str(v) for v, _label in field.flatchoices)]
    if isinstance(field, models.BooleanField):
        return bool
    if isinstance(field, models.DecimalField):
        return Decimal if for_input else str
    if isinstance(field, models.DateTimeField):
        return dt.datetime
    if isinstance(field, models.DateField):
        return dt.date
    if isinstance(field, models.AutoField | models.IntegerField):
        return int
    if isinstance(field, models.JSONField):
        return Any
    return str


def out_schema(
    name: str,
    model: type[models.Model],
    fields: list[str],
    *,
    extra: dict[str, Any] | None = None,
    expand: dict[str, Any] | None = None,
) -> type[Schema]:
    """Every field but `id` may be absent (`fields=` chooses them); an expandable
    reference is its id, or the related object when `expand=` names it."""
    spec: dict[str, Any] = {}
    for name_ in [*fields, *(extra or {})]:
        if name_ in (extra or {}):
            spec[name_] = (Optional[extra[name_]], None)  # type: ignore[index]  # noqa: UP045
            continue
        field = model._meta.get_field(name_)
        typ = base_type(field, for_input=False)  # type: ignore[arg-type]
        if expand and name_ in expand:
            typ = Union[typ, expand[name_]]  # noqa: UP007
        if name_ == "id":
            spec[name_] = (typ, ...)
        else:
            spec[name_] = (Optional[typ], None)  # noqa: UP045
    return create_model(name, __base__=Out, **spec)


def in_schema(
    name: str,
    model: type[models.Model],
    fields: list[str],
    *,
    required: tuple[str, ...] = (),
    extra: dict[str, Any] | None = None,
    partial: bool = False,
) -> type[Schema]:
    """An input body. Fields not sent are not passed on (services apply defaults);
    null is accepted only where the column is nullable."""
    spec: dict[str, Any] = {}
    for name_ in fields:
        if name_ in (extra or {}):
            typ, default = extra[name_]  # type: ignore[index]
            spec[name_] = (typ, ... if name_ in required and not partial else default)
            continue
        field: Any = model._meta.get_field(name_)
        typ = base_type(field, for_input=True)
        constraints: dict[str, Any] = {}
        if isinstance(field, models.CharField) and field.max_length and not field.choices:
            constraints["max_length"] = field.max_length
        if isinstance(field, models.DecimalField):
            constraints["max_digits"] = field.max_digits
            constraints["decimal_places"] = field.decimal_places
        if field.null:
            typ = Optional[typ]  # noqa: UP045
        if name_ in required and not partial:
            spec[name_] = (typ, Field(..., **constraints))
        else:
            spec[name_] = (typ, Field(None, **constraints))
    return create_model(name, __base__=Strict, **spec)
