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
  first row), the customer visible to the importer (the resolution above); only
  CONTACT_FIELDS are written; the owner is the customer's owner.
* **duplicates** — normalised e-mail and phones, against the contacts the importer can
  see (read once at the start, the row path's `ContactHandler.existing`) and the rows
  created before in the same file, in one in-memory index. The index keeps a 128-bit
  BLAKE2 digest of each key, not the key: about 90 bytes per key in a Python set, so
  180 MB for 1,000,000 contacts with an e-mail and a mobile each. Two different keys
  with the same digest would make a row a false duplicate; with 2,000,000 keys the
  chance is about 1 in 10^26 (a 64-bit hash would have been 1 in 5,000,000).

Writes bypass the model layer (no `save()`), which is why the module is limited to
contacts, which have no signals, no children and no counters to keep. Updating
duplicates needs the service per record: `dedupe="update"` goes through the row path.

Modes as in the row path: skip-errors commits each chunk with its checkpoint (a killed
worker resumes after the last committed chunk); all-or-nothing runs the whole file in
one transaction, which a killed worker's database rolls back.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from hashlib import blake2b
from itertools import compress, islice, repeat
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesops.audit.services import record_import
from salesops.crm.models import Contact, Customer
from salesops.crm.services import CONTACT_FIELDS
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
from salesops.imports.fields import Target
from salesops.imports.reading import Row, Table
from salesops.imports.rows import FieldRules, Problem, split_values
from salesops.imports.values import CellError, phone_key
from salesops.lib.services import ensure_right


def _key(text: str) -> bytes:
    """A de-dup key's 128-bit digest: small to hold, and no two keys share one in practice."""
    return blake2b(text.encode(), digest_size=16).digest()


#: A converter's answer when it does not vouch for a cell: the row takes the row path.
MISS: Any = type("Miss", (), {"__repr__": lambda self: "MISS"})()
#: A custom field's empty cell: the field is left out of the record's custom values.
OMIT: Any = type("Omit", (), {"__repr__": lambda self: "OMIT"})()
_NOT_SEEN: Any = object()
#: Distinct values remembered per column (a column with more is read without memo).
MEMO_MAX = 20_000
#: Names per customer query.
IN_BATCH = 500

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
        self.fields = [f for f in CONTACT_FIELDS if f in self.header_of]
        self.columns: list[Column] = []
        self.custom_columns: list[Column] = []
        self.customer_column: Column | None = None
        for index, _header, target in self.reader.plan:
            column = self._column(index, target)
            if target.key == "customer":
                self.customer_column = column
            elif target.custom is not None:
                self.custom_columns.append(column)
            elif target.key in CONTACT_FIELDS:
                self.columns.append(column)
        assert self.customer_column is not None  # a required target: checked by RowImporter
        mapped = {c.target.key for c in self.custom_columns}
        #: A required custom field without a column fails every row: the row path says so.
        self.all_rows_fail = any(
            f"custom.{f.key}" not in mapped for f in self.rows.custom_rules.required
        )
        self.customers: dict[str, tuple[int, int | None] | None] = {}
        self.index: set[bytes] = set()
        if dedupe != "create":
            self._load_existing()
        meta = Contact._meta
        self.table = str(meta.db_table)
        self.written = list(CONTACT_FIELDS)
        names = ["created_at", "updated_at", "version", "owner", "custom", "customer"]
        self.db_columns: list[str] = [
            getattr(meta.get_field(n), "column", n) for n in [*names, *self.written]
        ]

    # -- compiling the columns --
    def _column(self, index: int, target: Target) -> Column:
        if target.custom is not None:
            return Column(index, target, self._custom_converter(target), None)
        rules = FieldRules(Contact, [target.key]) if target.key in CONTACT_FIELDS else None
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
        if target.key not in CONTACT_FIELDS:
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
    def _load_existing(self) -> None:
        """The keys of the contacts the importer can see: `ContactHandler.existing`
        with the phone parser skipped for numbers stored in normal form."""
        add = self.index.add
        normal = _INTERNATIONAL.fullmatch
        rows = Contact.objects.visible_to(self.user).values_list("email", "mobile", "phone")
        for email, mobile, phone in rows.iterator(chunk_size=20_000):
            if email:
                add(_key("email:" + email.lower()))
            for number in (mobile, phone):
                if number:
                    if not normal(number) or number.startswith("+860"):
                        number = _stored_phone(number)
                        if not number:
                            continue
                    add(_key("phone:" + phone_key(number)))

    # -- customers --
    def _resolve_customers(self, names: set[str]) -> None:
        """`Resolver.customer` for many names: one query per batch of new names."""
        todo = [n for n in names if n not in self.customers and n is not MISS]
        if not todo:
            return
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
    def run_chunk(self, rows: list[Row], report: Report) -> list[tuple[int, Problem]]:
        """Import a chunk of rows; returns their problems. Column by column: the cells'
        values, the customers, the rows to send through the row path's check, the
        duplicates, then one write."""
        errors: list[tuple[int, Problem]] = []
        n = len(rows)
        if not n:
            return errors
        by_column = list(zip(*[r.cells for r in rows], strict=True))
        assert self.customer_column is not None
        texts = self.customer_column.convert_all(by_column[self.customer_column.index])
        self._resolve_customers(set(texts))
        customers = [self.customers.get(t) for t in texts]
        values = {c.target.key: c.convert_all(by_column[c.index]) for c in self.columns}
        custom = [
            (c.target.key[7:], c.convert_all(by_column[c.index])) for c in self.custom_columns
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
        slow: set[int] = {i for i, c in enumerate(customers) if c is None}
        for column_values in [*values.values(), *(c for _k, c in custom)]:
            if MISS in column_values:
                slow.update(i for i, v in enumerate(column_values) if v is MISS)
        if self.all_rows_fail:
            slow = set(range(n))
        alive = [True] * n
        for i in sorted(slow):
            outcome = self._slow_row(rows[i], errors)
            if outcome is None:
                alive[i] = False
                continue
            cells, customers[i], custom_json = outcome
            for column, value in zip(field_values, cells, strict=True):
                column[i] = value
            if customs is not None:
                customs[i] = custom_json
        failed = alive.count(False)

        skipped = 0
        if self.dedupe != "create":
            skipped = self._dedupe(field_values, alive)
        owners = [c[1] if c is not None else None for c in customers]
        customer_ids = [c[0] if c is not None else None for c in customers]
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
        self.write(out)
        report.created += len(out)
        report.skipped += skipped
        report.failed += failed
        report.processed += n
        report.last_line = rows[-1].line
        return errors

    def _dedupe(self, field_values: list[list[Any]], alive: list[bool]) -> int:
        """Mark the duplicates among the living rows not alive; returns how many.

        The row path's rule: a row is a duplicate when one of its keys belongs to a
        contact the importer can see or to a row created before it from this file; a
        duplicate's keys are not remembered. Rows whose keys occur nowhere else need no
        order; only the others are decided one by one, in file order."""
        index = self.index
        columns = []
        for name, prefix in (("email", "email:"), ("mobile", "phone:"), ("phone", "phone:")):
            if name not in self.header_of:
                continue
            cells = field_values[self.written.index(name)]
            if prefix == "email:":
                columns.append(
                    [
                        _key(prefix + v) if v and ok else None
                        for v, ok in zip(cells, alive, strict=True)
                    ]
                )
            else:
                columns.append(
                    [
                        _key(prefix + (v if "x" not in v else phone_key(v))) if v and ok else None
                        for v, ok in zip(cells, alive, strict=True)
                    ]
                )
        if not columns:
            return 0
        every = [h for column in columns for h in column if h is not None]
        distinct = set(every)
        doubtful = distinct & index
        if len(distinct) != len(every):
            doubtful.update(h for h, count in Counter(every).items() if count > 1)
        if not doubtful:
            index.update(distinct)
            return 0
        in_doubt = sorted({i for column in columns for i, h in enumerate(column) if h in doubtful})
        skipped = 0
        for i in in_doubt:
            hashes = [h for column in columns if (h := column[i]) is not None]
            if any(h in index for h in hashes):
                alive[i] = False
                skipped += 1
            else:
                index.update(hashes)
        doubt = set(in_doubt)
        for column in columns:
            index.update(h for i, h in enumerate(column) if h is not None and i not in doubt)
        return skipped

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
        CONTACT_FIELDS...): COPY on PostgreSQL, executemany on SQLite."""
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
    chunk_size: int = 10_000,
    checkpoint: Checkpoint | None = None,
    should_cancel: Callable[[], bool] | None = None,
    keep_errors: int | None = 1000,
) -> Report:
    """Import a contacts file through the bulk path (see the module docstring); the
    arguments and the report are `engine.run_import`'s."""
    if mode not in MODES:
        raise ValueError(mode)
    with translation.override(getattr(user, "language", None) or translation.get_language()):
        importer = BulkContactImporter(
            user=user, headers=table.headers, columns=columns, dedupe=dedupe, day_first=day_first
        )
        report = Report(last_line=resume_after_line)
        rows: Iterator[Row] = iter(table.rows)
        if resume_after_line:
            rows = (r for r in rows if r.line > resume_after_line)
        if limit is not None:
            rows = islice(rows, limit)

        def one_chunk(chunk: list[Row]) -> None:
            errors = importer.run_chunk(chunk, report)
            room = None if keep_errors is None else max(0, keep_errors - len(report.errors))
            report.errors += errors if room is None else errors[:room]
            if checkpoint is not None:
                checkpoint(report, errors)

        def cancelled() -> bool:
            report.cancelled = should_cancel is not None and should_cancel()
            return report.cancelled

        if dry_run or mode == ALL_OR_NOTHING:
            with transaction.atomic():
                while chunk := list(islice(rows, chunk_size)):
                    one_chunk(chunk)
                    if cancelled():
                        break
                if dry_run or report.failed or report.cancelled:
                    transaction.set_rollback(True)
                    report.rolled_back = True
        else:
            while chunk := list(islice(rows, chunk_size)):
                with transaction.atomic():
                    one_chunk(chunk)
                if cancelled():
                    break
        # The audit log: one entry for the whole import, not one per row.
        record_import(
            by=user,
            object_type="contact",
            created=report.created,
            updated=report.updated,
            rolled_back=report.rolled_back,
        )
        return report
