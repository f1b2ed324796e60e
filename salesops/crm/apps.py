from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "salesops.crm"
    label = "crm"
    verbose_name = _("Customers and deals")

    def ready(self) -> None:
        from salesops.crm import metadata, notices

        metadata.register()
        notices.register_kinds()
