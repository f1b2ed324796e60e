"""Per-request personal settings: the signed-in user's language and the organisation's
time zone, so every page shows dates, numbers and messages the way its reader expects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from salesops.org.models import Organisation

LANGUAGES = {code for code, _name in settings.LANGUAGES}


class PersonalSettingsMiddleware:
    """After authentication: activate the user's saved language (over the browser's) and
    the organisation's time zone; `request.org` is the organisation."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(("/api/", "/static/")):
            return self.get_response(request)
        user: Any = request.user
        if user.is_authenticated and user.language in LANGUAGES:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        org = Organisation.get()
        request.org = org  # type: ignore[attr-defined]
        timezone.activate(org.tz)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
