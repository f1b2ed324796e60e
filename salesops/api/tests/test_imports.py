"""`/api/v1/imports`: a file imported through the API runs the same job as the wizard;
its status, error file and cancel; the create right, the token's scope, the field
policy (a hidden field cannot be mapped) and other people's imports (404)."""

from __future__ import annotations

import io
import json

import pytest

from salesops.api.tests.conftest import ApiClient, check_response
from salesops.crm.models import Customer
from salesops.imports import jobs
from salesops.imports.models import ImportJob
from salesops.imports.tests import corpus
from salesops.objects.tests.helpers import hide

pytestmark = pytest.mark.django_db

ROWS = [
    ["客户名称", "电话", "邮箱"],
    ["杭州云栖科技", "13800000001", "a@example.com"],
    ["上海浦江贸易", "13800000002", "not-an-email"],
]


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path, cast):
    settings.IMPORT_FILES_DIR = str(tmp_path / "imports")
    for person in (cast.rep, cast.outsider, cast.analyst, cast.admin):
        person.language = "en"
        person.save()


def post_file(client: ApiClient, data: bytes | None = None, name="客户.csv", **fields):
    upload = io.BytesIO(corpus.csv_bytes(ROWS, encoding="gbk") if data is None else data)
    upload.name = name
    response = client.client.post(
        "/api/v1/imports",
        {"file": upload, "object_type": "customer", **fields},
        headers=client.headers,
    )
    check_response("POST", "/api/v1/imports", response)
    return response


def test_a_file_posted_is_imported_on_the_worker_and_its_errors_download(cast, as_user):
    client = as_user(cast.rep)
    response = post_file(client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["columns"] == {
        "客户名称": "name",
        "电话": "phone",
        "邮箱": "email",
    }
    assert response["Location"] == f"/api/v1/imports/{body['id']}"
    jobs.run_job(body["id"])  # what the worker does
    status = client.get(f"/imports/{body['id']}").json()
    assert (status["status"], status["created"], status["errors"], status["percent"]) == (
        "succeeded",
        1,
        1,
        100,
    )
    assert status["has_error_file"] and status["finished"]
    assert list(Customer.objects.values_list("name", flat=True)) == ["杭州云栖科技"]
    errors = client.get(f"/imports/{body['id']}/errors")
    assert errors["Content-Type"].startswith("text/csv")
    text = b"".join(errors.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0] == "line,column,value,reason" and "not-an-email" in text


def test_a_mapping_and_options_are_used_and_a_bad_one_says_what_to_fix(cast, as_user):
    client = as_user(cast.rep)
    mapping = json.dumps({"客户名称": "name", "邮箱": "email"})
    ok = post_file(client, mapping=mapping, mode="all-or-nothing", dedupe="update")
    assert ok.status_code == 201
    job = ImportJob.objects.get()
    assert job.columns == {"客户名称": "name", "邮箱": "email"}
    assert (job.mode, job.dedupe) == ("all-or-nothing", "update")
    for bad, field in (
        ("not json", "mapping"),
        (json.dumps({"客户名称": "nonsense"}), "mapping"),
        (json.dumps({"电话": "phone"}), "mapping"),  # no column for the name
    ):
        r = post_file(client, mapping=bad)
        assert r.status_code == 422 and field in r.json()["errors"], r.content
    r = post_file(client, object_type="spaceship")
    assert r.status_code == 422 and "object_type" in r.json()["errors"]
    r = post_file(client, data=b"%PDF-1.4 nothing", name="x.csv")
    assert r.status_code == 422 and "PDF" in r.json()["errors"]["file"][0]
    assert ImportJob.objects.count() == 1


def test_a_hidden_field_cannot_be_mapped_or_suggested(cast, as_user):
    hide(cast.rep.role, "customer", "phone", users=(cast.rep,))
    client = as_user(cast.rep)
    r = post_file(client, mapping=json.dumps({"客户名称": "name", "电话": "phone"}))
    assert r.status_code == 422
    assert "There is no field “phone”" in r.json()["errors"]["mapping"][0]
    suggested = post_file(client)
    assert suggested.status_code == 201
    assert "phone" not in suggested.json()["columns"].values()


def test_without_the_create_right_or_with_a_read_token_nothing_is_imported(cast, as_user):
    r = post_file(as_user(cast.analyst))
    assert r.status_code == 403 and "create" in r.json()["detail"]
    r = post_file(as_user(cast.rep, scope="read"))
    assert r.status_code == 403 and "read-only" in r.json()["detail"]
    assert not ImportJob.objects.exists()


def test_others_get_a_404_and_an_administrator_may_cancel(cast, as_user):
    job_id = post_file(as_user(cast.rep)).json()["id"]
    outsider = as_user(cast.outsider)
    assert outsider.get(f"/imports/{job_id}").status_code == 404
    assert outsider.get(f"/imports/{job_id}/errors").status_code == 404
    assert outsider.post(f"/imports/{job_id}/cancel").status_code == 404
    cancelled = as_user(cast.admin).post(f"/imports/{job_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert as_user(cast.rep).get(f"/imports/{job_id}").json()["status"] == "cancelled"


def test_the_same_idempotency_key_makes_one_import(cast, as_user):
    client = as_user(cast.rep)
    client.headers["Idempotency-Key"] = "import-1"
    first = post_file(client)
    again = post_file(client)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert ImportJob.objects.count() == 1
