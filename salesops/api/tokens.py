"""Creating, finding and revoking API tokens (the only write path for them)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.api.models import ApiToken
from salesops.audit import services as audit
from salesops.users.models import User

TOKEN_PREFIX = "so_"  # noqa: S105 - a marker, not a secret
#: last_used_at is written at most this often per token (a write per request is waste).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
#: The longest a token may be made valid for (ten years).
MAX_DAYS = 3650


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
    by: User | None = None,
) -> NewToken:
    """A token for `user` (made by `by`: the person themselves from their account page,
    or nobody from the `salesops token` command, who may make one for anyone)."""
    if by is not None and by.pk != user.pk:
        raise PermissionDenied(_("You may make API tokens only for yourself."))
    if not user.is_active:
        raise ValidationError({"user": _("%(name)s is deactivated.") % {"name": user}})
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": _("The scope must be read or read_write.")})
    if days is not None and days <= 0:
        raise ValidationError({"days": _("A token must be valid for at least one day.")})
    if days is not None and days > MAX_DAYS:
        raise ValidationError(
            {"days": _("A token may be valid for at most %(days)d days.") % {"days": MAX_DAYS}}
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=raw[:11],
        token_hash=hash_token(raw),
        scope=scope,
        expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
    )
    audit.record(
        by=by,
        obj=token,
        action=audit.Action.CREATED,
        changes=audit.values(token, ["user", "name", "prefix", "scope", "expires_at"]),
    )
    return NewToken(token, raw)


@transaction.atomic
def revoke_token(*, token: ApiToken, by: User | None = None) -> ApiToken:
    """Revoke `token` (by its owner, or by nobody from the `salesops token` command)."""
    if by is not None and by.pk != token.user_id:
        raise PermissionDenied(_("You may revoke only your own API tokens."))
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    forget_tokens()
    token.refresh_from_db()
    if revoked:
        audit.record(
            by=by,
            obj=token,
            action=audit.Action.UPDATED,
            changes={"revoked_at": {"old": None, "new": audit.plain(token.revoked_at)}},
        )
    return token


def revoke_tokens_of_deactivated(sender: Any, *, user: User, **kwargs: Any) -> int:
    """Receiver of `users.admin_services.user_deactivated`: revoke every live token of
    `user`, in the deactivating transaction; how many."""
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    forget_tokens()
    return revoked


#: Tokens found recently, with their user (and the user's data scope, computed once on
#: the user object), by token hash: {hash: (found at, token)}. Per process; entries live
#: API_AUTH_CACHE_SECONDS (default 5). A change to people, roles, teams, tokens or deal
#: collaborators empties it in the process that made the change (signals connected in
#: `apps.py`); other processes see it within those seconds.
_FOUND: dict[str, tuple[float, ApiToken]] = {}
_FOUND_MAX = 10_000


def cache_seconds() -> float:
    return float(getattr(settings, "API_AUTH_CACHE_SECONDS", 5))


def forget_tokens(*args: Any, **kwargs: Any) -> None:
    """Drop every remembered token (a signal receiver: permissions may have changed)."""
    _FOUND.clear()


def _lookup(digest: str) -> ApiToken | None:
    seconds = cache_seconds()
    now = time.monotonic()
    hit = _FOUND.get(digest)
    if hit is not None and now - hit[0] < seconds:
        return hit[1]
    token = ApiToken.objects.select_related("user", "user__role").filter(token_hash=digest).first()
    if token is not None and seconds > 0:
        if len(_FOUND) >= _FOUND_MAX:
            _FOUND.clear()
        _FOUND[digest] = (now, token)
    return token


def find_token(raw: str) -> ApiToken | None:
    """The usable token for `raw` with its user and role loaded (one query, or none
    within a few seconds of the last look-up), or None: unknown, revoked, expired, or
    its user deactivated."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = _lookup(hash_token(raw))
    if token is None or not token.is_usable() or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
