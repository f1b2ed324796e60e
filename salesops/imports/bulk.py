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
  created before in the same file, in one in-memory index. The index keeps the 64-bit
  hash of each key, not the key: about 60 bytes per key in a Python set, so 120 MB for
  1,000,000 contacts with an e-mail and a mobile each. Two different keys with the
  same hash would make a row a false duplicate; with 2,000,000 keys the chance is
  about 1 in 5,000,000 per million-row import.

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
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

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
    _contact_keys,
    _stored_phone,
)
from salesops.imports.fields import Target
from salesops.imports.reading import Row, Table
from salesops.imports.rows import FieldRules, Problem, split_values
from salesops.imports.values import CellError
from salesops.lib.services import ensure_right

#: A converter's answer when it does not vouch for a cell: the row takes the row path.
MISS: Any = type("Miss", (), {"__repr__": lambda self: "MISS"})()
#: A custom field's empty cell: the field is left out of the record's custom values.
OMIT: Any = type("Omit", (), {"__repr__": lambda self: "OMIT"})()
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


# -- fast shapes ------------------------------------------------------------------------


def text_shape(max_length: int | None, blank: bool) -> Converter:
    """Text that starts and ends with a letter or digit: nothing to trim, no formula
    quote to remove (`RowReader.convert` / `clean_text` give it back unchanged)."""
    limit = max_length or sys.maxsize

    def shape(raw: Any) -> Any:
        if raw.__class__ is str:
            if not raw:
                return "" if blank else MISS
            if raw[0].isalnum() and raw[-1].isalnum() and len(raw) <= limit:
                return raw
        return MISS

    return shape


def email_shape(max_length: int, blank: bool) -> Converter:
    """A plain ASCII address (`parse_email` lower-cases it; Django's EmailValidator
    accepts every address of this shape)."""
    limit = min(max_length, 320)

    def shape(raw: Any) -> Any:
        if raw.__class__ is str:
            if not raw:
                return "" if blank else MISS
            if len(raw) <= limit and _EMAIL.fullmatch(raw):
                return raw.lower()
        return MISS

    return shape


def phone_shape(max_length: int, blank: bool) -> Converter:
    """A Chinese mobile number written as 11 digits, or +<country><number>."""

    def shape(raw: Any) -> Any:
        if raw.__class__ is str:
            if not raw:
                return "" if blank else MISS
            if len(raw) == 11 and _CN_MOBILE.fullmatch(raw):
                return "+86" + raw
            if raw[:1] == "+" and not raw.startswith("+860") and _INTERNATIONAL.fullmatch(raw):
                return raw if len(raw) <= max_length else MISS
        return MISS

    return shape


def _stored_key_phone(value: str) -> str:
    """`engine._stored_phone`, without the parser for numbers stored in normal form."""
    if _INTERNATIONAL.fullmatch(value) and not value.startswith("+860"):
        return value
    return _stored_phone(value)


# -- one column ---------------------------------------------------------------------------


