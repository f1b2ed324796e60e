"""On PostgreSQL the rate-limit counters skip the write-ahead log: a counter is written
on every API request, and waiting for a WAL flush at each commit cost ~10 ms per
request on a busy disk. After a crash the table is empty — the counts start again,
which is harmless. SQLite has no such option; nothing changes there."""

from django.db import migrations


def unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE api_ratecounter SET UNLOGGED")


def logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE api_ratecounter SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [("api", "0002_rate_counter_shared_by_processes")]

    operations = [migrations.RunPython(unlogged, logged)]
