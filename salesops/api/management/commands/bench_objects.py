"""`salesops bench_objects`: the list of a custom object with 1,000,000 records,
filtered by a custom choice field and sorted by a custom number field (DESIGN.md: any
page p95 ≤ 100 ms).

On first use it defines a custom object "bench_visit" (a choice, a number, a date and a
text field; links to customers) in the database it runs on and bulk-inserts `--rows`
records owned by 300 reps (the records of other objects and the app's other data are
not needed); later runs reuse them. Use a database of its own: a SQLite file
(`--on var/bench-objects-1m.sqlite3`) and the PostgreSQL database `bench_objects`
(`--on postgres://postgres@127.0.0.1:5432/bench_objects`, created if missing).

Measured through Django's test client (the whole middleware stack, no network), as
bench_pages does: p50 and p95 of `--requests` requests × `--rounds` rounds (the median
of the rounds' p95s) for an administrator (every record) and a rep (their own), for
* the object's list page `/o/bench_visit/?outcome=good&sort=-cf_score` when the
  custom-object pages are installed (URL name `object_list`),
* the API list `/api/v1/objects/bench_visit?custom.outcome=good&sort=-custom.score`,
each beside the same run's floor: `/healthz`, the smallest page.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

KEY = "bench_visit"
REPS = 300
BUDGET_MS = 100.0
OUTCOMES = ["good", "bad", "later", "none"]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


class Command(BaseCommand):
    help = "A custom object's list with 1M records, filtered and sorted by custom fields: p50/p95."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=1_000_000, help="records to create once")
        parser.add_argument("--requests", type=int, default=30, help="requests per round")
        parser.add_argument("--rounds", type=int, default=3)
        parser.add_argument(
            "--on",
            action="append",
            default=[],
            metavar="TARGET",
            help="a postgres:// URL or a SQLite file (created); repeat for several",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["on"]:
            for target in options["on"]:
                self._in_subprocess(target, options)
            return
        call_command("migrate", verbosity=0, interactive=False)
        self._ensure_data(options["rows"])
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            self._measure(options)

    # -- databases --------------------------------------------------------------------

    def _in_subprocess(self, target: str, options: dict[str, Any]) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
        if target.startswith(("postgres://", "postgresql://")):
            _create_database(target)
            env["DATABASE_URL"] = target
        else:
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
            env["SQLITE_PATH"] = os.path.abspath(target)
            env["DATABASE_URL"] = ""
        argv = [sys.executable, "-m", "salesops", "bench_objects"]
        for name in ("rows", "requests", "rounds"):
            argv += [f"--{name}", str(options[name])]
        self.stdout.write(f"\n== {target}")
        self.stdout.flush()
        subprocess.run(argv, env=env, check=True)

    # -- the data set -----------------------------------------------------------------

    def _ensure_data(self, rows: int) -> None:
        from salesops.objects.models import CustomObject, CustomRecord

        obj = CustomObject.objects.filter(key=KEY).first()
        have = CustomRecord.all_objects.filter(kind=obj).count() if obj else 0
        if obj is not None and have >= rows:
            self.stdout.write(f"data: {have:,} records of {KEY} (reused)")
            return
        started = time.perf_counter()
        admin, reps = self._people()
        if obj is None:
            obj = self._define(admin)
        self._insert(obj, admin, reps, have, rows)
        from salesops.customization import registry
        from salesops.objects import indexes

        registry.dynamic()  # read the new object
        from salesops.lib.cache import forget_all

        forget_all()
        created = indexes.ensure(registry.get(KEY))
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                # Full statistics: a sampled ANALYZE (the migrations set analysis_limit on
                # this connection) misjudged how many records one owner or one value has.
                cursor.execute("PRAGMA analysis_limit = 0")
            cursor.execute("ANALYZE")
        self.stdout.write(
            f"data: {rows - have:,} records of {KEY} inserted ({len(created)} more indexes) "
            f"in {time.perf_counter() - started:.0f} s"
        )

    def _people(self) -> tuple[Any, list[Any]]:
        from salesops.users.models import ALL_RIGHTS, Role, Team, User

        admin_role, _c = Role.objects.get_or_create(
            name="Bench administrator",
            defaults={"data_scope": Role.Scope.ALL, "is_admin": True, "rights": ALL_RIGHTS},
        )
        rep_role, _c = Role.objects.get_or_create(
            name="Bench rep",
            defaults={"data_scope": Role.Scope.OWN, "is_sales_rep": True, "rights": ALL_RIGHTS},
        )
        team, _c = Team.objects.get_or_create(name="Bench team")
        admin = User.objects.filter(username="bench_admin").first()
        if admin is None:
            admin = User.objects.create_user(
                username="bench_admin", password=None, role=admin_role, team=team
            )
        existing = {u.username: u for u in User.objects.filter(username__startswith="bench_rep")}
        reps = []
        for i in range(REPS):
            name = f"bench_rep{i:03d}"
            user = existing.get(name)
            if user is None:
                user = User.objects.create_user(
                    username=name, password=None, role=rep_role, team=team
                )
            reps.append(user)
        return admin, reps

    def _define(self, admin: Any) -> Any:
        from salesops.customization.models import CustomField
        from salesops.objects import services

        obj = services.define_object(
            by=admin,
            key=KEY,
            label="Bench visit",
            plural="Bench visits",
            title_label="Subject",
            links=["customer"],
        )
        options = [{"value": v, "label": v.title()} for v in OUTCOMES]
        for order, (fkey, ftype, extra) in enumerate(
            [
                ("outcome", "select", {"options": options}),
                ("score", "number", {}),
                ("visited_on", "date", {}),
                ("note", "text", {}),
            ]
        ):
            CustomField.objects.create(
                object_type=KEY, key=fkey, label=fkey, field_type=ftype, order=order, **extra
            )
        return obj

    def _insert(self, obj: Any, admin: Any, reps: list[Any], have: int, rows: int) -> None:
        from salesops.objects.models import CustomRecord

        rng = random.Random(20261206 + have)
        now = timezone.now()
        day0 = dt.date(2024, 1, 1)
        batch = 5000
        done = have
        while done < rows:
            n = min(batch, rows - done)
            records = []
            for i in range(done, done + n):
                custom: dict[str, Any] = {
                    "outcome": rng.choice(OUTCOMES),
                    "visited_on": (day0 + dt.timedelta(days=rng.randrange(1000))).isoformat(),
                }
                if rng.random() < 0.9:  # a tenth without a score: the empties segment
                    custom["score"] = round(rng.uniform(0, 100), 2)
                if rng.random() < 0.3:
                    custom["note"] = f"note {i}"
                records.append(
                    CustomRecord(
                        kind=obj,
                        title=f"Visit {i:07d}",
                        owner=rng.choice(reps),
                        custom=custom,
                        created_at=now,
                        updated_at=now,
                    )
                )
            with transaction.atomic():
                CustomRecord.all_objects.bulk_create(records, batch_size=batch)
            done += n
            if done % 100_000 == 0 or done == rows:
                self.stdout.write(f"  {done:,} / {rows:,}")
                self.stdout.flush()

    # -- measuring --------------------------------------------------------------------

    def _timed(self, client: Client, url: str, n: int) -> tuple[list[float], int]:
        first = client.get(url)  # warm the caches, the session and the connection
        if first.status_code != 200:
            raise CommandError(f"{url} answered {first.status_code}")
        statements: list[str] = []

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(url)
        times = []
        for _i in range(n):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise CommandError(f"{url} answered {response.status_code}")
        return times, len(statements)

    def _row(
        self, label: str, who: str, client: Client, url: str, n: int, rounds: int, floor: float
    ) -> None:
        p50s, p95s, count = [], [], 0
        for _r in range(rounds):
            times, count = self._timed(client, url, n)
            p50s.append(statistics.median(times))
            p95s.append(_p95(times))
        p95 = statistics.median(p95s)
        verdict = "ok" if p95 <= BUDGET_MS else "OVER"
        self.stdout.write(
            f"{label:<34}{who:<13}{statistics.median(p50s):8.1f}{p95:8.1f}{count:8d}"
            f"  {verdict} (×{p95 / max(floor, 0.01):.0f} floor)"
        )
        self.stdout.flush()

    def _measure(self, options: dict[str, Any]) -> None:
        from salesops.objects.models import CustomRecord
        from salesops.users.models import User

        n, rounds = options["requests"], max(1, options["rounds"])
        admin = User.objects.get(username="bench_admin")
        rep = User.objects.get(username="bench_rep000")
        total = CustomRecord.objects.filter(kind__key=KEY).count()
        load = os.getloadavg()
        self.stdout.write(
            f"database: {connection.vendor} {settings.DATABASES['default']['NAME']}; "
            f"{total:,} records of {KEY}; {n} requests × {rounds} rounds; "
            f"load average {load[0]:.2f} {load[1]:.2f} (2 cores, shared)"
        )
        self.stdout.write(
            f"{'list (filter + sort)':<34}{'user':<13}{'p50 ms':>8}{'p95 ms':>8}{'queries':>8}  budget p95 {BUDGET_MS:.0f} ms"
        )
        floors = []
        floor_client = Client()
        for _r in range(rounds):
            times, _q = self._timed(floor_client, "/healthz", n)
            floors.append(_p95(times))
        floor = statistics.median(floors)
        self.stdout.write(f"{'/healthz (floor, same run)':<34}{'-':<13}{'':>8}{floor:8.1f}{0:8d}")
        urls = []
        try:
            page = reverse("object_list", args=[KEY])
            urls.append(("page " + page, page + "?outcome=good&sort=-cf_score"))
        except NoReverseMatch:
            self.stdout.write("(the custom-object pages are not installed: API only)")
        api = f"/api/v1/objects/{KEY}"
        urls.append(("API " + api, api + "?custom.outcome=good&sort=-custom.score"))
        for person, who in ((admin, "admin (all)"), (rep, "rep (own)")):
            client = Client()
            client.force_login(person)
            for label, url in urls:
                self._row(label, who, client, url, n, rounds, floor)


def _create_database(url: str) -> None:
    import psycopg

    base, _sep, name = url.rpartition("/")
    name = name.split("?", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not found:
            conn.execute(f'CREATE DATABASE "{name}"')
