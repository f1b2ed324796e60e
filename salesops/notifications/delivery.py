"""E-mailing notices: what the worker runs (at once, and the daily digest).

Each notice to mail is claimed with a conditional UPDATE (not yet mailed, claim and
attempt count unchanged since read), so two workers never mail the same notice; a
claim left by a worker that died is taken again after STALE_CLAIM. Each recipient's
mail is built as them: their language, and the record named and linked only while they
may still see it. Delivery is at least once: a crash between the SMTP server accepting a
message and the notice recording it sends that one message again (as decision 0005).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesops.notifications.models import Email, Notification
from salesops.notifications.render import show

logger = logging.getLogger(__name__)

#: A claim older than this lost its worker (or its SMTP server): the notice is mailed
#: again by the next round.
STALE_CLAIM = dt.timedelta(minutes=10)
#: Attempts per notice before it is left unmailed (it stays in the app).
MAX_ATTEMPTS = 5
#: Notices mailed per round (one digest holds at most this many).
BATCH = 200


def waiting(*, email: str, now: dt.datetime) -> QuerySet[Notification]:
    """Notices still to mail in the `email` manner, not held by a live claim."""
    return Notification.objects.filter(
        email=email, emailed_at__isnull=True, email_attempts__lt=MAX_ATTEMPTS
    ).filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - STALE_CLAIM))


def unsent(*, email: str) -> QuerySet[Notification]:
    """Notices still to mail in the `email` manner that will be tried again (claimed or
    not)."""
    return Notification.objects.filter(
        email=email, emailed_at__isnull=True, email_attempts__lt=MAX_ATTEMPTS
    )


def _claim(notices: Iterable[Notification], now: dt.datetime) -> list[Notification]:
    taken = []
    for n in notices:
        if Notification.objects.filter(
            pk=n.pk,
            emailed_at__isnull=True,
            email_claimed_at=n.email_claimed_at,
            email_attempts=n.email_attempts,
        ).update(email_claimed_at=now, email_attempts=F("email_attempts") + 1):
            taken.append(n)
    return taken


def _mailed(notices: list[Notification], now: dt.datetime) -> None:
    Notification.objects.filter(pk__in=[n.pk for n in notices]).update(emailed_at=now)


def _absolute(path: str) -> str:
    return settings.SITE_ROOT.rstrip("/") + path if path else ""


def _message(recipient: Any, notices: list[Notification], *, digest: bool) -> EmailMessage:
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        shown = show(recipient, notices)
        lines = [
            {"title": s.title, "body": s.body, "url": _absolute(s.url), "at": s.notice.created_at}
            for s in shown
        ]
        if digest:
            subject = ngettext(
                "Salesops: %(count)d new notification",
                "Salesops: %(count)d new notifications",
                len(lines),
            ) % {"count": len(lines)}
        else:
            subject = _("Salesops: %(title)s") % {"title": lines[0]["title"]}
        text = render_to_string(
            "notifications/email/notices.txt",
            {
                "recipient": recipient,
                "lines": lines,
                "digest": digest,
                "list_url": _absolute(reverse("notifications")),
                "settings_url": _absolute(reverse("notification_settings")),
            },
        )
    # Subjects are one line (a record name may hold a line break).
    subject = " ".join(subject.split())[:200]
    return EmailMessage(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[recipient.email]
    )


def _deliver(
    recipient: Any, notices: list[Notification], now: dt.datetime, *, digest: bool
) -> bool:
    """Mail claimed `notices` to `recipient`; False if the SMTP server failed (the claim
    then expires and the next round tries again)."""
    if not recipient.email or not recipient.is_active:
        _mailed(notices, now)  # nowhere to send: they stay in the app
        return True
    connection = mail.mailers.default
    try:
        connection.send_messages([_message(recipient, notices, digest=digest)])
    except Exception as e:  # SMTP refusals, connection errors, timeouts
        logger.warning("Notifications: mailing %s failed: %s: %s", recipient, type(e).__name__, e)
        return False
    finally:
        connection.close()
    _mailed(notices, now)
    return True


def send_immediate(*, now: dt.datetime | None = None, limit: int = BATCH) -> int:
    """Mail the notices their recipients want at once; how many were mailed. Stops the
    round at the first SMTP failure (the server is likely down for everyone)."""
    now = now or timezone.now()
    due = list(
        waiting(email=Email.IMMEDIATE, now=now)
        .select_related("recipient")
        .order_by("created_at", "id")[:limit]
    )
    sent = 0
    for notice in due:
        if not _claim([notice], now):
            continue
        if not _deliver(notice.recipient, [notice], now, digest=False):
            break
        sent += 1
    return sent


def send_digests(*, now: dt.datetime | None = None) -> int:
    """Mail each recipient one digest of their notices waiting for it; how many digests."""
    now = now or timezone.now()
    recipients = (
        waiting(email=Email.DIGEST, now=now)
        .order_by()
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    sent = 0
    for recipient_id in list(recipients):
        notices = list(
            waiting(email=Email.DIGEST, now=now)
            .filter(recipient_id=recipient_id)
            .select_related("recipient")
            .order_by("created_at", "id")[:BATCH]
        )
        taken = _claim(notices, now)
        if not taken:
            continue
        if not _deliver(taken[0].recipient, taken, now, digest=True):
            break
        sent += 1
    return sent
