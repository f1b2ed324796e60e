"""Using both cores for big data sets (fork only).

- A *generator* process runs `History.chunks()` and sends the rows on through pipes.
- On SQLite an *aux writer* process receives the follow-ups, the biggest table by far,
  writes them into a scratch database file of the same schema, and builds their indexes
  there, while this process writes the other tables and builds their indexes. This
  process then copies the follow-ups over with `INSERT INTO … SELECT * FROM aux…`, which
  SQLite runs as a page-level transfer (its "xfer" optimisation: same schema, target
  table empty, foreign keys off), appending rows and index entries in order instead of
  sorting them again.

The scratch file is attached before the main transaction starts (SQLite cannot attach
inside one), and that transaction is started DEFERRED so that it does not lock the
scratch file while the aux writer fills it.

The children never touch the database connections they inherit and leave with
`os._exit`, so nothing closes those connections on their way out.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext as _

from salesops.demo.bulk import Loader, SeedError
from salesops.demo.history import History

Row = tuple[Any, ...]
AUX_ALIAS = "seed_aux"
#: the tables the aux writer takes (on SQLite)
AUX_KEYS = ("followup",)


@dataclass
class AuxSpec:
    """What the aux writer needs: where, the schema, and the insert per table key."""

    path: str
    create: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    inserts: dict[str, tuple[str, tuple[Any, ...]]] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)


def aux_spec(connection: BaseDatabaseWrapper, loader: Loader) -> AuxSpec:
    """The scratch database beside the main one, with the main tables' own DDL."""
    db_name = str(connection.settings_dict["NAME"])
    in_memory = connection.is_in_memory_db() or not os.path.isabs(db_name)  # type: ignore[attr-defined]
    folder = tempfile.gettempdir() if in_memory else os.path.dirname(db_name)
    base = "salesops-seed" if in_memory else os.path.basename(db_name)
    spec = AuxSpec(path=os.path.join(folder, f".{base}.seed-{os.getpid()}.tmp"))
    with connection.cursor() as cur:
        for key in AUX_KEYS:
            table = loader.table(key)
            spec.tables[key] = table.db_table
            spec.inserts[key] = (table.sql, table.extra)
            cur.execute(
                # tables and indexes only: the KPI roll-up triggers stay in the main database
                "SELECT type, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL "
                "AND type IN ('table', 'index') ORDER BY type = 'index', name",
                [table.db_table],
            )
            for kind, sql in cur.fetchall():
                (spec.indexes if kind == "index" else spec.create).append(sql)
    return spec


@contextlib.contextmanager
def attached(connection: BaseDatabaseWrapper, spec: AuxSpec | None) -> Iterator[None]:
    """Attach the scratch file (empty) for the duration, with deferred transactions."""
    if spec is None:
        yield
        return
    _remove(spec.path)
    saved_mode = getattr(connection, "transaction_mode", None)
    with connection.cursor() as cur:
        cur.execute(f"ATTACH DATABASE %s AS {AUX_ALIAS}", [spec.path])
    connection.transaction_mode = None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        connection.transaction_mode = saved_mode  # type: ignore[attr-defined]
        with contextlib.suppress(Exception), connection.cursor() as cur:
            cur.execute(f"DETACH DATABASE {AUX_ALIAS}")
        _remove(spec.path)


def _remove(path: str) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


