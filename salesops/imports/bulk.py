"""The bulk path for large contact files: the row path's rules, applied a column at a
time, rows written with COPY (PostgreSQL) or executemany (SQLite) in large chunks.

Same results as the row path (`engine.run_import`), by construction:

* **cells** — each mapped column gets one converter, compiled once: a fast path for the
  common shapes (`13912345678`, `name@example.com`, text without surrounding spaces or
  quotes), else a memo of the values already seen in the column (customer names, job
  titles, yes/no), else the row path's own converter (`RowReader.convert`) followed by
  the row path's field rules (`FieldRules`, `CustomRules`) for that one field. A fast
  path returns a value only where the full path gives that same value without a
  problem (tests check every shape against the full path); otherwise it answers MISS.
* **problems** — a row with a MISS in any column goes through `RowImporter.check`,
  the row path's check, so its error lines are exactly the row path's.
* **customers** — resolved per distinct name, a chunk's new names in one query through
  `Customer.objects.visible_to(user)`, with the row path's messages (`rows.not_one`).
* **rights** — what `crm.services.create_contact` checks per row is checked once: the
  right to create contacts and to edit customers (`ensure_right`, refused before the
  first row), the customer visible to the importer (the resolution above); only the
  contact's own fields that the import offers (`fields.spec_for`) are written; the
  owner is the customer's owner.
* **duplicates** — normalised e-mail and phones, against the contacts the importer can
  see (read once at the start, the row path's `ContactHandler.existing`) and the rows
  created before in the same file. The keys themselves (exact: no digest, no chance of
  a false duplicate) are held in a `KeyIndex`, a private temporary SQLite database
  that keeps INDEX_CACHE_KIB of pages in memory and the rest on disk, so memory does
  not grow with the file or the existing contacts. Each chunk's keys are looked up in
  one query; only rows whose keys are held or occur twice are decided one by one.
* **reading** — CSV rows are read a chunk at a time (`reading._CsvRows.take`: the same
  rows, lines and problems as reading row by row).

Memory is bounded by the chunk (25,000 rows), the key index's page cache and the
database connection's own memory (SQLite: its 64 MB page cache and up to 256 MB of the
file mapped), whatever the file's size.

Writes bypass the model layer (no `save()`), which is why the module is limited to
contacts, which have no signals, no children and no counters to keep — except the
computed fields, done here explicitly: a contact's formulas per row from the row's
values, and the roll-ups over contacts once per chunk for its customers. Updating
duplicates needs the service per record: `dedupe="update"` goes through the row path.

Modes as in the row path: skip-errors commits every COMMIT_ROWS rows (whole chunks)
with their checkpoints (a killed worker resumes after the last committed chunk); all-or-nothing runs the whole file in
one transaction, which a killed worker's database rolls back.

`helper=True` prepares the next chunk (read, convert, look keys up) in a forked second
process while this one writes (`Helper`); decision 0008 says why it is not the default.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import pickle
import re
import sqlite3
import sys
from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator, Sequence
from itertools import compress, islice, repeat
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesops.audit.services import record_import
from salesops.crm.models import Contact, Customer
from salesops.customization import computed, rules
from salesops.customization.models import CustomField
from salesops.customization.services import _clean_one
from salesops.imports.engine import (
    ALL_OR_NOTHING,
    DEDUPE,
    MODES,
    Checkpoint,
    Report,
    RowImporter,
    _stored_phone,
)
from salesops.imports.fields import Target, spec_for
from salesops.imports.reading import Row, Table
from salesops.imports.rows import FieldRules, Problem, split_values
from salesops.imports.values import CellError, phone_key
from salesops.lib.services import ensure_right


class _Sentinel:
    """A named marker that stays itself through pickle (the helper process sends it)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        return self.name  # the module's attribute of that name


#: A converter's answer when it does not vouch for a cell: the row takes the row path.
MISS: Any = _Sentinel("MISS")
#: A custom field's empty cell: the field is left out of the record's custom values.
OMIT: Any = _Sentinel("OMIT")
_NOT_SEEN: Any = object()
#: Distinct values remembered per column (a column with more is read without memo).
MEMO_MAX = 20_000
#: Names per customer query.
IN_BATCH = 500
#: Rows per transaction in skip-errors mode (whole chunks: two of 25,000 rows; a commit
#: per 10,000-row chunk wrote each index page out five times as often).
COMMIT_ROWS = 50_000
#: Customer names remembered with what they resolved to (more: forgotten, read again).
CUSTOMERS_KEPT = 50_000
#: The de-dup index's memory: SQLite pages kept in memory (the rest is on disk).
INDEX_CACHE_KIB = 16 * 1024

