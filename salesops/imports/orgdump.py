"""Whole-organisation export and restore.

`export_org` writes one zip: a JSON manifest (format, the migrations it was made with,
the organisation's settings, currencies and rates, holidays, pipelines and stages, custom
fields and picklists, users, teams and roles) and one CSV file per table of business data
(customers, deals, follow-ups, …), every column of every row, soft-deleted rows included.
`restore_org` loads such a zip into an empty instance in one transaction: nothing is
written unless everything is, and the restored instance gives the same KPIs, lists and
ids as the original.

Models are found generically (every concrete model of the apps in `APPS`), so a new model
is exported without touching this file. Left out on purpose: runtime state (the worker's
task queue and schedule runs, API tokens and idempotency records, import jobs, sessions)
and derived tables that triggers rebuild from the data (KPI roll-ups, search indexes).

CSV cells: NULL is written `\\N` (a text starting with a backslash gets one more);
text that a spreadsheet would run as a formula is quoted with `'` exactly as list exports
do, and the restore removes that quote again. JSON columns hold JSON text.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.imports.values import neutralise, restore
from salesops.lib.bulk import bulk_load
from salesops.lib.cache import forget_all

FORMAT = "salesops-org-export"
VERSION = 1
MANIFEST = "manifest.json"
NULL = "\\N"

#: The apps whose data is the organisation's. Order does not matter (sorted by foreign keys).
APPS = (
    "org",
    "audit",
    "users",
    "customization",
    "notifications",
    "pipeline",
    "crm",
    "activities",
    "workspace",
    "reports",
    "subscriptions",
    "imports",
    "objects",
    "analytics",
    "forecasting",
)
#: Runtime state and derived data, not the organisation's own: rebuilt or re-issued on
#: the new instance (the KPI roll-ups by the load's end, the statistical forecast's
#: history cohorts and fits by their next use or the daily job).
SKIP = {
    "imports.importjob",
    "imports.importrowerror",
    "imports.exportjob",
    "analytics.dealday",
    "analytics.orgdealday",
    "analytics.followupday",
    "analytics.stagereentry",
    "analytics.orgstageentryhour",
    "analytics.customerspell",
    "forecasting.historycohort",
    "forecasting.seriesfit",
}
#: Settings-like tables, small, written into the manifest as readable JSON.
CONFIG_APPS = ("org", "pipeline", "customization")
CONFIG_MODELS = {"users.team", "users.role", "users.user"}

CHUNK = 5_000


class DumpError(Exception):
    """A file that cannot be restored here; the message says why, in the user's language."""


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _is_config(model: type[models.Model]) -> bool:
    meta: Any = model._meta
    if meta.auto_created:
        # A many-to-many table goes where the model that declares it goes.
        meta = meta.auto_created._meta
    return meta.app_label in CONFIG_APPS or meta.label_lower in CONFIG_MODELS


def _fk_target(f: Any) -> type[models.Model] | None:
    if f.is_relation and (f.many_to_one or f.one_to_one):
        target: type[models.Model] = f.related_model
        return target
    return None


def _columns(model: type[models.Model]) -> list[Any]:
    """The columns a row is written with (generated columns are the database's own)."""
    return [f for f in model._meta.concrete_fields if not getattr(f, "generated", False)]


def dumped_models() -> list[type[models.Model]]:
    """Every table of the organisation's data, parents before children."""
    chosen: dict[str, type[models.Model]] = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label not in APPS or meta.proxy or not meta.managed or meta.abstract:
            continue
        if _label(model) in SKIP:
            continue
        targets = [_fk_target(f) for f in meta.concrete_fields]
        # Skip tables that point outside the exported data (e.g. the user's auth groups).
        if meta.auto_created and any(
            t is not None and t._meta.app_label not in APPS for t in targets
        ):
            continue
        chosen[_label(model)] = model
    ordered: list[type[models.Model]] = []
    seen: set[str] = set()

    def visit(model: type[models.Model], path: tuple[str, ...]) -> None:
        label = _label(model)
        if label in seen or label in path:
            return
        for f in model._meta.concrete_fields:
            target = _fk_target(f)
            if target is not None and _label(target) in chosen and target is not model:
                visit(target, (*path, label))
        seen.add(label)
        ordered.append(model)

    for label in sorted(chosen):
        visit(chosen[label], ())
    return ordered


# -- cells --------------------------------------------------------------------------------

