from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ObjectsConfig(AppConfig):
    name = "salesops.objects"
    label = "objects"
    verbose_name = _("Custom objects")

    def ready(self) -> None:
        from salesops.customization import registry
        from salesops.objects import metadata

        registry.set_dynamic_provider(metadata.specs)
        metadata.connect()
