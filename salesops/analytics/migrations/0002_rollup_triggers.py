"""The triggers that keep the roll-ups exact, and the back-fill from existing data.

SQLite and PostgreSQL differ in trigger syntax, so the statements come from
`salesops.analytics.rollups` for the connection's vendor. The triggers are created and
the roll-ups back-filled by the app's post_migrate handler (`rollups.ensure`), after
every migrate that had to drop them, so this step only drops them when reversed.
"""

from django.db import migrations


def forward(apps, schema_editor):
    """Nothing: `rollups.ensure` runs after the migrate."""


def backward(apps, schema_editor):
    from salesops.analytics import rollups

    rollups.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_rollups"),
        ("crm", "0004_constraints_without_regexp"),
        ("activities", "0004_followup_owner_time_kind"),
    ]

    operations = [migrations.RunPython(forward, backward)]