_TEXT = (models.CharField, models.TextField, models.JSONField)


def _is_text(f: models.Field[Any, Any]) -> bool:
    return isinstance(f, _TEXT) and not f.is_relation


def _is_content_type(f: models.Field[Any, Any]) -> bool:
    return f.is_relation and f.related_model is ContentType


def _encoder(f: models.Field[Any, Any]) -> Callable[[Any], str]:
    if _is_content_type(f):
        labels = {ct.pk: f"{ct.app_label}.{ct.model}" for ct in ContentType.objects.all()}
        return lambda v: NULL if v is None else labels[v]
    if isinstance(f, models.JSONField):

        def enc_json(v: Any) -> str:
            if v is None:
                return NULL
            return _text(json.dumps(v, ensure_ascii=False, sort_keys=True, default=str))

        return enc_json
    if isinstance(f, models.BooleanField):
        return lambda v: NULL if v is None else ("true" if v else "false")
    if isinstance(f, models.DateTimeField):
        return lambda v: NULL if v is None else v.astimezone(dt.UTC).isoformat()
    if _is_text(f):
        return lambda v: NULL if v is None else _text(str(v))
    return lambda v: NULL if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))


def _text(s: str) -> str:
    if s.startswith("\\"):
        s = "\\" + s
    return neutralise(s)


def _untext(cell: str) -> str:
    s = restore(cell)
    return s[1:] if s.startswith("\\") else s


def _decoder(f: models.Field[Any, Any]) -> Callable[[str], Any]:
    if _is_content_type(f):
        ids = {f"{ct.app_label}.{ct.model}": ct.pk for ct in ContentType.objects.all()}

        def dec_ct(cell: str) -> Any:
            if cell == NULL:
                return None
            if cell not in ids:
                app_label, _sep, model = cell.partition(".")
                ids[cell] = ContentType.objects.get_or_create(app_label=app_label, model=model)[
                    0
                ].pk
            return ids[cell]

        return dec_ct
    target = f.target_field if f.is_relation else f  # type: ignore[attr-defined]
    if isinstance(f, models.JSONField):
        return lambda c: None if c == NULL else json.loads(_untext(c))
    if _is_text(f):
        return lambda c: None if c == NULL else _untext(c)
    if isinstance(target, models.BooleanField):
        return lambda c: None if c == NULL else c == "true"
    if isinstance(target, models.DateTimeField):
        return lambda c: None if c == NULL else dt.datetime.fromisoformat(c)
    if isinstance(target, models.DateField):
        return lambda c: None if c == NULL else dt.date.fromisoformat(c)
    if isinstance(target, models.DecimalField):
        return lambda c: None if c == NULL else Decimal(c)
    if isinstance(target, (models.IntegerField, models.AutoField)):
        return lambda c: None if c == NULL else int(c)
    return lambda c: None if c == NULL else target.to_python(c)


# -- export -------------------------------------------------------------------------------


@dataclass
class Summary:
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


class _Hashing(io.RawIOBase):
    """Passes bytes through to a zip member and hashes them on the way."""

    def __init__(self, raw: IO[bytes], digest: Any) -> None:
        self.raw, self.digest = raw, digest

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.digest.update(b)
        return self.raw.write(b)


def _applied() -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app_label, name in sorted(MigrationRecorder(connection).applied_migrations()):
        if app_label in APPS:
            applied.setdefault(app_label, []).append(name)
    return applied


def _rows(model: type[models.Model]) -> tuple[list[str], Iterator[list[str]]]:
    fields = _columns(model)
    names = [f.attname for f in fields]
    encoders = [_encoder(f) for f in fields]
    qs = model._base_manager.order_by("pk").values_list(*names)

    def rows() -> Iterator[list[str]]:
        for values in qs.iterator(chunk_size=CHUNK):
            yield [enc(v) for enc, v in zip(encoders, values, strict=True)]

    return names, rows()