class Pipeline:
    """Runs the generator (and the aux writer) in child processes; iterate it for the
    rows this process must write."""

    def __init__(self, history: History, aux: AuxSpec | None) -> None:
        self.history = history
        self.aux = aux
        self.child_cpu: dict[str, float] = {}
        self.aux_counts: dict[str, int] = {}
        ctx = multiprocessing.get_context("fork")
        self._receiver, sender = ctx.Pipe(duplex=False)
        aux_sender = None
        self._aux_proc = None
        if aux is not None:
            aux_receiver, aux_sender = ctx.Pipe(duplex=False)
            self._aux_status, status_sender = ctx.Pipe(duplex=False)
            self._aux_proc = ctx.Process(
                target=_aux_writer, args=(aux, aux_receiver, status_sender), daemon=True
            )
            self._aux_proc.start()
            aux_receiver.close()
            status_sender.close()
        self._generator = ctx.Process(
            target=_generate, args=(history, sender, aux_sender), daemon=True
        )
        self._generator.start()
        sender.close()
        if aux_sender is not None:
            aux_sender.close()

    def __iter__(self) -> Iterator[tuple[str, list[Row]]]:
        try:
            while True:
                try:
                    message = self._receiver.recv()
                except EOFError as e:
                    raise SeedError(_("The generator process ended unexpectedly.")) from e
                if message[0] == "__done__":
                    self.history.plan.busiest = message[1]
                    self.child_cpu["generator"] = message[2]
                    return
                if message[0] == "__error__":
                    raise SeedError(message[1])
                yield message
        finally:
            self._receiver.close()
            self._generator.join(timeout=10)
            if self._generator.is_alive():
                self._generator.kill()

    def transfer(self, connection: BaseDatabaseWrapper) -> dict[str, int]:
        """Wait for the aux writer, then copy its tables into the main ones."""
        if self.aux is None or self._aux_proc is None:
            return {}
        try:
            status = self._aux_status.recv()
        except EOFError as e:
            raise SeedError(_("The follow-up writer process ended unexpectedly.")) from e
        finally:
            self._aux_proc.join(timeout=10)
        if status[0] != "ok":
            raise SeedError(status[1])
        self.child_cpu["aux writer"] = status[1]
        counts = {}
        qn = connection.ops.quote_name
        with connection.cursor() as cur:
            for key, table in self.aux.tables.items():
                # no column list, no WHERE: the form SQLite copies page by page
                cur.execute(
                    f"INSERT INTO main.{qn(table)} SELECT * FROM {AUX_ALIAS}.{qn(table)}"  # noqa: S608
                )
                counts[key] = cur.rowcount
        return counts

    def stop(self) -> None:
        for proc in (self._generator, self._aux_proc):
            if proc is not None and proc.is_alive():
                proc.kill()
                proc.join(timeout=5)


def _generate(history: History, sender: Any, aux_sender: Any) -> None:  # pragma: no cover
    """The generator process: rows to the main process, or to the aux writer."""
    gc.disable()  # millions of short-lived tuples and no cycles
    code = 0
    try:
        for key, rows in history.chunks():
            if aux_sender is not None and key in AUX_KEYS:
                aux_sender.send((key, rows))
            else:
                sender.send((key, rows))
        if aux_sender is not None:
            aux_sender.send(None)
        sender.send(("__done__", history.plan.busiest, time.process_time()))
    except BaseException as e:
        code = 1
        with contextlib.suppress(Exception):
            sender.send(("__error__", f"{type(e).__name__}: {e}"))
    finally:
        sender.close()
        if aux_sender is not None:
            aux_sender.close()
        os._exit(code)


def _aux_writer(spec: AuxSpec, receiver: Any, status: Any) -> None:  # pragma: no cover
    """The aux writer process: fills the scratch database and indexes it."""
    gc.disable()
    code = 0
    try:
        con = sqlite3.connect(spec.path, isolation_level=None)
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "locking_mode = EXCLUSIVE",
            "cache_size = -65536",
            "temp_store = MEMORY",
            "foreign_keys = OFF",
        ):
            con.execute(f"PRAGMA {pragma}")
        con.execute("BEGIN")
        for sql in spec.create:
            con.execute(sql)
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                raise SeedError(_("The generator process ended unexpectedly.")) from None
            if message is None:
                break
            key, rows = message
            sql, extra = spec.inserts[key]
            con.executemany(sql, [row + extra for row in rows] if extra else rows)
        for sql in spec.indexes:
            con.execute(sql)
        con.execute("COMMIT")
        con.close()
        status.send(("ok", time.process_time()))
    except BaseException as e:
        code = 1
        with contextlib.suppress(Exception):
            status.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        status.close()
        os._exit(code)
