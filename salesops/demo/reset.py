"""Is there data already, and deleting all of it (`seed --reset`)."""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from salesops.crm.models import Customer, Deal, Lead
from salesops.users.models import User

#: Kept by a reset: Django's own bookkeeping, and currencies (from a data migration).
KEEP = {"contenttypes.contenttype", "auth.permission", "org.currency"}


def existing_data(using: str = "default") -> dict[str, int]:
    """Counts of the records that make a database "in use" (only non-zero ones)."""
    counts = {
        "users": User.objects.using(using).count(),
        "customers": Customer.all_objects.using(using).count(),
        "leads": Lead.all_objects.using(using).count(),
        "deals": Deal.all_objects.using(using).count(),
    }
    return {k: v for k, v in counts.items() if v}


def domain_models(connection: BaseDatabaseWrapper) -> list[type[models.Model]]:
    """Every table with data of the organisation: all installed models' tables (and
    many-to-many tables) but Django's bookkeeping and the currencies."""
    existing = set(connection.introspection.table_names())
    out = []
    seen = set()
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.label_lower in KEEP:
            continue
        if meta.db_table in seen or meta.db_table not in existing:
            continue
        seen.add(meta.db_table)
        out.append(model)
    return out


def wipe(connection: BaseDatabaseWrapper) -> list[str]:
    """Delete every row of the domain tables, in the caller's transaction. Returns the
    tables emptied. On SQLite foreign keys must be off (see `bulk.bulk_session`)."""
    qn = connection.ops.quote_name
    tables = [m._meta.db_table for m in domain_models(connection)]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"TRUNCATE {', '.join(qn(t) for t in tables)} RESTART IDENTITY CASCADE")
        else:
            for t in tables:
                cur.execute(f"DELETE FROM {qn(t)}")  # noqa: S608 - a table name from _meta
            cur.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
            if cur.fetchone():
                for t in tables:
                    cur.execute("DELETE FROM sqlite_sequence WHERE name = %s", [t])
    return tables
