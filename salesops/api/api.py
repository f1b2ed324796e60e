"""The NinjaAPI of v1: authentication, error shapes, idempotency, rate-limit headers,
the resources, the actions and the KPIs. Docs are served from ninja's own static
files (ninja is in INSTALLED_APPS): nothing is loaded from a CDN."""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest
from django.utils import translation
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI, Router
from ninja.openapi.docs import Swagger
from ninja.parser import Parser

from salesops.api import (
    errors,
    exports,
    forecast_stats,
    forecasts,
    imports,
    kpis,
    notifications,
    objects,
    objects_doc,
    pipeline_history,
)
from salesops.api.auth import SessionAuth, TokenAuth, rate_headers
from salesops.api.framework import register
from salesops.api.idempotency import idempotent
from salesops.api.resources import ALL
from salesops.lib.text import NUL_MESSAGE, nul_path


def _with_rate_headers(run: Any) -> Any:
    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return rate_headers(request, run(request, *args, **kwargs))

    return wrapper


class NulRefusingParser(Parser):
    """JSON bodies and query strings, refusing a NUL character anywhere in them
    (422 naming the field), which PostgreSQL could not store nor compare."""

    def _refuse_nul(self, data: Any) -> Any:
        path = nul_path(data)
        if path is not None:
            raise errors.ApiError(422, NUL_MESSAGE, {path: [str(NUL_MESSAGE)]})
        return data

    def parse_body(self, request: HttpRequest) -> Any:
        return self._refuse_nul(super().parse_body(request))

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> Any:
        return self._refuse_nul(super().parse_querydict(data, list_fields, request))


IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Send the same key to repeat a POST safely: the first response is replayed.",
    "schema": {"type": "string", "maxLength": 255},
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "The ETag you read; if the record changed since, the answer is 412.",
    "schema": {"type": "string"},
}
RATE_HEADERS = {
    "X-RateLimit-Limit": {"schema": {"type": "integer"}, "description": "Requests per window."},
    "X-RateLimit-Remaining": {"schema": {"type": "integer"}, "description": "Left this window."},
    "X-RateLimit-Reset": {"schema": {"type": "integer"}, "description": "Seconds to the next."},
}


class SalesopsAPI(NinjaAPI):
    """Adds what the views read from headers to the document: Idempotency-Key on POST,
    If-Match where a version is checked, ETag, rate-limit and Retry-After headers; and
    each active custom object's own paths and typed schemas (`objects_doc`).

    The document is cached per version of the custom-object definitions (and language
    and prefix): a new object or field gives a new document without a restart."""

    _documents: dict[tuple[str, str, str], Any]

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        key = (objects_doc.definitions_version(), translation.get_language() or "", path_prefix)
        documents = self.__dict__.setdefault("_documents", {})
        if key not in documents:
            if len(documents) > 32:
                documents.clear()
            documents[key] = self._build_document(path_prefix)
        return documents[key]

    def static_document(self) -> Any:
        """The document without the custom objects' own paths (the generic custom-object
        routes are in it): what the code alone defines, built without the database."""
        return self._build_document(self.get_root_path({}), with_objects=False)

    def _build_document(self, path_prefix: str, *, with_objects: bool = True) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix)
        if with_objects:
            objects_doc.add_objects(schema, path_prefix)
        for path, operations in schema["paths"].items():
            for method, op in operations.items():
                params = op.setdefault("parameters", [])
                responses = op["responses"]
                if "requestBody" in op and 422 in responses:
                    responses.setdefault(
                        413, {**responses[422], "description": "The body is over the limit"}
                    )
                if method == "post":
                    params.append(IDEMPOTENCY_KEY)
                if method in ("patch", "delete") or (method == "post" and "{id}" in path):
                    params.append(IF_MATCH)
                for status, response in op["responses"].items():
                    headers = response.setdefault("headers", {})
                    if status not in ("401",):
                        headers.update(RATE_HEADERS)
                    if status == "429":
                        headers["Retry-After"] = {
                            "schema": {"type": "integer"},
                            "description": "Seconds to wait.",
                        }
                    if status in ("200", "201", "412") and "412" in op["responses"]:
                        headers["ETag"] = {
                            "schema": {"type": "string"},
                            "description": "The record's version, for If-Match.",
                        }
        return schema


def build() -> SalesopsAPI:
    api = SalesopsAPI(
        title="Salesops API",
        version="1",
        description="Every object and action of Salesops. See docs/api.md.",
        urls_namespace="api-v1",
        auth=[TokenAuth(), SessionAuth()],
        docs=Swagger(settings={"persistAuthorization": False}),
        docs_url="/docs",
        openapi_url="/openapi.json",
        parser=NulRefusingParser(),
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
    api.add_router("", forecasts.router)
    api.add_router("", pipeline_history.router)
    api.add_router("", forecast_stats.router)
    api.add_router("", notifications.router)
    api.add_router("", objects.router)
    api.add_router("", exports.router)
    api.add_router("", imports.router)
    from salesops.api import merge

    api.add_router("", merge.router)
    from salesops.api import receivables

    api.add_router("", receivables.router)
    api.add_decorator(idempotent(api), mode="operation")
    api.add_decorator(_with_rate_headers, mode="view")
    return api


api = build()
