"""An API body over the upload limit is answered in JSON (413, stating the limit),
never with Django's empty HTML 400; a bulk request says its row limit."""

from django.test import override_settings

from salesops.crm.models import Lead


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_an_oversized_body_is_a_json_413_stating_the_limit(cast, as_user):
    r = as_user(cast.rep).post("/leads", {"name": "A", "description": "x" * 20_000})
    assert r.status_code == 413
    assert r["Content-Type"].startswith("application/json")
    assert "10,000" in r.json()["detail"] or "10000" in r.json()["detail"]
    assert not Lead.all_objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_an_oversized_bulk_body_also_states_the_row_limit(cast, as_user):
    items = [{"name": f"Lead {i}", "description": "x" * 100} for i in range(200)]
    r = as_user(cast.rep).post("/leads/bulk", {"items": items})
    assert r.status_code == 413
    assert "1000" in r.json()["detail"] or "1,000" in r.json()["detail"]
    assert not Lead.all_objects.exists()


def test_a_bulk_request_over_the_row_limit_names_it(cast, as_user):
    items = [{"name": f"Lead {i}"} for i in range(1001)]
    r = as_user(cast.rep).post("/leads/bulk", {"items": items})
    assert r.status_code == 422
    assert "1000" in r.json()["errors"]["items"][0]
    assert not Lead.all_objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_the_413_is_in_chinese_for_a_chinese_client(cast, as_user):
    r = as_user(cast.rep).post(
        "/leads", {"name": "A", "description": "x" * 20_000}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert r.status_code == 413
