# Planner statistics for the indexes of 0008, 0011 and 0012 on SQLite (decision 0011).
#
# SQLite plans from `sqlite_stat1`, which CREATE INDEX does not fill: until the next
# ANALYZE a new index is judged by guesses, and at 1M deals those guesses sent a rep's
# board totals and cards through organisation-wide indexes (rep board 35 -> 60 ms CPU).
# PostgreSQL keeps statistics per table, which autovacuum refreshes; nothing to do there.
from typing import Any

from django.db import migrations

TABLES = [
    "crm_lead",
    "crm_customer",
    "crm_contact",
    "crm_deal",
    "crm_quote",
    "crm_contract",
    "crm_paymentplan",
    "crm_payment",
]


def analyze(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cur:
        cur.execute("PRAGMA analysis_limit = 1000")
        for table in TABLES:
            cur.execute(f'ANALYZE "{table}"')


class Migration(migrations.Migration):
    dependencies = [("crm", "0013_drop_deal_date_sort_indexes")]

    operations = [migrations.RunPython(analyze, migrations.RunPython.noop, elidable=True)]
