"""Sending notices and a person's own actions on them (read, preferences).

`notify` is what every source calls. It writes the in-app notice (and marks it for
e-mail) in the caller's transaction, so a hand-over that is rolled back notifies no one;
the worker mails it later. The (recipient, key) unique constraint makes each notice
exactly-once: a tick run twice, two workers, or a worker restarted half-way insert
nothing the second time.

Reading and preferences concern only the person's own rows; they write no audit entry
(they change no business record and nobody else's view).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.customization import registry
from salesops.lib.services import NotVisible
from salesops.notifications import kinds
from salesops.notifications.models import Email, Notification, Preference


@dataclass(frozen=True)
class Outgoing:
    """One notice to send (see `notify_many`)."""

    recipient_id: int
    kind: str
    key: str
    object_type: str = ""
    object_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict)


def outgoing(recipient_id: int, kind: str, obj: Any = None, *, key: str, **params: Any) -> Outgoing:
    """A notice about `obj` (a record of the metadata registry, or None)."""
    object_type = (registry.type_of(obj) or "") if obj is not None else ""
    return Outgoing(
        recipient_id=recipient_id,
        kind=kind,
        key=key[:200],
        object_type=object_type,
        object_id=obj.pk if obj is not None and object_type else None,
        params=params,
    )


def notify(user: Any, kind: str, obj: Any = None, *, key: str, **params: Any) -> bool:
    """Tell `user` about `obj`, once per `key`; True if this call created the notice.

    `params` are what the kind's messages need (JSON values: numbers, ISO dates, names
    of people); the record's own name is read when shown, as the reader may see it."""
    return notify_many([outgoing(user.pk, kind, obj, key=key, **params)]) == 1


def choices(user_ids: Iterable[int], kind_keys: Iterable[str]) -> dict[tuple[int, str], Any]:
    """(user, kind) → (in_app, email) for every pair, defaults where nobody chose."""
    user_ids, kind_keys = set(user_ids), set(kind_keys)
    chosen = {
        (p.user_id, p.kind): (p.in_app, p.email)
        for p in Preference.objects.filter(user_id__in=user_ids, kind__in=kind_keys)
    }
    return {
        (u, k): chosen.get((u, k), (True, kinds.get(k).email_default))
        for u in user_ids
        for k in kind_keys
    }


@transaction.atomic
def notify_many(items: Iterable[Outgoing]) -> int:
    """Send many notices at once (a page of the nightly pool job); how many were new.
    A notice nobody wants (neither in the app nor by e-mail) is not written."""
    items = list(items)
    if not items:
        return 0
    wanted = choices({i.recipient_id for i in items}, {i.kind for i in items})
    sent = set(
        Notification.objects.filter(
            recipient_id__in={i.recipient_id for i in items}, key__in={i.key for i in items}
        ).values_list("recipient_id", "key")
    )
    now = timezone.now()
    rows = []
    for item in items:
        in_app, email = wanted[(item.recipient_id, item.kind)]
        if (item.recipient_id, item.key) in sent or not (in_app or email):
            continue
        sent.add((item.recipient_id, item.key))
        rows.append(
            Notification(
                recipient_id=item.recipient_id,
                kind=item.kind,
                key=item.key,
                object_type=item.object_type,
                object_id=item.object_id,
                params=item.params,
                in_app=in_app,
                email=email,
                created_at=now,
            )
        )
    # A concurrent sender may insert the same keys in between: the unique constraint
    # turns those into no-ops.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# -- the reader's own actions -------------------------------------------------------------


def unread_count(user: Any) -> int:
    """The bell's number: one COUNT over the partial index of unread in-app notices."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.for_user(user).unread().count()


def page_of(
    user: Any, *, before: int | None = None, unread_only: bool = False, size: int = 30
) -> tuple[list[Notification], int | None]:
    """One page of `user`'s in-app notices, newest first, and the cursor of the next
    (the id to pass as `before`; None on the last page). Keyset on (created_at, id)."""
    qs = Notification.objects.for_user(user)
    if unread_only:
        qs = qs.unread()
    if before is not None:
        cursor = qs.filter(pk=before).values_list("created_at", "id").first()
        if cursor is None:
            return [], None  # not theirs, or gone: nothing after it
        qs = qs.filter(created_at__lte=cursor[0]).exclude(created_at=cursor[0], id__gte=cursor[1])
    rows = list(qs.order_by("-created_at", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, rows[-1].pk if more else None


def mark_read(*, user: Any, notification_id: int) -> Notification:
    """Mark one of `user`'s notices read. Another person's notice does not exist for
    them (NotVisible: the pages answer 404)."""
    notice = Notification.objects.for_user(user).filter(pk=notification_id).first()
    if notice is None:
        raise NotVisible(_("This notification does not exist or is not yours."))
    if notice.read_at is None:
        notice.read_at = timezone.now()
        Notification.objects.filter(pk=notice.pk, read_at__isnull=True).update(
            read_at=notice.read_at
        )
    return notice


def mark_all_read(*, user: Any) -> int:
    return Notification.objects.for_user(user).unread().update(read_at=timezone.now())


def preferences(user: Any) -> list[tuple[kinds.Kind, bool, str]]:
    """Each kind a person may choose for, with their choice (or the default)."""
    all_kinds = kinds.all_kinds()
    chosen = choices([user.pk], [k.key for k in all_kinds])
    return [(k, *chosen[(user.pk, k.key)]) for k in all_kinds]


@transaction.atomic
def set_preferences(*, user: Any, values: dict[str, tuple[bool, str]]) -> None:
    """Save `user`'s choices: kind → (in the app, e-mail choice). Unknown kinds or
    e-mail choices are refused whole, with a message naming them; nothing is saved."""
    known = {k.key for k in kinds.all_kinds()}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValidationError(
            _("There is no kind of notification called %(kinds)s.") % {"kinds": ", ".join(unknown)}
        )
    emails = {str(v) for v in Email.values}
    for kind, (_in_app, email) in values.items():
        if email not in emails:
            label = kinds.get(kind).label
            raise ValidationError(
                _("Choose how “%(kind)s” is e-mailed: not at all, at once or in the daily digest.")
                % {"kind": label}
            )
    for kind, (in_app, email) in values.items():
        Preference.objects.update_or_create(
            user_id=user.pk, kind=kind, defaults={"in_app": bool(in_app), "email": email}
        )


ASSIGNED = "assigned"


def assigned(*, obj: Any, to: Any, by: Any) -> None:
    """Tell `to` that `by` handed them `obj` (a hand-over, or a record created for
    them); nothing when people give records to themselves. Call it in the hand-over's
    transaction, after the record's version was raised: the key is the record's version,
    so each hand-over is one notice."""
    if to is None or by is None or to.pk == getattr(by, "pk", None):
        return
    object_type = registry.type_of(obj) or obj._meta.label_lower
    notify(to, ASSIGNED, obj, key=f"assigned:{object_type}:{obj.pk}:v{obj.version}", by=str(by))
