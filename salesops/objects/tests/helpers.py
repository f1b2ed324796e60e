"""A custom object defined the way an administrator does it, for tests of every layer:
"site_visit" (拜访) linking to customers, with a choice, a number, a date and a text."""

from __future__ import annotations

from typing import Any

from salesops.customization.models import CustomField
from salesops.objects import services

OUTCOMES = [
    {"value": "good", "label": "Good"},
    {"value": "bad", "label": "Bad"},
    {"value": "later", "label": "Later"},
]


def define_site_visit(cast: Any, *, key: str = "site_visit") -> Any:
    """Define the object after the app started (no restart), give it its fields, and
    read the roles afresh (as the next request would)."""
    obj = services.define_object(
        by=cast.admin,
        key=key,
        label="Site visit",
        plural="Site visits",
        title_label="Subject",
        links=["customer"],
    )
    for order, (fkey, label, ftype, extra) in enumerate(
        [
            ("outcome", "拜访结果", "select", {"options": OUTCOMES}),
            ("score", "评分", "number", {}),
            ("visited_on", "拜访日期", "date", {}),
            ("note", "Note", "text", {}),
        ]
    ):
        CustomField.objects.create(
            object_type=key, key=fkey, label=label, field_type=ftype, order=order, **extra
        )
    for person in (
        cast.admin,
        cast.analyst,
        cast.manager,
        cast.rep,
        cast.rep_east1,
        cast.teammate,
        cast.outsider,
    ):
        person.role.refresh_from_db()
    return obj


def hide(role: Any, object_type: str, *keys: str, users: tuple[Any, ...] = ()) -> None:
    """Hide `keys` of `object_type` from `role` (and forget what `users`, people of
    that role, had cached of the policy)."""
    from salesops.customization import policy

    role.hidden_fields = {**(role.hidden_fields or {}), object_type: list(keys)}
    role.save()
    for user in users:
        policy.forget(user)
