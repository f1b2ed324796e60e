"""Per-request personal settings: the signed-in user's language and the organisation's
time zone, so every page shows dates, numbers and messages the way its reader expects;
and where a change came from (web, admin, api) for the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from salesops.audit.services import source as audit_source
from salesops.org.models import Organisation

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
