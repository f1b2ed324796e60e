"""`salesops bench_pages`: server time of the main pages, on one database or several.

Each page is requested through Django's test client (the whole middleware stack, no
network) as a rep and as an administrator; p50 and p95 are printed beside the budget
(p95 ≤ 100 ms) and beside the same client's time for the smallest page (/healthz), the
floor any page pays, measured in the same run. Run it on the `1m` data set for the
figures DESIGN.md asks for.

`--on TARGET` (repeatable) runs the benchmark once per database, each in its own
process: a `postgres://` URL or the path of a SQLite file. `--rounds N` measures every
page N times and prints the median of the N p95s, which steadies the figures on a
machine shared with other work. The home page also says how much of its time the KPI
engine took (`kpi ms`), so the page's own part can be told from the engine's.

`cpu95` is the p95 of the CPU time one request costs: this process's (the app, and
SQLite's work) plus, on PostgreSQL, the server backend's (read from /proc). It hardly
changes with other load on the machine, where wall time does; the verdict is on wall
time, as the budget is.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from salesops.analytics import engine
from salesops.crm.models import Contact, Customer, Deal, Lead
from salesops.pipeline.models import Pipeline
from salesops.users.models import User

BUDGET_MS = 100.0


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


class _KpiClock:
    """Time spent inside `engine.compute` while a page is served."""

    def __init__(self) -> None:
        self.ms = 0.0

    @contextmanager
    def watching(self) -> Iterator[None]:
        original = engine.compute

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.ms += (time.perf_counter() - start) * 1000

        engine.compute = timed
        try:
            yield
        finally:
            engine.compute = original


class _RegistryClock:
    """Time spent in the metadata registry and the field policy while a page is served
    (DESIGN: the registry adds at most 2 ms to any page). Their public functions and
    the object specs' methods are wrapped; nested calls count once."""

    def __init__(self) -> None:
        self.ms = 0.0
        self._depth = 0

    def _targets(self) -> list[tuple[Any, str]]:
        from salesops.customization import layouts, policy, registry, services

        names: list[tuple[Any, str]] = [
            (registry, "get"),
            (registry, "find"),
            (registry, "objects"),
            (registry, "for_model"),
            (registry, "type_of"),
            (registry, "custom_fields"),
            (services, "custom_field_specs"),
            (layouts, "sections_for"),
            (layouts, "arrange"),
        ]
        names += [(policy, n) for n in policy.__dict__ if not n.startswith("_")]
        names += [
            (registry.ObjectSpec, n)
            for n, v in vars(registry.ObjectSpec).items()
            if callable(v) and not n.startswith("_")
        ]
        return [(owner, n) for owner, n in names if callable(getattr(owner, n, None))]

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.ms += (time.perf_counter() - start) * 1000

        return timed

    @contextmanager
    def watching(self) -> Iterator[None]:
        saved = []
        for owner, name in self._targets():
            original = owner.__dict__.get(name)
            if not callable(original) or isinstance(original, type):
                continue
            saved.append((owner, name, original))
            setattr(owner, name, self._wrap(original))
        try:
            yield
        finally:
            for owner, name, original in saved:
                setattr(owner, name, original)


def _backend_cpu() -> Callable[[], float]:
    """A clock of the CPU seconds the database spends for this process: PostgreSQL's
    backend process (read from /proc, same machine); 0 for SQLite, whose work is in
    this process's own CPU time already."""
    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    stat = f"/proc/{pid}/stat"
    if not os.path.exists(stat):
        return lambda: 0.0
    tick = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        with open(stat) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    return read


def _measure(
    client: Client, url: str, n: int, clock: _KpiClock, registry_clock: _RegistryClock | None = None
) -> tuple[list[float], list[float], int, float, float]:
    """(wall ms, CPU ms of app + database, queries of one request, KPI-engine ms and
    registry ms per request). CPU time hardly changes with other load on the machine;
    wall time does."""
    client.get(url)  # warm caches, the session and the connection
    reset_queries()  # each request resets the query log; start from an empty one
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    count = len(queries.captured_queries)
    db_cpu = _backend_cpu()
    times, cpus = [], []
    clock.ms = 0.0
    if registry_clock is not None:
        registry_clock.ms = 0.0
    for _i in range(n):
        cpu0, db0 = time.process_time(), db_cpu()
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - cpu0 + db_cpu() - db0) * 1000)
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}")
    registry_ms = registry_clock.ms / max(n, 1) if registry_clock is not None else 0.0
    return times, cpus, count, clock.ms / max(n, 1), registry_ms


