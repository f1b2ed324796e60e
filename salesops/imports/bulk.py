"""The bulk path for large contact files: the same reading and the same row validator
as the per-row path, permission checks done set-wise, rows written with COPY
(PostgreSQL) or executemany (SQLite) in chunks. Memory stays flat: nothing is kept
per row beyond the current chunk.

What `crm.services.create_contact` checks, and where it is checked here:

* the importer's right to create contacts — once, `ensure_right`;
* the customer is visible to the importer and they may edit it (`ensure_can(...,
  "edit")`) — the customers of a chunk are looked up in one query through
  `Customer.objects.visible_to(user)`, and the customer edit right is checked once;
* only CONTACT_FIELDS can be set; the owner is the customer's owner — by construction;
* `full_clean` of the fields and `clean_custom_values` — `rows.FieldRules` and
  `rows.CustomRules`, the shared row validator both paths call.

Duplicates are found among the contacts the importer can see by normalised e-mail,
mobile and phone: one indexed query per chunk and key (the rows of earlier chunks are
in the table already), plus the few stored values that are not in normalised form,
read once at the start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import islice
from typing import Any

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesops.crm.models import Contact, Customer
from salesops.crm.services import CONTACT_FIELDS
from salesops.imports.engine import DEDUPE, MODES, SKIP_ERRORS, MappingProblem, Report
from salesops.imports.fields import spec_for
from salesops.imports.reading import Row, Table
from salesops.imports.rows import CustomRules, FieldRules, Problem, RowReader, split_values
from salesops.imports.values import phone_key
from salesops.lib.services import ensure_right
from salesops.org.models import Organisation

_NORMAL_PHONE = re.compile(r"^\+?\d+$")
KEYS = (("email", "email"), ("mobile", "phone"), ("phone", "phone"))


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
        spec = spec_for("contact")
        self.reader = RowReader(
            spec, headers, columns, tz=Organisation.get().tz, day_first=day_first
        )
        missing = self.reader.missing_required()
        if missing:
            raise MappingProblem(
                _("Choose a column for: %(fields)s.")
                % {"fields": ", ".join(str(t.label) for t in missing)}
            )
        self.fields = [f for f in CONTACT_FIELDS if f in self.reader.header_of]
        self.rules = FieldRules(Contact, self.fields)
        self.custom_rules = CustomRules("contact")
        self.customers: dict[str, tuple[int, int | None]] = {}
        self._load_customers()
        self.odd: dict[str, int] = {}
        if dedupe != "create":
            self._load_odd_keys()
        meta = Contact._meta
        self.table = meta.db_table
        # The same rule as Contact.objects.visible_to, in SQL: the owners in scope, and
        # contacts of public-pool customers (no owner; Contact.extra_visibility).
        owners = user.visible_owner_ids() if user.has_right("contact", "view") else set()
        self.scope_params: list[int]
        if owners is None:
            self.scope_sql, self.scope_params = "deleted_at IS NULL", []
        elif not user.has_right("contact", "view"):
            self.scope_sql, self.scope_params = "1 = 0", []
        else:
            ids = sorted(owners) or [-1]
            marks = ", ".join(["%s"] * len(ids))
            self.scope_sql = f"deleted_at IS NULL AND (owner_id IN ({marks}) OR owner_id IS NULL)"
            self.scope_params = ids
        self.written = list(CONTACT_FIELDS)
        self.defaults = [(f, _default(f)) for f in self.written]
        names = [
            "created_at",
            "updated_at",
            "version",
            "owner",
            "custom",
            "customer",
            *self.written,
        ]
        self.columns: list[str] = [getattr(meta.get_field(n), "column", n) for n in names]

    def _visible(self) -> Any:
        return Contact.objects.visible_to(self.user)

    def _load_odd_keys(self) -> None:
        """Stored values a page typed in another form (Upper@Case.com, 138-0013-8000):
        an indexed query on the normalised form would miss them."""
        rows = self._visible().values_list("id", "email", "mobile", "phone")
        for pk, email, mobile, phone in rows.iterator(chunk_size=10_000):
            if email and email != email.lower():
                self.odd.setdefault(f"email:{email.lower()}", pk)
            for value in (mobile, phone):
                if value and not _NORMAL_PHONE.match(value):
                    from salesops.imports.engine import _stored_phone

                    self.odd.setdefault(f"phone:{phone_key(_stored_phone(value))}", pk)

    def keys(self, values: dict[str, Any]) -> list[str]:
        keys = []
        if values.get("email"):
            keys.append(f"email:{values['email']}")
        for name in ("mobile", "phone"):
            if values.get(name):
                keys.append(f"phone:{phone_key(values[name])}")
        return keys

    # -- one chunk --
    def _load_customers(self) -> None:
        """Every customer the importer can see, by name, read once: (id, owner id), or
        (-1, None) for a name several of them share. Bounded by the customers table,
        not by the file."""
        qs = Customer.objects.visible_to(self.user).values_list("name", "id", "owner_id")
        for name, pk, owner in qs.iterator(chunk_size=10_000):
            self.customers[name] = (-1, None) if name in self.customers else (pk, owner)

    def _existing(self, chunk_keys: set[str]) -> set[str]:
        """Keys of the chunk already taken by a contact the importer can see. The scope
        is `Contact.objects.visible_to(user)` written as SQL once (contacts have no
        extra visibility rule; the view right was checked), so that thousands of
        values per query cost no ORM work each."""
        found = {k for k in chunk_keys if k in self.odd}
        emails = [k[6:] for k in chunk_keys if k.startswith("email:")]
        phones = [k[6:] for k in chunk_keys if k.startswith("phone:")]
        for column, prefix, wanted in (
            ("email", "email:", emails),
            ("mobile", "phone:", phones),
            ("phone", "phone:", phones),
        ):
            for start in range(0, len(wanted), 5000):
                part = wanted[start : start + 5000]
                marks = ", ".join(["%s"] * len(part))
                sql = f"SELECT {column} FROM {self.table} WHERE {self.scope_sql} AND {column} IN ({marks})"  # noqa: S608
                with connection.cursor() as cursor:
                    cursor.execute(sql, [*self.scope_params, *part])
                    found.update(prefix + v for (v,) in cursor.fetchall())
        return found

    def run_chunk(self, rows: list[Row], report: Report) -> list[tuple[int, Problem]]:
        errors: list[tuple[int, Problem]] = []
        checked: list[tuple[Row, dict[str, Any], str]] = []
        for row in rows:
            values, problems = self.reader.read(row.cells)
            plain, custom = split_values(values)
            if not problems:
                for name, messages in self.rules.errors(plain).items():
                    header = self.reader.header_of.get(name, "")
                    problems += [Problem(header, str(values.get(name, "")), m) for m in messages]
                cleaned, custom_errors = self.custom_rules.clean(
                    {k: v for k, v in custom.items() if v is not None}
                )
                for key, messages in custom_errors.items():
                    header = self.reader.header_of.get(key, "")
                    problems += [Problem(header, "", str(m)) for m in messages]
            if problems:
                errors += [(row.line, p) for p in problems]
                report.failed += 1
                continue
            checked.append((row, values, json.dumps(cleaned, ensure_ascii=False)))
        keys = (
            {k for _r, v, _c in checked for k in self.keys(v)} if self.dedupe != "create" else set()
        )
        taken = self._existing(keys) if keys else set()
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        out: list[tuple[Any, ...]] = []
        header = self.reader.header_of.get("customer", "")
        for row, values, custom_json in checked:
            customer = self.customers.get(values["customer"])
            if customer is None or customer[0] == -1:
                message = (
                    _("There is no customer “%(name)s” that you can see.")
                    if customer is None
                    else _(
                        "Several customers are called “%(name)s”; make the name unique or use its id."
                    )
                ) % {"name": values["customer"]}
                errors.append((row.line, Problem(header, values["customer"], message)))
                report.failed += 1
                continue
            row_keys = self.keys(values) if self.dedupe != "create" else []
            if any(k in taken for k in row_keys):
                report.skipped += 1
                continue
            taken.update(row_keys)
            cells = [v if (v := values.get(f)) is not None else d for f, d in self.defaults]
            out.append((now, now, 1, customer[1], custom_json, customer[0], *cells))
            report.created += 1
        self._write(out)
        report.processed += len(rows)
        if rows:
            report.last_line = rows[-1].line
        return errors

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        table = connection.ops.quote_name(str(self.table))
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                raw: Any = cursor.cursor
                with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)  # noqa: S608


def _default(field: str) -> Any:
    value = getattr(Contact._meta.get_field(field), "get_default", lambda: None)()
    return value if value is not None else ""


def run_bulk_import(
    table: Table,
    *,
    user: Any,
    columns: dict[str, str],
    mode: str = SKIP_ERRORS,
    dedupe: str = "skip",
    day_first: bool = False,
    chunk_size: int = 5000,
    keep_errors: int | None = 1000,
) -> Report:
    """Import a contacts file through the bulk path (see the module docstring)."""
    if mode not in MODES:
        raise ValueError(mode)
    with translation.override(getattr(user, "language", None)):
        importer = BulkContactImporter(
            user=user, headers=table.headers, columns=columns, dedupe=dedupe, day_first=day_first
        )
        report = Report()
        rows: Iterator[Row] = iter(table.rows)

        def chunk_loop() -> None:
            while chunk := list(islice(rows, chunk_size)):
                with transaction.atomic():
                    errors = importer.run_chunk(chunk, report)
                room = None if keep_errors is None else max(0, keep_errors - len(report.errors))
                report.errors += errors if room is None else errors[:room]

        if mode == SKIP_ERRORS:
            chunk_loop()
            return report
        with transaction.atomic():
            chunk_loop()
            if report.failed:
                transaction.set_rollback(True)
                report.rolled_back = True
        return report
