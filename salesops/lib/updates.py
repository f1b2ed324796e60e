"""Updating one record: only allow-listed fields, with an optimistic version check.

Every main model states which fields a person may change (`editable_fields`); owner,
team, status, timestamps, ids and anything else sent are refused with a message
naming them. A stale `version` (someone saved in between) is a `Conflict`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Conflict(Exception):
    """The record changed since the version the client read (HTTP 412 / a page message)."""

    def __init__(self, current_version: int) -> None:
        super().__init__(current_version)
        self.current_version = current_version
        self.message = _(
            "Someone else saved this record after you opened it. Reload it, then make your "
            "change again."
        )


def check_fields(data: dict[str, Any], allowed: set[str]) -> None:
    refused = sorted(set(data) - allowed)
    if refused:
        raise ValidationError(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(refused)}
        )


def check_version(obj: models.Model, version: int | None) -> None:
    current: int = obj.version  # type: ignore[attr-defined]
    if version is not None and version != current:
        raise Conflict(current)


def apply(obj: models.Model, data: dict[str, Any]) -> list[str]:
    """Set the fields on `obj`; FKs may be given as objects or ids (`field` or `field_id`)."""
    changed = []
    for name, value in data.items():
        field = obj._meta.get_field(name)
        if field.is_relation and not isinstance(value, models.Model) and value is not None:
            setattr(obj, f"{name}_id", value)
        else:
            setattr(obj, name, value)
        changed.append(name)
    return changed
