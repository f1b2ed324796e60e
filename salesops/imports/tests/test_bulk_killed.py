"""A worker killed (SIGKILL) in the middle of an all-or-nothing bulk import leaves
nothing behind: the rows written so far were in the import's one transaction.

A real process runs against the test database: PostgreSQL's test database, the SQLite
test file (SQLITE_TEST_PATH), or, for the default in-memory SQLite test database, a
file copy that is copied back afterwards."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from salesops.crm.models import Contact
from salesops.crm.tests.factories import CustomerFactory
from salesops.imports.bulk import run_bulk_import
from salesops.imports.fields import spec_for, suggest_mapping
from salesops.imports.reading import open_table
from salesops.imports.tests import corpus


class SharedDatabase:
    """The test database as a subprocess sees it."""

    def __init__(self, tmp_path: Path) -> None:
        self.copy: Path | None = None
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "salesops.settings"}
        name = connection.settings_dict["NAME"]
        if connection.vendor == "postgresql":
            url = urlsplit(os.environ["DATABASE_URL"])
            env["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{name}"))
        elif connection.vendor == "sqlite":
            env["DATABASE_URL"] = ""
            if cast(Any, connection).is_in_memory_db():
                self.copy = tmp_path / "import-test.sqlite3"
                env["SQLITE_PATH"] = str(self.copy)
            else:
                env["SQLITE_PATH"] = str(name)
        else:
            pytest.skip(f"no subprocess test for {connection.vendor}")
        self.env = env

    def push(self) -> None:
        if self.copy is not None:
            connection.ensure_connection()
            target = sqlite3.connect(self.copy)
            connection.connection.backup(target)
            target.close()

    def pull(self) -> None:
        if self.copy is not None:
            source = sqlite3.connect(self.copy)
            source.backup(connection.connection)
            source.close()


def contacts_file(n: int) -> bytes:
    rows = [["客户名称", "姓名", "手机", "邮箱"]] + [
        ["Acme", f"Person {i}", f"139{i:08d}", f"p{i}@example.com"] for i in range(n)
    ]
    return corpus.csv_bytes(rows)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_in_all_or_nothing_mode_leaves_no_contact(cast, tmp_path):
    CustomerFactory.create(owner=cast.rep, name="Acme")
    path = tmp_path / "contacts.csv"
    path.write_bytes(contacts_file(200))
    marker = tmp_path / "first-chunk-written"
    db = SharedDatabase(tmp_path)
    db.push()
    command = [sys.executable, "-m", "salesops.imports.tests.killed_import",
               str(path), cast.rep.username, str(marker)]  # fmt: skip
    log = tmp_path / "import.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=db.env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while not marker.exists():
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            assert marker.read_text() == "50"  # written, inside the import's transaction
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    db.pull()
    assert not Contact.all_objects.exists()

    # The retried import (the job runs it again from the first row) imports everything.
    with path.open("rb") as f, open_table(f, path.name) as table:
        columns = suggest_mapping(table.headers, spec_for("contact"))
        report = run_bulk_import(table, user=cast.rep, columns=columns, mode="all-or-nothing")
    assert (report.created, report.rolled_back) == (200, False)
    assert Contact.objects.count() == 200
