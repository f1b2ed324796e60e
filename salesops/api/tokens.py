"""Creating, finding and revoking API tokens (the only write path for them)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.api.models import ApiToken
from salesops.users.models import User

TOKEN_PREFIX = "so_"  # noqa: S105 - a marker, not a secret
#: last_used_at is written at most this often per token (a write per request is waste).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class NewToken:
    token: ApiToken
    #: The secret, to show once; it is stored only as its hash.
    raw: str


@transaction.atomic
def create_token(
    *,
    user: User,
    name: str = "",
    scope: str = ApiToken.Scope.READ,
    days: int | None = None,
) -> NewToken:
    if not user.is_active:
        raise ValidationError({"user": _("%(name)s is deactivated.") % {"name": user}})
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": _("The scope must be read or read_write.")})
    if days is not None and days <= 0:
        raise ValidationError({"days": _("A token must be valid for at least one day.")})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=raw[:11],
        token_hash=hash_token(raw),
        scope=scope,
        expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
    )
    return NewToken(token, raw)


def revoke_token(*, token: ApiToken) -> ApiToken:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def revoke_tokens_of_deactivated(sender: Any, *, user: User, **kwargs: Any) -> int:
    """Receiver of `users.admin_services.user_deactivated`: revoke every live token of
    `user`, in the deactivating transaction; how many."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def find_token(raw: str) -> ApiToken | None:
    """The usable token for `raw` with its user and role loaded (one query), or None:
    unknown, revoked, expired, or its user deactivated."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__role")
        .filter(token_hash=hash_token(raw))
        .first()
    )
    if token is None or not token.is_usable() or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
