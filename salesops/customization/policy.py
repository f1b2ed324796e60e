"""The field policy, beside `visible_to`: which fields of an object type a person may
see and change. Every surface that shows, filters, sorts, searches, groups, exports or
writes a field asks here; nothing else reads the roles' hidden fields.

A hidden field is absent from output and refused as a filter, sort or group-by
(`FieldRefused`, a message saying which field); a search quietly leaves it out.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from salesops.customization import registry
from salesops.customization.registry import FieldSpec


class FieldRefused(ValidationError):
    """A request named a field that is unknown, hidden from the asker, or cannot be
    used that way (sorted, filtered, grouped)."""


def _role_hidden(user: Any, object_type: str) -> set[str]:
    if user is None or not hasattr(user, "hidden_fields"):
        return set()
    return set(user.hidden_fields(object_type))


def hidden_keys(user: Any, object_type: str) -> frozenset[str]:
    """Keys of `object_type`'s fields hidden from `user`: the role's list, and every
    field that reads a hidden field of another object (`hidden_by`). Cached per user
    object for the request."""
    if user is None:
        return frozenset()
    cache: dict[str, frozenset[str]] | None = getattr(user, "_hidden_keys_cache", None)
    if cache is None:
        cache = {}
        user._hidden_keys_cache = cache
    if object_type in cache:
        return cache[object_type]
    spec = registry.find(object_type)
    hidden = _role_hidden(user, object_type)
    if spec is not None:
        # Only what a role may hide is hidden (a stale entry naming the owner is not).
        hidden &= {f.key for f in spec.hideable()} | {k for k in hidden if spec.field(k) is None}
        for f in spec.fields(derived=True):
            by_other = any(key in _role_hidden(user, other) for other, key in f.hidden_by)
            # A derived field ("customer.industry") hides with the reference it reads
            # through ("customer").
            through = f.derived and "." in f.key and f.key.split(".", 1)[0] in hidden
            if by_other or through:
                hidden.add(f.key)
    result = frozenset(hidden)
    cache[object_type] = result
    return result


def forget(user: Any) -> None:
    """Drop the cached hidden keys (after the user's role changed)."""
    if user is not None:
        user.__dict__.pop("_hidden_keys_cache", None)


def can_see(user: Any, object_type: str, key: str) -> bool:
    return key not in hidden_keys(user, object_type)


def visible_fields(
    user: Any, object_type: str, *, derived: bool = False, custom: bool = True
) -> list[FieldSpec]:
    """The fields of `object_type` that `user` may see, in display order."""
    hidden = hidden_keys(user, object_type)
    spec = registry.get(object_type)
    return [f for f in spec.fields(derived=derived, custom=custom) if f.key not in hidden]


def visible_keys(user: Any, object_type: str, *, derived: bool = False) -> set[str]:
    return {f.key for f in visible_fields(user, object_type, derived=derived)}


def editable_fields(user: Any, object_type: str) -> list[FieldSpec]:
    """The fields `user` may set on a record of `object_type`: visible and editable.
    (Whether the user may edit that record at all is `has_right` and `visible_to`.)"""
    return [
        f
        for f in visible_fields(user, object_type)
        if f.editable and not f.derived and not f.internal
    ]


def field_for(user: Any, object_type: str, key: str, *, use: str = "filter") -> FieldSpec:
    """The field `key` of `object_type` for using it as `use` ("filter", "sort",
    "group", "show"), or FieldRefused. A hidden field is refused exactly as an unknown
    one, so the answer does not tell that it exists."""
    spec = registry.get(object_type)
    f = spec.field(key)
    if f is None or f.key in hidden_keys(user, object_type):
        raise FieldRefused(
            _("There is no field “%(key)s” you may use here.") % {"key": key}, code="unknown"
        )
    if use == "sort" and not f.sortable:
        raise FieldRefused(
            _("%(label)s cannot be sorted by.") % {"label": f.title}, code="not_sortable"
        )
    if use == "filter" and not f.filterable:
        raise FieldRefused(
            _("%(label)s cannot be filtered by.") % {"label": f.title}, code="not_filterable"
        )
    if use == "group" and not f.groupable:
        raise FieldRefused(
            _("%(label)s cannot be grouped by.") % {"label": f.title}, code="not_groupable"
        )
    return f


def searchable_paths(user: Any, object_type: str) -> list[str]:
    """ORM paths a free-text search of `object_type` may look in for `user`: the
    searchable fields they can see (a hidden phone number is never matched)."""
    hidden = hidden_keys(user, object_type)
    out = []
    for f in registry.get(object_type).fields(derived=True):
        if f.searchable and f.key not in hidden:
            out.append(f.name_path if f.type == registry.REF and f.name_path else f.path)
    return out


def strip_hidden(user: Any, object_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a record's output, custom values under "custom") without the keys hidden
    from `user`."""
    hidden = hidden_keys(user, object_type)
    if not hidden:
        return data
    out = {k: v for k, v in data.items() if k not in hidden}
    if isinstance(out.get("custom"), dict):
        out["custom"] = {k: v for k, v in out["custom"].items() if k not in hidden}
    return out


def refuse_hidden_writes(user: Any, object_type: str, keys: set[str]) -> None:
    """A write naming a field hidden from `user` is refused as naming an unknown one."""
    hidden = hidden_keys(user, object_type) & set(keys)
    if hidden:
        raise ValidationError(
            _("These fields cannot be set: %(f)s.") % {"f": ", ".join(sorted(hidden))}
        )