class Column:
    """How one mapped column's cells become values, compiled once per import."""

    def __init__(self, index: int, target: Target, full: Converter, shape: Converter | None):
        self.index = index
        self.target = target
        self.full = full
        self.shape = shape
        self.memo: dict[Any, Any] = {}
        self.use_memo = True

    def convert(self, raw: Any) -> Any:
        shape = self.shape
        if shape is not None:
            value = shape(raw)
            if value is not MISS:
                return value
        if self.use_memo and raw.__class__ is str:  # (1 == 1.0 == True: text cells only)
            try:
                return self.memo[raw]
            except KeyError:
                pass
            value = self.memo[raw] = self.full(raw)
            if len(self.memo) >= MEMO_MAX:
                self.use_memo = False
                self.memo.clear()
            return value
        return self.full(raw)

    def convert_all(self, cells: list[Any]) -> list[Any]:
        return list(map(self.convert, cells))


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
        self.index: set[int] = set()
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

    def _shape(self, target: Target) -> Converter | None:
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
        """The keys of the contacts the importer can see, as `ContactHandler.existing`."""
        add = self.index.add
        rows = Contact.objects.visible_to(self.user).values_list("email", "mobile", "phone")
        for email, mobile, phone in rows.iterator(chunk_size=20_000):
            keys = _contact_keys(
                (email or "").lower(),
                _stored_key_phone(mobile) if mobile else "",
                _stored_key_phone(phone) if phone else "",
            )
            for key in keys:
                add(hash(key))

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
        errors: list[tuple[int, Problem]] = []
        n = len(rows)
        if not n:
            return errors
        cells = [r.cells for r in rows]
        by_column = list(zip(*cells, strict=True))
        assert self.customer_column is not None
        customer_texts = self.customer_column.convert_all(
            list(by_column[self.customer_column.index])
        )
        self._resolve_customers(set(customer_texts))
        customers = self.customers
        values = {c.target.key: c.convert_all(list(by_column[c.index])) for c in self.columns}
        custom = [
            (c.target.key[7:], c.convert_all(list(by_column[c.index]))) for c in self.custom_columns
        ]
        slow: set[int] = set()
        for column_values in values.values():
            if MISS in column_values:
                slow.update(i for i, v in enumerate(column_values) if v is MISS)
        for _key, column_values in custom:
            if MISS in column_values:
                slow.update(i for i, v in enumerate(column_values) if v is MISS)
        if self.all_rows_fail:
            slow = set(range(n))
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        empty = [""] * n
        field_values = [
            [_default(f) if v is None else v for v in values[f]]
            if f in values
            else [_default(f)] * n
            for f in self.written
        ]
        dedupe = self.dedupe != "create"
        emails = values.get("email", empty)
        mobiles = values.get("mobile", empty)
        phones = values.get("phone", empty)
        index = self.index
        keep: list[tuple[int, str, tuple[int, int | None]]] = []
        extra: dict[int, tuple[Any, ...]] = {}
        failed = skipped = 0
        for i in range(n):
            customer = customers.get(customer_texts[i])
            if customer is None or i in slow:
                outcome = self._slow_row(rows[i], errors)
                if outcome is None:
                    failed += 1
                    continue
                extra[i], row_keys, customer, custom_json = outcome
            else:
                row_keys = _contact_keys(emails[i], mobiles[i], phones[i]) if dedupe else []
                custom_json = self._custom_json(custom, i)
            if row_keys:
                hashes = [hash(k) for k in row_keys]
                if any(h in index for h in hashes):
                    skipped += 1
                    continue
                index.update(hashes)
            keep.append((i, custom_json, customer))
        out: list[tuple[Any, ...]] = []
        columns_of_row = list(zip(*field_values, strict=True))
        for i, custom_json, (customer_id, owner_id) in keep:
            cells_out = extra[i] if i in extra else columns_of_row[i]
            out.append((now, now, 1, owner_id, custom_json, customer_id, *cells_out))
        self.write(out)
        report.created += len(out)
        report.skipped += skipped
        report.failed += failed
        report.processed += n
        report.last_line = rows[-1].line
        return errors

    @staticmethod
    def _custom_json(custom: list[tuple[str, list[Any]]], i: int) -> str:
        if not custom:
            return "{}"
        data = {key: column[i] for key, column in custom if column[i] is not OMIT}
        return json.dumps(data, ensure_ascii=False, default=str)

    def _slow_row(
        self, row: Row, errors: list[tuple[int, Problem]]
    ) -> tuple[tuple[Any, ...], list[str], tuple[int, int | None], str] | None:
        """A row the fast converters do not vouch for, through the row path's check:
        None (its problems added to `errors`), or (cells, keys, customer, custom)."""
        values, refs, problems = self.rows.check(row.cells)
        if problems:
            errors.extend((row.line, p) for p in problems)
            return None
        customer = refs["customer"]
        cells = tuple(_default(f) if values.get(f) is None else values[f] for f in self.written)
        keys = (
            _contact_keys(
                values.get("email", ""), values.get("mobile", ""), values.get("phone", "")
            )
            if self.dedupe != "create"
            else []
        )
        _plain, custom = split_values(values)
        cleaned, _errors = self.rows.custom_rules.clean(self.rows.handler.custom_input(custom))
        custom_json = json.dumps(cleaned, ensure_ascii=False, default=str)
        return cells, keys, (customer.pk, customer.owner_id), custom_json

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
            return report
        while chunk := list(islice(rows, chunk_size)):
            with transaction.atomic():
                one_chunk(chunk)
            if cancelled():
                break
        return report
