"""Audit entries as people read them: field labels and values in the reader's language,
money with its currency, dates in the organisation's time zone, choices by their label,
custom fields by their label; a field the reader's role hides is never shown.

Pure formatting over the stored JSON: no query per entry (custom-field definitions come
from their per-process cache), so a timeline costs the same whatever its length.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from salesops.audit.models import AuditEntry
from salesops.customization.models import CustomField
from salesops.customization.services import definitions
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
    kind = getattr(model, "object_type", "") if model is not None else ""
    hidden = viewer.hidden_fields(kind) if kind and hasattr(viewer, "hidden_fields") else set()
    changes: list[Change] = []
    facts: dict[str, Any] = {}
    if entry.action == AuditEntry.Action.IMPORTED:
        facts = dict(entry.changes or {})
    else:
        for name, pair in sorted((entry.changes or {}).items()):
            if not isinstance(pair, dict) or "new" not in pair:
                continue
            changes.append(_change(model, kind, name, pair, hidden))
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
    AuditEntry.Action.CLAIMED: gettext_lazy("%(who)s claimed it from the public pool."),
    AuditEntry.Action.RELEASED: gettext_lazy("%(who)s released it to the public pool."),
    AuditEntry.Action.WON: gettext_lazy("%(who)s marked it won."),
    AuditEntry.Action.LOST: gettext_lazy("%(who)s marked it lost."),
    AuditEntry.Action.REOPENED: gettext_lazy("%(who)s reopened it."),
    AuditEntry.Action.COMPLETED: gettext_lazy("%(who)s marked it done."),
}


def _change(model: Any, kind: str, name: str, pair: dict[str, Any], hidden: set[str]) -> Change:
    if name.startswith("custom."):
        key = name.removeprefix("custom.")
        if name in hidden or key in hidden:
            return Change(hidden=True)
        d = next((d for d in definitions(kind) if d.key == key), None) if kind else None
        return Change(
            label=d.label if d else key,
            old=_custom_text(d, pair.get("old")),
            new=_custom_text(d, pair.get("new")),
        )
    if name in hidden:
        return Change(hidden=True)
    model_field: Any = None
    if model is not None:
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            model_field = None
    label = capfirst(str(model_field.verbose_name)) if model_field is not None else name
    return Change(
        label=label,
        old=value_text(model_field, pair.get("old")),
        new=value_text(model_field, pair.get("new")),
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


def value_text(model_field: Any, value: Any) -> str:
    """A stored value of a model field as the reader reads it."""
    if value is None or value == "" or value == []:
        return DASH
    if isinstance(value, dict) and "currency" in value:
        return format_money(_decimal(value.get("amount")), value.get("currency") or "")
    if isinstance(value, dict) and "id" in value:
        return str(value.get("label") or f"#{value['id']}")
    if isinstance(value, list):
        return ", ".join(value_text(None, v) for v in value)
    if model_field is not None and model_field.choices:
        labels = {str(k): v for k, v in model_field.flatchoices}
        return str(labels.get(str(value), value))
    if isinstance(model_field, models.DateTimeField):
        moment_value = _aware(value)
        return moment(moment_value) if moment_value else str(value)
    if isinstance(model_field, models.DateField):
        date_value = _date(value)
        return day(date_value) if date_value else str(value)
    if isinstance(model_field, models.BooleanField) or isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(model_field, models.DecimalField):
        number = _decimal(value)
        return format_number(number, 2) if number is not None else str(value)
    return str(value)


def _custom_text(d: CustomField | None, value: Any) -> str:
    if value is None or value == "" or value == []:
        return DASH
    if d is None:
        return value_text(None, value)
    t = CustomField.Type
    labels = {str(o.get("value")): o.get("label") or o.get("value") for o in d.options or []}
    if d.field_type == t.SELECT:
        return str(labels.get(str(value), value))
    if d.field_type == t.MULTI_SELECT and isinstance(value, list):
        return ", ".join(str(labels.get(str(v), v)) for v in value)
    if d.field_type == t.BOOLEAN:
        return _("Yes") if value else _("No")
    if d.field_type == t.DATE:
        date_value = _date(value)
        return day(date_value) if date_value else str(value)
    if d.field_type == t.DATETIME:
        moment_value = _aware(value)
        return moment(moment_value) if moment_value else str(value)
    if d.field_type in (t.NUMBER, t.MONEY):
        number = _decimal(value)
        if number is None:
            return str(value)
        return format_number(number, 0 if number == number.to_integral_value() else 2)
    return value_text(None, value)
