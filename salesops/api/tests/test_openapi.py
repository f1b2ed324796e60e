"""Every route is in the OpenAPI document (zulip's test_openapi.py idea); the document
and the docs page are served, and the docs load nothing from another host."""

import json
import re

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from salesops.api.tests.conftest import spec


def _routes(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def _as_template(route):
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def test_every_api_route_is_documented_in_the_openapi_document(db):
    documented = set(spec()["paths"])
    routes = {
        _as_template(r) for r in _routes(get_resolver().url_patterns) if r.startswith("api/v1/")
    }
    # ninja's root only names the base path (it always answers 404); the document and
    # the docs page describe the API rather than being part of it.
    routes -= {"/api/v1/", "/api/v1/openapi.json", "/api/v1/docs"}
    # The catch-all answers a JSON 404 for every other path under /api/v1/.
    routes = {r for r in routes if not r.startswith("/api/v1/^")}
    undocumented = sorted(routes - documented)
    assert undocumented == []
    # Each custom object's own paths are served by the generic custom-object routes.
    served = {
        re.sub(r"^/api/v1/objects/[a-z0-9_]+", "/api/v1/objects/{object_key}", p)
        for p in documented
    }
    assert served <= routes


def test_an_unknown_path_under_the_api_is_a_json_404(db):
    r = Client().get("/api/v1/leads/not-a-number")
    assert r.status_code == 404
    assert r.json()["detail"]


def test_every_operation_documents_its_errors_and_has_an_id(db):
    for path, ops in spec()["paths"].items():
        for method, op in ops.items():
            assert op.get("operationId"), (method, path)
            assert {"401", "403", "422", "429"} <= set(op["responses"]), (method, path)
            if method in ("patch", "delete"):
                assert "412" in op["responses"], (method, path)


def test_the_document_and_the_docs_page_are_served_without_any_outside_asset(db):
    client = Client()
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.json()["info"]["title"] == "Salesops API"
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(s.startswith("/") for s in sources), sources
    # no CDN anywhere (a word boundary: the page's random CSRF token may hold "cdn")
    assert not re.search(r"\bcdn\b|cdn\.|//cdn", html.lower())


def test_no_two_response_schemas_share_a_name():
    """The spec names its components by class name: two schemas of one name collapse into
    one, and the responses of one route are then checked against the other's shape. Every
    schema the API builds (declared in a module or made by the resource framework)."""
    from ninja import Schema

    from salesops.api.api import build

    build()  # every router and resource schema made (a rebuild makes them again)
    found: dict[str, dict[str, str]] = {}
    todo = list(Schema.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("salesops."):
            shape = json.dumps(cls.model_json_schema(), sort_keys=True, default=str)
            found.setdefault(cls.__name__, {})[shape] = cls.__module__
    # One name, one shape (the same shape made twice, e.g. by a rebuild, is harmless).
    shared = {name: sorted(s.values()) for name, s in found.items() if len(s) > 1}
    assert shared == {}
