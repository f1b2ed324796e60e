"""Trigram indexes for global search and list search on PostgreSQL.

Search matches a part of a name, phone or e-mail in any case: Django writes that as
`UPPER(col::text) LIKE UPPER('%term%')`. A GIN index of the same expressions with
`gin_trgm_ops` (the pg_trgm extension, in Debian's postgresql-contrib) answers such a
condition for terms of three characters or more without reading the table. One index
per table holds all its searched columns, so an OR over them is a BitmapOr on it.

SQLite has no such index; there search walks the newest rows first and stops at the
page's limit. Where pg_trgm cannot be installed (no right to CREATE EXTENSION), the
migration leaves the indexes out and search still works, only slower.
"""

from django.db import DatabaseError, migrations, transaction

#: table → columns searched (see `crm.queries.SEARCH_FIELDS` and the list views)
SEARCHED = {
    "crm_lead": ["name", "company", "phone", "email"],
    "crm_customer": ["name", "phone", "email"],
    "crm_contact": ["name", "phone", "mobile", "email"],
    "crm_deal": ["name"],
}


def index_name(table):
    return f"{table.removeprefix('crm_')}_search_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as e:  # no right to install it: search stays unindexed
        print(f"\n  pg_trgm is not available ({e}); search works without its indexes.")
        return
    schema_editor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for table, columns in SEARCHED.items():
        expressions = ", ".join(f'UPPER("{c}"::text) gin_trgm_ops' for c in columns)
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{index_name(table)}" ON "{table}" '
            f"USING gin ({expressions}) WHERE deleted_at IS NULL"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in SEARCHED:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{index_name(table)}"')


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_list_board_and_owner_indexes"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
