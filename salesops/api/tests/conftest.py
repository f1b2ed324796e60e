"""An API client that checks every response it gets against the OpenAPI document:
the route and status must be documented and the body must match the schema."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs
import pytest
from django.core.cache import cache
from django.test import Client

from salesops.api.api import api as ninja_api
from salesops.api.objects_doc import definitions_version
from salesops.api.tokens import create_token

_SPEC: dict[str, Any] | None = None
_SPEC_VERSION = ""
_VALIDATORS: dict[tuple[str, str, str], Any] = {}


def spec() -> dict[str, Any]:
    """The document as the API serves it now: it lists the custom objects defined at
    this moment, so it is read again (and the validators rebuilt) when they change."""
    global _SPEC, _SPEC_VERSION
    version = definitions_version()
    if _SPEC is None or version != _SPEC_VERSION:
        _SPEC = json.loads(json.dumps(ninja_api.get_openapi_schema(), default=str))
        _SPEC_VERSION = version
        _VALIDATORS.clear()
    return _SPEC


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$")


def find_operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    # Literal segments win over placeholders: /leads/bulk is not /leads/{id}.
    for template, ops in sorted(spec()["paths"].items(), key=lambda kv: kv[0].count("{")):
        if _template_regex(template).match(path) and method.lower() in ops:
            return template, ops[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def check_response(method: str, path: str, response: Any) -> None:
    template, operation = find_operation(method, path)
    status = str(response.status_code)
    documented = operation["responses"]
    assert status in documented, (
        f"{method} {template} answered {status}, documented: {list(documented)}"
    )
    content = documented[status].get("content")
    if not content:
        assert not response.content, f"{method} {template} {status} should have no body"
        return
    if (
        "application/json" not in content
    ):  # a file (an export, an error CSV): its type is documented
        kind = response["Content-Type"].split(";")[0]
        assert kind in content, f"{method} {template} {status} answered {kind}"
        return
    schema = content["application/json"]["schema"]
    key = (method, template, status)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = jsonschema_rs.Draft202012Validator(
            {**schema, "components": spec()["components"]}
        )
    body = json.loads(response.content)
    errors = [str(e) for e in _VALIDATORS[key].iter_errors(body)]
    assert not errors, f"{method} {template} {status} breaks its schema: {errors[:3]}"


class ApiClient:
    """Django's test client speaking JSON, as one user (token or session)."""

    def __init__(self, user: Any = None, *, scope: str = "read_write", session: bool = False):
        self.client = Client()
        self.user = user
        self.headers: dict[str, str] = {}
        if user is not None and session:
            self.client.force_login(user)
        elif user is not None:
            self.token = create_token(user=user, scope=scope)
            self.headers["Authorization"] = f"Bearer {self.token.raw}"

    def request(self, method: str, path: str, data: Any = None, **headers: str) -> Any:
        url = path if path.startswith("/api/") else f"/api/v1{path}"
        kwargs: dict[str, Any] = {"headers": {**self.headers, **headers}}
        if method == "GET":
            response = self.client.get(url, data or {}, **kwargs)
        else:
            body = json.dumps(data) if data is not None else ""
            response = getattr(self.client, method.lower())(
                url, body, content_type="application/json", **kwargs
            )
        check_response(method, url.split("?")[0], response)
        return response

    def get(self, path: str, params: Any = None, **headers: str) -> Any:
        return self.request("GET", path, params, **headers)

    def post(self, path: str, data: Any = None, **headers: str) -> Any:
        return self.request("POST", path, data if data is not None else {}, **headers)

    def patch(self, path: str, data: Any, **headers: str) -> Any:
        return self.request("PATCH", path, data, **headers)

    def delete(self, path: str, **headers: str) -> Any:
        return self.request("DELETE", path, None, **headers)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def as_user(db):
    """`as_user(user)` is an ApiClient with a read-write token of `user`."""
    return lambda user, **kw: ApiClient(user, **kw)
