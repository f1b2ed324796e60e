"""`salesops bench-import [--rows 1000000] [--existing 200000] [--repeat 3]`: the
contacts import at scale.

In a throw-away database (PostgreSQL: a test database beside the configured one;
SQLite: a file in a temporary directory) it writes `--existing` contacts (the base the
import de-duplicates against) and a CSV of N contacts of 10,000 customers, 1% of them
duplicates of the base, then, `--repeat` times:

* imports the file through the bulk path (validation, customers, de-duplication,
  write), then deletes what it created;
* writes the same rows, already clean, with the fastest plain method of the database
  (PostgreSQL COPY, SQLite executemany) in one transaction, rolled back.

It prints the median rows per second of both, their ratio, the de-dup index's size and
the growth of the process's peak memory (RSS) during the first import.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import statistics
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


def _cpu() -> float:
    """CPU seconds of this process, of its finished children (the import's helper) and
    of its PostgreSQL backend (the database's work is in this process on SQLite). On a
    machine shared with other work this varies far less than wall-clock time."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = time.process_time() + children.ru_utime + children.ru_stime
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")
    return total


def _helper_peak_mb() -> float:
    """The largest peak memory of a finished child process (the import's helper)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class Command(BaseCommand):
    help = "Measure a large contacts import beside PostgreSQL COPY / SQLite executemany."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--customers", type=int, default=10_000)
        parser.add_argument("--existing", type=int, default=200_000)
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--profile", action="store_true")
        parser.add_argument(
            "--shuffle", action="store_true", help="the file's rows in random order"
        )
        parser.add_argument(
            "--helper", action="store_true", help="read and convert in a forked second process"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        self.profile = opts["profile"]
        with tempfile.TemporaryDirectory() as tmp:
            if connection.vendor == "sqlite":
                connection.settings_dict.setdefault("TEST", {})["NAME"] = str(Path(tmp) / "b.db")
            old_name = connection.creation.create_test_db(
                verbosity=0, autoclobber=True, serialize=False
            )
            try:
                self._bench(Path(tmp), opts)
            finally:
                connection.creation.destroy_test_db(old_name, verbosity=0)

    def _bench(self, tmp: Path, opts: dict[str, Any]) -> None:
        from salesops.crm.models import Contact, Customer
        from salesops.imports.bulk import BulkContactImporter, run_bulk_import
        from salesops.imports.fields import spec_for, suggest_mapping
        from salesops.imports.jobs import BULK_CHUNK, BULK_COMMIT
        from salesops.imports.reading import open_table
        from salesops.users.models import Role, User

        n, n_customers, n_existing = opts["rows"], opts["customers"], opts["existing"]
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
        ids = dict(Customer.objects.values_list("name", "id"))
        stamp = connection.ops.adapt_datetimefield_value(now)
        headers = ["客户名称", "姓名", "职位", "手机", "邮箱", "微信", "备注"]
        writer = BulkContactImporter(
            user=user,
            headers=headers,
            columns=suggest_mapping(headers, spec_for("contact")),
            dedupe="create",
        )

        def clean_row(c: list[str]) -> tuple[Any, ...]:
            row = (stamp, stamp, 1, user.pk, "{}", ids[c[0]], c[1], c[2], "",
                   f"+86{c[3]}", c[4], c[5], False, c[6])  # fmt: skip
            # Stored as the import stores it: with its duplicate keys.
            fields = dict(zip(writer.written, row[6:], strict=True))
            keys = Contact.key_columns({k: [fields[k]] for k in writer.key_sources}, 1)
            return row + tuple(keys[k][0] for k in writer.key_names)

        def file_row(i: int) -> list[str]:
            # Every 100th row repeats an e-mail of the existing base: a duplicate.
            email = f"old{i}@example.com" if i % 100 == 0 and i < n_existing else None
            return [f"Customer {i % n_customers}", f"联系人 {i}", "经理",
                    f"1{30 + i % 60:02d}{i:08d}", email or f"person{i}@example.com",
                    f"wx{i}", ""]  # fmt: skip

        def old_row(i: int) -> list[str]:
            return [f"Customer {i % n_customers}", f"老联系人 {i}", "经理",
                    f"1{90 + i % 9:02d}{i:08d}", f"old{i}@example.com", "", ""]  # fmt: skip

        with transaction.atomic():
            batch: list[tuple[Any, ...]] = []
            for i in range(n_existing):
                batch.append(clean_row(old_row(i)))
                if len(batch) == 50_000:
                    writer.write(batch)
                    batch.clear()
            writer.write(batch)
        base_max = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0
        duplicates = len(range(0, min(n, n_existing), 100))

        path = tmp / "contacts.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            w = csv.writer(out)
            w.writerow(headers)
            order: Any = range(n)
            if opts["shuffle"]:
                order = list(order)
                random.Random(6).shuffle(order)  # keys in no order, like a real file's
            for i in order:
                w.writerow(file_row(i))
            del order
        size_mb = path.stat().st_size / 1e6
        self.stdout.write(
            f"{connection.vendor}: {n:,} rows ({size_mb:.0f} MB CSV, {duplicates:,} duplicates), "
            f"{n_existing:,} existing contacts, {n_customers:,} customers"
        )
        table_name = connection.ops.quote_name(Contact._meta.db_table)
        ours: list[float] = []
        plain: list[float] = []
        ours_cpu: list[float] = []
        plain_cpu: list[float] = []
        growth = 0.0
        for attempt in range(opts["repeat"]):
            rss_before, peak_before = _rss_mb(), _peak_mb()
            cpu = _cpu()
            start = time.perf_counter()
            with path.open("rb") as f, open_table(f, path.name) as table:
                columns = suggest_mapping(table.headers, spec_for("contact"))
                if self.profile and attempt == 0:
                    import cProfile

                    profiler = cProfile.Profile(time.process_time)  # CPU: steadier here
                    profiler.enable()
                report = run_bulk_import(
                    table,
                    user=user,
                    columns=columns,
                    mode="skip-errors",
                    chunk_size=BULK_CHUNK,  # as an import job runs it
                    commit_rows=BULK_COMMIT,
                    helper=opts["helper"],
                )
                if self.profile and attempt == 0:
                    profiler.disable()
                    profiler.print_stats("tottime")
            ours.append(time.perf_counter() - start)
            ours_cpu.append(_cpu() - cpu)
            if attempt == 0:
                growth = _peak_mb() - peak_before
                self.stdout.write(
                    f"  RSS before {rss_before:.0f} MB, peak during the import "
                    f"{_peak_mb():.0f} MB (growth {growth:.0f} MB); the helper process's "
                    f"peak {_helper_peak_mb():.0f} MB (forked from this one: pages shared "
                    "with it count in both)"
                )
            assert (report.created, report.skipped) == (n - duplicates, duplicates), report.counts()
            with connection.cursor() as cursor, transaction.atomic():
                cursor.execute(f"DELETE FROM {table_name} WHERE id > %s", [base_max])  # noqa: S608

            # The same rows, already clean, written by the database's fastest plain path.
            with path.open("rb") as f, open_table(f, path.name) as table:
                rows = [clean_row(r.cells) for r in table.rows]
            cpu = _cpu()
            start = time.perf_counter()
            with transaction.atomic():
                writer.write(rows)
                transaction.set_rollback(True)
            plain.append(time.perf_counter() - start)
            plain_cpu.append(_cpu() - cpu)
            del rows
            self.stdout.write(
                f"  run {attempt + 1}: import {n / ours[-1]:,.0f} rows/s ({ours[-1]:.1f} s), "
                f"plain {n / plain[-1]:,.0f} rows/s ({plain[-1]:.1f} s); CPU s import "
                f"{ours_cpu[-1]:.1f}, plain {plain_cpu[-1]:.1f}"
            )
        method = "COPY" if connection.vendor == "postgresql" else "executemany"
        median_ours, median_plain = statistics.median(ours), statistics.median(plain)
        rate = n / median_ours
        self.stdout.write(
            f"import (validate + dedupe + write): {rate:,.0f} rows/s "
            f"(median of {len(ours)}, {median_ours:.1f} s); "
            f"budget {LIMIT:,} rows/s: {'OK' if rate >= LIMIT else 'MISSED'}"
        )
        self.stdout.write(
            f"plain {method} of the same rows: {n / median_plain:,.0f} rows/s "
            f"(median, {median_plain:.1f} s)"
        )
        self.stdout.write(f"ratio import / {method} time: {median_ours / median_plain:.2f}x")
        self._job_and_command(path, user, n, duplicates, base_max, table_name)
        cpu_ours, cpu_plain = statistics.median(ours_cpu), statistics.median(plain_cpu)
        self.stdout.write(
            f"per CPU second (this process + the database's): import {n / cpu_ours:,.0f} "
            f"rows, plain {method} {n / cpu_plain:,.0f} rows; ratio {cpu_ours / cpu_plain:.2f}x"
        )
        self.stdout.write(f"peak memory growth during the first import: {growth:.0f} MB")

    def _job_and_command(
        self, path: Path, user: Any, n: int, duplicates: int, base_max: int, table_name: str
    ) -> None:
        """The same file once through `salesops import` (in this process) and once as the
        import wizard and the API start it (`accept_upload`, `create_job`, `enqueue`, then
        the worker's loop runs the queue): both rates, and their ratio."""
        import io

        from django.core.management import call_command

        from salesops.imports import jobs
        from salesops.imports.models import ImportJob
        from salesops.lib.tasks import drain_queue

        def clean() -> None:
            with connection.cursor() as cursor, transaction.atomic():
                cursor.execute(f"DELETE FROM {table_name} WHERE id > %s", [base_max])  # noqa: S608

        start = time.perf_counter()
        call_command(
            "import", str(path), object="contact", as_user=user.username, stdout=io.StringIO()
        )
        command = time.perf_counter() - start
        clean()
        with path.open("rb") as f:
            stored, name = jobs.accept_upload(f, path.name, path.stat().st_size)
        columns = jobs.suggest(jobs.headers_of(stored, name), "contact", user=user)
        start = time.perf_counter()
        job = jobs.enqueue(
            jobs.create_job(
                user=user, object_type="contact", path=stored, filename=name, columns=columns
            )
        )
        drain_queue("bench")
        wizard = time.perf_counter() - start
        job.refresh_from_db()
        assert job.status == ImportJob.Status.SUCCEEDED, job.message
        assert (job.created_count, job.skipped_count) == (n - duplicates, duplicates)
        clean()
        Path(stored).unlink(missing_ok=True)
        self.stdout.write(
            f"wizard's job on the worker: {n / wizard:,.0f} rows/s ({wizard:.1f} s); "
            f"`salesops import`: {n / command:,.0f} rows/s ({command:.1f} s); "
            f"ratio wizard / command time: {wizard / command:.2f}x"
        )
