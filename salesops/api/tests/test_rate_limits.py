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


def test_a_new_window_starts_the_count_again_and_forgets_the_old_one(cast, settings):
    from salesops.api import ratelimit
    from salesops.api.models import RateCounter

    settings.API_RATE_LIMIT = "2/60"
    start = 60 * 1_000_000.0
    assert [ratelimit.hit("token:1", now=start + i).used for i in range(3)] == [1, 2, 3]
    assert ratelimit.hit("token:1", now=start + 2).exceeded
    later = ratelimit.hit("token:1", now=start + 61)
    assert (later.used, later.remaining, later.exceeded) == (1, 1, False)
    assert RateCounter.objects.filter(principal="token:1").count() == 1


def test_retry_after_counts_the_seconds_to_the_end_of_the_window(cast, settings):
    from salesops.api import ratelimit

    settings.API_RATE_LIMIT = "1/60"
    assert ratelimit.hit("user:9", now=60 * 1000 + 45.5).reset == 15


def test_the_daily_purge_drops_counters_of_ended_windows_only(cast, settings):
    import time

    from salesops.api import ratelimit
    from salesops.api.models import RateCounter

    now = time.time()
    ratelimit.hit("token:old", now=now - 3600)
    ratelimit.hit("token:new", now=now)
    assert ratelimit.purge(now=now) == 1
    assert list(RateCounter.objects.values_list("principal", flat=True)) == ["token:new"]


def test_a_shared_cache_may_keep_the_counts_instead(cast, settings):
    settings.API_RATE_LIMIT = "2/60"
    settings.API_RATE_LIMIT_STORE = "default"
    api = ApiClient(cast.rep)
    assert [api.get("/leads").status_code for _ in range(3)] == [200, 200, 429]
    from salesops.api.models import RateCounter

    assert not RateCounter.objects.exists()
