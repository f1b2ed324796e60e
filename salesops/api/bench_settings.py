"""Settings of the servers `salesops bench_api` starts: the project's own settings (the
same database, middleware and caches), its URLconf with one extra view, and a rate
limit high enough that the load measures the work rather than the 429 answers."""

from salesops.settings import *  # noqa: F403

ROOT_URLCONF = "salesops.api.bench_urls"
API_RATE_LIMIT = "1000000000/60"