class Command(BaseCommand):
    help = "Server time (p50/p95) and query count of the list, board, search and record pages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, default=30, help="requests per page")
        parser.add_argument(
            "--rounds", type=int, default=1, help="measure N times; print the median p95"
        )
        parser.add_argument("--rep", default="", help="username of the rep (default: the first)")
        parser.add_argument(
            "--on",
            action="append",
            default=[],
            metavar="TARGET",
            help="a postgres:// URL or a SQLite file; repeat for several databases",
        )
        parser.add_argument("--only", default="", help="only pages whose URL contains this")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["on"]:
            self._each_database(options)
            return
        # The test client calls itself "testserver"; let it in for this run only.
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            self._run(options)

    def _each_database(self, options: dict[str, Any]) -> None:
        for target in options["on"]:
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
            if target.startswith(("postgres://", "postgresql://")):
                env["DATABASE_URL"] = target
            else:
                if not os.path.exists(target):
                    raise CommandError(f"No SQLite database at {target}")
                env["SQLITE_PATH"] = target
            argv = [sys.executable, "-m", "salesops", "bench_pages"]
            for name in ("requests", "rounds", "rep", "only"):
                if options[name]:
                    argv += [f"--{name}", str(options[name])]
            self.stdout.write(f"\n== {target}")
            self.stdout.flush()
            subprocess.run(argv, env=env, check=True)

    def _urls(self, person: User) -> list[str]:
        deal = Deal.objects.visible_to(person).order_by("-id").first()
        customer = Customer.objects.visible_to(person).exclude(owner=None).order_by("-id").first()
        lead = Lead.objects.visible_to(person).order_by("-id").first()
        contact = Contact.objects.visible_to(person).order_by("-id").first()
        urls = [
            "/",
            "/leads/",
            "/customers/",
            "/customers/mine/",
            "/pool/",
            "/contacts/",
            "/deals/",
            "/deals/?sort=-amount",
            "/deals/?status=open&sort=expected_close",
            "/deals/?sort=name",
            "/followups/",
            "/tasks/",
            "/tasks/?open=1",
            "/board/",
            "/search/?q=科技",
            "/search/?q=1390",
            "/search/?q=zzqx",
        ]
        pipeline = Pipeline.default()
        if pipeline is not None:
            stage = pipeline.stages.order_by("order").first()
            if stage is not None:
                urls.append(f"/board/{pipeline.pk}/stage/{stage.pk}/")
        for prefix, obj in (
            ("deals", deal),
            ("customers", customer),
            ("leads", lead),
            ("contacts", contact),
        ):
            if obj is not None:
                urls.append(f"/{prefix}/{obj.pk}/")
        return urls

    def _run(self, options: dict[str, Any]) -> None:
        n, rounds = options["requests"], max(1, options["rounds"])
        rep = (
            User.objects.get(username=options["rep"])
            if options["rep"]
            else User.objects.filter(role__is_sales_rep=True, is_active=True).order_by("id").first()
        )
        admin = User.objects.filter(role__is_admin=True, is_active=True).order_by("id").first()
        people = [p for p in (rep, admin) if p is not None]
        if not people:
            self.stderr.write("No rep or administrator: seed a data set first (salesops seed).")
            return
        self.stdout.write(
            f"database: {connection.vendor} {settings.DATABASES['default']['NAME']}; "
            f"{n} requests × {rounds} round(s) per page; p95 = median over rounds"
        )
        self.stdout.write(
            f"{'page':<40}{'user':<10}{'p50 ms':>8}{'p95 ms':>8}{'cpu95':>8}{'kpi ms':>8}"
            f"{'reg ms':>8}{'queries':>8}  budget"
        )
        clock = _KpiClock()
        floor_client = Client()
        floors = [_measure(floor_client, "/healthz", n, clock) for _r in range(rounds)]
        registry_clock = _RegistryClock()
        floor = statistics.median(_p95(f[0]) for f in floors)
        floor_cpu = statistics.median(_p95(f[1]) for f in floors)
        self.stdout.write(
            f"{'/healthz (floor)':<40}{'-':<10}{'':>8}{floor:8.1f}{floor_cpu:8.1f}{'':>8}{'':>8}{0:8d}"
        )
        with clock.watching(), registry_clock.watching():
            for person in people:
                client = Client()
                client.force_login(person)
                for url in self._urls(person):
                    if options["only"] and options["only"] not in url:
                        continue
                    p50s, p95s, cpu95s, kpis, regs = [], [], [], [], []
                    count = 0
                    for _r in range(rounds):
                        times, cpus, count, kpi_ms, reg_ms = _measure(
                            client, url, n, clock, registry_clock
                        )
                        regs.append(reg_ms)
                        p50s.append(statistics.median(times))
                        p95s.append(_p95(times))
                        cpu95s.append(_p95(cpus))
                        kpis.append(kpi_ms)
                    p95 = statistics.median(p95s)
                    cpu95 = statistics.median(cpu95s)
                    kpi = statistics.median(kpis)
                    verdict = "ok" if p95 <= BUDGET_MS else "OVER"
                    self.stdout.write(
                        f"{url[:39]:<40}{person.username[:9]:<10}{statistics.median(p50s):8.1f}"
                        f"{p95:8.1f}{cpu95:8.1f}{(f'{kpi:.1f}' if kpi else '-'):>8}"
                        f"{statistics.median(regs):8.2f}{count:8d}"
                        f"  {verdict}"
                        f" (×{p95 / max(floor, 0.01):.0f} floor)"
                    )
                    self.stdout.flush()
