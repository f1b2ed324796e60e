"""schemathesis against the OpenAPI document, signed in as two users of different
teams who each have a world of records: no 5xx, no status or body the document does
not allow. Bounded (a few examples per operation) to keep the suite fast; CI runs it
on both databases."""

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from salesops.api.api import api as ninja_api
from salesops.api.tests.conftest import ApiClient
from salesops.api.tests.worlds import build_world, shared_setup

# The served document also lists the custom objects defined in the database, which a
# module cannot read while pytest collects it: the document the code defines is loaded
# instead (the generic custom-object routes are in it; test_custom_objects_fuzz.py
# fuzzes a defined object's own paths).
schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(ninja_api.static_document(), default=str))
)
schema.app = get_wsgi_application()
# The coverage phase sends hundreds of boundary cases per operation (minutes in all);
# SCHEMATHESIS_COVERAGE=1 turns it on for a deep run.
schema.config.phases.coverage.enabled = os.getenv("SCHEMATHESIS_COVERAGE") == "1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def two_tokens(cast, settings):
    settings.API_RATE_LIMIT = "1000000/60"
    shared = shared_setup()
    tokens = []
    for user, tag in ((cast.rep, "east"), (cast.outsider, "west")):
        client = ApiClient(user)
        build_world(client, user, shared, tag)
        tokens.append(client.token.raw)
    # The WSGI handler closes "old" connections at each request's start and end, which on
    # PostgreSQL closes the test's own transaction; Django's test client disconnects the
    # same receiver (and connects it again after each of its requests, hence here).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield tokens
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_answers_fuzzed_requests_of_two_teams_within_its_document(case, two_tokens):
    for token in two_tokens:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=CHECKS)


# The routes that only administrators may write, fuzzed as an administrator too (the
# two users above get 404 on their writes): users, teams, roles and price lists.
admin_schema = schema.include(path_regex=r"/(users|teams|roles|price-lists)(/|$)")


@pytest.fixture
def admin_token(cast, settings):
    settings.API_RATE_LIMIT = "1000000/60"
    shared_setup()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield ApiClient(cast.admin).token.raw
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@admin_schema.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_administrators_routes_answer_fuzzed_requests_within_the_document(case, admin_token):
    response = case.call(headers={"Authorization": f"Bearer {admin_token}"})
    case.validate_response(response, checks=CHECKS)
