"""Who is calling: a personal API token (`Authorization: Bearer so_…`) or the session
of the app's own pages (with CSRF on unsafe methods), then the caller's rate limit.

A token acts as its user, never more: every query still goes through
`visible_to(user)`. A read-scope token is refused on every method but GET/HEAD/OPTIONS.
A deactivated user's tokens stop working at once (401).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import APIKeyCookie, HttpBearer

from salesops.api import ratelimit
from salesops.api.errors import ApiError
from salesops.api.tokens import find_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def check_rate(request: HttpRequest, principal: str) -> None:
    """Count the request against the caller's quota (shared by every worker process,
    see `salesops.api.ratelimit`); past it, 429 with Retry-After."""
    quota = ratelimit.hit(principal)
    request._ratelimit = (quota.limit, quota.remaining, quota.reset)  # type: ignore[attr-defined]
    if quota.exceeded:
        raise ApiError(
            429,
            _("Too many requests; wait %(s)s seconds and try again.") % {"s": quota.reset},
            headers={"Retry-After": str(quota.reset)},
        )


def _check_scope(request: HttpRequest, can_write: bool) -> None:
    if request.method not in SAFE_METHODS and not can_write:
        raise ApiError(403, _("This token is read-only; use a read_write token to make changes."))


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        value = request.headers.get("Authorization", "")
        if not value:
            return None
        scheme, _sep, raw = value.partition(" ")
        token = find_token(raw.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            # A bad token is refused even when a session cookie comes along with it.
            raise ApiError(
                401,
                _("The API token is unknown, expired or revoked, or its user is deactivated."),
                headers={"WWW-Authenticate": 'Bearer realm="salesops", error="invalid_token"'},
            )
        request.user = token.user
        request.api_token = token  # type: ignore[attr-defined]
        request.principal = f"token:{token.pk}"  # type: ignore[attr-defined]
        check_rate(request, request.principal)  # type: ignore[attr-defined]
        _check_scope(request, token.can_write)
        return token.user

    def authenticate(self, request: HttpRequest, token: str) -> Any:  # pragma: no cover
        raise NotImplementedError


class SessionAuth(APIKeyCookie):
    """The signed-in session of the app's pages; CSRF is checked on unsafe methods."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        user: Any = request.user
        if not (user.is_authenticated and user.is_active):
            return None  # no session: a 401, not a CSRF failure
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user: Any = request.user
        if not (user.is_authenticated and user.is_active):
            return None
        request.principal = f"user:{user.pk}"  # type: ignore[attr-defined]
        check_rate(request, request.principal)  # type: ignore[attr-defined]
        return user


def rate_headers(request: HttpRequest, response: Any) -> Any:
    info = getattr(request, "_ratelimit", None)
    if info is not None:
        limit, remaining, reset = info
        response["X-RateLimit-Limit"] = str(limit)
        response["X-RateLimit-Remaining"] = str(remaining)
        response["X-RateLimit-Reset"] = str(reset)
    return response
