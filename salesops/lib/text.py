"""The one rule for text that cannot be stored: a NUL character (U+0000). PostgreSQL
refuses it in text and JSON; SQLite would keep it and break exports. It is refused
with a message naming the field, on both databases, by:

- every model's text fields (CharField, TextField, JSONField) through `full_clean`:
  `add_nul_validators` runs when the apps are ready (the validator is added to the
  field's computed `validators`, not to its declaration, so migrations do not change);
- the API's body and query parser (`salesops.api.api.Parser`), with `nul_path`;
- imports, in `imports.reading` (a row containing one is named).
"""

from __future__ import annotations

from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

NUL_MESSAGE = _("Remove the NUL character (\\0) from this text: it cannot be stored.")


class NoNul(ProhibitNullCharactersValidator):
    message = NUL_MESSAGE
    code = "null_characters_not_allowed"


no_nul = NoNul()


def nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path ("items.3.name", "custom.note") of the first text in `value`
    (a string, or dicts and lists of them, keys included) containing NUL; None if none."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            if (found := nul_path(item, here)) is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if (found := nul_path(item, f"{path}.{i}" if path else str(i))) is not None:
                return found
    return None


def _no_nul_anywhere(value: Any) -> None:
    if nul_path(value) is not None:
        no_nul("\x00")


def add_nul_validators(model_classes: Any) -> None:
    for model in model_classes:
        for f in model._meta.concrete_fields:
            if isinstance(f, models.CharField | models.TextField):
                check: Any = no_nul
            elif isinstance(f, models.JSONField):
                check = _no_nul_anywhere
            else:
                continue
            if check not in f.validators:
                f.__dict__["validators"] = [*f.validators, check]
