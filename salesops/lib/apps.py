from django.apps import AppConfig, apps


class LibConfig(AppConfig):
    name = "salesops.lib"
    label = "lib"

    def ready(self) -> None:
        from salesops.lib.text import add_nul_validators

        add_nul_validators(apps.get_models())
