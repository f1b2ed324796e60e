"""`seed()`: write a whole demo organisation in one transaction, fast.

Determinism: every value comes from `random.Random` seeded with `seed`, and all dates
are relative to `today` (the organisation's local date; by default the real one). The
history ends at local midnight that starts `today`; what lies after it (expected close
dates, due dates, instalments) is in the future. So the same seed, scale and locale on
the same day give identical rows, ids included.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import time
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext as _

from salesops.analytics import rollups
from salesops.demo.bulk import Loader, SeedError, analyze, bulk_session, tune_transaction
from salesops.demo.config import PASSWORD, OrgPlan, build_plan, configure, raise_pool_cap
from salesops.demo.history import History
from salesops.demo.parallel import AUX_KEYS, AuxSpec, Pipeline, attached, aux_spec
from salesops.demo.reset import existing_data, wipe
from salesops.demo.scales import SCALES, Scale
from salesops.demo.tables import BIG_TABLES, TABLES
from salesops.org.models import Currency
from salesops.users.models import Team

CONFIG_KEYS = ["organisation", "rate", "holiday", "role", "user", "product", "price_list",
               "price_list_item", "tag"]  # fmt: skip
#: From this many deals on, the history is generated in another process (fork only).
PARALLEL_FROM = 50_000
DEMO_LOGINS = ["admin", "analyst", "manager", "rep1", "rep2"]
Progress = Callable[[str, int, float], None]


@dataclass
class SeedResult:
    skipped: bool
    existing: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: seconds per phase and CPU seconds per process, for tuning
    timings: dict[str, float] = field(default_factory=dict)
    #: (username, role name) of the demo logins
    logins: list[tuple[str, str]] = field(default_factory=list)
    today: dt.date | None = None


def org_today(locale: str) -> dt.date:
    tz = "Asia/Shanghai" if locale == "zh-hans" else "UTC"
    return dt.datetime.now(zoneinfo.ZoneInfo(tz)).date()


def seed(
    *,
    scale: str | Scale,
    seed: int = 42,
    locale: str = "zh-hans",
    reset: bool = False,
    today: dt.date | None = None,
    using: str = "default",
    parallel: bool | None = None,
    rebuild_indexes: bool | None = None,
    progress: Progress | None = None,
) -> SeedResult:
    """Seed the database `using`. Without `reset`, a database that already has users,
    customers, leads or deals is left untouched (`skipped`). From 50,000 deals on (by
    default), `parallel` uses more processes (where fork exists) and `rebuild_indexes`
    drops the big tables' secondary indexes (and PostgreSQL's foreign keys) for the load
    and builds them again afterwards."""
    sc = SCALES[scale] if isinstance(scale, str) else scale
    if using != DEFAULT_DB_ALIAS:
        # the template engine (and the services it checks with) use the default database
        raise SeedError(_("The demo organisation can only be seeded into the default database."))
    existing = existing_data(using)
    if existing and not reset:
        return SeedResult(skipped=True, existing=existing)
    started = time.perf_counter()
    today = today or org_today(locale)
    connection = connections[using]
    # one hash for every demo user: Argon2 per user would cost more than the data
    password_hash = make_password(PASSWORD, salt=f"salesopsdemo{seed}")
    plan = build_plan(
        scale=sc, seed=seed, locale=locale, today=today, vendor=connection.vendor,
        password_hash=password_hash,
    )  # fmt: skip
    if parallel is None:
        parallel = sc.deals >= PARALLEL_FROM
    parallel = parallel and "fork" in multiprocessing.get_all_start_methods()
    if rebuild_indexes is None:
        rebuild_indexes = sc.deals >= PARALLEL_FROM
    timings: dict[str, float] = {}
    cpu_started = time.process_time()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived tuples and no cycles
    try:
        loader = Loader(connection)
        aux = aux_spec(connection, loader) if parallel and connection.vendor == "sqlite" else None
        with attached(connection, aux):
            _load(connection, loader, plan, parallel, rebuild_indexes, aux, timings, progress,
                  started)  # fmt: skip
    finally:
        if gc_was_enabled:
            gc.enable()
    t = time.perf_counter()
    analyze(connection, [TABLES[k][0]._meta.db_table for k in loader.counts])
    timings["analyze"] = time.perf_counter() - t
    timings["cpu: this process"] = time.process_time() - cpu_started
    for key, seconds in loader.seconds.items():
        timings[f"write {key}"] = seconds
    counts = dict(loader.counts)
    counts["team"] = len(plan.teams)
    role_names = {key: row[1] for key, row in zip(plan.roles, plan.rows["role"], strict=True)}
    by_name = {u.username: u for u in plan.users}
    logins = [(name, role_names[by_name[name].role_key]) for name in DEMO_LOGINS]
    return SeedResult(
        skipped=False, counts=counts, seconds=time.perf_counter() - started, timings=timings,
        logins=logins, today=today,
    )  # fmt: skip


def _load(
    connection: BaseDatabaseWrapper,
    loader: Loader,
    plan: OrgPlan,
    parallel: bool,
    rebuild_indexes: bool,
    aux: AuxSpec | None,
    timings: dict[str, float],
    progress: Progress | None,
    started: float,
) -> None:
    """Everything that happens inside the one transaction."""
    using = connection.alias
    with bulk_session(connection), transaction.atomic(using=using):
        tune_transaction(connection)
        # the KPI roll-ups are rebuilt once after the load instead of row by row
        rollups.uninstall(connection)
        t = time.perf_counter()
        wipe(connection)
        for code, name, symbol in (("CNY", "人民币 Chinese yuan", "¥"), ("USD", "US dollar", "$"),
                                   ("EUR", "Euro", "€")):  # fmt: skip
            Currency.objects.using(using).get_or_create(
                code=code, defaults={"name": name, "symbol": symbol}
            )
        timings["wipe"] = time.perf_counter() - t
        for key in CONFIG_KEYS:
            loader.write(key, plan.rows[key])
        for team in plan.teams:  # Team.save() keeps the materialised path
            Team(
                pk=team.id, name=team.name, parent_id=team.parent_id, manager_id=team.manager_id
            ).save(using=using)
        # the configuration: the demo template, applied as `salesops template apply` does
        t = time.perf_counter()
        configure(plan)
        timings["template"] = time.perf_counter() - t
        # the aux writer's tables keep their indexes: the transfer fills them in order
        if rebuild_indexes:
            loader.drop_secondary_indexes(k for k in BIG_TABLES if aux is None or k not in AUX_KEYS)

        t, c = time.perf_counter(), time.process_time()
        history = History(plan)
        pipeline = Pipeline(history, aux) if parallel else None
        try:
            stream: Iterable[tuple[str, list[tuple[Any, ...]]]] = (
                pipeline if pipeline is not None else history.chunks()
            )
            step = max(1, plan.scale.deals // 10)
            next_report = step
            for key, rows in stream:
                loader.write(key, rows)
                if progress is not None and key == "deal" and loader.counts["deal"] >= next_report:
                    progress("deal", loader.counts["deal"], time.perf_counter() - started)
                    next_report += step
            timings["stream"] = time.perf_counter() - t
            timings["cpu: stream"] = time.process_time() - c
            raise_pool_cap(plan)
            t, c = time.perf_counter(), time.process_time()
            loader.restore()
            timings["indexes"] = time.perf_counter() - t
            timings["cpu: indexes"] = time.process_time() - c
            if pipeline is not None:
                t, c = time.perf_counter(), time.process_time()
                for key, n in pipeline.transfer(connection).items():
                    loader.counts[key] += n
                timings["transfer"] = time.perf_counter() - t
                timings["cpu: transfer"] = time.process_time() - c
                for name, cpu in pipeline.child_cpu.items():
                    timings[f"cpu: {name} process"] = cpu
        finally:
            if pipeline is not None:
                pipeline.stop()
        loader.reset_sequences([TABLES[k][0] for k in loader.counts] + [Team])
        t = time.perf_counter()
        rollups.rebuild(connection)
        rollups.install(connection)
        timings["roll-ups"] = time.perf_counter() - t
        t = time.perf_counter()
    timings["commit"] = time.perf_counter() - t
