"""`salesops bench_api`: latency and throughput of an API list page under load.

Against the current database (seed it first: `salesops seed --scale 1m`), it starts
gunicorn with sync worker processes on 127.0.0.1 (a free port), creates a read token
for a rep and one for the administrator, and for a fixed time sends requests from a
few client threads on loopback, each waiting for its answer before sending the next:

- the filtered, sorted deal list page as the rep (own scope) and as the administrator
  (everything): `/api/v1/deals?status=open&sort=-expected_close&limit=50`;
- a minimal Django view reading one row through the same middleware — the
  framework's ceiling on this machine — in the same run.

It prints p50, p99 and requests per second beside the budgets of DESIGN.md and the
ratio to the ceiling, then stops the servers and deletes the tokens. Traffic goes to
127.0.0.1 only and stops by itself. Figures include the load generator's own CPU use
on the same machine.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from salesops.api.models import ApiToken
from salesops.api.tokens import create_token
from salesops.crm.models import Deal
from salesops.users.models import User

HOST = "127.0.0.1"  # loopback only, never configurable
LIST_PATH = "/api/v1/deals?status=open&sort=-expected_close&limit=50"
CEILING_PATH = "/bench/one-row?id={id}"
BUDGET_P50_MS = 15.0
BUDGET_P99_MS = 60.0
BUDGET_RPS = 500.0


@dataclass
class Run:
    name: str
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    #: CPU time the server's workers spent during the run (None where /proc is absent)
    server_cpu_seconds: float | None = None

    def percentile(self, q: float) -> float:
        """Nearest rank; 0 when nothing was measured."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float | None:
        """Server CPU per request: unlike latency, hardly changed by other load on the
        machine, so `cores * 1000 / cpu_ms` estimates the throughput of idle cores."""
        if self.server_cpu_seconds is None or not self.latencies_ms:
            return None
        return self.server_cpu_seconds * 1000 / (len(self.latencies_ms) + self.errors)


