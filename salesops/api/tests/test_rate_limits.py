from salesops.api.tests.conftest import ApiClient


def test_each_response_says_how_many_requests_are_left(cast, settings):
    settings.API_RATE_LIMIT = "5/60"
    api = ApiClient(cast.rep)
    r = api.get("/leads")
    assert r["X-RateLimit-Limit"] == "5"
    assert r["X-RateLimit-Remaining"] == "4"


def test_past_the_limit_a_token_gets_429_with_retry_after_and_nothing_runs(cast, settings):
    settings.API_RATE_LIMIT = "3/60"
    api = ApiClient(cast.rep)
    for _ in range(3):
        assert api.get("/leads").status_code == 200
    r = api.post("/leads", {"name": "Too many"})
    assert r.status_code == 429
    assert 1 <= int(r["Retry-After"]) <= 61
    assert r["X-RateLimit-Remaining"] == "0"
    assert "wait" in r.json()["detail"]
    from salesops.crm.models import Lead

    assert not Lead.objects.exists()


def test_limits_are_counted_per_token(cast, settings):
    settings.API_RATE_LIMIT = "2/60"
    first, second = ApiClient(cast.rep), ApiClient(cast.rep)
    first.get("/leads")
    first.get("/leads")
    assert first.get("/leads").status_code == 429
    assert second.get("/leads").status_code == 200