_EMAIL = re.compile(
    r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_CN_MOBILE = re.compile(r"1[0-9]{10}")
_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{4,19}")

Converter = Callable[[Any], Any]


#: A column's cells to values, MISS where the shape does not vouch for the cell.
Shape = Callable[[Sequence[Any]], list[Any]]


# -- fast shapes (a column at a time: one list comprehension, no call per cell) ---------


def text_shape(max_length: int | None, blank: bool) -> Shape:
    """Text that starts and ends with a letter or digit: nothing to trim, no formula
    quote to remove (`RowReader.convert` / `clean_text` give it back unchanged)."""
    limit = max_length or sys.maxsize
    empty = "" if blank else MISS

    def shape(cells: Sequence[Any]) -> list[Any]:
        return [
            (raw if raw[0].isalnum() and raw[-1].isalnum() and len(raw) <= limit else MISS)
            if raw.__class__ is str and raw
            else (empty if raw.__class__ is str else MISS)
            for raw in cells
        ]

    return shape


def email_shape(max_length: int, blank: bool) -> Shape:
    """A plain ASCII address (`parse_email` lower-cases it; Django's EmailValidator
    accepts every address of this shape)."""
    limit = min(max_length, 320)
    empty = "" if blank else MISS
    match = _EMAIL.fullmatch

    def shape(cells: Sequence[Any]) -> list[Any]:
        return [
            (raw.lower() if len(raw) <= limit and match(raw) else MISS)
            if raw.__class__ is str and raw
            else (empty if raw.__class__ is str else MISS)
            for raw in cells
        ]

    return shape


def phone_shape(max_length: int, blank: bool) -> Shape:
    """A Chinese mobile number written as 11 digits, or +<country><number>."""
    empty = "" if blank else MISS
    mobile = _CN_MOBILE.fullmatch
    international = _INTERNATIONAL.fullmatch

    def shape(cells: Sequence[Any]) -> list[Any]:
        return [
            (
                "+86" + raw
                if len(raw) == 11 and mobile(raw)
                else raw
                if len(raw) <= max_length and international(raw) and raw[:4] != "+860"
                else MISS
            )
            if raw.__class__ is str and raw
            else (empty if raw.__class__ is str else MISS)
            for raw in cells
        ]

    return shape


class Prepared(NamedTuple):
    """A chunk read and converted, no database involved: what the helper hands over."""

    lines: list[int]
    cells: list[list[Any]]
    #: The customer column's values (MISS where the row path must look).
    customers: list[Any]
    #: One list of values per `BulkContactImporter.columns`, MISS where not vouched for.
    values: list[list[Any]]
    #: The de-dup keys, one list per key column (e-mail, mobile, phone): a row's key or
    #: None (no value, or a value the row path refuses: the row fails anyway).
    keys: list[list[str | None]]
    #: The keys that the index holds (every chunk's keys looked up in one query).
    hits: set[str]
    #: The rows with a MISS in a column above (the row path checks them).
    missed: set[int]


# -- one column ---------------------------------------------------------------------------


class Column:
    """How one mapped column's cells become values, compiled once per import."""

    def __init__(self, index: int, target: Target, full: Converter, shape: Shape | None):
        self.index = index
        self.target = target
        self.full = full
        self.shape = shape
        self.memo: dict[Any, Any] = {}
        self.use_memo = True

    def convert_all(self, cells: Any) -> list[Any]:
        """The values of a column's cells (MISS where the row path would see a problem)."""
        shape, full = self.shape, self.full
        values = shape(cells) if shape is not None else [MISS] * len(cells)
        if MISS not in values:
            return values
        memo = self.memo
        for i, value in enumerate(values):
            if value is not MISS:
                continue
            raw = cells[i]
            if self.use_memo and raw.__class__ is str:  # (1 == 1.0 == True: text only)
                found = memo.get(raw, _NOT_SEEN)
                if found is _NOT_SEEN:
                    found = memo[raw] = full(raw)
                    if len(memo) >= MEMO_MAX:
                        self.use_memo = False
                        memo.clear()
                values[i] = found
            else:
                values[i] = full(raw)
        return values


class BulkContactImporter:
    def __init__(
        self,
        *,
        user: Any,
        headers: list[str],
        columns: dict[str, str],
        dedupe: str = "skip",
        day_first: bool = False,
    ) -> None:
        if dedupe not in DEDUPE or dedupe == "update":
            raise ValueError(_("The bulk path creates or skips; updates go row by row."))
        ensure_right(user, "contact", "create")
        ensure_right(user, "customer", "edit")
        self.user = user
        self.dedupe = dedupe
        #: The row path for the same file: its checks make the error lines.
        self.rows = RowImporter(
            user=user,
            object_type="contact",
            headers=headers,
            columns=columns,
            dedupe=dedupe,
            day_first=day_first,
        )
        self.reader = self.rows.reader
        self.header_of = self.reader.header_of
        #: The contact's own fields, every one written (a default where no column
        #: gives it): what `create_contact` takes, from the registry.
        self.written = spec_for("contact", with_custom=False).plain()
        self.columns: list[Column] = []
        self.custom_columns: list[Column] = []
        self.customer_column: Column | None = None
        for index, _header, target in self.reader.plan:
            column = self._column(index, target)
            if target.key == "customer":
                self.customer_column = column
            elif target.custom is not None:
                self.custom_columns.append(column)
            elif target.key in self.written:
                self.columns.append(column)
        assert self.customer_column is not None  # a required target: checked by RowImporter
        mapped = {c.target.key for c in self.custom_columns}
        #: A required custom field without a column fails every row: the row path says so.
        self.all_rows_fail = any(
            f"custom.{f.key}" not in mapped for f in self.rows.custom_rules.required
        )
        self.customers: dict[str, tuple[int, int | None] | None] = {}
        #: The key columns: (index in `written`, prefix), e-mail first.
        self.key_columns = [
            (self.written_index(name), prefix)
            for name, prefix in (("email", "email:"), ("mobile", "phone:"), ("phone", "phone:"))
            if name in self.header_of
        ]
        if dedupe == "create":
            self.key_columns = []
        #: The keys of the rows created from the chunk before (the helper's index may
        #: not hold them yet).
        self.previous: set[str] = set()
        self.not_created: list[int] = []
        meta = Contact._meta
        self.table = str(meta.db_table)
        #: Formulas (or roll-ups' initial values) to compute per row; roll-ups over
        #: contacts to recompute per chunk.
        self.computes = bool(computed.formulas("contact") or computed.initial_rollups("contact"))
        self.rolled_up = bool(computed.child_links("contact"))
        names = ["created_at", "updated_at", "version", "owner", "custom", "customer"]
        #: The duplicate keys are written with the row (as `save()` would), so that the
        #: duplicate finder never has to compute them for imported rows.
        self.key_names = list(Contact.dedup_sources)
        self.key_sources = {source for source, _kind in Contact.dedup_sources.values()}
        self.db_columns: list[str] = [
            getattr(meta.get_field(n), "column", n)
            for n in [*names, *self.written, *self.key_names]
        ]

    def written_index(self, name: str) -> int:
        return self.written.index(name)

    # -- compiling the columns --
    def _column(self, index: int, target: Target) -> Column:
        if target.custom is not None:
            return Column(index, target, self._custom_converter(target), None)
        rules = FieldRules(Contact, [target.key]) if target.key in self.written else None
        convert = self.reader.convert
        key = target.key
        blank_required = target.key == "customer"

        def full(raw: Any) -> Any:
            try:
                value = convert(target, raw)
            except CellError:
                return MISS
            if blank_required and not value:
                return MISS
            if rules is not None and rules.errors({key: value}):
                return MISS
            return value

        return Column(index, target, full, self._shape(target))

    def _shape(self, target: Target) -> Shape | None:
        if target.key == "customer":
            return text_shape(None, blank=False)
        if target.key not in self.written:
            return None
        f: Any = Contact._meta.get_field(target.key)
        if f.choices:
            return None
        kinds = {type(v).__name__ for v in f.validators}
        if target.kind == "text" and kinds <= {"MaxLengthValidator"}:
            return text_shape(f.max_length, f.blank)
        if target.kind == "phone" and kinds <= {"MaxLengthValidator"} and f.max_length:
            return phone_shape(f.max_length, f.blank)
        if (
            target.kind == "email"
            and kinds <= {"MaxLengthValidator", "EmailValidator"}
            and all(getattr(v, "domain_allowlist", ["localhost"]) for v in f.validators)
        ):
            return email_shape(f.max_length, f.blank)
        return None

    def _custom_converter(self, target: Target) -> Converter:
        """A custom field's cell as `CustomRules.clean` keeps it (OMIT when empty)."""
        field: Any = target.custom
        convert = self.reader.convert
        resolver = self.rows.resolver
        is_user = field.field_type == CustomField.Type.USER

        def full(raw: Any) -> Any:
            try:
                value = convert(target, raw)
                if is_user and value:
                    value = resolver.owner(value).pk
            except CellError:
                return MISS
            if value is None or value == "" or value == []:
                return MISS if field.required else OMIT
            try:
                return _clean_one(field, value)
            except ValidationError:
                return MISS

        return full

    # -- duplicates --
    def existing(self, batch: int = 20_000) -> Iterator[list[tuple[str, str, str]]]:
        """The e-mail, mobile and phone of the contacts the importer can see (the row
        path's `ContactHandler.existing`), in batches."""
        if not self.key_columns:
            return
        rows = (
            Contact.objects.visible_to(self.user).order_by().values_list("email", "mobile", "phone")
        )
        sql, params = rows.query.sql_with_params()
        # Plain tuples, streamed (a server-side cursor on PostgreSQL): no model layer.
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while found := cursor.fetchmany(batch):
                yield found

    @staticmethod
    def existing_keys(rows: list[tuple[str, str, str]]) -> list[str]:
        """Their keys: `ContactHandler.existing` with the phone parser skipped for
        numbers stored in normal form."""
        keys = []
        normal = _INTERNATIONAL.fullmatch
        for email, mobile, phone in rows:
            if email:
                keys.append("email:" + email.lower())
            for number in (mobile, phone):
                if number:
                    if not normal(number) or number.startswith("+860"):
                        number = _stored_phone(number)
                        if not number:
                            continue
                    keys.append("phone:" + phone_key(number))
        return keys

    def chunk_keys(self, values: list[list[Any]]) -> list[list[str | None]]:
        """A chunk's keys per key column, from the converted values (`prepare`)."""
        by_field = {c.target.key: v for c, v in zip(self.columns, values, strict=True)}
        keys = []
        for position, prefix in self.key_columns:
            cells = by_field[self.written[position]]
            if prefix == "email:":
                keys.append([prefix + v if v and v.__class__ is str else None for v in cells])
            else:
                keys.append(
                    [
                        (prefix + (v if "x" not in v else phone_key(v)))
                        if v and v.__class__ is str
                        else None
                        for v in cells
                    ]
                )
        return keys

    # -- customers --
    def _resolve_customers(self, names: set[str]) -> None:
        """`Resolver.customer` for many names: one query per batch of new names."""
        todo = [n for n in names if n not in self.customers and n is not MISS]
        if not todo:
            return
        if len(self.customers) + len(todo) > CUSTOMERS_KEPT:
            self.customers.clear()  # memory: a file naming ever new customers
            todo = [n for n in names if n is not MISS]
        found: dict[str, list[tuple[int, int | None]]] = {}
        visible = Customer.objects.visible_to(self.user)
        by_id = {n: int(n[1:]) for n in todo if n.startswith("#") and n[1:].isdigit()}
        by_name = [n for n in todo if n not in by_id]
        for start in range(0, len(by_name), IN_BATCH):
            part = by_name[start : start + IN_BATCH]
            for name, pk, owner in visible.filter(name__in=part).values_list(
                "name", "id", "owner_id"
            ):
                found.setdefault(name, []).append((pk, owner))
        if by_id:
            texts: dict[int, list[str]] = {}
            for text, pk in by_id.items():
                texts.setdefault(pk, []).append(text)
            ids = sorted(texts)
            for start in range(0, len(ids), IN_BATCH):
                for pk, owner in visible.filter(pk__in=ids[start : start + IN_BATCH]).values_list(
                    "id", "owner_id"
                ):
                    for text in texts[pk]:
                        found.setdefault(text, []).append((pk, owner))
        for name in todo:
            hits = found.get(name, [])
            self.customers[name] = hits[0] if len(hits) == 1 else None

    # -- one chunk --
    def prepare(self, lines: list[int], cells: list[list[Any]]) -> Prepared:
        """A chunk's cells converted column by column, without the database (the helper
        process does this for the next chunk while this one writes)."""
        assert self.customer_column is not None
        by_column = list(zip(*cells, strict=True))
        values = [c.convert_all(by_column[c.index]) for c in self.columns]
        customers = self.customer_column.convert_all(by_column[self.customer_column.index])
        missed: set[int] = set()
        for column in (customers, *values):
            if MISS in column:
                missed.update(i for i, v in enumerate(column) if v is MISS)
        return Prepared(lines, cells, customers, values, self.chunk_keys(values), set(), missed)

    def apply(self, chunk: Prepared, report: Report) -> list[tuple[int, Problem]]:
        """Import a prepared chunk; returns its problems. The customers, the custom
        fields, the rows to send through the row path's check, the duplicates, then one
        write."""
        errors: list[tuple[int, Problem]] = []
        lines, cells = chunk.lines, chunk.cells
        n = len(lines)
        if not n:
            return errors
        texts = chunk.customers
        self._resolve_customers(set(texts))
        customers = list(map(self.customers.get, texts))
        values = {c.target.key: v for c, v in zip(self.columns, chunk.values, strict=True)}
        custom = [
            (c.target.key[7:], c.convert_all([row[c.index] for row in cells]))
            for c in self.custom_columns
        ]
        field_values = [
            (
                [_default(f) if v is None else v for v in values[f]]
                if None in values[f]
                else values[f]
            )
            if f in values
            else [_default(f)] * n
            for f in self.written
        ]
        customs: list[str] | None = None
        if custom:
            customs = [self._custom_json(custom, i) for i in range(n)]

        # Rows a converter did not vouch for, or naming no single customer: the row path.
        slow = set(chunk.missed)
        if None in customers:
            slow.update(i for i, c in enumerate(customers) if c is None)
        for _key, column_values in custom:
            if MISS in column_values:
                slow.update(i for i, v in enumerate(column_values) if v is MISS)
        if self.all_rows_fail:
            slow = set(range(n))
        alive = [True] * n
        for i in sorted(slow):
            outcome = self._slow_row(Row(lines[i], cells[i]), errors)
            if outcome is None:
                alive[i] = False
                continue
            row_values, customers[i], custom_json = outcome
            for column, value in zip(field_values, row_values, strict=True):
                column[i] = value
            if customs is not None:
                customs[i] = custom_json
        # The organisation's validation rules, on the record each living row would be
        # (the row path's service checks them when it saves).
        refused = self._refused_by_rules(alive, field_values, customs, customers)
        failed = alive.count(False)

        if self.key_columns:
            skipped, refused_rows = self._dedupe(chunk, alive, set(refused))
        else:
            skipped, refused_rows = 0, sorted(refused)
            for i in refused_rows:
                alive[i] = False
        # A refused row fails unless it is a duplicate (the row path skips those first).
        for i in refused_rows:
            self.rows.check(cells[i])  # the row's values, for its error lines
            errors.extend((lines[i], p) for p in self.rows._validation_problems(refused[i]))
        failed += len(refused_rows)
        if refused_rows:
            errors.sort(key=lambda e: e[0])
        #: The rows not created (failed or duplicates), told back to the feed.
        self.not_created = [i for i, ok in enumerate(alive) if not ok] if False in alive else []
        resolved: list[Any] = customers
        if None in resolved:
            resolved = [c if c is not None else (None, None) for c in customers]
        customer_ids, owners = zip(*resolved, strict=True)
        if self.computes:
            customs = self._computed(field_values, customs, alive, n)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        out = list(
            compress(
                zip(
                    repeat(now),
                    repeat(now),
                    repeat(1),
                    owners,
                    customs if customs is not None else repeat("{}"),
                    customer_ids,
                    *field_values,
                ),
                alive,
            )
        )
        if out:
            # The living rows' duplicate keys (a row left out may hold no value at all).
            sources = {
                name: list(compress(column, alive))
                for name, column in zip(self.written, field_values, strict=True)
                if name in self.key_sources
            }
            keys = Contact.key_columns(sources, len(out))
            columns = zip(*(keys[name] for name in self.key_names), strict=True)
            out = [row + k for row, k in zip(out, columns, strict=True)]
        self.write(out)
        if out and self.rolled_up:
            # The roll-ups over contacts, once per chunk for the customers in it.
            links = [{"customer_id": c} for c in set(compress(customer_ids, alive))]
            computed.touched(computed.parents_touched("contact", links))
        report.created += len(out)
        report.skipped += skipped
        report.failed += failed
        report.processed += n
        report.last_line = lines[-1]
        return errors

    def _refused_by_rules(
        self,
        alive: list[bool],
        field_values: list[list[Any]],
        customs: list[str] | None,
        customers: list[Any],
    ) -> dict[int, ValidationError]:
        """{row: refusal} of the living rows the contacts' validation rules refuse,
        checked on the unsaved contact each would be (`rules.check`, as `full_clean`
        in `create_contact` does). The records the rules read through a reference (the
        customer, the owner) are fetched once per chunk."""
        if not rules.active_rules("contact"):
            return {}
        objs: dict[int, Contact] = {}
        for i, ok in enumerate(alive):
            if not ok:
                continue
            customer_id, owner_id = customers[i]
            contact = Contact(
                customer_id=customer_id,
                owner_id=owner_id,
                custom=json.loads(customs[i]) if customs is not None else {},
                **{
                    name: column[i] for name, column in zip(self.written, field_values, strict=True)
                },
            )
            objs[i] = contact
        for name in {n.split(".", 1)[0] for n in rules.names("contact")}:
            f: Any = next((f for f in Contact._meta.fields if f.name == name), None)
            if f is None or not f.is_relation:
                continue
            ids = {getattr(c, f.attname) for c in objs.values()} - {None}
            found = f.related_model._base_manager.in_bulk(ids)
            for c in objs.values():
                related = found.get(getattr(c, f.attname))
                if related is not None:
                    setattr(c, name, related)
        refused: dict[int, ValidationError] = {}
        for i, contact in objs.items():
            try:
                rules.check(contact, "contact")
            except ValidationError as e:
                refused[i] = e
        return refused

    def _dedupe(
        self, chunk: Prepared, alive: list[bool], refused: set[int] | None = None
    ) -> tuple[int, list[int]]:
        """Mark the duplicates among the living rows not alive; returns how many, and
        the `refused` rows (by a validation rule) that are not duplicates, marked not
        alive too: they fail, and their keys are not remembered.

        The row path's rule: a row is a duplicate when one of its keys belongs to a
        contact the importer can see or to a row created before it from this file; a
        duplicate's keys are not remembered. A key is held before this chunk when the
        index had it (`chunk.hits`) or a row of the chunk before has it (`previous`).
        Rows whose keys occur nowhere else need no order; only the others are decided
        one by one, in file order."""
        refused = refused or set()
        refused_rows: list[int] = []
        hits, previous = chunk.hits, self.previous
        columns = chunk.keys
        if False in alive:
            columns = [
                [k if ok else None for k, ok in zip(column, alive, strict=True)]
                for column in columns
            ]
        every = [k for column in columns for k in column if k is not None]
        distinct = set(every)
        doubtful = distinct & hits
        if previous:
            doubtful.update(distinct & previous)
        if len(distinct) != len(every):
            doubtful.update(k for k, count in Counter(every).items() if count > 1)
        skipped = 0
        if doubtful:
            added: set[str] = set()
            in_doubt = sorted(
                {i for column in columns for i, k in enumerate(column) if k in doubtful}
            )
            in_doubt_keys: set[str] = set()
            for i in in_doubt:
                keys = [k for column in columns if (k := column[i]) is not None]
                in_doubt_keys.update(keys)
                if any(k in hits or k in previous or k in added for k in keys):
                    alive[i] = False
                    skipped += 1
                elif i in refused:
                    alive[i] = False
                    refused_rows.append(i)
                else:
                    added.update(keys)
            # A key of a row not in doubt is that row's alone (a shared key is doubtful).
            distinct -= in_doubt_keys
            distinct |= added
        # A refused row not in doubt is no duplicate: it fails, its keys are not kept.
        for i in sorted(refused - set(refused_rows)):
            if alive[i]:
                alive[i] = False
                refused_rows.append(i)
                distinct -= {k for column in columns if (k := column[i]) is not None}
        #: The keys of the rows this chunk creates.
        self.previous = distinct
        return skipped, sorted(refused_rows)

    def _computed(
        self, field_values: list[list[Any]], customs: list[str] | None, alive: list[bool], n: int
    ) -> list[str]:
        """Each living row's custom values with its formulas computed from the row's
        values, and its roll-ups at their value for no records."""
        out = list(customs) if customs is not None else ["{}"] * n
        for i in range(n):
            if not alive[i]:
                continue
            fields = {
                name: column[i] for name, column in zip(self.written, field_values, strict=True)
            }
            values = computed.formula_values("contact", fields, json.loads(out[i]))
            out[i] = json.dumps(values, ensure_ascii=False, default=str)
        return out

    @staticmethod
    def _custom_json(custom: list[tuple[str, list[Any]]], i: int) -> str:
        data = {key: column[i] for key, column in custom if column[i] is not OMIT}
        if any(v is MISS for v in data.values()):
            return "{}"  # the row goes through the row path
        return json.dumps(data, ensure_ascii=False, default=str)

    def _slow_row(
        self, row: Row, errors: list[tuple[int, Problem]]
    ) -> tuple[tuple[Any, ...], tuple[int, int | None], str] | None:
        """A row the fast converters do not vouch for, through the row path's check:
        None (its problems added to `errors`), or (cells, customer, custom)."""
        values, refs, problems = self.rows.check(row.cells)
        if problems:
            errors.extend((row.line, p) for p in problems)
            return None
        customer = refs["customer"]
        cells = tuple(_default(f) if values.get(f) is None else values[f] for f in self.written)
        _plain, custom = split_values(values)
        cleaned, _errors = self.rows.custom_rules.clean(self.rows.handler.custom_input(custom))
        custom_json = json.dumps(cleaned, ensure_ascii=False, default=str)
        return cells, (customer.pk, customer.owner_id), custom_json

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert ready rows (created_at, updated_at, version, owner, custom, customer,
        the contact's own fields...): COPY on PostgreSQL, executemany on SQLite."""
        if not rows:
            return
        cols = ", ".join(connection.ops.quote_name(c) for c in self.db_columns)
        table = connection.ops.quote_name(self.table)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                raw: Any = cursor.cursor
                with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    write_row = copy.write_row
                    for row in rows:
                        write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.db_columns))
                sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
                cursor.executemany(sql, rows)


