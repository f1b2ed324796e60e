"""The NinjaAPI of v1: authentication, error shapes, idempotency, rate-limit headers,
the resources, the actions and the KPIs. Docs are served from ninja's own static
files (ninja is in INSTALLED_APPS): nothing is loaded from a CDN."""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI, Router
from ninja.openapi.docs import Swagger

from salesops.api import errors, kpis
from salesops.api.auth import SessionAuth, TokenAuth, rate_headers
from salesops.api.framework import register
from salesops.api.idempotency import idempotent
from salesops.api.resources import ALL


def _with_rate_headers(run: Any) -> Any:
    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return rate_headers(request, run(request, *args, **kwargs))

    return wrapper


def build() -> NinjaAPI:
    api = NinjaAPI(
        title="Salesops API",
        version="1",
        description="Every object and action of Salesops. See docs/api.md.",
        urls_namespace="api-v1",
        auth=[TokenAuth(), SessionAuth()],
        docs=Swagger(settings={"persistAuthorization": False}),
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    errors.install(api)
    resources = Router()
    for resource in ALL:
        register(resources, resource)
    api.add_router("", resources)
    # The actions answer with the resources' schemas, which exist once registered.
    from salesops.api import actions

    api.add_router("", actions.router)
    api.add_router("", kpis.router)
    api.add_decorator(idempotent(api), mode="operation")
    api.add_decorator(_with_rate_headers, mode="view")
    return api


api = build()
