"""The signed-in person of a request, typed (the views require a login first)."""

from typing import Any, cast

from django.http import HttpRequest

from salesops.users.models import User


def me(request: HttpRequest | Any) -> User:
    return cast(User, request.user)
