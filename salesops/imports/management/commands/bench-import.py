"""`salesops bench-import [--rows 1000000]`: the contacts import at scale.

In a throw-away database (PostgreSQL: a test database beside the configured one;
SQLite: a file in a temporary directory) it writes a CSV of N contacts of 10,000
customers, imports it through the bulk path with validation and de-duplication, and in
the same run writes the same rows with the fastest plain method of the database
(PostgreSQL COPY, SQLite executemany), rolled back. It prints rows per second of both,
the ratio, and the growth of the process's peak memory during the import.
"""

from __future__ import annotations

import csv
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

LIMIT = 50_000  # rows per second, DESIGN.md


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = "Measure a large contacts import beside PostgreSQL COPY / SQLite executemany."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--customers", type=int, default=10_000)
        parser.add_argument("--profile", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.profile = opts["profile"]
        with tempfile.TemporaryDirectory() as tmp:
            if connection.vendor == "sqlite":
                connection.settings_dict.setdefault("TEST", {})["NAME"] = str(Path(tmp) / "b.db")
            old_name = connection.creation.create_test_db(
                verbosity=0, autoclobber=True, serialize=False
            )
            try:
                self._bench(Path(tmp), opts["rows"], opts["customers"])
            finally:
                connection.creation.destroy_test_db(old_name, verbosity=0)

    def _bench(self, tmp: Path, n: int, n_customers: int) -> None:
        from salesops.crm.models import Contact, Customer
        from salesops.imports.bulk import BulkContactImporter, run_bulk_import
        from salesops.imports.fields import spec_for, suggest_mapping
        from salesops.imports.reading import open_table
        from salesops.users.models import Role, User

        role = Role.objects.create(name="bench", data_scope=Role.Scope.ALL, is_admin=True)
        user = User.objects.create(username="bench", role=role, language="en")
        now = timezone.now()
        Customer.objects.bulk_create(
            [
                Customer(name=f"Customer {i}", owner=user, owned_since=now)
                for i in range(n_customers)
            ],
            batch_size=2000,
        )
        path = tmp / "contacts.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            w = csv.writer(out)
            w.writerow(["客户名称", "姓名", "职位", "手机", "邮箱", "微信", "备注"])
            for i in range(n):
                w.writerow([f"Customer {i % n_customers}", f"联系人 {i}", "经理",
                            f"1{30 + i % 60:02d}{i:08d}", f"person{i}@example.com",
                            f"wx{i}", ""])  # fmt: skip
        size_mb = path.stat().st_size / 1e6
        self.stdout.write(f"{connection.vendor}: {n:,} rows, {size_mb:.0f} MB CSV")

        peak_before = _peak_mb()
        start = time.perf_counter()
        with path.open("rb") as f, open_table(f, path.name) as table:
            columns = suggest_mapping(table.headers, spec_for("contact"))
            if self.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            report = run_bulk_import(table, user=user, columns=columns, mode="skip-errors")
            if self.profile:
                profiler.disable()
                profiler.print_stats("tottime")
        ours = time.perf_counter() - start
        growth = _peak_mb() - peak_before
        assert report.created == n, report.counts()

        # The same rows, already clean, written by the database's fastest plain path.
        Contact.objects.all().delete()
        with path.open("rb") as f, open_table(f, path.name) as table:
            columns = suggest_mapping(table.headers, spec_for("contact"))
            importer = BulkContactImporter(
                user=user, headers=table.headers, columns=columns, dedupe="create"
            )
            ids = dict(Customer.objects.values_list("name", "id"))
            stamp = connection.ops.adapt_datetimefield_value(now)
            rows = [
                (
                    stamp,
                    stamp,
                    1,
                    user.pk,
                    "{}",
                    ids[c[0]],
                    c[1],
                    c[2],
                    "",
                    f"+86{c[3]}",
                    c[4],
                    c[5],
                    False,
                    "",
                )
                for c in (r.cells for r in table.rows)
            ]
        start = time.perf_counter()
        with transaction.atomic():
            importer._write(rows)
            transaction.set_rollback(True)
        plain = time.perf_counter() - start
        method = "COPY" if connection.vendor == "postgresql" else "executemany"
        self.stdout.write(
            f"import (validate + dedupe + write): {n / ours:,.0f} rows/s ({ours:.1f} s); "
            f"budget {LIMIT:,} rows/s: {'OK' if n / ours >= LIMIT else 'MISSED'}"
        )
        self.stdout.write(
            f"plain {method} of the same rows: {n / plain:,.0f} rows/s ({plain:.1f} s)"
        )
        self.stdout.write(f"ratio import / {method} time: {ours / plain:.1f}x")
        self.stdout.write(f"peak memory growth during the import: {growth:.0f} MB")
