"""Per-request personal settings: the signed-in user's language and the organisation's
time zone, so every page shows dates, numbers and messages the way its reader expects;
and where a change came from (web, admin, api) for the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone, translation

from salesops.audit.services import source as audit_source
from salesops.org.models import Organisation
from salesops.users import account_services

LANGUAGES = {code for code, _name in settings.LANGUAGES}


class PersonalSettingsMiddleware:
    """After authentication: activate the user's saved language (over the browser's) and
    the organisation's time zone; `request.org` is the organisation."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(("/api/", "/static/")):
            with audit_source("api"):
                return self.get_response(request)
        user: Any = request.user
        if user.is_authenticated and user.language in LANGUAGES:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        org = Organisation.get()
        request.org = org  # type: ignore[attr-defined]
        timezone.activate(org.tz)
        try:
            with audit_source("admin" if request.path.startswith("/admin/") else "web"):
                return self.get_response(request)
        finally:
            timezone.deactivate()


class TwoFactorRequiredMiddleware:
    """Where the organisation requires it, an administrator without two-factor sign-in
    is sent to set it up (every page but that one, signing out and the language), and
    one whose session did not pass the second step is signed in again."""

    ALLOWED = ("/account/two-factor/", "/logout/", "/language/", "/static/", "/api/", "/login/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user: Any = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(self.ALLOWED)
            and Organisation.get().require_admin_two_factor
            and not user.is_verified()
            and account_services.is_admin(user)
        ):
            if account_services.has_two_factor(user):
                logout(request)
                return HttpResponseRedirect(
                    reverse("login") + "?" + urlencode({"next": request.path})
                )
            return HttpResponseRedirect(reverse("account_two_factor"))
        return self.get_response(request)
