"""`salesops bench_api`: its figures are computed right, and (with BENCH=1) it runs end
to end on a tiny data set. No test asserts a timing."""

import os
import subprocess
import sys

import pytest

from salesops.api.management.commands.bench_api import HOST, Run


def test_percentiles_are_nearest_rank_and_throughput_is_per_second():
    run = Run("x", seconds=2.0, latencies_ms=[float(v) for v in range(100, 0, -1)])
    assert (run.percentile(0.5), run.percentile(0.99), run.percentile(1.0)) == (50, 99, 100)
    assert run.rps == 50
    assert Run("empty").percentile(0.5) == 0 and Run("empty").rps == 0


def test_the_load_goes_to_loopback_only():
    assert HOST == "127.0.0.1"


@pytest.mark.skipif(os.getenv("BENCH") != "1", reason="BENCH=1 runs the benchmark smoke test")
def test_it_runs_on_a_tiny_data_set_and_prints_the_figures(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    env["SQLITE_PATH"] = str(tmp_path / "bench.sqlite3")

    def salesops(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "salesops", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    salesops("migrate", "--no-input", "-v0")
    salesops("seed", "--scale", "tiny")
    out = salesops("bench_api", "--seconds", "1", "--warmup", "0", "--workers", "2")
    assert "deal list as" in out
    assert "one-row view (ceiling)" in out
    assert "of the ceiling's req/s" in out


def test_server_cpu_is_per_request_and_absent_when_unknown():
    run = Run("x", seconds=1.0, latencies_ms=[1.0] * 9, errors=1, server_cpu_seconds=0.05)
    assert run.cpu_ms == pytest.approx(5.0)
    assert Run("x", latencies_ms=[1.0]).cpu_ms is None
