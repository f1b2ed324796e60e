from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomizationConfig(AppConfig):
    name = "salesops.customization"
    label = "customization"
    verbose_name = _("Customisation")

    def ready(self) -> None:
        from salesops.customization import metadata, registry, rules, services, signals
        from salesops.lib.models import register_record_check

        signals.connect()
        registry.set_custom_provider(services.custom_field_specs)
        metadata.register()
        register_record_check(rules.check_record)
