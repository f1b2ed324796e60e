"""Fast inserts of generated rows: `executemany` on SQLite, `COPY` on PostgreSQL.

Table and column names come from each model's `_meta`. Columns a row does not carry
(for instance a field added to a model after this generator was written) are filled
with the field's default, so a new nullable or defaulted field does not break seeding.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.management.color import no_style
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext as _

from salesops.demo.tables import TABLES


class SeedError(Exception):
    """The data cannot be written; the message says why and what to do."""


@dataclass
class _Table:
    model: type[models.Model]
    db_table: str
    sql: str
    extra: tuple[Any, ...]
    #: Duplicate-key columns written after the given ones: {field: its index in a row}
    #: of the sources (leads, customers, contacts), as `save()` would compute them.
    key_sources: dict[str, int] | None = None


class Loader:
    """Writes rows to the tables named in `tables.TABLES`, inside the caller's transaction."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.vendor = connection.vendor
        if self.vendor not in ("sqlite", "postgresql"):
            raise SeedError(
                _("Seeding supports SQLite and PostgreSQL, not %(vendor)s.")
                % {"vendor": self.vendor}
            )
        connection.ensure_connection()
        self.raw: Any = connection.connection
        self.counts: Counter[str] = Counter()
        self.seconds: dict[str, float] = defaultdict(float)
        self._tables: dict[str, _Table] = {}
        self._dropped: list[tuple[str, str]] = []  # (table, statement to recreate)

    # -- writing -------------------------------------------------------------------------
    def table(self, key: str) -> _Table:
        t = self._tables.get(key)
        if t is None:
            model, fields = TABLES[key]
            t = self._tables[key] = self._prepare(model, fields)
        return t

    def _prepare(self, model: type[models.Model], fields: Sequence[str]) -> _Table:
        qn = self.connection.ops.quote_name
        meta = model._meta
        given = [meta.get_field(name) for name in fields]
        columns: list[str] = [str(f.column) for f in given]  # type: ignore[union-attr]
        key_sources = None
        dedup = getattr(model, "dedup_sources", None)
        if dedup and not any(c in columns for c in dedup):
            key_sources = {src: fields.index(src) for src, _k in dedup.values() if src in fields}
            columns.extend(dedup)
        extra_values = []
        for f in meta.concrete_fields:
            if f.column in columns:
                continue
            if not f.null and not f.has_default():
                raise SeedError(
                    _(
                        "%(model)s.%(field)s has no default; the demo generator must be taught "
                        "to fill it."
                    )
                    % {"model": meta.label, "field": f.name}
                )
            columns.append(str(f.column))
            value = f.get_default() if f.has_default() else None
            extra_values.append(f.get_db_prep_save(value, self.connection))
        cols = ", ".join(qn(c) for c in columns)
        if self.vendor == "sqlite":
            marks = ", ".join("?" * len(columns))
            # names from _meta, quoted; no user input
            sql = f"INSERT INTO {qn(meta.db_table)} ({cols}) VALUES ({marks})"  # noqa: S608
        else:
            sql = f"COPY {qn(meta.db_table)} ({cols}) FROM STDIN"
        return _Table(model, meta.db_table, sql, tuple(extra_values), key_sources)

    def write(self, key: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        started = time.perf_counter()
        t = self.table(key)
        if t.key_sources is not None:
            n = len(rows)
            sources = {src: [row[i] for row in rows] for src, i in t.key_sources.items()}
            keys = t.model.key_columns(sources, n)  # type: ignore[attr-defined]
            rows = [
                row + tuple(values)
                for row, values in zip(rows, zip(*keys.values(), strict=True), strict=True)
            ]
        if t.extra:
            rows = [row + t.extra for row in rows]
        if self.vendor == "sqlite":
            self.raw.executemany(t.sql, rows)
        else:
            with self.raw.cursor() as cur, cur.copy(t.sql) as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
        self.counts[key] += len(rows)
        self.seconds[key] += time.perf_counter() - started

    # -- indexes around the bulk load ------------------------------------------------------
    def drop_secondary_indexes(self, keys: Iterable[str]) -> None:
        """Drop the secondary indexes (and on PostgreSQL the foreign keys) of these tables;
        `restore` builds them again from the saved definitions, which is much faster than
        keeping them up to date row by row."""
        with self.connection.cursor() as cur:
            if self.vendor == "postgresql":
                # check the rows written so far now: a table with pending deferred checks
                # cannot be altered
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cur.execute("SET CONSTRAINTS ALL DEFERRED")
            for key in keys:
                table = self.table(key).db_table
                for name, statement in self._index_definitions(cur, table):
                    self._dropped.append((table, statement))
                    cur.execute(f"DROP INDEX {self.connection.ops.quote_name(name)}")
                if self.vendor == "postgresql":
                    qt = self.connection.ops.quote_name(table)
                    cur.execute(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                        [table],
                    )
                    for name, definition in cur.fetchall():
                        qc = self.connection.ops.quote_name(name)
                        self._dropped.append(
                            (table, f"ALTER TABLE {qt} ADD CONSTRAINT {qc} {definition}")
                        )
                        cur.execute(f"ALTER TABLE {qt} DROP CONSTRAINT {qc}")

    def _index_definitions(self, cur: Any, table: str) -> list[tuple[str, str]]:
        if self.vendor == "sqlite":
            cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL ORDER BY name",
                [table],
            )
            return list(cur.fetchall())
        cur.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
            "ORDER BY i.relname",
            [table],
        )
        return list(cur.fetchall())

    def restore(self) -> None:
        """Recreate what `drop_secondary_indexes` dropped: indexes first, then foreign keys
        (which PostgreSQL validates against the new data in one pass each)."""
        started = time.perf_counter()
        indexes = [s for _t, s in self._dropped if not s.startswith("ALTER TABLE")]
        foreign_keys = [s for _t, s in self._dropped if s.startswith("ALTER TABLE")]
        with self.connection.cursor() as cur:
            for statement in indexes + foreign_keys:
                cur.execute(statement)
        self._dropped = []
        self.seconds["(indexes)"] += time.perf_counter() - started

    # -- after the load ----------------------------------------------------------------------
    def reset_sequences(self, model_list: Iterable[type[models.Model]]) -> None:
        """Make PostgreSQL's id sequences continue after the explicit ids written."""
        statements = self.connection.ops.sequence_reset_sql(no_style(), list(model_list))
        if statements:
            with self.connection.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)


