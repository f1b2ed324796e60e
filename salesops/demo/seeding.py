"""`seed()`: write a whole demo organisation in one transaction, fast.

Determinism: every value comes from `random.Random` seeded with `seed`, and all dates
are relative to `today` (the organisation's local date; by default the real one). The
history ends at local midnight that starts `today`; what lies after it (expected close
dates, due dates, instalments) is in the future. So the same seed, scale and locale on
the same day give identical rows, ids included.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import time
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connections, transaction

from salesops.demo.bulk import Loader, SeedError, analyze, bulk_session, tune_transaction
from salesops.demo.config import PASSWORD, build_plan, pool_rule_row
from salesops.demo.history import History
from salesops.demo.reset import existing_data, wipe
from salesops.demo.scales import SCALES, Scale
from salesops.demo.tables import BIG_TABLES, TABLES
from salesops.org.models import Currency
from salesops.users.models import Team

CONFIG_KEYS = [
    "organisation",
    "rate",
    "holiday",
    "picklist",
    "picklist_option",
    "custom_field",
    "pipeline",
    "stage",
    "role",
    "user",
    "product",
    "price_list",
    "price_list_item",
    "tag",
]
#: Above this many deals the history is generated in a second process while this one
#: writes (fork only).
PARALLEL_FROM = 50_000
DEMO_LOGINS = ["admin", "analyst", "manager", "rep1", "rep2"]


@dataclass
class SeedResult:
    skipped: bool
    existing: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: seconds per phase / table (writing only), for tuning
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
    progress: Callable[[str, int, float], None] | None = None,
) -> SeedResult:
    """Seed the database `using`. Without `reset`, a database that already has users,
    customers, leads or deals is left untouched (`skipped`)."""
    sc = SCALES[scale] if isinstance(scale, str) else scale
    existing = existing_data(using)
    if existing and not reset:
        return SeedResult(skipped=True, existing=existing)
    started = time.perf_counter()
    today = today or org_today(locale)
    connection = connections[using]
    # one hash for every demo user: Argon2 per user would cost more than the data
    password_hash = make_password(PASSWORD, salt=f"salesopsdemo{seed}")
    plan = build_plan(
        scale=sc,
        seed=seed,
        locale=locale,
        today=today,
        vendor=connection.vendor,
        password_hash=password_hash,
    )
    if parallel is None:
        parallel = sc.deals >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods()
    timings: dict[str, float] = {}
    with bulk_session(connection), transaction.atomic(using=using):
        tune_transaction(connection)
        t = time.perf_counter()
        wipe(connection)
        for code, name, symbol in (
            ("CNY", "人民币 Chinese yuan", "¥"),
            ("USD", "US dollar", "$"),
            ("EUR", "Euro", "€"),
        ):
            Currency.objects.using(using).get_or_create(
                code=code, defaults={"name": name, "symbol": symbol}
            )
        timings["wipe"] = time.perf_counter() - t
        loader = Loader(connection)
        for key in CONFIG_KEYS:
            loader.write(key, plan.rows[key])
        for team in plan.teams:  # Team.save() keeps the materialised path
            Team(
                pk=team.id, name=team.name, parent_id=team.parent_id, manager_id=team.manager_id
            ).save(using=using)
        loader.drop_secondary_indexes(BIG_TABLES)
        t = time.perf_counter()
        history = History(plan)
        next_report = sc.deals // 10
        for key, rows in _stream(history, parallel):
            loader.write(key, rows)
            if progress is not None and key == "deal" and loader.counts["deal"] >= next_report:
                progress("deal", loader.counts["deal"], time.perf_counter() - started)
                next_report += sc.deals // 10
        timings["history"] = time.perf_counter() - t
        loader.write("pool_rule", [pool_rule_row(plan)])
        t = time.perf_counter()
        loader.restore()
        timings["indexes"] = time.perf_counter() - t
        models = [TABLES[k][0] for k in loader.counts] + [Team]
        loader.reset_sequences(models)
    t = time.perf_counter()
    analyze(connection, [TABLES[k][0]._meta.db_table for k in loader.counts])
    timings["analyze"] = time.perf_counter() - t
    for key, seconds in loader.seconds.items():
        timings[f"write {key}"] = seconds
    counts = dict(loader.counts)
    counts["team"] = len(plan.teams)
    role_names = {key: row[1] for key, row in zip(plan.roles, plan.rows["role"], strict=True)}
    by_name = {u.username: u for u in plan.users}
    logins = [(name, role_names[by_name[name].role_key]) for name in DEMO_LOGINS]
    return SeedResult(
        skipped=False,
        counts=counts,
        seconds=time.perf_counter() - started,
        timings=timings,
        logins=logins,
        today=today,
    )


def _stream(history: History, parallel: bool) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    if not parallel:
        yield from history.chunks()
        return
    # The child only computes rows: it never touches the database connection it inherits,
    # and leaves with os._exit so that nothing closes that connection on its way out.
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(history, sender), daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError as e:
                raise SeedError("The generator process ended unexpectedly.") from e
            if message[0] == "__done__":
                history.plan.pool_cap = message[1]
                break
            if message[0] == "__error__":
                raise SeedError(message[1])
            yield message
    finally:
        receiver.close()
        child.join(timeout=5)
        if child.is_alive():
            child.kill()


def _child(history: History, sender: Any) -> None:  # pragma: no cover - runs in the fork
    code = 0
    try:
        for item in history.chunks():
            sender.send(item)
        sender.send(("__done__", history.plan.pool_cap))
    except BaseException as e:
        code = 1
        # if even this fails, the parent sees EOF and reports it
        with contextlib.suppress(Exception):
            sender.send(("__error__", f"{type(e).__name__}: {e}"))
    finally:
        sender.close()
        os._exit(code)
