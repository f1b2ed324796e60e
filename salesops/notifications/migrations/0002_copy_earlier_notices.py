"""Notices written before this app (users.Notification: one sentence in one language)
become notices of the kind "legacy" that show that sentence; the old table then goes."""

from django.db import migrations


def copy(apps, schema_editor):
    Old = apps.get_model("users", "Notification")
    New = apps.get_model("notifications", "Notification")
    batch = []
    for old in Old.objects.order_by("pk").iterator(chunk_size=2000):
        batch.append(
            New(
                recipient_id=old.recipient_id,
                kind="legacy",
                params={"message": old.message, "kind": old.kind},
                key=old.dedupe_key or f"legacy:{old.pk}",
                created_at=old.created_at,
                read_at=old.read_at,
            )
        )
        if len(batch) >= 2000:
            New.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    New.objects.bulk_create(batch, ignore_conflicts=True)


def back(apps, schema_editor):
    Old = apps.get_model("users", "Notification")
    New = apps.get_model("notifications", "Notification")
    Old.objects.bulk_create(
        [
            Old(
                recipient_id=n.recipient_id,
                kind=n.params.get("kind", n.kind),
                message=n.params.get("message", n.kind),
                dedupe_key=n.key,
                read_at=n.read_at,
            )
            for n in New.objects.filter(kind="legacy").iterator()
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("users", "0001_initial"),
    ]

    operations = [migrations.RunPython(copy, back)]