def children_cpu_seconds(parent: int) -> float | None:
    """User + system CPU seconds of the processes whose parent is `parent` (Linux)."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        entries = os.listdir("/proc")
    except (OSError, ValueError, AttributeError):
        return None
    total = 0.0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, headers: dict[str, str], timeout: float = 10.0) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def load(
    port: int, path: str, headers: dict[str, str], *, seconds: float, clients: int, name: str
) -> Run:
    """`clients` threads send GET `path` one after another until `seconds` have passed.
    The sync workers close each connection, so each request opens one (as real clients
    of such a server do)."""
    run = Run(name)
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        times: list[float] = []
        errors = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                status = _get(port, path, headers)
            except OSError:
                status = 0
            if status == 200:
                times.append((time.perf_counter() - start) * 1000)
            else:
                errors += 1
        with lock:
            run.latencies_ms.extend(times)
            run.errors += errors

    threads = [threading.Thread(target=client, daemon=True) for _i in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - began
    return run


@contextmanager
def gunicorn(*, workers: int, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Gunicorn serving the project (with the bench URLconf) on 127.0.0.1:`port`,
    stopped (with its workers) on exit."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "salesops.api.bench_settings"}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "salesops.wsgi:application",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
        # A loaded machine may take longer than gunicorn's default 30 s to import the app.
        "--timeout",
        "180",
    ]
    proc = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise CommandError(f"gunicorn exited with status {proc.returncode}.")
            try:
                if _get(port, "/healthz", {}, timeout=2) == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise CommandError("gunicorn did not answer within 180 seconds.")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the master stops its workers
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _users(rep_name: str) -> tuple[User, User]:
    reps = User.objects.filter(is_active=True, role__is_sales_rep=True)
    rep = reps.filter(username=rep_name).first() if rep_name else reps.order_by("id").first()
    admin = User.objects.filter(is_active=True, role__is_admin=True).order_by("id").first()
    if rep is None or admin is None:
        raise CommandError(
            "This database has no active sales rep or administrator; seed it first "
            "(salesops seed --scale 100k)."
        )
    return rep, admin


class Command(BaseCommand):
    help = "p50/p99 and requests/s of the deal list API under load, beside a one-row view."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seconds", type=float, default=10.0, help="load per run")
        parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured load first")
        parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
        parser.add_argument(
            "--clients", type=int, default=0, help="client threads (default: one per worker)"
        )
        parser.add_argument("--rep", default="", help="username of the rep (default: the first)")

    def handle(self, *args: Any, **options: Any) -> None:
        seconds, workers = options["seconds"], options["workers"]
        clients = options["clients"] or workers
        if seconds <= 0 or workers < 1 or clients < 1:
            raise CommandError("--seconds, --workers and --clients must be positive.")
        try:
            import gunicorn as _gunicorn  # noqa: F401
        except ImportError:
            raise CommandError("gunicorn is not installed: pip install -e '.[dev]'.") from None
        first = Deal.objects.order_by("pk").values_list("pk", flat=True).first()
        if first is None:
            raise CommandError("There are no deals; seed first (salesops seed --scale 100k).")
        rep, admin = _users(options["rep"])
        deals = Deal.objects.count()
        tokens = [
            create_token(user=user, scope=ApiToken.Scope.READ, name="bench_api")
            for user in (rep, admin)
        ]
        # The servers must see the tokens: nothing here may stay in a transaction.
        connection.close()
        port = _free_port()
        targets = [
            (f"deal list as {rep.username} (own)", LIST_PATH, tokens[0].raw),
            (f"deal list as {admin.username} (all)", LIST_PATH, tokens[1].raw),
            ("one-row view (ceiling)", CEILING_PATH.format(id=first), ""),
        ]
        self.stdout.write(
            f"API load on {connection.vendor}, {deals:,} deals: gunicorn with {workers} sync "
            f"workers on {HOST}:{port}, {clients} clients, {seconds:g} s per run, "
            f"{os.cpu_count()} CPUs shared with the load generator."
        )
        try:
            with gunicorn(workers=workers, port=port) as server:
                runs = []
                for name, path, raw in targets:
                    headers = {"Authorization": f"Bearer {raw}"} if raw else {}
                    status = _get(port, path, headers)
                    if status != 200:
                        raise CommandError(f"{path} answered {status} for {name}.")
                    if options["warmup"] > 0:
                        load(
                            port,
                            path,
                            headers,
                            seconds=options["warmup"],
                            clients=clients,
                            name=name,
                        )
                    cpu_before = children_cpu_seconds(server.pid)
                    run = load(port, path, headers, seconds=seconds, clients=clients, name=name)
                    cpu_after = children_cpu_seconds(server.pid)
                    if cpu_before is not None and cpu_after is not None:
                        run.server_cpu_seconds = cpu_after - cpu_before
                    runs.append(run)
        finally:
            ApiToken.objects.filter(pk__in=[t.token.pk for t in tokens]).delete()
        self._report(runs)

    def _report(self, runs: list[Run]) -> None:
        self.stdout.write(
            f"{'what':<36}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'requests':>10}{'errors':>8}"
            f"{'cpu ms':>8}"
        )
        for run in runs:
            cpu = "-" if run.cpu_ms is None else f"{run.cpu_ms:.1f}"
            self.stdout.write(
                f"{run.name:<36}{run.percentile(0.5):9.1f}{run.percentile(0.99):9.1f}"
                f"{run.rps:9.0f}{len(run.latencies_ms):10d}{run.errors:8d}{cpu:>8}"
            )
        ceiling = runs[-1]
        self.stdout.write(
            f"{'budget (list page)':<36}{BUDGET_P50_MS:9.0f}{BUDGET_P99_MS:9.0f}{BUDGET_RPS:9.0f}"
        )
        for run in runs[:-1]:
            ok = (
                run.errors == 0
                and run.percentile(0.5) <= BUDGET_P50_MS
                and run.percentile(0.99) <= BUDGET_P99_MS
                and run.rps >= BUDGET_RPS
            )
            ratio = run.rps / ceiling.rps if ceiling.rps else 0.0
            p50x = run.percentile(0.5) / ceiling.percentile(0.5) if ceiling.latencies_ms else 0.0
            self.stdout.write(
                f"{run.name}: {ratio:.2f} of the ceiling's req/s, p50 {p50x:.1f}x the "
                f"ceiling's; budget {'met' if ok else 'MISSED'}"
            )
        cores = os.cpu_count() or 1
        for run in runs:
            if run.cpu_ms:
                self.stdout.write(
                    f"{run.name}: {run.cpu_ms:.1f} ms of server CPU per request, at most "
                    f"{cores * 1000 / run.cpu_ms:.0f} req/s on {cores} idle cores"
                )
