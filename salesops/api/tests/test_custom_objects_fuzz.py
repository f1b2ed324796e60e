"""schemathesis on a custom object's own paths: the object is defined in a fixture (the
document lists it only once it exists), then its list, create, read, change, delete
and restore are fuzzed as a rep: no 5xx, no status or body its document does not allow."""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from salesops.api.api import api as ninja_api
from salesops.api.tests.conftest import ApiClient
from salesops.api.tests.test_fuzz import CHECKS
from salesops.crm import services as crm
from salesops.objects import services
from salesops.objects.tests.helpers import define_site_visit


@pytest.fixture
def object_schema(cast, settings):
    settings.API_RATE_LIMIT = "1000000/60"
    define_site_visit(cast)
    customer = crm.create_customer(by=cast.rep, name="Acme")
    services.create_record(
        by=cast.rep, object_type="site_visit", data={"title": "V", "customer": customer}
    )
    loaded = schemathesis.openapi.from_dict(
        json.loads(json.dumps(ninja_api.get_openapi_schema(), default=str))
    )
    loaded.app = get_wsgi_application()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield loaded.include(path_regex=r"^/api/v1/objects/site_visit")
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_a_custom_objects_paths_answer_fuzzed_requests_within_its_document(cast, object_schema):
    token = ApiClient(cast.rep).token.raw
    operations = [result.ok() for result in object_schema.get_all_operations()]
    assert len(operations) >= 7  # list, create, bulk, read, change, delete, restore
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=5,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def fuzz(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            case.validate_response(response, checks=CHECKS)

        fuzz()
