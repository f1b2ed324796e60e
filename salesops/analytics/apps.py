from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "salesops.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate, pre_migrate

        from salesops.analytics import rollups
        from salesops.lib import bulk

        pre_migrate.connect(_drop_rollup_triggers, sender=self)
        post_migrate.connect(_ensure_rollups, sender=self)
        bulk.register(rollups.suspended)  # a restore loads first, rebuilds once


#: Apps whose migrations may alter the tables the roll-up triggers are on or read
#: (org: the activity window is read from the organisation).
TRIGGER_APPS = {"org", "crm", "activities", "analytics"}


def _drop_rollup_triggers(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """Before a migrate that alters those tables: no triggers (see `rollups`)."""
    from django.db import connections

    from salesops.analytics import rollups

    plan = kwargs.get("plan") or []
    if any(migration.app_label in TRIGGER_APPS for migration, _backwards in plan):
        rollups.drop_for_migrate(connections[using])


def _ensure_rollups(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After every migrate: the triggers exist, and the roll-ups were rebuilt if they
    did not (this is the back-fill of a new installation, too)."""
    from django.db import connections

    from salesops.analytics import rollups

    rollups.ensure(connections[using])