def export_org(out: IO[bytes], *, progress: Callable[[str, int], None] | None = None) -> Summary:
    """Write the whole organisation to `out` as a zip. Reads in one repeatable snapshot
    on PostgreSQL (a transaction); SQLite reads are consistent inside a transaction too."""
    summary = Summary()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "database": connection.vendor,
        "migrations": _applied(),
        "config": {},
        "tables": [],
    }
    # Inside a caller's transaction (a test's) its snapshot is the one read.
    outermost = not connection.in_atomic_block
    with transaction.atomic(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for model in dumped_models():
            label = _label(model)
            names, rows = _rows(model)
            if _is_config(model):
                data = [dict(zip(names, row, strict=True)) for row in rows]
                manifest["config"][label] = {"columns": names, "rows": data}
                summary.tables[label] = len(data)
            else:
                name = f"{label.replace('.', '/')}.csv"
                digest = hashlib.sha256()
                count = 0
                with zf.open(name, "w", force_zip64=True) as raw:
                    hashing = io.BufferedWriter(_Hashing(raw, digest), buffer_size=1 << 20)
                    text = io.TextIOWrapper(hashing, encoding="utf-8", newline="")
                    writer = csv.writer(text, lineterminator="\n")
                    writer.writerow(names)
                    for row in rows:
                        writer.writerow(row)
                        count += 1
                    text.flush()
                    hashing.flush()
                manifest["tables"].append(
                    {"model": label, "file": name, "rows": count, "sha256": digest.hexdigest()}
                )
                summary.tables[label] = count
            if progress:
                progress(label, summary.tables[label])
        zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    return summary


# -- restore ------------------------------------------------------------------------------


def _read_manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except KeyError as e:
        raise DumpError(_("This zip has no manifest.json: it is not a Salesops export.")) from e
    except ValueError as e:
        raise DumpError(_("The manifest.json in this zip is not valid JSON.")) from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DumpError(_("This zip is not a Salesops organisation export."))
    if manifest.get("version") != VERSION:
        raise DumpError(
            _("This export has format version %(found)s; this Salesops reads version %(ours)s.")
            % {"found": manifest.get("version"), "ours": VERSION}
        )
    return manifest


def _check_migrations(manifest: dict[str, Any]) -> None:
    here = _applied()
    for app_label, names in manifest.get("migrations", {}).items():
        missing = sorted(set(names) - set(here.get(app_label, [])))
        if missing:
            raise DumpError(
                _(
                    "This export was made by a newer Salesops (migration %(name)s of %(app)s is "
                    "not applied here). Upgrade this instance and run migrate first."
                )
                % {"name": missing[0], "app": app_label}
            )


def _check_empty() -> None:
    user_model = apps.get_model("users", "User")
    found = [
        m._meta.verbose_name_plural
        for m in (user_model, apps.get_model("crm", "Customer"), apps.get_model("crm", "Deal"))
        if m._base_manager.exists()
    ]
    if found:
        raise DumpError(
            _(
                "This instance already has data (%(what)s). Restore needs an empty instance: "
                "a new database, migrated, with no users."
            )
            % {"what": ", ".join(str(w) for w in found)}
        )


def _insert(
    model: type[models.Model], names: list[str], rows: Iterable[list[str]], where: str
) -> int:
    by_name = {f.attname: f for f in _columns(model)}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise DumpError(
            _("%(file)s has a column %(column)s that this Salesops does not know.")
            % {"file": where, "column": unknown[0]}
        )
    fields = [by_name[n] for n in names]
    decoders = [_decoder(f) for f in fields]
    quote = connection.ops.quote_name
    # Table and column names come from the models and are quoted; values are parameters.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    count = 0
    batch: list[list[Any]] = []
    with connection.cursor() as cur:
        for line, row in enumerate(rows, start=2):
            if len(row) != len(fields):
                raise DumpError(
                    _("%(file)s line %(line)s has %(found)s cells, not %(expected)s.")
                    % {"file": where, "line": line, "found": len(row), "expected": len(fields)}
                )
            try:
                values = [dec(c) for dec, c in zip(decoders, row, strict=True)]
                batch.append(
                    [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)]
                )
            except (ValueError, TypeError, ArithmeticError) as e:
                raise DumpError(
                    _("%(file)s line %(line)s has a value that cannot be read: %(error)s")
                    % {"file": where, "line": line, "error": e}
                ) from e
            if len(batch) >= CHUNK:
                cur.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cur.executemany(sql, batch)
            count += len(batch)
    return count


def _csv_rows(zf: zipfile.ZipFile, entry: dict[str, Any]) -> tuple[list[str], Iterator[list[str]]]:
    raw = zf.open(entry["file"])
    reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
    header = next(reader, None)
    if header is None:
        raise DumpError(_("%(file)s is empty.") % {"file": entry["file"]})
    return header, reader