class bulk_session:  # used as a context manager, like a function
    """Session settings for a bulk load, restored afterwards.

    SQLite: foreign-key enforcement off (it can only change outside a transaction; the
    generator writes consistent ids and the tests run `PRAGMA foreign_key_check`),
    `synchronous=OFF` and a big page cache. The database stays in WAL mode.
    PostgreSQL: `SET LOCAL` inside the transaction does the same job (see `tune_transaction`).
    """

    def __init__(self, connection: BaseDatabaseWrapper, *, cache_mib: int = 64) -> None:
        self.connection = connection
        self.cache_mib = cache_mib
        self._saved: dict[str, Any] = {}
        self.fk_disabled = False

    def __enter__(self) -> bulk_session:
        c = self.connection
        if c.vendor == "sqlite":
            with c.cursor() as cur:
                for pragma in ("synchronous", "cache_size"):
                    cur.execute(f"PRAGMA {pragma}")
                    self._saved[pragma] = cur.fetchone()[0]
                cur.execute("PRAGMA synchronous = OFF")
                cur.execute(f"PRAGMA cache_size = -{self.cache_mib * 1024}")
            self.fk_disabled = c.disable_constraint_checking()
        return self

    def __exit__(self, *exc: object) -> None:
        c = self.connection
        if c.vendor == "sqlite":
            if self.fk_disabled:
                c.enable_constraint_checking()
            with c.cursor() as cur:
                for pragma, value in self._saved.items():
                    cur.execute(f"PRAGMA {pragma} = {int(value)}")


def tune_transaction(connection: BaseDatabaseWrapper) -> None:
    """PostgreSQL settings for this transaction only."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
            cur.execute("SET LOCAL work_mem = '64MB'")


def analyze(connection: BaseDatabaseWrapper, tables: Iterable[str]) -> None:
    """Fresh planner statistics after the load. On PostgreSQL the tables are vacuumed
    too (outside a transaction, where VACUUM may run): it marks the freshly loaded pages
    all-visible, without which an index-only scan (the board's totals from `deal_board`,
    the KPIs' covering indexes) still reads every row's heap page until autovacuum
    happens to come by."""
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("PRAGMA analysis_limit = 1000")
            cur.execute("ANALYZE")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            for table in tables:
                cur.execute(f"{command} {qn(table)}")
