"""`salesops bench-duplicates [--customers 200000] [--repeat 3]`: the duplicate finder
at scale (budget: 5 s over 200,000 customers, issue 12).

In a throw-away database (PostgreSQL: a test database beside the configured one;
SQLite: a file in a temporary directory) it writes `--customers` customers of 300 reps
in bulk (without `save()`, as the seed and restores write them), about 3% of them
written again the way people retype a company ("有限公司" added, other case, spaces,
the phone with a country code), then:

* fills their duplicate keys once (what the first finder run after a bulk load does);
* `--repeat` times, the first page of groups by name, phone and e-mail for an
  administrator (the whole organisation) and for one rep (their own data scope);
* beside it, the same grouping as one raw SQL statement over the key column.

It prints the median seconds of each, the budget and the ratio to the raw statement.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.utils import timezone

LIMIT = 5.0  # seconds, issue 12
WORDS = ("星辰", "华东", "远航", "金石", "云帆", "博润", "恒通", "启明", "天成", "海纳",
         "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay")  # fmt: skip
TRADES = ("科技", "贸易", "制造", "物流", "咨询", "电子", "Systems", "Trading", "Labs")


def _median(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Command(BaseCommand):
    help = "Measure the duplicate finder over many customers beside a raw GROUP BY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=200_000)
        parser.add_argument("--repeat", type=int, default=3)

    def handle(self, *args: Any, **opts: Any) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            if connection.vendor == "sqlite":
                connection.settings_dict.setdefault("TEST", {})["NAME"] = str(Path(tmp) / "d.db")
            old_name = connection.creation.create_test_db(
                verbosity=0, autoclobber=True, serialize=False
            )
            try:
                self._bench(opts["customers"], opts["repeat"])
            finally:
                connection.creation.destroy_test_db(old_name, verbosity=0)

    def _bench(self, n: int, repeat: int) -> None:
        from salesops.crm import duplicates
        from salesops.crm.models import Customer
        from salesops.users.models import Role, User

        rng = random.Random(12)
        admin_role = Role.objects.create(
            name="bench admin", data_scope=Role.Scope.ALL, is_admin=True
        )
        rep_role = Role.objects.create(
            name="bench rep", data_scope=Role.Scope.OWN, rights={"customer": ["view"]}
        )
        admin = User.objects.create(username="bench", role=admin_role, language="en")
        reps = [
            User.objects.create(username=f"rep{i}", role=rep_role, language="en")
            for i in range(300)
        ]
        stamp = connection.ops.adapt_datetimefield_value(timezone.now())
        qn = connection.ops.quote_name
        columns = ["created_at", "updated_at", "version", "custom", "owner_id", "owned_since",
                   "name", "phone", "email", "industry", "size", "region", "lifecycle_stage",
                   "website", "address"]  # fmt: skip
        # Names from the model, quoted; values are parameters.
        insert = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
            qn(Customer._meta.db_table),
            ", ".join(qn(c) for c in columns),
            ", ".join(["%s"] * len(columns)),
        )
        started = time.perf_counter()
        batch: list[tuple[Any, ...]] = []
        names: list[str] = []
        for i in range(n):
            owner = reps[i % len(reps)]
            name = f"{rng.choice(WORDS)}{rng.choice(TRADES)}{i}"
            phone = f"1{30 + i % 70}{i:08d}"
            email = f"info{i}@example.com"
            if i % 33 == 0 and i:  # a retyped duplicate of an earlier customer
                j = rng.randrange(i)
                name = f"{names[j].upper()} 有限公司"
                phone, email = f"+86 1{30 + j % 70}{j:08d}", f"INFO{j}@example.com"
            names.append(name)
            batch.append((stamp, stamp, 1, "{}", owner.pk, stamp, name, phone, email,
                          "", "", "", "prospect", "", ""))  # fmt: skip
            if len(batch) == 5000 or i == n - 1:
                with connection.cursor() as cursor:
                    cursor.executemany(insert, batch)
                batch = []
        self.stdout.write(f"wrote {n:,} customers in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        filled = duplicates.fill_keys(Customer)
        self.stdout.write(
            f"filled the keys of {filled:,} customers written in bulk: "
            f"{time.perf_counter() - started:.1f} s (once, after a bulk load)"
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE crm_customer")
        table = connection.ops.quote_name(Customer._meta.db_table)
        rep = reps[7]
        for by, column in (("name", "dup_name"), ("phone", "dup_phone"), ("email", "dup_email")):
            col = connection.ops.quote_name(column)

            def raw(col: str = col) -> None:
                # Names from the model, quoted; no input.
                sql = (
                    f"SELECT {col} FROM {table} WHERE deleted_at IS NULL AND {col} > '' "  # noqa: S608
                    f"GROUP BY {col} HAVING COUNT(*) > 1 ORDER BY {col} LIMIT 51"
                )
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    cursor.fetchall()
                    cursor.execute(f"SELECT COUNT(*) FROM ({sql.rsplit(' ORDER', 1)[0]}) g")  # noqa: S608

            baseline = _median(raw, repeat)
            page = duplicates.find(admin, "customer", Customer, by)
            whole = _median(lambda by=by: duplicates.find(admin, "customer", Customer, by), repeat)
            own = _median(lambda by=by: duplicates.find(rep, "customer", Customer, by), repeat)
            self.stdout.write(
                f"{connection.vendor} duplicates by {by} over {n:,} customers: "
                f"organisation {whole:.3f} s ({page.total:,} groups), one rep {own:.3f} s; "
                f"budget {LIMIT:.0f} s; raw GROUP BY {baseline:.3f} s "
                f"(ratio {whole / baseline if baseline else float('nan'):.1f})"
            )
