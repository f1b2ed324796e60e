from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "salesops.activities"
    label = "activities"
    verbose_name = _("Follow-ups and tasks")

    def ready(self) -> None:
        from salesops.activities import metadata, reminders

        metadata.register()
        reminders.register_kinds()
