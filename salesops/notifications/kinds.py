"""The kinds of notice, each with its messages. The hook for every source.

A source (the public pool, task reminders, hand-overs, and later automation rules and
approval flows) registers its kind once, from its app's `ready()`:

    kinds.register(Kind("approval_requested", _("Approval requested"), messages))

and sends with `services.notify(user, "approval_requested", obj, key=..., **params)`.
`messages(notice)` returns (title, body) in the active language; `notice.name` is the
record's name when the reader may still see the record, else None, and then neither
the title nor the body may say which record it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class Notice:
    """What a kind's messages are built from, for one reader."""

    params: dict[str, Any]
    #: The record's name if the reader may still see it; None otherwise (or no record).
    name: str | None
    reader: Any = None


@dataclass(frozen=True)
class Kind:
    key: str
    label: Any
    messages: Callable[[Notice], tuple[str, str]]
    #: The e-mail choice of people who have not chosen ("", "immediate", "digest").
    email_default: str = ""
    #: Shown on the preferences page (a kind kept only for old rows is not).
    choosable: bool = field(default=True)


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    """Add a kind (once per key; a second registration of the key replaces the first,
    so that reloading an app in a shell does not fail)."""
    _KINDS[kind.key] = kind


def get(key: str) -> Kind:
    kind = _KINDS.get(key)
    return kind if kind is not None else _UNKNOWN


def all_kinds(*, choosable: bool = True) -> list[Kind]:
    return [k for k in _KINDS.values() if k.choosable or not choosable]


# -- kinds that belong to no one source ---------------------------------------------------


def _assigned(notice: Notice) -> tuple[str, str]:
    by = notice.params.get("by") or _("Someone")
    if notice.name is None:
        return _("%(by)s handed you a record you can no longer open.") % {"by": by}, ""
    return _("%(by)s handed “%(name)s” to you.") % {"by": by, "name": notice.name}, ""


def _stored_text(notice: Notice) -> tuple[str, str]:
    # Notices written before kinds existed kept their sentence in one language only.
    return str(notice.params.get("message", "")), ""


def _unknown(notice: Notice) -> tuple[str, str]:
    return _("A notice of a kind this version does not know."), ""


_UNKNOWN = Kind("", gettext_lazy("Other"), _unknown, choosable=False)


def register_builtin() -> None:
    register(Kind("assigned", gettext_lazy("A record is handed to me"), _assigned))
    register(Kind("legacy", gettext_lazy("Earlier notices"), _stored_text, choosable=False))
