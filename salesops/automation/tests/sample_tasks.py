"""Tasks for the worker tests (importable by a worker subprocess)."""

import time
from pathlib import Path

from django.tasks import task


@task
def ping() -> str:
    return "pong"


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def nap_once(marker: str) -> str:
    """Sleeps (long enough to be killed) the first time, returns at once after that."""
    path = Path(marker)
    if path.exists():
        return "rested"
    path.write_text("napping")
    time.sleep(120)
    return "slept"