def _default(field: str) -> Any:
    value = getattr(Contact._meta.get_field(field), "get_default", lambda: None)()
    return value if value is not None else ""


def run_bulk_import(
    table: Table,
    *,
    user: Any,
    columns: dict[str, str],
    mode: str = "skip-errors",
    dedupe: str = "skip",
    day_first: bool = False,
    dry_run: bool = False,
    limit: int | None = None,
    resume_after_line: int = 0,
    chunk_size: int = 25_000,
    commit_rows: int = COMMIT_ROWS,
    checkpoint: Checkpoint | None = None,
    should_cancel: Callable[[], bool] | None = None,
    keep_errors: int | None = 1000,
    helper: bool = False,
) -> Report:
    """Import a contacts file through the bulk path (see the module docstring); the
    arguments and the report are `engine.run_import`'s, and `commit_rows`: skip-errors
    commits after the chunk that reaches so many rows (the checkpoint a lost worker
    resumes from). `helper`: prepare the next chunk in a forked second process while
    this one writes (where `fork` is). Off by default: on the shared 2-core machine it
    cost more CPU (pickling, copy-on-write) than it overlapped (decision 0008)."""
    if mode not in MODES:
        raise ValueError(mode)
    with translation.override(getattr(user, "language", None) or translation.get_language()):
        importer = BulkContactImporter(
            user=user, headers=table.headers, columns=columns, dedupe=dedupe, day_first=day_first
        )
        report = Report(last_line=resume_after_line)
        feed = Feed(importer, table, chunk_size, resume_after_line, limit)
        parallel = helper and HELPER_AVAILABLE and chunk_size <= HELPER_CHUNK
        source: Feed | Helper = Helper(feed) if parallel else feed
        chunks = source.chunks()

        def one_chunk(chunk: Prepared) -> None:
            errors = importer.apply(chunk, report)
            if importer.key_columns:
                source.created(importer.not_created, importer.previous)
            room = None if keep_errors is None else max(0, keep_errors - len(report.errors))
            report.errors += errors if room is None else errors[:room]
            if checkpoint is not None:
                checkpoint(report, errors)

        def cancelled() -> bool:
            report.cancelled = should_cancel is not None and should_cancel()
            return report.cancelled

        try:
            source.start()
            for batch in importer.existing():
                source.load(batch)
            source.loaded()
            if dry_run or mode == ALL_OR_NOTHING:
                with transaction.atomic():
                    for chunk in chunks:
                        one_chunk(chunk)
                        if cancelled():
                            break
                    if dry_run or report.failed or report.cancelled:
                        transaction.set_rollback(True)
                        report.rolled_back = True
            else:
                # A transaction per `commit_rows` rows (whole chunks), each with its
                # checkpoints: fewer commits write each index page out fewer times.
                more = True
                while more:
                    with transaction.atomic():
                        rows = 0
                        for chunk in chunks:
                            one_chunk(chunk)
                            rows += len(chunk.lines)
                            if cancelled():
                                more = False
                                break
                            if rows >= commit_rows:
                                break
                        else:
                            more = False
        finally:
            chunks.close()
            source.close()
        # The audit log: one entry for the whole import, not one per row.
        record_import(
            by=user,
            object_type="contact",
            created=report.created,
            updated=report.updated,
            rolled_back=report.rolled_back,
        )
        return report