def _verify(zf: zipfile.ZipFile, manifest: dict[str, Any]) -> None:
    for entry in manifest.get("tables", []):
        try:
            digest = hashlib.sha256()
            with zf.open(entry["file"]) as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        except KeyError as e:
            raise DumpError(
                _("The export lists %(file)s, but the zip does not hold it.")
                % {"file": entry["file"]}
            ) from e
        if digest.hexdigest() != entry.get("sha256"):
            raise DumpError(
                _(
                    "%(file)s was changed after the export (its checksum differs); nothing was restored."
                )
                % {"file": entry["file"]}
            )


def _open(source: IO[bytes]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except zipfile.BadZipFile as e:
        raise DumpError(
            _("This file is not a zip file: choose the .zip that export-org wrote.")
        ) from e


@dataclass
class Description:
    """What a backup holds, shown before it replaces anything."""

    exported_at: dt.datetime | None
    organisation: str
    users: int
    rows: int


def describe(source: IO[bytes]) -> Description:
    """Check a backup as the restore will (format, migrations, checksums) and say what
    it holds; DumpError says what is wrong with it."""
    with _open(source) as zf:
        manifest = _read_manifest(zf)
        _check_migrations(manifest)
        _verify(zf, manifest)
    config = manifest.get("config", {})
    orgs = config.get("org.organisation", {}).get("rows", [])
    when = manifest.get("exported_at")
    return Description(
        exported_at=dt.datetime.fromisoformat(when) if isinstance(when, str) else None,
        organisation=str(orgs[0].get("name", "")) if orgs else "",
        users=len(config.get("users.user", {}).get("rows", [])),
        rows=sum(len(c.get("rows", [])) for c in config.values())
        + sum(int(t.get("rows", 0)) for t in manifest.get("tables", [])),
    )


def _runtime_models() -> list[type[models.Model]]:
    """Tables outside the backup whose rows point (directly or through one another) at
    its rows: sessions' users, API tokens, import and export jobs, the admin's log. A
    restore over existing data empties them, children first, since the ids they hold
    would name other people and records afterwards."""
    dumped = set(dumped_models())
    found: list[type[models.Model]] = []
    changed = True
    while changed:
        changed = False
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            if model in dumped or model in found or meta.proxy or not meta.managed:
                continue
            targets = {_fk_target(f) for f in meta.concrete_fields}
            if targets & (dumped | set(found)):
                found.append(model)
                changed = True
    if apps.is_installed("django.contrib.sessions"):
        found.append(apps.get_model("sessions", "Session"))
    return found


def restore_org(
    source: IO[bytes],
    *,
    replace: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> Summary:
    """Load an export into this (empty) instance: all of it, or nothing. `replace`:
    the instance may hold data, which the export replaces entirely (everyone is signed
    out; API tokens and import/export jobs are dropped)."""
    with _open(source) as zf:
        manifest = _read_manifest(zf)
        _check_migrations(manifest)
        _verify(zf, manifest)
        files = {e["model"]: e for e in manifest.get("tables", [])}
        config = manifest.get("config", {})
        order = dumped_models()
        known = {_label(m) for m in order}
        strange = sorted((set(files) | set(config)) - known)
        if strange:
            raise DumpError(
                _("The export holds %(what)s, which this Salesops does not know.")
                % {"what": strange[0]}
            )
        summary = Summary()
        with transaction.atomic(), bulk_load(connection):
            # (bulk_load: derived data such as the KPI roll-ups is rebuilt once at the
            # end instead of row by row by triggers)
            if replace:
                for model in reversed(_runtime_models()):
                    model._base_manager.all()._raw_delete(connection.alias)
            else:
                _check_empty()
            # Rows that migrations put in (currencies, a default organisation) give way.
            for model in reversed(order):
                model._base_manager.all()._raw_delete(connection.alias)
            for model in order:
                label = _label(model)
                if label in config:
                    names = config[label]["columns"]
                    rows: Iterable[list[str]] = (
                        [r[n] for n in names] for r in config[label]["rows"]
                    )
                    where = f"{MANIFEST} ({label})"
                elif label in files:
                    names, rows = _csv_rows(zf, files[label])
                    where = files[label]["file"]
                else:
                    continue
                summary.tables[label] = _insert(model, names, rows, where)
                if progress:
                    progress(label, summary.tables[label])
            with connection.cursor() as cur:
                for sql in connection.ops.sequence_reset_sql(no_style(), order):
                    cur.execute(sql)
    forget_all()
    return summary
