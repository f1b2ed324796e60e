from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomizationConfig(AppConfig):
    name = "salesops.customization"
    label = "customization"
    verbose_name = _("Customisation")

    def ready(self) -> None:
        from salesops.customization import metadata, registry, services, signals

        signals.connect()
        registry.set_custom_provider(services.custom_field_specs)
        metadata.register()
