"""Audit entries as people read them: fields named by the metadata registry's labels
(custom fields too), values in the reader's language (money with its currency, dates
in the organisation's time zone, choices and picklist values by their label); a field
the field policy hides from the reader is only "a hidden field".

Pure formatting over the stored JSON: no query per entry (custom-field definitions and
picklists come from their per-process caches), so a timeline costs the same whatever
its length.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from salesops.audit.models import AuditEntry
from salesops.customization import policy, registry
from salesops.customization.registry import FieldSpec
from salesops.web.templatetags.web import DASH, day, format_money, format_number, moment


@dataclass
class Change:
    label: str = ""
    old: str = ""
    new: str = ""
    hidden: bool = False


@dataclass
class Described:
    """One entry ready for a template."""

    entry: AuditEntry
    who: str
    action: str
    changes: list[Change] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    #: What happened, as sentences in the reader's language.
    lines: list[str] = field(default_factory=list)

    @property
    def hidden_only(self) -> bool:
        return bool(self.changes) and all(c.hidden for c in self.changes)


def model_of(object_type: str) -> Any:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def who(entry: AuditEntry) -> str:
    return entry.actor_name or _("The system")


def describe(entry: AuditEntry, viewer: Any) -> Described:
    model = model_of(entry.object_type)
    spec = registry.for_model(model) if model is not None else None
    kind = spec.key if spec is not None else ""
    hidden = policy.hidden_keys(viewer, kind) if kind else frozenset()
    changes: list[Change] = []
    facts: dict[str, Any] = {}
    if entry.action == AuditEntry.Action.IMPORTED:
        facts = dict(entry.changes or {})
    else:
        if entry.action == AuditEntry.Action.MERGED:
            facts = {"merged_from": (entry.changes or {}).get("merged_from") or []}
        for name, pair in sorted((entry.changes or {}).items()):
            if not isinstance(pair, dict) or "new" not in pair:
                continue
            changes.append(_change(kind, name, pair, hidden))
    # One "a hidden field was changed" line, however many hidden fields changed.
    visible = [c for c in changes if not c.hidden]
    if len(visible) < len(changes):
        visible.append(Change(hidden=True))
    described = Described(
        entry=entry, who=who(entry), action=entry.action, changes=visible, facts=facts
    )
    described.lines = sentences(described)
    return described


def sentences(d: Described) -> list[str]:
    """The entry in words: a headline for events, one sentence per changed field."""
    A = AuditEntry.Action
    names = {"who": d.who}
    if d.action == A.IMPORTED:
        count = int(d.facts.get("count") or 0)
        return [
            ngettext(
                "%(who)s imported %(count)s record.", "%(who)s imported %(count)s records.", count
            )
            % {**names, "count": format_number(count)}
        ]
    if d.action == A.RECLAIMED:
        owner = next((c.old for c in d.changes if not c.hidden), DASH)
        return [
            _("Returned to the public pool automatically (the owner was %(owner)s).")
            % {"owner": owner}
        ]
    if d.action == A.MERGED:
        merged = d.facts.get("merged_from") or []
        labels = ", ".join(str(m.get("label") or f"#{m.get('id')}") for m in merged)
        return [
            ngettext(
                "%(who)s merged %(count)s record into this one: %(records)s.",
                "%(who)s merged %(count)s records into this one: %(records)s.",
                len(merged),
            )
            % {**names, "count": format_number(len(merged), 0), "records": labels},
            *(_change_sentence(d.who, c) for c in d.changes),
        ]
    headline = HEADLINES.get(d.action)
    if headline is not None:
        return [str(headline) % names]
    return [_change_sentence(d.who, c) for c in d.changes]


def _change_sentence(who: str, c: Change) -> str:
    if c.hidden:
        return _("%(who)s changed a hidden field.") % {"who": who}
    values = {"who": who, "field": c.label, "old": c.old, "new": c.new}
    if c.old == DASH:
        return _("%(who)s set %(field)s to %(new)s.") % values
    if c.new == DASH:
        return _("%(who)s cleared %(field)s (it was %(old)s).") % values
    return _("%(who)s changed %(field)s from %(old)s to %(new)s.") % values


#: Events told in one sentence (updates and owner changes list their fields instead).
HEADLINES: dict[str, Any] = {
    AuditEntry.Action.CREATED: gettext_lazy("%(who)s created this record."),
    AuditEntry.Action.DELETED: gettext_lazy("%(who)s deleted this record."),
    AuditEntry.Action.RESTORED: gettext_lazy("%(who)s restored this record."),
    AuditEntry.Action.PURGED: gettext_lazy("%(who)s removed this record for good."),
    AuditEntry.Action.CLAIMED: gettext_lazy("%(who)s claimed it from the public pool."),
    AuditEntry.Action.RELEASED: gettext_lazy("%(who)s released it to the public pool."),
    AuditEntry.Action.WON: gettext_lazy("%(who)s marked it won."),
    AuditEntry.Action.LOST: gettext_lazy("%(who)s marked it lost."),
    AuditEntry.Action.REOPENED: gettext_lazy("%(who)s reopened it."),
    AuditEntry.Action.COMPLETED: gettext_lazy("%(who)s marked it done."),
}


def _change(kind: str, name: str, pair: dict[str, Any], hidden: frozenset[str]) -> Change:
    """One changed field: its label from the registry and its values as the reader
    reads them; a field hidden from the reader (custom ones by key or `custom.<key>`)
    only as "a hidden field"."""
    key = name.removeprefix("custom.")
    if name in hidden or key in hidden:
        return Change(hidden=True)
    spec = registry.find(kind)
    field = spec.field(key) if spec is not None else None
    return Change(
        label=registry.label_of(kind, key) if kind else key,
        old=value_text(field, pair.get("old")),
        new=value_text(field, pair.get("new")),
    )


def _aware(text: Any) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return timezone.localtime(value)


def _date(text: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        return None


def _decimal(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None


def value_text(spec: FieldSpec | None, value: Any) -> str:
    """A stored value of a field as the reader reads it: choices and picklist values by
    their label, money with its currency, times in the organisation's time zone."""
    if value is None or value == "" or value == []:
        return DASH
    if isinstance(value, dict) and "currency" in value:
        return format_money(_decimal(value.get("amount")), value.get("currency") or "")
    if isinstance(value, dict) and "id" in value:
        return str(value.get("label") or f"#{value['id']}")
    t = spec.type if spec is not None else ""
    if isinstance(value, list):
        return ", ".join(value_text(spec if t == registry.MULTI_CHOICE else None, v) for v in value)
    if t in (registry.CHOICE, registry.MULTI_CHOICE):
        return str(spec.choice_label(value)) if spec is not None else str(value)
    if t == registry.DATETIME:
        moment_value = _aware(value)
        return moment(moment_value) if moment_value else str(value)
    if t == registry.DATE:
        date_value = _date(value)
        return day(date_value) if date_value else str(value)
    if t == registry.BOOL or isinstance(value, bool):
        return _("Yes") if value else _("No")
    if t in (registry.NUMBER, registry.MONEY):
        number = _decimal(value)
        if number is None:
            return str(value)
        if spec is not None and spec.is_custom and t == registry.NUMBER:
            return format_number(number, 0 if number == number.to_integral_value() else 2)
        return format_number(number, 2)
    return str(value)
