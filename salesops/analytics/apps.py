from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "salesops.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_ensure_rollups, sender=self)


def _ensure_rollups(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After every migrate: the roll-up triggers exist (see `rollups.ensure`)."""
    from django.db import connections

    from salesops.analytics import rollups

    rollups.ensure(connections[using])