def _read(
    table: Table, size: int, resume_after_line: int, limit: int | None
) -> Iterator[tuple[list[int], list[list[Any]]]]:
    """The file's data rows, a chunk at a time: lines and cells (CSV: `take`, the
    reader's own chunks; else rows gathered), after `resume_after_line`, at most `limit`."""
    take = getattr(table.rows, "take", None)
    left = sys.maxsize if limit is None else limit
    while left > 0:
        if take is not None:
            lines, cells = take(size)
        else:
            rows = list(islice(table.rows, size))
            lines, cells = [r.line for r in rows], [r.cells for r in rows]
        if not lines:
            return
        if lines[0] <= resume_after_line:
            keep = bisect_right(lines, resume_after_line)
            lines, cells = lines[keep:], cells[keep:]
        if len(lines) > left:
            lines, cells = lines[:left], cells[:left]
        left -= len(lines)
        if lines:
            yield lines, cells


class KeyIndex:
    """The de-dup keys held so far (the contacts the importer can see, then the rows
    created from the file), exact, in a private temporary SQLite database: SQLite keeps
    INDEX_CACHE_KIB of its pages in memory and the rest in a file it deleted on opening
    (gone with the process, even after SIGKILL)."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("", isolation_level=None)
        for pragma in (
            f"cache_size=-{INDEX_CACHE_KIB}",
            "temp_store=FILE",
            "journal_mode=OFF",
            "synchronous=OFF",
            "locking_mode=EXCLUSIVE",
        ):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("CREATE TABLE k (k TEXT PRIMARY KEY) WITHOUT ROWID")

    def add(self, keys: list[str]) -> None:
        if keys:
            self.db.execute(
                "INSERT OR IGNORE INTO k SELECT value FROM json_each(?)", [json.dumps(keys)]
            )

    def held(self, keys: list[str]) -> set[str]:
        """Those of `keys` the index holds."""
        if not keys:
            return set()
        found = self.db.execute(
            # (json_each outside: one index seek per key, no temporary index of the keys)
            "SELECT k.k FROM json_each(?) AS j CROSS JOIN k WHERE k.k = j.value",
            [json.dumps(keys)],
        )
        return {k for (k,) in found}

    def close(self) -> None:
        self.db.close()


class Feed:
    """The file's chunks, prepared (`BulkContactImporter.prepare`) and their keys looked
    up in the index: in this process, or in the helper (`Helper`).

    A chunk's keys are looked up when the chunk is prepared; the rows it created are
    told back (`created`) after it is written, so the index may not yet hold the keys
    of the chunk just before it (the importer keeps those: `previous`)."""

    def __init__(
        self,
        importer: BulkContactImporter,
        table: Table,
        size: int,
        resume_after_line: int,
        limit: int | None,
    ) -> None:
        self.importer = importer
        self.rows = _read(table, size, resume_after_line, limit)
        self.index: KeyIndex | None = None
        #: The keys of the chunks handed over whose created rows are not told yet.
        self.waiting: deque[list[list[str | None]]] = deque()
        self.is_loaded = False

    def start(self) -> None:
        if self.importer.key_columns:
            self.index = KeyIndex()

    def load(self, rows: list[tuple[str, str, str]]) -> None:
        assert self.index is not None
        self.index.add(sorted(self.importer.existing_keys(rows)))

    def loaded(self) -> None:
        self.is_loaded = True

    def created(self, not_created: list[int], kept: set[str] | None = None) -> None:
        """The oldest waiting chunk is written: the keys of its created rows (`kept`,
        or all but those of the rows `not_created`) are held."""
        assert self.index is not None
        columns = self.waiting.popleft()
        if kept is not None:
            keys = [k for column in columns for k in column if k and k in kept]
        else:
            if not_created:
                gone = set(not_created)
                columns = [[k if i not in gone else None for i, k in enumerate(c)] for c in columns]
            keys = [k for column in columns for k in column if k]
        self.index.add(sorted(keys))

    def wait(self) -> None:
        """Before a lookup: the existing contacts are in (and in the helper, all but
        the last chunk handed over are told back)."""

    def chunks(self) -> Generator[Prepared]:
        importer = self.importer
        for lines, cells in self.rows:
            chunk = importer.prepare(lines, cells)
            if self.index is not None:
                self.wait()
                # Sorted: the index's pages are then visited in order. (A list, not a
                # set: a file's keys are often nearly in order, which sorts fast.)
                keys = sorted([k for column in chunk.keys for k in column if k])
                chunk.hits.update(self.index.held(keys))
                self.waiting.append(chunk.keys)
            yield chunk

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
            self.index = None


#: The helper process is made by forking this one (it inherits the compiled columns).
HELPER_AVAILABLE = "fork" in multiprocessing.get_all_start_methods()
#: Larger chunks are read in this process (what the helper is told back per chunk must
#: fit in the pipe's buffer while both processes send).
HELPER_CHUNK = 50_000


class Helper:
    """A `Feed` run in a forked helper process, one chunk ahead of this one: it reads
    the file, converts cells and looks keys up while this process writes. It never
    touches the database (the parent's connection is not used in the child); the
    existing contacts are sent to it. Its problems (a malformed row) are raised here,
    after the chunks before them. `close()`, or the end of this process (even SIGKILL:
    the pipe closes), stops it."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.process: Any = None
        self.conn: Any = None

    def start(self) -> None:
        context = multiprocessing.get_context("fork")
        self.conn, theirs = context.Pipe(duplex=True)
        self.process = context.Process(target=_helper_main, args=(self.feed, theirs), daemon=True)
        self.process.start()
        theirs.close()

    def load(self, rows: list[tuple[str, str, str]]) -> None:
        self.conn.send(("existing", rows))

    def loaded(self) -> None:
        if self.feed.importer.key_columns:
            self.conn.send(("loaded", None))

    def created(self, not_created: list[int], kept: set[str] | None = None) -> None:
        # (`kept` stays here: the helper works out the same from `not_created`.)
        # A closed pipe: the helper has sent its last chunk (had it died, `chunks` says so).
        with contextlib.suppress(BrokenPipeError):
            self.conn.send(("created", not_created))

    def chunks(self) -> Generator[Prepared]:
        while True:
            try:
                kind, payload = self.conn.recv()
            except EOFError:
                raise RuntimeError(
                    _("The import's reading process stopped unexpectedly (exit code %(code)s).")
                    % {"code": self.process.exitcode}
                ) from None
            if kind == "chunk":
                yield payload
            elif kind == "end":
                return
            else:
                raise payload

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.process is not None:
            self.process.join(timeout=10)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            self.process = None


def _helper_main(feed: Feed, conn: Any) -> None:
    """The helper process: prepare chunks and send them; take in the existing contacts'
    keys and the created rows as they come."""

    def receive() -> None:
        kind, payload = conn.recv()
        if kind == "existing":
            feed.load(payload)
        elif kind == "loaded":
            feed.loaded()
        elif kind == "created":
            feed.created(payload)

    def wait() -> None:
        while not feed.is_loaded or len(feed.waiting) > 1:
            receive()

    feed.wait = wait  # type: ignore[method-assign]
    try:
        try:
            feed.start()
            for chunk in feed.chunks():
                conn.send(("chunk", chunk))
            conn.send(("end", None))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            return  # the parent stopped
        except Exception as e:
            try:
                pickle.dumps(e)
            except Exception:
                e = RuntimeError(repr(e))
            conn.send(("error", e))
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        feed.close()
        conn.close()
