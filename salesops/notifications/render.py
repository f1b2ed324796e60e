"""Notices as a reader sees them: title and body in the active language, and the
record's name and link only while the reader may still see the record (their role's
rights and data scope now, not when the notice was sent; a deleted record is gone)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch

from salesops.customization import registry
from salesops.notifications import kinds
from salesops.notifications.models import Notification


@dataclass(frozen=True)
class Shown:
    notice: Notification
    title: str
    body: str
    kind_label: Any
    #: The record page; "" when there is no record or the reader may not see it.
    url: str
    #: (object type, id) of the record while the reader may see it, else None.
    record: tuple[str, int] | None = None

    @property
    def unread(self) -> bool:
        return self.notice.read_at is None


def visible_names(reader: Any, notices: Iterable[Notification]) -> dict[tuple[str, int], str]:
    """(object type, id) → record name, for the records of `notices` that `reader` may
    see: one query per object type."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for n in notices:
        if n.object_type and n.object_id is not None:
            wanted[n.object_type].add(n.object_id)
    names: dict[tuple[str, int], str] = {}
    for object_type, ids in wanted.items():
        spec = registry.find(object_type)
        if spec is None:
            continue
        rows = spec.visible(reader).filter(pk__in=ids).values_list("pk", spec.title_field)
        names.update({(object_type, pk): str(name) for pk, name in rows})
    return names


def _url(object_type: str, pk: int) -> str:
    spec = registry.find(object_type)
    try:
        return spec.record_url(pk) if spec is not None else ""
    except NoReverseMatch:
        return ""


def show(reader: Any, notices: Iterable[Notification]) -> list[Shown]:
    """Render `notices` (all the reader's own) for `reader`, in the active language."""
    notices = list(notices)
    names = visible_names(reader, notices)
    out = []
    for n in notices:
        ref = (n.object_type, n.object_id) if n.object_id is not None else None
        name = names.get(ref) if ref is not None else None
        kind = kinds.get(n.kind)
        title, body = kind.messages(kinds.Notice(params=n.params, name=name, reader=reader))
        url = _url(n.object_type, n.object_id) if name is not None and n.object_id else ""
        out.append(
            Shown(
                notice=n,
                title=title,
                body=body,
                kind_label=kind.label,
                url=url,
                record=ref if name is not None else None,
            )
        )
    return out


def as_recipient(notice: Notification) -> str:
    """The notice's title and body as its recipient reads them (their language and
    access): what the e-mail says, and what tests check."""
    from django.utils import translation

    reader = notice.recipient
    with translation.override(reader.language or None):
        shown = show(reader, [notice])[0]
    return " ".join(filter(None, [shown.title, shown.body]))
