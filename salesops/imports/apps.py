from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "salesops.imports"
    verbose_name = _("Import and export")

    def ready(self) -> None:
        from salesops.imports import export_jobs  # noqa: F401  (registers the backup)
